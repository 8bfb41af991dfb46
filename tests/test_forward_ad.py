"""Forward mode (dual tensors) for every primitive op, against reverse mode; and the dual-tensor API.

For each op of ``test_ops.py``'s factory and each drawn example, the
forward-mode product  <u, J v>  (the JVP rules in ops.py, carried by dual
tensors) must equal the reverse-mode one  <J^T u, v>  (the VJPs, which
test_ops.py checks against finite differences) to 1e-10 in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
import tinygrad_seq.autograd.forward_ad as fwAD
from test_ops import SPECS, Spec, _as_list


def _forward_vs_reverse(fn, arrays, seed=0):
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(tg.tensor(a), tg.tensor(v)) for a, v in zip(arrays, vs)]
        outs = _as_list(fn(*duals))
        tangents = [fwAD.unpack_dual(o).tangent for o in outs]
    us = [rng.standard_normal(o.shape) for o in outs]
    fwd = sum(float(np.sum(u * (0 if t is None else t.numpy()))) for u, t in zip(us, tangents))
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    outs_r = _as_list(fn(*xs))
    pairs = [(o, tg.tensor(u)) for o, u in zip(outs_r, us) if o.requires_grad]
    grads = tg.autograd.grad([o for o, _ in pairs], xs, [u for _, u in pairs], allow_unused=True) if pairs else \
        [None] * len(xs)
    rev = sum(float(np.sum(g.numpy() * v)) for g, v in zip(grads, vs) if g is not None)
    for o, o_r in zip(outs, outs_r):       # the primal is untouched by forward mode
        np.testing.assert_array_equal(o.numpy(), o_r.numpy())
    return fwd, rev


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=8)
@given(data=st.data())
def test_forward_equals_reverse_every_op(spec: Spec, data) -> None:
    arrays, kw = spec.draw(data)
    if spec.ref(*arrays, **kw) is None:
        return
    fwd, rev = _forward_vs_reverse(lambda *ts: spec.fn(*ts, **kw), arrays, data.draw(st.integers(0, 100)))
    assert abs(fwd - rev) <= 1e-10 * max(1.0, abs(rev)), (fwd, rev)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=3)
@given(data=st.data())
def test_forward_over_reverse_equals_reverse_over_reverse_every_op(spec: Spec, data) -> None:
    """H v two ways: the tangent of a recorded gradient (forward over reverse) and the gradient of <g, v>."""
    arrays, kw = spec.draw(data)
    if spec.ref(*arrays, **kw) is None:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    vs = [rng.standard_normal(a.shape) for a in arrays]
    rs = None

    def loss(*ts):
        nonlocal rs
        outs = [o for o in _as_list(spec.fn(*ts, **kw)) if o.requires_grad]
        rs = rs or [rng.standard_normal(o.shape) for o in outs]
        return sum(((o * tg.tensor(r)).sum() for o, r in zip(outs, rs)), tg.zeros((), dtype=np.float64))

    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    gs = tg.autograd.grad(loss(*xs), xs, create_graph=True, allow_unused=True)
    pairs = [(g, v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    hv_rr = tg.autograd.grad([g for g, _ in pairs], xs, [tg.tensor(v) for _, v in pairs], allow_unused=True) \
        if pairs else [None] * len(xs)
    with fwAD.dual_level():
        duals = [fwAD.make_dual(tg.tensor(a, requires_grad=True), tg.tensor(v)) for a, v in zip(arrays, vs)]
        gs = tg.autograd.grad(loss(*duals), duals, create_graph=True, allow_unused=True)
        hv_fr = [None if g is None else fwAD.unpack_dual(g).tangent for g in gs]
    for a, b in zip(hv_rr, hv_fr):       # H is symmetric: H v = v^T H
        a = 0 if a is None else a.numpy()
        b = 0 if b is None else b.numpy()
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


def test_cast_forward_equals_reverse() -> None:
    fwd, rev = _forward_vs_reverse(lambda x: (x.float() * 2).double() ** 2, [np.array([0.5, -1.0, 2.0])])
    assert abs(fwd - rev) <= 1e-5 * abs(rev)


def test_every_primitive_op_has_a_jvp_rule_and_is_checked_here() -> None:
    from tinygrad_seq import ops
    from tinygrad_seq.tensor import Node
    classes = [c for c in vars(ops).values() if isinstance(c, type) and issubclass(c, Node) and c is not Node]
    assert all(c.jvp is not Node.jvp for c in classes), [c.__name__ for c in classes if c.jvp is Node.jvp]
    assert {c.name for c in classes} - {s.name for s in SPECS} == {"cast"}


# ---------------------------------------------------------------------------
# the dual-tensor API, as PyTorch's
# ---------------------------------------------------------------------------

def test_dual_api_semantics() -> None:
    x = tg.tensor([1.0, 2.0], dtype=np.float64)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, tg.ones(2, dtype=np.float64))
    assert fwAD.unpack_dual(x) == (x, None)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, tg.ones(3, dtype=np.float64))
        with pytest.raises(ValueError, match="floating point"):
            fwAD.make_dual(tg.tensor([1, 2]), tg.ones(2))
        with pytest.raises(RuntimeError, match="Nested"):
            with fwAD.dual_level():
                pass
        d = fwAD.make_dual(x, tg.ones(2))                      # a float32 tangent takes the primal's dtype
        assert fwAD.unpack_dual(d).tangent.dtype == np.float64
        y = d * d
        primal, tangent = fwAD.unpack_dual(y)
        assert isinstance(fwAD.unpack_dual(y), fwAD.UnpackedDualTensor)
        assert fwAD.unpack_dual(primal).tangent is None
        np.testing.assert_allclose(tangent.numpy(), [2.0, 4.0])
        assert fwAD.unpack_dual(d > 1).tangent is None              # bool and integer results carry none
        assert fwAD.unpack_dual(d.argmax()).tangent is None
        assert fwAD.unpack_dual(x * 2).tangent is None              # the primal itself is not dual
    assert fwAD.unpack_dual(y).tangent is None                      # tangents vanish with the level
    level = fwAD.enter_dual_level()
    fwAD.exit_dual_level(level=level)
    with pytest.raises(RuntimeError, match="last one"):
        fwAD.exit_dual_level()


def test_no_dual_cost_outside_a_level() -> None:
    from tinygrad_seq._state import State
    with fwAD.dual_level():
        assert State.watch
    assert not State.watch and not State.dual


def test_make_dual_is_differentiable_and_tangents_too() -> None:
    """Reverse over forward: the tangent J(x) v is a function of x, differentiated by backward."""
    x = tg.tensor([0.3, -0.7, 1.1], dtype=np.float64, requires_grad=True)
    v = np.array([1.0, -2.0, 0.5])
    with fwAD.dual_level():
        y = fwAD.make_dual(x, tg.tensor(v)).tanh()
        t = fwAD.unpack_dual(y).tangent                             # (1 - tanh^2 x) v
    t.sum().backward()
    th = np.tanh(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), -2 * th * (1 - th ** 2) * v, rtol=1e-12)


def test_forward_mode_through_in_place_ops() -> None:
    x = tg.tensor([0.5, 1.5, -2.0], dtype=np.float64)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, tg.tensor([1.0, 2.0, 3.0], dtype=np.float64))
        y = d * 1
        y.mul_(d)                                                   # y = x^2 in place: dy = 2 x dx
        y[0] = 7.0                                                  # a constant written in: its tangent is 0
        np.testing.assert_allclose(fwAD.unpack_dual(y).tangent.numpy(), [0.0, 6.0, -12.0])
