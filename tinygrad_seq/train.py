"""A character-level language model: the model, its training loop, evaluation, sampling, checkpoints.

    from tinygrad_seq.train import TrainConfig, ConsoleReporter, train, load_checkpoint, sample, evaluate
    config = TrainConfig(steps=300, minutes=None, hidden=128, out="runs/demo")
    result = train(config, ConsoleReporter())          # live bar, samples, summary; returns a TrainResult
    ckpt = load_checkpoint("runs/demo/best.npz")
    for ch in sample(ckpt.model, ckpt.vocab, prompt="def ", length=200, temperature=0.8):
        print(ch, end="", flush=True)
    evaluate(ckpt.model, ckpt.vocab.encode(some_text))                      # bits per character

Training is truncated backpropagation through time done properly: the training text is laid out
as ``batch`` parallel streams (``data.Streams``), each step reads the next ``seq_len`` characters of
every stream, and the recurrent state carries over from one chunk to the next, detached in between.
The last 5 % of the text is held out for validation and never trained on.

Checkpoints (``last.npz`` every ``eval_every`` steps and at the end, ``best.npz`` at the best
validation bpc) hold the model, the optimizer, the vocabulary, the config, the random generator's
state, the data position and the carried state, so a resumed run continues bit for bit as if it had
never stopped.  Every user-facing problem raises ``ConfigError``, ``data.DataError`` or
``CheckpointError`` with one clear line, before anything is created on disk.

``train`` reads as its pieces, each a function of its own: ``restore_checkpoint`` (and the checks
that the text and the limit fit it), ``training_text``, ``prepare_out`` (never into another run's
folder), ``build_model_and_optimizer``, then a loop of ``training_step`` (``zero_grad``, forward, loss,
``backward``, clip, ``step``; the forward and backward replayed by ``tg.jit``) with ``evaluate_and_save``
every ``eval_every`` steps.
What it reports goes to a ``Reporter`` (``progress.py``: ``ConsoleReporter`` is the command line's).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import nn, optim
from .data import CharVocab, DataError, Streams, load_text, min_text_length, split_text
from .data.corpus import describe_chars
from . import blas
from .blas import package_threads, set_blas_threads
from .jit import jit
from .progress import ConsoleReporter, Reporter, plural
from .serialization import TMP_PREFIX, CheckpointError, load, save
from ._state import State, manual_seed
from .tensor import Tensor, get_default_dtype, no_grad, set_default_dtype

__all__ = ["TrainConfig", "ConfigError", "CheckpointError", "DataError", "CharLM", "Checkpoint", "TrainResult",
           "train", "evaluate", "evaluate_checkpoint", "resume_config", "sample", "save_checkpoint", "load_checkpoint", "Reporter", "ConsoleReporter",
           "MODELS", "OPTIMIZERS", "DEFAULT_LR", "training_step", "build_model_and_optimizer", "restore_checkpoint",
           "evaluate_and_save", "training_text", "prepare_out", "check_out", "set_blas_threads"]

KIND = "tinygrad_seq-charlm"
MODELS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
OPTIMIZERS = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad}
DEFAULT_LR = {"adam": 5e-3, "adamw": 5e-3, "sgd": 1.0, "rmsprop": 2e-3, "adagrad": 0.05}
SCHEDULES = ("cosine", "constant")
LN2 = math.log(2)


class ConfigError(ValueError):
    """A nonsensical setting (``hidden=0``, ``lr=-1``, ...); the message is one line."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (the CLI's flags, one for one).

    ``steps`` and ``minutes`` are totals over the run and its resumptions: training stops at
    whichever comes first (give at least one).  ``lr=None`` picks the optimizer's ``DEFAULT_LR``.
    ``out=None`` writes to ``runs/<YYYYmmdd-HHMMSS>/``.
    """
    data: str | None = None
    model: str = "lstm"
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.1
    seq_len: int = 64
    batch: int = 32
    lr: float | None = None
    optimizer: str = "adam"
    clip: float = 1.0
    schedule: str = "cosine"
    steps: int | None = None
    minutes: float | None = 4.5
    eval_every: int = 200
    sample_every: int = 200
    out: str | None = None
    seed: int = 0
    dtype: str = "float32"

    def validate(self) -> "TrainConfig":
        """Raise ``ConfigError`` for the first nonsensical value; returns self."""
        def bad(flag: str, value: Any, why: str) -> ConfigError:
            return ConfigError(f"--{flag.replace('_', '-')} {value}: {why}")
        if self.model not in MODELS:
            raise bad("model", self.model, f"choose from {', '.join(MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", self.optimizer, f"choose from {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise bad("schedule", self.schedule, f"choose from {', '.join(SCHEDULES)}")
        if self.dtype not in ("float32", "float64"):
            raise bad("dtype", self.dtype, "choose float32 or float64")
        for name in ("hidden", "layers", "seq_len", "batch", "eval_every", "sample_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise bad(name, v, "must be a whole number of at least 1")
        if self.steps is not None and (not isinstance(self.steps, (int, np.integer)) or self.steps < 1):
            raise bad("steps", self.steps, "must be a whole number of at least 1")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise bad("minutes", self.minutes, "must be a positive number")
        if self.steps is None and self.minutes is None:
            raise ConfigError("give --steps or --minutes (or both): training needs a limit")
        if not (math.isfinite(self.dropout) and 0 <= self.dropout < 1):
            raise bad("dropout", self.dropout, "must be in [0, 1)")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise bad("lr", self.lr, "the learning rate must be a positive number")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise bad("seed", self.seed, "the random seed must be a whole number of at least 0")
        if not (math.isfinite(self.clip) and self.clip >= 0):
            raise bad("clip", self.clip, "must be a non-negative number (0 turns clipping off)")
        return self

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimizer's ``DEFAULT_LR`` when it is ``None``."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def cosine(self) -> bool:
        """Whether the learning rate really decays: the ``cosine`` schedule under a time limit."""
        return self.schedule == "cosine" and self.minutes is not None

    def lr_at(self, step: int, seconds: float) -> float:
        """The learning rate for the next step: constant, or (``cosine``, under a time limit) cosine
        from ``lr`` down to ``lr / 10`` over the ``minutes`` of training.

        The decay follows the time budget only, never ``steps``: a run of N steps resumed for N more
        must take the same steps as one run of 2N, so a step-limited run keeps ``lr`` constant.
        """
        lr = self.learning_rate
        if not self.cosine:
            return lr
        frac = min(max(seconds / (self.minutes * 60), 0.0), 1.0)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    def to_dict(self) -> dict:
        """The settings as a plain dict (stored in every checkpoint)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config from ``to_dict()``'s output (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------

