"""PyTorch semantics, second pass: promotion, sorting and selection, scatter, small Tensor pieces, NaN numerics.

Every expected dtype and value below was read off PyTorch 2.13 (CPU) by hand
(``torch.result_type``, the ops themselves) and written in; PyTorch is never
imported.  Sorting is checked against Python's own stable ``sorted`` with
PyTorch's documented key (NaN is the largest value), not against the code
under test.
"""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq.tensor import ShapeError

# ----------------------------------------------------------------------------
# type promotion: every pair of supported dtypes x {tensor, 0-d tensor, Python number}
# ----------------------------------------------------------------------------

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]

# torch.result_type(a, b) for a tensor with dimensions (row) and one with dimensions (column) -- PyTorch 2.13.
# The same table holds for two 0-d tensors.
TENSOR_TENSOR = """
bool     bool    uint8   int8    int16   int32   int64   float16 float32 float64
uint8    uint8   uint8   int16   int16   int32   int64   float16 float32 float64
int8     int8    int16   int8    int16   int32   int64   float16 float32 float64
int16    int16   int16   int16   int16   int32   int64   float16 float32 float64
int32    int32   int32   int32   int32   int32   int64   float16 float32 float64
int64    int64   int64   int64   int64   int64   int64   float16 float32 float64
float16  float16 float16 float16 float16 float16 float16 float16 float32 float64
float32  float32 float32 float32 float32 float32 float32 float32 float32 float64
float64  float64 float64 float64 float64 float64 float64 float64 float64 float64
"""
# torch.result_type(a tensor with dimensions (row), a 0-d tensor (column)): the 0-d one raises the category only
TENSOR_ZERODIM = """
bool     bool    uint8   int8    int16   int32   int64   float16 float32 float64
uint8    uint8   uint8   uint8   uint8   uint8   uint8   float16 float32 float64
int8     int8    int8    int8    int8    int8    int8    float16 float32 float64
int16    int16   int16   int16   int16   int16   int16   float16 float32 float64
int32    int32   int32   int32   int32   int32   int32   float16 float32 float64
int64    int64   int64   int64   int64   int64   int64   float16 float32 float64
float16  float16 float16 float16 float16 float16 float16 float16 float16 float16
float32  float32 float32 float32 float32 float32 float32 float32 float32 float32
float64  float64 float64 float64 float64 float64 float64 float64 float64 float64
"""
# (tensor + True, tensor + 2, tensor + 2.5) dtypes; the same for a 0-d tensor (default dtype float32)
TENSOR_SCALAR = """
bool     bool    int64   float32
uint8    uint8   uint8   float32
int8     int8    int8    float32
int16    int16   int16   float32
int32    int32   int32   float32
int64    int64   int64   float32
float16  float16 float16 float16
float32  float32 float32 float32
float64  float64 float64 float64
"""


def _table(text: str) -> dict:
    rows = [line.split() for line in text.strip().splitlines()]
    return {r[0]: r[1:] for r in rows}


def _t(dt: str, zero_dim: bool) -> tg.Tensor:
    return tg.ones((), dtype=getattr(tg, dt)) if zero_dim else tg.ones(2, dtype=getattr(tg, dt))


@pytest.mark.parametrize("op", ["add", "mul", "maximum"])
def test_promotion_of_every_pair_of_dtypes_tensor_tensor_and_zero_dim(op):
    fn = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "maximum": tg.maximum}[op]
    tt, t0 = _table(TENSOR_TENSOR), _table(TENSOR_ZERODIM)
    for i, a in enumerate(DTYPES):
        for j, b in enumerate(DTYPES):
            for za, zb, want in [(False, False, tt[a][j]), (True, True, tt[a][j]),
                                 (False, True, t0[a][j]), (True, False, t0[b][i])]:
                got = fn(_t(a, za), _t(b, zb))
                assert got.dtype == np.dtype(want), (op, a, za, b, zb, got.dtype, want)
                assert tg.result_type(_t(a, za), _t(b, zb)) == np.dtype(want)
                assert got.shape == (() if za and zb else (2,))


@pytest.mark.parametrize("zero_dim", [False, True])
def test_promotion_with_python_numbers(zero_dim):
    ts = _table(TENSOR_SCALAR)
    for a in DTYPES:
        for s, want in zip((True, 2, 2.5), ts[a]):
            for got in (_t(a, zero_dim) + s, s + _t(a, zero_dim), _t(a, zero_dim) * s, tg.maximum(_t(a, zero_dim), s)):
                assert got.dtype == np.dtype(want), (a, zero_dim, s, got.dtype, want)


