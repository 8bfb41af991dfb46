"""Ops drawn together with their parameters (issue 25): p of a norm, negative and tuple dims, ties, bounds,
broadcasting, negative ``padding_idx``, label smoothing over extra axes, ``pos_weight``, ``eps``.

Values are checked against numpy written out here; gradients against central differences (``tg.gradcheck``,
float64) and, where the rule is short, against the derivative written by hand.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F


def examples(n: int) -> int:
    """n examples under the ci profile (50 by default), six times as many under the "thorough" one (300)."""
    return max(1, n * settings.default.max_examples // 50)

SHAPES = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)


def arr(seed: int, shape: tuple, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, shape)


@st.composite
def dims(draw, ndim: int):
    """None, one dim or a tuple of distinct dims, each written negative or not."""
    kind = draw(st.sampled_from(["none", "one", "tuple"]))
    if kind == "none":
        return None
    if kind == "one":
        d = draw(st.integers(0, ndim - 1))
        return d - ndim if draw(st.booleans()) else d
    ds = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if draw(st.booleans()) else d for d in ds)


def np_axes(dim, ndim):
    return None if dim is None else tuple(d % ndim for d in (dim if isinstance(dim, tuple) else (dim,)))


@settings(max_examples=examples(25))
@given(st.data(), SHAPES, st.integers(0, 2**16),
       st.one_of(st.sampled_from([1, 2, 3, 4, 0.5, 1.5, 2.5, float("inf")]), st.floats(0.3, 6.0)),
       st.booleans())
def test_norm_any_p_any_dims(data, shape, seed, p, keepdim):
    """||x||_p = (sum |x|^p)^(1/p) (max |x| for inf) over the drawn dims; its gradient by central differences."""
    dim = data.draw(dims(len(shape)))
    x0 = arr(seed, shape)
    x0[np.abs(x0) < 0.2] += 0.5             # away from the kink of |x| at 0
    axes = np_axes(dim, len(shape))
    if p == float("inf"):
        want = np.abs(x0).max(axis=axes, keepdims=keepdim)
    else:
        want = (np.abs(x0) ** p).sum(axis=axes, keepdims=keepdim) ** (1 / p)
    x = tg.tensor(x0, requires_grad=True)
    got = x.norm(p, dim, keepdim)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    if p != float("inf") or len(np.unique(np.abs(x0))) == x0.size:
        tg.gradcheck(lambda t: t.norm(p, dim, keepdim), [x])


@settings(max_examples=examples(25))
@given(st.data(), SHAPES, st.integers(0, 2**16),
       st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "var0", "var1", "var2", "std"]), st.booleans())
def test_reductions_over_drawn_dims(data, shape, seed, op, keepdim):
    dim = data.draw(dims(len(shape)))
    x0 = arr(seed, shape)
    axes = np_axes(dim, len(shape))
    n = int(np.prod([shape[a] for a in (axes if axes is not None else range(len(shape)))]))
    x = tg.tensor(x0, requires_grad=True)
    if op.startswith("var"):
        c = int(op[3])
        if n - c <= 0:
            return
        fn = lambda t: t.var(dim, keepdim=keepdim, correction=c)  # noqa: E731
        want = ((x0 - x0.mean(axis=axes, keepdims=True)) ** 2).sum(axis=axes, keepdims=keepdim) / (n - c)
    elif op == "std":
        if n < 2:
            return
        fn = lambda t: t.std(dim, keepdim=keepdim)  # noqa: E731
        want = np.sqrt(((x0 - x0.mean(axis=axes, keepdims=True)) ** 2).sum(axis=axes, keepdims=keepdim) / (n - 1))
    elif op == "logsumexp":
        fn = lambda t: t.logsumexp(dim if dim is not None else tuple(range(len(shape))), keepdim)  # noqa: E731
        want = np.log(np.exp(x0).sum(axis=axes, keepdims=keepdim))
    else:
        fn = lambda t: getattr(t, op)(dim, keepdim)  # noqa: E731
        want = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min}[op](x0, axis=axes, keepdims=keepdim)
    np.testing.assert_allclose(fn(x).numpy(), want, rtol=1e-10, atol=1e-12)
    tg.gradcheck(fn, [x])


@settings(max_examples=examples(20))
@given(SHAPES, st.integers(0, 2**16), st.sampled_from(["amax", "amin", "max", "min"]), st.integers(1, 3))
def test_max_min_ties_share_or_pick(shape, seed, op, levels):
    """amax/amin (and max()/min() over everything) split g evenly among tied elements; max(dim) gives all of
    it to the returned index (PyTorch's rules)."""
    x0 = np.random.default_rng(seed).integers(0, levels, shape).astype(np.float64)
    x = tg.tensor(x0, requires_grad=True)
    if op in ("amax", "amin"):
        d = -1
        y = getattr(x, op)(d)
        ext = x0.max(axis=-1, keepdims=True) if op == "amax" else x0.min(axis=-1, keepdims=True)
        hit = x0 == ext
        want = hit / hit.sum(axis=-1, keepdims=True)
    else:
        y = getattr(x, op)(-1).values
        idx = (np.argmax if op == "max" else np.argmin)(x0, axis=-1)
        want = np.zeros_like(x0)
        np.put_along_axis(want, idx[..., None], 1.0, axis=-1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want)
    x.grad = None
    whole = x.amax() if op in ("amax", "max") else x.amin()
    whole.backward()
    hit = x0 == (x0.max() if op in ("amax", "max") else x0.min())
    np.testing.assert_allclose(x.grad.numpy(), hit / hit.sum())


def _broadcast_pair(full: tuple, mask_bits: int) -> tuple:
    """b's shape: ``full`` with the axes whose bit is set in ``mask_bits`` shrunk to 1 (and maybe fewer axes)."""
    sb = tuple(1 if (mask_bits >> i) & 1 else n for i, n in enumerate(full))
    return sb[1:] if (mask_bits >> 7) & 1 and len(sb) > 1 and sb[0] == 1 else sb


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """g summed over the axes broadcasting added or stretched, back to ``shape`` (written out again here)."""
    while g.ndim > len(shape):
        g = g.sum(0)
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1), keepdims=True)


