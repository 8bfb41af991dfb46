"""The ``tinygrad-seq`` command (also ``python -m tinygrad_seq``).

    tinygrad-seq            check the gradients of the primitive ops and print a table
    tinygrad-seq check      the same
    tinygrad-seq bench ...  the benchmark (see ``tinygrad-seq bench --help``)

Bad arguments, files or configs print one line and exit with code 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Sequence

import numpy as np


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit code 2."""


def _gradcheck_table() -> int:
    from rich.console import Console
    from rich.table import Table

    import tinygrad_seq as tg

    tg.manual_seed(0)

    def r(*shape: int, positive: bool = False) -> "tg.Tensor":
        x = tg.randn(*shape, dtype=np.float64)
        return tg.Tensor(np.abs(x.array) + 0.5 if positive else x.array, requires_grad=True)

    cases: list[tuple[str, Callable, list]] = [
        ("add (broadcast)", lambda a, b: a + b, [r(3, 4), r(4)]),
        ("mul (broadcast)", lambda a, b: a * b, [r(3, 1), r(1, 4)]),
        ("div", lambda a, b: a / b, [r(3, 4), r(3, 4, positive=True)]),
        ("pow", lambda a, b: a ** b, [r(3, positive=True), r(3)]),
        ("log", tg.log, [r(5, positive=True)]),
        ("tanh", tg.tanh, [r(2, 5)]),
        ("sigmoid", tg.sigmoid, [r(2, 5)]),
        ("softplus", tg.softplus, [r(2, 5)]),
        ("matmul (batched)", lambda a, b: a @ b, [r(2, 3, 4), r(4, 5)]),
        ("sum / mean / var", lambda x: x.sum(0) + x.mean(1, keepdims=True) + x.var(), [r(3, 4)]),
        ("max", lambda x: x.max(axis=1), [r(3, 4)]),
        ("logsumexp", lambda x: x.logsumexp(axis=-1), [r(3, 4)]),
        ("log_softmax", lambda x: x.log_softmax(-1), [r(3, 4)]),
        ("getitem (repeats)", lambda x: x[np.array([0, 2, 0])], [r(3, 4)]),
        ("cat / stack", lambda a, b: tg.stack([tg.cat([a, b], 1), tg.cat([b, a], 1)]), [r(2, 3), r(2, 3)]),
        ("chunk (LSTM gates)", lambda x: (lambda i, f, g, o: i.sigmoid() * g.tanh() + f * o)(*x.chunk(4, 1)),
         [r(2, 8)]),
    ]
    table = Table(title="tinygrad_seq: analytic gradients vs central differences (float64)")
    for col in ("op", "inputs", "result", "ms"):
        table.add_column(col)
    failures = 0
    for name, fn, inputs in cases:
        start = time.perf_counter()
        try:
            tg.gradcheck(fn, inputs)
            result = "[green]ok[/green]"
        except tg.GradcheckError as e:
            failures += 1
            result = f"[red]{e}[/red]"
        ms = (time.perf_counter() - start) * 1e3
        table.add_row(name, " ".join(str(tuple(x.shape)) for x in inputs), result, f"{ms:.1f}")
    Console().print(table)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinygrad-seq", description="tinygrad_seq: autograd and sequence models")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("check", help="gradient-check the primitive ops and print a table")
    b = sub.add_parser("bench", help="time an LSTM training step against hand-derived BPTT")
    b.add_argument("--configs", default="small,medium,large,charlm",
                   help="comma-separated: small, medium, large, charlm (default: all)")
    b.add_argument("--reps", type=int, default=10, help="timed repetitions per row (default 10)")
    b.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    b.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    b.add_argument("--scaling", action="store_true", help="also time T = 100, 1,000 and 10,000")
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "check"):
            return _gradcheck_table()
        if args.command == "bench":
            from . import bench
            configs = [c.strip() for c in args.configs.split(",") if c.strip()]
            unknown = [c for c in configs if c not in (*bench.CONFIGS, "charlm")]
            if unknown:
                raise UsageError(f"unknown bench config {unknown[0]!r} (choose from small, medium, large, charlm)")
            if args.reps < 1:
                raise UsageError(f"--reps must be at least 1, got {args.reps}")
            if args.json:
                folder = os.path.dirname(os.path.abspath(args.json))
                if not os.path.isdir(folder):
                    raise UsageError(f"--json: folder {folder} does not exist")
            return bench.main(configs, args.reps, args.dtype, args.json, args.scaling)
    except UsageError as e:
        print(f"tinygrad-seq: error: {e}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2
