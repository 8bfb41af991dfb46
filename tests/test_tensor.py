"""Targeted tests of the engine: construction, dtypes, backward semantics, graph memory, errors."""
from __future__ import annotations

import gc
import sys
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq.tensor import Node


# ---------------------------------------------------------------------------
# construction and dtypes
# ---------------------------------------------------------------------------

def test_python_data_takes_default_float32_and_arrays_keep_their_dtype():
    assert tg.Tensor(1.5).dtype == np.float32 and tg.Tensor(1.5).shape == ()
    assert tg.Tensor([[1.0, 2.0]]).dtype == np.float32
    assert tg.Tensor(np.zeros(2, np.float64)).dtype == np.float64
    assert tg.Tensor([1, 2]).dtype == np.float32 and tg.Tensor(np.array([1, 2])).dtype == np.float32   # torch.Tensor
    assert tg.tensor([1, 2]).dtype == np.int64 and tg.tensor([True]).dtype == np.bool_              # torch.tensor
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.Tensor(tg.Tensor([1.0])).dtype == np.float32


def test_set_default_dtype_changes_python_floats_and_factories():
    try:
        tg.set_default_dtype(np.float64)
        assert tg.Tensor([1.0]).dtype == np.float64
        assert tg.zeros(2).dtype == np.float64
    finally:
        tg.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match="floating"):
        tg.set_default_dtype(np.int32)


def test_tensor_copies_a_numpy_array():
    a = np.ones(3, np.float32)
    t = tg.Tensor(a)
    t.numpy()[0] = 5
    assert a[0] == 1


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad.*int"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        tg.arange(3, requires_grad=True)


def test_float32_stays_float32_with_python_scalars_and_matmul():
    x = tg.randn(3, 4, requires_grad=True)
    for y in (x * 2.0, 2.0 * x, x + 1, x / 3.0, 1.0 - x, x ** 2, 2 ** x, -x, x @ tg.randn(4, 2)):
        assert y.dtype == np.float32
    (x * 2.0).sum().backward()
    assert x.grad.dtype == np.float32


def test_attributes_and_conversions():
    t = tg.Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert (t.shape, t.ndim, t.numel(), t.is_leaf, t.grad, t.grad_fn) == ((1, 3), 2, 3, True, None, None)
    assert t.size() == (1, 3) and t.size(1) == 3 and t.size(-2) == 1 and t.dim() == 2
    y = (t * 2).sum()
    assert y.grad_fn.name == "sum" and not y.is_leaf and y.requires_grad
    assert isinstance(np.asarray(t), np.ndarray) and np.asarray(t).shape == (1, 3)
    assert y.item() == 12.0 and float(y) == 12.0
    assert t.detach().requires_grad is False and t.detach().numpy() is t.numpy()
    assert "requires_grad=True" in repr(t) and "grad_fn=<sum>" in repr(y)


def test_operators_mix_with_numbers_and_arrays_on_either_side():
    x = tg.Tensor([1.0, 2.0])
    a = np.array([3.0, 4.0], np.float32)
    for expr, expected in [(x + a, [4, 6]), (a + x, [4, 6]), (a - x, [2, 2]), (a * x, [3, 8]),
                           (a / x, [3, 2]), (2 - x, [1, 0]), (8 / x, [8, 4]), (x ** x, [1, 4])]:
        assert isinstance(expr, tg.Tensor)
        np.testing.assert_allclose(expr.numpy(), expected)
    assert isinstance(a @ x, tg.Tensor) and float(a @ x) == 11.0


def test_comparisons_give_boolean_tensors_without_grad():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert c.dtype == bool and not c.requires_grad
    assert (x == 2).tolist() == [False, True, False]
    assert len({x, x}) == 1      # hashable by identity


