"""Charts for people who would rather look than read: in the terminal, and as PNGs.

    from tinygrad_seq import charts
    print(charts.line_chart({"rnn": rnn_losses, "lstm": lstm_losses},
                            title="training loss", xlabel="step", ylabel="MSE"))
    charts.plot({"train": losses}, title="loss", png="loss.png")   # terminal chart, plus a PNG
                                                                   # when matplotlib is installed

``line_chart`` returns plain text (no colour codes), so it prints the same in
a terminal, a log file, a notebook and a test.  ``save_png`` draws the same
series with matplotlib, which stays optional (``pip install "tinygrad-seq[plot]"``):
without it, it returns ``None`` and says nothing.  ``plot`` does both and, in a
Jupyter notebook, shows the figure inline.
"""
from __future__ import annotations

import math
import sys
from typing import Mapping, Sequence

__all__ = ["line_chart", "bar_chart", "heatmap", "save_png", "save_heatmap_png", "plot", "have_matplotlib",
           "in_notebook"]

MARKERS = "●×+◆▲○■"


def _as_series(series: Mapping[str, Sequence[float]] | Sequence[float]) -> dict[str, list[float]]:
    if isinstance(series, Mapping):
        return {str(k): [float(v) for v in vals] for k, vals in series.items()}
    return {"": [float(v) for v in series]}


def _fmt(v: float) -> str:
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(series: Mapping[str, Sequence[float]] | Sequence[float], *, title: str = "",
               xlabel: str = "step", ylabel: str = "", x: Sequence[float] | None = None,
               logy: bool = False, width: int = 64, height: int = 14, connect: bool = False) -> str:
    """A line chart of one or more series as plain text, axes labelled.

    ``series``: a list of numbers, or ``{name: numbers}`` for several (each its
    own marker, a legend below).  ``x``: the x value of each point (default
    0, 1, 2, ...).  ``logy=True`` plots log10 of the values (non-positive ones
    are left out), the scale to use for gradient norms that vanish or explode.
    Non-finite values are left out of the chart.  ``connect=True`` joins each
    series' consecutive points with its marker, so a time series reads as a line.
    """
    data = _as_series(series)
    n = max((len(v) for v in data.values()), default=0)
    xs = [float(v) for v in x] if x is not None else [float(i) for i in range(n)]
    pts: list[tuple[int, float, float]] = []          # (series index, x, y)
    for k, vals in enumerate(data.values()):
        for i, v in enumerate(vals[:len(xs)]):
            if not math.isfinite(v) or (logy and v <= 0):
                continue
            pts.append((k, xs[i], math.log10(v) if logy else v))
    lines = [title] if title else []
    if not pts:
        return "\n".join(lines + ["(no finite values to plot)"])
    x0, x1 = min(p[1] for p in pts), max(p[1] for p in pts)
    y0, y1 = min(p[2] for p in pts), max(p[2] for p in pts)
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x1 == x0:
        x1 = x0 + 1
    grid = [[" "] * width for _ in range(height)]
    prev: dict[int, tuple[int, int]] = {}
    for k, px, py in pts:
        col = round((px - x0) / (x1 - x0) * (width - 1))
        row = height - 1 - round((py - y0) / (y1 - y0) * (height - 1))
        mark = MARKERS[k % len(MARKERS)]
        if connect and k in prev:                     # fill the cells between the previous point and this one
            c0, r0 = prev[k]
            n = max(abs(col - c0), abs(row - r0))
            for j in range(1, n):
                grid[round(r0 + (row - r0) * j / n)][round(c0 + (col - c0) * j / n)] = mark
        grid[row][col] = mark
        prev[k] = (col, row)
    labels = {0: y1, height // 2: (y0 + y1) / 2, height - 1: y0}
    shown = {r: _fmt(10 ** v if logy else v) for r, v in labels.items()}
    pad = max(len(s) for s in shown.values())
    if ylabel:
        lines.append(" " * (pad + 1) + ylabel + (" (log scale)" if logy else ""))
    for r in range(height):
        lines.append(f"{shown.get(r, ''):>{pad}} ┤" + "".join(grid[r]).rstrip())
    lines.append(" " * pad + " └" + "─" * width)
    left, right = _fmt(x0), _fmt(x1)
    axis = left + xlabel.center(max(width - len(left) - len(right), len(xlabel) + 2)) + right
    lines.append(" " * (pad + 2) + axis)
    if len(data) > 1 or next(iter(data)):
        lines.append(" " * (pad + 2) + "   ".join(f"{MARKERS[k % len(MARKERS)]} {name}"
                                                 for k, name in enumerate(data)))
    return "\n".join(lines)


def bar_chart(values: Mapping[str, float], *, title: str = "", width: int = 40, fmt: str = "{:.4g}") -> str:
    """Horizontal bars, one per label, scaled to the largest absolute value."""
    lines = [title] if title else []
    if not values:
        return "\n".join(lines + ["(nothing to plot)"])
    top = max((abs(v) for v in values.values() if math.isfinite(v)), default=0.0) or 1.0
    pad = max(len(str(k)) for k in values)
    for k, v in values.items():
        n = round(abs(v) / top * width) if math.isfinite(v) else 0
        lines.append(f"{str(k):>{pad}} │{'█' * n} {fmt.format(v)}")
    return "\n".join(lines)


_SHADES = " ░▒▓█"


def heatmap(matrix: Sequence[Sequence[float]], *, rows: Sequence[str] | None = None,
            cols: Sequence[str] | None = None, title: str = "") -> str:
    """A matrix of values in [0, max] as shaded cells (for attention weights, gate values)."""
    m = [[float(v) for v in row] for row in matrix]
    top = max((v for row in m for v in row if math.isfinite(v)), default=1.0) or 1.0
    rows = [str(r) for r in rows] if rows is not None else [str(i) for i in range(len(m))]
    pad = max((len(r) for r in rows), default=0)
    lines = [title] if title else []
    if cols is not None:
        lines.append(" " * (pad + 1) + "".join(str(c)[:1] * 2 for c in cols))
    for name, row in zip(rows, m):
        cells = "".join(_SHADES[min(len(_SHADES) - 1, max(0, int(v / top * (len(_SHADES) - 1) + 0.5)))] * 2
                        for v in row)
        lines.append(f"{name:>{pad}} {cells}")
    return "\n".join(lines)


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (PNG charts are drawn only then)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures show inline)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def save_png(series: Mapping[str, Sequence[float]] | Sequence[float], path: str | None, *, title: str = "",
             xlabel: str = "step", ylabel: str = "", x: Sequence[float] | None = None,
             logy: bool = False, show: bool = False) -> str | None:
    """The same chart drawn with matplotlib: saved to ``path`` (if given), shown inline if ``show``.

    Returns the path written, or ``None`` when matplotlib is not installed (then, if a ``path`` was
    asked for, one line says what is missing and how to get it).
    """
    if not have_matplotlib():
        if path:
            print(f"{path} not written: matplotlib is not installed "
                  '(pip install "tinygrad-seq[plot]", or pip install matplotlib)')
        return None
    import matplotlib
    if not show:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, vals in _as_series(series).items():
        xs = list(x) if x is not None else list(range(len(vals)))
        ax.plot(xs[:len(vals)], vals[:len(xs)], label=name or None)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if isinstance(series, Mapping) and len(series) > 1:
        ax.legend()
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    if show:
        plt.show()
    plt.close(fig)
    return path


