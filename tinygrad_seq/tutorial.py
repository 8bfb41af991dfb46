"""The tutorials' runner and the helpers they share.

A tutorial is a percent-format script (``# %%`` code cells, ``# %% [markdown]``
text cells): plain Python top to bottom, a notebook in Jupyter (jupytext) and
VS Code.  Its first code cell is

    from tinygrad_seq.tutorial import quick, result, step_through, figure
    step_through()             # with --step: run this file cell by cell through the runner, then exit

and the rest uses

    QUICK = quick()            # True with --quick or TINYGRAD_SEQ_QUICK=1: small sizes, few steps
    steps = 50 if QUICK else 2000
    charts.plot(losses, png=figure("loss"))  # PNG into tutorials/figures/ (inline in a notebook)
    result(lstm_mse=0.004, rnn_mse=0.170)    # prints: RESULT lstm_mse=0.004 rnn_mse=0.17

Three ways to run one:

    python tutorials/03_rnn_bptt.py            # straight through, printing its results
    python tutorials/03_rnn_bptt.py --step     # cell by cell: text, code, Enter runs it, q quits
    python tutorials/03_rnn_bptt.py --quick    # small sizes, seconds (the tests use it)
    python -m tinygrad_seq.tutorial tutorials/03_rnn_bptt.py --step [--quick]
"""
from __future__ import annotations

import builtins
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

__all__ = ["quick", "result", "parse_result", "step_through", "figure", "parse_cells", "run", "main"]

_inside_runner = False      # True while run() executes a tutorial (so its step_through() does nothing)


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


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------

def figure(name: str) -> str | None:
    """Where a script saves its chart ``name``: ``tutorials/figures/<name>.png`` beside the tutorial.

    ``None`` (no file) in a notebook, where the chart shows inline; in quick
    mode, which is for tests and first looks (drawing PNGs would take longer
    than the lesson); and when matplotlib is not installed.  The folder is
    created on first use (and git-ignored).
    """
    from .charts import have_matplotlib, in_notebook
    if in_notebook() or quick() or not have_matplotlib():
        return None
    where = sys._getframe(1).f_globals.get("__file__") or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    folder = Path(where).resolve().parent / "figures" if where else Path("figures")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")


# ---------------------------------------------------------------------------
# the step-through runner
# ---------------------------------------------------------------------------

_CELL = re.compile(r"^# %%(.*)$")


def parse_cells(source: str) -> list[tuple[str, str]]:
    """Split a percent-format script into ``[(kind, text), ...]``, kind ``"code"`` or ``"markdown"``.

    Markdown text loses its leading ``# ``; blank cells are dropped; text before
    the first ``# %%`` counts as code.
    """
    cells: list[tuple[str, list[str]]] = [("code", [])]
    for line in source.splitlines():
        m = _CELL.match(line)
        if m:
            kind = "markdown" if re.search(r"\[(markdown|md)\]", m.group(1)) else "code"
            cells.append((kind, []))
        else:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln[1:] if ln.startswith("#") else ln for ln in lines]
        text = "\n".join(lines).strip("\n")
        if text.strip():
            out.append((kind, text))
    return out


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)


def _terminal_markdown(text: str) -> str:
    """Display equations (``$$ ... $$``) as code blocks, so a terminal keeps their lines and spacing."""
    return _DISPLAY_MATH.sub(lambda m: "\n```\n" + m.group(1).strip("\n") + "\n```\n", text)


def _console(file: TextIO | None):
    from rich.console import Console
    return Console(file=file) if file is not None else Console()


def run(path: str | os.PathLike, *, step: bool = False, quick_mode: bool = False,
        stdin: TextIO | None = None, file: TextIO | None = None) -> int:
    """Run a tutorial's cells in one namespace (``__name__ == "__main__"``); return an exit code.

    ``step``: before each code cell, show the text cells before it (rich
    Markdown panels) and its code (syntax-highlighted), wait for Enter (``q``
    then Enter quits, exit code 0; end of input runs on to the end without
    pausing), then run it, its output printed below.  ``quick_mode`` puts
    ``--quick`` in ``sys.argv`` for the tutorial's ``quick()``.
    """
    global _inside_runner
    path = Path(path)
    cells = parse_cells(path.read_text(encoding="utf-8"))
    stdin = stdin if stdin is not None else sys.stdin
    console = _console(file) if step else None
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins}
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(path)] + (["--quick"] if quick_mode else [])
    sys.path.insert(0, str(path.resolve().parent))
    _inside_runner = True
    pausing = step
    n_code = sum(kind == "code" for kind, _ in cells)
    done = 0
    pending: list[str] = []
    try:
        for kind, text in cells:
            if kind == "markdown":
                pending.append(text)
                continue
            done += 1
            if step:
                from rich.markdown import Markdown
                from rich.panel import Panel
                from rich.rule import Rule
                from rich.syntax import Syntax
                console.print(Rule(f"cell {done} of {n_code}"))
                for md in pending:
                    console.print(Panel(Markdown(_terminal_markdown(md)), border_style="blue"))
                console.print(Syntax(text, "python", theme="ansi_dark", word_wrap=True))
                if pausing:
                    console.print("[dim]Enter: run this cell · q: quit[/dim] ", end="")
                    answer = stdin.readline()
                    if answer and not getattr(stdin, "isatty", lambda: False)():
                        console.print()               # piped input: end the prompt line ourselves
                    if not answer:                    # end of input: run on without pausing
                        pausing = False
                        console.print()
                    elif answer.strip().lower() in ("q", "quit"):
                        console.print(f"Quit before cell {done} of {n_code}.")
                        return 0
                console.print(Rule("output", style="dim"))
            pending = []
            code = compile(text + "\n", f"{path.name} (cell {done})", "exec")
            try:
                exec(code, namespace)
            except SystemExit as e:
                return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except KeyboardInterrupt:
                print(f"\nInterrupted in cell {done} of {n_code}.", file=sys.stderr)
                return 130
            except Exception:
                traceback.print_exc()
                return 1
            sys.stdout.flush()
        if step:
            for md in pending:
                from rich.markdown import Markdown
                from rich.panel import Panel
                console.print(Panel(Markdown(_terminal_markdown(md)), border_style="blue"))
            console.print(f"Done: {n_code} cells of {path.name}.")
        return 0
    finally:
        _inside_runner = False
        sys.argv, sys.path[:] = saved_argv, saved_path


def step_through(path: str | None = None) -> None:
    """A tutorial's first cell: with ``--step`` on the command line, run the file through the runner and exit.

    Does nothing otherwise (a plain run, a notebook, or already inside the
    runner).  ``path`` defaults to the calling file's ``__file__``.
    """
    if _inside_runner or "--step" not in sys.argv[1:]:
        return
    path = path or sys._getframe(1).f_globals.get("__file__")
    if not path:
        return
    raise SystemExit(run(path, step=True, quick_mode=quick()))


def main(argv: list[str] | None = None) -> int:
    """``python -m tinygrad_seq.tutorial FILE [--step] [--quick]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    files = [a for a in args if not a.startswith("-")]
    unknown = [a for a in args if a.startswith("-") and a not in ("--step", "--quick")]
    if len(files) != 1 or unknown:
        print("usage: python -m tinygrad_seq.tutorial TUTORIAL.py [--step] [--quick]", file=sys.stderr)
        return 2
    return run(files[0], step="--step" in args, quick_mode="--quick" in args or quick())


if __name__ == "__main__":            # run as python -m: use the package's module, whose flags the tutorial sees
    from tinygrad_seq.tutorial import main as _main
    sys.exit(_main())