def test_factories_and_manual_seed():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((2,)).numpy().sum() == 2
    assert tg.full((2, 2), 7.0).numpy().max() == 7 and tg.eye(3).numpy().trace() == 3
    assert tg.arange(5).dtype.kind == "i" and tg.arange(0.0, 1.0, 0.5).dtype == np.float32
    x = tg.randn(2)
    assert tg.zeros_like(x).shape == (2,) and tg.ones_like(x).dtype == np.float32
    tg.manual_seed(7)
    a, b = tg.randn(4).numpy(), tg.rand(4).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(a, tg.randn(4).numpy())
    np.testing.assert_array_equal(b, tg.rand(4).numpy())
    assert tg.randn(2, 2, requires_grad=True).requires_grad


def test_cast_keeps_the_gradient_in_the_source_dtype():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2, 4])
    assert tg.gradcheck(lambda t: t.astype(np.float64) * 3, [tg.randn(3, dtype=np.float64, requires_grad=True)])


def test_cast_vjp_returns_the_source_dtype_to_intermediate_tensors_too():
    """Not only the leaf (which backward casts anyway): a float32 tensor between the leaf and the cast
    sees a float32 gradient, in retain_grad and in hooks, as in PyTorch."""
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.dtype))
    (h.double() * tg.Tensor(np.array([3.0, 4.0]))).sum().backward()
    assert h.grad.dtype == np.float32 and seen == [np.float32]
    np.testing.assert_array_equal(h.grad.numpy(), [3, 4])


# ---------------------------------------------------------------------------
# backward semantics
# ---------------------------------------------------------------------------

def test_gradients_accumulate_across_backward_calls():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_non_leaf_grads_kept_only_with_retain_grad():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = x * 3
    h.retain_grad()
    (h * k).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), k.numpy())
    assert k.grad is None


def test_retain_graph_allows_a_second_backward_and_freed_graph_raises():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_backward_on_non_scalar_needs_grad():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        y.backward()
    y.backward(tg.Tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 20])
    with pytest.raises(tg.ShapeError, match=r"gradient has shape \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_no_grad_records_nothing_and_enable_grad_reenables():
    x = tg.Tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()

    @tg.no_grad()
    def f(t):
        return t * 3
    assert f(x).grad_fn is None


def test_hooks_see_and_replace_gradients():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    h.register_hook(lambda g: g * 10)
    remove = x.register_hook(lambda g: g + 1)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [1, 1])
    np.testing.assert_allclose(x.grad.numpy(), [21, 21])
    remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 1])


def test_leaf_grad_never_aliases_the_callers_array():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], np.float32)
    (x + 0).backward(g)
    x.grad.array += 5
    assert g.tolist() == [1.0, 1.0]


def test_shared_subexpression_gets_the_sum_and_each_vjp_runs_once(monkeypatch):
    calls = {"n": 0}
    original = tg.ops.Tanh.backward

    def counting(self, g):
        calls["n"] += 1
        return original(self, g)
    monkeypatch.setattr(tg.ops.Tanh, "backward", counting)
    x = tg.Tensor([0.5, -0.3], requires_grad=True, dtype=np.float64)
    s = x.tanh()                     # used 50 times
    total = s
    for _ in range(49):
        total = total + s
    total.sum().backward()
    assert calls["n"] == 1
    np.testing.assert_allclose(x.grad.numpy(), 50 * (1 - np.tanh(x.numpy()) ** 2))


def test_diamond_and_slices_accumulate_into_one_buffer():
    x = tg.randn(2, 8, dtype=np.float64, requires_grad=True)
    def gates(t):
        i, f, g, o = t.chunk(4, axis=1)
        return (i.sigmoid() * g.tanh() + f.sigmoid() * o).sum(axis=1) + t[:, 1:3].sum()
    assert tg.gradcheck(gates, [x])


def test_weight_gradients_gathered_lazily_mix_with_dense_ones():
    """A weight read by several matmuls (lazy a^T g products) and by elementwise ops (dense)."""
    W = tg.randn(3, 4, dtype=np.float64, requires_grad=True)
    xs = [tg.randn(2, 3, dtype=np.float64) for _ in range(3)]
    def f(w):
        out = (xs[0] @ w).tanh().sum() + (w * w).sum()
        for x in xs[1:]:
            out = out + (x @ w).sigmoid().sum()
        return out + (xs[0] @ w.T.T).sum()
    assert tg.gradcheck(f, [W])
    v = tg.randn(3, dtype=np.float64, requires_grad=True)          # a 1-d right operand
    assert tg.gradcheck(lambda v: (xs[0] @ v) * (xs[1] @ v), [v])


