"""Primitive ops: each one's forward beside its gradient rule (VJP).

Read this file as a table.  Every block is one op: ``forward`` computes the
output from numpy arrays and keeps in ``self.saved`` only what the VJP needs;
``backward(g)`` receives g = dL/d(output) and returns dL/d(input) for each
input (``None`` where ``self.needs`` says nobody asked).  Broadcasting in the
forward is undone in the backward by ``unbroadcast`` (sum over the broadcast
axes).  Adding an op is adding one block.

Composite functions at the end (softmax, log_softmax, split, squeeze, ...)
are built from these primitives and have no gradient code of their own.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from .tensor import Node, ProductSum, Scatter, ShapeError, Tensor, _lift, _State, _axis

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def _axes(axis: Any, ndim: int) -> tuple:
    """Normalise an axis argument (None, int or tuple) to a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(a % ndim for a in axes) if ndim else ()   # a 0-d tensor accepts axis 0 or -1, like PyTorch


def _regrow(g: np.ndarray, shape: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient its reduced axes back (size 1), ready to broadcast to ``shape``."""
    if not keepdims and len(shape):
        g = np.expand_dims(g, axes)
    return g


# ---------------------------------------------------------------------------
# elementwise, binary (broadcasting)
# ---------------------------------------------------------------------------

class Add(Node):
    """y = a + b;  da = g,  db = g"""
    name = "add"

    def forward(self, a, b):
        self.ctx = None if a.shape == b.shape else (a.shape, b.shape)   # None: nothing to unbroadcast
        return a + b

    def backward(self, g):
        if self.ctx is None:
            return g, g
        sa, sb = self.ctx
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Node):
    """y = a - b;  da = g,  db = -g"""
    name = "sub"

    def forward(self, a, b):
        self.ctx = None if a.shape == b.shape else (a.shape, b.shape)
        return a - b

    def backward(self, g):
        if self.ctx is None:
            return g, (-g if self.needs[1] else None)
        sa, sb = self.ctx
        return unbroadcast(g, sa), (unbroadcast(-g, sb) if self.needs[1] else None)


class Mul(Node):
    """y = a * b;  da = g * b,  db = g * a"""
    name = "mul"

    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return (unbroadcast(g * b, a.shape) if self.needs[0] else None,
                unbroadcast(g * a, b.shape) if self.needs[1] else None)


class Div(Node):
    """y = a / b;  da = g / b,  db = -g a / b^2 = -(g / b) y"""
    name = "div"

    def forward(self, a, b):
        y = a / b
        self.saved = (b, y)
        self.ctx = a.shape
        return y

    def backward(self, g):
        b, y = self.saved
        ga = g / b
        return (unbroadcast(ga, self.ctx) if self.needs[0] else None,
                unbroadcast(-ga * y, b.shape) if self.needs[1] else None)


class Pow(Node):
    """y = a ** b;  da = g b a^(b-1),  db = g y log(a)   (db taken as 0 where a <= 0)"""
    name = "pow"

    def forward(self, a, b):
        y = a ** b
        self.saved = (a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        ga = gb = None
        if self.needs[0]:
            ga = unbroadcast(g * b * a ** (b - 1), a.shape)
        if self.needs[1]:
            pos = a > 0
            gb = unbroadcast(g * np.where(pos, y, 0) * np.log(np.where(pos, a, 1)), b.shape)
        return ga, gb


class Maximum(Node):
    """y = max(a, b);  the gradient goes to the larger input (split evenly on ties)"""
    name = "maximum"
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)

    def forward(self, a, b):
        self.saved = (a, b)
        return self.pick(a, b)

    def backward(self, g):
        a, b = self.saved
        wa = self.wins(a, b) + 0.5 * (a == b)
        return (unbroadcast(g * wa, a.shape) if self.needs[0] else None,
                unbroadcast(g * (1 - wa), b.shape) if self.needs[1] else None)


class Minimum(Maximum):
    """y = min(a, b);  the gradient goes to the smaller input (split evenly on ties)"""
    name = "minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Node):
    """y = cond ? a : b;  da = g where cond,  db = g where not cond   (cond gets no gradient)"""
    name = "where"

    def forward(self, a, b, cond):
        self.saved = cond
        self.ctx = (a.shape, b.shape)
        return np.where(cond, a, b)

    def backward(self, g):
        cond = self.saved
        sa, sb = self.ctx
        zero = np.zeros((), dtype=g.dtype)
        return (unbroadcast(np.where(cond, g, zero), sa) if self.needs[0] else None,
                unbroadcast(np.where(cond, zero, g), sb) if self.needs[1] else None)


# ---------------------------------------------------------------------------
# elementwise, unary
# ---------------------------------------------------------------------------

class Neg(Node):
    """y = -x;  dx = -g"""
    name = "neg"

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class PowScalar(Node):
    """y = x ** p (p a constant number);  dx = g p x^(p-1)"""
    name = "pow"

    def forward(self, x, p):
        self.saved = x
        self.ctx = p
        return x ** p

    def backward(self, g):
        x, p = self.saved, self.ctx
        if p == 0:
            return (np.zeros_like(g),)
        if p == 2:
            return (g * (2 * x),)
        return (g * (p * x ** (p - 1)),)


class Exp(Node):
    """y = e^x;  dx = g y"""
    name = "exp"

    def forward(self, x):
        y = np.exp(x)
        self.saved = y
        return y

    def backward(self, g):
        return (g * self.saved,)


class Log(Node):
    """y = log x;  dx = g / x"""
    name = "log"

    def forward(self, x):
        self.saved = x
        return np.log(x)

    def backward(self, g):
        return (g / self.saved,)


class Sqrt(Node):
    """y = sqrt x;  dx = g / (2 y)"""
    name = "sqrt"

    def forward(self, x):
        y = np.sqrt(x)
        self.saved = y
        return y

    def backward(self, g):
        return (g / (2 * self.saved),)


class Abs(Node):
    """y = |x|;  dx = g sign(x)"""
    name = "abs"

    def forward(self, x):
        self.saved = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.saved),)


class Tanh(Node):
    """y = tanh x;  dx = g (1 - y^2)"""
    name = "tanh"

    def forward(self, x):
        y = np.tanh(x)
        self.saved = y
        return y

    def backward(self, g):
        y = self.saved
        d = np.square(y, out=np.empty_like(y))
        np.subtract(1, d, out=d)
        d *= g
        return (d,)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), in place in one buffer.  For very negative x, e^-x overflows to inf and
    the result is exactly 0 (the true value is below the smallest normal float): no nan, and the
    overflow is expected, so its warning is silenced."""
    x = x if x.dtype.kind == "f" else x.astype(_State.default_dtype)
    t = np.negative(x, out=np.empty_like(x))
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


class Sigmoid(Node):
    """y = 1 / (1 + e^-x);  dx = g y (1 - y)"""
    name = "sigmoid"

    def forward(self, x):
        y = _sigmoid(x)
        self.saved = y
        return y

    def backward(self, g):
        y = self.saved
        d = np.subtract(1, y, out=np.empty_like(y))
        d *= y
        d *= g
        return (d,)


class Relu(Node):
    """y = max(x, 0);  dx = g [x > 0]"""
    name = "relu"

    def forward(self, x):
        y = np.maximum(x, 0)
        self.saved = y
        return y

    def backward(self, g):
        return (g * (self.saved > 0),)


class LeakyRelu(Node):
    """y = x if x > 0 else s x;  dx = g (1 or s)"""
    name = "leaky_relu"

    def forward(self, x, slope):
        self.saved = x
        self.ctx = slope
        return np.where(x > 0, x, x * slope)

    def backward(self, g):
        return (np.where(self.saved > 0, g, g * self.ctx),)


class Softplus(Node):
    """y = log(1 + e^x) (as logaddexp(0, x): no overflow);  dx = g sigmoid(x)"""
    name = "softplus"

    def forward(self, x):
        self.saved = x
        return np.logaddexp(np.zeros((), dtype=x.dtype), x)

    def backward(self, g):
        return (g * _sigmoid(self.saved),)


class Clip(Node):
    """y = min(max(x, lo), hi);  dx = g where lo < x < hi"""
    name = "clip"

    def forward(self, x, lo, hi):
        self.saved = x
        self.ctx = (lo, hi)
        return np.clip(x, lo, hi)

    def backward(self, g):
        x, (lo, hi) = self.saved, self.ctx
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x > lo
        if hi is not None:
            inside &= x < hi
        return (g * inside,)


class Cast(Node):
    """y = x as another dtype;  dx = g as x's dtype"""
    name = "cast"

    def forward(self, x, dtype):
        self.ctx = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.ctx),)


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

