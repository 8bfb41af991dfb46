"""Gradients of gradients (``create_graph=True``) for every primitive op, and ``gradgradcheck``.

The ops, their input strategies and their numpy references are the ones of
``test_ops.py`` (one factory).  For each drawn example, ``gradgradcheck``
compares the recorded VJP's derivatives with finite differences of the
gradient, in float64.  Then the closed forms: a few second derivatives worked
out by hand, and the engine's plumbing (``.grad`` with a graph, hooks,
retain_graph's default, a 10,000-step chain without recursion).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
from test_ops import SPECS, Spec, _as_list

SLOW = {"matmul", "scatter", "scatter_add", "getitem", "copy_slices", "setitem", "cat", "stack", "split", "pad",
        "var", "logsumexp", "binary_cross_entropy", "cumsum", "expand", "permute", "reshape"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=4)
@given(data=st.data())
def test_gradgradcheck_every_op(spec: Spec, data) -> None:
    arrays, kw = spec.draw(data)
    if spec.ref(*arrays, **kw) is None:
        return
    tensors = [tg.Tensor(a, requires_grad=True) for a in arrays]
    assert tg.autograd.gradgradcheck(lambda *ts: tuple(_as_list(spec.fn(*ts, **kw))), tensors)


def test_every_primitive_op_is_checked_here() -> None:
    """A new op without a second-order test fails here (cast is checked below)."""
    from tinygrad_seq import ops
    from tinygrad_seq.tensor import Node
    primitives = {c.name for c in vars(ops).values() if isinstance(c, type) and issubclass(c, Node) and c is not Node}
    assert primitives - {s.name for s in SPECS} == {"cast"}


def test_cast_second_order() -> None:
    x = tg.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda x: (x.float() ** 3).double(), [x], eps=1e-3, atol=1e-3, rtol=1e-2)


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------

def _grad2(f, x):
    g, = tg.autograd.grad(f(x), x, create_graph=True)
    h = np.stack([tg.autograd.grad(g.reshape(-1)[i], x, retain_graph=True)[0].numpy().reshape(-1)
                  for i in range(x.numel())])
    return g.numpy(), h


def test_second_and_third_derivatives_of_elementwise_functions() -> None:
    xv = np.array([0.3, -1.2, 2.0, 0.7])
    x = tg.tensor(xv, requires_grad=True)
    for f, d1, d2, d3 in [
        (lambda x: x.sin() * x.exp(), lambda v: (np.sin(v) + np.cos(v)) * np.exp(v), lambda v: 2 * np.cos(v) * np.exp(v),
         lambda v: 2 * (np.cos(v) - np.sin(v)) * np.exp(v)),
        (lambda x: x.tanh(), lambda v: 1 - np.tanh(v) ** 2, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2),
         lambda v: (1 - np.tanh(v) ** 2) * (6 * np.tanh(v) ** 2 - 2)),
        (lambda x: x.sigmoid(), lambda v: _s(v) * (1 - _s(v)), lambda v: _s(v) * (1 - _s(v)) * (1 - 2 * _s(v)),
         lambda v: _s(v) * (1 - _s(v)) * (1 - 6 * _s(v) + 6 * _s(v) ** 2)),
        (lambda x: (x * x + 1).log(), lambda v: 2 * v / (v * v + 1), lambda v: (2 - 2 * v * v) / (v * v + 1) ** 2,
         lambda v: (4 * v ** 3 - 12 * v) / (v * v + 1) ** 3),
    ]:
        g1, = tg.autograd.grad(f(x).sum(), x, create_graph=True)
        g2, = tg.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = tg.autograd.grad(g2.sum(), x)
        np.testing.assert_allclose(g1.numpy(), d1(xv), rtol=1e-12)
        np.testing.assert_allclose(g2.numpy(), d2(xv), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g3.numpy(), d3(xv), rtol=1e-10, atol=1e-12)


def _s(v):
    return 1 / (1 + np.exp(-v))


def test_hessians_against_closed_forms() -> None:
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    xv = rng.standard_normal(4)
    x = tg.tensor(xv, requires_grad=True)
    _, h = _grad2(lambda x: x @ tg.tensor(A) @ x, x)                       # x^T A x: A + A^T
    np.testing.assert_allclose(h, A + A.T, rtol=1e-12)
    g, h = _grad2(lambda x: x.logsumexp(0), x)                              # diag(p) - p p^T
    p = np.exp(xv - xv.max()) / np.exp(xv - xv.max()).sum()
    np.testing.assert_allclose(g, p, rtol=1e-12)
    np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-14)
    _, h = _grad2(lambda x: x.var(), x)                                      # 2 (I - 11^T/n) / (n - 1)
    np.testing.assert_allclose(h, 2 * (np.eye(4) - 1 / 4) / 3, rtol=1e-12, atol=1e-14)
    _, h = _grad2(lambda x: x.log_softmax(0)[1], x)                         # -(diag(p) - p p^T)
    np.testing.assert_allclose(h, -(np.diag(p) - np.outer(p, p)), rtol=1e-10, atol=1e-14)


def test_gradient_penalty_of_a_tiny_mlp_by_hand() -> None:
    """d/dW ||d(loss)/dx||^2 for loss = sum(tanh(W x)) against its hand derivation."""
    rng = np.random.default_rng(1)
    Wv, xv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    W, x = tg.tensor(Wv, requires_grad=True), tg.tensor(xv, requires_grad=True)
    gx, = tg.autograd.grad((W @ x).tanh().sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    t = np.tanh(Wv @ xv)
    s = 1 - t ** 2                          # gx = W^T s;  penalty P = |W^T s|^2
    u = Wv @ (Wv.T @ s)                     # dP/ds / 2 = W (W^T s)
    # dP/dW = 2 s (W^T s)^T + 2 (u * ds/da) x^T, with ds/da = -2 t s
    expected = 2 * np.outer(s, Wv.T @ s) + 2 * np.outer(u * (-2 * t * s), xv)
    np.testing.assert_allclose(W.grad.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * Wv.T @ (u * (-2 * t * s)), rtol=1e-12)


# ---------------------------------------------------------------------------
# the engine's plumbing in create_graph mode
# ---------------------------------------------------------------------------

def test_backward_create_graph_leaves_grad_with_a_graph_and_accumulates() -> None:
    x = tg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    x.grad = None
    (x ** 2).sum().backward(create_graph=True)              # accumulates into an existing grad, out of place
    (x ** 2).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    opt = tg.optim.SGD([x], lr=0.1)
    opt.step()
    np.testing.assert_allclose(x.numpy(), [0.6, 1.2])
    opt.zero_grad()
    assert x.grad is None


def test_retain_graph_defaults_to_create_graph() -> None:
    x = tg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = (x.exp() * x).sum()
    tg.autograd.grad(y, x, create_graph=True)
    tg.autograd.grad(y, x)                                  # the graph was kept
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(y, x)


def test_hooks_see_tensors_and_their_result_is_differentiated() -> None:
    x = tg.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(g) or g * x)      # the hook's result joins the graph
    g, = tg.autograd.grad(y.sum(), x, create_graph=True)    # g = 2 x * x
    assert isinstance(seen[0], tg.Tensor)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() ** 2)
    h, = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 4 * x.numpy())


def test_grad_outputs_with_a_graph_are_differentiated_too() -> None:
    """The double-backward trick: the VJP is linear in v, so d<J^T v, u>/dv = J u."""
    x = tg.tensor([0.2, -0.4, 1.0], dtype=np.float64, requires_grad=True)
    y = x.sin() * 2
    v = tg.zeros(3, dtype=np.float64, requires_grad=True)
    g, = tg.autograd.grad(y, x, v, create_graph=True)
    u = np.array([1.0, 2.0, 3.0])
    jv, = tg.autograd.grad(g, v, tg.tensor(u))
    np.testing.assert_allclose(jv.numpy(), 2 * np.cos(x.numpy()) * u, rtol=1e-14)


def test_stale_graph_check_in_create_graph_mode() -> None:
    w = tg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    a = w * 1
    y = (a * a).sum()
    with tg.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        tg.autograd.grad(y, w, create_graph=True)


def test_a_long_chain_without_recursion() -> None:
    """10,000 elementwise steps: grad-of-grad at the default recursion limit."""
    x = tg.tensor([0.5], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 0.9999
    g, = tg.autograd.grad((y * y).sum(), x, create_graph=True)       # d/dx (c x)^2 = 2 c^2 x
    h, = tg.autograd.grad(g.sum(), x)
    c2 = 0.9999 ** 20_000
    np.testing.assert_allclose([g.item(), h.item()], [2 * c2 * 0.5, 2 * c2], rtol=1e-9)


def test_float32_stays_float32_in_a_recorded_backward() -> None:
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    g, = tg.autograd.grad((x.tanh() * x.sigmoid()).logsumexp(0), x, create_graph=True)
    h, = tg.autograd.grad(g.sum(), x)
    assert g.dtype == np.float32 and h.dtype == np.float32


def test_first_order_backward_is_untouched_after_a_recorded_one() -> None:
    from tinygrad_seq import ops
    x = tg.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True)
    tg.autograd.grad((x * x).sum(), x, create_graph=True)
    assert ops.xp is ops.NUMPY
    (x @ tg.tensor(np.ones((2, 2)))).sum().backward()
    assert type(x.grad.numpy()) is np.ndarray and x.grad.grad_fn is None


def test_recorded_vjps_stay_stable_at_extreme_values() -> None:
    """Second derivatives of softplus, sigmoid, logsumexp and log_softmax at |x| = 1000: finite, no warnings."""
    import warnings
    x = tg.tensor([-1000.0, 0.0, 1000.0], requires_grad=True, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f, d2 in [(lambda x: x.softplus().sum(), [0.0, 0.25, 0.0]), (lambda x: x.sigmoid().sum(), [0.0, 0.0, 0.0])]:
            g, = tg.autograd.grad(f(x), x, create_graph=True)
            h, = tg.autograd.grad(g.sum(), x)
            np.testing.assert_allclose(h.numpy(), d2, atol=1e-300)
        y = tg.tensor([1000.0, 1000.0, -1000.0], requires_grad=True, dtype=np.float64)
        H = tg.autograd.functional.hessian(lambda y: y.logsumexp(0), y)
        np.testing.assert_allclose(H.numpy(), [[0.25, -0.25, 0], [-0.25, 0.25, 0], [0, 0, 0]], atol=1e-300)
        H = tg.autograd.functional.hessian(lambda y: y.log_softmax(0)[0], y)
        np.testing.assert_allclose(H.numpy(), [[-0.25, 0.25, 0], [0.25, -0.25, 0], [0, 0, 0]], atol=1e-300)


def test_gradgradcheck_catches_a_wrong_second_derivative(monkeypatch) -> None:
    """tanh's recorded VJP with its saved output read as a constant: first derivatives right, second wrong."""
    from tinygrad_seq import ops
    x = tg.tensor([0.3, -0.8], dtype=np.float64, requires_grad=True)
    assert tg.gradcheck(lambda x: x.tanh(), [x])
    assert tg.autograd.gradgradcheck(lambda x: x.tanh(), [x])
    monkeypatch.setattr(ops.Tanh, "saves", (None,))
    assert tg.gradcheck(lambda x: x.tanh(), [x])
    with pytest.raises(tg.GradcheckError, match="gradgradcheck"):
        tg.autograd.gradgradcheck(lambda x: x.tanh(), [x])
    assert tg.autograd.gradgradcheck(lambda x: x.tanh(), [x], raise_exception=False) is False
