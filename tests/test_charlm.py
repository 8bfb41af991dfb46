"""The main job end to end: ``python -m tinygrad_seq train / sample / eval`` on a tiny corpus and model.

Every command runs through the real entry point in a subprocess (with PYTHONPATH set to the
repository, so it works uninstalled); a few library-level checks run in-process.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq.data import CharVocab, DataError, Streams, load_text, min_text_length, split_text
from tinygrad_seq.train import CharLM, TrainConfig, evaluate, load_checkpoint, sample, train

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--hidden", "16", "--layers", "2", "--batch", "4", "--seq-len", "16", "--dropout", "0.2",
        "--eval-every", "5", "--sample-every", "5"]


def run(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tinygrad_seq", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=kw.get("cwd"))


def tiny_text() -> str:
    text, _ = load_text(None)
    return text[:6000]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(tiny_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("run")
    r = run("train", "--data", str(corpus), *TINY, "--steps", "30", "--lr", "0.01", "--out", str(out))
    return out, r


# ---------------------------------------------------------------------------
# training, resuming, sampling, evaluating
# ---------------------------------------------------------------------------

def test_train_runs_the_loss_falls_and_logs_are_plain(trained):
    out, r = trained
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\r" not in r.stdout          # not a terminal: no control characters
    assert "best validation:" in r.stdout and "bits per character" in r.stdout
    assert "sample at step 5" in r.stdout and str(out) in r.stdout
    ckpt = tg.load(out / "last.npz")
    losses = ckpt["history"]["train_loss"]
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    assert (out / "best.npz").exists()
    best = load_checkpoint(str(out / "best.npz"))
    assert best.state["best_step"] == best.step and best.state["best_bpc"] == min(ckpt["history"]["val_bpc"])


def test_resume_continues_bit_for_bit(corpus, tmp_path):
    """5 steps, stop, resume for 5 more == 10 steps in one run: same losses, same weights (dropout on)."""
    a, b = tmp_path / "a", tmp_path / "b"
    r = run("train", "--data", str(corpus), *TINY, "--eval-every", "3", "--steps", "10", "--out", str(a))
    assert r.returncode == 0, r.stderr
    r = run("train", "--data", str(corpus), *TINY, "--eval-every", "3", "--steps", "5", "--out", str(b))
    assert r.returncode == 0, r.stderr
    r = run("train", "--resume", str(b / "last.npz"), "--steps", "10")
    assert r.returncode == 0, r.stderr
    assert "resuming from" in r.stdout
    one, two = tg.load(a / "last.npz"), tg.load(b / "last.npz")
    assert one["step"] == two["step"] == 10
    assert one["history"]["train_loss"] == two["history"]["train_loss"]
    for k, v in one["model"].items():
        assert np.array_equal(v, two["model"][k]), k
    for k, v in one["optimizer"]["state"].items():
        for name, x in v.items():
            assert np.array_equal(x, two["optimizer"]["state"][k][name])
    assert one["rng"] == two["rng"] and one["position"] == two["position"]


def test_sample_streams_text_and_eval_reports_bpc(trained):
    out, _ = trained
    r = run("sample", str(out / "last.npz"), "--prompt", "The ", "--length", "80", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("The ") and len(r.stdout) == len("The ") + 80 + 1
    again = run("sample", str(out / "last.npz"), "--prompt", "The ", "--length", "80", "--seed", "1", "--top-k", "3")
    assert again.returncode == 0 and again.stdout.startswith("The ")
    r = run("eval", str(out / "best.npz"))
    assert r.returncode == 0, r.stderr
    bpc = float(r.stdout.split()[0])
    assert abs(bpc - tg.load(out / "best.npz")["best_bpc"]) < 1e-4


def test_sampling_memory_does_not_grow_with_length():
    tg.manual_seed(0)
    vocab = CharVocab.from_text("abcdefgh \n")
    model = CharLM(len(vocab), 16, 2, "lstm", 0.2)

    def peak(n: int) -> int:
        gen = sample(model, vocab, "ab", n, 1.0, None, np.random.default_rng(0))
        next(gen)
        tracemalloc.start()
        for _ in gen:
            pass
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p
    peak(1500)          # fill CPython's free lists first: memory they keep is reuse, not growth
    short, long = peak(150), peak(1500)
    assert long < 1.5 * short + 20_000, (short, long)


def test_sampling_end_to_end_memory_is_flat(trained):
    """The real command's peak resident memory barely moves between 300 and 3000 characters."""
    out, _ = trained
    code = ("import resource, sys\n"
            "from tinygrad_seq import cli\n"
            "rc = cli.main(sys.argv[1:])\n"
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    rss = []
    for n in (300, 3000):
        r = subprocess.run([sys.executable, "-c", code, "sample", str(out / "last.npz"), "--length", str(n),
                            "--seed", "0"], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        rss.append(int(r.stderr.split("RSS")[1].split()[0]))
    assert rss[1] < rss[0] * 1.1 + 4096, rss          # KB


def test_library_pieces():
    text = tiny_text()
    train_text, val_text = split_text(text)
    assert train_text + val_text == text and len(val_text) == 300
    vocab = CharVocab.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    assert CharVocab.from_array(vocab.to_array()) == vocab
    s = Streams(vocab.encode(train_text), batch=4, seq_len=16)
    x, y, wrapped = s.next_batch()
    assert x.shape == (16, 4) and not wrapped and (x[1:] == y[:-1]).all()
    x2, _, _ = s.next_batch()
    assert (x2[0] == y[-1]).all()                      # each stream continues where it stopped
    pos = s.position()
    x3 = s.next_batch()[0]
    s.restore(pos)
    assert (s.next_batch()[0] == x3).all()
    with pytest.raises(DataError, match="needs at least"):
        Streams(np.arange(10), 4, 16)
    assert len(split_text("x" * min_text_length(4, 16))[0]) >= 4 * 16 + 1
    tg.manual_seed(0)
    model = CharLM(len(vocab), 8, 1, "gru")
    ids = vocab.encode(val_text)
    assert abs(evaluate(model, ids, batch=1) - evaluate(model, ids, batch=8, warmup=8)) < 0.05


def test_train_in_process_returns_a_result(tmp_path):
    cfg = TrainConfig(model="rnn", hidden=8, layers=1, batch=2, seq_len=8, steps=4, minutes=None, eval_every=2,
                      sample_every=100, out=str(tmp_path), dropout=0.0)
    res = train(cfg, text=tiny_text()[:2000], handle_sigint=False)
    assert res.step == 4 and len(res.train_bpc) == 4 and res.val_steps == [2, 4]
    assert os.path.exists(res.last_path) and res.best_step in (2, 4)


@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_training_replays_its_steps_with_eager_numbers(tmp_path, monkeypatch, model):
    """``train`` runs each step's forward and backward in ``tg.jit``, dropout (between layers and before the head)
    included: the same losses, validation scores, weights, optimizer state and generator state as ``replay=False``,
    bit for bit, through a wrap of the streams (a fresh state: another key) and an evaluation; and it did replay."""
    from tinygrad_seq import train as train_module
    made, original = [], train_module.jitted_forward_backward
    monkeypatch.setattr(train_module, "jitted_forward_backward", lambda m: made.append(original(m)) or made[-1])
    runs = []
    for replay in (False, True):
        cfg = TrainConfig(model=model, hidden=8, layers=2, batch=2, seq_len=8, steps=14, minutes=None, eval_every=5,
                          sample_every=100, out=str(tmp_path), dropout=0.3)
        res = train(cfg, text=tiny_text()[:700], handle_sigint=False, replay=replay, overwrite=True)
        ckpt = np.load(res.last_path, allow_pickle=False)
        arrays = {k: ckpt[k].tobytes() for k in ckpt.files}         # the structure holds the seconds elapsed
        arrays["__structure__"] = re.sub(rb'"elapsed", [0-9.e+-]+', b"", arrays["__structure__"])
        runs.append((res.train_bpc, res.val_bpc, arrays, tg.rand(2).numpy().tobytes()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert runs[0][2].keys() == runs[1][2].keys() and runs[0][2] == runs[1][2]
    assert runs[0][3] == runs[1][3]
    assert len(made) == 1 and made[0].replays >= 8 and not made[0].reasons, (made[0].replays, made[0].reasons)


# ---------------------------------------------------------------------------
# bad input: one line, exit code 2, no traceback, nothing lost
# ---------------------------------------------------------------------------

def assert_one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    err = r.stderr.strip()
    assert "Traceback" not in err and "\n" not in err, err
    assert err.startswith("tinygrad-seq: error: "), err
    for n in needles:
        assert n in err, (n, err)


def test_bad_text_files(tmp_path):
    assert_one_line_error(run("train", "--data", str(tmp_path / "nope.txt")), "no such file")
    assert_one_line_error(run("train", "--data", str(tmp_path)), "is a directory")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_one_line_error(run("train", "--data", str(empty)), "empty")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"hello\nw\xf6rld\n" * 500)
    assert_one_line_error(run("train", "--data", str(bad)), "not UTF-8", "offset 7", "line 2, column 2")
    short = tmp_path / "short.txt"
    short.write_text("abc " * 10)
    assert_one_line_error(run("train", "--data", str(short), "--batch", "4", "--seq-len", "16"),
                          "too short", "40 characters", f"at least {min_text_length(4, 16)}")


@pytest.mark.parametrize("flags, needle", [
    (["--hidden", "0"], "--hidden 0"), (["--lr", "-1"], "--lr -1"), (["--seq-len", "0"], "--seq-len 0"),
    (["--layers", "0"], "--layers 0"), (["--dropout", "1.5"], "--dropout 1.5"), (["--batch", "x"], "invalid int"),
    (["--model", "transformer"], "invalid choice"), (["--steps", "0"], "--steps 0"),
])
def test_nonsensical_train_flags(flags, needle):
    assert_one_line_error(run("train", *flags), needle)


def test_bad_checkpoints_and_prompts(trained, tmp_path, corpus):
    out, _ = trained
    good = out / "last.npz"
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    assert_one_line_error(run("sample", str(truncated)), "truncated or corrupted")
    corrupted = tmp_path / "corrupted.npz"
    corrupted.write_bytes(raw[:200] + bytes(b ^ 0x5A for b in raw[200:400]) + raw[400:])
    assert_one_line_error(run("eval", str(corrupted)), str(corrupted))
    other = tmp_path / "other.npz"
    tg.save({"lstm": {"weight": np.zeros((2, 2))}}, other)
    assert_one_line_error(run("sample", str(other)), "not a character-LM checkpoint")
    assert_one_line_error(run("eval", str(tmp_path / "missing.npz")), "no such checkpoint")
    # a checkpoint whose weights do not fit its declared model type
    state = tg.load(good)
    state["config"]["model"] = "gru"
    wrong = tmp_path / "wrongtype.npz"
    tg.save(state, wrong)
    assert_one_line_error(run("sample", str(wrong)), "do not fit a gru model")
    assert_one_line_error(run("train", "--resume", str(good), "--model", "gru"), "lstm model")
    # another vocabulary
    other_text = tmp_path / "other.txt"
    other_text.write_text("ΑΒΓΔ αβγδ " * 400, encoding="utf-8")
    assert_one_line_error(run("train", "--resume", str(good), "--data", str(other_text)), "vocabulary")
    assert_one_line_error(run("eval", str(good), "--data", str(other_text)), "not in the checkpoint's vocabulary",
                          "'Α' (U+0391)")
    assert_one_line_error(run("sample", str(good), "--prompt", "hello ΩЖ"), "'Ω' (U+03A9)", "'Ж' (U+0416)")
    assert_one_line_error(run("sample", str(good), "--temperature", "0"), "--temperature 0")
    assert good.read_bytes() == raw                      # nothing was overwritten by the failed runs


def test_unwritable_out_and_good_checkpoints_survive(trained, corpus, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_one_line_error(run("train", "--data", str(corpus), *TINY, "--steps", "2", "--out", str(a_file / "sub")),
                          "cannot write")
    out, _ = trained
    raw = (out / "last.npz").read_bytes()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert_one_line_error(run("train", "--data", str(empty), "--out", str(out)), "empty")
    assert (out / "last.npz").read_bytes() == raw


def test_help_shows_defaults_and_version():
    for cmd in ([], ["train"], ["sample"], ["eval"], ["check"], ["bench"]):
        r = run(*cmd, "--help")
        assert r.returncode == 0 and "usage:" in r.stdout, cmd
    r = run("train", "--help")
    assert "(default: 256)" in r.stdout and "(default: lstm)" in r.stdout and "pydoc_data" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("tinygrad-seq ")


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_or_sigterm_saves_a_loadable_checkpoint_and_says_how_to_resume(corpus, tmp_path, sig, code):
    """Ctrl-C and ``kill``/``timeout`` (SIGTERM) both stop between steps, save last.npz and print the resume line."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_seq", "train", "--data", str(corpus), *TINY,
                          "--eval-every", "1000", "--steps", "100000", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        lines = []
        while time.time() < deadline:
            line = p.stdout.readline()
            lines.append(line)
            if line.startswith("train: step"):
                break
        else:
            pytest.fail("no progress line: " + "".join(lines))
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    stdout = "".join(lines) + stdout
    assert p.returncode == code, (p.returncode, stderr)
    assert "Traceback" not in stderr
    assert f"resume with: tinygrad-seq train --resume {out / 'last.npz'}" in stdout
    ckpt = load_checkpoint(str(out / "last.npz"))
    assert ckpt.step >= 1
    r = run("train", "--resume", str(out / "last.npz"), "--steps", str(ckpt.step + 2))
    assert r.returncode == 0, r.stderr
    assert tg.load(out / "last.npz")["step"] == ckpt.step + 2


def test_missing_default_corpus_says_so_and_suggests_data(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydoc_data.topics", None)       # as if the module were not there
    with pytest.raises(DataError, match="no pydoc_data.topics.*--data") as e:
        load_text(None)
    assert "\n" not in str(e.value)


def test_terminal_output_has_the_live_bar_and_sample_panels(corpus, tmp_path):
    """Under a pseudo-terminal the rich display runs (bar, panels) and the run still ends cleanly."""
    import pty
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "TERM": "xterm", "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "tinygrad_seq", "train", "--data", str(corpus), *TINY, "--steps", "10",
           "--out", str(tmp_path / "run")]
    out = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        out.extend(data)
        return data
    old_env = os.environ.copy()
    os.environ.update(env)
    try:
        status = pty.spawn(cmd, read)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    text = out.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "\x1b[" in text                                   # a live, coloured display
    assert "sample at step 5" in text and "best validation:" in text
    assert load_checkpoint(str(tmp_path / "run" / "last.npz")).step == 10
