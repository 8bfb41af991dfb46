"""nn.init: fans, gains, bounds and statistics of every initializer, checked against the formulas by hand."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn

init = nn.init


def big(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_fan_in_and_fan_out_follow_pytorch():
    f = init._calculate_fan_in_and_fan_out
    assert f(tg.zeros(5, 3)) == (3, 5)                   # Linear weight (out, in)
    assert f(tg.zeros(64, 16, 3, 3)) == (16 * 9, 64 * 9)  # conv weight: receptive field 3x3
    assert f(tg.zeros(8, 4, 5)) == (20, 40)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        f(tg.zeros(7))


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", True)


def test_uniform_and_normal_in_place_without_grad():
    w = big(200, 300)
    buf = w.numpy()
    out = init.uniform_(w, -2.0, 3.0)
    assert out is w and w.numpy() is buf                    # same tensor, same buffer
    assert w.grad_fn is None and w.grad is None and w.requires_grad
    assert w.numpy().min() >= -2 and w.numpy().max() < 3
    assert abs(w.numpy().mean() - 0.5) < 0.03               # U(-2, 3): mean 0.5, sd of the mean ~0.006
    assert abs(w.numpy().var() - 25 / 12) < 0.05
    init.normal_(w, 1.0, 0.5)
    assert abs(w.numpy().mean() - 1.0) < 0.01 and abs(w.numpy().std() - 0.5) < 0.01
    assert w.dtype == np.float32


def test_constant_zeros_ones_eye_keep_dtype():
    w = big(3, 4, dtype=np.float64)
    np.testing.assert_array_equal(init.constant_(w, 0.25).numpy(), np.full((3, 4), 0.25))
    np.testing.assert_array_equal(init.ones_(w).numpy(), np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(w).numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(init.eye_(w).numpy(), np.eye(3, 4))
    assert w.dtype == np.float64


def test_xavier_bounds_and_std():
    w = big(400, 100)                                     # fan_in 100, fan_out 400
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= bound + 1e-7
    assert np.abs(w.numpy()).max() > 0.99 * bound
    assert abs(w.numpy().std() - bound / math.sqrt(3)) < 0.01 * bound
    init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 500)) < 0.02 * math.sqrt(2 / 500)
    assert abs(w.numpy().mean()) < 0.002


def test_kaiming_uniform_matches_linear_default_bound_with_receptive_field():
    w = big(64, 16, 3, 3)                                 # fan_in = 144, fan_out = 576
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(144)       # gain sqrt(2 / 6) times sqrt(3 / fan_in) = 1 / sqrt(fan_in)
    assert np.abs(w.numpy()).max() <= bound + 1e-7 and np.abs(w.numpy()).max() > 0.99 * bound
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 576)
    assert np.abs(w.numpy()).max() <= bound + 1e-7 and np.abs(w.numpy()).max() > 0.99 * bound
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_kaiming_normal_std():
    w = big(300, 200)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    std = math.sqrt(2) / math.sqrt(300)
    assert abs(w.numpy().std() - std) < 0.02 * std
    init.kaiming_normal_(w)                               # leaky_relu with a=0: gain sqrt(2), fan_in 200
    std = math.sqrt(2) / math.sqrt(200)
    assert abs(w.numpy().std() - std) < 0.02 * std
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        init.kaiming_normal_(big(0, 3))
    assert any("zero-element" in str(c.message) for c in caught)


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (7, 7), (4, 2, 3)])
def test_orthogonal(shape):
    w = big(*shape, dtype=np.float64)
    init.orthogonal_(w, gain=1.5)
    q = w.numpy().reshape(shape[0], -1) / 1.5
    rows, cols = q.shape
    if rows <= cols:
        np.testing.assert_allclose(q @ q.T, np.eye(rows), atol=1e-12)
    if rows >= cols:
        np.testing.assert_allclose(q.T @ q, np.eye(cols), atol=1e-12)
    with pytest.raises(ValueError):
        init.orthogonal_(big(5))


def test_trunc_normal_within_bounds():
    w = big(100, 100)
    init.trunc_normal_(w, mean=0.0, std=1.0, a=-0.5, b=1.0)
    assert w.numpy().min() >= -0.5 and w.numpy().max() <= 1.0
    assert w.numpy().min() < -0.45 and w.numpy().max() > 0.95


def test_seeded_and_generator_draws():
    tg.manual_seed(3)
    a = init.normal_(big(4, 5)).numpy().copy()
    tg.manual_seed(3)
    b = init.normal_(big(4, 5)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(3).normal(0, 1, (4, 5)).astype(np.float32))

    class Gen:                                            # the shape of a tg.Generator
        def __init__(self):
            self._rng = np.random.default_rng()

        def manual_seed(self, s):
            self._rng = np.random.default_rng(s)
            return self

    c = init.uniform_(big(4, 5), generator=Gen().manual_seed(9)).numpy().copy()
    d = init.uniform_(big(4, 5), generator=Gen().manual_seed(9)).numpy().copy()
    np.testing.assert_array_equal(c, d)
    with pytest.raises(TypeError):
        init.uniform_(big(2, 2), generator=object())


def test_layer_initialisation_draws_unchanged():
    """Linear still draws weight then bias from U(-1/sqrt(in), 1/sqrt(in)) with the package generator."""
    tg.manual_seed(0)
    lin = nn.Linear(3, 2)
    rng = np.random.default_rng(0)
    k = 1 / math.sqrt(3)
    np.testing.assert_array_equal(lin.weight.numpy(), rng.uniform(-k, k, (2, 3)).astype(np.float32))
    np.testing.assert_array_equal(lin.bias.numpy(), rng.uniform(-k, k, (2,)).astype(np.float32))
    tg.manual_seed(0)
    gru = nn.GRU(3, 2)
    rng = np.random.default_rng(0)
    k = 1 / math.sqrt(2)
    np.testing.assert_array_equal(gru.weight_ih_l0.numpy(), rng.uniform(-k, k, (6, 3)).astype(np.float32))