@settings(max_examples=examples(25))
@given(SHAPES, st.integers(0, 255), st.integers(0, 2**16), st.booleans(),
       st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum", "pow", "where"]))
def test_binary_ops_with_broadcasting(full, bits, seed, swap, op):
    """Broadcast shapes drawn (size-1 axes stretched, missing leading axes added, on either side); values vs
    numpy, gradients by central differences."""
    sa, sb = full, _broadcast_pair(full, bits)
    if swap:
        sa, sb = sb, sa
    a0, b0 = arr(seed, sa, 0.5, 2.0), arr(seed + 1, sb, 0.5, 2.0)
    cond = np.arange(int(np.prod(full))).reshape(full) % 3 == 0
    fns = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
           "div": lambda a, b: a / b, "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
           "pow": lambda a, b: a ** b, "where": lambda a, b: tg.where(cond, a, b)}
    want = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "maximum": np.maximum,
            "minimum": np.minimum, "pow": np.power, "where": lambda a, b: np.where(cond, a, b)}[op](a0, b0)
    a, b = tg.tensor(a0, requires_grad=True), tg.tensor(b0, requires_grad=True)
    np.testing.assert_allclose(fns[op](a, b).numpy(), want, rtol=1e-12)
    tg.gradcheck(fns[op], [a, b])
    c = arr(seed + 2, want.shape)
    if op == "sub":                                  # by hand: da = g, db = -g, each summed back to its shape
        fns[op](a, b).backward(tg.tensor(c))
        np.testing.assert_allclose(a.grad.numpy(), _sum_to(c, sa).reshape(sa))
        np.testing.assert_allclose(b.grad.numpy(), _sum_to(-c, sb).reshape(sb))


