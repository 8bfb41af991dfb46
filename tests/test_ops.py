"""One hypothesis-driven factory that checks every primitive op.

Each ``Spec`` says how to draw inputs (shapes, values kept away from kinks) and
gives the op and its numpy reference.  For every drawn example the same test
checks the forward against numpy, the backward against finite differences
(``tg.gradcheck`` in float64), and that float32 in gives float32 out and float32
gradients.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_seq as tg

# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def smooth(lo: float = -2.0, hi: float = 2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float = 0.2, hi: float = 2.0):
    """|x| in [lo, hi]: keeps relu, abs, 1/x away from their kink or pole."""
    return st.tuples(st.floats(lo, hi), st.booleans()).map(lambda p: p[0] if p[1] else -p[0])


def grid(offset: float = 0.0):
    """Multiples of 0.1 (+ offset): distinct values stay 0.1 apart, far from max/min ties."""
    return st.integers(-30, 30).map(lambda i: i / 10 + offset)


def array(data, shape, elements, unique: bool = False) -> np.ndarray:
    return data.draw(hnp.arrays(np.float64, shape, elements=elements, unique=unique))


def axis_args(data, ndim: int) -> dict:
    """axis: None, one axis (maybe negative) or a tuple of axes; keepdims: either."""
    if ndim == 0:
        axis = data.draw(st.sampled_from([None, 0, -1]))
    else:
        axis = data.draw(st.one_of(
            st.none(), st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    return {"axis": axis, "keepdims": data.draw(st.booleans())}


def _np_axis(axis, ndim):
    return None if axis is None else axis if ndim else None


# ---------------------------------------------------------------------------
# the table of ops under test
# ---------------------------------------------------------------------------

@dataclass
class Spec:
    name: str
    fn: Callable[..., tg.Tensor]              # op on Tensors (+ keyword arguments)
    ref: Callable[..., np.ndarray]            # the same on ndarrays
    draw: Callable[[Any], tuple[list, dict]]  # data -> (input arrays, keyword arguments)
    atol: float = 1e-12


def unary(name, fn, ref, elements=smooth()):
    return Spec(name, fn, ref, lambda d: ([array(d, d.draw(shapes()), elements)], {}))


def binary(name, fn, ref, left=smooth(), right=smooth()):
    def draw(d):
        sa, sb = d.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
        return [array(d, sa, left), array(d, sb, right)], {}
    return Spec(name, fn, ref, draw)


def reduction(name, fn, ref, elements=smooth(), unique=False):
    def draw(d):
        shape = d.draw(shapes())
        return [array(d, shape, elements, unique)], axis_args(d, len(shape))
    return Spec(name, fn, lambda x, axis, keepdims: ref(x, axis=_np_axis(axis, x.ndim), keepdims=keepdims), draw)


def _draw_matmul(d):
    sa, sb = d.draw(hnp.mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, max_side=3)).input_shapes
    return [array(d, sa, smooth()), array(d, sb, smooth())], {}


def _draw_linear(d):
    """x (..., in) with 0 to 3 leading axes, W (out, in), with or without a bias (out,)."""
    lead = d.draw(st.lists(st.integers(1, 3), max_size=3))
    n_in, n_out = d.draw(st.integers(1, 4)), d.draw(st.integers(1, 4))
    arrays = [array(d, (*lead, n_in), smooth()), array(d, (n_out, n_in), smooth())]
    if d.draw(st.booleans()):
        arrays.append(array(d, (n_out,), smooth()))
    return arrays, {}


def _draw_nll(d):
    """(N, C) log-probabilities (any values: the op only picks and averages), N >= 1 targets (an array or an int64
    Tensor), mean or sum, and an ``ignore_index`` (-100, never drawn, or a class that some targets may be) with at
    least one target counted."""
    n, c = d.draw(st.integers(1, 4)), d.draw(st.integers(1, 4))
    target = np.array(d.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    ignore = d.draw(st.sampled_from([-100, *range(c)]))
    if (target == ignore).all():
        ignore = -100
    return [array(d, (n, c), smooth())], {"target": target, "reduction": d.draw(st.sampled_from(["mean", "sum"])),
                                          "ignore_index": ignore, "as_tensor": d.draw(st.booleans())}


def _nll(x, target, reduction, ignore_index, as_tensor):
    return tg.nn.functional.nll_loss(x, tg.tensor(target) if as_tensor else target, ignore_index=ignore_index,
                                     reduction=reduction)


def _np_nll(x, target, reduction, ignore_index, as_tensor):
    picked = -np.array([x[i, t] for i, t in enumerate(target) if t != ignore_index])   # PyTorch's equation, by row
    return picked.mean() if reduction == "mean" else picked.sum()


def _draw_dropout(d):
    """Any shape, p in [0, 0.9], a seed: the op draws its mask from the default generator, seeded first."""
    return [array(d, d.draw(shapes()), smooth())], {"p": d.draw(st.sampled_from([0.0, 0.1, 0.5, 0.9])),
                                                    "seed": d.draw(st.integers(0, 2 ** 32 - 1))}


def _dropout(x, p, seed):
    tg.manual_seed(seed)                        # the same mask in every call (gradcheck calls it many times)
    return tg.nn.functional.dropout(x, p)


def _np_dropout(x, p, seed):
    """PyTorch's rule (zero with probability p, scale the rest by 1/(1-p)) with our documented generator: numpy's
    default_rng(seed), one uniform draw per element, kept where it is >= p."""
    return x * ((np.random.default_rng(seed).random(x.shape) >= p) / (1 - p))


def _draw_embedding(d):
    """A (n, dim) weight and integer indices of any shape (0-d too; repeats), as an array or an int64 Tensor."""
    n, dim = d.draw(st.integers(1, 4)), d.draw(st.integers(1, 3))
    idx = d.draw(hnp.arrays(np.int64, d.draw(shapes(max_dims=2)), elements=st.integers(0, n - 1)))
    return [array(d, (n, dim), smooth())], {"indices": idx, "as_tensor": d.draw(st.booleans())}


def _np_linear(x, w, b=None):
    y = np.einsum("...i,oi->...o", x, w)
    return y if b is None else y + b


def _draw_getitem(d):
    shape = d.draw(shapes(min_dims=1))
    x = array(d, shape, smooth())
    kind = d.draw(st.sampled_from(["basic", "int-array", "bool-mask", "mixed"]))
    if kind == "basic":
        index = d.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int-array":   # repeated indices must accumulate
        index = np.array(d.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6)))
    elif kind == "bool-mask":
        index = d.draw(hnp.arrays(bool, shape))
    else:
        index = (slice(None), np.array(d.draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=4)))) \
            if len(shape) > 1 else (np.array([0, 0]),)
    return [x], {"index": index}


def _draw_cat(d, same_shape=False):
    base = list(d.draw(shapes(min_dims=1)))
    axis = d.draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(d.draw(st.integers(1, 3))):
        s = list(base)
        if not same_shape:
            s[axis] = d.draw(st.integers(1, 3))
        xs.append(array(d, tuple(s), smooth()))
    return xs, {"axis": axis}


def _draw_permute(d):
    shape = d.draw(shapes())
    return [array(d, shape, smooth())], {"dims": tuple(d.draw(st.permutations(range(len(shape)))))}


def _draw_reshape(d):
    shape = d.draw(shapes())
    new = d.draw(st.sampled_from([(-1,), tuple(reversed(shape)), (1,) + tuple(shape)]))
    return [array(d, shape, smooth())], {"shape": new}


def _draw_expand(d):
    shape = d.draw(shapes(max_dims=2))
    target = tuple(d.draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    target = (d.draw(st.integers(1, 2)),) + target
    return [array(d, shape, smooth())], {"shape": target}


def _draw_split(d):
    shape = d.draw(shapes(min_dims=1))
    axis = d.draw(st.integers(0, len(shape) - 1))
    how = d.draw(st.one_of(st.integers(1, 4), st.just("sections")))
    if how == "sections":
        n, cuts = shape[axis], []
        while sum(cuts) < n:
            cuts.append(d.draw(st.integers(1, n - sum(cuts))))
        how = cuts
    return [array(d, shape, smooth())], {"how": how, "axis": axis}


def _np_split(x, how, axis):
    n = x.shape[axis]
    sizes = [min(how, n - i) for i in range(0, n, how)] if isinstance(how, int) else how
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _draw_pad(d):
    shape = d.draw(shapes(min_dims=1, max_dims=2))
    widths = tuple((d.draw(st.integers(0, 2)), d.draw(st.integers(0, 2))) for _ in shape)
    return [array(d, shape, smooth())], {"pad_width": widths, "value": d.draw(smooth())}


def _draw_where(d):
    sc, sa, sb = d.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)).input_shapes
    return [array(d, sa, smooth()), array(d, sb, smooth())], {"cond": d.draw(hnp.arrays(bool, sc))}


def _draw_clip(d):
    # values on a 0.1 grid, bounds between grid points: never at a kink
    return [array(d, d.draw(shapes()), grid())], {"lo": -0.55, "hi": d.draw(st.sampled_from([0.35, None]))}


def _draw_pow_scalar(d):
    return [array(d, d.draw(shapes()), smooth(0.3, 2.0))], {"p": d.draw(st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5]))}


def _draw_softmax(d):
    shape = d.draw(shapes(min_dims=1))
    return [array(d, shape, smooth(-5, 5))], {"axis": d.draw(st.integers(-len(shape), len(shape) - 1))}


def _lse(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return y
    return y.reshape(np.sum(x, axis=axis).shape)


def _np_log_softmax(x, axis):
    return x - _lse(x, axis, True)


def _np_var(x, axis, keepdims):
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    if n < 2:
        return None  # undefined (n - 1 = 0); such examples are skipped
    return np.var(x, axis=axis, keepdims=keepdims, ddof=1)


def _draw_setitem(d):
    shape = d.draw(shapes(min_dims=1))
    x = array(d, shape, smooth())
    index = d.draw(hnp.basic_indices(shape, allow_ellipsis=True))
    target = x[index].shape
    v_shape = d.draw(st.sampled_from([target, target[1:], ()]))
    return [x, array(d, v_shape, smooth())], {"index": index}


def _setitem(x, v, index):
    y = x * 1                       # a non-leaf: x[index] = v on a leaf that requires grad is refused
    y[index] = v
    return y


def _np_setitem(x, v, index):
    y = x.copy()
    y[index] = v
    return y


def _mul_view(x, v, index):
    y = x * 1
    y[index].mul_(v)                # an in-place op on a view: y's history becomes copy_slices (PyTorch's CopySlices)
    return y


def _np_mul_view(x, v, index):
    y = x.copy()
    y[index] *= v
    return y


def _draw_scatter(d, unique: bool):
    """x, src and PyTorch's scatter arguments: index no larger than src, nor than x outside ``dim``; with
    ``unique`` every target along ``dim`` is written once (scatter with repeats keeps an undefined winner)."""
    shape = d.draw(shapes(min_dims=1))
    dim = d.draw(st.integers(-len(shape), len(shape) - 1))
    k = dim % len(shape)
    ishape = tuple(d.draw(st.integers(1, n if (i != k or unique) else 4)) for i, n in enumerate(shape))
    sshape = tuple(n + d.draw(st.integers(0, 1)) for n in ishape)
    rng = np.random.default_rng(d.draw(st.integers(0, 2 ** 16)))
    if unique:
        perm = np.argsort(rng.random(ishape[:k] + (shape[k],) + ishape[k + 1:]), axis=k)
        index = perm[tuple(slice(0, n) for n in ishape)]
    else:
        index = rng.integers(0, shape[k], ishape)
    return [array(d, shape, smooth()), array(d, sshape, smooth())], {"dim": dim, "index": index}


def _np_scatter(x, src, dim, index, add):
    out = x.copy()
    for p in np.ndindex(*index.shape):              # out[p with index[p] along dim] = (or +=) src[p]
        q = list(p)
        q[dim] = index[p]
        out[tuple(q)] = out[tuple(q)] + src[p] if add else src[p]
    return out


def _draw_bce(d):
    shape = d.draw(shapes())
    return [array(d, shape, smooth(0.05, 0.95)), array(d, shape, smooth(0.0, 1.0))], {}


def _np_bce(p, y):
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


SPECS = [
    binary("add", lambda a, b: a + b, np.add),
    binary("sub", lambda a, b: a - b, np.subtract),
    binary("mul", lambda a, b: a * b, np.multiply),
    binary("div", lambda a, b: a / b, np.divide, right=away_from_zero(0.3)),
    binary("pow", lambda a, b: a ** b, np.power, left=smooth(0.3, 2.0)),
    binary("maximum", tg.maximum, np.maximum, left=grid(), right=grid(0.05)),
    binary("minimum", tg.minimum, np.minimum, left=grid(), right=grid(0.05)),
    unary("neg", lambda x: -x, np.negative),
    unary("exp", tg.exp, np.exp),
    unary("log", tg.log, np.log, smooth(0.2, 3.0)),
    unary("sqrt", tg.sqrt, np.sqrt, smooth(0.2, 3.0)),
    unary("abs", tg.abs, np.abs, away_from_zero()),
    unary("tanh", tg.tanh, np.tanh),
    unary("sigmoid", tg.sigmoid, _sigmoid, smooth(-6, 6)),
    unary("relu", tg.relu, lambda x: np.maximum(x, 0), away_from_zero()),
    unary("leaky_relu", lambda x: tg.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), away_from_zero()),
    unary("softplus", tg.softplus, lambda x: np.log1p(np.exp(x)), smooth(-6, 6)),
    Spec("pow_scalar", lambda x, p: x ** p, lambda x, p: x ** p, _draw_pow_scalar),
    Spec("clip", lambda x, lo, hi: tg.clip(x, lo, hi), lambda x, lo, hi: np.clip(x, lo, hi), _draw_clip),
    Spec("where", lambda a, b, cond: tg.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b), _draw_where),
    reduction("sum", lambda x, axis, keepdims: x.sum(axis, keepdims), np.sum),
    reduction("mean", lambda x, axis, keepdims: x.mean(axis, keepdims), np.mean),
    reduction("max", lambda x, axis, keepdims: x.amax(axis, keepdims), np.max, grid(), unique=True),
    reduction("min", lambda x, axis, keepdims: x.amin(axis, keepdims), np.min, grid(), unique=True),
    reduction("logsumexp", lambda x, axis, keepdims: x.logsumexp(axis, keepdims), _lse),
    reduction("var", lambda x, axis, keepdims: x.var(axis, keepdim=keepdims), _np_var),
    unary("sin", tg.sin, np.sin),
    unary("cos", tg.cos, np.cos),
    Spec("cumsum", lambda x, axis: tg.cumsum(x, axis), lambda x, axis: np.cumsum(x, axis=axis), _draw_softmax),
    Spec("setitem", _setitem, _np_setitem, _draw_setitem),
    Spec("copy_slices", _mul_view, _np_mul_view, _draw_setitem),
    Spec("matmul", lambda a, b: a @ b, np.matmul, _draw_matmul),
    Spec("linear", lambda *xwb: tg.nn.functional.linear(*xwb), _np_linear, _draw_linear),
    Spec("nll_loss", _nll, _np_nll, _draw_nll),
    Spec("dropout", _dropout, _np_dropout, _draw_dropout),
    Spec("embedding", lambda w, indices, as_tensor: tg.nn.functional.embedding(
        tg.tensor(indices) if as_tensor else indices, w), lambda w, indices, as_tensor: w[indices], _draw_embedding),
    Spec("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _draw_reshape),
    Spec("permute", lambda x, dims: x.permute(dims), lambda x, dims: x.transpose(dims), _draw_permute),
    Spec("expand", lambda x, shape: x.expand(*shape), lambda x, shape: np.broadcast_to(x, shape), _draw_expand),
    Spec("getitem", lambda x, index: x[index], lambda x, index: x[index], _draw_getitem),
    Spec("scatter", lambda x, s, dim, index: x.scatter(dim, tg.tensor(index), s),
         lambda x, s, dim, index: _np_scatter(x, s, dim, index, False), lambda d: _draw_scatter(d, True)),
    Spec("scatter_add", lambda x, s, dim, index: x.scatter_add(dim, tg.tensor(index), s),
         lambda x, s, dim, index: _np_scatter(x, s, dim, index, True), lambda d: _draw_scatter(d, False)),
    Spec("cat", lambda *xs, axis: tg.cat(xs, axis), lambda *xs, axis: np.concatenate(xs, axis), _draw_cat),
    Spec("stack", lambda *xs, axis: tg.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis),
         lambda d: _draw_cat(d, same_shape=True)),
    Spec("split", lambda x, how, axis: x.split(how, axis), _np_split, _draw_split),
    Spec("pad", lambda x, pad_width, value: tg.pad(x, pad_width, value),
         lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value), _draw_pad),
    Spec("binary_cross_entropy", lambda p, y: tg.nn.functional.binary_cross_entropy(p, y, reduction="none"),
         _np_bce, _draw_bce),
    Spec("log_softmax", lambda x, axis: tg.log_softmax(x, axis), _np_log_softmax, _draw_softmax),
    Spec("softmax", lambda x, axis: tg.softmax(x, axis), lambda x, axis: np.exp(_np_log_softmax(x, axis)),
         _draw_softmax),
]


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_op_forward_backward_dtype(spec: Spec, data) -> None:
    arrays, kw = spec.draw(data)
    expected = spec.ref(*arrays, **kw)
    if expected is None:
        return
    # forward agrees with numpy (float64)
    tensors = [tg.Tensor(a, requires_grad=True) for a in arrays]
    outs = _as_list(spec.fn(*tensors, **kw))
    for out, exp in zip(outs, _as_list(expected)):
        assert out.shape == np.shape(exp)
        np.testing.assert_allclose(out.numpy(), exp, rtol=1e-10, atol=spec.atol)
    assert all(type(o.numpy()) is np.ndarray for o in outs)         # 0-d results too: arrays, not scalars
    # backward agrees with central differences
    assert tg.gradcheck(lambda *ts: spec.fn(*ts, **kw), tensors)
    assert all(type(t.grad.numpy()) is np.ndarray for t in tensors if t.grad is not None)
    # float32 stays float32, forward and backward
    t32 = [tg.Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    outs32 = _as_list(spec.fn(*t32, **kw))
    assert all(o.dtype == np.float32 for o in outs32)
    total = sum((o.sum() for o in outs32), tg.zeros((), dtype=np.float32))
    total.backward()
    assert all(t.grad is None or t.grad.dtype == np.float32 for t in t32)


def test_every_primitive_op_is_in_the_factory() -> None:
    from tinygrad_seq import ops
    from tinygrad_seq.tensor import Node
    primitives = {c.name for c in vars(ops).values() if isinstance(c, type) and issubclass(c, Node) and c is not Node}
    missing = primitives - {s.name for s in SPECS} - {"cast"}   # cast: test_tensor.py
    assert not missing, f"primitive ops without a property test: {sorted(missing)}"


# ---------------------------------------------------------------------------
# 0-d tensors: arrays, never numpy scalars, and gradients that add up when read twice
# ---------------------------------------------------------------------------

def _set(a, b):
    y = a * 1
    y[()] = b
    return y


ZERO_D = {   # every primitive on 0-d inputs (matmul, cat, split and pad need at least one axis, nll_loss and embedding two)
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b, "maximum": tg.maximum, "minimum": tg.minimum, "neg": lambda a: -a,
    "exp": tg.exp, "log": tg.log, "sqrt": tg.sqrt, "abs": tg.abs, "tanh": tg.tanh, "sigmoid": tg.sigmoid,
    "relu": tg.relu, "leaky_relu": tg.leaky_relu, "softplus": tg.softplus, "sin": tg.sin, "cos": tg.cos,
    "pow_scalar": lambda a: a ** 3, "clip": lambda a: a.clamp(-3.0, 0.9),
    "where": lambda a, b: tg.where(np.array(True), a, b), "sum": lambda a: a.sum(), "mean": lambda a: a.mean(),
    "max": lambda a: a.amax(), "min": lambda a: a.amin(), "logsumexp": lambda a: a.logsumexp(),
    "var": lambda a: a.reshape(1).expand(2).var() + a, "reshape": lambda a: a.reshape(1, 1),
    "permute": lambda a: a.permute(()), "expand": lambda a: a.expand(3), "getitem": lambda a: a[()],
    "stack": lambda a, b: tg.stack([a, b]), "log_softmax": lambda a: a.log_softmax(0),
    "softmax": lambda a: a.softmax(-1), "cumsum": lambda a: a.cumsum(0), "setitem": _set,
    "cast": lambda a: a.double(), "scatter": lambda a, b: a.scatter(0, tg.tensor(0), b) * a,
    "scatter_add": lambda a, b: a.scatter_add(0, tg.tensor(0), b),
    "copy_slices": lambda a, b: _mul_view(a, b, ()),
    "binary_cross_entropy": lambda a, b: tg.nn.functional.binary_cross_entropy(a, b, reduction="none"),
    "dropout": lambda a: _dropout(a, 0.5, 0),       # (seed 0 keeps a 0-d input: its draw is 0.64)
}


def test_every_primitive_op_has_a_0d_check() -> None:
    from tinygrad_seq import ops
    from tinygrad_seq.tensor import Node
    primitives = {c.name for c in vars(ops).values() if isinstance(c, type) and issubclass(c, Node) and c is not Node}
    missing = primitives - set(ZERO_D) - {"matmul", "linear", "nll_loss", "embedding", "cat", "pad"}
    assert not missing, f"primitive ops without a 0-d check: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_op_on_0d_inputs_gives_arrays_and_gradients_add_up_when_read_twice(name) -> None:
    fn = ZERO_D[name]
    n_in = fn.__code__.co_argcount if hasattr(fn, "__code__") else 2 if name in ("maximum", "minimum") else 1
    values = [0.7, 1.3][:n_in]
    ins = [tg.Tensor(np.array(v), requires_grad=True) for v in values]
    out = fn(*ins)
    assert type(out.numpy()) is np.ndarray
    # the output read twice (y * y + e^y) and, for two-input ops, the same input read twice
    assert tg.gradcheck(lambda *ts: (lambda y: (y * y + y.exp()).sum())(fn(*ts)), ins)
    if n_in == 2:
        assert tg.gradcheck(lambda t: (lambda y: (y * y).sum())(fn(t, t)), [ins[0]])
    ((lambda y: (y * y + y.exp()).sum())(fn(*ins))).backward()
    assert ins[0].grad is not None
    assert all(t.grad is None or (type(t.grad.numpy()) is np.ndarray and t.grad.shape == ()) for t in ins)


def test_0d_values_read_twice_by_hand() -> None:
    w, x = tg.Tensor(np.array(2.0), requires_grad=True), tg.Tensor(np.array(3.0))
    (w * x + w * w).backward()                  # d/dw = x + 2w = 3 + 4
    assert w.grad.item() == 7.0 and type(w.grad.numpy()) is np.ndarray
    v = tg.Tensor([0.5, 1.0], dtype=np.float64, requires_grad=True)
    s = v.sum()
    (s * s + s.exp()).backward()                # d/dv_i = 2 s + e^s, s = 1.5
    np.testing.assert_allclose(v.grad.numpy(), [3 + np.exp(1.5)] * 2, rtol=1e-15)
    x = tg.Tensor(np.array(2.0), requires_grad=True)
    (x * 3).backward()
    assert np.asarray(x.grad).shape == () and type((x * 3).numpy()) is np.ndarray
    for t in (tg.Tensor(np.array(2.5)), tg.Tensor([2.5]), tg.Tensor([[2.5]])):
        assert float(t) == 2.5 and int(t) == 2 and t.item() == 2.5 and np.asarray(t).dtype == t.dtype
    assert tg.Tensor(np.array(2.5)).tolist() == 2.5 and tg.Tensor([[1.0]]).tolist() == [[1.0]]


# ties: the factory above draws distinct values, so the tie rule is pinned here by hand.
# PyTorch's rule: a reduction (max() / amax, full or along axes) splits the gradient evenly
# among the tied elements; elementwise maximum / minimum gives half to each side of a tie.
# PyTorch's max(dim), which also returns indices, sends it all to the returned index (the first tie).
# ---------------------------------------------------------------------------

def _grad(fn, *arrays, upstream=None):
    ts = [tg.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(None if upstream is None else np.array(upstream, dtype=np.float64))
    return [t.grad.numpy() for t in ts]


def test_full_max_and_min_split_the_gradient_evenly_among_ties():
    np.testing.assert_array_equal(_grad(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0])[0], [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(_grad(lambda x: x.min(), [1.0, 3.0, 1.0, 2.0])[0], [0.5, 0, 0.5, 0])
    np.testing.assert_allclose(_grad(lambda x: x.max() * 3, [[2.0, 2.0], [2.0, 1.0]])[0], [[1, 1], [1, 0]])
    np.testing.assert_array_equal(_grad(lambda x: x.max(), [7.0])[0], [1.0])          # no tie: all of it


def test_max_and_min_along_an_axis_split_evenly_within_each_slice():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]]
    w = [1.0, 2.0, 3.0]                                              # upstream gradient per row
    np.testing.assert_allclose(_grad(lambda t: t.amax(1), x, upstream=w)[0],
                               [[0, 0.5, 0.5], [2 / 3, 2 / 3, 2 / 3], [0, 3, 0]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.amax(dim=1, keepdim=True), x, upstream=[[1.0], [2.0], [3.0]])[0],
                               [[0, 0.5, 0.5], [2 / 3, 2 / 3, 2 / 3], [0, 3, 0]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.amin(0), x, upstream=w)[0],
                               [[0, 0, 0], [0, 2, 0], [1, 0, 3]], rtol=1e-15)
    np.testing.assert_allclose(_grad(lambda t: t.amin(1), x, upstream=w)[0],
                               [[1, 0, 0], [2 / 3, 2 / 3, 2 / 3], [3, 0, 0]], rtol=1e-15)
    y = [[[1.0, 4.0], [4.0, 0.0]], [[2.0, 2.0], [1.0, 2.0]]]             # over two axes at once
    np.testing.assert_allclose(_grad(lambda t: t.amax((1, 2)), y, upstream=[1.0, 6.0])[0],
                               [[[0, 0.5], [0.5, 0]], [[2, 2], [0, 2]]], rtol=1e-15)


def test_max_with_dim_sends_the_gradient_to_the_returned_index():
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]]
    np.testing.assert_array_equal(_grad(lambda t: t.max(dim=1).values, x, upstream=[1.0, 2.0, 3.0])[0],
                                  [[0, 1, 0], [2, 0, 0], [0, 3, 0]])
    np.testing.assert_array_equal(_grad(lambda t: t.min(dim=0).values, x, upstream=[1.0, 2.0, 3.0])[0],
                                  [[0, 0, 0], [0, 2, 0], [1, 0, 3]])
    assert tg.Tensor(x).max(dim=1).indices.tolist() == [1, 0, 1]


def test_elementwise_maximum_and_minimum_give_half_to_each_side_of_a_tie():
    da, db = _grad(lambda a, b: tg.maximum(a, b), [1.0, 2.0, 3.0], [1.0, 1.0, 4.0], upstream=[2.0, 2.0, 2.0])
    np.testing.assert_array_equal(da, [1, 2, 0])
    np.testing.assert_array_equal(db, [1, 0, 2])
    da, db = _grad(lambda a, b: tg.minimum(a, b), [1.0, 2.0, 3.0], [1.0, 1.0, 4.0], upstream=[2.0, 2.0, 2.0])
    np.testing.assert_array_equal(da, [1, 0, 2])
    np.testing.assert_array_equal(db, [1, 2, 0])
    da, db = _grad(lambda a, b: a.maximum(b).sum(), [2.0, 2.0, 5.0], 2.0)   # broadcast: the scalar's halves add up
    np.testing.assert_array_equal(da, [0.5, 0.5, 1])
    assert db == 1.0


def test_gradients_at_kinks_follow_pytorch():
    """The factory keeps values away from kinks, so the values at exactly 0 are pinned here:
    PyTorch gives relu'(0) = 0, leaky_relu'(0) = the slope, abs'(0) = 0."""
    x = [-1.0, 0.0, 2.0]
    np.testing.assert_array_equal(_grad(lambda t: tg.relu(t).sum(), x)[0], [0, 0, 1])
    np.testing.assert_array_equal(_grad(lambda t: tg.leaky_relu(t, 0.25).sum(), x)[0], [0.25, 0.25, 1])
    np.testing.assert_array_equal(_grad(lambda t: tg.abs(t).sum(), x)[0], [-1, 0, 1])


def test_clamp_passes_the_gradient_on_its_bounds_as_pytorch_does():
    np.testing.assert_array_equal(_grad(lambda t: t.clamp(-1.0, 1.0).sum(), [-2.0, -1.0, 0.0, 1.0, 2.0])[0],
                                  [0, 1, 1, 1, 0])
