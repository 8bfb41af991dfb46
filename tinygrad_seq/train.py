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
``CheckpointError`` with one clear line.
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
from typing import Any, Iterator, Sequence

import numpy as np

from . import nn, optim
from .data import CharVocab, DataError, Streams, load_text, min_text_length, split_text
from .data.corpus import describe_chars
from .serialization import CheckpointError, load, save
from ._state import State
from .tensor import Tensor, get_default_dtype, no_grad, set_default_dtype

__all__ = ["TrainConfig", "ConfigError", "CheckpointError", "DataError", "CharLM", "Checkpoint", "TrainResult",
           "train", "evaluate", "evaluate_checkpoint", "resume_config", "sample", "save_checkpoint", "load_checkpoint", "Reporter", "ConsoleReporter",
           "MODELS", "OPTIMIZERS", "DEFAULT_LR"]

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
        if not (math.isfinite(self.clip) and self.clip >= 0):
            raise bad("clip", self.clip, "must be a non-negative number (0 turns clipping off)")
        return self

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def lr_at(self, step: int, seconds: float) -> float:
        """The learning rate for the next step: constant, or (``cosine``, under a time limit) cosine
        from ``lr`` down to ``lr / 10`` over the ``minutes`` of training.

        The decay follows the time budget only, never ``steps``: a run of N steps resumed for N more
        must take the same steps as one run of 2N, so a step-limited run keeps ``lr`` constant.
        """
        lr = self.learning_rate
        if self.schedule == "constant" or self.minutes is None:
            return lr
        frac = min(max(seconds / (self.minutes * 60), 0.0), 1.0)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    def to_dict(self) -> dict:
        """The configuration as a plain dict (saved in checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
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
        h = self.embed(x)
        out, state = self.rnn(h, state)
        return self.head(self.drop(out)), state

    def extra_repr(self) -> str:
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

class Reporter:
    """What ``train`` tells the outside world; subclass and override what you need (all no-ops here)."""

    def start(self, info: dict) -> None:
        """Training begins: ``info`` holds the header ``lines``, the ``total`` and first ``step``."""

    def step(self, step: int, metrics: dict) -> None:
        """A training step finished with these metrics (loss, bpc, lr, ...)."""

    def set_total(self, total: int | None) -> None:
        """The number of steps the run will take is now known (or changed)."""

    def evaluated(self, step: int, val_bpc: float, best: bool) -> None:
        """Validation ran at ``step``; ``best``: the score is the best so far (best.npz was written)."""

    def sampled(self, step: int, text: str) -> None:
        """A text sample was drawn from the model at ``step``."""

    def message(self, text: str) -> None:
        """A line for the user (a warning, where a checkpoint went)."""

    def end(self, result: "TrainResult") -> None:
        """Training is over (finished, stopped or interrupted); ``result`` is what ``train`` returns."""


class ConsoleReporter(Reporter):
    """A rich live progress bar in a terminal (plain log lines elsewhere), sample panels, a summary."""

    def __init__(self, file: Any = None, live: bool | None = None):
        self.file, self.live, self.bar = file, live, None

    def start(self, info: dict) -> None:
        from .progress import Progress
        for line in info["lines"]:
            self._print(line)
        self.bar = Progress(info["total"], "train", live=self.live, file=self.file,
                            log_every=info.get("log_every"))
        self.bar.step = info["step"]
        self.bar.__enter__()

    def _print(self, obj: Any) -> None:
        if self.bar is not None:
            self.bar.print(obj)
        else:
            from .progress import _plain
            print(_plain(obj), file=self.file, flush=True)

    def set_total(self, total: int | None) -> None:
        if self.bar is not None:
            self.bar.set_total(total)

    def step(self, step: int, metrics: dict) -> None:
        self.bar.update(advance=step - self.bar.step, **metrics)

    def evaluated(self, step: int, val_bpc: float, best: bool) -> None:
        if not self.bar.live:
            self._print(f"eval: step {step}  val bpc {val_bpc:.4f}" + ("  (best so far)" if best else ""))

    def sampled(self, step: int, text: str) -> None:
        if self.bar.live:
            from rich.panel import Panel
            from rich.text import Text
            self._print(Panel(Text(text), title=f"sample at step {step}", title_align="left", expand=False))
        else:
            self._print(f"sample at step {step}:\n" + "\n".join("  | " + ln for ln in text.split("\n")))

    def message(self, text: str) -> None:
        self._print(text)

    def end(self, result: "TrainResult") -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        print(result.summary(), file=self.file, flush=True)


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

    def summary(self) -> str:
        """A one-screen summary and the loss curve, as plain text."""
        from .charts import line_chart
        from .progress import format_seconds
        lines = ["", ("interrupted" if self.interrupted else "finished") +
                 f" at step {self.step} after {format_seconds(self.elapsed)} ({self.elapsed:.0f} s), "
                 f"{self.chars_per_s:,.0f} training chars/s"]
        if self.best_step >= 0:
            lines.append(f"best validation: {self.best_bpc:.3f} bits per character at step {self.best_step}")
        if math.isfinite(self.final_bpc):
            lines.append(f"final validation: {self.final_bpc:.3f} bits per character "
                         f"({self.val_chars:,} held-out characters)")
        lines.append(f"checkpoints: {self.last_path} (last)" + (f", {self.best_path} (best)" if self.best_path else ""))
        if len(self.train_bpc) >= 2:
            n = len(self.train_bpc)
            k = max(1, n // 60)
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
                                    width=60, height=12))
        return "\n".join(lines)


class _Interrupt:
    """SIGINT sets a flag the loop checks between steps; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.flag = False
        self.prev: Any = None

    def __enter__(self) -> "_Interrupt":
        try:
            self.prev = signal.signal(signal.SIGINT, self._handler)
        except ValueError:          # not the main thread: leave Ctrl-C alone
            self.prev = None
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True

    def __exit__(self, *exc: Any) -> None:
        if self.prev is not None:
            signal.signal(signal.SIGINT, self.prev)


