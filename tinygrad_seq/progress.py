"""Progress of a training loop: a live rich bar in a terminal, plain log lines everywhere else.

    from tinygrad_seq.progress import Progress
    with Progress(total=500, description="train") as bar:
        for step in range(500):
            loss = ...
            bar.update(loss=loss.item())                 # metrics appear beside the bar
            if step % 100 == 0:
                bar.print(f"sample: {text!r}")           # printed above the bar

In a terminal the bar redraws in place: the metrics on one line, and below it
the bar, the step, the elapsed time and the ETA, sized to the terminal's width.
When standard output is not a terminal (a log file, a pipe, CI, a notebook)
it prints one plain line every ``log_every`` steps and at the end, with no
control characters, so logs stay readable and diffable.

``Reporter`` is what ``tinygrad_seq.train.train`` tells the outside world, and
``ConsoleReporter`` is the display the command line uses (header, live bar,
sample panels, summary).
"""
from __future__ import annotations

import os
import sys
import textwrap
import time
from typing import Any

from .charts import in_notebook as _in_notebook

__all__ = ["Progress", "Reporter", "ConsoleReporter", "format_metrics", "format_seconds", "plural",
           "terminal_width", "plain_text"]


def terminal_width(file: Any = None) -> int:
    """The width to draw for: ``$COLUMNS`` if set, else the terminal's (``file`` or standard output), else 80."""
    try:
        cols = int(os.environ.get("COLUMNS", ""))
        if cols > 0:
            return cols
    except ValueError:
        pass
    stream = file if file is not None else sys.stdout
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


