"""Schedulers and optimizers as PyTorch 2.13 behaves: chainable schedulers, last_epoch / initial_lr,
ReduceLROnPlateau, state_dict round trips, step(closure), a parameter group's own keys.

Expected values are PyTorch's documented formulas computed here independently, or sequences read
off torch 2.13.0 by hand and written in (PyTorch is not imported)."""
from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import optim
from tinygrad_seq.optim import lr_scheduler as S


def sgd(lr=0.1, groups=1):
    if groups == 1:
        return optim.SGD([tg.zeros(1, requires_grad=True)], lr=lr)
    return optim.SGD([{"params": [tg.zeros(1, requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)],
                     lr=lr)


def lrs_over(opt, scheds, n, hand=None):
    """The lr of group 0 before any step and after each of n epochs (schedulers stepped in order)."""
    out = [opt.param_groups[0]["lr"]]
    for e in range(n):
        if hand and e in hand:
            opt.param_groups[0]["lr"] = hand[e]
        for s in scheds:
            s.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def close(a, b, rel=1e-12):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert abs(x - y) <= rel * max(abs(y), 1e-300) + 1e-15, (i, x, y)


gammas = st.floats(0.05, 1.0, allow_nan=False)
lr0 = st.floats(1e-4, 1.0)


# --- each scheduler alone follows its closed form (PyTorch's docstrings), over many epochs ------------------

@given(lr0, st.integers(1, 7), gammas, st.integers(1, 40))
def test_steplr_alone_is_base_times_gamma_to_epoch_div_step(lr, step_size, gamma, n):
    opt = sgd(lr)
    got = lrs_over(opt, [S.StepLR(opt, step_size, gamma)], n)
    close(got, [lr * gamma ** (e // step_size) for e in range(n + 1)])


@given(lr0, gammas, st.integers(1, 40))
def test_exponentiallr_alone_is_base_times_gamma_to_epoch(lr, gamma, n):
    opt = sgd(lr)
    got = lrs_over(opt, [S.ExponentialLR(opt, gamma)], n)
    close(got, [lr * gamma ** e for e in range(n + 1)], 1e-11)


@given(lr0, st.integers(1, 12), st.floats(0.0, 1e-4), st.integers(1, 50))
def test_cosine_alone_follows_the_closed_form_past_t_max(lr, T, eta_min, n):
    opt = sgd(lr)
    got = lrs_over(opt, [S.CosineAnnealingLR(opt, T, eta_min)], n)
    want = [eta_min + (lr - eta_min) * (1 + math.cos(math.pi * e / T)) / 2 for e in range(n + 1)]
    for x, y in zip(got, want):
        assert abs(x - y) <= 1e-9 * lr


# --- chainable: two schedulers compose, a hand-set lr is respected -------------------------------------------

@given(lr0, st.integers(1, 6), gammas, gammas, st.integers(1, 30))
def test_steplr_and_exponentiallr_compose(lr, step_size, g1, g2, n):
    opt = sgd(lr)
    scheds = [S.StepLR(opt, step_size, g1), S.ExponentialLR(opt, g2)]
    close(lrs_over(opt, scheds, n), [lr * g1 ** (e // step_size) * g2 ** e for e in range(n + 1)], 1e-11)
    assert scheds[1].get_last_lr() == [opt.param_groups[0]["lr"]]      # each records the lr its own step left


@given(st.integers(1, 6), gammas, st.integers(0, 15), st.floats(0.01, 2.0), st.integers(1, 20))
def test_steplr_scales_a_hand_set_lr(step_size, gamma, k, v, extra):
    """lr set to v before epoch k+1: from then on v * gamma ** (#multiples of step_size in (k, e])."""
    opt = sgd(0.1)
    n = k + extra
    got = lrs_over(opt, [S.StepLR(opt, step_size, gamma)], n, hand={k: v})
    want = [0.1 * gamma ** (e // step_size) if e <= k else v * gamma ** (e // step_size - k // step_size)
            for e in range(n + 1)]
    close(got, want, 1e-11)


@given(gammas, st.integers(0, 15), st.floats(0.01, 2.0), st.integers(1, 20))
def test_exponentiallr_scales_a_hand_set_lr(gamma, k, v, extra):
    opt = sgd(0.1)
    n = k + extra
    got = lrs_over(opt, [S.ExponentialLR(opt, gamma)], n, hand={k: v})
    close(got, [0.1 * gamma ** e if e <= k else v * gamma ** (e - k) for e in range(n + 1)], 1e-11)
    assert issubclass(S.ExponentialLR, S.LRScheduler) and issubclass(S._LRScheduler, S.LRScheduler)


# sequences read off torch 2.13.0 (SGD lr=0.1, group 0), written in
TORCH_SEQUENCES = {
    "cosine T_max=7 eta_min=0.01, lr set to 0.5 before epoch 4": (
        lambda o: [S.CosineAnnealingLR(o, 7, 0.01)], 30, {3: 0.5},
        [0.1, 0.09554359905560886, 0.08305704108364301, 0.06501344202803415, 0.32162226492803714,
         0.16090947890125304, 0.04969278020522524, 0.01, 0.01445640094439114, 0.026942958916356986,
         0.04498655797196585, 0.06501344202803411, 0.083057041083643, 0.09554359905560887, 0.1,
         0.09554359905560889, 0.08305704108364304, 0.06501344202803414, 0.04498655797196587,
         0.026942958916357007, 0.01445640094439115, 0.01, 0.01445640094439114, 0.026942958916357132,
         0.04498655797196615, 0.06501344202803462, 0.08305704108364372, 0.09554359905560962,
         0.10000000000000081, 0.09554359905560965, 0.08305704108364376]),
    "ExponentialLR(0.9) then CosineAnnealingLR(5)": (
        lambda o: [S.ExponentialLR(o, 0.9), S.CosineAnnealingLR(o, 5)], 20, None,
        [0.1, 0.08140576474687264, 0.053015188272185376, 0.025186330555033172, 0.006265197499529853, 0.0,
         0.009549150281252628, 0.031094235253127378, 0.0530151882721854, 0.06593866944496687, 0.06561000000000004,
         0.05341032225042319, 0.03478326502538085, 0.01652475147715728, 0.004110596079441541, 0.0,
         0.009549150281252628, 0.03109423525312738, 0.05301518827218542, 0.0659386694449669, 0.0656100000000001]),
    "StepLR(4, 0.3), lr set to 1.0 before epoch 3 and 0.05 before epoch 10": (
        lambda o: [S.StepLR(o, 4, 0.3)], 25, {2: 1.0, 9: 0.05},
        [0.1, 0.1, 0.1, 1.0, 0.3, 0.3, 0.3, 0.3, 0.09, 0.09, 0.05, 0.05, 0.015, 0.015, 0.015, 0.015, 0.0045,
         0.0045, 0.0045, 0.0045, 0.0013499999999999999, 0.0013499999999999999, 0.0013499999999999999,
         0.0013499999999999999, 0.0004049999999999999, 0.0004049999999999999]),
    "StepLR(3, 0.5) and ExponentialLR(0.9)": (
        lambda o: [S.StepLR(o, 3, 0.5), S.ExponentialLR(o, 0.9)], 12, None,
        [0.1, 0.09000000000000001, 0.08100000000000002, 0.03645000000000001, 0.03280500000000001,
         0.02952450000000001, 0.013286025000000005, 0.011957422500000005, 0.010761680250000006,
         0.0048427561125000025, 0.004358480501250002, 0.003922632451125002, 0.0017651846030062508]),
    # MultiStepLR, LambdaLR, MultiplicativeLR, LinearLR, ConstantLR: alone, composed, with a hand-set lr
    'MultiStepLR([2, 5, 5, 9], 0.1), lr set to 0.5 before epoch 7': (
        lambda o: [S.MultiStepLR(o, [2, 5, 5, 9], 0.1)], 12, {6: 0.5},
        [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.00010000000000000005,
        0.00010000000000000005, 0.5, 0.5, 0.05, 0.05, 0.05, 0.05]),
    'MultiStepLR([2, 5], 0.1) and ExponentialLR(0.8)': (
        lambda o: [S.MultiStepLR(o, [2, 5], 0.1), S.ExponentialLR(o, 0.8)], 10, None,
        [0.1, 0.08000000000000002, 0.006400000000000002, 0.005120000000000002, 0.0040960000000000015,
        0.00032768000000000017, 0.0002621440000000001, 0.00020971520000000012, 0.0001677721600000001,
        0.00013421772800000008, 0.00010737418240000007]),
    'LambdaLR(1 / (e + 1)), lr set to 0.5 before epoch 3 (ignored: not chainable)': (
        lambda o: [S.LambdaLR(o, lambda e: 1 / (e + 1))], 8, {2: 0.5},
        [0.1, 0.05, 0.03333333333333333, 0.025, 0.020000000000000004, 0.016666666666666666, 0.014285714285714285,
        0.0125, 0.011111111111111112]),
    'MultiplicativeLR(0.95 ** (e % 3)), lr set to 0.5 before epoch 3': (
        lambda o: [S.MultiplicativeLR(o, lambda e: 0.95 ** (e % 3))], 8, {2: 0.5},
        [0.1, 0.095, 0.0857375, 0.5, 0.475, 0.42868749999999994, 0.42868749999999994, 0.40725312499999994,
        0.36754594531249996]),
    'LinearLR(0.25, 1.0, 4) and StepLR(2, 0.5)': (
        lambda o: [S.LinearLR(o, 0.25, 1.0, 4), S.StepLR(o, 2, 0.5)], 10, None,
        [0.025, 0.043750000000000004, 0.03125000000000001, 0.04062500000000001, 0.025000000000000005,
        0.025000000000000005, 0.012500000000000002, 0.012500000000000002, 0.006250000000000001,
        0.006250000000000001, 0.0031250000000000006]),
    'LinearLR(0.5, 0.1, 3), lr set to 1.0 before epoch 2': (
        lambda o: [S.LinearLR(o, 0.5, 0.1, 3)], 6, {1: 1.0},
        [0.05, 0.036666666666666674, 0.6363636363636364, 0.27272727272727265, 0.27272727272727265,
        0.27272727272727265, 0.27272727272727265]),
    'ConstantLR(0.5, 3) and ExponentialLR(0.9)': (
        lambda o: [S.ConstantLR(o, 0.5, 3), S.ExponentialLR(o, 0.9)], 6, None,
        [0.05, 0.045000000000000005, 0.04050000000000001, 0.07290000000000002, 0.06561000000000002,
        0.05904900000000002, 0.05314410000000002]),
}


@pytest.mark.parametrize("name", sorted(TORCH_SEQUENCES))
def test_sequences_read_off_pytorch(name):
    make, n, hand, want = TORCH_SEQUENCES[name]
    opt = sgd(0.1)
    close(lrs_over(opt, make(opt), n, hand), want, 1e-13)


# --- last_epoch, initial_lr, base_lrs, get_last_lr ---------------------------------------------------------

def test_initial_lr_is_set_once_and_is_base_lrs():
    opt = sgd(0.1, groups=2)
    s1 = S.StepLR(opt, 2, 0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == s1.base_lrs == [0.1, 0.2]
    opt.param_groups[0]["lr"] = 0.7
    s2 = S.ExponentialLR(opt, 0.5)                    # does not overwrite initial_lr, nor the lr
    assert s2.base_lrs == [0.1, 0.2] and opt.param_groups[0]["lr"] == 0.7
    assert s2.last_epoch == 0 and s2.get_last_lr() == [0.7, 0.2]


def test_last_epoch_resume_needs_initial_lr_and_starts_from_the_current_lr():
    opt = sgd(0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, 3, 0.5, last_epoch=5)
    opt.param_groups[0]["initial_lr"] = 0.1
    s = S.StepLR(opt, 3, 0.5, last_epoch=5)           # the initial step reaches epoch 6, a multiple of 3
    assert s.last_epoch == 6 and opt.param_groups[0]["lr"] == 0.05          # torch 2.13: 6 0.05
    opt = sgd(0.1)
    opt.param_groups[0]["initial_lr"] = 0.1
    c = S.CosineAnnealingLR(opt, 10, last_epoch=3)
    assert c.last_epoch == 4 and opt.param_groups[0]["lr"] == 0.1
    c.step()                                          # torch 2.13: 0.07639320225002104
    assert opt.param_groups[0]["lr"] == pytest.approx((1 + math.cos(math.pi * 5 / 10)) /
                                                      (1 + math.cos(math.pi * 4 / 10)) * 0.1, rel=1e-15)
    with pytest.raises(ValueError, match="last_epoch must be an integer >= -1"):
        S.ExponentialLR(sgd(), 0.5, last_epoch=-2)


def test_get_last_lr_is_a_copy_and_get_lr_outside_step_warns():
    opt = sgd(0.1)
    s = S.ExponentialLR(opt, 0.5)
    s.get_last_lr().append(3.0)
    assert s.get_last_lr() == [0.1]
    with pytest.warns(UserWarning, match="get_last_lr"):
        s.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()                                      # no warning from inside step


def test_step_with_epoch_is_deprecated_and_uses_the_closed_form():
    opt = sgd(0.1)
    s = S.StepLR(opt, 2, 0.5)
    opt.param_groups[0]["lr"] = 3.0                   # ignored by the closed form
    with pytest.warns(UserWarning, match="deprecated"):
        s.step(5)
    assert s.last_epoch == 5 and opt.param_groups[0]["lr"] == 0.1 * 0.5 ** 2


def test_scheduler_state_dict_round_trip_through_a_checkpoint_resumes_the_same_sequence():
    def build():
        o = sgd(0.1, groups=2)
        return o, [S.StepLR(o, 3, 0.5), S.CosineAnnealingLR(o, 8, 0.001)]
    opt, scheds = build()
    lrs_over(opt, scheds, 5)
    buf = io.BytesIO()
    tg.save({"opt": opt.state_dict(), "s": [s.state_dict() for s in scheds]}, buf)
    want = lrs_over(opt, scheds, 9)
    buf.seek(0)
    ck = tg.load(buf)
    opt2, scheds2 = build()
    opt2.load_state_dict(ck["opt"])
    for s, st_ in zip(scheds2, ck["s"]):
        s.load_state_dict(st_)
    assert scheds2[1].last_epoch == 5 and opt2.param_groups[1]["initial_lr"] == 0.2
    assert lrs_over(opt2, scheds2, 9) == want


# --- ReduceLROnPlateau: sequences read off torch 2.13.0 (SGD lr=0.1) -----------------------------------------

PLATEAU = [
    ({},
     [0.28, 0.65, 0.7, 0.29, 0.0, 0.97, 0.3, 0.31, 0.89, 0.59, 0.47, 0.77, 0.03, 0.71, 0.37, 0.09, 0.66, 0.93, 0.21,
      0.63, 0.3, 0.74, 0.72, 0.22, 0.83, 0.66, 0.68, 0.82, 0.43, 0.76],
     [0.1] * 15 + [0.010000000000000002] * 11 + [0.0010000000000000002] * 4),
    ({'patience': 0},
     [0.88, 0.1, 0.85, 0.39, 0.48, 0.15, 0.7, 0.29, 0.87, 0.28, 0.56, 0.4, 0.61, 0.2, 0.18, 0.75],
     [0.1, 0.1, 0.010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 1.0000000000000004e-05,
      1.0000000000000004e-06, 1.0000000000000005e-07] + [1.0000000000000005e-08] * 8),
    ({'patience': 2, 'cooldown': 2, 'factor': 0.5},
     [0.75, 0.57, 0.92, 0.21, 0.85, 0.17, 0.96, 0.62, 0.61, 0.97, 0.79, 0.79, 0.05, 0.37, 0.08, 0.19],
     [0.1] * 8 + [0.05] * 7 + [0.025]),
    ({'mode': 'max', 'patience': 1},
     [0.21, 0.86, 0.13, 0.3, 0.49, 0.85, 0.97, 0.71, 0.21, 0.54, 0.71, 0.05, 0.68, 0.37, 0.59, 0.67],
     [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
      0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003, 1.0000000000000004e-05,
      1.0000000000000004e-05, 1.0000000000000004e-06, 1.0000000000000004e-06, 1.0000000000000005e-07,
      1.0000000000000005e-07]),
    ({'mode': 'max', 'threshold_mode': 'abs', 'threshold': 0.1, 'patience': 1, 'factor': 0.3},
     [0.67, 0.52, 0.55, 0.2, 0.5, 0.13, 0.48, 0.54, 0.77, 0.39, 0.02, 0.53, 0.21, 0.74, 0.39, 0.38],
     [0.1, 0.1, 0.03, 0.03, 0.009, 0.009, 0.0026999999999999997, 0.0026999999999999997, 0.0008099999999999998,
      0.0008099999999999998, 0.00024299999999999994, 0.00024299999999999994, 7.289999999999998e-05,
      7.289999999999998e-05, 2.1869999999999996e-05, 2.1869999999999996e-05]),
    ({'threshold_mode': 'abs', 'threshold': 0.05, 'patience': 1, 'min_lr': 0.004, 'factor': 0.2},
     [0.91, 0.39, 0.35, 0.35, 0.48, 0.09, 0.55, 0.92, 0.56, 0.74, 0.95, 0.84, 0.74, 0.81, 0.82, 0.25],
     [0.1, 0.1, 0.1, 0.020000000000000004, 0.020000000000000004, 0.020000000000000004, 0.020000000000000004]
     + [0.004000000000000001] * 9),
    ({'patience': 0, 'factor': 0.5, 'eps': 0.02},
     [0.48, 0.34, 0.26, 0.57, 0.32, 0.62, 0.58, 0.1, 0.44, 0.39, 0.71, 0.09, 0.17, 0.51, 0.4, 0.67],
     [0.1, 0.1, 0.1, 0.05] + [0.025] * 12),
]


@pytest.mark.parametrize("i", range(len(PLATEAU)))
def test_reduce_lr_on_plateau_matches_pytorch(i):
    kw, metrics, want = PLATEAU[i]
    opt = sgd(0.1)
    s = S.ReduceLROnPlateau(opt, **kw)
    got = []
    for m in metrics:
        s.step(tg.tensor(m) if len(got) % 2 else m)     # a number or a 0-d tensor
        got.append(opt.param_groups[0]["lr"])
        assert s.get_last_lr() == [got[-1]]
    assert got == want


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=25), st.integers(0, 3), st.integers(0, 2),
       st.sampled_from(["min", "max"]), st.sampled_from(["rel", "abs"]), st.floats(0.0, 0.2),
       st.floats(0.1, 0.9), st.floats(0.0, 0.02))
def test_reduce_lr_on_plateau_against_its_documented_rule(metrics, patience, cooldown, mode, tmode, thr, factor,
                                                          min_lr):
    """The documentation's rule, written as a loop of its own: a value improves when it beats the best by the
    threshold; after more than `patience` bad epochs lr = max(lr * factor, min_lr) (unless the change <= eps),
    then `cooldown` epochs in which bad epochs are not counted."""
    opt = optim.SGD([{"params": [tg.zeros(1, requires_grad=True)], "lr": 0.1},
                     {"params": [tg.zeros(1, requires_grad=True)], "lr": 0.03}], lr=0.1)
    s = S.ReduceLROnPlateau(opt, mode, factor, patience, thr, tmode, cooldown, [min_lr, 0.0])
    sign = 1 if mode == "min" else -1
    best, bad, cool, lrs = None, 0, 0, [0.1, 0.03]
    for m in metrics:
        s.step(m)
        if best is None:
            improved = True
        elif tmode == "rel":
            improved = sign * m < sign * best * (1 - sign * thr)
        else:
            improved = sign * m < sign * best - thr
        best, bad = (m, 0) if improved else (best, bad + 1)
        if cool:
            cool, bad = cool - 1, 0
        if bad > patience:
            lrs = [lr if lr - max(lr * factor, lo) <= 1e-8 else max(lr * factor, lo)
                   for lr, lo in zip(lrs, [min_lr, 0.0])]
            cool, bad = cooldown, 0
        assert [g["lr"] for g in opt.param_groups] == lrs


def test_reduce_lr_on_plateau_state_round_trip_and_checks():
    opt = sgd(0.1)
    s = S.ReduceLROnPlateau(opt, patience=1)
    buf = io.BytesIO()
    tg.save(s.state_dict(), buf)                      # best = inf before any step: saved and restored
    buf.seek(0)
    s2 = S.ReduceLROnPlateau(sgd(0.1), mode="max")
    s2.load_state_dict(tg.load(buf))
    assert s2.mode == "min" and s2.best == math.inf and s2._is_better(1.0, s2.best)
    for m in (1.0, 2.0, 3.0):
        s.step(m)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be a finite number in \\[0, 1\\)"):
        S.ReduceLROnPlateau(sgd(), factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        S.ReduceLROnPlateau(sgd(), mode="down")
    with pytest.raises(ValueError, match="threshold_mode must be 'rel' or 'abs'"):
        S.ReduceLROnPlateau(sgd(), threshold_mode="x")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        S.ReduceLROnPlateau(sgd(groups=2), min_lr=[0.1])
    with pytest.raises(TypeError, match="metrics must be a number"):
        S.ReduceLROnPlateau(sgd()).step("loss")


# --- optimizer.step(closure), a parameter group's own keys ---------------------------------------------------

def test_step_closure_is_called_with_grad_enabled_and_its_loss_returned():
    x = tg.Tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([x], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        calls.append(loss.item())
        return loss
    with tg.no_grad():
        loss = opt.step(closure)                      # PyTorch runs the closure under enable_grad
    assert calls == [5.0] and loss.item() == 5.0
    np.testing.assert_allclose(x.numpy(), [1.0 - 0.25 * 2, -2.0 + 0.25 * 4])
    assert opt.step() is None
    with pytest.raises(TypeError, match="closure must be callable"):
        opt.step(3)


def test_group_extra_keys_are_kept_and_round_trip():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    opt = optim.Adam([{"params": [a], "name": "encoder", "lr": 0.01}, {"params": [b], "name": "head", "tag": 7}])
    assert [g["name"] for g in opt.param_groups] == ["encoder", "head"] and opt.param_groups[1]["tag"] == 7
    sd = opt.state_dict()
    assert sd["param_groups"][0]["name"] == "encoder" and sd["param_groups"][1]["tag"] == 7
    buf = io.BytesIO()
    tg.save(sd, buf)
    buf.seek(0)
    opt2 = optim.Adam([{"params": [tg.zeros(2, requires_grad=True)]}, {"params": [tg.zeros(3, requires_grad=True)]}])
    opt2.load_state_dict(tg.load(buf))
    assert [g["name"] for g in opt2.param_groups] == ["encoder", "head"] and opt2.param_groups[0]["lr"] == 0.01
    with pytest.raises(TypeError, match=r"'momentun' \(did you mean 'momentum'\?\)"):
        optim.SGD([{"params": [a], "momentun": 0.9}], lr=0.1)


def test_lambda_schedulers_state_dict_keeps_a_callable_objects_state_not_a_function():
    """PyTorch saves ``lr_lambdas`` as None for a plain function and the ``__dict__`` of a callable object."""
    class Decay:
        def __init__(self, k):
            self.k = k

        def __call__(self, e):
            return self.k ** e
    opt = sgd(0.1, groups=2)
    s = S.LambdaLR(opt, [lambda e: 0.9 ** e, Decay(0.5)])
    for _ in range(3):
        s.step()
    state = s.state_dict()
    assert state["lr_lambdas"] == [None, {"k": 0.5}] and state["last_epoch"] == 3
    close(s.get_last_lr(), [0.1 * 0.9 ** 3, 0.2 * 0.5 ** 3])
    other = Decay(0.1)
    s2 = S.LambdaLR(sgd(0.1, groups=2), [lambda e: 1.0, other])
    s2.load_state_dict(state)
    assert other.k == 0.5 and s2.last_epoch == 3
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas"):
        S.LambdaLR(sgd(0.1, groups=2), [lambda e: 1.0])


def test_multistep_constant_linear_closed_forms_and_argument_checks():
    # step(epoch) (deprecated) jumps to the closed form; numbers from torch 2.13 (groups at lr 0.1 and 0.2)
    for make, want in [(lambda o: S.MultiStepLR(o, [4, 2], 0.5), [0.025, 0.1, 0.05, 0.1]),
                       (lambda o: S.ConstantLR(o, 0.5, 3), [0.1, 0.05, 0.1, 0.05]),
                       (lambda o: S.LinearLR(o, 0.5, total_iters=3), [0.1, 0.1 * 2 / 3, 0.1, 0.05])]:
        opt = sgd(0.1, groups=2)
        s = make(opt)
        got = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in [5, 1, 3, 0]:
                s.step(e)
                got.append(s.get_last_lr()[0])
        close(got, want, 1e-12)
    for bad in (lambda: S.ConstantLR(sgd(), factor=1.5), lambda: S.LinearLR(sgd(), start_factor=0),
                lambda: S.LinearLR(sgd(), end_factor=1.5), lambda: S.MultiStepLR(sgd(), [1.5])):
        with pytest.raises((ValueError, TypeError)):
            bad()
