"""Optimizers against their update formulas written out by hand, over several steps; schedulers; clipping."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.2, 1.0]), np.array([1.5, -0.7, -0.1]),
         np.array([0.05, 0.4, -2.0])]
P0 = np.array([1.0, -2.0, 0.5])


def run(opt_cls, **kw):
    p = tg.Tensor(P0.copy(), requires_grad=True)
    opt = opt_cls([p], **kw)
    for g in GRADS:
        p.grad = tg.Tensor(g)
        opt.step()
    return p.numpy()


def by_hand_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    p, buf = P0.copy(), None
    for g in GRADS:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def by_hand_adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False, amsgrad=False):
    p, m, v, vmax = P0.copy(), 0.0, 0.0, 0.0
    for t, g in enumerate(GRADS, 1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def by_hand_rmsprop(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False):
    p, v, m, buf = P0.copy(), 0.0, 0.0, 0.0
    for g in GRADS:
        g = g + wd * p
        v = alpha * v + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g
        avg = np.sqrt(v - m * m if centered else v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    return p


def by_hand_adagrad(lr, lr_decay=0.0, wd=0.0, init=0.0, eps=1e-10):
    p, s = P0.copy(), init
    for t, g in enumerate(GRADS, 1):
        g = g + wd * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return p


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.8, dampening=0.3),
                                dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)])
def test_sgd(kw):
    np.testing.assert_allclose(run(optim.SGD, **kw), by_hand_sgd(**kw), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
                                dict(lr=0.1, amsgrad=True)])
def test_adam(kw):
    hand = dict(lr=kw["lr"], wd=kw.get("weight_decay", 0.0), amsgrad=kw.get("amsgrad", False),
                eps=kw.get("eps", 1e-8))
    if "betas" in kw:
        hand.update(b1=kw["betas"][0], b2=kw["betas"][1])
    np.testing.assert_allclose(run(optim.Adam, **kw), by_hand_adam(**hand), rtol=1e-10)


def test_adamw_decouples_weight_decay_with_default_001():
    np.testing.assert_allclose(run(optim.AdamW, lr=0.1), by_hand_adam(0.1, wd=0.01, decoupled=True), rtol=1e-10)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)])
def test_rmsprop(kw):
    hand = dict(lr=kw["lr"], momentum=kw.get("momentum", 0.0), centered=kw.get("centered", False),
                wd=kw.get("weight_decay", 0.0))
    np.testing.assert_allclose(run(optim.RMSprop, **kw), by_hand_rmsprop(**hand), rtol=1e-10)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.2,
                                                   weight_decay=0.1)])
def test_adagrad(kw):
    hand = dict(lr=kw["lr"], lr_decay=kw.get("lr_decay", 0.0), wd=kw.get("weight_decay", 0.0),
                init=kw.get("initial_accumulator_value", 0.0))
    np.testing.assert_allclose(run(optim.Adagrad, **kw), by_hand_adagrad(**hand), rtol=1e-10)


def test_defaults_follow_pytorch():
    p = [tg.zeros(1, requires_grad=True)]
    assert optim.SGD(p).defaults["lr"] == 1e-3
    assert optim.Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop(p).defaults["alpha"] == 0.99 and optim.RMSprop(p).defaults["lr"] == 1e-2
    assert optim.Adagrad(p).defaults["eps"] == 1e-10


def test_param_groups_zero_grad_and_float32():
    a = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    b = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.numpy(), [0.5, 0.5])
    assert a.dtype == np.float32
    opt.zero_grad()
    assert a.grad is None
    (a.sum()).backward()
    opt.zero_grad(set_to_none=False)
    assert a.grad.numpy().sum() == 0
    with pytest.raises(TypeError, match="unknown hyper-parameters"):
        optim.SGD([{"params": [a], "lr": 0.1, "momentun": 0.9}])


def test_optimizer_state_dict_resumes_exactly():
    def fresh():
        tg.manual_seed(0)
        p = tg.randn(4, requires_grad=True)
        return p, optim.Adam([p], lr=0.1)
    p, opt = fresh()
    for g in GRADS[:2]:
        p.grad = tg.Tensor(np.resize(g, 4).astype(np.float32))
        opt.step()
    saved_p, saved = p.numpy().copy(), opt.state_dict()
    p2, opt2 = fresh()
    p2.numpy()[...] = saved_p
    opt2.load_state_dict(saved)
    for g in GRADS[2:]:
        for q, o in ((p, opt), (p2, opt2)):
            q.grad = tg.Tensor(np.resize(g, 4).astype(np.float32))
            o.step()
    np.testing.assert_array_equal(p.numpy(), p2.numpy())


def test_schedulers_follow_closed_forms():
    p = [tg.zeros(1, requires_grad=True)]
    for make, lr_at in [
        (lambda o: optim.lr_scheduler.StepLR(o, 3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
        (lambda o: optim.lr_scheduler.ExponentialLR(o, 0.9), lambda e: 0.1 * 0.9 ** e),
        (lambda o: optim.lr_scheduler.CosineAnnealingLR(o, 10, eta_min=0.01),
         lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 10)) / 2)]:
        opt = optim.SGD(p, lr=0.1)
        sched = make(opt)
        for epoch in range(1, 12):
            opt.step()
            sched.step()
            assert sched.get_last_lr()[0] == pytest.approx(lr_at(epoch))


def test_clip_grad_norm_and_value():
    a = tg.Tensor([3.0, 0.0], requires_grad=True)
    b = tg.Tensor([0.0, 4.0], requires_grad=True)
    (a.sum() * 3 + (b * tg.Tensor([0.0, 4.0])).sum()).backward()      # grads (3, 3) and (0, 4)
    norm = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert isinstance(norm, tg.Tensor) and norm.shape == () and norm.dtype == a.dtype   # PyTorch returns a tensor
    assert float(norm) == pytest.approx(math.sqrt(9 + 9 + 16))
    total = math.sqrt(float((a.grad.numpy() ** 2).sum() + (b.grad.numpy() ** 2).sum()))
    assert total == pytest.approx(1.0, rel=1e-5)
    nn.utils.clip_grad_value_([a, b], 0.1)
    assert np.abs(a.grad.numpy()).max() <= 0.1


    assert np.abs(a.grad.numpy()).max() <= 0.1


# Three gradients of different shapes, in float32 (the default dtype), and their values by hand.
CLIP_GRADS = [np.array([3.0, -4.0, 0.5]), np.array([[1.0, -2.0], [0.0, 6.0]]), np.array([-0.25])]


def _clip_setup(dtype=np.float32):
    ps = [tg.Tensor(np.zeros_like(g, dtype=dtype), requires_grad=True) for g in CLIP_GRADS]
    for p, g in zip(ps, CLIP_GRADS):
        p.grad = tg.Tensor(g.astype(dtype))
    return ps


def _by_hand_norm(norm_type):
    flat = np.concatenate([g.ravel() for g in CLIP_GRADS])
    if norm_type == math.inf:
        return float(np.abs(flat).max())
    return float((np.abs(flat) ** norm_type).sum() ** (1 / norm_type))


@pytest.mark.parametrize("norm_type", [1, 2, 3, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_every_norm_type(norm_type, dtype):
    nt = float(norm_type)
    flat = np.concatenate([g.ravel() for g in CLIP_GRADS])
    want = float(np.linalg.norm(flat, ord=nt))
    assert want == pytest.approx(_by_hand_norm(nt), rel=1e-12)
    assert nt == 2 or abs(want - np.linalg.norm(flat)) > 0.5             # the norms differ: a 2-norm fails
    max_norm = want / 4
    ps = _clip_setup(dtype)
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.dtype == dtype
    assert float(total) == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-12)
    coef = max_norm / (want + 1e-6)
    for p, g in zip(ps, CLIP_GRADS):
        assert p.grad.dtype == dtype                                      # float32 stays float32
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-6 if dtype == np.float32 else 1e-12)
    clipped = np.concatenate([p.grad.numpy().astype(np.float64).ravel() for p in ps])
    assert np.linalg.norm(clipped, ord=nt) == pytest.approx(max_norm, rel=1e-5)


def _grad_stored(g, dtype, how):
    """``g`` as a .grad stored three ways: its own array, a read-only array, a broadcast (read-only) view."""
    if how == "own":
        return tg.Tensor(g.astype(dtype))
    if how == "read-only":
        a = g.astype(dtype)
        a.flags.writeable = False
        return tg.from_numpy(a)
    row = g.reshape(-1)[:1].reshape((1,) * g.ndim).astype(dtype)      # a constant gradient, broadcast
    return tg.Tensor(row).expand(*g.shape)


@pytest.mark.parametrize("how", ["own", "read-only", "broadcast"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_same_result_however_grad_is_stored(how, dtype):
    """A .grad set by hand may be read-only (from_numpy of a frozen array, an expand view): clipping then
    replaces it, and must give what it gives in place -- the same values, in the parameter's dtype."""
    grads = [_grad_stored(g, dtype, how) for g in CLIP_GRADS]
    want_g = [g.numpy().astype(np.float64) for g in grads]
    total_want = float(np.linalg.norm(np.concatenate([g.ravel() for g in want_g])))
    ps = [tg.Tensor(np.zeros(g.shape, dtype), requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = g
    max_norm = total_want / 3                                   # clipping happens
    total = nn.utils.clip_grad_norm_(ps, max_norm)
    assert float(total) == pytest.approx(total_want, rel=1e-6)
    coef = max_norm / (total_want + 1e-6)
    for p, g in zip(ps, want_g):
        assert p.grad.dtype == dtype and p.grad.shape == g.shape    # float32 stays float32
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone_and_skips_missing_ones():
    ps = _clip_setup()
    extra = tg.zeros(2, requires_grad=True)                               # no .grad: ignored
    before = [p.grad.numpy().copy() for p in ps]
    total = nn.utils.clip_grad_norm_(ps + [extra], max_norm=100.0, norm_type=1)
    assert float(total) == pytest.approx(_by_hand_norm(1), rel=1e-6) and extra.grad is None
    for p, b in zip(ps, before):
        np.testing.assert_array_equal(p.grad.numpy(), b)
    assert float(nn.utils.clip_grad_norm_([extra], 1.0)) == 0.0
    one = _clip_setup()[0]                                                # a single tensor, not a list
    assert float(nn.utils.clip_grad_norm_(one, 1.0, norm_type=math.inf)) == pytest.approx(4.0)
    np.testing.assert_allclose(one.grad.numpy(), CLIP_GRADS[0] / (4.0 + 1e-6), rtol=1e-6)


def test_clip_grad_norm_nonfinite():
    ps = _clip_setup(np.float64)
    ps[0].grad.numpy()[0] = np.inf
    with np.errstate(invalid="ignore"):                                   # inf * 0: nan, as in PyTorch
        assert float(nn.utils.clip_grad_norm_(ps, 1.0)) == math.inf
    ps = _clip_setup(np.float64)
    ps[1].grad.numpy()[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_keeps_dtype():
    ps = _clip_setup()
    nn.utils.clip_grad_value_(ps, 0.5)
    for p, g in zip(ps, CLIP_GRADS):
        assert p.grad.dtype == np.float32
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.5, 0.5).astype(np.float32))