def test_promotion_examples_of_the_issue_and_values():
    x = tg.tensor([1.5, 2.5], dtype=tg.float16) + tg.tensor(1.0, dtype=tg.float64)
    assert x.dtype == tg.float16 and x.tolist() == [2.5, 3.5]
    assert (tg.tensor([3], dtype=tg.int32) * tg.tensor(4)).dtype == tg.int32
    assert (tg.tensor([1], dtype=tg.uint8) + tg.tensor(3)).dtype == tg.uint8
    assert (tg.tensor([1], dtype=tg.int32) + tg.tensor(1.5, dtype=tg.float64)).dtype == tg.float64
    assert tg.promote_types(tg.int64, tg.float16) == tg.float16
    assert tg.promote_types(tg.uint8, tg.int8) == tg.int16
    assert tg.result_type(tg.tensor([1, 2]), 2.5) == tg.float32
    with tg.no_grad():
        old = tg.get_default_dtype()
        tg.set_default_dtype(tg.float64)
        try:
            assert (tg.tensor([1, 2]) * 2.5).dtype == tg.float64       # a Python float: the default dtype
        finally:
            tg.set_default_dtype(old)


def test_gradient_flows_through_promotion_in_the_operand_dtypes():
    a = tg.tensor([1.0, 2.0], dtype=tg.float16, requires_grad=True)
    b = tg.tensor(3.0, dtype=tg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == tg.float16 and a.grad.tolist() == [3.0, 3.0]
    assert b.grad.dtype == tg.float64 and b.grad.item() == 3.0


def test_pow_dtypes():
    r = tg.tensor([1, 4]) ** 0.5
    assert r.dtype == tg.float32 and r.tolist() == [1.0, 2.0]
    assert (tg.tensor([1, 4], dtype=tg.int32) ** 2).dtype == tg.int32
    assert (tg.tensor([1, 4], dtype=tg.uint8) ** 2.0).dtype == tg.float32
    assert (tg.tensor([True]) ** 2).dtype == tg.int64
    assert (tg.tensor([1.0], dtype=tg.float16) ** 0.5).dtype == tg.float16
    assert (2 ** tg.tensor([1, 4], dtype=tg.int32)).dtype == tg.int32
    assert (2.5 ** tg.tensor([1, 4], dtype=tg.int32)).dtype == tg.float32
    with pytest.raises(RuntimeError, match="negative integer powers"):
        tg.tensor([1, 4]) ** -1


@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int16", "int32", "int64"])
def test_integer_and_bool_sums_are_int64(dt):
    vals = [100, 100, 27] if dt == "int8" else [200, 100, 1]
    x = tg.tensor(vals, dtype=getattr(tg, dt)) if dt != "bool" else tg.tensor([True, True, False])
    ref = [int(v) for v in x.tolist()]
    assert x.sum().dtype == tg.int64 and x.sum().item() == sum(ref)          # 301 / 227: no wrap round
    assert x.sum(0).dtype == tg.int64
    assert x.cumsum(0).dtype == tg.int64 and x.cumsum(0).tolist() == list(np.cumsum(ref))
    with pytest.raises(TypeError, match="mean: needs a floating-point tensor"):
        x.mean()


def test_mixed_where_cat_stack_maximum_minimum_take_the_float_operand():
    c = tg.tensor([True, False])
    assert tg.where(c, tg.tensor([1, 2]), tg.tensor([1.5, 2.5])).dtype == tg.float32
    assert tg.where(c, tg.tensor([1.0, 2.0]), tg.tensor(3.0, dtype=tg.float64)).dtype == tg.float32
    w = tg.where(c, tg.tensor([1, 2]), 2.5)
    assert w.dtype == tg.float32 and w.tolist() == [1.0, 2.5]
    assert tg.where(c, 1, 2.5).dtype == tg.float32
    assert tg.cat([tg.tensor([1, 2]), tg.tensor([1.5], dtype=tg.float16)]).dtype == tg.float16
    assert tg.cat([tg.tensor([True]), tg.tensor([1], dtype=tg.int8)]).dtype == tg.int8
    assert tg.cat([tg.tensor([1], dtype=tg.uint8), tg.tensor([1], dtype=tg.int8)]).dtype == tg.int16
    assert tg.stack([tg.tensor([1, 2]), tg.tensor([1.5, 2.0])]).dtype == tg.float32
    m = tg.maximum(tg.tensor([1, 2], dtype=tg.int32), tg.tensor([1.5, 2.0]))
    assert m.dtype == tg.float32 and m.tolist() == [1.5, 2.0]
    assert tg.minimum(tg.tensor([1, 2], dtype=tg.float16), tg.tensor(1.5, dtype=tg.float64)).dtype == tg.float16


# x.clamp(min, max) dtype for every dtype of x (rows) and bound (columns: an int, a float, a 0-d float64
# tensor), from torch 2.13: an integer or bool tensor with a float bound gives the float result type
CLAMP = """
bool     int64   float32 float64
uint8    uint8   float32 float64
int8     int8    float32 float64
int16    int16   float32 float64
int32    int32   float32 float64
int64    int64   float32 float64
float16  float16 float16 float16
float32  float32 float32 float32
float64  float64 float64 float64
"""


@pytest.mark.parametrize("side", ["min", "max", "both"])
def test_clamp_promotes_an_integer_tensor_with_a_float_bound_as_pytorch(side):
    table = _table(CLAMP)
    for dt in DTYPES:
        x = tg.tensor([0, 1, 1], dtype=getattr(tg, dt)) if dt == "bool" else tg.tensor([1, 2, 3], dtype=getattr(tg, dt))
        bounds = (2, 2.5, tg.tensor(2.5, dtype=tg.float64))[:2 if side == "both" else 3]   # (torch gives float32
        for bound, want in zip(bounds, table[dt]):              # for a 0-d float64 min with an int max: not pinned)
            kw = {"min": bound} if side == "min" else {"max": bound} if side == "max" else {"min": bound, "max": 10}
            got = x.clamp(**kw)
            assert got.dtype == np.dtype(want), (dt, side, bound, got.dtype, want)
            b = bound.item() if isinstance(bound, tg.Tensor) else bound
            ref = np.clip(x.numpy().astype(np.float64), b if side != "max" else None, 10 if side == "both" else
                          (b if side == "max" else None))
            assert np.allclose(got.numpy().astype(np.float64), ref), (dt, side, bound)
    with pytest.raises(TypeError, match="clamp: min as a tensor with dimensions"):
        tg.tensor([1.0, 2.0]).clamp(min=tg.tensor([0.0, 3.0]))
    with pytest.raises(RuntimeError, match="clamp_"):
        tg.tensor([1, 2, 3]).clamp_(0.5, 2.5)                     # PyTorch: Float can't be cast to Long


def test_pad_sequence_takes_the_first_sequences_dtype():
    from tinygrad_seq.nn.utils.rnn import pad_sequence
    assert pad_sequence([tg.tensor([1, 2]), tg.tensor([1.5])]).dtype == tg.int64
    assert pad_sequence([tg.tensor([1.5]), tg.tensor([1, 2])]).dtype == tg.float32
    p = pad_sequence([tg.tensor([1.5], dtype=tg.float64), tg.tensor([1.0, 2.0])])
    assert p.dtype == tg.float64 and p.tolist() == [[1.5, 1.0], [0.0, 2.0]]
    assert pad_sequence([tg.tensor([1]), tg.tensor([1, 2])], padding_value=2.7).tolist() == [[1, 1], [2, 2]]


def test_to_copy_true_copies():
    a = tg.ones(3)
    b = a.to(tg.float32, copy=True)
    assert b is not a and not np.shares_memory(a.numpy(), b.numpy())
    assert a.to(tg.float32) is a
    c = a.to(tg.float32, False, True)                   # positional (non_blocking, copy)
    assert c is not a and not np.shares_memory(a.numpy(), c.numpy())
    w = tg.ones(2, requires_grad=True)
    w.to(copy=True).sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------
# sorting and selection
# ----------------------------------------------------------------------------

NAN = float("nan")


def test_sort_and_topk_pinned_from_pytorch():
    x = tg.tensor([3.0, NAN, 1.0, NAN, 5.0])
    v, i = x.sort()
    assert i.tolist() == [2, 0, 4, 1, 3] and np.array_equal(v.numpy(), [1, 3, 5, NAN, NAN], equal_nan=True)
    v, i = x.sort(descending=True)
    assert i.tolist() == [1, 3, 4, 0, 2] and np.array_equal(v.numpy(), [NAN, NAN, 5, 3, 1], equal_nan=True)
    assert x.sort(descending=True, stable=True).indices.tolist() == [1, 3, 4, 0, 2]
    v, i = x.topk(3)
    assert i.tolist() == [1, 3, 4] and np.array_equal(v.numpy(), [NAN, NAN, 5], equal_nan=True)
    assert x.topk(3, largest=False).indices.tolist() == [2, 0, 4]
    assert x.argsort(descending=True).tolist() == [1, 3, 4, 0, 2]
    inf = float("inf")
    assert tg.tensor([inf, NAN, -inf]).sort(descending=True).indices.tolist() == [1, 0, 2]
    t = tg.tensor([1, 2, 1, 2, 1])
    assert t.sort(descending=True, stable=True).indices.tolist() == [1, 3, 0, 2, 4]
    assert tg.sort(t, descending=True, stable=True).indices.tolist() == [1, 3, 0, 2, 4]
    assert tg.argsort(t, stable=True).tolist() == [0, 2, 4, 1, 3]
    assert t.sort().indices.tolist() == [0, 2, 4, 1, 3]
    assert t.topk(2).indices.tolist() == [1, 3]
    u = tg.tensor([3, 0, 200, 1], dtype=tg.uint8).sort(descending=True)
    assert u.values.tolist() == [200, 3, 1, 0] and u.indices.tolist() == [2, 0, 3, 1] and u.values.dtype == tg.uint8
    m = tg.tensor([3, -2 ** 63, 5, 0]).sort(descending=True)
    assert m.values.tolist() == [5, 3, 0, -2 ** 63] and m.indices.tolist() == [2, 0, 3, 1]
    assert tg.tensor([3, -128, 5, 0], dtype=tg.int8).sort(descending=True).values.tolist() == [5, 3, 0, -128]
    b = tg.tensor([True, False, True])
    assert b.sort().indices.tolist() == [1, 0, 2] and b.sort().values.tolist() == [False, True, True]
    assert b.sort(descending=True).indices.tolist() == [0, 2, 1]
    with pytest.raises(RuntimeError, match="topk: bool tensors are not supported"):
        b.topk(2)
    h = tg.tensor([1.0, NAN, 2.0], dtype=tg.float16).topk(2)
    assert h.indices.tolist() == [1, 2] and h.values.dtype == tg.float16


def _reference_order(values: list, descending: bool) -> list:
    """PyTorch's documented order by Python's stable sorted: NaN the largest, ties in their original order."""
    def key(i):
        v = values[i]
        nan = isinstance(v, float) and math.isnan(v)
        if descending:
            return (0, 0) if nan else (1, -v)           # Python ints: -(-2**63) does not overflow
        return (1, 0) if nan else (0, v)
    return sorted(range(len(values)), key=key)


_INT_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-2 ** 15, 2 ** 15 - 1),
               "int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}


