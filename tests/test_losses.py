"""Losses: gradients by finite differences, values by hand, CTC against a brute-force sum over alignments."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_seq as tg
from tinygrad_seq import nn

F = nn.functional


def t64(a, grad=True):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@given(N=st.integers(1, 4), C=st.integers(2, 5), extra=st.sampled_from([(), (3,)]),
       reduction=st.sampled_from(["mean", "sum", "none"]), smoothing=st.sampled_from([0.0, 0.1]),
       ignore=st.booleans(), seed=st.integers(0, 1000))
def test_cross_entropy_and_nll_gradients(N, C, extra, reduction, smoothing, ignore, seed):
    rng = np.random.default_rng(seed)
    logits = t64(rng.standard_normal((N, C) + extra) * 3)
    target = rng.integers(0, C, (N,) + extra)
    if ignore:
        target.reshape(-1)[0] = -100
    all_ignored = bool((target == -100).all())            # then the loss is constant, on purpose
    assert tg.gradcheck(lambda x: F.cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing),
                        [logits], allow_constant=all_ignored)
    assert tg.gradcheck(lambda x: F.nll_loss(x.log_softmax(1), target, reduction=reduction), [logits],
                        allow_constant=all_ignored)
    # value by hand
    lp = logits.numpy() - np.log(np.exp(logits.numpy()).sum(axis=1, keepdims=True))
    picked = -np.take_along_axis(lp, np.where(target == -100, 0, target)[:, None], axis=1)[:, 0]
    valid = target != -100
    per = ((1 - smoothing) * picked + smoothing * -lp.mean(axis=1)) * valid
    want = {"none": per, "sum": per.sum(), "mean": per.sum() / max(valid.sum(), 1)}[reduction]
    np.testing.assert_allclose(F.cross_entropy(logits, target, reduction=reduction,
                                               label_smoothing=smoothing).numpy(), want, atol=1e-12)


def test_cross_entropy_with_probability_targets():
    rng = np.random.default_rng(0)
    logits = t64(rng.standard_normal((3, 4)))
    probs = np.abs(rng.standard_normal((3, 4)))
    probs /= probs.sum(1, keepdims=True)
    assert tg.gradcheck(lambda x: F.cross_entropy(x, probs), [logits])
    hard = np.eye(4)[[0, 3, 1]]
    np.testing.assert_allclose(F.cross_entropy(logits, hard).item(), F.cross_entropy(logits, [0, 3, 1]).item())


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), reduction=st.sampled_from(["mean", "sum", "none"]),
       seed=st.integers(0, 1000))
def test_regression_and_binary_losses(shape, reduction, seed):
    rng = np.random.default_rng(seed)
    x, y = t64(rng.standard_normal(shape)), rng.standard_normal(shape)
    y01 = rng.random(shape)
    # keep |x - y| away from 0, where l1 has its kink
    y = np.where(np.abs(x.numpy() - y) < 0.1, y + 0.5, y)
    p = t64(rng.uniform(0.05, 0.95, shape))
    for fn, args in [(F.mse_loss, (x, y)), (F.l1_loss, (x, y)), (F.binary_cross_entropy, (p, y01)),
                     (F.binary_cross_entropy_with_logits, (x, y01))]:
        assert tg.gradcheck(lambda a: fn(a, args[1], reduction=reduction), [args[0]])
    np.testing.assert_allclose(F.mse_loss(x, y, reduction="sum").item(), ((x.numpy() - y) ** 2).sum())
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y01).item(),
                               F.binary_cross_entropy(x.sigmoid(), y01).item(), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_stay_finite_for_huge_logits(dtype):
    logits = tg.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ce = F.cross_entropy(logits, [1, 0], label_smoothing=0.1)
        bce = F.binary_cross_entropy_with_logits(logits, np.ones((2, 3), dtype))
        (ce + bce).backward()
    assert np.isfinite(ce.item()) and np.isfinite(bce.item()) and np.isfinite(logits.grad.numpy()).all()
    assert ce.dtype == dtype
    np.testing.assert_allclose(F.cross_entropy(logits, [0, 1], reduction="none").numpy(), [0, 0], atol=1e-3)


def test_loss_errors_are_clear():
    with pytest.raises(TypeError, match="targets must be integers"):
        F.cross_entropy(tg.randn(3, 4), tg.Tensor([0.5, 1.0, 2.0]))
    with pytest.raises(IndexError, match="target 7 is out of range for 4 classes"):
        F.cross_entropy(tg.randn(3, 4), [0, 7, 1])
    with pytest.raises(tg.ShapeError, match=r"needs targets of shape \(3,\), got \(2,\)"):
        F.cross_entropy(tg.randn(3, 4), [0, 1])
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(tg.randn(2), tg.randn(2), reduction="avg")
    with pytest.raises(tg.ShapeError, match="mse_loss: input shape"):
        F.mse_loss(tg.randn(2), tg.randn(3))


# ---------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------

def _collapse(path, blank):
    out, prev = [], None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return out


def _brute_force_ctc(log_probs, target, T, blank=0):
    """-log sum over every path of length T that collapses to ``target``."""
    C = log_probs.shape[1]
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if _collapse(path, blank) == list(target):
            total += np.exp(sum(log_probs[t, s] for t, s in enumerate(path)))
    return -np.log(total) if total > 0 else np.inf


@settings(max_examples=20)
@given(T=st.integers(1, 5), C=st.integers(2, 3), N=st.integers(1, 3), blank=st.integers(0, 1),
       seed=st.integers(0, 10_000))
def test_ctc_equals_brute_force_and_gradcheck(T, C, N, blank, seed):
    blank = min(blank, C - 1)
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, N, C))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    labels = [c for c in range(C) if c != blank]
    in_len = rng.integers(1, T + 1, size=N)
    tg_len = rng.integers(0, 3, size=N)
    targets = np.array([[labels[rng.integers(len(labels))] for _ in range(2)] for _ in range(N)])
    got = F.ctc_loss(t64(lp), targets, in_len, tg_len, blank=blank, reduction="none").numpy()
    for n in range(N):
        want = _brute_force_ctc(lp[:, n], targets[n, :tg_len[n]], in_len[n], blank)
        np.testing.assert_allclose(got[n], want, rtol=1e-10)
    if np.isfinite(got).all():
        x = t64(logits)
        assert tg.gradcheck(lambda z: F.ctc_loss(z.log_softmax(2), targets, in_len, tg_len, blank=blank,
                                                 reduction="mean"), [x])
        assert tg.gradcheck(lambda z: F.ctc_loss(z, targets, in_len, tg_len, blank=blank, reduction="sum"),
                            [t64(lp)])


def test_ctc_impossible_alignment_and_zero_infinity():
    lp = np.log(np.full((2, 1, 3), 1 / 3))
    targets = np.array([[1, 1]])          # needs 3 frames (1, blank, 1)
    x = t64(lp)
    loss = F.ctc_loss(x, targets, [2], [2], reduction="sum")
    assert loss.item() == np.inf
    x = t64(lp)
    loss = F.ctc_loss(x, targets, [2], [2], zero_infinity=True)
    loss.backward()
    assert loss.item() == 0 and np.all(x.grad.numpy() == 0)


def test_ctc_long_input_stays_finite_and_accepts_concatenated_targets():
    rng = np.random.default_rng(0)
    T, N, C = 400, 2, 6
    logits = tg.Tensor(rng.standard_normal((T, N, C)).astype(np.float32), requires_grad=True)
    targets = rng.integers(1, C, size=(N, 30))
    loss = F.ctc_loss(logits.log_softmax(2), targets, [T, T - 50], [30, 20])
    loss.backward()
    assert np.isfinite(loss.item()) and loss.dtype == np.float32 and np.isfinite(logits.grad.numpy()).all()
    flat = np.concatenate([targets[0, :30], targets[1, :20]])
    same = F.ctc_loss(logits.log_softmax(2), flat, [T, T - 50], [30, 20])
    np.testing.assert_allclose(same.item(), loss.item(), rtol=1e-6)
    with pytest.raises(ValueError, match="not the blank"):
        F.ctc_loss(logits.log_softmax(2), np.zeros((2, 3), int), [T, T], [3, 3])
    with pytest.raises(ValueError, match=r"input_lengths must be in \[1, 400\]"):
        F.ctc_loss(logits.log_softmax(2), targets, [T + 1, T], [30, 20])


def test_bce_with_logits_pos_weight_by_hand():
    """PyTorch's formula: loss = -(w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))),
    d loss / dx = (1 - y) sigmoid(x) - w y (1 - sigmoid(x)); written out here in numpy."""
    x = np.array([-2.0, -0.5, 0.0, 1.5, 3.0])
    y = np.array([0.0, 1.0, 0.3, 1.0, 0.0])
    w = np.array([2.0, 0.5, 3.0, 1.0, 4.0])
    s = 1 / (1 + np.exp(-x))
    want = -(w * y * np.log(s) + (1 - y) * np.log(1 - s))
    xt = t64(x)
    loss = F.binary_cross_entropy_with_logits(xt, y, reduction="none", pos_weight=w)
    np.testing.assert_allclose(loss.numpy(), want, rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), (1 - y) * s - w * y * (1 - s), rtol=1e-12)
    mean = F.binary_cross_entropy_with_logits(t64(x), y, pos_weight=w).item()
    assert mean == pytest.approx(want.mean(), rel=1e-12)


def test_ctc_reductions_by_hand():
    """Two sequences, T = 2, classes (blank, a, b), probabilities written out; the alignments by hand.

    Sequence 0, target "a" (length 1): alignments a a, - a, a - ;  sequence 1, target "a b" (length 2): a b.
    "mean" divides each loss by its target length, then averages (PyTorch); "sum" adds them.
    """
    p = np.array([[[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]],          # t = 0: sequence 0, sequence 1
                  [[0.4, 0.4, 0.2], [0.3, 0.1, 0.6]]])         # t = 1
    loss0 = -np.log(0.5 * 0.4 + 0.2 * 0.4 + 0.5 * 0.4)
    loss1 = -np.log(0.6 * 0.6)
    lp = t64(np.log(p))
    args = ([[1, 0], [1, 2]], [2, 2], [1, 2])
    np.testing.assert_allclose(F.ctc_loss(lp, *args, reduction="none").numpy(), [loss0, loss1], rtol=1e-12)
    assert F.ctc_loss(lp, *args, reduction="sum").item() == pytest.approx(loss0 + loss1, rel=1e-12)
    assert F.ctc_loss(lp, *args).item() == pytest.approx((loss0 / 1 + loss1 / 2) / 2, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ignored", [False, True])
def test_nll_loss_gradient_of_a_zero_seed_is_pytorchs_signed_zero(reduction, dtype, ignored):
    """PyTorch 2.13 writes -g / N at each counted (i, target_i) into zeros: with g = 0 those entries are -0.0 and
    every other entry +0.0, an ignored row's included (torch.nn.functional.nll_loss(x, t).backward(
    torch.tensor(0.)), with t = [0, 2, 3] and with t = [0, -100, 3])."""
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)).astype(dtype), requires_grad=True)
    t = np.array([0, -100 if ignored else 2, 3])
    tg.nn.functional.nll_loss(x, t, reduction=reduction).backward(tg.tensor(0.0, dtype=dtype))
    g = x.grad.numpy()
    assert (g == 0).all()
    expected_sign = np.zeros((3, 4), bool)
    counted = t != -100
    expected_sign[np.arange(3)[counted], t[counted]] = True
    assert (np.signbit(g) == expected_sign).all()
