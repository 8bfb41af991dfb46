"""The adding problem: the task lessons 5 and 6 train on, its data, models and training loop, written once.

    from tinygrad_seq import tasks
    task = tasks.AddingTask.lesson(quick=False)     # T = 40, hidden 32, 1500 Adam steps of 32 sequences
    run = tasks.train_adding("LSTM", task)          # an AddingRun: losses, ms per step, test MSE, the model
    run.mse, run.baseline, run.accuracy

Each input step carries two numbers: a random value in [0, 1] and a marker, 1 at exactly two steps
(one in each half of the sequence) and 0 elsewhere.  The target, read off the last hidden state, is the
sum of the two marked values (Hochreiter & Schmidhuber 1997).  A model that ignores its input can do no
better than the mean of the targets; its MSE, the variance of the targets, is the baseline.

Lesson 5 trains the LSTM (and an RNN) here and records the LSTM's run (``AddingRun.record``); lesson 6
reuses that record when its settings (``AddingTask.settings``, which include a fingerprint of this
file) are the same, and otherwise calls ``train_adding`` itself: the same numbers either way.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, optim
from .nn import functional as F
from .progress import Progress
from .tensor import Tensor, manual_seed, no_grad

__all__ = ["AddingTask", "AddingRun", "adding_batch", "make_adding_model", "predict", "train_adding", "fingerprint"]

KINDS = ("RNN", "LSTM", "GRU")


@dataclass(frozen=True)
class AddingTask:
    """The adding problem's sizes and training settings.

    ``T`` steps per sequence, ``hidden`` units, ``steps`` Adam steps (learning rate ``lr``, gradients
    clipped at norm ``clip``) on batches of ``batch`` sequences drawn from ``numpy.random.default_rng(seed)``;
    the models are initialised after ``manual_seed(seed)``; ``n_test`` test sequences from ``test_seed``.
    """
    T: int = 40
    hidden: int = 32
    steps: int = 1500
    batch: int = 32
    lr: float = 0.01
    clip: float = 1.0
    seed: int = 0
    n_test: int = 1000
    test_seed: int = 1234

    @classmethod
    def lesson(cls, quick: bool) -> "AddingTask":
        """Lessons 5 and 6's settings: ``T = 40``, 32 units, 1500 steps; in quick mode 10, 16 and 120."""
        return cls(T=10, hidden=16, steps=120) if quick else cls()

    def settings(self) -> dict[str, Any]:
        """The settings as a plain dict, with ``code``: a fingerprint of this file (a changed loop is another run)."""
        return {**asdict(self), "code": fingerprint()}

    def test_set(self) -> tuple[Tensor, Tensor]:
        """The ``n_test`` test sequences and their targets, the same every call."""
        return adding_batch(np.random.default_rng(self.test_seed), self.T, self.n_test)


def fingerprint() -> str:
    """The first 12 hex digits of the SHA-256 of this file's source."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def adding_batch(gen: np.random.Generator, T: int, B: int) -> tuple[Tensor, Tensor]:
    """``B`` sequences of the adding problem, inputs ``(T, B, 2)`` (value, marker) and targets ``(B, 1)``, float32."""
    values = gen.uniform(0, 1, (T, B))
    marks = np.zeros((T, B))
    marks[gen.integers(0, T // 2, B), np.arange(B)] = 1            # one mark in the first half
    marks[gen.integers(T // 2, T, B), np.arange(B)] = 1            # one in the second
    x = np.stack([values, marks], axis=-1)
    y = (values * marks).sum(axis=0)[:, None]
    return Tensor(x.astype(np.float32)), Tensor(y.astype(np.float32))


def make_adding_model(kind: str, hidden: int, seed: int = 0) -> tuple[nn.Module, nn.Linear]:
    """``(net, head)``: an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` with 2 inputs and a ``Linear(hidden, 1)`` head.

    The LSTM's forget-gate bias starts raised by 1 (the usual initialisation; lesson 4 measured why).
    """
    if kind not in KINDS:
        raise ValueError(f"make_adding_model: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    manual_seed(seed)
    net = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind](2, hidden)
    if kind == "LSTM":
        state = net.state_dict()
        bias = state["bias_ih_l0"].clone()
        bias[hidden:2 * hidden] += 1.0            # gate order i, f, g, o: f is the second block
        state["bias_ih_l0"] = bias
        net.load_state_dict(state)
    return net, nn.Linear(hidden, 1)


def predict(net: nn.Module, head: nn.Linear, x: Tensor) -> Tensor:
    """The head applied to the network's last output: ``(B, 1)``."""
    out, _ = net(x)
    return head(out[-1])


@dataclass
class AddingRun:
    """One training run: its settings, the loss at every step, the median milliseconds of a training step
    (forward, backward, clip and update; not the batch's drawing), the whole run's seconds, the test MSE,
    the predict-the-mean baseline MSE, the accuracy (share of test predictions within 0.1 of the target),
    and the trained ``net`` and ``head``."""
    kind: str
    task: AddingTask
    losses: list[float]
    ms: float
    seconds: float
    mse: float
    baseline: float
    accuracy: float
    net: Any = field(default=None, repr=False)
    head: Any = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """The run's numbers as a JSON-ready dict (no model)."""
        return {"kind": self.kind, "losses": list(self.losses), "ms": self.ms, "seconds": self.seconds,
                "mse": self.mse, "baseline": self.baseline, "accuracy": self.accuracy}


def train_adding(kind: str, task: AddingTask) -> AddingRun:
    """Train ``make_adding_model(kind, ...)`` on the adding problem with Adam and gradient clipping.

    The same ``task`` gives the same numbers (the models' initial weights and the batches are seeded),
    whatever ran before in the process; the progress is shown as it goes (``progress.Progress``).
    """
    net, head = make_adding_model(kind, task.hidden, task.seed)
    params = list(net.parameters()) + list(head.parameters())
    opt = optim.Adam(params, lr=task.lr)
    gen = np.random.default_rng(task.seed)
    losses, seconds = [], []
    begin = time.perf_counter()
    with Progress(task.steps, kind, log_every=max(1, task.steps // 4)) as bar:
        for _ in range(task.steps):
            x, y = adding_batch(gen, task.T, task.batch)
            start = time.perf_counter()
            loss = F.mse_loss(predict(net, head, x), y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, task.clip)
            opt.step()
            seconds.append(time.perf_counter() - start)
            losses.append(loss.item())
            bar.update(loss=losses[-1])
    total = time.perf_counter() - begin
    x_test, y_test = task.test_set()
    with no_grad():
        err = predict(net, head, x_test).numpy() - y_test.numpy()
    target = y_test.numpy()
    return AddingRun(kind=kind, task=task, losses=losses, ms=1000 * float(np.median(seconds)), seconds=total,
                     mse=float((err ** 2).mean()), baseline=float(((target - target.mean()) ** 2).mean()),
                     accuracy=float((np.abs(err) < 0.1).mean()), net=net, head=head)