class Sum(Node):
    """y = sum_axis x;  dx = g broadcast back over the summed axes"""
    name = "sum"

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        self.ctx = (x.shape, axes, keepdims)
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        shape, axes, keep = self.ctx
        return (np.broadcast_to(_regrow(g, shape, axes, keep), shape),)


class Mean(Node):
    """y = sum_axis x / n;  dx = g / n broadcast back"""
    name = "mean"

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        self.ctx = (x.shape, axes, keepdims)
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        shape, axes, keep = self.ctx
        n = 1
        for a in axes:
            n *= shape[a]
        return (np.broadcast_to(_regrow(g, shape, axes, keep) / max(n, 1), shape),)


class Max(Node):
    """y = max_axis x;  dx = g at the arg-max, split evenly among ties (k tied elements get g / k each)

    This is PyTorch's rule for ``max()`` and ``amax(dim)``.  PyTorch's ``max(dim)``,
    which also returns indices, sends all of g to the returned index instead; ours
    returns values only, so ``max(axis=...)`` is ``amax`` and splits.
    """
    name = "max"
    reduce = staticmethod(np.max)

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        if x.size == 0:
            raise ShapeError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        y = self.reduce(x, axis=axes, keepdims=True)
        self.saved = (x, y)
        self.ctx = (axes, keepdims)
        return y if keepdims else np.squeeze(y, axis=axes)

    def backward(self, g):
        (x, y), (axes, keep) = self.saved, self.ctx
        hit = x == y
        g = _regrow(g, x.shape, axes, keep)
        return (hit * (g / hit.sum(axis=axes, keepdims=True)),)


