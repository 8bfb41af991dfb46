"""The tutorials run (as scripts, step by step, and as Jupyter notebooks) and their RESULT lines back their text.

Each tutorial runs in quick mode; the checks below are the claims its text
makes, with margins. Claims that need full mode (longer training) are stated
in the tutorial's text as what full mode shows and are not asserted here.
"""
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from tutorial_helpers import ROOT, TUTORIALS, env, notebook_results, run_script, script_results
from tinygrad_seq import charts, tasks, tutorial

PART1 = ["01_autograd_scalar.py", "02_tensors_activations_costs.py", "03_rnn_bptt.py",
         "04_vanishing_exploding.py", "05_lstm_gates.py", "06_gru.py", "07_bidirectional.py"]


def check_01(r):
    assert r["hand_vs_backward"] < 1e-12
    assert r["graph_vs_backward"] < 1e-12          # the backward loop run by hand over a hand-built graph
    assert 5 <= r["loop_lines"] <= 12              # the engine's loop excerpt was found in its source, and is short
    assert r["gradcheck"] == 1
    assert r["twice_grad"] == r["twice_expected"] == 7
    assert r["accumulated"] == 2 * r["twice_grad"]


def check_02(r):
    for key in ("broadcast_diff", "matmul_diff", "activation_diff", "softmax_diff", "mse_diff", "ce_diff"):
        assert r[key] < 1e-12, key
    assert r["sigmoid_max_deriv"] == pytest.approx(0.25, abs=1e-3)
    assert r["tanh_max_deriv"] == pytest.approx(1.0, abs=1e-3)
    assert r["ce_grad_wrong"] > 1.0 and r["mse_grad_wrong"] < 0.01 * r["ce_grad_wrong"]


def check_03(r):
    assert r["bptt_max_diff"] < 1e-10 and r["ref_max_diff"] < 1e-10      # float64
    assert r["loss_last"] < 0.5 * r["loss_first"]
    assert r["accuracy"] > 0.6                                             # chance is 0.25
    # one step s_1 = tanh(x U^T + s_0 W^T + b), o_1 = s_1 V^T + c, counted by hand: two transposes, two
    # matmuls and two adds inside the tanh, the tanh, one transpose and one matmul for V, one add for c
    assert r["dot_ops"] == 10


def check_04(r):
    assert r["rnn_ratio"] < 1e-6                                           # vanishes over the sequence
    assert r["lstm_ratio"] > 100 * r["rnn_ratio"] and r["gru_ratio"] > 100 * r["rnn_ratio"]
    assert r["rho_low_ratio"] < 1e-10 and r["rho_high_ratio"] > 1          # vanishing vs exploding
    assert r["noclip_diverged"] == 1
    # default-initialised gated cells vanish like the RNN; the +1 forget/update bias keeps 100x more
    assert r["lstm0_ratio"] < 100 * r["rnn_ratio"] and r["gru0_ratio"] < 100 * r["rnn_ratio"]
    assert r["lstm_ratio"] > 100 * r["lstm0_ratio"] and r["gru_ratio"] > 100 * r["gru0_ratio"]
    # the sufficient condition: sigma_max(W) < 1 (tanh: gamma = 1) bounds the ratio by sigma_max^(T-1), T = 50
    assert r["sigma_low"] < 1 and r["rho_low_ratio"] <= r["sigma_low"] ** 49
    # the counterexample, recomputed: rho(W) = 0.9, yet alternating diagonal factors make the gradient explode
    a = math.sqrt(10.81)
    W = np.array([[a, 10.0], [-1.0, -a]])
    assert r["counter_rho"] == pytest.approx(max(abs(np.linalg.eigvals(W))), rel=1e-5) == pytest.approx(0.9)
    assert r["counter_sigma"] == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-5)
    g = np.ones(2) / math.sqrt(2)
    for k in range(99):
        g = W.T @ (np.array([[1.0, 0.3], [0.3, 1.0]])[k % 2] * g)     # J^T g with J = diag(d) W
    assert r["counter_growth"] == pytest.approx(np.linalg.norm(g), rel=1e-5) and r["counter_growth"] > 1e20
    assert r["counter_wpower"] < 1e-3                                      # W^99 alone shrinks (0.81^49 |W|)
    # clipping bounds each SGD step by lr * tau and only ever scales the gradient down, by tau / |g|
    assert r["clip_max_step"] <= r["clip_lr_tau"] * (1 + 1e-5)
    assert r["clip_scale"] == pytest.approx(min(1.0, 1e-3 / r["clip_before"]), rel=1e-4)
    assert math.isfinite(r["clip_loss_last"]) and r["clip_loss_last"] < 0.5 * r["clip_loss_first"]


