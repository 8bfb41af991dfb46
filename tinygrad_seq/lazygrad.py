"""Gradients kept in a lazy form until they are needed: the speed tricks of ``backward``.

The textbook loop sums every contribution to a tensor's gradient as a dense
array.  Two kinds of contribution are wasteful that way in an unrolled RNN:

* the VJP of a slice (``xw[t]``, the four gate chunks of an LSTM) is zero
  everywhere except the slice: ``Scatter`` keeps only the slices, and when
  they tile an axis the dense gradient is one concatenation, with no zero
  fill and no adds;
* the VJP of ``x @ W`` for a weight W used at every time step is ``x^T g``
  once per step: ``ProductSum`` keeps the factors and computes
  ``sum_t x_t^T g_t`` as one large matmul over the concatenated factors.
  Through a transpose (``x @ W.T``, made anew at each step) the sum stays
  lazy with its factors swapped (``Permute`` takes it as it is), and
  ``Linear``'s VJP returns one for its weight.

``backward`` sees only a small protocol: ``GradientSums.add(key, g)`` adds one
contribution to the running sum of ``key``, and ``dense(g)`` turns a summed
gradient into an array before a VJP reads it, unless the op says
``takes_lazy``.  Everything lazy stays inside this module; a VJP may return
either form.
"""
from __future__ import annotations

import operator
from typing import Any, Iterator

import numpy as np

__all__ = ["Scatter", "ProductSum", "GradientSums", "dense"]


class Scatter:
    """A gradient that is zero except for the given values at basic indices: ``parts`` = [(index, value)]."""

    __slots__ = ("shape", "parts")

    def __init__(self, shape: tuple, index: Any, value: np.ndarray):
        self.shape, self.parts = shape, [(index, value)]

    def dense(self) -> np.ndarray:
        """The gradient as an array (one concatenation when the slices tile an axis)."""
        tiled = _tiling(self.shape, self.parts)
        if tiled is not None:
            return tiled
        out = np.zeros(self.shape, dtype=self.parts[0][1].dtype)
        self.add_to(out)
        return out

    def add_to(self, buf: np.ndarray) -> None:
        """buf += this gradient, in place."""
        for index, value in self.parts:
            buf[index] += value

    def merge(self, other: "Scatter") -> None:
        """Take ``other``'s slices into this sum."""
        self.parts += other.parts


class ProductSum:
    """A gradient of the form  sum_i a_i^T g_i,  kept as its factors until it is needed."""

    __slots__ = ("shape", "lhs", "rhs")

    def __init__(self, shape: tuple, lhs: np.ndarray, rhs: np.ndarray):
        self.shape, self.lhs, self.rhs = shape, [lhs], [rhs]

    def dense(self) -> np.ndarray:
        """sum_i a_i^T g_i as an array: one matmul over the concatenated factors (``np.dot``: a BLAS call even
        for one row of factors, where ``@`` of an (n, 1) by a (1, m) array loops in numpy, 5-7x slower)."""
        if len(self.lhs) == 1:
            out = np.dot(self.lhs[0].T, self.rhs[0])
        else:
            out = np.dot(np.concatenate(self.lhs).T, np.concatenate(self.rhs))
        return out.reshape(self.shape)

    def permute(self, axes: tuple) -> "ProductSum | np.ndarray":
        """The VJP of ``permute(axes)`` applied to this gradient.  For a matrix, (sum_i a_i^T g_i)^T =
        sum_i g_i^T a_i: the factors swap and the sum stays lazy, so a weight used as ``W.T`` at every step
        (``nn.Linear`` in a loop) gets one matmul over all steps instead of one outer product per step."""
        if len(self.shape) == 2 and tuple(a % 2 for a in axes) == (1, 0):
            out = ProductSum.__new__(ProductSum)
            out.shape, out.lhs, out.rhs = self.shape[::-1], list(self.rhs), list(self.lhs)
            return out
        inverse = np.argsort([a % len(self.shape) for a in axes])
        return self.dense().transpose(inverse)

    def add_to(self, buf: np.ndarray) -> None:
        """buf += this gradient, in place."""
        buf += self.dense()

    def merge(self, other: "ProductSum") -> None:
        """Take ``other``'s factors into this sum."""
        self.lhs += other.lhs
        self.rhs += other.rhs