class CharLM(nn.Module):
    """Embedding -> ``layers`` of LSTM/GRU/RNN (dropout between them and after) -> Linear over the vocabulary.

    ``model(x, state)`` takes time-major character indices ``x`` of shape ``(T, B)`` and the carried
    state (``None`` to start fresh) and returns logits ``(T, B, vocab_size)`` and the new state.
    """

    def __init__(self, vocab_size: int, hidden: int = 256, layers: int = 2, model: str = "lstm",
                 dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.hidden, self.layers, self.kind, self.p = vocab_size, hidden, layers, model, dropout
        self.embed = nn.Embedding(vocab_size, hidden)
        self.rnn = MODELS[model](hidden, hidden, num_layers=layers, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        """Logits ``(T, B, vocab_size)`` for characters ``x`` ``(T, B)``, and the new carried state."""
        h = self.embed(x)
        out, state = self.rnn(h, state)
        return self.head(self.drop(out)), state

    def extra_repr(self) -> str:
        """The settings shown in ``print(model)``."""
        return f"{self.kind}, vocab={self.vocab_size}, hidden={self.hidden}, layers={self.layers}, dropout={self.p}"


def detach_state(state: Any) -> Any:
    """The carried recurrent state cut from the graph (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _state_arrays(state: Any) -> list:
    if state is None:
        return []
    return [s.numpy().copy() for s in (state if isinstance(state, tuple) else (state,))]


def _state_from_arrays(arrays: Sequence[np.ndarray], kind: str, dtype: Any) -> Any:
    if not len(arrays):
        return None
    ts = [Tensor(np.asarray(a, dtype=dtype)) for a in arrays]
    return (ts[0], ts[1]) if kind == "lstm" else ts[0]


# ---------------------------------------------------------------------------
# evaluation and sampling
# ---------------------------------------------------------------------------

def evaluate(model: CharLM, ids: np.ndarray, batch: int = 64, warmup: int = 64, seq_len: int = 512) -> float:
    """Bits per character of ``model`` predicting each next id of ``ids`` (under ``no_grad``, eval mode).

    Every id after the first is predicted exactly once.  To keep it fast the text is cut into
    ``batch`` consecutive pieces run side by side; each piece is primed with the ``warmup`` characters
    before it (read, not scored), so no prediction starts from a cold state except at the very
    beginning of the text.
    """
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    n = len(ids) - 1                                    # predictions to make
    if n < 1:
        raise DataError(f"need at least 2 characters to evaluate, got {len(ids)}")
    batch = max(1, min(batch, n // max(1, warmup)))
    L = -(-n // batch)                                  # scored positions per piece
    W = warmup if batch > 1 else 0
    T = L + W
    t = np.arange(T)[:, None]
    b = np.arange(batch)[None, :]
    start = np.where(b == 0, 0, b * L - W)              # where each piece's input begins
    pos = start + t                                     # input index at (t, b); its target is pos + 1
    lo = np.where(b == 0, 0, W)                         # first scored t of each piece
    mask = (t >= lo) & (t < lo + L) & (pos + 1 <= n)
    x = ids[np.minimum(pos, n)]
    y = ids[np.minimum(pos + 1, n)]
    was_training = model.training
    model.eval()
    total, state = 0.0, None
    try:
        with no_grad():
            for s0 in range(0, T, seq_len):
                sl = slice(s0, s0 + seq_len)
                logits, state = model(x[sl], state)
                V = logits.shape[-1]
                nll = nn.functional.cross_entropy(logits.reshape(-1, V), y[sl].reshape(-1), reduction="none")
                total += float(np.sum(nll.numpy().reshape(mask[sl].shape)[mask[sl]], dtype=np.float64))
    finally:
        model.train(was_training)
    return total / int(mask.sum()) / LN2


def sample(model: CharLM, vocab: CharVocab, prompt: str = "", length: int = 500, temperature: float = 0.8,
           top_k: int | None = None, generator: np.random.Generator | None = None) -> Iterator[str]:
    """Generate ``length`` characters after ``prompt``, yielding each as soon as it is drawn.

    Runs under ``no_grad`` in eval mode, one step at a time with the carried state, so memory
    stays constant however long the text.  ``temperature`` divides the logits; ``top_k`` keeps only
    the k most likely characters.  An empty prompt starts from a newline (or the first character of
    the vocabulary).  Characters not in the vocabulary raise ``DataError`` naming them.
    """
    if not temperature > 0:
        raise ConfigError(f"--temperature {temperature}: must be a positive number")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k {top_k}: must be at least 1")
    if length < 0:
        raise ConfigError(f"--length {length}: must be at least 0")
    unknown = vocab.unknown(prompt)
    if unknown:
        raise DataError(f"the prompt has characters not in the model's vocabulary: {describe_chars(unknown)}")
    rng = generator if generator is not None else np.random.default_rng()
    start = prompt or ("\n" if "\n" in vocab else vocab.itos[0])
    ids = vocab.encode(start)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits, state = model(ids.reshape(-1, 1), None)
            last = logits.numpy()[-1, 0]
            for _ in range(length):
                z = last.astype(np.float64) / temperature
                if top_k is not None and top_k < len(z):
                    cut = np.partition(z, -top_k)[-top_k]
                    z = np.where(z >= cut, z, -np.inf)
                p = np.exp(z - z.max())
                p /= p.sum()
                i = int(rng.choice(len(p), p=p))
                yield vocab.itos[i]
                logits, state = model(np.array([[i]]), state)
                last = logits.numpy()[-1, 0]
    finally:
        model.train(was_training)


# ---------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------

@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its vocabulary and config, and the raw state."""
    path: str
    config: TrainConfig
    vocab: CharVocab
    model: CharLM
    state: dict

    @property
    def step(self) -> int:
        """The number of training steps the checkpoint has taken."""
        return int(self.state["step"])


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def save_checkpoint(path: str, state: dict) -> None:
    """Write a checkpoint atomically (a temporary file renamed over ``path``); errors name the path."""
    try:
        save(state, path)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write the checkpoint: {e.strerror or e}") from None


def load_checkpoint(path: str) -> Checkpoint:
    """Read and check a checkpoint written by ``train``; any problem raises one-line ``CheckpointError``."""
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    state = load(path)
    if not isinstance(state, dict) or state.get("kind") != KIND:
        raise CheckpointError(f"{path}: not a character-LM checkpoint of tinygrad-seq train "
                              "(another kind of model or file)")
    try:
        config = TrainConfig.from_dict(state["config"])
        config.validate()
        vocab = CharVocab.from_array(state["vocab"])
        weights = state["model"]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: incomplete or damaged checkpoint ({e})") from None
    prev = get_default_dtype()
    set_default_dtype(config.dtype)
    try:
        model = CharLM(len(vocab), config.hidden, config.layers, config.model, config.dropout)
    finally:
        set_default_dtype(prev)
    try:
        model.load_state_dict(weights)
    except KeyError as e:
        raise CheckpointError(f"{path}: the weights do not fit a {config.model} model of its config "
                              f"(vocabulary {len(vocab)}, hidden {config.hidden}, layers {config.layers}): "
                              f"{str(e).strip(chr(34) + chr(39))[:200]}") from None
    model.eval()
    return Checkpoint(path, config, vocab, model, state)


def evaluate_checkpoint(ckpt: Checkpoint, data: str | None = None) -> tuple[float, str, int]:
    """``(bpc, what, n)``: bits per character of a checkpoint on the text file ``data``, or (``None``)
    on the validation split of the text it was trained on; ``n`` characters predicted.

    Raises ``DataError`` for an unreadable text, characters outside the checkpoint's vocabulary
    (naming them), or a training text that has changed since.
    """
    if data is None:
        text, _ = load_text(ckpt.config.data)
        name = ckpt.config.data or "pydoc_data.topics"
        if ckpt.state.get("text_digest") != _text_digest(text):
            raise DataError(f"{name} is not the text {ckpt.path} was trained on (it changed?): give --data")
        what, text = f"the validation split of {name}", split_text(text)[1]
    else:
        text, _ = load_text(data)
        what = data
    unknown = ckpt.vocab.unknown(text)
    if unknown:
        raise DataError(f"{what} has characters not in the checkpoint's vocabulary: {describe_chars(unknown)}")
    if len(text) < 2:
        raise DataError(f"{what}: need at least 2 characters to evaluate")
    return evaluate(ckpt.model, ckpt.vocab.encode(text)), what, len(text) - 1


def resume_config(path: str, overrides: dict) -> TrainConfig:
    """The config to continue the run saved at ``path``: the checkpoint's own, with ``overrides``
    (the settings given again) on top; checkpoints stay in the checkpoint's folder unless ``out``
    is overridden.  Giving ``steps`` without ``minutes`` lifts the time limit."""
    ckpt = load_checkpoint(path)
    base = ckpt.config.to_dict()
    base["out"] = os.path.dirname(os.path.abspath(path))
    base.update(overrides)
    if "steps" in overrides and "minutes" not in overrides:
        base["minutes"] = None
    return TrainConfig.from_dict(base).validate()


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------

# ``Reporter`` (the interface) and ``ConsoleReporter`` (the command line's display) live beside the
# progress bar in ``progress.py``; they are imported here so ``from tinygrad_seq.train import ...`` works.


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------

@dataclass
class TrainResult:
    """What a run did: where things are, the history, the best and final validation bpc."""
    out: str
    step: int
    elapsed: float
    chars_per_s: float
    best_bpc: float
    best_step: int
    final_bpc: float
    interrupted: bool
    train_bpc: list = field(default_factory=list)      # per step
    val_steps: list = field(default_factory=list)
    val_bpc: list = field(default_factory=list)
    last_path: str = ""
    best_path: str = ""
    val_chars: int = 0
    signum: int = 0             # the signal that interrupted the run (SIGINT or SIGTERM), 0 if none

    def summary(self, width: int = 80) -> str:
        """A one-screen summary and the loss curve, as plain text ``width`` columns wide (at most)."""
        from .charts import line_chart
        from .progress import format_seconds, wrap_lines
        lines = ["", ("interrupted" if self.interrupted else "finished") +
                 f" at step {self.step} after {format_seconds(self.elapsed)} ({self.elapsed:.0f} s), "
                 f"{self.chars_per_s:,.0f} training chars/s"]
        if self.best_step >= 0:
            lines.append(f"best validation: {self.best_bpc:.3f} bits per character at step {self.best_step}")
        if math.isfinite(self.final_bpc):
            lines.append(f"final validation: {self.final_bpc:.3f} bits per character "
                         f"({self.val_chars:,} held-out characters)")
        lines.append(f"checkpoints: {self.last_path} (last)")
        if self.best_path:
            lines.append(f"             {self.best_path} (best)")
        if len(self.train_bpc) >= 2:
            n = len(self.train_bpc)
            cols = max(20, min(60, width - 8))      # the chart's plot area; its axis labels take 8 more
            k = max(1, n // cols)
            smooth = [float(np.mean(self.train_bpc[i:i + k])) for i in range(0, n, k)]
            xs = [min(i + k, n) for i in range(0, n, k)]
            vals = {"train": smooth}
            chart_x = xs
            if self.val_steps:
                # put validation points on the same x grid (nearest training point)
                v = [math.nan] * len(xs)
                for s, b in zip(self.val_steps, self.val_bpc):
                    j = min(range(len(xs)), key=lambda i: abs(xs[i] - s))
                    v[j] = b
                vals["validation"] = v
            lines.append("")
            lines.append(line_chart(vals, x=chart_x, title="bits per character", xlabel="step",
                                    width=cols, height=12))
        return "\n".join(wrap_lines(lines[:-1], width) + lines[-1:] if len(self.train_bpc) >= 2
                         else wrap_lines(lines, width))


class _Interrupt:
    """SIGINT (Ctrl-C) or SIGTERM (``kill``, ``timeout``) sets a flag the loop checks between steps, so
    the run saves and says how to resume; a second signal stops at once."""

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n))

    def __init__(self) -> None:
        self.flag = False
        self.signum = 0
        self.prev: dict = {}

    def __enter__(self) -> "_Interrupt":
        try:
            for sig in self.SIGNALS:
                self.prev[sig] = signal.signal(sig, self._handler)
        except ValueError:          # not the main thread: leave the signals alone
            pass
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag, self.signum = True, signum

    def __exit__(self, *exc: Any) -> None:
        for sig, prev in self.prev.items():
            signal.signal(sig, prev)


class _NoInterrupt:
    flag = False
    signum = 0

    def __enter__(self) -> "_NoInterrupt":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _rng_state() -> str:
    return json.dumps(State.rng.bit_generator.state)


def _set_rng_state(text: str) -> None:
    st = json.loads(text)
    gen = np.random.Generator(getattr(np.random, st["bit_generator"])())
    gen.bit_generator.state = st
    State.rng = gen


# ---------------------------------------------------------------------------
# the output folder: never another run's checkpoints
# ---------------------------------------------------------------------------

CHECKPOINT_NAMES = ("last.npz", "best.npz")


def describe_run(folder: str) -> str:
    """What a folder's checkpoints hold, in a few words: ``'best 1.895 bpc at step 3000, last at step 3200'``."""
    parts = []
    for name in ("best.npz", "last.npz"):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        try:
            st = load(path)
            if name == "best.npz":
                parts.append(f"best {float(st['best_bpc']):.3f} bpc at step {int(st['best_step'])}")
            else:
                parts.append(f"last at step {int(st['step'])}")
        except (CheckpointError, KeyError, TypeError, ValueError):
            parts.append(f"{name} (unreadable)")
    return ", ".join(parts)


def check_out(out: str, resume: str | None = None, overwrite: bool = False) -> None:
    """Refuse (``ConfigError``, one line) a folder that holds another run's checkpoints.

    Allowed: a new or empty folder, the folder of the checkpoint being resumed, or any folder with
    ``overwrite``.  Creates nothing.
    """
    if overwrite or not os.path.isdir(out):
        return
    if resume is not None and os.path.abspath(out) == os.path.dirname(os.path.abspath(resume)):
        return
    if not any(os.path.exists(os.path.join(out, n)) for n in CHECKPOINT_NAMES):
        return
    last = os.path.join(out, "last.npz")
    raise ConfigError(f"--out {out}: already holds a run ({describe_run(out)}); continue it with "
                      f"--resume {last}, or start over in it with --overwrite")


def prepare_out(out: str | None, default_parent: str = "runs", *, resume: str | None = None,
                overwrite: bool = False) -> str:
    """Create (if needed) and check the output folder; returns it.

    ``out=None`` picks ``<default_parent>/<YYYYmmdd-HHMMSS>`` (with a suffix if that exists).  A folder
    holding another run's checkpoints is refused (see ``check_out``); with ``overwrite`` its checkpoints
    are removed first, so a new run never mixes with an old one.  Temporary files a killed save left
    behind (``.tmp-*.npz``) are removed.  ``ConfigError`` if the folder cannot be written.
    """
    if out is None:
        out = base = os.path.join(default_parent, time.strftime("%Y%m%d-%H%M%S"))
        k = 1
        while os.path.exists(out):
            k += 1
            out = f"{base}-{k}"
    check_out(out, resume, overwrite)
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".write-test-{os.getpid()}")
        with open(probe, "wb") as f:
            f.write(b"ok")
        os.unlink(probe)
        for name in os.listdir(out):
            if name.startswith(TMP_PREFIX) and name.endswith(".npz"):
                os.unlink(os.path.join(out, name))
        if overwrite and not (resume and os.path.abspath(out) == os.path.dirname(os.path.abspath(resume))):
            for name in CHECKPOINT_NAMES:
                if os.path.exists(os.path.join(out, name)):
                    os.unlink(os.path.join(out, name))
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return out