def check_05(r):
    assert r["lstm_diff"] < 1e-12
    assert 0.1 < r["baseline_mse"] < 0.25
    for key in ("lstm_mse", "rnn_mse"):          # quick mode trains too briefly for the full-mode gap
        assert math.isfinite(r[key]) and r[key] < 2 * r["baseline_mse"]
    # the carrying unit: the one cell most correlated with the first marked value keeps more than the average
    assert 0 <= r["carry_unit"] < 16 and 0.2 < abs(r["carry_corr"]) <= 1
    assert r["carry_f"] > r["all_f"] and 0 < r["all_f"] < 1


def check_06(r):
    assert r["gru_diff"] < 1e-12
    assert r["param_ratio"] == 0.75 and r["gru_params"] * 4 == r["lstm_params"] * 3
    assert r["lstm_ms"] > 0 and r["gru_ms"] > 0
    assert r["gru_mse"] < 0.7 * r["baseline_mse"]
    assert 0 <= r["lstm_acc"] <= 1 and 0 <= r["gru_acc"] <= 1
    assert r["lstm_source"] in ("lesson05", "trained")
    # who left the plateau first: the printed verdict follows from the two escape steps
    esc, steps = {"LSTM": r["lstm_escape"], "GRU": r["gru_escape"]}, r["steps"]
    assert all(0 <= v <= steps for v in esc.values())
    expected = (min(esc, key=esc.get) if esc["LSTM"] != esc["GRU"] else "neither" if esc["GRU"] == steps else "both")
    assert r["first_escape"] == expected, r
    # counted by hand: LSTM 2 x (permute, matmul, add) + add + 4 getitem + 4 activations + 3 mul + add + tanh = 20;
    # GRU 2 x (permute, matmul, add) + 6 getitem + 2 x (add, sigmoid) + (mul, add, tanh) + (sub, mul, add) = 22
    assert 15 <= r["lstm_ops"] <= 30 and r["gru_ops"] > r["lstm_ops"]          # "the GRU records *more* ops"
    assert r["op_ratio"] == pytest.approx(r["gru_ops"] / r["lstm_ops"], rel=1e-5)
    assert r["mac_ratio"] == 0.75                                              # 3H(I + H) against 4H(I + H)
    # each measured time ratio is said to be nearer the explanation it is nearer to (log scale)
    for ratio, said in ((r["ms_ratio"], r["ms_nearer"]), (r["wide_ratio"], r["wide_nearer"])):
        assert ratio > 0
        near_ops = abs(math.log(ratio / r["op_ratio"])) < abs(math.log(ratio / r["mac_ratio"]))
        assert said == ("ops" if near_ops else "multiply-adds"), r


def check_07(r):
    assert r["bi_diff"] < 1e-12
    assert r["bi_acc"] > 0.9
    assert r["uni_acc"] < r["chance"] + 0.1
    assert r["bi_acc"] > r["uni_acc"] + 0.5
    assert r["bi_follows_future"] > 0.9            # the biRNN reads the next symbol: it cannot be a language model
    assert r["uni_moved_by_future"] == 0           # a left-to-right RNN's output depends on the past alone


CHECKS = {name: globals()[f"check_{name[:2]}"] for name in PART1}
DIAGRAMS = {"03_rnn_bptt.py": 1, "05_lstm_gates.py": 1, "06_gru.py": 1, "07_bidirectional.py": 1}


SENTINEL_MSE = 0.123456                  # a value no real run gives: where it shows up, it came from the cache


def stale_cache(folder):
    """A cache folder holding lesson 5's LSTM record with full-mode settings and a sentinel MSE: a quick run of
    lesson 6 must not use it (other mode, other sizes)."""
    settings = {"quick": False, **tasks.AddingTask.lesson(False).settings()}
    values = {"kind": "LSTM", "losses": [0.2] * 1500, "ms": 1.0, "seconds": 1.0, "mse": SENTINEL_MSE,
              "baseline": 0.16, "accuracy": 0.5}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "05_lstm_adding.json").write_text(json.dumps({"settings": settings, "values": values}))
    return folder


