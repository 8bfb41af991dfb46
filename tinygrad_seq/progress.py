"""Progress of a training loop: a live rich bar in a terminal, plain log lines everywhere else.

    from tinygrad_seq.progress import Progress
    with Progress(total=500, description="train") as bar:
        for step in range(500):
            loss = ...
            bar.update(loss=loss.item())                 # metrics appear beside the bar
            if step % 100 == 0:
                bar.print(f"sample: {text!r}")           # printed above the bar

In a terminal the bar redraws in place (step, metrics, elapsed time, ETA).
When standard output is not a terminal (a log file, a pipe, CI, a notebook)
it prints one plain line every ``log_every`` steps and at the end, with no
control characters, so logs stay readable and diffable.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from .charts import in_notebook as _in_notebook

__all__ = ["Progress", "format_metrics", "format_seconds"]


def format_seconds(s: float) -> str:
    """Seconds as ``m:ss`` (or ``h:mm:ss``)."""
    s = max(0, int(round(s)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        a = abs(v)
        if a >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}" if a >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def format_metrics(metrics: dict[str, Any]) -> str:
    """``{'loss': 1.23456, 'chars/s': 21034.2}`` -> ``'loss 1.235  chars/s 21,034'``."""
    return "  ".join(f"{k} {_fmt(v)}" for k, v in metrics.items() if v is not None)


class Progress:
    """A progress display for a loop of ``total`` steps (``None``: unknown, e.g. a time budget).

    ``update(advance=1, **metrics)`` moves it on and records the latest metrics;
    ``print(*objects)`` prints above the bar (text or any rich renderable);
    ``live`` forces the rich bar on or off (default: on only in a real terminal).
    """

    def __init__(self, total: int | None, description: str = "", *, unit: str = "step",
                 log_every: int | None = None, live: bool | None = None, file: Any = None):
        self.total, self.description, self.unit = total, description, unit
        self.file = file
        self.step = 0
        self.metrics: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.log_every = log_every or (max(1, total // 20) if total else 50)
        self._console = None
        self._bar = None
        self._task = None
        self._logged = -1
        if live is None:
            stream = file if file is not None else sys.stdout
            live = bool(getattr(stream, "isatty", lambda: False)()) and not _in_notebook()
        self.live = live

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def eta(self) -> float | None:
        """Estimated seconds left (None when the total or the pace is not known yet)."""
        if not self.total or not self.step:
            return None
        return self.elapsed / self.step * (self.total - self.step)

    def __enter__(self) -> "Progress":
        self.start = time.perf_counter()
        if self.live:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self._console = Console(file=self.file) if self.file is not None else Console()
            self._bar = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("{task.fields[metrics]}"),
                                     TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                     console=self._console, transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, completed=self.step, metrics="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None
        elif self.step != self._logged:
            self._log_line()

    def set_total(self, total: int | None) -> None:
        """Change the expected number of steps (e.g. an estimate that firms up under a time budget)."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def update(self, advance: int = 1, **metrics: Any) -> None:
        """Move on ``advance`` steps and record the latest metrics (shown beside the bar or in the next log line)."""
        self.step += advance
        self.metrics.update(metrics)
        if self._bar is not None:
            self._bar.update(self._task, advance=advance, metrics=format_metrics(self.metrics))
        elif self.step % self.log_every == 0 or (self.total is not None and self.step == self.total):
            self._log_line()

    def _log_line(self) -> None:
        self._logged = self.step
        where = f"{self.unit} {self.step}" + (f"/{self.total}" if self.total else "")
        eta = self.eta()
        tail = f"  {format_seconds(self.elapsed)} elapsed" + (f"  eta {format_seconds(eta)}" if eta is not None else "")
        head = f"{self.description}: " if self.description else ""
        print(f"{head}{where}  {format_metrics(self.metrics)}{tail}".replace("  " * 2, "  "),
              file=self.file, flush=True)

    def print(self, *objects: Any) -> None:
        """Print above the live bar (or as plain text when there is no bar)."""
        if self._console is not None:
            self._console.print(*objects)
            return
        for obj in objects:
            print(_plain(obj), file=self.file, flush=True)


def _plain(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    from rich.console import Console
    console = Console(width=100, no_color=True, force_terminal=False, color_system=None)
    with console.capture() as cap:
        console.print(obj)
    return cap.get().rstrip("\n")