def test_in_place_accumulation_never_writes_into_arrays_it_did_not_allocate():
    g_user = np.ones((2, 3))
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    keep = np.ones((2, 3))
    c = tg.Tensor(keep)
    y = x * c + x + x[:, :] + x                 # four contributions to x's gradient
    y.backward(g_user)
    np.testing.assert_array_equal(g_user, np.ones((2, 3)))
    np.testing.assert_array_equal(keep, np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 4.0))


def test_deep_chain_of_200k_ops_backprops_without_recursion():
    assert sys.getrecursionlimit() <= 10_000
    x = tg.Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_rnn_unrolled_10000_steps_backprops():
    tg.manual_seed(0)
    W = tg.Tensor(np.eye(4) * 0.5, requires_grad=True)
    U = tg.randn(3, 4, requires_grad=True)
    xs = tg.randn(10_000, 1, 3)
    h = tg.zeros(1, 4)
    for t in range(10_000):
        h = (xs[t] @ U + h @ W).tanh()
    h.sum().backward()
    assert W.grad.shape == (4, 4) and np.isfinite(W.grad.numpy()).all()
    assert U.grad.shape == (3, 4) and np.abs(U.grad.numpy()).sum() > 0


def test_graph_arrays_are_freed_after_backward():
    x = tg.randn(50, 50, requires_grad=True)
    h = x.tanh()
    y = (h * h).sum()
    saved = weakref.ref(h.grad_fn.saved)           # tanh's output, kept for its VJP
    del h
    y.backward()
    gc.collect()
    assert saved() is None
    mul = y.grad_fn.next_functions[0][0]                # the structure stays, as in PyTorch
    assert (y.grad_fn.name, mul.name, mul.saved_shapes) == ("sum", "mul", ())
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()


def test_collector_thresholds_restored_after_forward_and_backward_even_on_error():
    before = gc.get_threshold()
    seen = []
    lstm = tg.nn.LSTM(3, 4)
    x = tg.randn(5, 2, 3)
    out, _ = lstm(x)
    assert gc.get_threshold() == before and gc.isenabled()
    h = out.register_hook(lambda g: seen.append(gc.get_threshold()[2]))
    out.sum().backward()
    assert seen == [1 << 30]                      # full collections deferred inside backward
    assert gc.get_threshold() == before and gc.isenabled()
    h()
    with pytest.raises(tg.ShapeError):
        lstm(tg.randn(5, 2, 7))
    assert gc.get_threshold() == before


def test_overlapping_deferrals_restore_the_thresholds_once_the_last_ends():
    before = gc.get_threshold()
    from tinygrad_seq.tensor import full_gc_deferred
    a, b = full_gc_deferred(), full_gc_deferred()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)                  # two threads: the first in leaves first
    assert gc.get_threshold()[2] == 1 << 30
    b.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_young_collections_keep_running_during_a_recurrent_forward():
    class Cyclic:
        pass
    lstm = tg.nn.LSTM(3, 4)
    x = tg.randn(300, 2, 3)                       # thousands of graph objects: several young collections
    gc.collect()
    a = Cyclic()
    a.self = a
    probe = weakref.ref(a)
    del a
    out, _ = lstm(x)                              # no gc.collect() here: the collector ran by itself
    assert probe() is None
    out.sum().backward()


def test_no_grad_saves_nothing():
    x = tg.randn(10, requires_grad=True)
    with tg.no_grad():
        y = x.tanh()
    assert y.grad_fn is None


def test_vjp_not_called_for_inputs_without_grad(monkeypatch):
    seen = []
    original = tg.ops.MatMul.backward

    def spy(self, g):
        seen.append(self.needs_input_grad)
        return original(self, g)
    monkeypatch.setattr(tg.ops.MatMul, "backward", spy)
    w = tg.randn(3, 3, requires_grad=True)
    (tg.randn(2, 3) @ w).sum().backward()
    assert seen == [(False, True)]


