"""The engine's global state: grad mode, anomaly mode, default dtype, the generator, the in-place epoch.

One class, ``State``, holds the switches every op reads; the context managers
and setters below (``no_grad``, ``set_grad_enabled``, ``detect_anomaly``,
``set_default_dtype``, ``manual_seed``) are the public ways to flip them, and
``mark_modified`` is how an in-place change is recorded so that ``backward``
can refuse a gradient computed from values that changed under it.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from ._args import dtype_arg

__all__ = ["State", "is_grad_enabled", "no_grad", "enable_grad", "inference_mode", "set_grad_enabled",
           "set_default_dtype", "get_default_dtype", "manual_seed", "detect_anomaly", "AnomalyError",
           "mark_modified", "buffer_of", "version_of", "MODIFIED"]


class AnomalyError(RuntimeError):
    """Raised under ``detect_anomaly()``: the first op whose output or gradient is not finite."""


class State:
    """The switches every op reads (class attributes: one lookup, no instance)."""

    grad_enabled = True
    anomaly = False                    # detect_anomaly(): check every op's output and gradient
    dual = False                       # a forward-mode dual level is active (autograd.forward_ad)
    capture = None                     # a recorder of every op (tinygrad_seq.jit, while it captures a function)
    watch = False                      # anomaly, dual or capture: Node.apply hands every op to autograd.watch_forward
    default_dtype = np.dtype(np.float32)
    rng = np.random.default_rng()
    epoch = 0                          # counts in-place changes; see "In-place changes" below


def is_grad_enabled() -> bool:
    """Whether ops record a graph right now (False inside ``no_grad()``)."""
    return State.grad_enabled


class no_grad:
    """``with tg.no_grad():`` ops inside record no graph and save nothing (also a decorator: ``@tg.no_grad()``)."""

    mode = False

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(State.grad_enabled)
        State.grad_enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        State.grad_enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            prev = State.grad_enabled
            State.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                State.grad_enabled = prev
        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


class enable_grad(no_grad):
    """``with tg.enable_grad():`` turns recording back on inside ``no_grad``."""

    mode = True


class inference_mode(no_grad):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``inference_mode(False)`` changes nothing)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = not mode


class set_grad_enabled(no_grad):
    """``tg.set_grad_enabled(False)`` switches recording off now (as in PyTorch); as a context manager it
    switches back to the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {type(mode).__name__} {mode!r}")
        self.mode = bool(mode)
        self.prev = State.grad_enabled
        State.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        State.grad_enabled = self.prev


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats and lists of floats become (float32 unless changed)."""
    dt = dtype_arg("set_default_dtype", dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: dtype must be a floating dtype (tg.float32 or tg.float64), got {dt}")
    State.default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return State.default_dtype


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random factory, initializer and dropout mask."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
    State.rng = np.random.default_rng(int(seed))


class detect_anomaly:
    """``with tg.detect_anomaly():`` check every op's output in forward and every gradient in backward.

    The first value that is not finite where the op's own inputs were raises
    ``AnomalyError`` naming the op, the shapes, and the file and line of your
    code that created the op (for a NaN born in backward: the op whose VJP
    produced it, and where that op was created).  Off by default; when off
    it costs one flag test per op.
    """

    def __init__(self, mode: bool = True):
        self.mode = mode
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(State.anomaly)
        State.anomaly = self.mode
        State.watch = State.anomaly or State.dual or State.capture is not None

    def __exit__(self, *exc: Any) -> None:
        State.anomaly = self._prev.pop()
        State.watch = State.anomaly or State.dual or State.capture is not None


# ----------------------------------------------------------------------------
# In-place changes.  A node keeps arrays for its VJP; if one of them changes in
# place before backward (an optimizer step, ``p -= lr * p.grad``, ``load_state_dict``),
# the gradient would silently be wrong.  Every in-place change therefore calls
# ``mark_modified``, which bumps a global counter (``State.epoch``) and notes,
# for the array's underlying buffer (views and ``.data`` share one), the count at
# which it changed.  A node records the counter when it is made; ``backward``
# compares one integer per node and only when they differ looks at what the node
# saved.
# ----------------------------------------------------------------------------

MODIFIED: dict = {}            # id(buffer) -> [weakref(buffer), epoch of last change, changes, label]


def buffer_of(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (views and ``.data`` share one)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def mark_modified(t: Any) -> None:
    """Record that ``t``'s values were changed in place."""
    State.epoch += 1
    buf = buffer_of(t.array)
    key = id(buf)
    entry = MODIFIED.get(key)
    if entry is None or entry[0]() is not buf:
        def forget(ref: Any, key: int = key) -> None:
            if MODIFIED.get(key, (None,))[0] is ref:
                del MODIFIED[key]
        entry = MODIFIED[key] = [weakref.ref(buf, forget), 0, 0, None]
    entry[1] = State.epoch
    entry[2] += 1
    label = getattr(t, "_name", None)
    if label:
        entry[3] = label


def version_of(a: np.ndarray) -> int:
    """How many times ``a``'s memory was changed in place (PyTorch's ``_version``)."""
    buf = buffer_of(a)
    entry = MODIFIED.get(id(buf))
    return entry[2] if entry is not None and entry[0]() is buf else 0

