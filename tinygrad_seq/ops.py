"""Primitive ops: each one's forward beside its gradient rule (VJP).

Read this file as a table.  Every block is one op, a subclass of ``Node``:

* ``forward(*arrays, **params)`` computes the output from numpy arrays;
* ``backward(g)`` receives g = dL/d(output) and returns dL/d(input), one per
  input, or ``None`` for an input whose ``self.needs_input_grad`` is False.

One convention for what an op keeps between the two: ``self.saved`` holds the
*arrays* the VJP reads (input or output values; one array or a tuple), and
``self.ctx`` small metadata (shapes, axes, indices, constants).  Only ``saved``
is checked for in-place changes before the VJP runs (see ``tensor.py``).

Broadcasting in a forward is undone in its backward by ``unbroadcast`` (a sum
over the broadcast axes).  A VJP may return a lazy gradient from
``lazygrad.py`` instead of an array where that saves work (slices, weights);
a VJP receives its ``g`` as an array unless its op sets ``takes_lazy``
(``Permute``: the transpose of a weight's lazy gradient stays lazy).
Adding an op is adding one block; composites (softmax, split, squeeze, ...)
are Tensor methods in ``tensor.py`` built from these, with no gradient code.

Higher order.  A VJP is written once and serves both ``backward()`` and
``backward(create_graph=True)``: it uses operators (``*``, ``-``, ``@``,
indexing, ``.reshape``) and, for everything else, the namespace ``xp`` (never
``np`` directly).  On the first-order path ``xp`` is numpy (plus the lazy
gradient forms) and ``g`` and ``saved`` are arrays; while ``autograd`` records
a backward pass, ``xp`` is the same functions written with Tensor ops, ``g`` is
a Tensor and the saved arrays are Tensors joined to the graph, so the VJP's own
computation is recorded and can be differentiated again.  ``saves`` says, once
per op, what each entry of ``saved`` is: an input (its index), the output
(``"out"``) or a constant (``None``); an op that saves something derived from
its input says how to record it in ``recorded_saved``.
"""
from __future__ import annotations

import functools
import itertools
from types import SimpleNamespace
from typing import Any

import numpy as np

from .lazygrad import ProductSum, Scatter, dense
from ._state import State
from . import tensor as _tensor
from .tensor import Node, ShapeError

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _add_at(shape: tuple, index: Any, g: np.ndarray) -> np.ndarray:
    """zeros(shape) with g added at ``index`` (repeated positions add up)."""
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, index, g)
    return out


def _put_unique(shape: tuple, index: Any, g: np.ndarray) -> np.ndarray:
    """zeros(shape) with g written at ``index``, whose positions are all different (``_add_at`` without the slow
    ``np.add.at``; written, as PyTorch's ``nll_loss`` backward does, so a -0.0 stays -0.0)."""
    out = np.zeros(shape, dtype=g.dtype)
    out[index] = g
    return out


def _zeroed(g: np.ndarray, index: Any) -> np.ndarray:
    """A copy of g with zeros at ``index``."""
    out = g.copy()
    out[index] = 0
    return out


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b of two matrices.  For float32/float64, ``np.dot``: the same BLAS call as ``@`` (the same bits) without
    its dispatch, a third faster for the small products of one recurrent step."""
    if a.dtype is b.dtype and a.dtype.char in "fd":
        return np.dot(a, b)
    return a @ b


# The array namespace every VJP calls for what is not an operator (see the module docstring).  It is numpy here;
# ``autograd`` puts the Tensor version in its place while it records a backward pass (create_graph=True).
NUMPY = SimpleNamespace(
    where=np.where, expand_dims=np.expand_dims, broadcast_to=np.broadcast_to, sum=np.sum, exp=np.exp, log=np.log,
    log1p=np.log1p, sin=np.sin, cos=np.cos, sign=np.sign, square=np.square, subtract=np.subtract,
    multiply=np.multiply, empty_like=np.empty_like, maximum=np.maximum, zeros_like=np.zeros_like,
    astype=np.ndarray.astype, flip=np.flip, cumsum=np.cumsum, moveaxis=np.moveaxis, swapaxes=np.swapaxes,
    permute=np.ndarray.transpose, asarray=np.asarray, sigmoid=None, product_sum=ProductSum, scatter=Scatter,
    add_at=_add_at, put_unique=_put_unique, zeroed=_zeroed, dense=dense, mm=_mm)
xp = NUMPY


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


# ``with _IEEE():`` IEEE results (inf, nan) without numpy's RuntimeWarnings, as PyTorch gives them.
# (A partial of ``np.errstate``, not a function around it: no extra Python call where an op uses it.)
_IEEE = functools.partial(np.errstate, divide="ignore", invalid="ignore", over="ignore")


def _regrow(g: np.ndarray, shape: tuple, axes: tuple, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient its reduced axes back (size 1), ready to broadcast to ``shape``."""
    if not keepdims and len(shape):
        g = xp.expand_dims(g, axes)
    return g