@st.composite
def _sortable(draw):
    dt = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 12))
    if dt == "bool":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    elif dt in _INT_RANGES:
        lo, hi = _INT_RANGES[dt]
        vals = draw(st.lists(st.one_of(st.sampled_from([lo, hi, 0, lo + 1]), st.integers(lo, hi), st.integers(-3, 3)
                                       .filter(lambda v: lo <= v <= hi)), min_size=n, max_size=n))
    else:
        vals = draw(st.lists(st.one_of(st.sampled_from([NAN, float("inf"), -float("inf"), 0.0, -0.0, 1.0]),
                                       st.integers(-4, 4).map(float)), min_size=n, max_size=n))
    return dt, vals


@given(_sortable(), st.booleans())
def test_sort_matches_the_reference_order_for_every_dtype(case, descending):
    dt, vals = case
    x = tg.tensor(np.array(vals, dtype=getattr(tg, dt)))
    stored = [v.item() for v in np.array(vals, dtype=getattr(tg, dt))]       # the values as the dtype holds them
    want = _reference_order(stored, descending)
    v, i = x.sort(descending=descending)
    assert i.tolist() == want and i.dtype == tg.int64 and v.dtype == x.dtype
    assert np.array_equal(v.numpy(), np.array(stored, dtype=x.dtype)[want], equal_nan=dt.startswith("float"))
    # the same along dim 0 of a 2-d tensor (columns are independent)
    col = tg.stack([x, x.flip(0)], 1).sort(0, descending=descending).indices.numpy()
    assert col[:, 0].tolist() == want
    assert col[:, 1].tolist() == _reference_order(stored[::-1], descending)
    if dt != "bool":
        k = len(vals) // 2 + 1
        tv, ti = x.topk(k)
        assert ti.tolist() == want[:k] if descending else _reference_order(stored, True)[:k]
        sv, si = x.topk(k, largest=False)                      # tie order is unspecified in PyTorch: values only
        ref = np.array(stored, dtype=x.dtype)[_reference_order(stored, False)[:k]]
        assert np.array_equal(sv.numpy(), ref, equal_nan=dt.startswith("float"))
        assert np.array_equal(x.numpy()[si.numpy()], sv.numpy(), equal_nan=dt.startswith("float"))