@pytest.mark.parametrize("name", PART1)
def test_tutorial_script_quick(name, tmp_path):
    cache = stale_cache(tmp_path / "cache") if name == "06_gru.py" else None
    r = script_results(name, cache=cache)
    CHECKS[name](r)
    if name == "06_gru.py":                          # run alone, beside a cache of other settings: trains its LSTM
        assert r["lstm_source"] == "trained" and r["lstm_mse"] != SENTINEL_MSE, r


@pytest.mark.parametrize("name", PART1)
def test_tutorial_notebook_quick(name):
    pytest.importorskip("jupytext")
    pytest.importorskip("nbclient")
    r = notebook_results(name)
    CHECKS[name](r)
    if name in DIAGRAMS:                             # the model's picture is displayed in the notebook
        assert r["_images"] >= DIAGRAMS[name], r["_images"]


def test_lesson_06_reuses_the_lstm_run_lesson_05_recorded(tmp_path):
    cache = tmp_path / "cache"
    r5 = script_results("05_lstm_gates.py", cache=cache)
    saved = json.loads((cache / "05_lstm_adding.json").read_text())
    task = tasks.AddingTask.lesson(True)
    assert saved["settings"] == {"quick": True, **task.settings()}
    values = saved["values"]                         # lesson 5's own run: its printed numbers, its losses
    assert len(values["losses"]) == task.steps and values["mse"] == pytest.approx(r5["lstm_mse"], rel=1e-5)
    assert float(np.mean(values["losses"][-10:])) == pytest.approx(r5["lstm_loss_last"], rel=1e-5)
    # lesson 6 reads it back (the sentinel proves the number came from the file, not from training again)
    values["mse"] = SENTINEL_MSE
    values["losses"] = [0.2] * 50 + [0.01] * (task.steps - 50)       # a curve that leaves the plateau at once
    (cache / "05_lstm_adding.json").write_text(json.dumps(saved))
    r6 = script_results("06_gru.py", cache=cache)
    assert r6["lstm_source"] == "lesson05" and r6["lstm_mse"] == SENTINEL_MSE, r6
    assert r6["lstm_acc"] == pytest.approx(values["accuracy"], abs=1e-6)
    assert r6["lstm_ms"] == pytest.approx(values["ms"], rel=1e-5)
    # and its plateau step is computed from lesson 5's losses: below half the baseline (smoothed over 10 steps)
    smooth = [float(np.mean(values["losses"][max(0, i - 9):i + 1])) for i in range(task.steps)]
    below = [i for i, v in enumerate(smooth) if v < 0.5 * r6["baseline_mse"]]
    assert r6["lstm_escape"] == (below[0] if below else task.steps) == 56
    assert r6["first_escape"] == ("LSTM" if r6["gru_escape"] > 56 else "GRU" if r6["gru_escape"] < 56 else "both")
    CHECKS["06_gru.py"](r6)


def test_every_tutorial_is_listed_in_the_readme():
    readme = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
    assert set(PART1) <= set(names) and len(names) == 15, names
    for name in names:
        assert f"[{name}]({name})" in readme, name


def test_step_mode_runs_every_cell_when_enter_is_fed():
    name = "01_autograd_scalar.py"
    code = [text for kind, text in tutorial.parse_cells((TUTORIALS / name).read_text(encoding="utf-8"))
            if kind == "code"]
    learner = [c for c in code if not tutorial.is_boilerplate(c)]
    assert len(learner) == len(code) - 1                        # only the runner's own first cell is skipped
    proc = run_script(name, "--step", "--quick", stdin="\n" * len(learner))
    assert proc.returncode == 0, proc.stderr
    assert "RESULT hand_vs_backward=" in proc.stdout
    assert proc.stdout.count("Enter: run this cell") == len(learner)
    assert "Autograd from one scalar" in proc.stdout            # a markdown cell, rendered
    assert "def leaf(v):" in proc.stdout                        # a code cell, shown before it runs


def test_step_mode_q_quits_early_with_exit_code_0():
    proc = run_script("03_rnn_bptt.py", "--step", "--quick", stdin="\n\nq\n")
    assert proc.returncode == 0, proc.stderr
    assert "Quit before cell 3" in proc.stdout
    assert "RESULT" not in proc.stdout and "SGD: step" not in proc.stdout


def test_step_mode_end_of_input_runs_on_to_the_end():
    proc = run_script("07_bidirectional.py", "--step", "--quick", stdin="\n")
    assert proc.returncode == 0, proc.stderr
    assert "RESULT bi_diff=" in proc.stdout
    assert proc.stdout.count("Enter: run this cell") == 2        # the answered prompt, then EOF


