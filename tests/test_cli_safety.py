"""Nothing lost, nothing hangs, every bad input is one line (issue 18), through the real entry point.

``python -m tinygrad_seq`` runs in a subprocess (PYTHONPATH = this repository); the classes of bad
files run in-process through ``cli.main`` too, which is what the console script calls.
"""
from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import cli, train as T
from tinygrad_seq.data import load_text, min_text_length, split_text

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--hidden", "8", "--batch", "2", "--seq-len", "8", "--dropout", "0", "--sample-every", "1000"]


def run(*args: str, cwd=None, umask: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tinygrad_seq", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-1500:])
    err = r.stderr.strip()
    assert "Traceback" not in err and "\n" not in err and err.startswith("tinygrad-seq: error: "), err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(load_text(None)[0][:3000], encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# a good checkpoint is never lost
# ---------------------------------------------------------------------------

def main(*argv: str) -> int:
    """``cli.main`` in this process: the console script's own function, without a process start."""
    return cli.main(list(argv))


def test_a_second_run_never_replaces_another_runs_checkpoints(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    old = os.umask(0o022)
    try:
        assert main("train", "--data", str(corpus), *TINY, "--steps", "4", "--eval-every", "2", "--out", str(out)) == 0
    finally:
        os.umask(old)
    for name in ("best.npz", "last.npz"):                        # the umask's permissions, not mkstemp's 0600
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    saved = {n: (out / n).read_bytes() for n in ("best.npz", "last.npz")}
    best = tg.load(out / "best.npz")
    # another run, other settings, same folder: refused, the folder's score and the two ways on
    err = one_line_error(run("train", "--data", str(corpus), *TINY, "--hidden", "12", "--steps", "2", "--out", str(out)),
                         f"best {best['best_bpc']:.3f} bpc at step {best['best_step']}",
                         f"--resume {out / 'last.npz'}", "--overwrite")
    assert "last at step 4" in err
    # resuming some other run into this folder is refused the same way
    other = tmp_path / "other"
    assert main("train", "--data", str(corpus), *TINY, "--steps", "2", "--out", str(other)) == 0
    capsys.readouterr()
    assert main("train", "--resume", str(other / "last.npz"), "--steps", "3", "--out", str(out)) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert {n: (out / n).read_bytes() for n in saved} == saved   # byte for byte
    # a kill during a save left a temporary file: the next run into the folder (a resume) removes it
    (out / ".tmp-killed.npz").write_bytes(b"half a checkpoint")
    assert main("train", "--resume", str(out / "last.npz"), "--steps", "6") == 0
    assert not list(out.glob(".tmp-*"))
    last = tg.load(out / "last.npz")
    assert last["step"] == 6
    best_now = tg.load(out / "best.npz")
    assert best_now["best_bpc"] == min(last["history"]["val_bpc"])   # best.npz is the best of the whole run
    if best_now["best_bpc"] >= best["best_bpc"]:
        assert (out / "best.npz").read_bytes() == saved["best.npz"]
    # --overwrite starts over on purpose: the old checkpoints go, the new run's come
    assert main("train", "--data", str(corpus), *TINY, "--steps", "2", "--eval-every", "2", "--out", str(out),
                "--overwrite") == 0
    assert tg.load(out / "last.npz")["step"] == tg.load(out / "best.npz")["step"] == 2


def test_within_a_run_best_is_replaced_only_by_a_better_score(monkeypatch, tmp_path):
    scores = iter([3.0, 2.0, 2.5, 2.0, 1.5, 1.75])
    monkeypatch.setattr(T, "evaluate", lambda model, ids: next(scores))
    saves = []
    real = T.save_checkpoint
    monkeypatch.setattr(T, "save_checkpoint", lambda path, state: (saves.append((os.path.basename(path),
                                                                                 state["step"])),
                                                                   real(path, state)))
    cfg = T.TrainConfig(model="rnn", hidden=4, batch=2, seq_len=4, steps=6, minutes=None, eval_every=1,
                        sample_every=100, out=str(tmp_path / "r"), dropout=0.0)
    res = T.train(cfg, text=load_text(None)[0][:400], handle_sigint=False)
    assert [s for n, s in saves if n == "best.npz"] == [1, 2, 5]          # 3.0, 2.0, (2.5, 2.0 tie), 1.5
    assert res.best_bpc == 1.5 and res.best_step == 5 and tg.load(res.best_path)["step"] == 5


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_saves_get_the_umask_permissions(tmp_path, mask):
    old = os.umask(mask)
    try:
        tg.save({"a": np.zeros(2)}, tmp_path / "x.npz")
        T.save_checkpoint(str(tmp_path / "y.npz"), {"a": 1})
    finally:
        os.umask(old)
    for name in ("x.npz", "y.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask


# ---------------------------------------------------------------------------
# nothing hangs: every size check answers at once
# ---------------------------------------------------------------------------

@given(st.integers(1, 60), st.integers(1, 60), st.sampled_from([0.05, 0.1, 0.2, 0.5]))
def test_min_text_length_is_the_smallest_text_that_fills_a_batch(batch, seq_len, frac):
    n = min_text_length(batch, seq_len, frac)
    need = batch * seq_len + 1
    assert len(split_text("x" * n, frac)[0]) >= need                    # enough ...
    assert n == need + 2 or len(split_text("x" * (n - 1), frac)[0]) < need   # ... and one less is not


def test_huge_sizes_answer_in_constant_time():
    start = time.perf_counter()
    for b, t in [(100_000, 64), (32, 1_000_000), (10 ** 9, 10 ** 9), (512, 512)]:
        n = min_text_length(b, t)
        assert n - round(n * 0.05) >= b * t + 1
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize("flags", [["--batch", "100000"], ["--seq-len", "1000000"]])
def test_oversized_batches_are_refused_at_once(corpus, tmp_path, flags):
    start = time.perf_counter()
    one_line_error(run("train", "--data", str(corpus), *flags, "--steps", "1", "--out", str(tmp_path / "o")),
                   "too short", "needs at least")
    assert time.perf_counter() - start < 10          # a process start; it used to run until killed
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------
# one line for every bad input, before anything is created
# ---------------------------------------------------------------------------

def test_a_negative_seed_is_one_line_and_creates_no_run_folder(tmp_path):
    one_line_error(run("train", "--seed", "-1", cwd=tmp_path), "--seed -1")
    assert list(tmp_path.iterdir()) == []                               # no runs/<time>/


@pytest.mark.parametrize("flags, needle", [
    (["--seed", "-1"], "--seed -1"),
    (["--seed", "-5", "--steps", "3"], "--seed -5"),
    (["--hidden", "0"], "--hidden 0"),
    (["--data", "missing.txt"], "no such file"),
    (["--resume", "missing.npz"], "no such checkpoint"),
    (["--batch", "100000", "--steps", "1"], "too short"),
], ids=["seed-1", "seed-5", "hidden0", "missing-data", "missing-resume", "batch-too-big"])
def test_bad_train_arguments_create_no_run_folder(tmp_path, monkeypatch, capsys, flags, needle):
    monkeypatch.chdir(tmp_path)
    for out in ([], ["--out", "named"]):
        assert main("train", *flags, *out) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err, err
    assert list(tmp_path.iterdir()) == []                               # neither runs/<time>/ nor named/


def test_sample_with_a_negative_seed_is_one_line(corpus, tmp_path):
    T.train(T.TrainConfig(model="rnn", hidden=4, batch=2, seq_len=4, steps=1, minutes=None, out=str(tmp_path),
                          dropout=0.0), text=corpus.read_text(), handle_sigint=False)
    one_line_error(run("sample", str(tmp_path / "last.npz"), "--seed", "-1"), "--seed -1")


@pytest.mark.parametrize("target", ["/proc/x.json", "{file}/x.json", "/proc/self/x/y.json"])
def test_bench_json_that_cannot_be_written_is_refused_before_running(tmp_path, capsys, target):
    (tmp_path / "file").write_text("a file, not a folder")
    path = target.replace("{file}", str(tmp_path / "file"))
    start = time.perf_counter()
    assert cli.main(["bench", "--configs", "large", "--json", path]) == 2
    assert time.perf_counter() - start < 2                              # the benchmark never started
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--json" in err and path.split("/")[1] in err


def test_bench_json_check_leaves_an_existing_file_alone(tmp_path, capsys, monkeypatch):
    from tinygrad_seq import bench
    path = tmp_path / "old.json"
    path.write_text("[1]")
    monkeypatch.setattr(bench, "main", lambda *a: (path.read_text() == "[1]") or 5)
    assert cli.main(["bench", "--configs", "small", "--json", str(path)]) == 1  # main saw the old content
    fresh = tmp_path / "new.json"
    monkeypatch.setattr(bench, "main", lambda *a: 0 if not fresh.exists() else 5)
    assert cli.main(["bench", "--configs", "small", "--json", str(fresh)]) == 0  # the probe left nothing


def _not_checkpoints(tmp_path: Path) -> list[Path]:
    files = {"notes.txt": b"some notes\n", "empty.npz": b"", "random.bin": bytes(range(256)) * 4,
             "pickled.npz": pickle.dumps({"model": [1, 2, 3]}), "array.npy": b""}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    np.save(tmp_path / "array.npy", np.arange(3))
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "a zip that is not an npz")
    np.savez(tmp_path / "plain.npz", x=np.arange(3))
    return sorted(tmp_path.iterdir())


def test_files_that_are_not_checkpoints_say_so_and_never_suggest_unpickling(tmp_path, capsys):
    for path in _not_checkpoints(tmp_path):
        for argv in (["sample", str(path)], ["eval", str(path)], ["train", "--resume", str(path)]):
            assert cli.main(argv) == 2, argv
            err = capsys.readouterr().err.strip()
            assert "\n" not in err and str(path) in err, err
            assert "not a tinygrad_seq checkpoint" in err or "not a readable checkpoint" in err, err
            assert "pickle=" not in err and "allow_pickle" not in err, err


def test_a_text_file_as_a_checkpoint_through_the_command(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n")
    err = one_line_error(run("sample", str(notes), cwd=tmp_path), "not a tinygrad_seq checkpoint")
    assert "pickle" not in err


def test_a_closed_output_pipe_does_not_abandon_the_run(tmp_path):
    """``train | head``: the reader goes away after a line; the run still trains to its end, saves both
    checkpoints and exits 0 without a traceback (it used to stop at once, exit 0 and save nothing)."""
    text = tmp_path / "t.txt"
    text.write_text(load_text(None)[0][:4000], encoding="utf-8")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_seq", "train", "--data", str(text), "--hidden", "8",
                          "--batch", "2", "--seq-len", "8", "--steps", "30", "--eval-every", "10",
                          "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.readline()
    p.stdout.close()                                    # as `head -1` does
    stderr = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert tg.load(out / "last.npz")["step"] == 30 and (out / "best.npz").exists()