def test_gradients_through_sort_and_topk():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.permutation(24).reshape(4, 6) / 7.0, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(lambda t: t.sort(1, descending=True).values * tg.arange(6).double(), [x])
    assert tg.gradcheck(lambda t: t.topk(3, 0).values, [x])
    assert tg.gradcheck(lambda t: t.topk(2, largest=False).values ** 2, [x])
    # by hand: the gradient lands on the element each sorted position came from
    y = tg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    (y.sort(descending=True).values * tg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert y.grad.tolist() == [1.0, 100.0, 10.0]


def test_max_argmax_with_nan_as_pytorch():
    x = tg.tensor([3.0, NAN, 1.0, NAN, 5.0])
    assert math.isnan(x.max().item()) and math.isnan(x.amax().item()) and math.isnan(x.min().item())
    v, i = x.max(0)
    assert math.isnan(v.item()) and i.item() == 1
    v, i = x.min(0)
    assert math.isnan(v.item()) and i.item() == 1
    assert x.argmax().item() == 1 and x.argmin().item() == 1
    assert np.array_equal(tg.maximum(x, tg.zeros(5)).numpy(), [3, NAN, 1, NAN, 5], equal_nan=True)


def test_zero_dim_max_sort_topk_return_new_tensors():
    x = tg.tensor(3.0, requires_grad=True)
    for out in (x.max(0), x.min(0), x.sort(), x.topk(1), x.max(dim=0, keepdim=True)):
        assert out[0] is not x and out[1] is not x
        assert out[0].item() == 3.0 and out[1].item() == 0 and out[1].dtype == tg.int64
    x.max(0).values.backward()
    assert x.grad.item() == 1.0


def test_gather_and_scatter_refuse_negative_and_out_of_range_indices():
    with pytest.raises(RuntimeError, match=r"gather: index -1 is out of bounds for dimension 0 with size 2"):
        tg.tensor([1.0, 2.0]).gather(0, tg.tensor([-1]))
    with pytest.raises(RuntimeError, match=r"gather: index 2 is out of bounds for dimension 0 with size 2"):
        tg.tensor([1.0, 2.0]).gather(0, tg.tensor([2]))
    with pytest.raises(RuntimeError, match=r"gather: index -3 is out of bounds for dimension 1 with size 3"):
        tg.ones(2, 3).gather(1, tg.tensor([[0, -3]]))
    for op in ("scatter", "scatter_add", "scatter_", "scatter_add_"):
        with pytest.raises(RuntimeError, match=rf"{op.rstrip('_')}: index -1 is out of bounds for dimension 0 "
                                               r"with size 3"):
            getattr(tg.zeros(3), op)(0, tg.tensor([-1]), tg.tensor([1.0]))
        with pytest.raises(RuntimeError, match=r"index 3 is out of bounds for dimension 0 with size 3"):
            getattr(tg.zeros(3), op)(0, tg.tensor([3]), tg.tensor([1.0]))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_refuses_an_index_larger_than_the_input_apart_from_dim(dim):
    x = tg.ones(2, 3, 4)
    d = dim % 3
    for k in range(3):
        shape = [min(n, 2) for n in x.shape]
        shape[k] = x.shape[k] + 1                                   # one too many along dimension k
        idx = tg.zeros(*shape, dtype=tg.int64)
        if k == d:                                                  # allowed along dim itself (PyTorch too)
            assert x.gather(dim, idx).shape == tuple(shape)
        else:
            with pytest.raises(ShapeError, match=rf"gather: index {re.escape(str(tuple(shape)))} must be no "
                                                 rf"larger than the input \(2, 3, 4\) in every dimension apart "
                                                 rf"from dimension {d}"):
                x.gather(dim, idx)


# ----------------------------------------------------------------------------
# scatter / scatter_add: forward against loops by hand, gradients against finite differences
# ----------------------------------------------------------------------------

def _scatter_by_hand(x, dim, index, src, add):
    out = x.copy()
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[dim] = index[p]
        if add:
            out[tuple(q)] += src[p]
        else:
            out[tuple(q)] = src[p]
    return out


@st.composite
def _scatter_case(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dim = draw(st.integers(0, ndim - 1))
    ishape = tuple(draw(st.integers(0 if d != dim else 0, shape[d] if d != dim else 5)) for d in range(ndim))
    sshape = tuple(n + draw(st.integers(0, 1)) for n in ishape)
    seed = draw(st.integers(0, 2 ** 16))
    return shape, dim, ishape, sshape, seed


@given(_scatter_case())
def test_scatter_add_and_scatter_against_loops_by_hand(case):
    shape, dim, ishape, sshape, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    src = rng.standard_normal(sshape)
    index = rng.integers(0, shape[dim], ishape)
    got = tg.tensor(x).scatter_add(dim, tg.tensor(index), tg.tensor(src))
    assert got.dtype == tg.float64 and np.allclose(got.numpy(), _scatter_by_hand(x, dim, index, src, True))
    # scatter with distinct targets along dim (with repeats PyTorch leaves the winner undefined)
    uniq = np.argsort(rng.random((shape[dim],) + ishape[:dim] + ishape[dim + 1:]), axis=0)
    uniq = np.moveaxis(uniq, 0, dim)[tuple(slice(0, n) for n in ishape)]
    if uniq.shape == ishape:                                 # (possible when index is no longer than self along dim)
        got = tg.tensor(x).scatter(dim, tg.tensor(uniq), tg.tensor(src))
        assert np.array_equal(got.numpy(), _scatter_by_hand(x, dim, uniq, src, False))
    # in place, under no_grad: the same values in the same object
    y = tg.tensor(x)
    with tg.no_grad():
        assert y.scatter_add_(dim, tg.tensor(index), tg.tensor(src)) is y
    assert np.allclose(y.numpy(), _scatter_by_hand(x, dim, index, src, True))


def test_scatter_gradients_gradcheck_and_by_hand():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    src = tg.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    idx = tg.tensor([[0, 1, 2, 0], [2, 2, 0, 1]])              # repeats: scatter_add adds them up
    assert tg.gradcheck(lambda a, s: a.scatter_add(0, idx, s), [x, src])
    uniq = tg.tensor([[2, 0, 1, 1], [0, 1, 2, 0]])             # distinct targets per column
    assert tg.gradcheck(lambda a, s: a.scatter(0, uniq, s) * 3.0, [x, src])
    assert tg.gradcheck(lambda a: a.scatter(1, tg.tensor([[3], [0], [1]]), 2.5).sin(), [x])
    # by hand: scatter's x gets no gradient where it was overwritten; src gets g gathered at its targets
    a = tg.zeros(3, requires_grad=True)
    s = tg.tensor([1.0, 2.0], requires_grad=True)
    (a.scatter(0, tg.tensor([2, 0]), s) * tg.tensor([10.0, 20.0, 30.0])).sum().backward()
    assert a.grad.tolist() == [0.0, 20.0, 0.0] and s.grad.tolist() == [30.0, 10.0]
    assert a.scatter(0, tg.tensor([2, 0]), s).grad_fn.name == "scatter"
    # in place with a gradient: recorded
    b = tg.zeros(3, requires_grad=True) * 1
    b.scatter_add_(0, tg.tensor([1, 1]), s)
    b.sum().backward()
    assert b.tolist() == [0.0, 3.0, 0.0] and s.grad.tolist() == [31.0, 11.0]


def test_scatter_values_and_refusals_pinned_from_pytorch():
    assert tg.zeros(3).scatter(0, tg.tensor([1]), 5.0).tolist() == [0.0, 5.0, 0.0]
    assert tg.zeros(3).scatter(0, tg.tensor([1]), value=5.0).tolist() == [0.0, 5.0, 0.0]
    assert tg.zeros(3).scatter_add(0, tg.tensor([1, 1]), tg.tensor([1.0, 2.0])).tolist() == [0.0, 3.0, 0.0]
    assert tg.zeros(2, 2).scatter(1, tg.tensor([[1, 0, 1]]), tg.ones(1, 3)).tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert tg.zeros(3).scatter(0, tg.tensor([1], dtype=tg.int32), tg.tensor([1.0])).tolist() == [0.0, 1.0, 0.0]
    assert tg.scatter(tg.zeros(3), 0, tg.tensor([2]), tg.tensor([4.0])).tolist() == [0.0, 0.0, 4.0]
    assert tg.scatter_add(tg.zeros(3), 0, tg.tensor([2]), tg.tensor([4.0])).tolist() == [0.0, 0.0, 4.0]
    assert tg.tensor(2.0).scatter(0, tg.tensor(0), 5.0).tolist() == 5.0
    with pytest.raises(RuntimeError, match=r"scatter: expected self.dtype to be equal to src.dtype"):
        tg.zeros(3).scatter(0, tg.tensor([1]), tg.tensor([1.0], dtype=tg.float64))
    with pytest.raises(tg.ShapeError, match=r"scatter: index \(2,\) must be no larger than src \(1,\)"):
        tg.zeros(3).scatter(0, tg.tensor([1, 2]), tg.tensor([1.0]))
    with pytest.raises(tg.ShapeError, match=r"scatter_add: index must have 2 dimensions like self"):
        tg.zeros(3, 2).scatter_add(0, tg.tensor([1, 2]), tg.tensor([1.0, 2.0]))
    with pytest.raises(NotImplementedError, match=r"scatter: reduce='add' is not supported.*scatter_add"):
        tg.zeros(3).scatter(0, tg.tensor([1]), tg.tensor([1.0]), reduce="add")
    with pytest.raises(TypeError, match=r"scatter: index must be an integer tensor"):
        tg.zeros(3).scatter(0, tg.tensor([1.0]), tg.tensor([1.0]))


# ----------------------------------------------------------------------------
# small Tensor-level pieces
# ----------------------------------------------------------------------------

def test_size():
    x = tg.ones(2, 3)
    assert isinstance(x.shape, tg.Size) and isinstance(x.size(), tg.Size) and isinstance(x.shape, tuple)
    assert x.shape == (2, 3) and x.size() == tg.Size([2, 3]) and x.size(1) == 3
    assert x.shape.numel() == 6 and tg.Size([]).numel() == 1 and tg.ones(0, 4).shape.numel() == 0
    assert repr(x.shape) == "tg.Size([2, 3])" and str(x.shape) == "(2, 3)"
    assert type(x.shape[0:1]) is tg.Size and type(x.shape + (4,)) is tg.Size and type((4,) + x.shape) is tg.Size
    assert x.shape[-1] == 3 and type(x.shape[0]) is int
    with pytest.raises(TypeError, match=r"Size\(\) takes an iterable of 'int' \(item 0 is 'float'\)"):
        tg.Size([2.5])
    assert tg.zeros(tg.Size([2, 1])).shape == (2, 1)


def test_is_contiguous_pinned_from_pytorch():
    x = tg.ones(2, 3)
    assert x.is_contiguous() and x[:1].is_contiguous()
    assert not x.t().is_contiguous() and not x.expand(2, 2, 3).is_contiguous() and not x[:, :2].is_contiguous()
    c = x.t().contiguous()
    assert c.is_contiguous() and c.shape == (3, 2) and c.tolist() == x.t().tolist()
    assert x.contiguous() is x
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (w.t().contiguous() * tg.tensor([[1.0, 10.0], [100.0, 1000.0]])).sum().backward()
    assert w.grad.tolist() == [[1.0, 100.0], [10.0, 1000.0]]


def test_clip_grad_norm_returns_the_total_norm_as_a_tensor():
    p = nn.Parameter(tg.ones(3))
    p.grad = tg.ones(3) * 2
    g = p.grad
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.dtype == tg.float32
    assert total.item() == pytest.approx(math.sqrt(12), rel=1e-6)                    # PyTorch: tensor(3.4641)
    assert p.grad is g and np.allclose(g.numpy(), 2 / (math.sqrt(12) + 1e-6))       # scaled in place
    q = nn.Parameter(tg.ones(3))
    assert nn.utils.clip_grad_norm_([q], 1.0).item() == 0.0 and nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clamp__without_bounds_raises_as_clamp():
    for f in (lambda t: t.clamp(), lambda t: t.clamp_(), lambda t: t.clip_()):
        with pytest.raises(ValueError, match="at least one of min and max"):
            f(tg.ones(2))


def test_in_place_shape_changes_on_a_leaf_that_requires_grad_are_refused():
    for f in (lambda t: t.unsqueeze_(0), lambda t: t.squeeze_(), lambda t: t.t_(), lambda t: t.transpose_(0, 1)):
        w = tg.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            f(w)
        assert w.shape == (2, 3)
        with tg.no_grad():                               # allowed there, as in PyTorch
            f(w)
    w = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="resize_: cannot resize variables that require grad"):
        w.resize_(6)
    y = (w * 2).unsqueeze_(0)                            # a non-leaf may change shape
    assert y.shape == (1, 2, 3)
    y.sum().backward()
    assert w.grad.tolist() == [[2.0] * 3] * 2
    r = tg.arange(6).float()
    assert r.resize_(2, 2) is r and r.tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_assigning_a_wrong_grad_is_refused_with_pytorchs_messages():
    x = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient of size '\[3, 2\]' to a tensor of size "
                                           r"'\[2, 3\]'"):
        x.grad = tg.ones(3, 2)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient with dtype 'float64' to a tensor with "
                                           r"dtype 'float32'"):
        x.grad = tg.ones(2, 3, dtype=tg.float64)
    with pytest.raises(TypeError, match=r"assigned grad expected to be a Tensor or None but got grad of type int"):
        x.grad = 3
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        x.grad = x
    assert x.grad is None
    x.grad = tg.zeros(2, 3)
    x.grad = None


