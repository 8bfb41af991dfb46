"""The main job's own numbers and promises, checked against an independent computation (issue 25).

* bits per character recomputed from a saved checkpoint in plain numpy (``reference.layers_forward`` over the
  checkpoint's arrays, read with ``tg.load``): summed cross-entropy in nats / (characters * ln 2), on the
  held-out last 5 % of the text; compared with what ``train`` reports, what the checkpoint records and what
  ``tinygrad-seq eval`` prints;
* which checkpoint files change at each evaluation: ``last.npz`` every time, ``best.npz`` only when the
  validation bpc improved on every earlier one (also across a resume);
* the exit code of every command, on success and on failure.

The validation text here is short (under 128 characters), so ``evaluate`` runs it as one sequence from a
zero state, and the numpy recomputation is exact, not an approximation of the batched evaluation.
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import reference as ref
from tinygrad_seq.data import Streams, load_text
from tinygrad_seq.train import Reporter, TrainConfig, train


def examples(n: int) -> int:
    """n examples under the ci profile (50 by default), six times as many under the "thorough" one (300)."""
    return max(1, n * settings.default.max_examples // 50)

TEXT = load_text(None)[0][:2400]
N_VAL = round(len(TEXT) * 0.05)                   # the held-out tail: 5 % of the text


def numpy_bpc(path: Path, text: str) -> tuple[float, int]:
    """(bpc, predictions) of the checkpoint at ``path`` on ``text``: its LSTM/GRU/RNN in numpy, float64."""
    ck = tg.load(path)
    cfg, w = ck["config"], ck["model"]
    itos = [chr(int(c)) for c in ck["vocab"]]
    stoi = {c: i for i, c in enumerate(itos)}
    ids = np.array([stoi[c] for c in text])
    emb = np.asarray(w["embed.weight"], np.float64)[ids[:-1]][:, None, :]          # (T, 1, H)
    params = {k[len("rnn."):]: np.asarray(v, np.float64) for k, v in w.items() if k.startswith("rnn.")}
    mode = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN_TANH"}[cfg["model"]]
    out, _, _ = ref.layers_forward(mode, emb, params, cfg["layers"], False)
    logits = out[:, 0] @ np.asarray(w["head.weight"], np.float64).T + np.asarray(w["head.bias"], np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    nats = -logp[np.arange(len(ids) - 1), ids[1:]].sum()
    return float(nats / ((len(ids) - 1) * math.log(2))), len(ids) - 1


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


class Watcher(Reporter):
    """Records, for every evaluation, whether it was reported best and which checkpoint files changed."""

    def __init__(self, out: Path):
        self.out, self.pending, self.events = out, None, []
        self.seen = {n: digest(out / n) for n in ("last.npz", "best.npz")}

    def evaluated(self, step, val_bpc, best):
        self._settle()
        self.pending = (step, val_bpc, best)

    def _settle(self):
        now = {n: digest(self.out / n) for n in ("last.npz", "best.npz")}
        if self.pending is not None:
            step, bpc, best = self.pending
            self.events.append(dict(step=step, bpc=bpc, best=best, last=now["last.npz"] != self.seen["last.npz"],
                                    best_file=now["best.npz"] != self.seen["best.npz"]))
            self.pending = None
        self.seen = now

    def step(self, step, metrics):
        self._settle()

    def end(self, result):
        if self.pending is None and result.val_steps and (not self.events or
                                                          self.events[-1]["step"] != result.val_steps[-1]):
            self.pending = (result.val_steps[-1], result.val_bpc[-1], None)     # the closing evaluation
        self._settle()


CONFIG = dict(model="lstm", hidden=8, layers=2, dropout=0.1, seq_len=8, batch=2, lr=0.12, optimizer="adam",
              schedule="constant", minutes=None, eval_every=2, sample_every=1000, dtype="float64")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mainjob")
    w = Watcher(out)
    result = train(TrainConfig(**CONFIG, steps=13, out=str(out)), reporter=w, text=TEXT)
    return out, w, result


def test_reported_bpc_is_the_summed_cross_entropy_over_ln2(run):
    out, w, result = run
    val = TEXT[-N_VAL:]
    want_last, n = numpy_bpc(out / "last.npz", val)
    assert result.val_chars == n == N_VAL - 1
    assert result.val_steps[-1] == result.step == 13
    np.testing.assert_allclose(result.final_bpc, want_last, rtol=1e-9)
    np.testing.assert_allclose(result.val_bpc[-1], want_last, rtol=1e-9)
    want_best, _ = numpy_bpc(out / "best.npz", val)
    np.testing.assert_allclose(result.best_bpc, want_best, rtol=1e-9)
    best = tg.load(out / "best.npz")
    assert best["step"] == result.best_step == best["best_step"]
    np.testing.assert_allclose(best["best_bpc"], want_best, rtol=1e-9)
    assert result.best_bpc == min(result.val_bpc)
    # the training figure: the mean cross-entropy of each step in nats, over ln 2
    last = tg.load(out / "last.npz")
    np.testing.assert_allclose(result.train_bpc, np.array(last["history"]["train_loss"]) / math.log(2), rtol=1e-12)
    # and the evaluate() function on a model and ids directly (the library's form of the same number)
    from tinygrad_seq.train import evaluate, load_checkpoint
    ck = load_checkpoint(str(out / "last.npz"))
    ck.model.train()
    np.testing.assert_allclose(evaluate(ck.model, ck.vocab.encode(val)), want_last, rtol=1e-9)
    assert ck.model.training                             # evaluate restores the mode it found


def test_best_npz_changes_only_on_improvement_and_last_at_every_evaluation(run):
    out, w, result = run
    ev = w.events
    assert [e["step"] for e in ev] == result.val_steps == [2, 4, 6, 8, 10, 12, 13]
    bests = [e["best"] for e in ev]
    assert True in bests[1:] and False in bests        # the run has both kinds of evaluation (else vacuous),
    assert ev[-1]["best"] is False and ev[-1]["bpc"] > min(e["bpc"] for e in ev)  # and closes on one that is no best
    running = math.inf
    for e in ev:
        improved = e["bpc"] < running
        running = min(running, e["bpc"])
        assert e["best"] == improved, e                  # the closing evaluation is reported too
        assert e["best_file"] == improved, e            # best.npz rewritten exactly when it improved
        assert e["last"], e                              # last.npz at every evaluation


def test_resumed_run_keeps_the_best_so_far(run, tmp_path):
    out, _, first = run
    src = tmp_path / "src"
    src.mkdir()
    for name in ("last.npz", "best.npz"):
        (src / name).write_bytes((out / name).read_bytes())
    w = Watcher(src)
    # resumed with a learning rate far too large: the evaluations after the resume are worse than the best
    # before it, so best.npz must stay as it was (a run that forgot its best so far would overwrite it)
    result = train(TrainConfig(**{**CONFIG, "lr": 3.0}, steps=17, out=str(src)), reporter=w, text=TEXT,
                   resume=str(src / "last.npz"))
    history = result.val_bpc
    assert history[: len(first.val_bpc)] == first.val_bpc
    assert result.best_bpc == min(history)
    assert result.best_step == result.val_steps[int(np.argmin(history))]
    running = min(first.val_bpc)
    for e in w.events:
        assert e["best"] in (e["bpc"] < running, None) and e["best_file"] == (e["bpc"] < running), e
        running = min(running, e["bpc"])
    assert tg.load(src / "best.npz")["step"] == result.best_step
    assert any(not e["best_file"] for e in w.events)            # (the check above was not vacuous)


def test_a_checkpoint_loads_with_its_dtype_and_leaves_the_default_alone(run):
    out, _, _ = run
    from tinygrad_seq.train import load_checkpoint
    before = tg.get_default_dtype()
    ck = load_checkpoint(str(out / "last.npz"))
    assert tg.get_default_dtype() == before == np.float32
    assert all(p.dtype == np.float64 for p in ck.model.parameters())
    loaded = tg.load(out / "last.npz")
    assert isinstance(loaded["history"]["val_bpc"], list) and isinstance(loaded["position"], dict)


# ---------------------------------------------------------------------------
# the CLI: eval's figure, and every command's exit code
# ---------------------------------------------------------------------------

def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``tinygrad-seq ARGS`` in this process (the entry point ``python -m tinygrad_seq`` calls this ``main``;
    tests/test_cli.py runs that one in a subprocess): (exit code, stdout, stderr)."""
    from tinygrad_seq.cli import main
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("clijob")
    (d / "text.txt").write_text(TEXT, encoding="utf-8")
    return d


