"""The benchmark's measuring machinery (not its timings): PyTorch's rows come from a persistent worker
process that is asked for one timed step at a time, in the same interleaved rounds as our rows.

No test imports torch: the worker here is a stub object, ``_serve`` with stub steps, a fake worker
program speaking the JSON-lines protocol, or this Python with ``import torch`` made to fail."""
from __future__ import annotations

import io
import json
import os
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_seq import bench


class StubWorker:
    """Stands in for ``bench.TorchWorker``: records its turns, answers a fixed time per row."""

    def __init__(self, rows, calls, seconds, dies_after=None):
        self.rows, self.calls, self.seconds, self.dies_after = list(rows), calls, seconds, dies_after
        self.runs = 0

    def run(self, row):
        self.runs += 1
        if self.dies_after is not None and self.runs > self.dies_after:
            return None
        self.calls.append(row)
        return self.seconds[row]


def _recording_steps(names, calls):
    def make(k):
        return lambda: calls.append(k)
    return {k: make(k) for k in names}


@given(n_ours=st.integers(1, 3), n_theirs=st.integers(0, 3), reps=st.integers(1, 7))
def test_rounds_alternate_our_rows_and_the_workers_rows(n_ours, n_theirs, reps):
    ours = [f"ours {i}" for i in range(n_ours)]
    theirs = [f"pytorch {i}" for i in range(n_theirs)]
    seconds = {k: 0.25 + i for i, k in enumerate(theirs)}
    calls: list[str] = []
    worker = StubWorker(theirs, calls, seconds) if theirs else None
    times = bench._interleaved(_recording_steps(ours, calls), reps, worker)
    # written out by hand: round r runs every row once, the list rotated left by r
    names = ours + theirs
    expected = []
    for r in range(reps):
        s = r % len(names)
        expected += names[s:] + names[:s]
    assert calls == expected
    assert list(times) == names and all(len(ts) == reps for ts in times.values())
    for k in theirs:                        # the worker's own measurement, not the time around the pipe
        assert times[k] == [seconds[k]] * reps
    for k in ours:
        assert all(0 <= t < 1 for t in times[k])


def test_every_pytorch_turn_is_between_two_of_ours_within_the_same_rounds():
    calls: list[str] = []
    worker = StubWorker(["pytorch eager"], calls, {"pytorch eager": 0.1})
    bench._interleaved(_recording_steps(["tinygrad_seq"], calls), 6, worker)
    assert calls == ["tinygrad_seq", "pytorch eager", "pytorch eager", "tinygrad_seq"] * 3


def test_a_worker_that_dies_mid_run_loses_its_rows_and_ours_stay():
    calls: list[str] = []
    worker = StubWorker(["pytorch a", "pytorch b"], calls, {"pytorch a": 1.0, "pytorch b": 2.0}, dies_after=3)
    times = bench._interleaved(_recording_steps(["ours"], calls), 4, worker)
    assert list(times) == ["ours"] and len(times["ours"]) == 4


def test_serve_builds_warms_up_and_times_one_step_per_request(monkeypatch):
    calls: list[str] = []

    def slow():
        calls.append("slow")
        time.sleep(0.02)

    def fast():
        calls.append("fast")
    built = []
    monkeypatch.setattr(bench, "_torch_steps", lambda kind, args: built.append((kind, args)) or
                        {"slow": slow, "fast": fast})
    requests = io.StringIO("".join(json.dumps(r) + "\n" for r in (
        {"build": "charrnn", "args": [1, 2], "warmup": 2}, {"run": "slow"}, {"run": "fast"}, {"run": "slow"},
        {"quit": True}, {"run": "fast"})))
    replies = io.StringIO()
    bench._serve(requests, replies)
    answers = [json.loads(line) for line in replies.getvalue().splitlines()]
    assert built == [("charrnn", [1, 2])]
    assert answers[0] == {"rows": ["slow", "fast"]}
    assert len(answers) == 4                               # nothing is answered after "quit"
    assert calls == ["slow", "slow", "fast", "fast", "slow", "fast", "slow"]   # warm-up, then one step a request
    slow_s, fast_s, slow_again = (a["seconds"] for a in answers[1:])
    assert slow_s >= 0.02 and slow_again >= 0.02 and fast_s < 0.02


