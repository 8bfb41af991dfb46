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
    result(lstm_mse=0.004, rnn_mse=0.170)    # prints: RESULT lstm_mse=0.004 rnn_mse=0.17 (returns None)
    remember("05_lstm_adding", settings, values)       # a run's numbers into tutorials/.cache/ for a later lesson
    values, where = recall("05_lstm_adding", settings)  # ... read back only if the settings are the same

Three ways to run one:

    python tutorials/03_rnn_bptt.py            # straight through, printing its results
    python tutorials/03_rnn_bptt.py --step     # cell by cell: text, code, Enter runs it, q quits
    python tutorials/03_rnn_bptt.py --quick    # small sizes, seconds (the tests use it)
    python -m tinygrad_seq.tutorial tutorials/03_rnn_bptt.py --step [--quick]
"""
from __future__ import annotations

import builtins
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from .blas import use_package_threads

__all__ = ["quick", "result", "result_line", "latex_to_unicode", "is_boilerplate", "parse_result", "step_through",
           "figure", "remember", "recall", "cache_folder", "parse_cells", "run", "main"]

_inside_runner = False      # True while run() executes a tutorial (so its step_through() does nothing)


def quick() -> bool:
    """Whether to run in quick mode: ``--quick`` on the command line or ``TINYGRAD_SEQ_QUICK=1``."""
    return "--quick" in sys.argv[1:] or os.environ.get("TINYGRAD_SEQ_QUICK", "") not in ("", "0")


def result_line(**values: Any) -> str:
    """The tutorial's one machine-readable line of headline results: ``RESULT k=v ...`` (floats to 6 digits)."""
    def fmt(v: Any) -> str:
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    return "RESULT " + " ".join(f"{k}={fmt(v)}" for k, v in values.items())


def result(**values: Any) -> None:
    """Print the tutorial's one machine-readable line of headline results (``result_line``).

    Returns nothing, so a notebook whose last cell calls it shows the line once, not echoed again.
    """
    print(result_line(**values), flush=True)


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
# results one lesson leaves for another
# ---------------------------------------------------------------------------

def cache_folder(depth: int = 1) -> Path | None:
    """Where lessons leave results for later lessons: ``tutorials/.cache/`` beside the calling tutorial.

    ``$TINYGRAD_SEQ_CACHE`` names another folder, or is ``off`` (or ``0``) for none: then every lesson
    computes everything itself.  In a notebook (no ``__file__``) the folder is ``.cache/`` in the working
    directory, which Jupyter sets to the notebook's folder.  The folder is git-ignored.
    """
    chosen = os.environ.get("TINYGRAD_SEQ_CACHE", "")
    if chosen.strip().lower() in ("off", "0"):
        return None
    if chosen:
        return Path(chosen)
    from .charts import in_notebook
    where = sys._getframe(depth).f_globals.get("__file__")       # depth 1: the caller's file
    if not where and not in_notebook() and sys.argv and sys.argv[0]:
        where = sys.argv[0]
    return (Path(where).resolve().parent if where else Path.cwd()) / ".cache"


def remember(name: str, settings: dict[str, Any], values: dict[str, Any]) -> str | None:
    """Save a lesson's results (JSON-ready ``values``) with the ``settings`` that produced them, for ``recall``.

    Written to ``cache_folder()/<name>.json`` through a temporary file and a rename (a run stopped
    half-way leaves the old file whole).  Returns the path written, or ``None`` if caching is off or
    the folder cannot be written (a lesson goes on without it).
    """
    folder = cache_folder(2)
    if folder is None:
        return None
    path = folder / f"{name}.json"
    tmp = folder / f".{name}.json.tmp{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"settings": settings, "values": values}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return None
    return str(path)