def plural(n: float, word: str, words: str | None = None) -> str:
    """``plural(1, "minute")`` -> ``'1 minute'``; ``plural(2.5, "minute")`` -> ``'2.5 minutes'``;
    integers get thousands separators (``plural(12000, "step")`` -> ``'12,000 steps'``)."""
    shown = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{shown} {word if n == 1 else (words or word + 's')}"


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
                 log_every: int | None = None, live: bool | None = None, file: Any = None, completed: int = 0):
        self.total, self.description, self.unit = total, description, unit
        self.file = file
        self.step = self.first = completed     # ``completed``: steps done before (a resumed run)
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
        """Estimated seconds left: this run's pace (its time over its own steps, not the steps of a run it
        resumes) times the steps still to go; ``None`` until the total and one step are known."""
        done = self.step - self.first
        if not self.total or done <= 0:
            return None
        return self.elapsed / done * max(0, self.total - self.step)

    def _times(self) -> str:
        eta = self.eta()
        return f"{format_seconds(self.elapsed)}  eta {format_seconds(eta) if eta is not None else '-:--'}"

    def __enter__(self) -> "Progress":
        self.start = time.perf_counter()
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            self._console = Console(file=self.file) if self.file is not None else Console()
            self._bar = _two_line_progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=None),
                                         MofNCompleteColumn(), TextColumn("{task.fields[times]}"),
                                         console=self._console, transient=False, expand=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, completed=self.step, metrics="",
                                            times=self._times())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, metrics=format_metrics(self.metrics), times=self._times())
            self._bar.__exit__(*exc)
            self._bar = None
        elif self.step != self._logged:
            self._log_line()

    def set_total(self, total: int | None) -> None:
        """Change the expected number of steps (e.g. an estimate that firms up under a time budget)."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total, times=self._times())

    def update(self, advance: int = 1, **metrics: Any) -> None:
        """Move on ``advance`` steps and record the latest metrics (shown beside the bar or in the next log line)."""
        self.step += advance
        self.metrics.update(metrics)
        if self._bar is not None:
            self._bar.update(self._task, advance=advance, metrics=format_metrics(self.metrics), times=self._times())
        elif advance and (self.step % self.log_every == 0 or (self.total is not None and self.step == self.total)):
            self._log_line()

    def _log_line(self) -> None:
        self._logged = self.step
        where = f"{self.unit} {self.step}" + (f"/{self.total}" if self.total else "")
        eta = self.eta()
        tail = f"  {format_seconds(self.elapsed)} elapsed" + (f"  eta {format_seconds(eta)}" if eta is not None else "")
        head = f"{self.description}: " if self.description else ""
        line = f"{head}{where}  {format_metrics(self.metrics)}{tail}".replace("  " * 2, "  ")
        print("\n".join(wrap_lines([line], terminal_width(self.file))), file=self.file, flush=True)

    def print(self, *objects: Any) -> None:
        """Print above the live bar (or as plain text when there is no bar)."""
        if self._console is not None:
            self._console.print(*objects)
            return
        for obj in objects:
            print(plain_text(obj, terminal_width(self.file)), file=self.file, flush=True)


def _two_line_progress_class() -> type:
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class TwoLine(RichProgress):
        """rich's Progress with each task's metrics on their own line above its bar, so both fit 80 columns."""

        def get_renderables(self) -> Any:
            for task in self.tasks:
                if task.fields.get("metrics"):
                    yield Text(task.fields["metrics"])
            yield self.make_tasks_table(self.tasks)
    return TwoLine


_TWO_LINE: Any = None


def _two_line_progress(*args: Any, **kwargs: Any) -> Any:
    global _TWO_LINE
    if _TWO_LINE is None:                 # rich is imported only when a live bar is drawn
        _TWO_LINE = _two_line_progress_class()
    return _TWO_LINE(*args, **kwargs)


def plain_text(obj: Any, width: int | None = None) -> str:
    """``obj`` as plain text: a string as it is, a rich renderable drawn without colour at ``width``
    columns (default: the terminal's, 80 when unknown)."""
    if isinstance(obj, str):
        return obj
    from rich.console import Console
    console = Console(width=width or terminal_width(), no_color=True, force_terminal=False, color_system=None)
    with console.capture() as cap:
        console.print(obj)
    return cap.get().rstrip("\n")


_plain = plain_text          # the old private name


def wrap_lines(lines: list[str], width: int) -> list[str]:
    """Header lines wrapped at ``width`` (continuations indented under the first word; long paths stay whole)."""
    out = []
    for line in lines:
        head = line.split(" ", 1)[0]
        indent = " " * (len(head) + 1 if head.endswith(":") and len(head) < 12 else 2)
        out += textwrap.wrap(line, width=max(20, width), subsequent_indent=indent, break_long_words=False,
                             break_on_hyphens=False) or [""]
    return out


# ---------------------------------------------------------------------------
# what train() reports, and the console display of it
# ---------------------------------------------------------------------------

class Reporter:
    """What ``train`` tells the outside world; subclass and override what you need (all no-ops here)."""

    def start(self, info: dict) -> None:
        """The run begins: ``info["lines"]`` (the header), ``info["total"]`` (steps, ``None`` under a time
        budget), ``info["step"]`` (the step it starts from: >0 when resumed), ``info["log_every"]``."""

    def step(self, step: int, metrics: dict) -> None:
        """Step ``step`` is done; ``metrics``: ``train bpc`` (recent mean), ``val bpc`` (latest), ``chars/s``."""

    def set_total(self, total: int | None) -> None:
        """The expected number of steps changed (an estimate under a time budget)."""

    def evaluated(self, step: int, val_bpc: float, best: bool) -> None:
        """The validation split was scored at ``step`` (``best``: the best so far, saved as best.npz)."""

    def sampled(self, step: int, text: str) -> None:
        """A short sample of generated text at ``step``."""

    def message(self, text: str) -> None:
        """A line of information for the user."""

    def end(self, result: Any) -> None:
        """The run ended (finished or interrupted); ``result`` is the ``TrainResult``."""


class ConsoleReporter(Reporter):
    """A rich live progress bar in a terminal (plain log lines elsewhere), sample panels, a summary.

    Everything is drawn for the terminal's width (80 columns when it is unknown).
    """

    def __init__(self, file: Any = None, live: bool | None = None):
        self.file, self.live, self.bar = file, live, None

    def start(self, info: dict) -> None:
        """Print the header (wrapped to the width) and open the bar at the run's first step."""
        for line in wrap_lines(info["lines"], terminal_width(self.file)):
            self._print(line)
        self.bar = Progress(info["total"], "train", live=self.live, file=self.file,
                            log_every=info.get("log_every"), completed=info["step"])
        self.bar.__enter__()

    def _print(self, obj: Any) -> None:
        if self.bar is not None:
            self.bar.print(obj)
        else:
            print(plain_text(obj, terminal_width(self.file)), file=self.file, flush=True)

    def set_total(self, total: int | None) -> None:
        """Pass a new expected total to the bar."""
        if self.bar is not None:
            self.bar.set_total(total)

    def step(self, step: int, metrics: dict) -> None:
        """Move the bar to ``step`` and show ``metrics``."""
        self.bar.update(advance=step - self.bar.step, **metrics)

    def evaluated(self, step: int, val_bpc: float, best: bool) -> None:
        """Show the new validation score on the bar (and, in a log, as its own line)."""
        self.bar.update(advance=0, **{"val bpc": val_bpc})
        if not self.bar.live:
            self._print(f"eval: step {step}  val bpc {val_bpc:.4f}" + ("  (best so far)" if best else ""))

    def sampled(self, step: int, text: str) -> None:
        """A panel in a terminal, an indented block in a log."""
        if self.bar.live:
            from rich.panel import Panel
            from rich.text import Text
            self._print(Panel(Text(text), title=f"sample at step {step}", title_align="left", expand=False))
        else:
            self._print(f"sample at step {step}:\n" + "\n".join("  | " + ln for ln in text.split("\n")))

    def message(self, text: str) -> None:
        """Print ``text`` above the bar."""
        self._print(text)

    def end(self, result: Any) -> None:
        """Close the bar (showing the final metrics) and print the run's summary."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        print(result.summary(terminal_width(self.file)), file=self.file, flush=True)
