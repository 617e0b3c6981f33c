"""Studies: the demo's wall time (``fncssl demo`` from nothing) and the smoke study's.

    python -m bench.bench_study [--out DIR]

Prints the machine, each command's wall time and the demo's one-line reading. Other load on
the machine counts in: run it on an idle machine for the figure in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        subprocess.run(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="", help="keep the outputs here (default: a temp dir)")
    a = p.parse_args(argv)
    out = Path(a.out or tempfile.mkdtemp(prefix="fncssl-bench-study-"))
    shutil.rmtree(out / "demo", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    fncssl = [sys.executable, "-m", "fncssl"]
    demo = timed([*fncssl, "demo", "--out", str(out / "demo")], out / "demo.log")
    reading = [ln for ln in (out / "demo.log").read_text().splitlines() if "reading:" in ln]
    print(f"fncssl demo (from nothing): {demo:.0f} s")
    print(reading[-1] if reading else "(no reading line)")
    log_bytes = (out / "demo.log").stat().st_size
    print(f"demo output when redirected: {log_bytes / 1024:.1f} KiB")
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
