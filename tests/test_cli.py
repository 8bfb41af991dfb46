"""The command line: the gradient-check table, the benchmark's behaviour (not its timings), errors."""
from __future__ import annotations

import gc
import json
import weakref

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import cli, nn, optim


def test_check_prints_a_passing_gradcheck_table(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert "matmul (batched)" in out and "ok" in out
    for row in ("RNNCell", "LSTM 2 layers", "GRU bidirectional", "LSTM with lengths", "ctc_loss", "nll_loss"):
        assert row in out, row
    assert "FAIL" not in out.upper().replace("FAILURE", "")


def test_bare_command_prints_the_commands(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "sample" in out and "check" in out


def test_bench_reports_every_row_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "--configs", "small", "--reps", "1", "--json", str(path)]) == 0
    results = json.loads(path.read_text())
    rows = results[0]["rows"]
    assert {"tinygrad_seq", "hand-derived BPTT (numpy)"} <= set(rows)
    assert rows["hand-derived BPTT (numpy)"]["ratio"] == 1.0
    assert all(r["median_ms"] > 0 for r in rows.values())
    assert "x hand-derived" in capsys.readouterr().out


def test_bad_arguments_exit_2_with_one_line(capsys):
    assert cli.main(["bench", "--configs", "huge"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown bench config 'huge'" in err[0]
    assert cli.main(["bench", "--json", "/no/such/folder/x.json"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_training_steps_free_their_graphs():
    """After backward the step's saved arrays are gone: nothing accumulates across steps."""
    tg.manual_seed(0)
    lstm, head = nn.LSTM(4, 8), nn.Linear(8, 3)
    opt = optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=0.1)
    refs = []
    gc.disable()                      # reference counting alone must free it: the graph makes no cycles
    try:
        for _ in range(3):
            out, _ = lstm(tg.randn(5, 2, 4))
            loss = nn.functional.cross_entropy(head(out).reshape(-1, 3), np.zeros(10, int))
            refs.append(weakref.ref(out))
            refs.append(weakref.ref(out.numpy()))
            opt.zero_grad()
            loss.backward()
            opt.step()
            del out, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_no_grad_sampling_keeps_no_graph():
    lstm = nn.LSTM(3, 5)
    state = None
    x = tg.randn(1, 1, 3)
    with tg.no_grad():
        for _ in range(50):
            out, state = lstm(x, state)
    assert out.grad_fn is None and state[0].grad_fn is None


def test_module_entry_point_exits_2_with_one_line_on_bad_arguments():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "tinygrad_seq", "bench", "--configs", "huge"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "unknown bench config" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tinygrad_seq", "bench", "--reps", "many"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