FAKE_WORKER = """#!{python}
# a fake PyTorch worker for tests: speaks TorchWorker's protocol, answers a fixed time per step
import json, os, sys
log = open(os.environ["FAKE_LOG"], "a")
rows, seconds = json.loads(os.environ["FAKE_ROWS"]), float(os.environ["FAKE_SECONDS"])
die_after, runs = int(os.environ.get("FAKE_DIE_AFTER", "-1")), 0
print("noise on stderr", file=sys.stderr)
for line in sys.stdin:
    log.write(line)
    log.flush()
    request = json.loads(line)
    if "build" in request:
        reply = {{"rows": rows}}
    elif "run" in request:
        runs += 1
        if runs == die_after:
            sys.exit(1)
        reply = {{"seconds": seconds}}
    else:
        break
    print(json.dumps(reply), flush=True)
"""


@pytest.fixture
def fake_worker(tmp_path, monkeypatch):
    program = tmp_path / "fake-python"
    program.write_text(FAKE_WORKER.format(python=sys.executable))
    program.chmod(0o755)
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv(bench.TORCH_PYTHON, str(program))
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_SECONDS", "0.004")

    def requests():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return requests


def test_charrnn_asks_the_worker_once_per_round_and_divides_by_its_median(fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_ROWS", '["pytorch eager"]')
    r = bench.run_charrnn(5)
    assert fake_worker() == [{"build": "charrnn", "args": [], "warmup": 2}] + [{"run": "pytorch eager"}] * 5 + [
        {"quit": True}]
    assert r["torch"] is True
    theirs, ours = r["rows"]["pytorch eager"], r["rows"]["tinygrad_seq"]
    assert theirs["median_ms"] == pytest.approx(4.0) and theirs["x_pytorch"] == pytest.approx(1.0)
    assert ours["x_pytorch"] == pytest.approx(ours["median_ms"] / 4.0)


def test_config_ratios_of_pytorch_rows_are_to_our_hand_derived_median(fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_ROWS", '["pytorch nn.LSTM (fused)"]')
    r = bench.run_config("small", 1, 4, 3, 5, reps=3, dtype=bench.np.float32)
    assert fake_worker()[0] == {"build": "config", "args": [1, 4, 3, 5, "float32"], "warmup": 2}
    assert fake_worker()[1:] == [{"run": "pytorch nn.LSTM (fused)"}] * 3 + [{"quit": True}]
    rows = r["rows"]
    assert list(rows) == ["tinygrad_seq", bench.JIT_ROW, "hand-derived BPTT (numpy)",
                          "pytorch nn.LSTM (fused)"]
    hand = rows["hand-derived BPTT (numpy)"]["median_ms"]
    theirs = rows["pytorch nn.LSTM (fused)"]
    assert theirs["median_ms"] == pytest.approx(4.0) and theirs["ratio"] == pytest.approx(4.0 / hand)
    assert theirs["peak_mb"] is None and r["torch"] is True
    assert theirs["gflops"] == pytest.approx(bench.lstm_flops(1, 4, 3, 5, bench.VOCAB) / 0.004 / 1e9)



def test_charlm_target_is_our_chars_per_second_over_the_workers(fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_ROWS", '["pytorch nn.LSTM (fused)"]')
    r = bench.run_charlm(3)
    assert fake_worker() == [{"build": "charlm", "args": [], "warmup": 1}] + [
        {"run": "pytorch nn.LSTM (fused)"}] * 3 + [{"quit": True}]
    chars = bench.CHARLM["B"] * bench.CHARLM["T"]
    theirs, ours, jitted = (r["rows"][k] for k in ("pytorch nn.LSTM (fused)", "tinygrad_seq", bench.JIT_ROW))
    assert theirs["chars_per_s"] == pytest.approx(chars / 0.004)
    t = bench.targets([r])
    measured, limit, how = t["char-LM chars/s in tg.jit / PyTorch nn.LSTM's"]
    assert measured == pytest.approx(0.004 / (jitted["median_ms"] / 1e3)) and (limit, how) == (0.75, ">=")
    measured, limit, how = t["char-LM chars/s eagerly / PyTorch nn.LSTM's (no target)"]
    assert measured == pytest.approx(0.004 / (ours["median_ms"] / 1e3)) and limit is None

def test_a_worker_that_dies_leaves_our_rows_and_says_torch_is_missing(fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_ROWS", '["pytorch eager"]')
    monkeypatch.setenv("FAKE_DIE_AFTER", "2")
    r = bench.run_charrnn(5)
    assert list(r["rows"]) == ["tinygrad_seq"] and r["torch"] is False
    assert r["rows"]["tinygrad_seq"]["x_pytorch"] is None


def test_without_torch_the_pytorch_rows_are_skipped(tmp_path, monkeypatch, capsys):
    """This Python as the worker, with ``import torch`` failing there: the rows are skipped, the rest runs."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('no torch in this test')\n")
    monkeypatch.setenv(bench.TORCH_PYTHON, sys.executable)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    with bench.TorchWorker("charrnn", [], warmup=1) as worker:
        assert worker.rows == [] and worker.run("pytorch eager") is None
    r = bench.run_config("small", 1, 3, 2, 4, reps=2, dtype=bench.np.float32)
    assert r["torch"] is False and not any(k.startswith("pytorch") for k in r["rows"])
    bench.print_results([r])
    assert "torch is not importable: the PyTorch rows are skipped" in capsys.readouterr().out


def test_a_torch_python_that_does_not_exist_skips_the_rows(tmp_path, monkeypatch):
    monkeypatch.setenv(bench.TORCH_PYTHON, str(tmp_path / "no-such-python"))
    r = bench.run_charrnn(5)
    assert list(r["rows"]) == ["tinygrad_seq"] and r["torch"] is False
    lm = bench.targets([r])
    assert lm["char-RNN tutorial step / PyTorch eager"][0] is None



def test_the_size_targets_are_read_off_the_jit_row_and_the_eager_row_is_shown_without_a_limit(capsys):
    hand = "hand-derived BPTT (numpy)"
    results = []
    for name, eager, jit in (("small", 4.0, 2.4), ("medium", 1.10, 1.02), ("large", 1.0, 1.2)):
        rows = {"tinygrad_seq": {"ratio": eager, "peak_mb": 10.0}, bench.JIT_ROW: {"ratio": jit, "peak_mb": 9.0},
                hand: {"ratio": 1.0, "peak_mb": 20.0}}
        results.append({"config": name, "rows": rows})
    t = bench.targets(results)
    assert t["small step in tg.jit / hand-derived"] == (2.4, 2.5, "<=")
    assert t["medium step in tg.jit / hand-derived"] == (1.02, 1.05, "<=")
    assert t["large step in tg.jit / hand-derived"] == (1.2, 1.05, "<=")
    assert t["small step eagerly / hand-derived (no target)"] == (4.0, None, "")
    assert t["medium step peak traced memory / hand-derived"] == (0.5, 1.3, "<=")
    bench.print_results([{"config": "targets", "rows": t}])
    out = capsys.readouterr().out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4}
    assert "PASS" in lines["small step in tg.jit / hand-derived"]
    assert "FAIL" in lines["large step in tg.jit / hand-derived"]
    eager = next(v for k, v in lines.items() if k.startswith("small step eagerly"))
    assert "PASS" not in eager and "FAIL" not in eager and "4.00" in eager