# ---------------------------------------------------------------------------
# training: the pieces
# ---------------------------------------------------------------------------

def restore_checkpoint(resume: str, config: TrainConfig) -> dict:
    """The state saved at ``resume``, checked against ``config``: same model, size and dtype.  Every
    problem is one line (``CheckpointError``)."""
    ckpt = load_checkpoint(resume)
    saved = ckpt.config
    for name in ("model", "hidden", "layers", "dtype"):
        if getattr(saved, name) != getattr(config, name):
            raise CheckpointError(f"{resume}: the checkpoint is a {saved.model} model with hidden {saved.hidden}, "
                                  f"layers {saved.layers}, {saved.dtype}; {name} {getattr(config, name)} was asked")
    return ckpt.state


def check_limit(config: TrainConfig, ckpt_state: dict) -> None:
    """``ConfigError`` unless ``config``'s limit (``steps`` / ``minutes``) lies beyond what the checkpoint
    has already done."""
    step, elapsed = int(ckpt_state["step"]), float(ckpt_state["elapsed"])
    if config.steps is not None and step >= config.steps:
        raise ConfigError(f"the checkpoint is already at step {step}: give --steps larger than {step} "
                          "to train further")
    if config.minutes is not None and elapsed >= config.minutes * 60:
        raise ConfigError(f"the checkpoint has already trained {elapsed / 60:.1f} minutes: give "
                          "--minutes larger than that (or --steps) to train further")