def set_blas_threads(n: int) -> int | None:
    """Ask numpy's OpenBLAS to use ``n`` threads; returns the previous count (``None`` if not OpenBLAS).

    A char-LM step is hundreds of small matrix products: on a busy 2-core machine OpenBLAS's
    worker threads spin and wait for each other (a step measured 3.1 s with 2 threads under load,
    0.66 s with 1), so ``tinygrad-seq train`` runs with one.  Best effort: does nothing elsewhere.
    """
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line.split()[-1]}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, put in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                         ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                         ("openblas_get_num_threads", "openblas_set_num_threads")):
            if hasattr(lib, get) and hasattr(lib, put):
                prev = int(getattr(lib, get)())
                getattr(lib, put)(int(n))
                return prev
    return None


def _rng_state() -> str:
    return json.dumps(State.rng.bit_generator.state)


def _set_rng_state(text: str) -> None:
    st = json.loads(text)
    gen = np.random.Generator(getattr(np.random, st["bit_generator"])())
    gen.bit_generator.state = st
    State.rng = gen


def prepare_out(out: str | None, default_parent: str = "runs") -> str:
    """Create (if needed) and check the output folder; ``ConfigError`` if it cannot be written."""
    if out is None:
        out = os.path.join(default_parent, time.strftime("%Y%m%d-%H%M%S"))
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".write-test-{os.getpid()}")
        with open(probe, "wb") as f:
            f.write(b"ok")
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return out


