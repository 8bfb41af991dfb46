"""PyTorch semantics, second pass: backward(inputs=), autograd.grad with leaf hooks, requires_grad_(False) after
use, half(), and the stale-graph check (exactly as strict as PyTorch's: per saved tensor).

Expected values are hand derivations (d/dx of sum(x*x) is 2x, ...) or were read off PyTorch 2.13 (CPU) by hand
and written in; PyTorch is never imported.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg

floats = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=1, max_size=5)


@given(floats, st.floats(0.5, 3))
def test_backward_inputs_non_leaf_gets_its_accumulated_gradient(xs, c):
    x = tg.tensor(xs, dtype=tg.float64, requires_grad=True)
    y = x * c
    for k in (1, 2):                                    # accumulates across calls, as a leaf's does
        ((y * y).sum()).backward(inputs=[y], retain_graph=True)
        np.testing.assert_allclose(y.grad.numpy(), k * 2 * c * np.array(xs), rtol=1e-12)
    assert x.grad is None                               # only ``inputs`` change


def test_backward_inputs_empty_is_refused_with_pytorchs_message():
    x = tg.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        tg.autograd.backward([(x * 2).sum()], inputs=[])


@given(floats, st.integers(2, 5))
def test_leaf_hooks_apply_in_autograd_grad(xs, k):
    # PyTorch 2.13: x.register_hook(lambda g: g*10); autograd.grad((x*x).sum(), [x]) -> (20x,)
    x = tg.tensor(xs, dtype=tg.float64, requires_grad=True)
    x.register_hook(lambda g: g * k)
    (gx,) = tg.autograd.grad((x * x).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), 2 * k * np.array(xs), rtol=1e-12)
    assert x.grad is None
    (x * x).sum().backward(inputs=[x])                  # and once (not twice) through backward(inputs=)
    np.testing.assert_allclose(x.grad.numpy(), 2 * k * np.array(xs), rtol=1e-12)


def test_requires_grad_false_after_use_keeps_the_graph_and_fills_no_grad():
    # PyTorch 2.13: x.requires_grad_(False) after y = (x*w).sum(): y.backward() works, x.grad is None, w.grad = x
    x = tg.tensor([1., 2., 3.], requires_grad=True)
    w = tg.tensor([1., 1., 1.], requires_grad=True)
    y = (x * w).sum()
    x.requires_grad_(False)
    y.backward()
    assert x.grad is None and not x.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), [1., 2., 3.])


def test_half_is_float16():
    t = tg.tensor([1.5, -2.25]).half()
    assert t.dtype == np.float16 and t.dtype == tg.float16
    np.testing.assert_array_equal(t.numpy(), np.array([1.5, -2.25], np.float16))


# ----------------------------------------------------------------------------
# the stale-graph check: exactly the tensors a VJP reads, each against its own changes (PyTorch's rule)
# ----------------------------------------------------------------------------

# which input's values each VJP reads, given which inputs need a gradient (PyTorch's derivatives.yaml:
# a * b saves b for da and a for db; a @ b the same; a / b saves b always and a only for db).  Checked by hand
# against PyTorch 2.13 for every row: changing an input in place under no_grad raises exactly when it was saved.
READS = {"mul": lambda ra, rb: {"a": rb, "b": ra},
         "matmul": lambda ra, rb: {"a": rb, "b": ra},
         "div": lambda ra, rb: {"a": rb, "b": True}}


def _grads(op, a, b):
    """d sum(op(a, b)) / da and / db in numpy, by hand."""
    one = np.ones((a @ b).shape if op == "matmul" else np.broadcast(a, b).shape)
    if op == "mul":
        return one * b, one * a
    if op == "matmul":
        return one @ b.T, a.T @ one
    return one / b, -one * a / b ** 2


@given(st.sampled_from(sorted(READS)), st.sampled_from([(True, False), (False, True), (True, True)]),
       st.sampled_from("ab"), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_in_place_change_raises_exactly_when_a_vjp_reads_the_changed_tensor(op, req, which, m, n, seed):
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(0.5, 2, (m, n))
    b0 = rng.uniform(0.5, 2, (n, m) if op == "matmul" else (m, n))
    a = tg.tensor(a0.copy(), requires_grad=req[0])
    b = tg.tensor(b0.copy(), requires_grad=req[1])
    y = {"mul": lambda: a * b, "matmul": lambda: a @ b, "div": lambda: a / b}[op]().sum()
    changed = a if which == "a" else b
    before = changed._version
    with tg.no_grad():
        changed.mul_(3.0)
    assert changed._version == before + 1
    if READS[op](*req)[which]:
        with pytest.raises(RuntimeError, match="modified in place"):
            y.backward()
        return
    y.backward()                                       # valid: the gradient reads only unchanged values
    ga, gb = _grads(op, a0, b0)
    if req[0]:
        np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-12)
    if req[1]:
        np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-12)


def test_zeroing_a_weight_whose_value_the_requested_gradient_never_reads():
    # PyTorch 2.13: y = lin(x) with x not requiring grad; init.zeros_(lin.weight); y.sum().backward() works,
    # weight.grad = x summed over the batch
    from tinygrad_seq import nn
    lin = nn.Linear(3, 2)
    x = tg.tensor([[1., 2., 3.], [4., 5., 6.]])
    y = lin(x).sum()
    nn.init.zeros_(lin.weight)
    y.backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), [[5., 7., 9.]] * 2, rtol=1e-6)
    np.testing.assert_allclose(lin.bias.grad.numpy(), [2., 2.])
    y = lin(x).sum() + (lin.weight ** 2).sum()          # now the weight's value is read (by pow's VJP): refused
    nn.init.ones_(lin.weight)
    with pytest.raises(RuntimeError, match="'weight'.*modified in place"):
        y.backward()


@pytest.mark.parametrize("f", [lambda x: x + 1, lambda x: (-x).reshape(-1), lambda x: x[1:].sum(0),
                               lambda x: x.permute(1, 0) - 3, lambda x: tg.cat([x, x])])
def test_second_backward_through_ops_that_saved_nothing_is_valid(f):
    # PyTorch 2.13: a second backward through add/reshape/slice/permute/cat (nothing saved) works and accumulates
    x = tg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    y = f(x).sum()
    y.backward()
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)
    z = (x * x).sum()                                   # x * x saved x: the second one is refused
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()