def training_text(config: TrainConfig, text: str | None = None) -> tuple[str, str]:
    """``(text, source)``: ``text`` if given, else ``config.data`` (or the bundled corpus), checked to be
    long enough for one batch; ``DataError`` otherwise."""
    source = "(given text)"
    if text is None:
        text, source = load_text(config.data)
    need = min_text_length(config.batch, config.seq_len)
    if len(text) < need:
        raise DataError(f"{source}: the text is too short: {plural(len(text), 'character')}, but --batch {config.batch} x "
                        f"--seq-len {config.seq_len} needs at least {need:,} (5 % is held out for validation)")
    return text, source


def check_same_text(resume: str, ckpt_state: dict, text: str, vocab: CharVocab) -> None:
    """``CheckpointError`` unless ``text`` is the one the checkpoint was trained on (vocabulary and digest)."""
    saved_vocab = CharVocab.from_array(ckpt_state["vocab"])
    if saved_vocab != vocab:
        extra = vocab.unknown("".join(saved_vocab.itos)) + saved_vocab.unknown("".join(vocab.itos))
        raise CheckpointError(f"{resume}: the checkpoint's vocabulary ({plural(len(saved_vocab), 'character')}) "
                              f"differs from this text's ({len(vocab)}): {describe_chars(extra[:5])} "
                              "(resume on the text it was trained on)")
    if ckpt_state.get("text_digest") != _text_digest(text):
        raise CheckpointError(f"{resume}: the checkpoint was trained on a different text "
                              "(resume on the text it was trained on)")