def recall(name: str, settings: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """``(values, where)``: the values ``remember(name, ...)`` saved if it saved them with the same
    ``settings`` (compared as JSON), else ``None``; ``where`` says in one line where the values came from
    or why there are none (no file, caching off, which setting differs)."""
    folder = cache_folder(2)
    if folder is None:
        return None, "caching is off (TINYGRAD_SEQ_CACHE=off)"
    path = folder / f"{name}.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        stored, values = saved["settings"], saved["values"]
    except FileNotFoundError:
        return None, f"no file {path}"
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"{path} could not be read ({type(e).__name__})"
    if not isinstance(stored, dict) or not isinstance(values, dict):
        return None, f"{path} could not be read (not a saved result)"
    wanted = json.loads(json.dumps(settings))
    if stored != wanted:
        keys = sorted(set(stored) | set(wanted), key=str)
        diff = [f"{k} {stored.get(k, '(none)')} there, {wanted.get(k, '(none)')} here" for k in keys
                if stored.get(k) != wanted.get(k)]
        return None, f"{path} has other settings: " + "; ".join(diff)
    return values, f"read from {path}"


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


# ---------------------------------------------------------------------------
# maths in the terminal: LaTeX -> Unicode (notebooks keep the LaTeX)
# ---------------------------------------------------------------------------

_SYMBOLS = {
    "partial": "∂", "nabla": "∇", "sum": "Σ", "prod": "Π", "int": "∫", "infty": "∞", "dots": "…", "ldots": "…",
    "cdots": "⋯", "cdot": "·", "odot": "⊙", "otimes": "⊗", "times": "×", "top": "ᵀ", "mid": "|", "in": "∈",
    "notin": "∉", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒", "mapsto": "↦",
    "Longrightarrow": "⟹", "longrightarrow": "⟶", "implies": "⟹", "Leftrightarrow": "⇔", "iff": "⟺",
    "Longleftrightarrow": "⟺", "leftrightarrow": "↔",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "propto": "∝",
    "sim": "∼", "equiv": "≡", "pm": "±", "lVert": "‖", "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|",
    "langle": "⟨", "rangle": "⟩", "prime": "′", "circ": "∘", "forall": "∀", "exists": "∃",
    "{": "{", "}": "}", "%": "%", "$": "$", "#": "#", "&": "&", "_": "_",
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "iota", "kappa",
          "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega", "Gamma",
          "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"}
_KEEP_SPACE = _GREEK | {"dots", "ldots", "cdots", "infty"}
_BINARY = {"odot", "otimes", "times", "cdot", "le", "leq", "ge", "geq", "ne", "neq", "approx", "propto", "sim",
           "equiv", "in", "notin", "to", "rightarrow", "leftarrow", "Rightarrow", "mapsto", "pm", "mid", "circ",
           "Longrightarrow", "longrightarrow", "implies", "Leftrightarrow", "iff", "Longleftrightarrow",
           "leftrightarrow"}
_WORDS = {"log", "ln", "exp", "tanh", "sinh", "cosh", "sin", "cos", "max", "min", "arg", "argmax", "argmin",
          "det", "lim", "sup", "inf", "softmax", "sgn"}
_SPACES = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": "  ", "qquad": "    "}
_DROP = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
         "textstyle", "displaystyle", "limits", "nolimits"}
_TEXT = {"text", "mathrm", "textrm", "texttt", "mathbf", "textbf", "mathit", "textit", "operatorname",
         "boldsymbol", "mathsf"}
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "tilde": "\u0303",
            "widetilde": "\u0303", "dot": "\u0307", "ddot": "\u0308", "vec": "\u20d7",
            "overrightarrow": "\u20d7", "overleftarrow": "\u20d6"}
_BB = dict(zip("RNZQC", "ℝℕℤℚℂ"))
_CAL = dict(zip("LNOHDFEGX", "ℒ𝒩𝒪ℋ𝒟ℱℰ𝒢𝒳"))
_SUP = dict(zip("0123456789+-=()nijtkmabcdeghlopsuvwxyzABDEGHIJKLMNOPRUVW′ᵀ,",      # no "T": ᵀ is the transpose
                "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʲᵗᵏᵐᵃᵇᶜᵈᵉᵍʰˡᵒᵖˢᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵁⱽᵂ′ᵀ'"))
_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,βγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,ᵦᵧᵨᵩᵪ"))


