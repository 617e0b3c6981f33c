"""End-to-end throughput of the real commands: run ``fncssl finetune`` / ``fncssl pretrain``
in a fresh process and read the training steps' wall times back from the run's TensorBoard
events (``log_every_n_steps=1``), so the figure includes the loader, host-to-device copies,
augmentation, the step, validation and logging, exactly as a user's run pays for them.

    python -m bench.e2e finetune configs/finetune.yaml --device cuda --precision bf16-mixed
    python -m bench.e2e pretrain configs/pretrain/simclr.yaml --device cuda --precision bf16-mixed
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

LOSS_TAG = {"finetune": "train/loss_step", "pretrain": "ssl/loss_step"}


def run_rate(
    command: str,
    config: str,
    overrides: list[str],
    batch: int,
    device: str = "cpu",
    precision: str = "32-true",
    repeats: int = 1,
    profile: bool = False,
) -> dict:
    """Run the command ``repeats`` times; median items/s and wall time over the repeats.

    ``items_per_s``: (last logged step - first) * batch / (their wall-time difference), i.e.
    steady state after the first step (which pays start-up, compilation and warm-up), with
    everything between steps (validation, full-image evaluation, checkpoints) included.
    ``profile`` adds Lightning's SimpleProfiler to the first run; its report is "profile"."""
    rates, walls, steps, report = [], [], 0, ""
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            args = [
                sys.executable,
                "-m",
                "fncssl",
                command,
                config,
                *overrides,
                f"run.dir={tmp}",
                "run.name=bench",
                f"trainer.accelerator={device}",
                f"trainer.precision={precision}",
                "log_every_n_steps=1",
            ]
            if profile and not rates:
                args.append("trainer.profiler=simple")
            t0 = time.perf_counter()
            r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ))
            walls.append(time.perf_counter() - t0)
            if r.returncode:
                raise RuntimeError(f"{' '.join(args)} failed:\n{r.stderr[-3000:]}")
            acc = EventAccumulator(str(Path(tmp) / "bench" / "tb"))
            acc.Reload()
            events = acc.Scalars(LOSS_TAG[command])
            steps = len(events)
            first, last = events[0], events[-1]
            rates.append((last.step - first.step) * batch / (last.wall_time - first.wall_time))
            if "Profiler Report" in r.stdout and not report:
                report = r.stdout[r.stdout.index("Profiler Report") :]
    return {
        "items_per_s": statistics.median(rates),
        "wall_s": statistics.median(walls),
        "steps": steps,
        "all_rates": rates,
        "profile": report,
    }


def add_e2e_args(ap: argparse.ArgumentParser) -> None:
    """The switches bench_training and bench_pretrain share for their ``--e2e`` runs."""
    ap.add_argument("--e2e", action="store_true", help="time real fncssl runs")
    ap.add_argument(
        "--precision", default="32-true", help="trainer.precision (bf16-mixed: bf16 autocast)"
    )
    ap.add_argument("--data", default="", help="e2e: archive root (default: a synthetic one)")
    ap.add_argument("--repeats", type=int, default=3, help="e2e: runs (median reported)")
    ap.add_argument("--profile", action="store_true", help="e2e: Lightning SimpleProfiler")
    ap.add_argument("--set", nargs="*", default=[], help="e2e: extra overrides")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=sorted(LOSS_TAG))
    ap.add_argument("config")
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="32-true")
    ap.add_argument("--batch", type=int, required=True, help="data.batch_size of the run")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="print Lightning's SimpleProfiler")
    a = ap.parse_args()
    res = run_rate(
        a.command, a.config, a.overrides, a.batch, a.device, a.precision, a.repeats, a.profile
    )
    if res["profile"]:
        print("\n".join(res["profile"].splitlines()[:40]))
    unit = "crops/s" if a.command == "finetune" else "view pairs/s"
    print(
        f"{a.command} end to end ({a.device}, {a.precision}, batch {a.batch}): "
        f"{res['items_per_s']:.2f} {unit} (median of {a.repeats}: "
        f"{', '.join(f'{x:.2f}' for x in res['all_rates'])}), {res['steps']} steps, "
        f"{res['wall_s']:.0f} s wall"
    )


if __name__ == "__main__":
    main()