class Min(Max):
    """y = min_axis x;  dx = g at the arg-min (shared evenly among ties)"""
    name = "min"
    reduce = staticmethod(np.min)


class LogSumExp(Node):
    """y = m + log sum_axis e^(x - m), m = max x;  dx = g e^(x - y) = g softmax(x)"""
    name = "logsumexp"

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            y = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        # where every x is -inf (an impossible path in CTC), so is y; e^(x - y) must be 0, not nan
        self.saved = (x, y if np.isfinite(y).all() else np.where(y == -np.inf, 0, y))
        self.ctx = (axes, keepdims)
        return y if keepdims else np.squeeze(y, axis=axes)

    def backward(self, g):
        (x, y), (axes, keep) = self.saved, self.ctx
        return (_regrow(g, x.shape, axes, keep) * np.exp(x - y),)


class Var(Node):
    """y = sum_axis (x - mean)^2 / (n - correction);  dx = g 2 (x - mean) / (n - correction)"""
    name = "var"

    def forward(self, x, axis, keepdims, correction):
        axes = _axes(axis, x.ndim)
        n = 1
        for a in axes:
            n *= x.shape[a]
        d = x - x.mean(axis=axes, keepdims=True)
        denom = max(n - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.sum(d * d, axis=axes, keepdims=keepdims) / np.asarray(denom, dtype=x.dtype)
        self.saved = d
        self.ctx = (axes, keepdims, denom)
        return y

    def backward(self, g):
        d, (axes, keep, denom) = self.saved, self.ctx
        return (_regrow(g, d.shape, axes, keep) * (2 / denom) * d,)


# ---------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------

class MatMul(Node):
    """y = a @ b (numpy semantics: 1-d, 2-d, batched);  da = g @ b^T,  db = a^T @ g"""
    name = "matmul"

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: both operands need at least one dimension")
        ka, kb = a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]
        if ka != kb:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ")
        self.saved = (a, b)
        if b.ndim == 2 and a.ndim > 2:   # (..., k) @ (k, n) is one (rows, k) @ (k, n) BLAS call, not a loop
            return (a.reshape(-1, ka) @ b).reshape(a.shape[:-1] + b.shape[1:])
        return a @ b

    def backward(self, g):
        a, b = self.saved
        # Treat 1-d operands as matrices (a row, b a column), as numpy does.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if self.needs[0]:
            if a2.ndim == 2 and b2.ndim > 2:   # a shared across the batch: one matmul over it
                ga = np.moveaxis(g, -2, 0).reshape(g.shape[-2], -1) @ np.swapaxes(b2, -1, -2).reshape(-1, a2.shape[1])
            elif b2.ndim == 2:
                ga = g.reshape(-1, g.shape[-1]) @ b2.T
            else:
                ga = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape)
            ga = ga.reshape(a.shape)
        if self.needs[1]:
            if b2.ndim == 2:   # b shared by every row of a (a weight): gb = a^T g, kept lazy (see ProductSum)
                gb = ProductSum(b.shape, a2.reshape(-1, a2.shape[-1]), g.reshape(-1, g.shape[-1]))
            else:
                gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return ga, gb