def _group(s: str, i: int) -> tuple[str, int]:
    """The text of the brace group opening at ``s[i] == '{'`` and the index after its closing brace."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "\\":
            continue
        if s[j] == "{" and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif s[j] == "}" and s[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
    return s[i + 1:], len(s)


def _arg(s: str, i: int) -> tuple[str, int]:
    """One argument: a brace group, a command (``\\top``) or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        return _group(s, i)
    if s[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", s[i:])
        return m.group(0), i + len(m.group(0))
    return s[i], i + 1


def _script(text: str, table: dict, mark: str) -> str:
    text = text.strip()
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return mark + (text if len(text) == 1 else f"({text})")


def _paren(text: str) -> str:
    return text if len(text) <= 1 or re.fullmatch(r"[\w∂∇.′ᵀ⁰-⁹₀-₉\u0300-\u036f\u20d6\u20d7|‖]+", text) \
        else f"({text})"


def latex_to_unicode(s: str) -> str:
    """LaTeX maths as readable Unicode text: ``\\frac{\\partial L}{\\partial V}`` -> ``∂L/∂V``,
    ``\\eta\\,\\partial`` -> ``η ∂``, ``s_{t-1}`` -> ``sₜ₋₁``, ``W^\\top`` -> ``Wᵀ``,
    ``\\sum_t`` -> ``Σₜ``; ``\\\\`` starts a new line; ``&`` (alignment) is dropped."""
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            name = m.group(1) if m else ""
            i += len(m.group(0)) if m else 1
            ate = False
            if name.isalpha():                       # a control word eats the spaces after it
                while i < len(s) and s[i] == " ":
                    i, ate = i + 1, True
            if name in ("frac", "dfrac", "tfrac"):
                a, i = _arg(s, i)
                b, i = _arg(s, i)
                out.append(f"{_paren(latex_to_unicode(a))}/{_paren(latex_to_unicode(b))}")
            elif name in _TEXT:
                a, i = _arg(s, i)
                out.append(re.sub(r"\\([_{}%$#& ])", r"\1", a) if name.startswith("text")   # \text{seq\_len}
                           else latex_to_unicode(a))
            elif name in _ACCENTS:
                a, i = _arg(s, i)
                a = latex_to_unicode(a)
                out.append(a + _ACCENTS[name] if len(a) == 1 else f"{a}{_ACCENTS[name]}")
            elif name in ("mathbb", "mathcal", "mathscr"):
                a, i = _arg(s, i)
                table = _BB if name == "mathbb" else _CAL
                out.append("".join(table.get(ch, ch) for ch in a))
            elif name == "sqrt":
                a, i = _arg(s, i)
                out.append("√" + _paren(latex_to_unicode(a)))
            elif name in ("begin", "end"):
                _, i = _arg(s, i)
            elif name in ("underbrace", "overbrace"):
                a, i = _arg(s, i)
                j = i
                while j < len(s) and s[j] == " ":
                    j += 1
                if j < len(s) and s[j] in "_^":
                    b, i = _arg(s, j + 1)
                    out.append(f"{latex_to_unicode(a)} [{latex_to_unicode(b)}]")
                else:
                    out.append(latex_to_unicode(a))
            elif name == "\\":
                out.append("\n")
            elif name in _SPACES:
                out.append(_SPACES[name])
            elif name in _DROP:
                pass
            elif name in _BINARY:
                out.append(f" {_SYMBOLS[name]} ")
            elif name in _SYMBOLS:                   # a symbol keeps one space after it: \gamma = 1 -> γ = 1
                out.append(_SYMBOLS[name] + (" " if ate and name in _KEEP_SPACE and i < len(s) and s[i] not in "^_" else ""))
            elif name in _WORDS:
                out.append(name + ("" if i >= len(s) or s[i] in "^_({['" else " "))
            else:
                out.append(name)
        elif c in "^_":
            a, i = _arg(s, i + 1)
            out.append(_script(latex_to_unicode(a), _SUP if c == "^" else _SUB, c))
        elif c == "{":
            a, i = _group(s, i)
            out.append(latex_to_unicode(a))
        elif c == "&":
            i += 1
        elif c == "~":
            out.append(" ")
            i += 1
        else:
            out.append(c)
            i += 1
    return re.sub(r"(?<=\S)  +(?=\S)", lambda m: m.group(0) if len(m.group(0)) > 2 else " ", "".join(out))


def _display_math(body: str) -> str:
    """A display equation as Unicode lines; ``aligned`` rows keep their alignment at the ``&``."""
    rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.strip()]
    rows = [re.sub(r"\\(begin|end)\{[a-z*]+\}", "", r) for r in rows]
    split = [r.split("&", 1) if "&" in r else [r] for r in rows]
    if all(len(p) == 2 for p in split) and len(split) > 1:
        left = [_one_line(latex_to_unicode(p[0])) for p in split]
        right = [_one_line(latex_to_unicode(p[1])) for p in split]
        w = max(len(x) for x in left)
        return "\n".join(f"{a:>{w}} {b}".rstrip() for a, b in zip(left, right))
    return "\n".join(_one_line(latex_to_unicode(r.replace("&", ""))) for r in rows if r.strip())


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)", re.S)