def test_python_m_runner_and_environment_quick_mode():
    proc = subprocess.run([sys.executable, "-m", "tinygrad_seq.tutorial", str(TUTORIALS / "01_autograd_scalar.py")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, env=env(quick=True))
    assert proc.returncode == 0, proc.stderr
    assert "RESULT hand_vs_backward=" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "tinygrad_seq.tutorial"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT, env=env())
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_parse_cells_kinds_and_markdown_prefixes():
    src = "# %% [markdown]\n# # Title\n#\n# text $x$\n\n# %%\nx = 1\n\n# %%\n\n# %% [md]\n# more\n"
    assert tutorial.parse_cells(src) == [("markdown", "# Title\n\ntext $x$"), ("code", "x = 1"),
                                         ("markdown", "more")]


def test_run_in_process_with_step_namespace_and_errors(tmp_path):
    good = tmp_path / "t.py"
    good.write_text("# %% [markdown]\n# hello\n\n# %%\nassert __name__ == '__main__'\nprint('ran', __file__)\n")
    out = io.StringIO()
    assert tutorial.run(good, step=True, stdin=io.StringIO("\n"), file=out) == 0
    assert "hello" in out.getvalue() and "Done: 1 cell of" in out.getvalue()
    bad = tmp_path / "bad.py"
    bad.write_text("# %%\nraise ValueError('boom')\n")
    assert tutorial.run(bad) == 1


def test_figure_saves_pngs_beside_the_tutorial_except_in_quick_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYGRAD_SEQ_QUICK", raising=False)
    src = ("# %%\nfrom tinygrad_seq import charts\nfrom tinygrad_seq.tutorial import figure\n"
           "path = figure('curve')\ncharts.plot([3.0, 1.0, 2.0], png=path)\nprint('PNG', path)\n")
    script = tmp_path / "t.py"
    script.write_text(src)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert tutorial.run(script, quick_mode=True) == 0
    assert "PNG None" in out.getvalue()
    if not charts.have_matplotlib():
        return
    assert tutorial.run(script) == 0
    assert (tmp_path / "figures" / "curve.png").stat().st_size > 0


def test_remember_and_recall_give_back_only_what_was_saved_with_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_SEQ_CACHE", str(tmp_path / "c"))
    settings = {"quick": True, "T": 10, "lr": 0.01, "code": "abc"}
    assert tutorial.recall("run", settings) == (None, f"no file {tmp_path / 'c' / 'run.json'}")
    path = tutorial.remember("run", settings, {"mse": 0.25, "losses": [1.0, 0.5]})
    assert path == str(tmp_path / "c" / "run.json") and [p.name for p in (tmp_path / "c").iterdir()] == ["run.json"]
    values, where = tutorial.recall("run", dict(settings))
    assert values == {"mse": 0.25, "losses": [1.0, 0.5]} and where == f"read from {path}"
    values, where = tutorial.recall("run", {**settings, "quick": False})             # another mode
    assert values is None and "quick True there, False here" in where
    values, where = tutorial.recall("run", {**settings, "lr": 0.02, "seed": 1})      # changed and added settings
    assert values is None and "lr 0.01 there, 0.02 here" in where and "seed (none) there, 1 here" in where
    (tmp_path / "c" / "run.json").write_text("{not json")
    assert tutorial.recall("run", settings)[0] is None
    (tmp_path / "c" / "run.json").write_text("[1, 2]")
    assert tutorial.recall("run", settings)[0] is None
    monkeypatch.setenv("TINYGRAD_SEQ_CACHE", "off")
    assert tutorial.remember("run", settings, {"mse": 1.0}) is None
    assert tutorial.recall("run", settings) == (None, "caching is off (TINYGRAD_SEQ_CACHE=off)")


def test_the_cache_folder_is_beside_the_calling_tutorial(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYGRAD_SEQ_CACHE", raising=False)
    script = tmp_path / "lesson.py"
    script.write_text("# %%\nfrom tinygrad_seq.tutorial import remember, recall\n"
                      "print('SAVED', remember('r', {'a': 1}, {'v': 2}))\nprint('BACK', recall('r', {'a': 1})[0])\n")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert tutorial.run(script) == 0
    assert f"SAVED {tmp_path / '.cache' / 'r.json'}" in out.getvalue() and "BACK {'v': 2}" in out.getvalue()
