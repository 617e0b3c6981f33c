"""`make bench`: run every benchmark script in turn."""

from bench import bench_data, bench_evaluation, bench_pretrain, bench_study, bench_training

if __name__ == "__main__":
    bench_data.main()
    bench_evaluation.main()
    bench_training.main()
    bench_pretrain.main()
    bench_study.main([])