def _terminal_markdown(text: str) -> str:
    """A Markdown cell for the terminal: display equations (``$$ ... $$``) as Unicode in code blocks
    (their lines and spacing kept), inline maths (``$...$``) as Unicode text."""
    blocks: list[str] = []

    def display(m: re.Match) -> str:
        blocks.append(_display_math(m.group(1)))
        return f"\n```\n\x00{len(blocks) - 1}\x00\n```\n"

    def inline(m: re.Match) -> str:
        u = " ".join(latex_to_unicode(m.group(1)).split())
        return re.sub(r"([*_`\\])", r"\\\1", u)       # Markdown must not read the maths as emphasis

    text = _DISPLAY_MATH.sub(display, text)
    text = _INLINE_MATH.sub(inline, text)
    return re.sub("\x00(\\d+)\x00", lambda m: blocks[int(m.group(1))], text)


def _console(file: TextIO | None):
    from rich.console import Console
    return Console(file=file) if file is not None else Console()


_BOILERPLATE = re.compile(r"(from tinygrad_seq\.tutorial import [\w, ()]+|step_through\(\)|#.*|\s*)")


def is_boilerplate(code: str) -> bool:
    """Whether a code cell only imports the tutorial helpers and calls ``step_through()`` (the runner's own
    cell: step mode runs it without showing it or pausing, so the first pause is on a cell a learner reads)."""
    return all(_BOILERPLATE.fullmatch(line) for line in code.splitlines())


def _print_code(console: Any, code: str) -> None:
    """Syntax-highlighted code, every line whole: a line longer than the terminal runs on (the terminal
    soft-wraps it) instead of being broken into pieces that look like separate lines of code."""
    from rich.syntax import Syntax
    text = Syntax(code, "python", theme="ansi_dark").highlight(code)
    text.rstrip()
    console.print(text, soft_wrap=True)


def run(path: str | os.PathLike, *, step: bool = False, quick_mode: bool = False,
        stdin: TextIO | None = None, file: TextIO | None = None) -> int:
    """Run a tutorial's cells in one namespace (``__name__ == "__main__"``); return an exit code.

    ``step``: before each code cell, show the text cells before it (rich
    Markdown panels, the maths drawn in Unicode) and its code (syntax-highlighted,
    each line whole), wait for Enter (``q`` then Enter quits, exit code 0; end of
    input runs on to the end without pausing), then run it, its output printed
    below.  The runner's own first cell (``is_boilerplate``) runs without a stop,
    so the first pause is on a cell a learner reads.  ``quick_mode`` puts
    ``--quick`` in ``sys.argv`` for the tutorial's ``quick()``.
    """
    global _inside_runner
    use_package_threads()
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
    n_code = sum(kind == "code" and not (step and is_boilerplate(text)) for kind, text in cells)
    done = 0
    pending: list[str] = []
    try:
        for kind, text in cells:
            if kind == "markdown":
                pending.append(text)
                continue
            if step and is_boilerplate(text):
                pass                                   # the runner's own cell: run it, show its text later
            else:
                done += 1
            if step and not is_boilerplate(text):
                from rich.markdown import Markdown
                from rich.panel import Panel
                from rich.rule import Rule
                console.print(Rule(f"cell {done} of {n_code}"))
                for md in pending:
                    console.print(Panel(Markdown(_terminal_markdown(md)), border_style="blue"))
                _print_code(console, text)
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
            if not (step and is_boilerplate(text)):
                pending = []
            code = compile(text + "\n", f"{path.name} (cell {max(done, 1)})", "exec")
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
            console.print(f"Done: {n_code} cell{'' if n_code == 1 else 's'} of {path.name}.")
        return 0
    finally:
        _inside_runner = False
        sys.argv, sys.path[:] = saved_argv, saved_path


def step_through(path: str | None = None) -> None:
    """A tutorial's first cell: with ``--step`` on the command line, run the file through the runner and exit.

    Otherwise it only sets numpy's BLAS to the package's thread count (one, unless
    ``$TINYGRAD_SEQ_BLAS_THREADS`` says otherwise; see ``tinygrad_seq.blas``), as every
    tutorial's first cell calls it, in a script, the runner or a notebook: the times in
    tutorials/README.md assume it.  ``path`` defaults to the calling file's ``__file__``.
    """
    use_package_threads()
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
