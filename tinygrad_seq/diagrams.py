"""Pictures of the models the tutorials train: a text drawing for the terminal, an SVG for notebooks and files.

    from tinygrad_seq import diagrams
    diagrams.show("lstm")                      # prints the text drawing; in a notebook, also the SVG inline
    diagrams.show("lstm", "figures/lstm.svg")  # ... and writes the SVG (a ".png" path is written as ".svg")
    print(diagrams.text("gru")); svg = diagrams.svg("gru")

The names: ``"rnn"`` (an RNN unrolled over three steps, in the outline's
U, W, V, s_t), ``"lstm"`` and ``"gru"`` (one cell, in PyTorch's gate letters),
``"birnn"`` (a bidirectional layer) and ``"seq2seq"`` (an encoder-decoder, with
attention, in lesson 10's h_j, s_t, c_t).  Each picture is one drawing kept as data: boxes, ⊙/+ nodes and
arrows, so the SVG needs no plotting library (no matplotlib, no Graphviz).
The graph the engine really records for a step is drawn by ``viz.graph`` and
``viz.to_dot`` instead; these pictures are the textbook view beside it.
"""
from __future__ import annotations

import html
import sys
from pathlib import Path

__all__ = ["NAMES", "text", "svg", "show"]

# ---------------------------------------------------------------------------
# the text drawings (what a terminal shows)
# ---------------------------------------------------------------------------

_TEXT = {
    "rnn": r"""
  an RNN unrolled over three steps: the same U, W, V at every step
            o_1                o_2                o_3
             ▲                  ▲                  ▲
             │ V                │ V                │ V
 s_0 ──W──▶ s_1 ──────W──────▶ s_2 ──────W──────▶ s_3 ──W──▶ ...
             ▲                  ▲                  ▲
             │ U                │ U                │ U
            x_1                x_2                x_3
  s_t = tanh(U x_t + W s_(t-1) + b)        o_t = V s_t + c  (scores)
""",
    "lstm": r"""
  one LSTM cell (gates: i input, f forget, g candidate, o output gate)
  c_(t-1) ─────▶(⊙)────────────▶(+)─────────────┬─────────▶ c_t
                 ▲               ▲               │
                 │ f_t           │              tanh
                 │       i_t ──▶(⊙)◀── g_t       │
                 │        ▲             ▲        ▼
                 │        │             │   o_t (⊙)───────┬─▶ h_t
             ┌───┴───┐┌───┴───┐  ┌──────┴─┐ ┌───┴───┐     │
             │ σ : f ││ σ : i │  │tanh : g│ │ σ : o │     │ (to the next step
             └───▲───┘└───▲───┘  └───▲────┘ └───▲───┘     │  and to a head)
  h_(t-1), x_t ──┴────────┴──────────┴───────────┘
  c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t        h_t = o_t ⊙ tanh(c_t)
""",
    "gru": r"""
  one GRU cell (gates: r reset, z update; n the candidate state)
  h_(t-1) ───────────────────────▶(⊙)─────────────────────▶(+)──────▶ h_t
                                   ▲ z_t                     ▲
                                   │        1 - z_t ───────▶(⊙)◀── n_t
                                   │                               ▲
                               ┌───┴───┐   ┌───────┐     ┌─────────┴─────────┐
                               │ σ : z │   │ σ : r ├────▶│     tanh : n      │
                               └───▲───┘   └───▲───┘ r_t └─────────▲─────────┘
  h_(t-1), x_t ────────────────────┴───────────┴───────────────────┘
  n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_(t-1) + b_hn))
  h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_(t-1)
""",
    "birnn": r"""
  a bidirectional RNN: one RNN reads left to right,
  another (with its own weights) right to left
       [→h_1 ; ←h_1]        [→h_2 ; ←h_2]        [→h_3 ; ←h_3]   (2H features)
             ▲   ▲                ▲   ▲                ▲   ▲
             │  ←h_1 ◀─────────── │  ←h_2 ◀─────────── │  ←h_3 ◀─ 0 backward RNN
             │   ▲                │   ▲                │   ▲
      0 ───▶ →h_1 ──────────────▶ →h_2 ──────────────▶ →h_3      forward RNN
             ▲   │                ▲   │                ▲   │
             └ x_1 ┘              └ x_2 ┘              └ x_3 ┘
  position t sees the past through →h_t and the future through ←h_t
""",
    "seq2seq": r"""
  an encoder-decoder: the encoder reads x, the decoder writes y token by token
          encoder                                  decoder
  h_1 ───▶ h_2 ───▶ h_3 ══ s_0 = h_3 ═══▶ s_1 ───▶ s_2 ───▶ s_3
   ▲        ▲        ▲                      ▲  │     ▲  │     ▲  │
  x_1      x_2      x_3                  <bos> ▼   y_1  ▼   y_2  ▼
                                              y_1 ──┘  y_2 ──┘  y_3
  without attention, all of x reaches the decoder through one state, s_0 (══);
  with attention, every s_t also reads c_t = Σ_j α_tj h_j,
  a weighted sum of all the encoder states
""",
}

