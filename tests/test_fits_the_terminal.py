"""The live display, the views, ``check`` and step mode fit the terminal and tell the truth (issue 18).

The live bar runs under a pseudo-terminal at 80 columns through ``python -m tinygrad_seq``; the
views and tables are drawn with no terminal (80 columns) and at a given ``COLUMNS``.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_seq as tg
from tinygrad_seq import charts, cli, nn, progress, tutorial, viz
from tinygrad_seq.data import load_text

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows, line by line: escape codes removed, carriage returns start new lines."""
    return ANSI.sub("", raw).replace("\r", "\n").split("\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(load_text(None)[0][:3000], encoding="utf-8")
    return path


def in_pty(cmd: list[str], columns: int = 80) -> tuple[int, str]:
    import pty
    out = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        out.extend(data)
        return data
    saved = os.environ.copy()
    os.environ.update({"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "TERM": "xterm",
                       "COLUMNS": str(columns), "LINES": "40"})
    try:
        status = pty.spawn(cmd, read)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


@pytest.mark.parametrize("columns", [80, 60])
def test_the_live_display_fits_the_terminal_and_ends_on_the_final_score(corpus, tmp_path, monkeypatch, columns):
    monkeypatch.chdir(tmp_path)                                         # short paths: the lines are the display's
    code, raw = in_pty([sys.executable, "-m", "tinygrad_seq", "train", "--data", str(corpus), "--hidden", "8",
                        "--batch", "2", "--seq-len", "8", "--steps", "10", "--eval-every", "4",
                        "--sample-every", "5", "--out", "run"], columns)
    assert code == 0, raw[-2000:]
    lines = screen_lines(raw)
    assert "\x1b[" in raw                                               # the live display ran
    too_wide = [ln for ln in lines if len(ln) > columns]               # the summary and its chart too
    assert not too_wide, too_wide
    assert "bits per character" in raw and "└" in raw                   # the chart was drawn
    assert "…" not in "\n".join(lines)                                  # nothing cut short
    assert any(re.search(r"10/10 +\d+:\d\d +eta \d+:\d\d$", ln) for ln in lines)   # times whole
    header = "\n".join([ln for ln in lines if ln.strip()][:8])
    assert "constant" in header and "cosine" not in header              # --steps alone: lr held constant
    assert "limit: 10 steps;" in header
    final = float(re.search(r"final validation: ([\d.]+)", raw).group(1))
    shown = [float(m) for m in re.findall(r"val bpc ([\d.]+)", ANSI.sub("", raw))]
    assert abs(shown[-1] - final) < 5e-4, (shown[-3:], final)          # the bar's last word is the final score


def test_the_header_names_the_schedule_and_counts_in_proper_plurals(corpus, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("COLUMNS", None)
    (tmp_path / "tiny.txt").write_bytes(corpus.read_bytes())          # short paths: the lines are the display's
    r = subprocess.run([sys.executable, "-m", "tinygrad_seq", "train", "--data", "tiny.txt", "--hidden", "8",
                        "--batch", "2", "--seq-len", "8", "--steps", "1", "--minutes", "1", "--eval-every", "1",
                        "--out", "r"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "limit: 1 step or 1 minute;" in r.stdout
    assert re.search(r"lr 0\.005 cosine to 0\.0005 over 1 minute\b", r.stdout)
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 80             # not a terminal: 80 columns
    for n, word, want in [(1, "minute", "1 minute"), (2.5, "minute", "2.5 minutes"), (0, "step", "0 steps"),
                          (12000, "step", "12,000 steps"), (1, "character", "1 character")]:
        assert progress.plural(n, word) == want


def test_eta_counts_only_this_runs_steps_and_time(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: clock[0])
    bar = progress.Progress(total=100, live=False, file=io.StringIO(), completed=60)   # resumed at step 60
    with bar:
        assert bar.eta() is None                                        # no pace yet
        for _ in range(10):
            clock[0] += 2.0                                             # 2 s a step in this run
            bar.update()
            assert bar.eta() is not None                                # never flips back to unknown
        assert bar.eta() == pytest.approx(2.0 * 30)                     # 30 steps left at 2 s each
        bar.set_total(120)
        assert bar.eta() == pytest.approx(2.0 * 50)


def test_views_and_check_fit_the_terminal(monkeypatch, capsys):
    monkeypatch.delenv("COLUMNS", raising=False)                        # not a terminal: 80 columns
    tg.manual_seed(0)
    lstm, head = nn.LSTM(3, 40), nn.Linear(40, 2)
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    x = tg.randn(8, 2, 3)
    out, _ = lstm(x)
    loss = head(out).pow(2).mean()
    views = [viz.graph(loss, model=lstm), viz.summary(model, tg.randn(2, 3))]
    loss.backward()
    views += [viz.grad_table(lstm), viz.gradient_flow(nn.LSTM(3, 4), tg.randn(12, 1, 3))]
    for columns in (None, "60"):
        if columns:
            monkeypatch.setenv("COLUMNS", columns)
        width = int(columns or 80)
        for v in views:
            text = repr(v)                                              # the REPL's echo; print(v) is the same
            assert text == str(v)
            assert max(len(ln) for ln in text.splitlines()) <= width, (type(v).__name__, width)
            if columns is None:
                assert max(len(ln) for ln in text.splitlines()) > 60 or type(v).__name__ != "GraphView"
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(tg, "gradcheck", lambda fn, inputs: True)      # every row of the table, drawn at once
    assert cli.main(["check"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert max(len(ln) for ln in table) <= 80
    for name in ("binary_cross_entropy_with_logits", "cross_entropy (label smoothing)", "LSTM with lengths"):
        assert any(name in ln for ln in table), name                    # row names whole, on one line


def test_a_png_without_matplotlib_says_what_is_missing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(charts, "have_matplotlib", lambda: False)
    png = tmp_path / "flow.png"
    viz.compare_gradient_flow({"rnn": nn.RNN(2, 3), "gru": nn.GRU(2, 3)}, tg.randn(6, 1, 2), png=str(png))
    out = capsys.readouterr().out
    said = [ln for ln in out.splitlines() if "matplotlib" in ln]
    assert len(said) == 1 and str(png) in said[0] and "pip install" in said[0]
    assert not png.exists()
    assert charts.save_png([1.0, 2.0], None) is None and capsys.readouterr().out == ""   # no file asked: silent


# ---------------------------------------------------------------------------
# step mode: maths in Unicode, code lines whole, the first pause on a learner's cell
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("latex, text", [
    (r"\frac{\partial L}{\partial V}", "∂L/∂V"),
    (r"\eta\,\partial L", "η ∂L"),
    (r"x_1, \dots, x_T", "x₁, …, x_T"),
    (r"s_{t-1}", "sₜ₋₁"),
    (r"W^\top \delta_t", "Wᵀ δₜ"),
    (r"\sum_{t=1}^{T}", "Σₜ₌₁^T"),                                     # not ᵀ: that is the transpose
    (r"(\gamma\, \sigma_{\max}(W))^{T-t}", "(γ σₘₐₓ(W))^(T-t)"),
    (r"\gamma = 1 \Longrightarrow \tanh'(a_k) \le 1", "γ = 1 ⟹ tanh'(aₖ) ≤ 1"),
    (r"W^\top W^T", "Wᵀ W^T"),
    (r"J_1 \cdots J_T", "J₁ ⋯ J_T"),
    (r"\sigma(x) = \frac{1}{1 + e^{-x}}", "σ(x) = 1/(1 + e⁻ˣ)"),
    (r"\frac1N", "1/N"),
    (r"\mathrm{softmax}(z)_k", "softmax(z)ₖ"),
    (r"h \in \mathbb{R}^{H}", "h ∈ ℝᴴ"),
    (r"a \odot b", "a ⊙ b"),
])
def test_latex_becomes_readable_unicode(latex, text):
    assert tutorial.latex_to_unicode(latex) == text


def test_aligned_equations_keep_their_lines_and_alignment():
    md = "$$\\begin{aligned}\n\\delta_t &= \\frac{\\partial L}{\\partial s_t} \\\\\n&= W^\\top \\delta_{t+1}\n\\end{aligned}$$"
    block = tutorial._terminal_markdown(md)
    rows = [ln for ln in block.splitlines() if "=" in ln]
    assert rows == ["δₜ = ∂L/∂sₜ", "   = Wᵀ δₜ₊₁"]


def test_the_tutorials_markdown_has_no_latex_left_in_the_terminal():
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        for kind, text in tutorial.parse_cells(path.read_text(encoding="utf-8")):
            if kind != "markdown" or "$" not in text:
                continue
            shown = tutorial._terminal_markdown(text)
            assert "$" not in shown, (path.name, shown[:200])
            left = re.findall(r"\\[A-Za-z]+", shown)
            assert not left, (path.name, left)
            rendered = rich_text(shown)                                 # what the learner sees: no escapes
            assert "\\" not in rendered and "$" not in rendered, (path.name, rendered)


def test_every_latex_command_in_the_tutorials_is_one_the_renderer_knows():
    """An unknown command would lose its backslash and show as a bare word (``Longrightarrow``)."""
    t = tutorial
    known = (set(t._SYMBOLS) | t._BINARY | t._WORDS | set(t._SPACES) | t._DROP | t._TEXT | set(t._ACCENTS)
             | {"frac", "dfrac", "tfrac", "mathbb", "mathcal", "mathscr", "sqrt", "begin", "end", "underbrace",
                "overbrace"})
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        for kind, text in tutorial.parse_cells(path.read_text(encoding="utf-8")):
            if kind == "markdown":
                for maths in re.findall(r"\$\$?(.+?)\$\$?", text, re.S):
                    unknown = set(re.findall(r"\\([A-Za-z]+)", maths)) - known
                    assert not unknown, (path.name, unknown)


def rich_text(markdown: str, width: int = 80) -> str:
    import io
    from rich.console import Console
    from rich.markdown import Markdown
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None).print(Markdown(markdown))
    return buf.getvalue()


@pytest.mark.parametrize("latex, shown", [(r"$\text{seq\_len}$", "seq_len"), (r"$\mathrm{n\_c} + \text{a\%}$", "n_c + a%"),
                                          (r"$$L = \text{seq\_len} - 1$$", "L = seq_len - 1")])
def test_escaped_characters_inside_text_and_maths_show_without_their_backslash(latex, shown):
    assert shown in rich_text(tutorial._terminal_markdown(latex))


def test_step_mode_never_breaks_a_code_line_and_starts_on_a_learners_cell(tmp_path):
    long_line = 'print(f"{\'a very long f-string that runs past the edge of an 80-column terminal\'} {1 + 2}")  # end'
    assert len(long_line) > 80
    src = ("# %% [markdown]\n# # Title\n# with $\\alpha_t$\n\n# %%\n"
           "from tinygrad_seq.tutorial import quick, result, step_through\nstep_through()\n\n"
           f"# %%\n{long_line}\n\n# %%\nresult(x=1)\n")
    script = tmp_path / "t.py"
    script.write_text(src)
    out = io.StringIO()
    from rich.console import Console
    import tinygrad_seq.tutorial as tut
    real = tut._console
    tut._console = lambda file: Console(file=file, width=80)
    try:
        assert tutorial.run(script, step=True, stdin=io.StringIO("\n\n"), file=out) == 0
    finally:
        tut._console = real
    shown = out.getvalue()
    assert long_line in shown.splitlines()                               # whole, on one line
    assert "step_through()" not in shown                                 # the runner's cell is not a stop
    assert shown.count("Enter: run this cell") == 2 and "cell 1 of 2" in shown
    first = shown.index("cell 1 of 2")
    assert shown.index("Title") > first and shown.index(long_line) > first  # its text comes with cell 1
    assert "αₜ" in shown


def test_the_package_picks_the_blas_threads_for_tutorials_and_it_can_be_overridden():
    from tinygrad_seq import blas
    if blas.get_blas_threads() is None:
        pytest.skip("no BLAS whose thread count can be read here")
    code = ("import numpy, importlib.util as u; "
            f"s = u.spec_from_file_location('alone', {str(ROOT / 'tinygrad_seq' / 'blas.py')!r}); "
            "b = u.module_from_spec(s); s.loader.exec_module(b); first = b.get_blas_threads(); "
            "import tinygrad_seq; before = b.get_blas_threads(); "
            "from tinygrad_seq.tutorial import step_through; step_through(); "   # every tutorial's first cell
            "print(first, before, b.get_blas_threads())")
    env = {k: v for k, v in os.environ.items() if not k.endswith("NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT)
    for setting, want in (("", "1"), ("3", "3"), ("default", None)):
        env["TINYGRAD_SEQ_BLAS_THREADS"] = setting
        first, before, after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                              env=env, timeout=60).stdout.split()
        assert before == first, setting                 # import tinygrad_seq alone leaves your BLAS alone
        assert after == (want or first), (setting, first, after)
