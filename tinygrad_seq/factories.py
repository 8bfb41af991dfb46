"""Tensor factories: zeros, ones, full, arange, eye and the random ones.

Random factories draw from the generator that ``tg.manual_seed(n)`` resets, so a
seeded program gives the same numbers every run.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor, _State, _check_grad_dtype


def _shape(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        _check_grad_dtype(arr.dtype, "factory")
        t.requires_grad = True
    return t


def _dtype(dtype: Any) -> np.dtype:
    return _State.default_dtype if dtype is None else np.dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape(size), dtype=_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape(size), dtype=_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.full(_shape((size,)), fill_value, dtype=_dtype(dtype)), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1)."""
    return _finish(_State.rng.standard_normal(_shape(size)).astype(_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1)."""
    return _finish(_State.rng.random(_shape(size)).astype(_dtype(dtype)), requires_grad)


def randint(low: int, high: int, size: Any, dtype: Any = np.int64) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    return Tensor._wrap(_State.rng.integers(low, high, size=_shape((size,))).astype(dtype))


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Like ``torch.arange``: integers for integer arguments, the default float dtype otherwise."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else _State.default_dtype
    return _finish(np.arange(start, end, step, dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """``tg.tensor(data)``: the same as ``tg.Tensor(data)``, PyTorch's spelling."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
