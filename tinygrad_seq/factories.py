"""Tensor factories: zeros, ones, full, arange, linspace, eye, the random ones, and the legacy typed ones.

Random factories draw from the generator that ``tg.manual_seed(n)`` resets, so a
seeded program gives the same numbers every run; each also takes PyTorch's
``generator=`` (a ``tg.Generator``) to draw from its own stream instead.
Every factory takes ``dtype=``, ``requires_grad=`` and ``device=`` (the CPU only).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._args import bool_arg, check_device, check_grad_dtype, dtype_arg, is_int, shape_args
from ._state import State
from .tensor import Tensor, to_array

__all__ = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "randn", "rand",
           "randint", "randn_like", "rand_like", "randperm", "multinomial", "arange", "linspace", "eye", "tensor",
           "from_numpy", "as_tensor", "LongTensor", "FloatTensor", "DoubleTensor", "BoolTensor", "IntTensor",
           "Generator", "set_default_device", "get_default_device"]


class Generator:
    """A random stream of its own (PyTorch's ``torch.Generator``): ``g = tg.Generator().manual_seed(0)``."""

    def __init__(self, device: Any = "cpu"):
        check_device(device)
        self._rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> "Generator":
        """Reseed this stream; returns the generator (so ``Generator().manual_seed(0)`` chains)."""
        if not is_int(seed):
            raise TypeError(f"Generator.manual_seed: seed must be an integer, got {type(seed).__name__}")
        self._rng = np.random.default_rng(int(seed))
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the seed used."""
        s = int(np.random.SeedSequence().entropy % (1 << 63))
        self.manual_seed(s)
        return s

    def get_state(self) -> dict:
        """The stream's state (numpy's bit-generator state), for ``set_state``."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state from ``get_state``."""
        self._rng.bit_generator.state = state


def _rng(generator: Generator | None) -> np.random.Generator:
    if generator is None:
        return State.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tg.Generator, got {type(generator).__name__}")
    return generator._rng


def set_default_device(device: Any) -> None:
    """Accepted for the CPU (the only device); any other device is refused with a clear message."""
    check_device(device)


def get_default_device() -> Any:
    """The CPU, the only device."""
    from .tensor import device
    return device("cpu")


def _finish(arr: np.ndarray, requires_grad: bool, device: Any) -> Tensor:
    if device is not None:
        check_device(device)
    if requires_grad is not False and requires_grad is not True:
        bool_arg("factory", "requires_grad", requires_grad)
    t = Tensor._wrap(arr)
    if requires_grad:
        check_grad_dtype(arr.dtype, "factory")
        t.requires_grad = True
    return t


