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