@pytest.fixture
def cli_run(cli_dir, capsys):
    if not (cli_dir / "run" / "last.npz").exists():
        code, out, err = cli(capsys, "train", "--data", str(cli_dir / "text.txt"), "--hidden", "8", "--layers", "1",
                             "--batch", "2", "--seq-len", "8", "--steps", "4", "--eval-every", "2",
                             "--sample-every", "100", "--out", str(cli_dir / "run"))
        assert code == 0, err
        assert "bits per character" in out
    return cli_dir


def test_cli_eval_prints_the_independently_computed_bpc(cli_run, capsys):
    d = cli_run
    (d / "other.txt").write_text(TEXT[:150], encoding="utf-8")
    for name in ("last.npz", "best.npz"):
        want, n = numpy_bpc(d / "run" / name, TEXT[-N_VAL:])
        code, out, err = cli(capsys, "eval", str(d / "run" / name))
        assert code == 0, err
        figure = float(out.split()[0])
        assert abs(figure - want) < 1e-4 + 1e-5 * want, (out, want)      # float32 model, 4 decimals printed
        assert f"({n:,} characters predicted" in out
        other, _ = numpy_bpc(d / "run" / name, TEXT[:150])
        code, out, err = cli(capsys, "eval", str(d / "run" / name), "--data", str(d / "other.txt"))
        assert code == 0 and abs(float(out.split()[0]) - other) < 2e-4, (out, other)