# ---------------------------------------------------------------------------
# shape
# ---------------------------------------------------------------------------

class Reshape(Node):
    """y = x reshaped;  dx = g reshaped back"""
    name = "reshape"

    def forward(self, x, shape):
        self.ctx = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape {x.shape} ({x.size} elements) to {tuple(shape)}") from None

    def backward(self, g):
        return (g.reshape(self.ctx),)


class Permute(Node):
    """y = x with its axes reordered;  dx = g with the inverse order"""
    name = "permute"

    def forward(self, x, axes):
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ShapeError(f"permute: {tuple(axes)} is not an ordering of the {x.ndim} axes of {x.shape}")
        self.ctx = axes
        return x.transpose(axes)

    def backward(self, g):
        return (g.transpose(np.argsort([a % g.ndim for a in self.ctx])),)


class BroadcastTo(Node):
    """y = x broadcast to a larger shape;  dx = g summed back"""
    name = "expand"

    def forward(self, x, shape):
        self.ctx = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(f"expand: cannot broadcast {x.shape} to {tuple(shape)}") from None

    def backward(self, g):
        return (unbroadcast(g, self.ctx),)


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


class GetItem(Node):
    """y = x[index];  dx = g scattered into zeros at index (repeated indices accumulate)"""
    name = "getitem"

    def forward(self, x, index):
        try:
            y = x[index]
        except IndexError as e:
            raise IndexError(f"getitem: index {index!r} into shape {x.shape}: {e}") from None
        self.saved, self.ctx = x.shape, index
        return y

    def backward(self, g):
        shape, index = self.saved, self.ctx
        if _is_basic(index):
            return (Scatter(shape, index, g),)
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, index, g)
        return (out,)


class Concat(Node):
    """y = concatenate(xs, axis);  dx_i = the slice of g that x_i filled"""
    name = "cat"

    def forward(self, *xs, axis):
        try:
            y = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ShapeError(f"cat: shapes {[x.shape for x in xs]} do not match outside axis {axis}") from None
        self.ctx = (axis % y.ndim, np.cumsum([0] + [x.shape[axis] for x in xs]))
        return y

    def backward(self, g):
        axis, bounds = self.ctx
        lead = (slice(None),) * axis
        return tuple(g[lead + (slice(lo, hi),)] if need else None
                     for lo, hi, need in zip(bounds[:-1], bounds[1:], self.needs))


class Stack(Node):
    """y = stack(xs, axis);  dx_i = g taken at position i of the new axis"""
    name = "stack"

    def forward(self, *xs, axis):
        try:
            y = np.stack(xs, axis=axis)
        except ValueError:
            raise ShapeError(f"stack: all shapes must be equal, got {[x.shape for x in xs]}") from None
        self.ctx = axis % y.ndim
        return y

    def backward(self, g):
        lead = (slice(None),) * self.ctx
        return tuple(g[lead + (i,)] if need else None for i, need in enumerate(self.needs))


class Pad(Node):
    """y = x padded with a constant;  dx = the middle of g"""
    name = "pad"

    def forward(self, x, pad_width, value):
        self.ctx = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.ctx],)


# ---------------------------------------------------------------------------
# functions built from the primitives (no gradient code of their own)
# ---------------------------------------------------------------------------

def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def add(a: Any, b: Any) -> Tensor:
    return _t(a) + b


def sub(a: Any, b: Any) -> Tensor:
    return _t(a) - b


def mul(a: Any, b: Any) -> Tensor:
    return _t(a) * b


def div(a: Any, b: Any) -> Tensor:
    return _t(a) / b