@settings(max_examples=examples(20))
@given(SHAPES, st.integers(0, 255), st.integers(0, 2**16), st.sampled_from(["maximum", "minimum"]))
def test_maximum_minimum_ties_split_the_gradient(full, bits, seed, op):
    """Where a == b each side gets g / 2 (PyTorch's rule), the larger (smaller) side all of g elsewhere."""
    sb = _broadcast_pair(full, bits)
    rng = np.random.default_rng(seed)
    b0 = rng.integers(0, 3, sb).astype(float)
    a0 = rng.integers(0, 3, full).astype(float)          # many ties with b
    a, b = tg.tensor(a0, requires_grad=True), tg.tensor(b0, requires_grad=True)
    y = getattr(a, op)(b)
    c = rng.uniform(-1, 1, y.shape)
    y.backward(tg.tensor(c))
    bb = np.broadcast_to(b0, full)
    win = (a0 > bb) if op == "maximum" else (a0 < bb)
    wa = win + 0.5 * (a0 == bb)
    np.testing.assert_allclose(a.grad.numpy(), c * wa)
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(c * (1 - wa), sb).reshape(sb))


@settings(max_examples=examples(20))
@given(SHAPES, st.integers(0, 2**16), st.floats(-1.5, 0.0), st.floats(0.0, 1.5))
def test_clamp_gradient_passes_on_the_bounds(shape, seed, lo, hi):
    """d clamp(x, lo, hi)/dx = 1 for lo <= x <= hi, bounds included (PyTorch's), 0 outside."""
    x0 = np.round(arr(seed, shape), 1)
    x0.flat[0] = lo
    x0.flat[-1] = hi
    x = tg.tensor(x0, requires_grad=True)
    x.clamp(lo, hi).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ((x0 >= lo) & (x0 <= hi)).astype(float))
    for kw, inside in (({"min": lo}, x0 >= lo), ({"max": hi}, x0 <= hi)):
        x.grad = None
        x.clamp(**kw).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), inside.astype(float))


@settings(max_examples=examples(25))
@given(SHAPES, st.integers(0, 2**16), st.data())
def test_along_one_dim_ops_with_negative_dims(shape, seed, data):
    """softmax, log_softmax and cumsum along a drawn dim (negative too): values vs numpy, gradients vs
    central differences, with an upstream gradient that is not all ones."""
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    op = data.draw(st.sampled_from(["softmax", "log_softmax", "cumsum"]))
    x0 = arr(seed, shape)
    c = tg.tensor(arr(seed + 7, shape))
    x = tg.tensor(x0, requires_grad=True)
    e = np.exp(x0 - x0.max(axis=d, keepdims=True))
    want = {"softmax": e / e.sum(axis=d, keepdims=True),
            "log_softmax": np.log(e / e.sum(axis=d, keepdims=True)),
            "cumsum": np.cumsum(x0, axis=d)}[op]
    np.testing.assert_allclose(getattr(x, op)(d).numpy(), want, rtol=1e-10, atol=1e-12)
    tg.gradcheck(lambda t: getattr(t, op)(d) * c, [x])
    if op == "cumsum":                        # d x_j = sum_{i >= j} g_i: a reversed running sum, by hand
        x.grad = None
        (x.cumsum(d) * c).sum().backward()
        g = c.numpy()
        np.testing.assert_allclose(x.grad.numpy(), np.flip(np.cumsum(np.flip(g, d), axis=d), d), rtol=1e-12)


