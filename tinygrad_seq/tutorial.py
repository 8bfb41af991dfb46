"""Helpers the tutorials in ``tutorials/`` share (the step-through runner comes with issue 11).

    from tinygrad_seq.tutorial import quick, result
    QUICK = quick()            # True with --quick or TINYGRAD_SEQ_QUICK=1: small sizes, few steps
    steps = 50 if QUICK else 2000
    ...
    result(lstm_mse=0.004, rnn_mse=0.170)    # prints: RESULT lstm_mse=0.004 rnn_mse=0.17
"""
from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["quick", "result", "parse_result", "step_through", "figure"]


def quick() -> bool:
    """Whether to run in quick mode: ``--quick`` on the command line or ``TINYGRAD_SEQ_QUICK=1``."""
    return "--quick" in sys.argv[1:] or os.environ.get("TINYGRAD_SEQ_QUICK", "") not in ("", "0")


def result(**values: Any) -> str:
    """Print (and return) the tutorial's one machine-readable line of headline results."""
    def fmt(v: Any) -> str:
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    line = "RESULT " + " ".join(f"{k}={fmt(v)}" for k, v in values.items())
    print(line, flush=True)
    return line


def parse_result(text: str) -> dict[str, Any]:
    """The values of the last ``RESULT k=v ...`` line in ``text`` (numbers as float or int, else str)."""
    lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise ValueError("no RESULT line in the output")
    out: dict[str, Any] = {}
    for item in lines[-1].split()[1:]:
        key, _, raw = item.partition("=")
        for cast in (int, float):
            try:
                out[key] = cast(raw)
                break
            except ValueError:
                continue
        else:
            out[key] = raw
    return out


def step_through(path: str | None = None) -> None:
    """Placeholder until the step-through runner lands."""


def figure(name: str) -> str | None:
    """Placeholder until the runner lands: ``tutorials/figures/<name>.png`` beside the calling script.

    ``None`` in a notebook (charts show inline) and without matplotlib.
    """
    from pathlib import Path
    from .charts import have_matplotlib, in_notebook
    if in_notebook() or not have_matplotlib():
        return None
    where = sys._getframe(1).f_globals.get("__file__") or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    folder = Path(where).resolve().parent / "figures" if where else Path("figures")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")