def build_model_and_optimizer(config: TrainConfig, vocab_size: int) -> tuple[CharLM, optim.Optimizer]:
    """A fresh ``CharLM`` (seeded by ``config.seed``) and its optimizer, as ``config`` says."""
    manual_seed(config.seed)
    model = CharLM(vocab_size, config.hidden, config.layers, config.model, config.dropout)
    opt = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.learning_rate)
    return model, opt


def forward_backward(model: CharLM, x: Tensor, y: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
    """Predict every next character of the chunk ``x`` (targets ``y``) from the carried ``state`` (none: start
    fresh; an LSTM's is h and c), then backpropagate through the chunk.  Returns the loss (nats per character)
    and the new state, as a flat tuple of tensors (the form ``tg.jit`` takes and returns)."""
    logits, state = model(x, (state if len(state) > 1 else state[0]) if state else None)
    V = logits.shape[-1]
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    loss.backward()
    return (loss, *(state if isinstance(state, tuple) else (state,)))


def jitted_forward_backward(model: CharLM) -> Callable:
    """``forward_backward`` of ``model`` in ``tg.jit`` (``jit.py``): after two calls with a new batch each, its
    ops and the backward pass are replayed without the Python around them, dropout's draws included, with
    the same numbers as eagerly.  Called as ``f(x, y, *state)``."""
    return jit(lambda x, y, *state: forward_backward(model, x, y, *state))


def training_step(model: CharLM, opt: optim.Optimizer, x: Any, y: Any, state: Any, clip: float,
                  run: Callable | None = None) -> tuple[float, Any]:
    """One step of truncated BPTT: ``zero_grad``, ``forward_backward`` (the loss on the chunk and its
    gradients), clip, update.  Returns the loss (nats per character) and the carried state, detached.
    ``run``: ``forward_backward`` with the model bound, as ``jitted_forward_backward(model)`` makes it; None
    runs it eagerly (the same numbers)."""
    opt.zero_grad()
    run = run or (lambda *args: forward_backward(model, *args))
    flat = () if state is None else state if isinstance(state, tuple) else (state,)
    loss, *state = run(_indices(x), _indices(y), *flat)
    if clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item(), detach_state(tuple(state) if len(state) > 1 else state[0])


def _indices(a: Any) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a, dtype=np.int64))