@settings(max_examples=examples(20))
@given(SHAPES, st.data())
def test_dims_given_as_numpy_integers_and_negative_are_normalised(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    kind = data.draw(st.sampled_from([int, np.int64, np.int32]))
    x0 = arr(3, shape)
    x = tg.tensor(x0)
    np.testing.assert_allclose(x.sum(kind(d)).numpy(), x0.sum(axis=d))
    np.testing.assert_allclose(x.softmax(kind(d)).numpy().sum(axis=d), 1.0)
    u = data.draw(st.integers(-nd - 1, nd))
    assert x.unsqueeze(kind(u)).shape == np.expand_dims(x0, u).shape
    assert x.transpose(kind(d), 0).shape == np.swapaxes(x0, d, 0).shape
    assert x.flip(kind(d)).numpy().tolist() == np.flip(x0, d).tolist()
    assert x.cumsum(kind(d)).numpy().tolist() == np.cumsum(x0, axis=d).tolist()


@settings(max_examples=examples(20))
@given(st.integers(2, 6), st.integers(1, 3), st.data(), st.integers(0, 2**16))
def test_embedding_padding_idx_any_sign(n, dim, data, seed):
    """padding_idx and padding_idx - n name the same row: it gets no gradient, the rest scatter-add."""
    pad = data.draw(st.integers(-n, n - 1))
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)))
    w0 = arr(seed, (n, dim))
    w = tg.tensor(w0, requires_grad=True)
    out = F.embedding(idx, w, padding_idx=pad)
    np.testing.assert_array_equal(out.numpy(), w0[idx])
    g = arr(seed + 1, out.shape)
    out.backward(tg.tensor(g))
    want = np.zeros_like(w0)
    np.add.at(want, idx, g)
    want[pad % n] = 0
    np.testing.assert_allclose(w.grad.numpy(), want)
    emb = tg.nn.Embedding(n, dim, padding_idx=pad)
    assert not emb.weight.numpy()[pad % n].any()              # the padding row starts at zero
    emb(idx).sum().backward()
    assert not emb.weight.grad.numpy()[pad % n].any()


@settings(max_examples=examples(15))
@given(st.integers(1, 3), st.integers(2, 4), st.integers(1, 3), st.floats(0.0, 1.0), st.integers(0, 2**16),
       st.sampled_from(["mean", "sum", "none"]), st.booleans())
def test_cross_entropy_with_extra_axes_and_smoothing(N, C, d, eps, seed, reduction, ignore):
    """(N, C, d) logits: loss = -(1 - e) log p[y] - e mean_c log p[c] per position (class axis 1),
    ignored positions dropped, "mean" over the positions not ignored."""
    rng = np.random.default_rng(seed)
    logits0 = rng.uniform(-2, 2, (N, C, d))
    y = rng.integers(0, C, (N, d))
    if ignore:
        y[0, 0] = -100
    z = logits0 - logits0.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    valid = y != -100
    picked = -np.take_along_axis(logp, np.where(valid, y, 0)[:, None, :], axis=1)[:, 0, :]
    per = ((1 - eps) * picked - eps * logp.mean(axis=1)) * valid
    want = {"mean": per.sum() / max(valid.sum(), 1), "sum": per.sum(), "none": per}[reduction]
    logits = tg.tensor(logits0, requires_grad=True)
    got = F.cross_entropy(logits, y, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    tg.gradcheck(lambda t: F.cross_entropy(t, y, reduction=reduction, label_smoothing=eps), [logits])


@settings(max_examples=examples(15))
@given(SHAPES, st.integers(0, 2**16), st.floats(1e-5, 1.0), st.booleans())
def test_layer_norm_eps_under_the_root(shape, seed, eps, affine):
    x0 = arr(seed, shape) * 0.1
    k = np.random.default_rng(seed).integers(1, len(shape) + 1)
    ns = shape[len(shape) - k:]
    axes = tuple(range(len(shape) - k, len(shape)))
    mu = x0.mean(axis=axes, keepdims=True)
    var = ((x0 - mu) ** 2).mean(axis=axes, keepdims=True)
    w0, b0 = arr(seed + 1, ns), arr(seed + 2, ns)
    want = (x0 - mu) / np.sqrt(var + eps)
    if affine:
        want = want * w0 + b0
    x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    fn = (lambda x, w, b: F.layer_norm(x, ns, w, b, eps)) if affine else (lambda x, w, b: F.layer_norm(x, ns, eps=eps))
    np.testing.assert_allclose(fn(x, w, b).numpy(), want, rtol=1e-9, atol=1e-12)
    if affine:
        tg.gradcheck(fn, [x, w, b])


@settings(max_examples=examples(20))
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**16), st.booleans())
def test_bce_with_logits_pos_weight(N, C, seed, weighted):
    """-(w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), PyTorch's pos_weight per class."""
    rng = np.random.default_rng(seed)
    x0, y0 = rng.uniform(-4, 4, (N, C)), rng.uniform(0, 1, (N, C))
    w0 = rng.uniform(0.2, 3, C) if weighted else np.ones(C)
    log_sig = -np.logaddexp(0, -x0)
    log_one_minus = -np.logaddexp(0, x0)
    want = -(w0 * y0 * log_sig + (1 - y0) * log_one_minus)
    x = tg.tensor(x0, requires_grad=True)
    got = F.binary_cross_entropy_with_logits(x, y0, reduction="none", pos_weight=tg.tensor(w0) if weighted else None)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    sig = 1 / (1 + np.exp(-x0))
    got.sum().backward()                     # d/dx = -(w y (1 - s) - (1 - y) s), by hand
    np.testing.assert_allclose(x.grad.numpy(), -(w0 * y0 * (1 - sig) - (1 - y0) * sig), rtol=1e-9, atol=1e-12)