def save_heatmap_png(matrix: Sequence[Sequence[float]], path: str | None, *, rows: Sequence[str] = (),
                     cols: Sequence[str] = (), xlabel: str = "", ylabel: str = "", vmax: float = 1.0) -> str | None:
    """``heatmap``'s matrix drawn with matplotlib (grey scale from 0 to ``vmax``, labelled rows and columns).

    Saved to ``path`` if given and shown inline in a notebook; does nothing
    (returns ``None``) without matplotlib, or with no path outside a notebook.
    For attention weights: one row per output step, one column per input.
    """
    if not have_matplotlib() or not (path or in_notebook()):
        return None
    import matplotlib
    if not in_notebook():
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(0.6 * len(cols) + 2, 0.45 * len(rows) + 1.5))
    ax.imshow(matrix, cmap="Greys", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    if in_notebook():
        plt.show()
    plt.close(fig)
    return path


def plot(series: Mapping[str, Sequence[float]] | Sequence[float], *, png: str | None = None, title: str = "",
         xlabel: str = "step", ylabel: str = "", x: Sequence[float] | None = None, logy: bool = False,
         width: int = 64, height: int = 14, connect: bool = False, file=None) -> str | None:
    """Print the terminal chart; with matplotlib, also save ``png`` and show it inline in a notebook.

    Returns the PNG path written, if any.
    """
    print(line_chart(series, title=title, xlabel=xlabel, ylabel=ylabel, x=x, logy=logy,
                     width=width, height=height, connect=connect), file=file)
    if png is None and not in_notebook():
        return None
    return save_png(series, png, title=title, xlabel=xlabel, ylabel=ylabel, x=x, logy=logy, show=in_notebook())