_LAZY = (Scatter, ProductSum)


def dense(g: Any) -> np.ndarray:
    """A gradient as an ndarray (0-d included), whatever form a VJP returned it in."""
    if type(g) in _LAZY:
        return g.dense()
    return g if type(g) is np.ndarray else np.asarray(g)


class GradientSums(dict):
    """The running sum of gradient contributions per key (a graph node or a leaf) during one backward.

    A dict from key to its summed gradient, in whatever form it is (an array or
    a lazy form: ``dense`` turns it into an array).  A VJP may return an array
    it does not own (its input ``g`` itself, say), so the first contribution is
    stored as it is; a second one is added into a fresh copy, which later
    contributions are then added into in place.  Lazy contributions of the same
    kind are merged instead of added.
    """

    __slots__ = ("owned",)
    dense = staticmethod(dense)

    def __init__(self) -> None:
        super().__init__()
        self.owned: set = set()           # keys whose running sum is a buffer this pass allocated

    def add(self, key: Any, g: Any) -> None:
        """sum[key] += g."""
        prev = self.get(key)
        if prev is None:
            self[key] = g
            return
        if type(prev) is type(g) and type(g) in _LAZY:
            prev.merge(g)                 # both were made by VJPs in this pass: merging them is safe
            return
        if key not in self.owned:
            self.owned.add(key)
            if type(g) is np.ndarray and type(prev) is np.ndarray and prev.ndim and g.shape == prev.shape \
                    and g.dtype == prev.dtype:
                self[key] = np.add(prev, g)       # the sum in a fresh buffer: one pass, not a copy then an add
                return
            prev = prev.dense() if type(prev) in _LAZY else np.array(prev)     # a copy, always an ndarray
            self[key] = prev
        if type(g) in _LAZY:
            g.add_to(prev)
        else:
            prev += g

    def pop_owned(self, key: Any) -> np.ndarray:
        """The sum for ``key`` as a buffer nobody else holds (safe to store in ``.grad``); forgets it."""
        g = self.pop(key)
        if type(g) in _LAZY:
            return g.dense()
        return g if key in self.owned else np.array(g)


def _span(index: Any, shape: tuple) -> tuple | None:
    """(start, stop, axis, is_int) if ``index`` selects one step-1 range (or one int) of one axis, else None."""
    if type(index) is int and shape:                  # xw[t]: the common case first
        n = shape[0]
        i = index % n if n else 0
        return (i, i + 1, 0, True)
    parts = index if type(index) is tuple else (index,)
    if len(parts) > len(shape):
        return None
    if len(parts) == 2 and parts[0] == _ALL and type(parts[1]) is slice:     # a chunk of the last axis of a matrix
        start, stop, step = parts[1].indices(shape[1])
        if step == 1 and (start, stop) != (0, shape[1]):
            return (start, stop, 1, False)
    found = None
    for axis, p in enumerate(parts):
        if type(p) is slice:
            start, stop, step = p.indices(shape[axis])
            if step != 1:
                return None
            if start == 0 and stop == shape[axis]:
                continue
            span = (start, stop, axis, False)
        elif isinstance(p, (int, np.integer)) and not isinstance(p, bool):
            i = int(p) % shape[axis] if shape[axis] else 0
            span = (i, i + 1, axis, True)
        else:
            return None
        if found is not None:
            return None
        found = span
    return found


def _tiling(shape: tuple, parts: list) -> np.ndarray | None:
    """The parts concatenated, if they cover ``shape`` exactly once along a single axis; else None."""
    if len(parts) < 2:
        return None
    spans = []
    for index, value in parts:
        span = _span(index, shape)
        if span is None:
            return None
        spans.append(span + (value,))
    axis = spans[0][2]
    spans.sort(key=_START)
    pos = 0
    for start, stop, ax, _, _ in spans:
        if ax != axis or start != pos:
            return None
        pos = stop
    if pos != shape[axis]:
        return None
    if axis == 0:
        return np.concatenate([v[None] if is_int else v for _, _, _, is_int, v in spans])
    return np.concatenate([np.expand_dims(v, axis) if is_int else v for _, _, _, is_int, v in spans], axis=axis)


_START = operator.itemgetter(0)
_ALL = slice(None)