def _dtype(dtype: Any, op: str = "factory") -> np.dtype:
    return State.default_dtype if dtype is None else dtype_arg(op, dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of zeros of the given shape (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    return _finish(np.zeros(shape_args(size, "zeros"), dtype=_dtype(dtype, "zeros")), requires_grad, device)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of ones of the given shape."""
    return _finish(np.ones(shape_args(size, "ones"), dtype=_dtype(dtype, "ones")), requires_grad, device)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of the given shape (filled with zeros here: numpy's garbage would teach nothing)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor of the given shape filled with ``fill_value`` (its dtype inferred like ``tg.tensor``'s)."""
    if dtype is None:
        dtype = to_array(_fill("full", fill_value), None).dtype
    return _finish(np.full(shape_args((size,), "full"), _fill("full", fill_value), dtype=_dtype(dtype, "full")),
                   requires_grad, device)


def _fill(op: str, v: Any) -> Any:
    if isinstance(v, Tensor) and v.numel() == 1:
        return v.item()
    if not isinstance(v, (bool, int, float, complex, np.number, np.bool_)):
        raise TypeError(f"{op}: fill_value must be a number, got {type(v).__name__} {v!r}")
    return v


def _like(t: Any, dtype: Any) -> tuple[tuple, np.dtype]:
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    return t.shape, (t.dtype if dtype is None else dtype_arg("factory", dtype))


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Zeros of ``t``'s shape (and dtype, unless given)."""
    shape, dt = _like(t, dtype)
    return _finish(np.zeros(shape, dtype=dt), requires_grad, device)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Ones of ``t``'s shape (and dtype, unless given)."""
    shape, dt = _like(t, dtype)
    return _finish(np.ones(shape, dtype=dt), requires_grad, device)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Like ``zeros_like`` (``empty`` gives zeros here)."""
    return zeros_like(t, dtype, requires_grad, device)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """``fill_value`` in ``t``'s shape (and dtype, unless given)."""
    shape, dt = _like(t, dtype)
    return _finish(np.full(shape, _fill("full_like", fill_value), dtype=dt), requires_grad, device)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Generator | None = None,
          device: Any = None) -> Tensor:
    """Samples of N(0, 1)."""
    arr = _rng(generator).standard_normal(shape_args(size, "randn")).astype(_dtype(dtype, "randn"))
    return _finish(arr, requires_grad, device)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, generator: Generator | None = None,
         device: Any = None) -> Tensor:
    """Samples of U[0, 1)."""
    arr = _rng(generator).random(shape_args(size, "rand")).astype(_dtype(dtype, "rand"))
    return _finish(arr, requires_grad, device)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """N(0, 1) samples in ``t``'s shape."""
    shape, dt = _like(t, dtype)
    return randn(shape, dtype=dt, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """U[0, 1) samples in ``t``'s shape."""
    shape, dt = _like(t, dtype)
    return rand(shape, dtype=dt, requires_grad=requires_grad)


def randint(low: int, high: Any = None, size: Any = None, *, dtype: Any = np.int64, generator: Generator | None = None,
            device: Any = None) -> Tensor:
    """Integers drawn uniformly from [low, high) (``randint(high, size)`` means low = 0)."""
    if size is None:
        if high is None:
            raise TypeError("randint: needs high and size, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if not (is_int(low) and is_int(high)) or high <= low:
        raise ValueError(f"randint: needs integers low < high, got low={low!r}, high={high!r}")
    shape = shape_args((size,), "randint")
    return _finish(_rng(generator).integers(low, high, size=shape).astype(dtype), False, device)


def randperm(n: int, *, dtype: Any = np.int64, generator: Generator | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0 .. n-1."""
    if not is_int(n) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative integer, got {n!r}")
    return _finish(_rng(generator).permutation(int(n)).astype(dtype), False, device)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Generator | None = None) -> Tensor:
    """Draw ``num_samples`` indices per row with probability proportional to the row's (non-negative) weights."""
    w = (input.array if isinstance(input, Tensor) else to_array(input, None)).astype(np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-d or 2-d, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    if not is_int(num_samples) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    rows = w.reshape(-1, w.shape[-1])
    rng = _rng(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise ValueError(f"multinomial: row {i} of the weights sums to {total}; it must be positive")
        if not replacement and num_samples > np.count_nonzero(row):
            raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(row)} non-zero weights")
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / total)
    return Tensor._wrap(out if w.ndim == 2 else out[0])


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """Like ``torch.arange``: integers for integer arguments, the default float dtype otherwise."""
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {type(v).__name__}")
    if step == 0:
        raise ValueError("arange: step must be a nonzero number, got 0")
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not np.isfinite(v):
            raise ValueError(f"arange: {name} must be finite, got {v}")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = np.int64 if all(is_int(v) for v in (start, end, step)) else State.default_dtype
    dtype = dtype_arg("arange", dtype)
    return _finish(np.arange(start, end, step, dtype=dtype), requires_grad, device)


def _num(op: str, name: str, v: Any) -> Any:
    if isinstance(v, Tensor) and v.numel() == 1:
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__} {v!r}")
    return v


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False,
             device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not is_int(steps) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    return _finish(np.linspace(_num("linspace", "start", start), _num("linspace", "end", end), steps,
                               dtype=_dtype(dtype, "linspace")), requires_grad, device)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """The identity matrix (n x m)."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and (not is_int(v) or v < 0):
            raise ValueError(f"eye: {name} must be a non-negative integer, got {v!r}")
    return _finish(np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad, device)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``tg.tensor(data)``: a new tensor, dtype inferred as PyTorch does (floats -> float32, ints -> int64, bools)."""
    if device is not None:
        check_device(device)
    t = Tensor._wrap(to_array(data, dtype))          # always a copy
    if bool_arg("tensor", "requires_grad", requires_grad):
        t.requires_grad_(True)
    return t


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares a numpy array's memory when the dtype already matches."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (changes show through both ways), as in PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype == object or array.dtype.kind in "USVMmc":
        raise TypeError(f"from_numpy: can't convert an array of dtype {array.dtype}")
    return Tensor._wrap(array)


def _typed(dtype: Any, name: str):
    def make(*args: Any) -> Tensor:
        if len(args) == 1 and not is_int(args[0]):
            return tensor(args[0], dtype=dtype)
        return zeros(*args, dtype=dtype)
    make.__name__ = name
    make.__doc__ = (f"PyTorch's legacy ``torch.{name}``: ``{name}(data)`` converts data, "
                    f"``{name}(2, 3)`` makes zeros of that shape; dtype {np.dtype(dtype)}.")
    return make


LongTensor = _typed(np.int64, "LongTensor")
FloatTensor = _typed(np.float32, "FloatTensor")
DoubleTensor = _typed(np.float64, "DoubleTensor")
BoolTensor = _typed(np.bool_, "BoolTensor")
IntTensor = _typed(np.int32, "IntTensor")