def neg(x: Any) -> Tensor:
    return -_t(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 (mirrors torch.pow)
    return _t(a) ** b


def matmul(a: Any, b: Any) -> Tensor:
    return _t(a) @ b


def exp(x: Any) -> Tensor:
    return Exp.apply(_t(x))


def log(x: Any) -> Tensor:
    return Log.apply(_t(x))


def sqrt(x: Any) -> Tensor:
    return Sqrt.apply(_t(x))


def abs(x: Any) -> Tensor:  # noqa: A001
    return Abs.apply(_t(x))


def tanh(x: Any) -> Tensor:
    return Tanh.apply(_t(x))


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(_t(x))


def relu(x: Any) -> Tensor:
    return Relu.apply(_t(x))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu.apply(_t(x), slope=negative_slope)


def softplus(x: Any) -> Tensor:
    return Softplus.apply(_t(x))


def maximum(a: Any, b: Any) -> Tensor:
    a = _t(a)
    return Maximum.apply(a, _lift(b, a))


def minimum(a: Any, b: Any) -> Tensor:
    a = _t(a)
    return Minimum.apply(a, _lift(b, a))


def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return Clip.apply(_t(x), lo=min, hi=max)


clamp = clip


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``cond`` is true, else ``b`` (no gradient to ``cond``)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != bool:
        raise TypeError(f"where: the condition must be boolean, got {cond.dtype}")
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else _t(a)
    return Where.apply(_lift(a, like), _lift(b, like), cond=cond)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
              keepdim: bool | None = None) -> Tensor:
    return _t(x).logsumexp(axis, keepdims, dim=dim, keepdim=keepdim)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """log softmax(x) = x - logsumexp(x): exact and finite for any finite logits."""
    x = _t(x)
    axis = _axis(axis, dim)
    return x - LogSumExp.apply(x, axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j), computed as exp(log_softmax(x))."""
    return Exp.apply(log_softmax(x, axis, dim=dim))


def cat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Concat.apply(*tensors, axis=_axis(axis, dim))


concatenate = cat


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return Stack.apply(*tensors, axis=_axis(axis, dim))


def split(x: Tensor, split_size_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's split: an int is the size of each piece (the last may be smaller), a list the sizes."""
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} of {x.shape} has {n}")
    lead = axis % x.ndim
    out, start = [], 0
    for s in sizes:
        out.append(GetItem.apply(x, index=_range_index(lead, start, start + s)))
        start += s
    return tuple(out)


@lru_cache(maxsize=1024)
def _range_index(axis: int, start: int, stop: int) -> tuple:
    """The index ``[:, ..., :, start:stop]`` (``axis`` full slices first).

    Cached because a recurrent layer splits its gates with the same indices at
    every step: one shared immutable tuple instead of new objects per step.
    """
    return (slice(None),) * axis + (slice(start, stop),)


def chunk(x: Tensor, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's chunk: ``chunks`` pieces of ceil(n / chunks) each (fewer if that covers n)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[axis]
    return split(x, max(-(-n // chunks), 1), axis)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return x.reshape(shape)


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    if axis is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = _axes(axis, x.ndim)
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))
    return x.reshape(shape)


def unsqueeze(x: Tensor, axis: int) -> Tensor:
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ShapeError(f"unsqueeze: axis {axis} is out of range for shape {x.shape}")
    axis = axis % (x.ndim + 1)
    return x.reshape(x.shape[:axis] + (1,) + x.shape[axis:])


def expand(x: Tensor, sizes: Sequence[int]) -> Tensor:
    """PyTorch's expand: -1 keeps a size; new leading axes may be added."""
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand {x.shape} to fewer dimensions {tuple(sizes)}")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return BroadcastTo.apply(x, shape=shape)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return BroadcastTo.apply(_t(x), shape=tuple(shape))


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return _t(x).reshape(tuple(shape))


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    return _t(x).transpose(dim0, dim1)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    return _t(x).permute(tuple(dims))


def pad(x: Tensor, pad_width: Any, value: float = 0.0) -> Tensor:
    """numpy-style padding: ``pad_width`` is ((before, after), ...) per axis, or one pair for all."""
    x = _t(x)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2)).tolist()
    if any(p < 0 for pair in pw for p in pair):
        raise ValueError(f"pad: widths must be non-negative, got {pad_width}")
    return Pad.apply(x, pad_width=tuple(map(tuple, pw)), value=value)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = _State.rng.random(x.shape) >= p
    return x * Tensor._wrap((keep / (1 - p)).astype(x.dtype))


def one_hot(indices: Any, num_classes: int = -1) -> Tensor:
    """Integer class indices -> float rows with a 1 at each index (no gradient)."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: indices must be in [0, {num_classes}), got range [{idx.min()}, {idx.max()}]")
    return Tensor._wrap(np.eye(num_classes, dtype=_State.default_dtype)[idx])
