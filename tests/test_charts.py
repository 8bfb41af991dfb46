"""Terminal charts, the progress display and the tutorial helpers: plain text, right places."""
import io
import math

from tinygrad_seq import charts
from tinygrad_seq.progress import Progress, format_seconds
from tinygrad_seq.tutorial import quick, result, result_line


def _rows(text):
    return [line for line in text.splitlines() if "┤" in line]


def test_line_chart_puts_extremes_on_the_top_and_bottom_rows_at_the_right_columns():
    text = charts.line_chart([3.0, 1.0, 2.0], width=21, height=5)
    rows = _rows(text)
    assert len(rows) == 5
    top, bottom = rows[0].split("┤")[1], rows[-1].split("┤")[1]
    assert top.index("●") == 0 and rows[0].startswith("3")     # x=0, y=3: first column, top row
    assert bottom.index("●") == 10 and rows[-1].lstrip().startswith("1")   # x=1 of 0..2: middle column
    assert "\x1b" not in text


def test_line_chart_log_scale_labels_are_values_and_skips_non_finite_and_non_positive():
    text = charts.line_chart({"a": [1.0, 1e-2, 1e-4, float("nan"), 0.0]}, logy=True, height=3)
    rows = _rows(text)
    assert rows[0].lstrip().startswith("1 ") and rows[-1].lstrip().startswith("1.0e-04")
    assert sum(r.count("●") for r in rows) == 3
    assert "log scale" not in text          # no ylabel given
    assert charts.line_chart([float("inf")]).endswith("(no finite values to plot)")


def test_several_series_get_their_own_markers_and_a_legend():
    text = charts.line_chart({"rnn": [1, 2], "lstm": [2, 1]}, width=10, height=4)
    assert "● rnn" in text and "× lstm" in text
    assert sum(r.count("×") for r in _rows(text)) == 2


def test_bar_chart_and_heatmap():
    bars = charts.bar_chart({"a": 1.0, "b": -4.0}, width=8).splitlines()
    assert bars[0].count("█") == 2 and bars[1].count("█") == 8 and bars[1].endswith("-4")
    heat = charts.heatmap([[0.0, 1.0]], rows=["r"]).splitlines()
    assert heat[0] == "r   ██"


def test_save_png_without_matplotlib_or_with_it(tmp_path):
    path = charts.save_png([1, 2, 3], str(tmp_path / "x.png"))
    if charts.have_matplotlib():
        assert path and (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert path is None


def test_progress_without_a_terminal_logs_plain_lines():
    out = io.StringIO()
    with Progress(total=10, description="train", log_every=5, file=out) as bar:
        for i in range(10):
            bar.update(loss=1.0 / (i + 1))
        bar.print("a sample")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("train: step 5/10  loss 0.2") and lines[1].startswith("train: step 10/10  loss 0.1")
    assert lines[2] == "a sample" and "\x1b" not in out.getvalue()
    assert format_seconds(3725) == "1:02:05" and format_seconds(65) == "1:05"


def test_tutorial_quick_flag_and_result_line(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["x.py"])
    monkeypatch.delenv("TINYGRAD_SEQ_QUICK", raising=False)
    assert not quick()
    monkeypatch.setenv("TINYGRAD_SEQ_QUICK", "1")
    assert quick()
    monkeypatch.delenv("TINYGRAD_SEQ_QUICK")
    monkeypatch.setattr("sys.argv", ["x.py", "--quick"])
    assert quick()
    assert result(mse=0.1234567, steps=3, name="x") is None          # nothing for a notebook to echo again
    assert capsys.readouterr().out == "RESULT mse=0.123457 steps=3 name=x\n"
    assert math.isclose(float(result_line(a=1e-12).split("=")[1]), 1e-12)


def test_diagrams_every_model_has_a_text_drawing_and_a_well_formed_svg(tmp_path):
    import xml.etree.ElementTree as ET

    from tinygrad_seq import diagrams
    assert set(diagrams.NAMES) == {"rnn", "lstm", "gru", "birnn", "seq2seq"}
    for name, symbols in {"rnn": ["s_1", "U", "W", "V"], "lstm": ["f_t", "i_t", "g_t", "o_t", "c_t", "h_t"],
                          "gru": ["r", "z_t", "n_t", "h_t"], "birnn": ["→h_1", "←h_1"],
                          "seq2seq": ["h_1", "s_1", "<bos>", "α_tj"]}.items():
        drawing = diagrams.text(name)
        assert all(sym in drawing for sym in symbols), name
        too_wide = [line for line in drawing.splitlines() if len(line) > 80]
        assert not too_wide, (name, too_wide)                           # an 80-column terminal keeps it whole
    # the equations under the drawings are PyTorch's (torch.nn.LSTM / GRU docs) and lesson 3's outline
    equations = {"rnn": ["s_t = tanh(U x_t + W s_(t-1) + b)", "o_t = V s_t + c"],
                 "lstm": ["c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)"],
                 "gru": ["n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_(t-1) + b_hn))",
                         "h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_(t-1)"],
                 "seq2seq": ["c_t = Σ_j α_tj h_j"]}
    for name, eqs in equations.items():
        assert all(eq in diagrams.text(name) for eq in eqs), name
        root = ET.fromstring(diagrams.svg(name))
        assert root.tag.endswith("svg") and len(root) > 5
    out = io.StringIO()
    written = diagrams.show("lstm", str(tmp_path / "figs" / "lstm.png"), file=out)
    assert written.endswith("lstm.svg") and (tmp_path / "figs" / "lstm.svg").read_text().startswith("<svg")
    assert out.getvalue().rstrip("\n") == diagrams.text("lstm")
    assert diagrams.show("gru", None, file=io.StringIO()) is None
    try:
        diagrams.text("transformer")
    except ValueError as e:
        assert "rnn" in str(e)
    else:
        raise AssertionError("an unknown name must raise")


def test_line_chart_connect_fills_the_cells_between_consecutive_points():
    apart = charts.line_chart([0.0, 4.0], width=3, height=5)
    joined = charts.line_chart([0.0, 4.0], width=3, height=5, connect=True)
    assert sum(r.count("●") for r in _rows(apart)) == 2
    rows = [r.split("┤")[1] for r in _rows(joined)]
    assert sum(r.count("●") for r in rows) == 5                  # one mark per row from (0, 0) up to (2, 4)
    assert all(r.count("●") == 1 for r in rows)