@dataclass
class _Run:
    """Everything a run changes as it goes (what a checkpoint stores), and where it saves."""
    config: TrainConfig
    model: CharLM
    opt: Any
    streams: Streams
    vocab: CharVocab
    val_ids: np.ndarray
    digest: str
    out: str
    state: Any = None
    step: int = 0
    elapsed_before: float = 0.0
    best_bpc: float = math.inf
    best_step: int = -1
    hist: dict = field(default_factory=lambda: {"train_loss": [], "val_step": [], "val_bpc": []})
    t0: float = 0.0

    @property
    def last_path(self) -> str:
        return os.path.join(self.out, "last.npz")

    @property
    def best_path(self) -> str:
        return os.path.join(self.out, "best.npz")

    def elapsed(self) -> float:
        return self.elapsed_before + (time.perf_counter() - self.t0)

    def restore(self, st: dict) -> None:
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.streams.restore(st["position"])
        self.state = _state_from_arrays(st["hidden"], self.config.model, self.config.dtype)
        _set_rng_state(st["rng"])
        self.step, self.elapsed_before = int(st["step"]), float(st["elapsed"])
        self.best_bpc, self.best_step = float(st["best_bpc"]), int(st["best_step"])
        self.hist = {k: list(v) for k, v in st["history"].items()}

    def snapshot(self) -> dict:
        return {"kind": KIND, "version": 1, "config": self.config.to_dict(), "vocab": self.vocab.to_array(),
                "text_digest": self.digest, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "rng": _rng_state(), "position": self.streams.position(), "hidden": _state_arrays(self.state),
                "step": self.step, "elapsed": self.elapsed(), "best_bpc": self.best_bpc,
                "best_step": self.best_step, "history": self.hist}