def test_grad_accumulates_into_the_same_tensor_object():
    x = tg.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g and g.tolist() == [5.0, 5.0, 5.0]                  # PyTorch: tensor([5., 5., 5.]), True
    x.grad = None
    g0 = tg.full((3,), 7.0)
    x.grad = g0
    (x * 2).sum().backward()
    assert x.grad is g0 and g0.tolist() == [9.0, 9.0, 9.0]
    # a leaf read twice in one graph, then again: still one object, the exact sum
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    held = w.grad
    (w * w + w).sum().backward()
    assert w.grad is held and held.tolist() == [2.0 + 3.0, 4.0 + 5.0]


# ----------------------------------------------------------------------------
# NaN where PyTorch gives NaN; constructor errors in words
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_of_one_element_are_nan_with_nan_gradient_and_pytorchs_warning(name):
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match=rf"{name}\(\): degrees of freedom is <= 0"):
        v = getattr(x, name)()
    assert math.isnan(v.item())
    v.backward()
    assert math.isnan(x.grad.item())
    with pytest.warns(UserWarning):
        assert np.isnan(getattr(tg.tensor([[1.0, 2.0]]), name)(0).numpy()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(tg.tensor([1.0]), name)(unbiased=False).item() == 0.0    # correction 0: no warning
        assert getattr(tg.tensor([1.0, 3.0]), name)().item() == pytest.approx(2.0 if name == "var" else math.sqrt(2))


def test_mean_of_empty_is_nan_and_softmax_of_empty_is_empty():
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no numpy warning either
        assert math.isnan(tg.zeros(0).mean().item())
        m = tg.zeros(0, 3).mean(0)
        assert m.shape == (3,) and np.isnan(m.numpy()).all()
        assert tg.zeros(0, 3).mean(1).shape == (0,)
        for f in ("softmax", "log_softmax"):
            assert getattr(tg.zeros(0), f)(0).shape == (0,)
            assert getattr(tg.zeros(2, 0), f)(1).shape == (2, 0)
        x = tg.zeros(0, requires_grad=True)
        x.softmax(0).sum().backward()
        assert x.grad.shape == (0,)
        y = tg.zeros(0, requires_grad=True)
        y.mean().backward()
        assert y.grad.shape == (0,)


@pytest.mark.parametrize("data, exc, pattern", [
    ("abc", TypeError, r"tensor: cannot make a tensor from a str \('abc'\): invalid data type 'str'"),
    ([1, None], TypeError, r"from None \(the element at \[1\] of the data\): could not infer the dtype of NoneType"),
    (None, TypeError, r"tensor: cannot make a tensor from None"),
    (object(), TypeError, r"tensor: cannot make a tensor from an object: could not infer the dtype of object"),
    ({}, TypeError, r"tensor: cannot make a tensor from a dict"),
    ([[1], "a"], TypeError, r"a str \('a'\) \(the element at \[1\] of the data\)"),
    ([[1.0, 2.0], [3.0, b"x"]], TypeError, r"a bytes \(b'x'\) \(the element at \[1, 1\] of the data\)"),
    (2 ** 70, ValueError, r"tensor: the integer 1180591620717411303424 does not fit in int64"),
    ([1, 2 ** 70], ValueError, r"the integer 1180591620717411303424 \(the element at \[1\] of the data\)"),
    (2 ** 63, ValueError, r"the integer 9223372036854775808 does not fit in int64"),
    (np.array(["a", "b"]), TypeError, r"a numpy array of strings \(dtype <U1\)"),
])
def test_constructor_errors_name_the_problem_in_words(data, exc, pattern):
    with pytest.raises(exc, match=pattern):
        tg.tensor(data)
    with pytest.raises(exc, match=pattern):
        tg.Tensor(data)


def test_constructor_accepts_the_extremes_and_refuses_overflow_for_an_explicit_dtype():
    assert tg.tensor(-2 ** 63).item() == -2 ** 63 and tg.tensor(2 ** 63 - 1).item() == 2 ** 63 - 1
    with pytest.raises(RuntimeError, match=r"tensor: value 300 cannot be converted to type uint8 without overflow"):
        tg.tensor(300, dtype=tg.uint8)
    with pytest.raises(RuntimeError, match=r"value -129 cannot be converted to type int8"):
        tg.tensor([1, -129], dtype=tg.int8)
    assert tg.tensor([0, 255], dtype=tg.uint8).tolist() == [0, 255]


@pytest.mark.parametrize("bad", [lambda: tg.ones(2, 3) @ tg.ones(2, 3), lambda: tg.ones(2) + tg.ones(3),
                                 lambda: tg.ones(2, 3).view(4), lambda: tg.cat([tg.ones(2, 3), tg.ones(2, 2)]),
                                 lambda: tg.ones(2, 3).gather(1, tg.zeros(3, 1, dtype=tg.int64))])
def test_shape_errors_are_runtime_errors_as_in_pytorch(bad):
    """torch 2.13 raises RuntimeError for each of these; ``except RuntimeError`` must catch ours."""
    with pytest.raises(RuntimeError) as e:
        bad()
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)


