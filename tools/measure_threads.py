"""Time one tutorial with numpy's default BLAS threads against the package's one thread, alternating.

    python tools/measure_threads.py tutorials/10_seq2seq_attention.py --quick --reps 3

Each rep runs the tutorial twice in fresh processes: once with ``TINYGRAD_SEQ_BLAS_THREADS=default``
and no ``*_NUM_THREADS`` variables (numpy's own choice), once with the package's default (one thread);
the order alternates from rep to rep.  Prints every wall time, the medians, and whether the RESULT
lines agree.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(script: str, extra: list[str], mode: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TINYGRAD_SEQ_BLAS_THREADS")}
    env["PYTHONPATH"] = str(ROOT)
    if mode == "default":
        env["TINYGRAD_SEQ_BLAS_THREADS"] = "default"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, script, *extra], capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{script} failed ({mode}): {proc.stderr[-500:]}")
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return wall, result[-1] if result else ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("script")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    extra = ["--quick"] if args.quick else []
    times: dict[str, list[float]] = {"default": [], "package": []}
    results: dict[str, set[str]] = {"default": set(), "package": set()}
    for rep in range(args.reps):
        order = ("default", "package") if rep % 2 == 0 else ("package", "default")
        for mode in order:
            wall, res = run_once(args.script, extra, mode)
            times[mode].append(wall)
            results[mode].add(res)
            print(f"rep {rep + 1} {mode:8s} {wall:7.2f} s", flush=True)
    for mode in times:
        print(f"{mode:8s} median {statistics.median(times[mode]):.2f} s  ({', '.join(f'{t:.2f}' for t in times[mode])})")
    print("RESULT lines identical:", results["default"] == results["package"] and len(results["default"]) == 1)
    print("load average:", os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