def evaluate_and_save(run: _Run, reporter: Reporter) -> float:
    """Score the validation split, tell ``reporter``, save ``best.npz`` if (and only if) the score beats
    the run's best so far, and ``last.npz`` always.  Returns the score (bits per character)."""
    bpc = evaluate(run.model, run.val_ids)
    run.hist["val_step"].append(run.step)
    run.hist["val_bpc"].append(bpc)
    is_best = bpc < run.best_bpc
    if is_best:
        run.best_bpc, run.best_step = bpc, run.step
    reporter.evaluated(run.step, bpc, is_best)
    snap = run.snapshot()
    if is_best:
        save_checkpoint(run.best_path, snap)
    save_checkpoint(run.last_path, snap)
    return bpc


def _header(config: TrainConfig, run: _Run, source: str, text: str, n_train: int, resume: str | None) -> list[str]:
    n_params = sum(p.numel() for p in run.model.parameters())
    lr = f"{config.optimizer} lr {config.learning_rate:g}" + (
        f" cosine to {config.learning_rate / 10:g} over {plural(config.minutes, 'minute')}" if config.cosine
        else " constant")
    return [f"data: {source}: {plural(len(text), 'character')}, vocabulary {len(run.vocab)}; training on the first "
            f"{n_train:,}, validating on the last {len(run.val_ids):,}",
            f"model: {config.model.upper()} {config.layers} x {config.hidden}, dropout {config.dropout}, "
            f"{plural(n_params, 'parameter')}, {config.dtype}",
            f"optimizer: {lr}, clip {config.clip:g}",
            f"batch: {config.batch} streams x seq-len {config.seq_len} (truncated BPTT)",
            ("resuming from " + resume + f" at step {run.step}; " if resume else "") +
            f"limit: {_limit(config)}; checkpoints in {run.out}/"]


class _default_dtype:
    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def __enter__(self) -> None:
        self.prev = get_default_dtype()
        set_default_dtype(self.dtype)

    def __exit__(self, *exc: Any) -> None:
        set_default_dtype(self.prev)