def train(config: TrainConfig, reporter: Reporter | None = None, resume: str | None = None,
          text: str | None = None, handle_sigint: bool = True, blas_threads: int | None = 1) -> TrainResult:
    """Train (or, with ``resume``, continue training) a ``CharLM`` as ``config`` says.

    ``text`` overrides ``config.data`` (which is a path, or ``None`` for the bundled corpus).
    Progress goes to ``reporter`` (default: none; the CLI passes a ``ConsoleReporter``).
    Checkpoints go to ``config.out``.  With ``handle_sigint`` Ctrl-C finishes the current step,
    saves ``last.npz`` and returns with ``interrupted=True``.  ``blas_threads`` (default 1, see
    ``set_blas_threads``; ``None`` leaves it alone) applies while training and is restored after.
    """
    config.validate()
    reporter = reporter or Reporter()
    ckpt_state = None
    if resume is not None:
        ckpt = load_checkpoint(resume)
        ckpt_state = ckpt.state
        saved = ckpt.config
        for name in ("model", "hidden", "layers", "dtype"):
            if getattr(saved, name) != getattr(config, name):
                raise CheckpointError(f"{resume}: the checkpoint is a {saved.model} model with hidden {saved.hidden}, "
                                      f"layers {saved.layers}, {saved.dtype}; {name} {getattr(config, name)} was asked")
    source = "(given text)"
    if text is None:
        text, source = load_text(config.data)
    need = min_text_length(config.batch, config.seq_len)
    if len(text) < need:
        raise DataError(f"{source}: the text is too short: {len(text)} characters, but --batch {config.batch} x "
                        f"--seq-len {config.seq_len} needs at least {need} (5 % is held out for validation)")
    train_text, val_text = split_text(text)
    vocab = CharVocab.from_text(text)
    if ckpt_state is not None:
        saved_vocab = CharVocab.from_array(ckpt_state["vocab"])
        if saved_vocab != vocab:
            extra = vocab.unknown("".join(saved_vocab.itos)) + saved_vocab.unknown("".join(vocab.itos))
            raise CheckpointError(f"{resume}: the checkpoint's vocabulary ({len(saved_vocab)} characters) differs "
                                  f"from this text's ({len(vocab)}): {describe_chars(extra[:5])} "
                                  "(resume on the text it was trained on)")
        if ckpt_state.get("text_digest") != _text_digest(text):
            raise CheckpointError(f"{resume}: the checkpoint was trained on a different text "
                                  "(resume on the text it was trained on)")
    out = prepare_out(config.out)
    last_path, best_path = os.path.join(out, "last.npz"), os.path.join(out, "best.npz")

    prev_dtype = get_default_dtype()
    set_default_dtype(config.dtype)
    prev_threads = set_blas_threads(blas_threads) if blas_threads else None
    try:
        from .tensor import manual_seed
        manual_seed(config.seed)
        model = CharLM(len(vocab), config.hidden, config.layers, config.model, config.dropout)
        params = list(model.parameters())
        opt = OPTIMIZERS[config.optimizer](params, lr=config.learning_rate)
        streams = Streams(vocab.encode(train_text), config.batch, config.seq_len)
        val_ids = vocab.encode(val_text)
        state = None
        step, elapsed_before, best_bpc, best_step = 0, 0.0, math.inf, -1
        hist: dict = {"train_loss": [], "val_step": [], "val_bpc": []}
        if ckpt_state is not None:
            model.load_state_dict(ckpt_state["model"])
            opt.load_state_dict(ckpt_state["optimizer"])
            streams.restore(ckpt_state["position"])
            state = _state_from_arrays(ckpt_state["hidden"], config.model, config.dtype)
            _set_rng_state(ckpt_state["rng"])
            step = int(ckpt_state["step"])
            elapsed_before = float(ckpt_state["elapsed"])
            best_bpc, best_step = float(ckpt_state["best_bpc"]), int(ckpt_state["best_step"])
            hist = {k: list(v) for k, v in ckpt_state["history"].items()}
        if config.steps is not None and step >= config.steps:
            raise ConfigError(f"the checkpoint is already at step {step}: give --steps larger than {step} "
                              "to train further")
        budget = config.minutes * 60 if config.minutes is not None else math.inf
        if elapsed_before >= budget:
            raise ConfigError(f"the checkpoint has already trained {elapsed_before / 60:.1f} minutes: give "
                              "--minutes larger than that (or --steps) to train further")
        digest = _text_digest(text)

        def snapshot() -> dict:
            return {"kind": KIND, "version": 1, "config": config.to_dict(), "vocab": vocab.to_array(),
                    "text_digest": digest, "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "rng": _rng_state(), "position": streams.position(), "hidden": _state_arrays(state),
                    "step": step, "elapsed": elapsed_before + (time.perf_counter() - t0),
                    "best_bpc": best_bpc, "best_step": best_step, "history": hist}

        n_params = sum(p.numel() for p in params)
        lines = [f"data: {source}: {len(text):,} characters, vocabulary {len(vocab)}; training on the first "
                 f"{len(train_text):,}, validating on the last {len(val_text):,}",
                 f"model: {config.model.upper()} {config.layers} x {config.hidden}, dropout {config.dropout}, "
                 f"{n_params:,} parameters, {config.dtype}; {config.optimizer} lr {config.learning_rate:g}, "
                 f"{config.schedule}, clip {config.clip:g}; batch {config.batch} x seq-len {config.seq_len}",
                 ("resuming from " + resume + f" at step {step}; " if resume else "") +
                 f"limit: {_limit(config)}; checkpoints in {out}/"]
        total = config.steps if config.minutes is None else None
        reporter.start({"lines": lines, "total": total, "step": step,
                        "log_every": max(1, min(config.eval_every, 50))})
        t0 = time.perf_counter()
        chars_this_run, train_time = 0, 0.0
        interrupted = False
        sample_rng_seed = config.seed
        model.train()
        with (_Interrupt() if handle_sigint else _NoInterrupt()) as stop:
            while True:
                now = time.perf_counter() - t0
                if config.steps is not None and step >= config.steps:
                    break
                if elapsed_before + now >= budget:
                    break
                if stop.flag:
                    interrupted = True
                    break
                ts = time.perf_counter()
                lr_now = config.lr_at(step, elapsed_before + now)
                for g in opt.param_groups:
                    g["lr"] = lr_now
                x, y, wrapped = streams.next_batch()
                if wrapped:
                    state = None
                logits, state = model(x, state)
                V = logits.shape[-1]
                loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
                opt.zero_grad()
                loss.backward()
                if config.clip > 0:
                    nn.utils.clip_grad_norm_(params, config.clip)
                opt.step()
                state = detach_state(state)
                step += 1
                lv = float(loss.item())
                hist["train_loss"].append(lv)
                dt = time.perf_counter() - ts
                train_time += dt
                chars_this_run += x.size
                if config.minutes is not None and train_time > 0:
                    rate = (time.perf_counter() - t0) / max(1, step - (int(ckpt_state["step"]) if ckpt_state else 0))
                    left = budget - elapsed_before - (time.perf_counter() - t0)
                    est = step + max(1, int(left / rate))
                    reporter.set_total(min(est, config.steps) if config.steps else est)
                recent = hist["train_loss"][-20:]
                metrics = {"train bpc": sum(recent) / len(recent) / LN2,
                           "val bpc": hist["val_bpc"][-1] if hist["val_bpc"] else None,
                           "chars/s": chars_this_run / train_time}
                reporter.step(step, metrics)
                if step % config.sample_every == 0:
                    text_s = "".join(sample(model, vocab, "", 200, 0.8, None,
                                            np.random.default_rng([sample_rng_seed, step])))
                    reporter.sampled(step, text_s)
                if step % config.eval_every == 0:
                    bpc = evaluate(model, val_ids)
                    hist["val_step"].append(step)
                    hist["val_bpc"].append(bpc)
                    is_best = bpc < best_bpc
                    if is_best:
                        best_bpc, best_step = bpc, step
                    reporter.evaluated(step, bpc, is_best)
                    snap = snapshot()
                    if is_best:
                        save_checkpoint(best_path, snap)
                    save_checkpoint(last_path, snap)
        # the end: evaluate (unless just done), save last (and best), summarise
        if not interrupted and (not hist["val_step"] or hist["val_step"][-1] != step):
            bpc = evaluate(model, val_ids)
            hist["val_step"].append(step)
            hist["val_bpc"].append(bpc)
            if bpc < best_bpc:
                best_bpc, best_step = bpc, step
                save_checkpoint(best_path, snapshot())
        save_checkpoint(last_path, snapshot())
        elapsed = elapsed_before + (time.perf_counter() - t0)
        final = hist["val_bpc"][-1] if (hist["val_step"] and hist["val_step"][-1] == step) else math.nan
        result = TrainResult(out=out, step=step, elapsed=elapsed,
                             chars_per_s=chars_this_run / train_time if train_time else 0.0,
                             best_bpc=best_bpc, best_step=best_step, final_bpc=final, interrupted=interrupted,
                             train_bpc=[v / LN2 for v in hist["train_loss"]], val_steps=list(hist["val_step"]),
                             val_bpc=list(hist["val_bpc"]), last_path=last_path,
                             best_path=best_path if os.path.exists(best_path) else "",
                             val_chars=len(val_ids) - 1)
        reporter.end(result)
        return result
    finally:
        set_default_dtype(prev_dtype)
        if prev_threads:
            set_blas_threads(prev_threads)


class _NoInterrupt:
    flag = False

    def __enter__(self) -> "_NoInterrupt":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _limit(config: TrainConfig) -> str:
    parts = []
    if config.steps is not None:
        parts.append(f"{config.steps} steps")
    if config.minutes is not None:
        parts.append(f"{config.minutes:g} minutes")
    return " or ".join(parts)