# ---------------------------------------------------------------------------
# numerical stability
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_plus_minus_1e4(dtype):
    x = tg.Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [x.sigmoid(), x.softplus(), x.log_softmax(0), x.logsumexp(0), x.softmax(0), x.tanh()]
        sum(o.sum() for o in outs).backward()
    for o in outs:
        assert np.isfinite(o.numpy()).all() and o.dtype == dtype
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.sigmoid().numpy()[[0, -1]], [0, 1])
    np.testing.assert_allclose(x.softplus().numpy()[[0, -1]], [0, 1e4])
    np.testing.assert_allclose(x.logsumexp(0).item(), 1e4, rtol=1e-6)


# ---------------------------------------------------------------------------
# error messages
# ---------------------------------------------------------------------------

def test_shape_errors_name_the_op_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5 differ"):
        tg.randn(3, 4) @ tg.randn(5, 6)
    with pytest.raises(tg.ShapeError, match=r"add: shapes \(3,\) and \(4,\)"):
        tg.randn(3) + tg.randn(4)
    with pytest.raises(tg.ShapeError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        tg.randn(2, 3) * tg.randn(2)
    with pytest.raises(tg.ShapeError, match=r"reshape: cannot reshape \(2, 3\)"):
        tg.randn(2, 3).reshape(4, 2)
    with pytest.raises(tg.ShapeError, match="cat:"):
        tg.cat([tg.randn(2, 3), tg.randn(3, 2)], axis=0)
    with pytest.raises(IndexError, match=r"sum: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        tg.randn(2, 3).sum(axis=2)
    with pytest.raises(IndexError, match="getitem"):
        tg.randn(2, 3)[5]


def test_unknown_keyword_arguments_are_rejected():
    x = tg.randn(2, 3)
    with pytest.raises(TypeError):
        x.sum(axes=1)
    with pytest.raises(TypeError):
        tg.Tensor([1.0], require_grad=True)
    with pytest.raises(TypeError):
        tg.zeros(2, dtyp=np.float64)
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)


def test_wrong_dtypes_give_clear_messages():
    with pytest.raises(TypeError, match="where: the condition must be boolean"):
        tg.where(tg.Tensor([1.0]), tg.Tensor([1.0]), tg.Tensor([2.0]))
    with pytest.raises(TypeError, match="one_hot: indices must be integers"):
        tg.one_hot(tg.Tensor([0.5]), 3)
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tg.Tensor({"a": 1})


# ---------------------------------------------------------------------------
# composites and gradcheck itself
# ---------------------------------------------------------------------------

def test_dropout_one_hot_and_split_semantics():
    tg.manual_seed(0)
    x = tg.ones(1000)
    y = tg.dropout(x, 0.3, training=True)
    kept = (y.numpy() > 0).mean()
    assert 0.6 < kept < 0.8 and np.allclose(y.numpy()[y.numpy() > 0], 1 / 0.7)
    assert tg.dropout(x, 0.3, training=False) is x
    np.testing.assert_array_equal(tg.one_hot(tg.tensor([2, 0]), 3).numpy(), [[0, 0, 1], [1, 0, 0]])
    assert [p.shape[0] for p in tg.randn(7, 2).split(3)] == [3, 3, 1]
    assert [p.shape[0] for p in tg.randn(7, 2).chunk(3)] == [3, 3, 1]
    assert [p.shape[1] for p in tg.randn(2, 6).split([1, 5], dim=1)] == [1, 5]


def test_gradcheck_reports_a_wrong_gradient():
    class Bad(Node):
        name = "bad"

        def forward(self, x):
            return x * x

        def backward(self, g):
            return (g * 3,)

    x = tg.randn(2, 2, dtype=np.float64, requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"input 0 \(shape \(2, 2\)\), element \(0, 0\): analytic .* numeric"):
        tg.gradcheck(lambda t: Bad.apply(t), [x])