@settings(max_examples=examples(25))
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), st.data(), st.integers(0, 2**16))
def test_shape_ops_with_negative_dims(shape, data, seed):
    """split, chunk, narrow, unbind, gather, cat, stack, flatten, squeeze, sort, topk along a drawn dim given
    negative or not: values against numpy's equivalents, gradients by central differences."""
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    a = d % nd
    x0 = arr(seed, shape)
    x = tg.tensor(x0, requires_grad=True)
    n = shape[a]
    k = data.draw(st.integers(1, n))
    # split / chunk / narrow / unbind
    for got, want in ((x.split(k, d), np.array_split(x0, range(k, n, k), axis=a)),
                      (x.chunk(k, d), np.array_split(x0, range(-(-n // k), n, -(-n // k)), axis=a)),
                      (x.unbind(d), [np.take(x0, i, axis=a) for i in range(n)])):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    start = data.draw(st.integers(0, n - 1))
    np.testing.assert_array_equal(x.narrow(d, start, n - start).numpy(), np.take(x0, range(start, n), axis=a))
    # gather, sort, topk
    idx = np.random.default_rng(seed).integers(0, n, shape)
    np.testing.assert_array_equal(x.gather(d, idx).numpy(), np.take_along_axis(x0, idx, axis=a))
    values, order = x.sort(d, descending=True)
    np.testing.assert_array_equal(values.numpy(), -np.sort(-x0, axis=a))
    np.testing.assert_array_equal(order.numpy(), np.argsort(-x0, axis=a, kind="stable"))
    top = x.topk(k, d).values
    np.testing.assert_array_equal(top.numpy(), np.take(-np.sort(-x0, axis=a), range(k), axis=a))
    # cat / stack (dims of the result, negative too)
    e = data.draw(st.integers(-(nd + 1), nd))
    y0 = arr(seed + 1, shape)
    y = tg.tensor(y0, requires_grad=True)
    np.testing.assert_array_equal(tg.cat([x, y], d).numpy(), np.concatenate([x0, y0], axis=d))
    np.testing.assert_array_equal(tg.stack([x, y], e).numpy(), np.stack([x0, y0], axis=e))
    # flatten and squeeze
    s = data.draw(st.integers(-nd, nd - 1))
    if s % nd <= a:
        np.testing.assert_array_equal(x.flatten(s, d).numpy(),
                                      x0.reshape(shape[:s % nd] + (-1,) + shape[a + 1:]))
    np.testing.assert_array_equal(x.unsqueeze(d).squeeze(d).numpy(), x0)
    c = [arr(seed + 2 + i, np.shape(t)) for i, t in enumerate((x0, x0))]

    def f(x, y):
        parts = x.split(k, d)
        total = (tg.cat([x, y], d) * tg.tensor(np.concatenate(c, axis=a))).sum()
        total = total + (tg.stack([x, y], e) * tg.tensor(np.stack(c, axis=e))).sum()
        total = total + (x.gather(d, idx) * tg.tensor(c[0])).sum() + (parts[-1] * parts[-1]).sum()
        return total + x.topk(k, d).values.sum() * 0.5 + x.narrow(d, start, n - start).sum()

    tg.gradcheck(f, [x, y])