NAMES = tuple(_TEXT)


def text(name: str) -> str:
    """The text drawing of ``name`` (one of ``NAMES``), for a terminal."""
    if name not in _TEXT:
        raise ValueError(f"diagrams: no drawing called {name!r}; there are {', '.join(NAMES)}")
    return _TEXT[name].strip("\n")


# ---------------------------------------------------------------------------
# the SVG drawings: boxes, operator circles and arrows on a grid
# ---------------------------------------------------------------------------
# box:   ("box", x, y, w, h, label, fill)
# node:  ("op", x, y, symbol)              a small circle: ⊙, +, tanh, 1-
# arrow: ("arrow", [(x, y), ...], label)   a polyline ending in an arrowhead
# label: ("text", x, y, label)

_GATE, _STATE, _IO = "#fde6c8", "#d8e8f8", "#e8f4e0"


def _rnn() -> list:
    items: list = [("text", 20, 20, "an RNN unrolled over three steps: the same U, W, V at every step")]
    items += [("box", 10, 115, 50, 34, "s₀", _STATE)]
    prev = (60, 132)
    for k in range(3):
        x = 120 + 170 * k
        t = k + 1
        items += [("box", x, 115, 70, 34, f"s{'₁₂₃'[k]}", _STATE),
                  ("box", x + 5, 200, 60, 30, f"x{'₁₂₃'[k]}", _IO),
                  ("box", x + 5, 40, 60, 30, f"o{'₁₂₃'[k]}", _IO),
                  ("arrow", [(x + 35, 200), (x + 35, 149)], "U"),
                  ("arrow", [(x + 35, 115), (x + 35, 70)], "V"),
                  ("arrow", [prev, (x, 132)], "W")]
        prev = (x + 70, 132)
        del t
    items += [("arrow", [prev, (prev[0] + 50, 132)], "W"), ("text", prev[0] + 55, 136, "…"),
              ("text", 20, 262, "sₜ = tanh(U xₜ + W sₜ₋₁ + b)      oₜ = V sₜ + c  (scores; pₜ = softmax(oₜ))")]
    return items


def _lstm() -> list:
    return [
        ("text", 20, 20, "one LSTM cell: gates i (input), f (forget), g (candidate), o (output gate)"),
        ("text", 10, 64, "cₜ₋₁"), ("arrow", [(45, 60), (160, 60)], ""), ("op", 175, 60, "⊙"),
        ("arrow", [(190, 60), (310, 60)], ""), ("op", 325, 60, "+"), ("arrow", [(340, 60), (560, 60)], ""),
        ("text", 565, 64, "cₜ"),
        ("arrow", [(450, 60), (450, 105)], ""), ("op", 450, 120, "tanh"), ("arrow", [(450, 135), (450, 160)], ""),
        ("op", 450, 175, "⊙"), ("arrow", [(465, 175), (560, 175)], ""), ("text", 565, 179, "hₜ"),
        ("box", 140, 220, 70, 34, "σ : f", _GATE), ("box", 240, 220, 70, 34, "σ : i", _GATE),
        ("box", 330, 220, 70, 34, "tanh : g", _GATE), ("box", 420, 220, 70, 34, "σ : o", _GATE),
        ("arrow", [(175, 220), (175, 75)], "fₜ"), ("op", 325, 160, "⊙"),
        ("arrow", [(275, 220), (275, 160), (310, 160)], "iₜ"), ("arrow", [(365, 220), (365, 160), (340, 160)], "gₜ"),
        ("arrow", [(325, 145), (325, 75)], ""), ("arrow", [(455, 220), (455, 190)], "oₜ"),
        ("text", 10, 296, "hₜ₋₁, xₜ"), ("arrow", [(80, 292), (505, 292)], ""),
        ("arrow", [(175, 292), (175, 254)], ""), ("arrow", [(275, 292), (275, 254)], ""),
        ("arrow", [(365, 292), (365, 254)], ""), ("arrow", [(455, 292), (455, 254)], ""),
        ("text", 20, 330, "cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ        hₜ = oₜ ⊙ tanh(cₜ)"),
    ]