# --- a Python int out of an integer tensor's range wraps round first (C's cast), as in PyTorch 2.13 -------------

def test_out_of_range_python_ints_wrap_round_in_arithmetic_and_comparisons():
    u = tg.tensor(np.array([1, 5, 250], dtype=np.uint8))
    i8 = tg.tensor(np.array([1, -128], dtype=np.int8))
    # numbers read off torch 2.13 (e.g. torch.tensor([1, 5, 250], dtype=torch.uint8) + (-3))
    cases = [(u + (-3), [254, 2, 247], np.uint8), (u + 300, [45, 49, 38], np.uint8),
             (u * -1, [255, 251, 6], np.uint8), (i8 + 200, [-55, 72], np.int8),
             (tg.tensor(np.array([1], dtype=np.int32)) + 2 ** 40, [1], np.int32),
             (u < -3, [True, True, True], np.bool_), (u == -6, [False, False, True], np.bool_),
             (i8 > 128, [True, False], np.bool_)]
    for got, want, dtype in cases:
        assert got.dtype == dtype and got.tolist() == want, (got, want)
    for dt in (np.uint8, np.int8, np.int16, np.int32, np.uint16):   # the class: any int, any integer dtype
        info = np.iinfo(dt)
        for v in (-1, info.max + 1, info.min - 1, 3 * (info.max + 1) + 7, -(info.max + 2)):
            t = tg.tensor(np.array([0, 1, info.max], dtype=dt))
            w = (np.array(v, dtype=np.int64).astype(dt))      # C's cast: v modulo 2**bits
            assert (t + v).tolist() == (t.array + w).tolist() and (t == v).tolist() == (t.array == w).tolist()
    with pytest.raises(OverflowError):
        u + 2 ** 70                                            # torch: "int too big to convert"


@given(st.integers(0, 4), st.integers(0, 2**16))
def test_permute_takes_negative_dims(ndim, seed):
    """PyTorch's ``permute`` counts a negative dim from the end (``W.permute(-1, -2)``): the same view as the
    wrapped dims, as numpy's ``transpose``; the gradient is the inverse permutation of g."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 4, ndim))
    perm = [int(p) for p in rng.permutation(ndim)]
    dims = [p - ndim if rng.random() < 0.5 else p for p in perm]
    x0 = rng.standard_normal(shape)
    x = tg.tensor(x0, requires_grad=True)
    y = x.permute(*dims)
    np.testing.assert_array_equal(y.numpy(), np.transpose(x0, perm))
    g = rng.standard_normal(y.shape)
    y.backward(tg.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(g, np.argsort(perm)))