def train(config: TrainConfig, reporter: Reporter | None = None, resume: str | None = None,
          text: str | None = None, handle_sigint: bool = True, blas_threads: int | None | str = "package",
          overwrite: bool = False, replay: bool = True) -> TrainResult:
    """Train (or, with ``resume``, continue training) a ``CharLM`` as ``config`` says.

    ``text`` overrides ``config.data`` (which is a path, or ``None`` for the bundled corpus).
    Progress goes to ``reporter`` (default: none; the CLI passes a ``ConsoleReporter``).
    Checkpoints go to ``config.out``, which must not hold another run's checkpoints unless
    ``overwrite`` (then they are removed first); nothing is created before every argument is checked.
    With ``handle_sigint`` Ctrl-C finishes the current step, saves ``last.npz`` and returns with
    ``interrupted=True``.  ``blas_threads``: the BLAS thread count while training, restored after
    (``"package"``: the package's choice, one thread unless ``$TINYGRAD_SEQ_BLAS_THREADS`` says
    otherwise, see ``tinygrad_seq.blas``; ``None`` leaves it alone).  ``replay``: run each step's forward and
    backward in ``tg.jit`` (``jitted_forward_backward``), the same numbers as eager mode (``replay=False``), faster.
    """
    config.validate()
    reporter = reporter or Reporter()
    ckpt_state = restore_checkpoint(resume, config) if resume is not None else None
    text, source = training_text(config, text)
    vocab = CharVocab.from_text(text)
    if ckpt_state is not None:
        check_same_text(resume, ckpt_state, text, vocab)
        check_limit(config, ckpt_state)
    out = prepare_out(config.out, resume=resume, overwrite=overwrite)        # every argument is good: create it
    threads = package_threads() if blas_threads == "package" else blas_threads
    with blas.blas_threads(threads), _default_dtype(config.dtype):
        train_text, val_text = split_text(text)
        model, opt = build_model_and_optimizer(config, len(vocab))
        run = _Run(config, model, opt, Streams(vocab.encode(train_text), config.batch, config.seq_len), vocab,
                   vocab.encode(val_text), _text_digest(text), out)
        if ckpt_state is not None:
            run.restore(ckpt_state)
        first_step = run.step
        step_fn = jitted_forward_backward(model) if replay else None
        budget = config.minutes * 60 if config.minutes is not None else math.inf
        reporter.start({"lines": _header(config, run, source, text, len(train_text), resume),
                        "total": config.steps if config.minutes is None else None, "step": run.step,
                        "log_every": max(1, min(config.eval_every, 50))})
        run.t0 = time.perf_counter()
        chars_this_run, train_time, interrupted, signum = 0, 0.0, False, 0
        model.train()
        with (_Interrupt() if handle_sigint else _NoInterrupt()) as stop:
            while not (config.steps is not None and run.step >= config.steps) and run.elapsed() < budget:
                if stop.flag:
                    interrupted, signum = True, stop.signum
                    break
                ts = time.perf_counter()
                for g in opt.param_groups:
                    g["lr"] = config.lr_at(run.step, run.elapsed())
                x, y, wrapped = run.streams.next_batch()
                loss, run.state = training_step(model, opt, x, y, None if wrapped else run.state, config.clip,
                                                step_fn)
                run.step += 1
                run.hist["train_loss"].append(loss)
                train_time += time.perf_counter() - ts
                chars_this_run += x.size
                if config.minutes is not None:           # the expected total, at this run's own pace
                    pace = (time.perf_counter() - run.t0) / (run.step - first_step)
                    est = run.step + max(1, int((budget - run.elapsed()) / pace))
                    reporter.set_total(min(est, config.steps) if config.steps else est)
                recent = run.hist["train_loss"][-20:]
                reporter.step(run.step, {"train bpc": sum(recent) / len(recent) / LN2,
                                         "val bpc": run.hist["val_bpc"][-1] if run.hist["val_bpc"] else None,
                                         "chars/s": chars_this_run / train_time})
                if run.step % config.sample_every == 0:
                    reporter.sampled(run.step, "".join(sample(model, vocab, "", 200, 0.8, None,
                                                              np.random.default_rng([config.seed, run.step]))))
                if run.step % config.eval_every == 0:
                    evaluate_and_save(run, reporter)
        # the end: evaluate (unless just done, or interrupted) and save
        if not interrupted and run.hist["val_step"][-1:] != [run.step]:
            evaluate_and_save(run, reporter)
        else:
            save_checkpoint(run.last_path, run.snapshot())
        hist = run.hist
        final = hist["val_bpc"][-1] if hist["val_step"][-1:] == [run.step] else math.nan
        result = TrainResult(out=out, step=run.step, elapsed=run.elapsed(),
                             chars_per_s=chars_this_run / train_time if train_time else 0.0,
                             best_bpc=run.best_bpc, best_step=run.best_step, final_bpc=final,
                             interrupted=interrupted, signum=signum, train_bpc=[v / LN2 for v in hist["train_loss"]],
                             val_steps=list(hist["val_step"]), val_bpc=list(hist["val_bpc"]),
                             last_path=run.last_path,
                             best_path=run.best_path if os.path.exists(run.best_path) else "",
                             val_chars=len(run.val_ids) - 1)
        reporter.end(result)
        return result


def _limit(config: TrainConfig) -> str:
    parts = []
    if config.steps is not None:
        parts.append(plural(config.steps, "step"))
    if config.minutes is not None:
        parts.append(plural(config.minutes, "minute"))
    return " or ".join(parts)