def test_every_command_exit_code(cli_run, capsys):
    d = cli_run
    ck = str(d / "run" / "last.npz")
    (d / "junk.npz").write_bytes(b"not a checkpoint")
    cases = [
        (["sample", ck, "--length", "5"], 0),
        (["sample", str(d / "junk.npz")], 2),
        (["sample", ck, "--temperature", "0"], 2),
        (["sample", ck, "--prompt", "\u2603"], 2),
        (["eval", ck], 0),
        (["eval", str(d / "junk.npz")], 2),
        (["eval", ck, "--data", str(d / "missing.txt")], 2),
        (["train", "--data", str(d / "missing.txt"), "--steps", "1"], 2),
        (["train", "--hidden", "0", "--steps", "1"], 2),
        (["train", "--resume", str(d / "junk.npz"), "--steps", "9"], 2),
        (["bench", "--configs", "nonsense"], 2),
        (["no-such-command"], 2),
        (["--help"], 0),
        ([], 0),
    ]
    for args, want in cases:
        code, out, err = cli(capsys, *args)
        assert code == want, (args, code, err[-300:])
        if want == 2:
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (args, err)


def test_check_exit_code_follows_the_table(monkeypatch, capsys):
    """`tinygrad-seq check` exits 0 when every row passes and 1 when any row fails (each row is one
    tg.gradcheck call; here they are replaced by a check that passes, then by one that fails for one row)."""
    calls = []

    def passing(fn, inputs, *a, **k):
        calls.append(1)
        return True

    def one_fails(fn, inputs, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise tg.GradcheckError("planted failure")
        return True

    monkeypatch.setattr(tg, "gradcheck", passing)
    code, out, _ = cli(capsys, "check")
    assert code == 0 and len(calls) > 5
    calls.clear()
    monkeypatch.setattr(tg, "gradcheck", one_fails)
    code, out, _ = cli(capsys, "check")
    assert code == 1 and "planted failure" in out


# ---------------------------------------------------------------------------
# what checkpoints are made of: the reading streams and the file format
# ---------------------------------------------------------------------------



@settings(max_examples=examples(25))
@given(st.integers(3, 60), st.integers(1, 4), st.integers(1, 6), st.integers(0, 20))
def test_streams_read_every_chunk_each_epoch_and_resume_exactly(n, batch, seq_len, stop):
    """Stream b is the b-th contiguous stretch of (n - 1) // batch ids; an epoch reads its
    stretch_len // seq_len chunks in order, then wraps (flagged) to the start; position()/restore()
    resume at the same chunk and epoch."""
    sl = (n - 1) // batch
    if sl < seq_len:
        return
    ids = np.arange(n) * 7 % 1000                        # any ids; targets are the next id
    s = Streams(ids, batch, seq_len)
    per_epoch = sl // seq_len
    for k in range(stop + 1):
        x, y, wrapped = s.next_batch()
        epoch, j = divmod(k, per_epoch)
        assert wrapped == (j == 0 and k > 0), (k, per_epoch)
        want = np.stack([ids[b * sl + j * seq_len: b * sl + (j + 1) * seq_len] for b in range(batch)], 1)
        np.testing.assert_array_equal(x, want)
        np.testing.assert_array_equal(y, np.stack([ids[b * sl + j * seq_len + 1: b * sl + (j + 1) * seq_len + 1]
                                                   for b in range(batch)], 1))
        assert s.position()["epoch"] == epoch
    again = Streams(ids, batch, seq_len)
    again.restore(tg.load(_roundtrip(s.position())))
    assert again.position() == s.position()
    for _ in range(per_epoch + 1):
        a, b = s.next_batch(), again.next_batch()
        assert a[2] == b[2] and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert again.position() == s.position()


def _roundtrip(obj):
    """obj through tg.save and back into a file object for tg.load (no disk: fast under hypothesis)."""
    import io
    buf = io.BytesIO()
    tg.save(obj, buf)
    buf.seek(0)
    return buf


def _same(a, b):
    assert type(a) is type(b) or (isinstance(a, np.generic) and type(b) in (int, float, bool)), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


LEAVES = (st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True) | st.text(max_size=5)
          | st.builds(lambda s, d: np.arange(np.prod(s), dtype=d).reshape(s),
                      st.lists(st.integers(0, 3), max_size=3).map(tuple),
                      st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.bool_, np.uint8])))
NESTED = st.recursive(LEAVES, lambda kids: st.lists(kids, max_size=3) | st.lists(kids, max_size=3).map(tuple)
                      | st.dictionaries(st.text(max_size=4), kids, max_size=3), max_leaves=12)


@settings(max_examples=examples(20))
@given(NESTED)
def test_save_load_round_trips_nested_structures_with_their_types(obj):
    """Lists stay lists, tuples tuples, dicts keep their order, arrays their dtype and shape, inf/nan floats."""
    back = tg.load(_roundtrip({"state": obj, "t": (obj, [obj])}))
    _same({"state": obj, "t": (obj, [obj])}, back)
