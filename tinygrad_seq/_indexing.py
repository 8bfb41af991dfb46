"""Indexing: ``t[index]``, ``t[index] = value``, ``gather`` and the ``scatter`` family.

Part of the engine (read after ``tensor.py``).  ``Indexing`` is the part of
``Tensor`` that reads and writes elements by index (a mixin ``Tensor``
inherits, so those methods and their argument checks read in one place).
Basic indexing returns a view, as in PyTorch (``_inplace.viewed``); advanced
indexing a copy; both are the one ``GetItem`` op of ``ops.py``.

``tensor`` imports this module before it defines ``Tensor``; ``Tensor`` and
``lift`` are read from the module ``_t`` when a function runs, never at import.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import ops as _ops
from . import tensor as _t  # (the engine's circle: read at call time, see above)
from ._args import ShapeError, dim_arg
from ._inplace import _viewed

if TYPE_CHECKING:                       # annotations only
    from .tensor import Tensor


class Indexing:
    """``Tensor``'s indexing methods."""

    __slots__ = ()

    def __getitem__(self, index: Any) -> "Tensor":
        if type(index) is not int and type(index) is not slice:   # ints and slices need no conversion
            index = _index_arrays(index)
        return _viewed(_ops.GetItem.apply(self, index=index), self, _ops.GetItem, {"index": index})

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``: in place, as in PyTorch (recorded when a gradient flows through)."""
        index = _index_arrays(index)
        v = _t.lift(value, self)
        self._inplace("setitem", lambda: _ops.SetItem.apply(self, v, index=index),
                      lambda a: a.__setitem__(index, v.array), v)

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): PyTorch's ``gather``."""
        d = dim_arg(dim, self.ndim, "gather")
        idx = _int_index(index, "gather")
        if self.ndim == 0:                      # PyTorch: a 0-d input takes a 0-d index, which must be 0
            if idx.ndim != 0 or int(idx) != 0:
                raise IndexError(f"gather: a 0-d input takes a 0-d index equal to 0, got {idx.tolist()}")
            return self.reshape(1)[np.zeros(1, np.int64)].reshape(())
        if idx.ndim != self.ndim:
            raise ShapeError(f"gather: index must have {self.ndim} dimensions like the input, got shape {idx.shape}")
        if any(i > n for k, (i, n) in enumerate(zip(idx.shape, self.shape)) if k != d):
            raise ShapeError(f"gather: index {tuple(idx.shape)} must be no larger than the input {tuple(self.shape)} "
                             f"in every dimension apart from dimension {d}")
        _check_bounds("gather", idx, d, self.shape[d])
        grid = list(np.ix_(*[np.arange(n) for n in idx.shape])) if idx.ndim else []
        grid[d] = idx
        return self[tuple(grid)]

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> "Tensor":
        """A copy with ``out[index[i][j]][j] = src[i][j]`` for dim 0 (and so on): PyTorch's ``scatter``.

        ``src`` may be a tensor (self's dtype) or a number (``value=``).  With repeated
        indices one of the values wins, as in PyTorch (which leaves the choice undefined).
        """
        if reduce is not None:
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported (PyTorch deprecates it); use "
                                      "scatter_add for reduce='add'")
        src = value if src is None else src
        if self.ndim == 0:                      # as a 1-element tensor (PyTorch takes 0-d self, index and src)
            return self.reshape(1).scatter(dim, _int_index(index, "scatter").reshape(-1),
                                           src.reshape(-1) if isinstance(src, _t.Tensor) else src).reshape(())
        d, idx, src_t = _scatter_args("scatter", self, dim, index, src)
        return _ops.ScatterSet.apply(self, src_t, dim=d, index=idx)

    def scatter_add(self, dim: int, index: Any, src: Any) -> "Tensor":
        """A copy with ``out[index[i][j]][j] += src[i][j]`` for dim 0 (and so on): PyTorch's ``scatter_add``."""
        if self.ndim == 0:
            return self.reshape(1).scatter_add(dim, _int_index(index, "scatter_add").reshape(-1),
                                               src.reshape(-1) if isinstance(src, _t.Tensor) else src).reshape(())
        d, idx, src_t = _scatter_args("scatter_add", self, dim, index, src, number_ok=False)
        return _ops.ScatterAdd.apply(self, src_t, dim=d, index=idx)

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> "Tensor":
        """``scatter``, in place."""
        out = lambda: self.scatter(dim, index, src, value=value, reduce=reduce)  # noqa: E731
        operand = src if isinstance(src, _t.Tensor) else None
        return self._inplace("scatter_", out, lambda a: np.copyto(a, out().array), operand)

    def scatter_add_(self, dim: int, index: Any, src: Any) -> "Tensor":
        """``scatter_add``, in place."""
        out = lambda: self.scatter_add(dim, index, src)  # noqa: E731
        return self._inplace("scatter_add_", out, lambda a: np.copyto(a, out().array),
                             src if isinstance(src, _t.Tensor) else None)


def _int_index(index: Any, op: str) -> np.ndarray:
    idx = np.asarray(index.array if isinstance(index, _t.Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    return idx


def _check_bounds(op: str, idx: np.ndarray, d: int, n: int) -> None:
    """Indices must lie in [0, n): negative ones are refused (PyTorch's rule and message), not wrapped round."""
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"{op}: index {bad} is out of bounds for dimension {d} with size {n}")


def _scatter_args(op: str, t: "Tensor", dim: Any, index: Any, src: Any, number_ok: bool = True) -> tuple:
    """scatter's checks (PyTorch's): index as many dims as self; index no larger than src anywhere nor than
    self outside ``dim``; indices in range; src of self's dtype (a number becomes a constant of it)."""
    d = dim_arg(dim, t.ndim, op)
    idx = _int_index(index, op)
    if idx.ndim != t.ndim:
        raise ShapeError(f"{op}: index must have {t.ndim} dimensions like self, got shape {idx.shape}")
    t_shape = t.shape
    if isinstance(src, _t.Tensor):
        if src.array.dtype != t.array.dtype:
            raise RuntimeError(f"{op}: expected self.dtype to be equal to src.dtype, got {t.dtype} and {src.dtype}")
        s_shape = src.shape
        if len(s_shape) != len(t_shape):
            raise ShapeError(f"{op}: src must have {t.ndim} dimensions like self, got shape {src.shape}")
        if any(i > s for i, s in zip(idx.shape, s_shape)) or \
                any(i > s for k, (i, s) in enumerate(zip(idx.shape, t_shape)) if k != d):
            raise ShapeError(f"{op}: index {idx.shape} must be no larger than src {src.shape} in every dimension "
                             f"and no larger than self {t.shape} apart from dimension {d}")
    elif number_ok and src is not None and not isinstance(src, (str, bytes)) and np.ndim(src) == 0:
        src = _t.Tensor._wrap(np.full(idx.shape, src, dtype=t.array.dtype))
    else:
        raise TypeError(f"{op}: src must be a tensor{' or a number' if number_ok else ''}, got "
                        f"{type(src).__name__}")
    if any(i > s for k, (i, s) in enumerate(zip(idx.shape, t_shape)) if k != d):
        raise ShapeError(f"{op}: index {idx.shape} must be no larger than self {t.shape} apart from dimension {d}")
    _check_bounds(op, idx, d, t_shape[d])
    return d, idx, src


def _index_arrays(index: Any) -> Any:
    """Replace Tensors and lists inside an index by ndarrays."""
    if isinstance(index, _t.Tensor):
        return index.array
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, _t.Tensor) else i for i in index])
    if isinstance(index, tuple):
        return tuple([_index_arrays(i) for i in index])
    return index