def _gru() -> list:
    return [
        ("text", 20, 20, "one GRU cell: gates r (reset), z (update); n the candidate state"),
        ("text", 10, 64, "hₜ₋₁"), ("arrow", [(45, 60), (160, 60)], ""), ("op", 175, 60, "⊙"),
        ("arrow", [(190, 60), (450, 60)], ""), ("op", 465, 60, "+"), ("arrow", [(480, 60), (580, 60)], ""),
        ("text", 585, 64, "hₜ"),
        ("box", 140, 200, 70, 34, "σ : z", _GATE), ("box", 270, 200, 70, 34, "σ : r", _GATE),
        ("box", 400, 190, 130, 54, "tanh : n", _GATE),
        ("arrow", [(175, 200), (175, 75)], "zₜ"), ("op", 465, 130, "⊙"),
        ("arrow", [(200, 200), (200, 130), (450, 130)], "1 − zₜ"), ("arrow", [(465, 190), (465, 145)], "nₜ"),
        ("arrow", [(465, 115), (465, 75)], ""),
        ("arrow", [(340, 217), (400, 217)], "rₜ"),
        ("text", 10, 296, "hₜ₋₁, xₜ"), ("arrow", [(80, 292), (540, 292)], ""),
        ("arrow", [(175, 292), (175, 234)], ""), ("arrow", [(305, 292), (305, 234)], ""),
        ("arrow", [(465, 292), (465, 244)], ""),
        ("text", 20, 330, "nₜ = tanh(W_in xₜ + b_in + rₜ ⊙ (W_hn hₜ₋₁ + b_hn))      hₜ = (1 − zₜ) ⊙ nₜ + zₜ ⊙ hₜ₋₁"),
    ]


def _birnn() -> list:
    items: list = [("text", 20, 20, "a bidirectional RNN: one RNN reads left to right, another right to left")]
    for k in range(3):
        x0 = 40 + 190 * k
        s = "₁₂₃"[k]
        items += [("box", x0 + 25, 250, 60, 30, f"x{s}", _IO),
                  ("box", x0, 180, 60, 34, f"→h{s}", _STATE),
                  ("box", x0 + 70, 110, 60, 34, f"←h{s}", "#f8e0e8"),
                  ("box", x0 + 10, 35, 110, 30, f"[→h{s} ; ←h{s}]", _IO),
                  ("arrow", [(x0 + 45, 250), (x0 + 45, 214)], ""),
                  ("arrow", [(x0 + 75, 250), (x0 + 75, 144)], ""),
                  ("arrow", [(x0 + 30, 180), (x0 + 30, 65)], ""),
                  ("arrow", [(x0 + 100, 110), (x0 + 100, 65)], "")]
        if k < 2:
            items += [("arrow", [(x0 + 60, 197), (x0 + 190, 197)], ""),
                      ("arrow", [(x0 + 260, 127), (x0 + 130, 127)], "")]
    items += [("text", 5, 201, "0"), ("arrow", [(15, 197), (40, 197)], ""),
              ("arrow", [(580, 127), (550, 127)], ""), ("text", 585, 131, "0"),
              ("text", 610, 201, "forward RNN"), ("text", 610, 131, "backward RNN (own weights)"),
              ("text", 20, 310, "position t sees the past through →hₜ and the future through ←hₜ")]
    return items


