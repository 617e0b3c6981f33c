"""``fncssl <command>``: argument parsing only; the work happens in the subpackages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fncssl.argtypes import OneLineErrorParser, bounded
from fncssl.errors import FNCError


def _cmd_synth(a: argparse.Namespace) -> int:
    from fncssl.data.synth import parse_size, write_synthetic_archive

    size = parse_size(a.size) if a.size else None
    cols = None  # all collections
    if a.collections is not None:
        cols = [c.strip() for c in a.collections.split(",") if c.strip()]
    from fncssl.sigterm import sigterm_unwinds

    with sigterm_unwinds():  # so a killed run removes its temp folder, as Ctrl-C does
        out = write_synthetic_archive(
            a.out, cols, a.labelled, a.unlabelled, size, a.seed, a.workers
        )
    print(f"synthetic archive written to {out}")
    return 0


def _cmd_validate(a: argparse.Namespace) -> int:
    from fncssl.data.layout import open_archive
    from fncssl.data.validate import validate_archive

    report = validate_archive(open_archive(a.root), binarise=a.binarise)
    print(
        f"checked {report.images_checked} images; formats: {report.formats_checked or 'masks only'}"
    )
    if report.ok:
        print("OK: no problems found")
        return 0
    print(f"{len(report.problems)} problem(s):")
    for p in report.problems:
        print(f"  - {p}")
    return 1


def _cmd_convert(a: argparse.Namespace) -> int:
    from fncssl.data.formats import convert_archive, parse_formats
    from fncssl.data.layout import open_archive

    (src,) = parse_formats(a.from_format)
    root = Path(a.root)
    if a.in_place and a.out:
        raise FNCError("convert: give --out or --in-place, not both")
    # default: beside the archive, never inside it; --in-place adds the formats to the archive
    out = None if a.in_place else Path(a.out or root.parent / f"{root.name}-converted")
    written = convert_archive(open_archive(a.root), parse_formats(a.to), src, out, a.binarise)
    print(f"wrote {len(written)} file(s) under {out or root}")
    return 0


def _cmd_stats(a: argparse.Namespace) -> int:
    from fncssl.data.layout import open_archive
    from fncssl.data.stats import to_markdown, write_stats

    root = Path(a.root).resolve()
    out = Path(a.out) if a.out else root.parent / f"{root.name}-stats"  # beside, not inside
    table = write_stats(open_archive(a.root), out, a.um_per_px, a.binarise)
    print(to_markdown(table, a.um_per_px))
    print(f"written: {out / 'stats.csv'}, {out / 'stats.md'}, {out / 'stats_histograms.png'}")
    return 0


def _cmd_score(a: argparse.Namespace) -> int:
    from fncssl.evaluation.report import table2_markdown
    from fncssl.evaluation.scoring import ScoreConfig, score_folders, write_results

    cfg = ScoreConfig(a.protocol, a.iou_threshold, a.distance_threshold)
    results = score_folders(Path(a.gt), Path(a.pred), cfg, binarise=a.binarise)
    pred = Path(a.pred).resolve()
    out = Path(a.out) if a.out else pred.parent / f"{pred.name}-scores.json"  # beside --pred
    json_path, csv_path = write_results(results, out)
    print(table2_markdown({f"{Path(a.pred).name} ({a.protocol})": results}))
    px = results["pixel"]
    print(f"{len(results['images'])} images; pixel Dice {px['dice']:.3f}, IoU {px['iou']:.3f}")
    print(f"written: {json_path}, {csv_path}")
    return 0


def _cmd_pretrain(a: argparse.Namespace) -> int:
    from fncssl.config import load_config
    from fncssl.ssl.config import PretrainConfig
    from fncssl.ssl.run import run_pretrain

    cfg = load_config(PretrainConfig, a.config, a.overrides)
    run_dir = run_pretrain(cfg, resume=a.resume)
    print(
        f"encoder written to {run_dir / 'checkpoints' / 'encoder.pt'}; "
        f"TensorBoard: tensorboard --logdir {run_dir / 'tb'}"
    )
    return 0


def _cmd_finetune(a: argparse.Namespace) -> int:
    from fncssl.config import load_config
    from fncssl.finetune.config import FinetuneConfig
    from fncssl.finetune.run import run_finetune

    cfg = load_config(FinetuneConfig, a.config, a.overrides)
    run_dir = run_finetune(cfg, resume=a.resume)
    print(f"run written to {run_dir}; TensorBoard: tensorboard --logdir {run_dir / 'tb'}")
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from fncssl.evaluation.report import table2_markdown
    from fncssl.finetune.evaluate_checkpoint import evaluate_checkpoint

    cols = [c.strip() for c in a.collection.split(",")] if a.collection else None
    out, results = evaluate_checkpoint(
        a.checkpoint,
        a.data,
        cols,
        a.split,
        a.out,
        a.tile,
        a.overlap,
        a.postprocess,
        device=a.device,
        image_batch=a.image_batch,
        workers=a.workers,
    )
    protocols = [a.protocol] if a.protocol else list(results)
    print(table2_markdown({p: results[p] for p in protocols}))
    print(f"written to {out}")
    return 0


def _cmd_predict(a: argparse.Namespace) -> int:
    from fncssl.finetune.predict import predict_images

    counts = predict_images(
        a.checkpoint,
        a.inputs,
        Path(a.out),
        tile=a.tile,
        overlap=a.overlap,
        device=a.device,
        postprocess=a.postprocess,
        image_batch=a.image_batch,
        workers=a.workers,
    )
    print(f"{len(counts)} image(s) written to {a.out}")
    return 0


def _speed_args(s: argparse.ArgumentParser) -> None:
    """Inference speed switches shared by evaluate and predict (results do not change)."""
    s.add_argument(
        "--image-batch", type=int, default=1, help="images whose tiles share forward passes"
    )
    s.add_argument(
        "--workers", type=int, default=0, help="post-processing processes (0: in this one)"
    )


def _cmd_demo(a: argparse.Namespace) -> int:
    from fncssl.demo import run_demo

    return run_demo(Path(a.out), a.seed)


def _cmd_study(a: argparse.Namespace) -> int:
    from fncssl.experiments.cli import study_command

    return study_command(a.study, a.overrides, a.out, a.resume, a.dry_run)


def _cmd_report(a: argparse.Namespace) -> int:
    from fncssl.experiments.report import write_report

    print(f"report written to {write_report(Path(a.study_dir))}")
    return 0


def _add_eval_overrides(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--tile",
        type=int,
        default=None,
        help="tile size; 0 runs whole images (default: the run's eval.tile)",
    )
    s.add_argument(
        "--overlap", type=int, default=None, help="tile overlap (default: the run's eval.overlap)"
    )
    s.add_argument(
        "--postprocess",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override the run's eval.postprocess, e.g. min_size=100 watershed=false",
    )


def _cmd_pseudolabel(a: argparse.Namespace) -> int:
    from fncssl.config import load_config
    from fncssl.semisup.pseudolabel import PseudoLabelConfig, run_pseudolabel

    cfg = load_config(PseudoLabelConfig, None, a.overrides)
    manifest = run_pseudolabel(a.checkpoint, Path(a.out), cfg)
    print(f"{len(manifest['images'])} pseudo-label map(s) and manifest.json written to {a.out}")
    return 0


def _cmd_synth_check(a: argparse.Namespace) -> int:
    from fncssl.data.synth_check import run_synth_check

    return run_synth_check(
        Path(a.real_root), Path(a.synth_root), a.out, a.max_images, a.seed, a.binarise
    )


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(prog="fncssl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write a synthetic FNC v2 archive")
    s.add_argument("out", help="output folder (absent or empty)")
    s.add_argument(
        "--collections", default=None, help="comma list of green,yellow,red (default all)"
    )
    s.add_argument(
        "--labelled",
        type=int,
        default=None,
        help="labelled images per collection (default: as many as the real archive has)",
    )
    s.add_argument(
        "--unlabelled",
        type=int,
        default=None,
        help="unlabelled images per collection (default: as many as the real archive has)",
    )
    s.add_argument("--size", default="", help="WIDTHxHEIGHT (default 1600x1200)")
    s.add_argument("--seed", type=int, default=0, help="random seed of the generator (default 0)")
    s.add_argument(
        "--workers", type=bounded(int, 1), default=None, help="processes (default: all cores)"
    )
    s.set_defaults(func=_cmd_synth)

    s = sub.add_parser("validate", help="check an archive; exit 1 listing problems")
    s.add_argument("root", help="archive root (holds green/, yellow/, red/ or all_images/)")
    s.add_argument("--binarise", action="store_true", help="threshold non-binary masks at 127")
    s.set_defaults(func=_cmd_validate)

    s = sub.add_parser("convert", help="convert annotations between formats")
    s.add_argument("root", help="archive root")
    s.add_argument("--to", required=True, help="masks,rle,coco,coco-standard,voc,via")
    s.add_argument("--from", dest="from_format", default="masks", help="source format")
    s.add_argument("--out", default="", help="output root (default: ROOT-converted beside it)")
    s.add_argument(
        "--in-place", action="store_true", help="write the new formats into the archive itself"
    )
    s.add_argument("--binarise", action="store_true", help="threshold non-binary masks at 127")
    s.set_defaults(func=_cmd_convert)

    s = sub.add_parser("stats", help="the paper's Table 1 for an archive")
    s.add_argument("root", help="archive root")
    s.add_argument("--um-per-px", type=float, default=0.3, help="pixel size in micrometres")
    s.add_argument("--out", default="", help="output folder (default: ROOT-stats beside ROOT)")
    s.add_argument("--binarise", action="store_true", help="threshold non-binary masks at 127")
    s.set_defaults(func=_cmd_stats)

    s = sub.add_parser("score", help="score predicted mask folders against true masks")
    s.add_argument("--gt", required=True, help="folder of true masks (0/255 PNG or TIFF)")
    s.add_argument("--pred", required=True, help="folder of predicted masks or instance labels")
    s.add_argument(
        "--protocol",
        choices=["paper", "strict"],
        default="paper",
        help="paper: the FNC definition (default); strict: one-to-one matching",
    )
    s.add_argument(
        "--iou-threshold", type=float, default=0.5, help="segmentation match IoU (default 0.5)"
    )
    s.add_argument(
        "--distance-threshold",
        type=float,
        default=40.0,
        help="detection match distance in px (default 40)",
    )
    s.add_argument("--binarise", action="store_true", help="threshold non-binary masks at 127")
    s.add_argument(
        "--out",
        default="",
        help="JSON output, a .csv goes beside it (default: PRED-scores.json beside --pred)",
    )
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("pretrain", help="self-supervised pretraining -> encoder.pt")
    s.add_argument("config", help="YAML config, e.g. configs/pretrain/simclr.yaml")
    s.add_argument("overrides", nargs="*", help="dotted overrides: ssl.temperature=0.1")
    s.add_argument("--resume", action="store_true", help="continue from checkpoints/last.ckpt")
    s.set_defaults(func=_cmd_pretrain)

    s = sub.add_parser("finetune", help="supervised fine-tuning -> runs/<name>/")
    s.add_argument("config", help="YAML config, e.g. configs/finetune.yaml")
    s.add_argument("overrides", nargs="*", help="dotted overrides: trainer.max_epochs=5")
    s.add_argument("--resume", action="store_true", help="continue from checkpoints/last.ckpt")
    s.set_defaults(func=_cmd_finetune)

    s = sub.add_parser("evaluate", help="score a checkpoint on an archive split")
    s.add_argument("checkpoint", help="run dir, Lightning .ckpt or published model.pth")
    s.add_argument("--data", default="", help="archive root (default: the run's own)")
    s.add_argument("--collection", default="", help="comma list (default: the run's own)")
    s.add_argument(
        "--split", default="test", choices=["test", "trainval"], help="archive split to score"
    )
    s.add_argument(
        "--protocol",
        default="",
        choices=["", "paper", "strict"],
        help="protocol to print (default: both; both are always written)",
    )
    s.add_argument("--out", default="", help="output folder (default: RUN/eval-SPLIT)")
    s.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    _add_eval_overrides(s)
    _speed_args(s)
    s.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("predict", help="masks, counts, overlays and COCO results for images")
    s.add_argument("checkpoint", help="run dir, Lightning .ckpt or published model.pth")
    s.add_argument("inputs", nargs="+", help="image files or folders")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    _add_eval_overrides(s)
    _speed_args(s)
    s.set_defaults(func=_cmd_predict)

    s = sub.add_parser("pseudolabel", help="teacher probabilities for the unlabelled images")
    s.add_argument("checkpoint", help="run dir, Lightning .ckpt or published model.pth")
    s.add_argument("--out", required=True, help="folder for <key>.png maps and manifest.json")
    s.add_argument(
        "overrides",
        nargs="*",
        help="root=DIR collections=[red] tta=none|flips|d4 max_images=N extra_images=[...] "
        "tile=512 overlap=64 batch_size=8 device=auto",
    )
    s.set_defaults(func=_cmd_pseudolabel)

    s = sub.add_parser("demo", help="run the pipeline, small, on synthetic data")
    s.add_argument("--out", default="demo-output", help="output folder")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("study", help="run a grid of runs from a study file, then the report")
    s.add_argument("study", help="study file, e.g. experiments/label_efficiency.yaml")
    s.add_argument("overrides", nargs="*", help="applied to every run: data.root=/data/fnc")
    s.add_argument("--out", default="", help="study directory (default runs/<study name>)")
    s.add_argument("--resume", action="store_true", help="skip finished runs, redo the rest")
    s.add_argument("--dry-run", action="store_true", help="print the grid and estimated cost")
    s.set_defaults(func=_cmd_study)

    s = sub.add_parser("report", help="summary tables and plots of a study directory")
    s.add_argument("study_dir", help="a study directory written by `fncssl study`")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("synth-check", help="real vs synthetic image statistics and a montage")
    s.add_argument("real_root", help="flat samples folder (<c>/images, <c>/masks) or an archive")
    s.add_argument("synth_root", help="a synthetic (or any) archive to compare with it")
    s.add_argument("--out", default="", help="output folder (default: beside SYNTH_ROOT)")
    s.add_argument(
        "--max-images",
        type=bounded(int, 1),
        default=16,
        help="images per collection and side (default 16)",
    )
    s.add_argument("--seed", type=int, default=0, help="which crops the montage shows (default 0)")
    s.add_argument(
        "--binarise",
        action="store_true",
        help="threshold non-binary masks at 127 (default: refuse them)",
    )
    s.set_defaults(func=_cmd_synth_check)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; for training commands, ``key=value`` overrides may also follow options
    (``finetune CFG --resume trainer.max_epochs=5``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides") and not any(e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return int(args.func(args))
    except FNCError as exc:
        print(f"fncssl {args.command}: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