def _keep(need: bool, x: np.ndarray) -> np.ndarray:
    """``x`` if a VJP will read its values, else a stand-in with its shape and dtype and no memory.

    PyTorch saves an input of ``a * b`` or ``a @ b`` only when the *other*
    input needs a gradient, so changing it in place afterwards (a ``no_grad``
    step, ``init.zeros_``) is no error when nothing reads it; the stale-graph
    check looks only at what was kept.  The stand-in is a zero-stride view of
    a few constant bytes: ``.shape``, ``.ndim`` and views of it work, its values
    are never read.
    """
    if need:
        return x
    return np.ndarray(x.shape, x.dtype, _NOTHING, 0, (0,) * x.ndim)


_NOTHING = bytes(16)           # the memory every stand-in points at (read-only; itemsize <= 16)


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

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Sub(Node):
    """y = a - b;  da = g,  db = -g"""
    name = "sub"

    def forward(self, a, b):
        self.ctx = None if a.shape == b.shape else (a.shape, b.shape)
        return a - b

    def backward(self, g):
        if self.ctx is None:
            return g, (-g if self.needs_input_grad[1] else None)
        sa, sb = self.ctx
        return unbroadcast(g, sa), (unbroadcast(-g, sb) if self.needs_input_grad[1] else None)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Mul(Node):
    """y = a * b;  da = g * b,  db = g * a"""
    name = "mul"
    saves = (0, 1)

    def forward(self, a, b):
        need = self.needs_input_grad
        self.saved = (a, b) if need is None or need[0] and need[1] else (_keep(need[1], a), _keep(need[0], b))
        return a * b

    def backward(self, g):
        a, b = self.saved
        return (unbroadcast(g * b, a.shape) if self.needs_input_grad[0] else None,
                unbroadcast(g * a, b.shape) if self.needs_input_grad[1] else None)

    def jvp(self, ta, tb):
        a, b = self.saved
        return ta * b + a * tb


class Div(Node):
    """y = a / b;  da = g / b,  db = -g a / b^2 = -(g / b) (a / b)"""
    name = "div"
    saves = (0, 1)

    def forward(self, a, b):
        with _IEEE():   # x/0 is inf or nan, as in PyTorch
            y = a / b
        need = self.needs_input_grad
        self.saved = (_keep(need is None or need[1], a), b)       # a is read only for db (as PyTorch saves it)
        return y

    def backward(self, g):
        a, b = self.saved
        with _IEEE():
            ga = g / b
            return (unbroadcast(ga, a.shape) if self.needs_input_grad[0] else None,
                    unbroadcast(-ga * (a / b), b.shape) if self.needs_input_grad[1] else None)

    def jvp(self, ta, tb):
        a, b = self.saved
        with _IEEE():
            return (ta - tb * (a / b)) / b


class Pow(Node):
    """y = a ** b;  da = g b a^(b-1),  db = g y log(a)   (db taken as 0 where a <= 0)"""
    name = "pow"
    saves = (0, 1, "out")

    def forward(self, a, b):
        with _IEEE():
            y = a ** b
        self.saved = (a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        ga = gb = None
        with _IEEE():
            if self.needs_input_grad[0]:
                ga = unbroadcast(g * b * a ** (b - 1), a.shape)
            if self.needs_input_grad[1]:
                pos = a > 0
                gb = unbroadcast(g * xp.where(pos, y, 0) * xp.log(xp.where(pos, a, 1)), b.shape)
        return ga, gb

    def jvp(self, ta, tb):
        a, b, y = self.saved
        pos = a > 0
        with _IEEE():
            return ta * b * a ** (b - 1) + tb * xp.where(pos, y, 0) * xp.log(xp.where(pos, a, 1))


class Maximum(Node):
    """y = max(a, b);  the gradient goes to the larger input (split evenly on ties)"""
    name = "maximum"
    saves = (None, None)        # read only to say which input won: constants in a recorded VJP
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)

    def forward(self, a, b):
        self.saved = (a, b)
        return self.pick(a, b)

    def backward(self, g):
        a, b = self.saved
        wa = self.wins(a, b) + 0.5 * (a == b)
        return (unbroadcast(g * wa, a.shape) if self.needs_input_grad[0] else None,
                unbroadcast(g * (1 - wa), b.shape) if self.needs_input_grad[1] else None)

    def jvp(self, ta, tb):
        a, b = self.saved
        wa = self.wins(a, b) + 0.5 * (a == b)
        return ta * wa + tb * (1 - wa)