def _seq2seq() -> list:
    items: list = [("text", 20, 20, "an encoder-decoder: the encoder reads x, the decoder writes y one token at a time")]
    for k in range(3):
        s = "₁₂₃"[k]
        xe, xd = 30 + 110 * k, 400 + 110 * k
        items += [("box", xe, 110, 60, 34, f"h{s}", _STATE), ("box", xe + 5, 200, 50, 30, f"x{s}", _IO),
                  ("arrow", [(xe + 30, 200), (xe + 30, 144)], ""),
                  ("box", xd, 110, 60, 34, f"s{s}", "#f8e0e8"), ("box", xd + 5, 40, 50, 30, f"y{s}", _IO),
                  ("arrow", [(xd + 30, 110), (xd + 30, 70)], ""),
                  ("box", xd + 5, 200, 50, 30, "<bos>" if k == 0 else f"y{'₁₂₃'[k - 1]}", _IO),
                  ("arrow", [(xd + 30, 200), (xd + 30, 144)], "")]
        if k < 2:
            items += [("arrow", [(xe + 60, 127), (xe + 110, 127)], ""), ("arrow", [(xd + 60, 127), (xd + 110, 127)], "")]
    items += [("arrow", [(280, 127), (400, 127)], "s₀ = h₃"),
              ("arrow", [(60, 110), (60, 90), (340, 90), (420, 110)], "attention: cₜ = Σⱼ αₜⱼ hⱼ"),
              ("text", 20, 270, "without attention, all of x passes through the one state s₀;"),
              ("text", 20, 290, "with attention, each sₜ also reads a weighted sum of all encoder states")]
    return items


_SVG = {"rnn": _rnn, "lstm": _lstm, "gru": _gru, "birnn": _birnn, "seq2seq": _seq2seq}


def svg(name: str) -> str:
    """The drawing of ``name`` as an SVG document (a string)."""
    text(name)                                       # the same error for an unknown name
    items = _SVG[name]()
    width = max(_right(it) for it in items) + 20
    height = max(_bottom(it) for it in items) + 15
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="13">',
           '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
           '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for it in items:
        kind = it[0]
        if kind == "box":
            _, x, y, w, h, label, fill = it
            out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="#333"/>')
            out.append(f'<text x="{x + w / 2}" y="{y + h / 2 + 5}" text-anchor="middle">{html.escape(label)}</text>')
        elif kind == "op":
            _, x, y, sym = it
            r = 15 if len(sym) > 1 else 11
            out.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="#fff8d0" stroke="#333"/>')
            out.append(f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="{11 if len(sym) > 1 else 15}">'
                       f'{html.escape(sym)}</text>')
        elif kind == "arrow":
            _, pts, label = it
            path = " ".join(f"{px},{py}" for px, py in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="#333" stroke-width="1.4" '
                       'marker-end="url(#head)"/>')
            if label:
                (x0, y0), (x1, y1) = pts[-2], pts[-1]
                out.append(f'<text x="{(x0 + x1) / 2 + 5}" y="{(y0 + y1) / 2 - 4}" font-style="italic" '
                           f'fill="#803000">{html.escape(label)}</text>')
        else:
            _, x, y, label = it
            out.append(f'<text x="{x}" y="{y}">{html.escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _right(it: tuple) -> float:
    if it[0] == "box":
        return it[1] + it[3]
    if it[0] == "op":
        return it[1] + 15
    if it[0] == "arrow":
        return max(p[0] for p in it[1]) + 10 * (len(it[2]) > 0) * len(it[2]) // 2
    return it[1] + 7 * len(it[3])


def _bottom(it: tuple) -> float:
    if it[0] == "box":
        return it[2] + it[4]
    if it[0] == "op":
        return it[2] + 15
    if it[0] == "arrow":
        return max(p[1] for p in it[1])
    return it[2]


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def show(name: str, path: str | None = None, *, file=None) -> str | None:
    """Print the text drawing of ``name``; write the SVG to ``path`` if given; show it inline in a notebook.

    A ``path`` ending in ``.png`` (what ``tutorial.figure`` gives) is written as
    ``.svg`` beside it.  Returns the path written, if any.
    """
    print(text(name), file=file)
    drawing = svg(name)
    written = None
    if path:
        p = Path(path)
        p = p.with_suffix(".svg") if p.suffix != ".svg" else p
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(drawing, encoding="utf-8")
        written = str(p)
    if _in_notebook():
        from IPython.display import SVG, display
        display(SVG(drawing))
    return written
