"""Views that alias, as in PyTorch: slices, reshape/view, transpose/permute/t, unsqueeze/squeeze, detach and
.data share memory with their base; an in-place op on a view changes the base, and with gradients on the base's
history is rewritten (PyTorch's CopySlices) so every gradient is right.

The reference is numpy: the same program run on numpy arrays (numpy's views share memory the same way), and
gradients by central differences of that numpy program in float64.  The four examples from issue 19 carry
PyTorch 2.13's numbers, read off by hand and written in.  PyTorch is never imported.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg

SHAPE = (3, 4)

# views: (tinygrad form, numpy form) -- the same view of a (3, 4) tensor / array
VIEWS = [
    (lambda t: t, lambda a: a),
    (lambda t: t[1:], lambda a: a[1:]),
    (lambda t: t[:, 2], lambda a: a[:, 2]),
    (lambda t: t[1], lambda a: a[1]),
    (lambda t: t[2, 1], lambda a: a[2, 1, ...]),
    (lambda t: t[::2, 1:3], lambda a: a[::2, 1:3]),
    (lambda t: t.t(), lambda a: a.T),
    (lambda t: t.transpose(0, 1)[1:3], lambda a: a.T[1:3]),
    (lambda t: t.permute(1, 0)[3], lambda a: a.T[3]),
    (lambda t: t.reshape(12)[2:9], lambda a: a.reshape(12)[2:9]),
    (lambda t: t.view(2, 6)[1], lambda a: a.reshape(2, 6)[1]),
    (lambda t: t.unsqueeze(0)[0, :2], lambda a: a[None][0, :2]),
    (lambda t: t[1:2].squeeze(0), lambda a: a[1:2][0]),
    (lambda t: t.flatten()[::3], lambda a: a.reshape(-1)[::3]),
    (lambda t: t[1:].reshape(2, 2, 2)[:, 1], lambda a: a[1:].reshape(2, 2, 2)[:, 1]),
]

# in-place ops: (tinygrad, numpy) with a constant c
OPS = [
    (lambda v, c: v.add_(c), lambda a, c: np.add(a, c, out=a)),
    (lambda v, c: v.mul_(c), lambda a, c: np.multiply(a, c, out=a)),
    (lambda v, c: v.sub_(c), lambda a, c: np.subtract(a, c, out=a)),
    (lambda v, c: v.tanh_(), lambda a, c: np.tanh(a, out=a)),
    (lambda v, c: v.pow_(2), lambda a, c: np.power(a, 2, out=a)),
    (lambda v, c: v.fill_(c), lambda a, c: a.fill(c)),
    (lambda v, c: v.__setitem__(..., c), lambda a, c: a.__setitem__(..., c)),
    # an operand that itself carries a gradient: the leaf's element [0, 0] (never changed in place) times c
    (lambda v, c, x=None: v.mul_(x[0, 0] * c), lambda a, c, x=None: np.multiply(a, x[0, 0] * c, out=a)),
    (lambda v, c, x=None: v.add_(x[2, 3] * c), lambda a, c, x=None: np.add(a, x[2, 3] * c, out=a)),
]
WITH_X = {len(OPS) - 2, len(OPS) - 1}


def apply_op(i, side, v, c, x):
    f = OPS[i][side]
    return f(v, c, x=x) if i in WITH_X else f(v, c)

program = st.lists(st.tuples(st.integers(0, len(VIEWS) - 1), st.integers(0, len(OPS) - 1),
                             st.floats(-1.5, 1.5, allow_nan=False)), min_size=1, max_size=4)


def run_numpy(x, steps, held):
    """The program on numpy arrays: y = x * 1, each step an in-place op on a view; the loss reads y and a view
    taken before the steps (it sees every change, as numpy views do)."""
    y = x * 1.0
    h = VIEWS[held][1](y)
    for vi, oi, c in steps:
        apply_op(oi, 1, VIEWS[vi][1](y), c, x)
    return y, h


def loss_weights(h_shape):
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, SHAPE), rng.uniform(-1, 1, h_shape)


@settings(deadline=None)
@given(program, st.integers(0, len(VIEWS) - 1), st.integers(0, 2**31 - 1))
def test_chains_of_views_and_in_place_ops_match_numpy_values_and_gradients(steps, held, seed):
    x0 = np.random.default_rng(seed).uniform(-1, 1, SHAPE)
    y_ref, h_ref = run_numpy(x0.copy(), steps, held)
    w, wh = loss_weights(np.shape(h_ref))

    x = tg.tensor(x0.copy(), requires_grad=True)
    y = x * 1.0
    h = VIEWS[held][0](y)
    for vi, oi, c in steps:
        apply_op(oi, 0, VIEWS[vi][0](y), c, x)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h_ref, rtol=1e-12, atol=1e-12)   # the held view sees every change
    assert y._version == h._version == len(steps)                          # one counter, shared

    loss = (y * tg.tensor(w)).sum() + (h * tg.tensor(wh)).sum()
    loss.backward()

    def f(xv):
        yv, hv = run_numpy(xv, steps, held)
        return (yv * w).sum() + (hv * wh).sum()
    eps, num = 1e-6, np.zeros(SHAPE)
    for i in np.ndindex(SHAPE):
        d = np.zeros(SHAPE)
        d[i] = eps
        num[i] = (f(x0 + d) - f(x0 - d)) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-5, atol=1e-6)


@given(program, st.integers(0, len(VIEWS) - 1), st.integers(0, 2**31 - 1))
def test_the_same_chains_without_gradients_alias_the_same_way(steps, held, seed):
    x0 = np.random.default_rng(seed).uniform(-1, 1, SHAPE)
    y_ref, h_ref = run_numpy(x0.copy(), steps, held)
    with tg.no_grad():
        x = tg.tensor(x0.copy(), requires_grad=True)
        y = x * 1.0
        h = VIEWS[held][0](y)
        d = y.detach()
        for vi, oi, c in steps:
            apply_op(oi, 0, VIEWS[vi][0](y), c, x)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.numpy(), h_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d.numpy(), y_ref, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------
# issue 19's four examples, with PyTorch 2.13's numbers
# ----------------------------------------------------------------------------

def test_in_place_on_a_slice_changes_the_base():
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    y[:2].add_(10)
    np.testing.assert_array_equal(y.numpy(), [11., 12., 3., 4.])           # PyTorch: [11, 12, 3, 4]


def test_a_view_taken_before_sees_the_change_and_its_gradient_is_right():
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    v = y[:2]
    y.add_(10)
    np.testing.assert_array_equal(v.numpy(), [11., 12.])                   # PyTorch: [11, 12]
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    v = y[:2]
    y.mul_(3)
    (v * v).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [18., 36., 0., 0.])      # PyTorch: [18, 36, 0, 0]


def test_in_place_on_a_view_rewrites_the_bases_history():
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    y[1:].mul_(3)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [1., 6., 9., 12.])            # PyTorch: [1, 6, 9, 12]
    np.testing.assert_array_equal(x.grad.numpy(), [1., 3., 3., 3.])        # PyTorch: [1, 3, 3, 3]
    assert y.grad_fn.name == "copy_slices"                                  # PyTorch: CopySlices


def test_detach_shares_memory():
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    d = y.detach()
    e = y.data
    y.mul_(2)
    np.testing.assert_array_equal(d.numpy(), [2., 4., 6., 8.])             # PyTorch: [2, 4, 6, 8]
    np.testing.assert_array_equal(e.numpy(), [2., 4., 6., 8.])
    assert d._version == y._version == 1


def test_in_place_on_a_view_of_a_constant_gives_the_base_a_history():
    # PyTorch 2.13: y = zeros(4); y[1:3].add_(x * 2); (y*y).sum().backward() -> y [0,2,4,0], x.grad [8, 16]
    x = tg.tensor([1., 2.], requires_grad=True)
    y = tg.zeros(4)
    y[1:3].add_(x * 2)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.numpy(), [0., 2., 4., 0.])
    np.testing.assert_array_equal(x.grad.numpy(), [8., 16.])


def test_refused_forms_say_why():
    x = tg.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:1].add_(1)                                                       # PyTorch's message
    y = x * 1
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single"):
        y[None].expand(2, 2).add_(1)                                        # PyTorch refuses it too
    with tg.no_grad():
        v = y[:1]
    with pytest.raises(RuntimeError, match="view was created in no_grad mode"):
        v.mul_(x[:1])                                                       # PyTorch refuses it too


def test_a_saved_value_overwritten_through_a_view_is_caught():
    # PyTorch 2.13: z = y * y; y[:1].add_(1); z.sum().backward() raises (y was saved, then changed in place)
    x = tg.tensor([1., 2.], requires_grad=True)
    y = x * 1
    z = y * y
    y[:1].add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_split_and_unbind_pieces_share_memory_and_refuse_in_place_with_grad():
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    a, b = y.split(2)
    with pytest.raises(RuntimeError, match="returns multiple views"):          # PyTorch refuses it too
        a.add_(1)
    with pytest.raises(RuntimeError, match="returns multiple views"):
        y.reshape(2, 2).unbind(0)[1].mul_(2)
    with tg.no_grad():
        b.mul_(2)                                                               # no gradient flowing: allowed
    np.testing.assert_array_equal(y.numpy(), [1., 2., 6., 8.])
    np.testing.assert_array_equal(b.numpy(), [6., 8.])


@pytest.mark.parametrize("change", [lambda y: y.unsqueeze_(0), lambda y: setattr(y, "data", tg.zeros(4))])
def test_a_view_whose_base_changed_shape_or_memory_is_refused(change):
    x = tg.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    v = y[:2]
    change(y)
    with pytest.raises(RuntimeError, match="changed shape or memory"):
        v.mul_(x[:2])