class Minimum(Maximum):
    """y = min(a, b);  the gradient goes to the smaller input (split evenly on ties)"""
    name = "minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Node):
    """y = cond ? a : b;  da = g where cond,  db = g where not cond   (cond gets no gradient)"""
    name = "where"

    def forward(self, a, b, cond):
        self.ctx = (cond, a.shape, b.shape)
        return np.where(cond, a, b)

    def backward(self, g):
        cond, sa, sb = self.ctx
        zero = np.zeros((), dtype=g.dtype)
        return (unbroadcast(xp.where(cond, g, zero), sa) if self.needs_input_grad[0] else None,
                unbroadcast(xp.where(cond, zero, g), sb) if self.needs_input_grad[1] else None)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


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

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class PowScalar(Node):
    """y = x ** p (p a constant number);  dx = g p x^(p-1)"""
    name = "pow"
    saves = (0,)

    def forward(self, x, p):
        self.saved = x
        self.ctx = p
        with _IEEE():
            return x ** p

    def backward(self, g):
        x, p = self.saved, self.ctx
        if p == 0:
            return (xp.zeros_like(g),)
        if p == 2:
            return (g * (2 * x),)
        with _IEEE():
            return (g * (p * x ** (p - 1)),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Exp(Node):
    """y = e^x;  dx = g y"""
    name = "exp"
    saves = ("out",)

    def forward(self, x):
        with _IEEE():          # e^x beyond the dtype's range is inf, as in PyTorch
            y = np.exp(x)
        self.saved = y
        return y

    def backward(self, g):
        return (g * self.saved,)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Sin(Node):
    """y = sin x;  dx = g cos x"""
    name = "sin"
    saves = (0,)

    def forward(self, x):
        self.saved = x
        return np.sin(x)

    def backward(self, g):
        return (g * xp.cos(self.saved),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Cos(Node):
    """y = cos x;  dx = -g sin x"""
    name = "cos"
    saves = (0,)

    def forward(self, x):
        self.saved = x
        return np.cos(x)

    def backward(self, g):
        return (-g * xp.sin(self.saved),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Log(Node):
    """y = log x;  dx = g / x"""
    name = "log"
    saves = (0,)

    def forward(self, x):
        self.saved = x
        with _IEEE():   # log 0 = -inf, log(-1) = nan, as in PyTorch
            return np.log(x)

    def backward(self, g):
        with _IEEE():
            return (g / self.saved,)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Sqrt(Node):
    """y = sqrt x;  dx = g / (2 y)"""
    name = "sqrt"
    saves = ("out",)

    def forward(self, x):
        with _IEEE():        # sqrt(-1) = nan, as in PyTorch
            y = np.sqrt(x)
        self.saved = y
        return y

    def backward(self, g):
        with _IEEE():
            return (g / (2 * self.saved),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Abs(Node):
    """y = |x|;  dx = g sign(x)"""
    name = "abs"
    saves = (0,)

    def forward(self, x):
        self.saved = x
        return np.abs(x)

    def backward(self, g):
        return (g * xp.sign(self.saved),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Tanh(Node):
    """y = tanh x;  dx = g (1 - y^2)"""
    name = "tanh"
    saves = ("out",)

    def forward(self, x):
        y = np.tanh(x)
        self.saved = y
        return y

    def backward(self, g):
        y = self.saved
        d = xp.square(y, out=xp.empty_like(y))      # one buffer on the first-order path (recorded: a new tensor,
        d = xp.subtract(1, d, out=d)                # and *= a recorded in-place op on it)
        d *= g
        return (d,)

    def jvp(self, t):
        y = self.saved
        return t * (1 - y * y)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), in place in one buffer.  For very negative x, e^-x overflows to inf and
    the result is exactly 0 (the true value is below the smallest normal float): no nan, and the
    overflow is expected, so its warning is silenced."""
    x = x if x.dtype.kind == "f" else x.astype(State.default_dtype)
    t = np.negative(x) if x.ndim else np.negative(x, out=np.empty_like(x))     # (an array, also when 0-d)
    with _IEEE():
        np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


NUMPY.sigmoid = _sigmoid


class Sigmoid(Node):
    """y = 1 / (1 + e^-x);  dx = g y (1 - y)"""
    name = "sigmoid"
    saves = ("out",)

    def forward(self, x):
        y = _sigmoid(x)
        self.saved = y
        return y

    def backward(self, g):
        y = self.saved
        d = xp.subtract(1, y, out=xp.empty_like(y))
        d *= y
        d *= g
        return (d,)

    def jvp(self, t):
        y = self.saved
        return t * (y * (1 - y))


class Relu(Node):
    """y = max(x, 0);  dx = g [x > 0]"""
    name = "relu"
    saves = (None,)             # read only for its sign

    def forward(self, x):
        y = np.maximum(x, 0)
        self.saved = y
        return y

    def backward(self, g):
        return (g * (self.saved > 0),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class LeakyRelu(Node):
    """y = x if x > 0 else s x;  dx = g (1 or s)"""
    name = "leaky_relu"
    saves = (None,)

    def forward(self, x, slope):
        self.saved = x
        self.ctx = slope
        return np.where(x > 0, x, x * slope)

    def backward(self, g):
        return (xp.where(self.saved > 0, g, g * self.ctx),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Dropout(Node):
    """y = x m, with m_i = 1/(1-p) with probability 1-p and 0 otherwise, drawn when the op runs;  dx = g m

    The one op that draws random numbers: its mask comes from the default generator (``State.rng``, seeded by
    ``manual_seed``) inside ``forward``, so the draw is part of the op (``draws``) and ``tg.jit`` can replay it.
    """
    name = "dropout"
    saves = (None,)             # the mask: a constant in a recorded VJP
    draws = True

    def forward(self, x, p):
        mask = ((State.rng.random(x.shape) >= p) / (1 - p)).astype(x.dtype)
        self.saved = mask
        return x * mask

    def backward(self, g):
        return (g * self.saved,)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class Softplus(Node):
    """y = log(1 + e^x) (as logaddexp(0, x): no overflow);  dx = g sigmoid(x)"""
    name = "softplus"
    saves = (0,)

    def forward(self, x):
        self.saved = x
        return np.logaddexp(np.zeros((), dtype=x.dtype), x)

    def backward(self, g):
        return (g * xp.sigmoid(self.saved),)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same product as the VJP


class BinaryCrossEntropy(Node):
    """l = -(y max(log p, -100) + (1 - y) max(log(1 - p), -100))   (PyTorch's clamp of the logs)
    dp = g (p - y) / max(p (1 - p), 1e-12),  dy = g (max(log(1 - p), -100) - max(log p, -100))

    Finite at p = 0 and p = 1 (where the composite formula's gradient is inf * 0 = nan), as PyTorch's.
    """
    name = "binary_cross_entropy"
    saves = (0, 1)

    def forward(self, p, y):
        with _IEEE():
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        self.saved = (p, y)
        return -(y * log_p + (1 - y) * log_q)

    def backward(self, g):
        p, y = self.saved
        gp = gy = None
        with _IEEE():
            if self.needs_input_grad[0]:
                gp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)
            if self.needs_input_grad[1]:
                gy = g * (xp.maximum(xp.log1p(-p), -100) - xp.maximum(xp.log(p), -100))
        return gp, gy

    def jvp(self, tp, ty):
        p, y = self.saved
        with _IEEE():
            return (tp * (p - y) / xp.maximum(p * (1 - p), 1e-12)
                    + ty * (xp.maximum(xp.log1p(-p), -100) - xp.maximum(xp.log(p), -100)))


class Clip(Node):
    """y = min(max(x, lo), hi);  dx = g where lo <= x <= hi"""
    name = "clip"
    saves = (None,)

    def forward(self, x, lo, hi):
        self.saved = x
        self.ctx = (lo, hi)
        return np.clip(x, lo, hi)

    def backward(self, g):
        x, (lo, hi) = self.saved, self.ctx
        if lo is not None:
            g = g * (x >= lo)          # PyTorch passes the gradient on the bounds themselves
        if hi is not None:
            g = g * (x <= hi)
        return (g,)

    def jvp(self, t):
        return self.backward(t)[0]      # elementwise: the same mask as the VJP


class Cast(Node):
    """y = x as another dtype;  dx = g as x's dtype"""
    name = "cast"

    def forward(self, x, dtype):
        self.ctx = x.dtype
        if dtype.kind in "biu" and x.dtype.kind == "f":
            with _IEEE():      # nan/inf to an integer: numpy's (and PyTorch's) arbitrary value
                return x.astype(dtype)
        return x.astype(dtype)

    def backward(self, g):
        return (xp.astype(g, self.ctx),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

class Sum(Node):
    """y = sum_axis x;  dx = g broadcast back over the summed axes"""
    name = "sum"

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        self.ctx = (x.shape, axes, keepdims)
        # bool and integer tensors sum to int64 (PyTorch's; numpy would give uint64 for uint8)
        return x.sum(axis=axes, keepdims=keepdims, dtype=np.int64 if x.dtype.kind in "biu" else None)

    def backward(self, g):
        shape, axes, keep = self.ctx
        return (xp.broadcast_to(_regrow(g, shape, axes, keep), shape),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Mean(Node):
    """y = sum_axis x / n;  dx = g / n broadcast back"""
    name = "mean"

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        self.ctx = (x.shape, axes, keepdims)
        if x.size == 0:                 # the mean of nothing is nan (PyTorch's), without numpy's warning
            return np.full(np.sum(x, axis=axes, keepdims=keepdims).shape, np.nan, dtype=x.dtype)
        if x.dtype.kind != "f" or x.dtype.itemsize < 4:
            return x.mean(axis=axes, keepdims=keepdims)     # (float16 sums in float32 there)
        total = np.add.reduce(x, axis=axes, keepdims=keepdims)
        return total / (x.size // total.size)               # what x.mean does, without its Python wrapper

    def backward(self, g):
        shape, axes, keep = self.ctx
        n = 1
        for a in axes:
            n *= shape[a]
        return (xp.broadcast_to(_regrow(g, shape, axes, keep) / max(n, 1), shape),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Max(Node):
    """y = max_axis x;  dx = g at the arg-max, split evenly among ties (k tied elements get g / k each)

    This is PyTorch's rule for ``max()`` and ``amax(dim)``.  PyTorch's ``max(dim)``,
    which also returns indices, sends all of g to the returned index instead; ours
    returns values only, so ``max(axis=...)`` is ``amax`` and splits.
    """
    name = "max"
    saves = (None, None)        # read only to find the arg-max
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

    def jvp(self, t):
        (x, y), (axes, keep) = self.saved, self.ctx
        hit = x == y
        return xp.sum(t * (hit / hit.sum(axis=axes, keepdims=True)), axis=axes, keepdims=keep)


class Min(Max):
    """y = min_axis x;  dx = g at the arg-min (shared evenly among ties)"""
    name = "min"
    reduce = staticmethod(np.min)


class LogSumExp(Node):
    """y = m + log s, s = sum_axis e^(x - m), m = max x;  dx = g softmax(x) = g e^(x - m) / s

    The gradient is taken from e^(x - m) / s, not e^(x - y): y is rounded
    (1e16 + log 2 is 1e16 in float64), and e^(x - y) would then be 1, not 1/2.
    """
    name = "logsumexp"
    saves = ("derived",)

    def forward(self, x, axis, keepdims):
        axes = _axes(axis, x.ndim)
        m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        with _IEEE():       # x - m may overflow (x = -3e38, m = 3e38): e^-inf = 0 is then exact
            e = np.exp(x - m)
            s = np.sum(e, axis=axes, keepdims=True)
            y = np.log(s) + m
            # where every x is -inf (an impossible path in CTC), so is y; the gradient there is 0, not nan
            e /= np.where(s == 0, 1, s)
        self.saved = e
        self.ctx = (axes, keepdims)
        return y if keepdims else np.squeeze(y, axis=axes)

    def backward(self, g):
        p, (axes, keep) = self.saved, self.ctx
        return (_regrow(g, p.shape, axes, keep) * p,)

    def jvp(self, t):
        p, (axes, keep) = self.saved, self.ctx
        return xp.sum(t * p, axis=axes, keepdims=keep)

    def recorded_saved(self, derived):
        """For a recorded VJP: the saved softmax(x), as a Softmax node reading x."""
        return derived(Softmax, self.inputs, self.saved, ctx=self.ctx[0], saved=self.saved)


class NLLLoss(Node):
    """PyTorch's ``nll_loss`` of (N, C) log-probabilities with N class indices ``target`` (an input that needs no
    gradient), ``ignore_index`` not counted:  y = -sum_{i counted} x[i, target_i] / (number counted) ("mean", 0 when
    none is) or without the division ("sum");  dx = -g / (that number) at each counted (i, target_i), 0 elsewhere

    One op where indexing, negation and the mean record three, with the same arithmetic in the same order (so
    the same bits): the loss of one character in a per-character RNN is one node, and its VJP writes N values
    into zeros instead of an ``np.add.at``.  The targets are read here and nowhere else (their range is checked
    here too), so a ``tg.jit`` replay with other targets computes what eager mode does.
    """
    name = "nll_loss"

    def forward(self, x, target, mean, ignore_index):
        n, c = x.shape
        valid = target != ignore_index
        every = bool(valid.all())
        counted = target if every else target[valid]
        if counted.size and (counted.min() < 0 or counted.max() >= c):
            raise IndexError(f"nll_loss: target {int(counted[(counted < 0) | (counted >= c)][0])} is out of range "
                             f"for {c} classes")
        rows = np.arange(n)
        if every:
            count, picked = n, -x[rows, target]
        else:
            count, picked = int(valid.sum()), -x[rows, np.where(valid, target, 0)] * valid.astype(x.dtype)
            rows = rows[valid]
        self.ctx = (x.shape, (rows, counted), max(count, 1) if mean else 1, target)
        total = np.add.reduce(picked)
        return total / max(count, 1) if mean else total

    def backward(self, g):
        shape, index, n, _ = self.ctx
        return (xp.put_unique(shape, index, -xp.broadcast_to(g / n, index[0].shape)), None)

    def jvp(self, t, _):
        return NLLLoss.apply(t, _tensor.Tensor._wrap(self.ctx[3]), **self.params)      # linear in x, at the same targets


class LogSoftmax(Node):
    """y = x - logsumexp(x) = (x - m) - log sum e^(x - m);  dx = g - softmax(x) sum(g)

    The shift by m = max x is taken before the subtraction, so ties and huge
    logits are exact (x - lse(x) with lse rounded first would not be).
    """
    name = "log_softmax"
    saves = ("out",)

    def forward(self, x, axis):
        m = _finite_max(x, axis)
        with _IEEE():       # x - m may overflow to -inf (x = -3e38, m = 3e38): the exact answer rounds there too
            shifted = x - m
            y = shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
        self.saved = y
        self.ctx = axis
        return y

    def backward(self, g):
        y, axis = self.saved, self.ctx
        return (g - xp.exp(y) * xp.sum(g, axis=axis, keepdims=True),)

    def jvp(self, t):
        y, axis = self.saved, self.ctx
        return t - xp.sum(xp.exp(y) * t, axis=axis, keepdims=True)


class Softmax(Node):
    """y = e^(x - m) / sum e^(x - m);  dx = y (g - sum(g y))"""
    name = "softmax"
    saves = ("out",)

    def forward(self, x, axis):
        m = _finite_max(x, axis)
        with _IEEE():
            e = np.exp(x - m)
            y = e / np.sum(e, axis=axis, keepdims=True)
        self.saved = y
        self.ctx = axis
        return y

    def backward(self, g):
        y, axis = self.saved, self.ctx
        return (y * (g - xp.sum(g * y, axis=axis, keepdims=True)),)

    def jvp(self, t):
        return self.backward(t)[0]      # the softmax Jacobian is symmetric: J t = J^T t


def _finite_max(x: np.ndarray, axis: int) -> np.ndarray:
    """max along ``axis`` (kept): the shift of softmax and log-softmax.  A row whose maximum is +inf or -inf
    then gives nan everywhere, as PyTorch's does (``log_softmax([inf, 1])`` is ``[nan, nan]``)."""
    if x.shape[axis] == 0:           # an empty axis: the softmax is empty too (PyTorch's), any shift will do
        return np.zeros(x.shape[:axis] + (1,) + x.shape[axis + 1:], dtype=x.dtype)
    return x.max(axis=axis, keepdims=True)


class CumSum(Node):
    """y_i = sum_{j <= i} x_j along an axis;  dx_j = sum_{i >= j} g_i (a reversed cumulative sum)"""
    name = "cumsum"

    def forward(self, x, axis):
        self.ctx = axis
        return np.cumsum(x, axis=axis, dtype=np.int64 if x.dtype.kind in "biu" else None)   # int64, as sum

    def backward(self, g):
        axis = self.ctx
        return (xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Var(Node):
    """y = sum_axis (x - mean)^2 / (n - correction);  dx = g 2 (x - mean) / (n - correction)"""
    name = "var"
    saves = ("derived",)

    def forward(self, x, axis, keepdims, correction):
        axes = _axes(axis, x.ndim)
        n = 1
        for a in axes:
            n *= x.shape[a]
        denom = max(n - correction, 0)
        with _IEEE():       # over an empty axis, or n <= correction: nan or inf, as in PyTorch, without warnings
            d = x - np.sum(x, axis=axes, keepdims=True) / n if n else x - np.nan
            y = np.sum(d * d, axis=axes, keepdims=keepdims) / np.asarray(denom, dtype=x.dtype)
        self.saved = d
        self.ctx = (axes, keepdims, denom)
        return y

    def backward(self, g):
        d, (axes, keep, denom) = self.saved, self.ctx
        with _IEEE():       # n <= correction: 2 / 0 = inf, times d = 0: a nan gradient, as in PyTorch
            return (_regrow(g, d.shape, axes, keep) * (np.float64(2) / denom).astype(d.dtype) * d,)

    def jvp(self, t):
        d, (axes, keep, denom) = self.saved, self.ctx
        with _IEEE():       # sum(d) = 0, so d . (t - mean t) = d . t
            return xp.sum(d * t, axis=axes, keepdims=keep) * (np.float64(2) / denom).astype(d.dtype)

    def recorded_saved(self, derived):
        """For a recorded VJP: the saved d = x - mean(x), as a Sub node reading x and a Mean node of x."""
        d, axes = self.saved, self.ctx[0]
        kept = tuple(1 if i in axes else n for i, n in enumerate(d.shape))
        mean = derived(Mean, self.inputs, np.zeros(kept, d.dtype), ctx=(d.shape, axes, True),   # (values never read)
                       params={"axis": axes, "keepdims": True})
        return derived(Sub, (self.inputs[0], mean.grad_fn), d, ctx=(d.shape, mean.shape))


# ---------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------

class MatMul(Node):
    """y = a @ b (numpy semantics: 1-d, 2-d, batched);  da = g @ b^T,  db = a^T @ g"""
    name = "matmul"
    saves = (0, 1)

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: both operands need at least one dimension")
        ka, kb = a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]
        if ka != kb:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {ka} and {kb} differ")
        need = self.needs_input_grad
        self.saved = (a, b) if need is None or need[0] and need[1] else (_keep(need[1], a), _keep(need[0], b))
        if b.ndim == 2 and a.ndim > 2:   # (..., k) @ (k, n) is one (rows, k) @ (k, n) BLAS call, not a loop
            return (a.reshape(-1, ka) @ b).reshape(a.shape[:-1] + b.shape[1:])
        if a.ndim == 2 and b.ndim == 2:
            return _mm(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:   # speed: two matrices (h @ W at every step), the general case below in short
            need = self.needs_input_grad
            return (xp.mm(g, b.T) if need[0] else None, xp.product_sum(b.shape, a, g) if need[1] else None)
        a2 = a[None, :] if a.ndim == 1 else a        # a 1-d a is a row, a 1-d b a column (numpy's rule)
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = xp.expand_dims(g, -2)
        da = db = None
        if self.needs_input_grad[0]:
            # da = g b^T, summed over the batch axes a was broadcast along
            if b2.ndim == 2:          # speed: every row of the batch times one matrix is one 2-d BLAS call
                da = g.reshape(-1, g.shape[-1]) @ b2.T
            elif a2.ndim == 2:        # speed: a 2-d a shared by a batch of b: one matmul over the batch
                da = xp.moveaxis(g, -2, 0).reshape(g.shape[-2], -1) @ xp.swapaxes(b2, -1, -2).reshape(-1, a2.shape[1])
            else:
                da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)
            da = da.reshape(a.shape)
        if self.needs_input_grad[1]:
            # db = a^T g, summed over the batch axes b was broadcast along
            if b2.ndim == 2:          # speed: a weight used by every row (and every time step) stays lazy:
                db = xp.product_sum(b.shape, a2.reshape(-1, a2.shape[-1]), g.reshape(-1, g.shape[-1]))   # lazygrad.py
            else:
                db = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db

    def jvp(self, ta, tb):
        a, b = self.saved
        return ta @ b + a @ tb


class Linear(Node):
    """y = x W^T + b (PyTorch's ``linear``: W is (out, in), x (..., in), b (out) or absent)
    dx = g W,  dW = sum over rows of g^T x,  db = g summed over rows

    One op where ``x @ W.T + b`` records three: ``nn.Linear`` called once per time step is the
    per-character RNN's inner loop, and its weight's gradient stays lazy (one matmul over all steps).
    """
    name = "linear"
    saves = (0, 1)

    def forward(self, x, w, b=None):
        if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1] or b is not None and b.shape != w.shape[:1]:
            raise ShapeError(f"linear: input {x.shape}, weight {w.shape} and bias {None if b is None else b.shape} "
                             f"do not fit y = x W^T + b (W is (out_features, in_features))")
        need = self.needs_input_grad
        self.saved = (x, w) if need is None or need[0] and need[1] else (_keep(need[1], x), _keep(need[0], w))
        if x.ndim == 2:
            y = np.dot(x, w.T)
        else:                           # (..., in): one (rows, in) @ (in, out) BLAS call
            y = np.dot(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + w.shape[:1])
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.saved
        need = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        dx = xp.mm(g2, w).reshape(x.shape) if need[0] else None
        # speed: the weight's gradient sum_rows g^T x stays lazy, summed with every other step's (lazygrad.py)
        dw = xp.product_sum(w.shape, g2, x.reshape(-1, x.shape[-1])) if need[1] else None
        if len(need) == 2:
            return dx, dw
        return dx, dw, (g2.sum(axis=0) if need[2] else None)

    def jvp(self, tx, tw, tb=None):
        x, w = self.saved
        out = tx @ w.T + x @ tw.T
        return out if tb is None else out + tb


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

    jvp = Node.linear_jvp           # linear: the op itself on the tangents

    @staticmethod
    def view(x, shape):
        """The same view of any array of the input's shape (tensor.py replays views with it)."""
        return x.reshape(shape)


class Permute(Node):
    """y = x with its axes reordered;  dx = g with the inverse order"""
    name = "permute"

    def forward(self, x, axes):
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ShapeError(f"permute: {tuple(axes)} is not an ordering of the {x.ndim} axes of {x.shape}")
        self.ctx = axes
        return x.transpose(axes)

    takes_lazy = True               # speed: the transpose of a weight's lazy sum of products stays lazy (lazygrad.py)

    def backward(self, g):
        if type(g) is ProductSum:
            return (g.permute(self.ctx),)
        g = xp.dense(g)
        return (xp.permute(g, np.argsort([a % g.ndim for a in self.ctx])),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents

    @staticmethod
    def view(x, axes):
        """The same view of any array of the input's shape (tensor.py replays views with it)."""
        return x.transpose(axes)


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

    jvp = Node.linear_jvp           # linear: the op itself on the tangents

    @staticmethod
    def view(x, shape):
        """The same view of any array of the input's shape (tensor.py replays views with it)."""
        return np.broadcast_to(x, shape)


def _is_basic(index: Any) -> bool:
    for p in (index if type(index) is tuple else (index,)):
        if not (p is None or p is Ellipsis or isinstance(p, _BASIC)):
            return False
    return True


_BASIC = (int, np.integer, slice)


class GetItem(Node):
    """y = x[index];  dx = g scattered into zeros at index (repeated indices accumulate)"""
    name = "getitem"

    def forward(self, x, index):
        try:
            y = x[index]
        except IndexError as e:
            raise IndexError(f"getitem: index {index!r} into shape {x.shape}: {e}") from None
        if type(y) is not np.ndarray:           # x[0] of a 1-d x: a 0-d view of x (as PyTorch's), not a copy
            y = x[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
        self.ctx = (x.shape, index)
        return y

    def backward(self, g):
        shape, index = self.ctx
        if _is_basic(index):
            return (xp.scatter(shape, index, g),)
        return (xp.add_at(shape, index, g),)

    jvp = Node.linear_jvp           # linear: the op itself on the tangents

    @staticmethod
    def view(x, index):
        """The same view of any array of the input's shape (tensor.py replays views with it)."""
        return x[index]


class Embedding(Node):
    """y = weight[indices] (rows picked by integer ``indices``, an input that needs no gradient);
    dweight = g added into zeros at ``indices`` (repeats add up), except where an index is ``padding_idx``

    Not ``getitem`` with the indices as a constant: the indices are an input, read here and nowhere else (their
    range is checked here too), so a ``tg.jit`` replay with other indices computes what eager mode does.
    """
    name = "embedding"

    def forward(self, weight, indices, padding_idx):
        Embedding.check(indices, weight.shape[0])
        self.ctx = (weight.shape, indices, padding_idx)
        return weight[indices]

    def backward(self, g):
        shape, indices, pad = self.ctx
        if pad is None:
            return (xp.add_at(shape, indices, g), None)
        keep = indices != pad                   # the padding row gets nothing (PyTorch's)
        return (xp.add_at(shape, indices[keep], g[keep]), None)

    @staticmethod
    def check(indices, n):
        """Raise IndexError unless every index is in [0, n)."""
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"embedding: indices must be in [0, {n}) (num_embeddings), got range "
                             f"[{indices.min()}, {indices.max()}] (index out of range in self)")

    def jvp(self, t, _):
        shape, indices, pad = self.ctx
        rows = Embedding.apply(t, _tensor.Tensor._wrap(indices), padding_idx=None)
        return rows if pad is None else rows * (indices != pad)[..., None].astype(rows.dtype)


class WriteRegion(Node):
    """PyTorch's CopySlices: y = base with the elements a view reads replaced by src (an in-place op on a view).

    ``region`` holds, for each element of the view, the flat position in
    ``base`` it reads (``tensor.py`` finds it by replaying the view's steps on
    ``arange``), so one rule serves every chain of slices, reshapes and
    transposes:   dbase = g with the region zeroed,   dsrc = g read at the region.
    """
    name = "copy_slices"

    def forward(self, base, src, region):
        y = base.copy()
        y.reshape(-1)[region.reshape(-1)] = np.broadcast_to(src, region.shape).reshape(-1)
        self.ctx = (region, src.shape)
        return y

    def backward(self, g):
        region, src_shape = self.ctx
        flat = region.reshape(-1)
        gb = gs = None
        if self.needs_input_grad[0]:
            gb = xp.zeroed(g.reshape(-1), flat).reshape(g.shape)
        if self.needs_input_grad[1]:
            gs = unbroadcast(g.reshape(-1)[flat].reshape(region.shape), src_shape)
        return gb, gs

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


def _scatter_grid(index: np.ndarray, dim: int) -> tuple:
    """Where scatter writes: each position p of ``index``, with ``index[p]`` in place of p's ``dim``-th coordinate."""
    grid = list(np.ix_(*[np.arange(n) for n in index.shape]))
    grid[dim] = index
    return tuple(grid)


class ScatterSet(Node):
    """y = x, then y[to(p)] = src[p] for each position p of index (PyTorch's ``scatter``);
    dx = g with zeros where src was written,  dsrc[p] = g[to(p)]  (a gather of g)"""
    name = "scatter"

    def forward(self, x, src, dim, index):
        to = _scatter_grid(index, dim)
        region = tuple(slice(0, n) for n in index.shape)
        y = x.copy()
        y[to] = src[region]
        self.ctx = (to, region, src.shape)
        return y

    def backward(self, g):
        to, region, src_shape = self.ctx
        gx = gs = None
        if self.needs_input_grad[0]:
            gx = xp.zeroed(g, to)
        if self.needs_input_grad[1]:
            gs = xp.scatter(src_shape, region, g[to])
        return gx, gs

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class ScatterAdd(Node):
    """y = x, then y[to(p)] += src[p] for each position p of index (repeats add up; PyTorch's ``scatter_add``);
    dx = g,  dsrc[p] = g[to(p)]"""
    name = "scatter_add"

    def forward(self, x, src, dim, index):
        to = _scatter_grid(index, dim)
        region = tuple(slice(0, n) for n in index.shape)
        y = x.copy()
        np.add.at(y, to, src[region])
        self.ctx = (to, region, src.shape)
        return y

    def backward(self, g):
        to, region, src_shape = self.ctx
        gs = None
        if self.needs_input_grad[1]:
            gs = xp.scatter(src_shape, region, g[to])
        return (g if self.needs_input_grad[0] else None), gs

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class SetItem(Node):
    """y = x with y[index] = v (a recorded ``x[index] = v``);  dx = g with zeros at index,  dv = g[index]"""
    name = "setitem"

    def forward(self, x, v, index):
        y = x.copy()
        try:
            y[index] = v
        except (IndexError, ValueError) as e:
            raise ShapeError(f"setitem: cannot assign shape {v.shape} to index {index!r} of shape {x.shape}: "
                             f"{e}") from None
        self.ctx = (index, v.shape)
        return y

    def backward(self, g):
        index, v_shape = self.ctx
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = xp.zeroed(g, index)
        if self.needs_input_grad[1]:
            gv = unbroadcast(xp.asarray(g[index]), v_shape)
        return gx, gv

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Concat(Node):
    """y = concatenate(xs, axis);  dx_i = the slice of g that x_i filled"""
    name = "cat"

    def forward(self, *xs, axis):
        try:
            y = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ShapeError(f"cat: shapes {[x.shape for x in xs]} do not match outside axis {axis}") from None
        self.ctx = (axis % y.ndim, tuple(itertools.accumulate([x.shape[axis] for x in xs], initial=0)))
        return y

    def backward(self, g):
        axis, bounds = self.ctx
        lead = (slice(None),) * axis
        return tuple(g[lead + (slice(lo, hi),)] if need else None
                     for lo, hi, need in zip(bounds[:-1], bounds[1:], self.needs_input_grad))

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


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
        return tuple(g[lead + (i,)] if need else None for i, need in enumerate(self.needs_input_grad))

    jvp = Node.linear_jvp           # linear: the op itself on the tangents


class Pad(Node):
    """y = x padded with a constant;  dx = the middle of g"""
    name = "pad"

    def forward(self, x, pad_width, value):
        self.ctx = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.ctx],)

    def jvp(self, t):                   # affine: the padding is constant, its tangent 0
        return Pad.apply(t, pad_width=self.params["pad_width"], value=0)
