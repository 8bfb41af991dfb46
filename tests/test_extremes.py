"""Numerics at the extremes (issue #14): finite, correct values and gradients up to |x| = 1e30, ties included.

References are closed forms written here, evaluated in long double (numpy's
``np.longdouble``, 80-bit on x86) with the stable formulas: a shift by the max
for log-softmax/logsumexp, ``max(x, 0) + log1p(e^-|x|)`` for softplus, and so on.
Every test turns warnings into errors: no numpy RuntimeWarning may escape an op.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F

LD = np.longdouble
SETTINGS = settings(max_examples=40, deadline=None)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def magnitudes(dtype):
    """Numbers from 0 and |x| in [1e-3, 1e2] up to 1e30 (float32: mostly 1e4..1e30), either sign."""
    lo = 4 if dtype == np.float32 else -3
    big = st.tuples(st.floats(lo, 30), st.booleans()).map(lambda t: (10 ** t[0]) * (1 if t[1] else -1))
    small = st.floats(-10, 10, allow_nan=False)
    return st.one_of(big, small, st.just(0.0))


@st.composite
def vectors(draw, dtype, min_size=1, max_size=6):
    """A vector whose entries come from a small pool of values, so ties are common."""
    pool = draw(st.lists(magnitudes(dtype), min_size=1, max_size=3))
    n = draw(st.integers(min_size, max_size))
    return np.array([draw(st.sampled_from(pool)) for _ in range(n)], dtype=dtype)


def tol(dtype):
    return dict(rtol=1e-12, atol=1e-15) if dtype == np.float64 else dict(rtol=2e-6, atol=2e-7)


def ref_log_softmax(x):
    x = x.astype(LD)
    s = x - x.max()
    lse = np.log(np.exp(s).sum())
    return s - lse, np.exp(s) / np.exp(s).sum()


DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


@DTYPES
@SETTINGS
@given(data=st.data())
def test_log_softmax_and_softmax(dtype, data):
    x = data.draw(vectors(dtype))
    g = data.draw(st.lists(st.sampled_from([1.0, 0.0, -1.0, 0.5]), min_size=len(x), max_size=len(x)))
    g = np.array(g, dtype=dtype)
    y_ref, p_ref = ref_log_softmax(x)
    t = tg.tensor(x, requires_grad=True)
    y = t.log_softmax(0)
    y.backward(tg.tensor(g))
    assert y.dtype == dtype and t.grad.dtype == dtype
    assert np.isfinite(y.numpy()).all() and np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(y.numpy(), y_ref.astype(np.float64), **tol(dtype))
    np.testing.assert_allclose(t.grad.numpy(), (g - p_ref * g.sum()).astype(np.float64), **tol(dtype))
    t2 = tg.tensor(x, requires_grad=True)
    s = t2.softmax(0)
    s.backward(tg.tensor(g))
    np.testing.assert_allclose(s.numpy(), p_ref.astype(np.float64), **tol(dtype))
    np.testing.assert_allclose(t2.grad.numpy(), (p_ref * (g - (g * p_ref).sum())).astype(np.float64), **tol(dtype))


@DTYPES
@SETTINGS
@given(data=st.data())
def test_logsumexp(dtype, data):
    x = data.draw(vectors(dtype))
    _, p_ref = ref_log_softmax(x)
    xl = x.astype(LD)
    y_ref = xl.max() + np.log(np.exp(xl - xl.max()).sum())
    t = tg.tensor(x, requires_grad=True)
    y = t.logsumexp(0)
    y.backward()
    assert np.isfinite(y.numpy()) and np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(y.numpy(), float(y_ref), **tol(dtype))
    np.testing.assert_allclose(t.grad.numpy(), p_ref.astype(np.float64), **tol(dtype))


@DTYPES
@SETTINGS
@given(data=st.data())
def test_cross_entropy(dtype, data):
    rows = data.draw(st.integers(1, 3))
    C = data.draw(st.integers(1, 5))
    x = np.stack([data.draw(vectors(dtype, C, C)) for _ in range(rows)])
    target = np.array([data.draw(st.integers(0, C - 1)) for _ in range(rows)])
    logp, probs = zip(*(ref_log_softmax(r) for r in x))
    loss_ref = -np.mean([lp[c] for lp, c in zip(logp, target)])
    grad_ref = (np.stack(probs) - np.eye(C, dtype=LD)[target]) / rows
    t = tg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(t, target)
    loss.backward()
    assert np.isfinite(loss.numpy()) and np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), float(loss_ref), **tol(dtype))
    np.testing.assert_allclose(t.grad.numpy(), grad_ref.astype(np.float64), **tol(dtype))


def ref_sigmoid(x):
    x = x.astype(LD)
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def ref_softplus(x):
    x = x.astype(LD)
    with np.errstate(under="ignore"):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


@DTYPES
@SETTINGS
@given(data=st.data())
def test_sigmoid_and_softplus(dtype, data):
    x = data.draw(vectors(dtype))
    s_ref = ref_sigmoid(x)
    t = tg.tensor(x, requires_grad=True)
    y = t.sigmoid()
    y.sum().backward()
    tiny = dict(rtol=tol(dtype)["rtol"], atol=np.finfo(dtype).tiny * 4)   # values: relative, down to underflow
    np.testing.assert_allclose(y.numpy(), s_ref.astype(np.float64), **tiny)
    np.testing.assert_allclose(t.grad.numpy(), (s_ref * (1 - s_ref)).astype(np.float64), **tol(dtype))
    t2 = tg.tensor(x, requires_grad=True)
    sp = t2.softplus()
    sp.sum().backward()
    assert np.isfinite(sp.numpy()).all() and np.isfinite(t2.grad.numpy()).all()
    np.testing.assert_allclose(sp.numpy(), ref_softplus(x).astype(np.float64), **tiny)
    np.testing.assert_allclose(t2.grad.numpy(), s_ref.astype(np.float64), **tiny)


@DTYPES
@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy_with_logits(dtype, data):
    x = data.draw(vectors(dtype))
    y = np.array([data.draw(st.sampled_from([0.0, 1.0, 0.25, 0.5])) for _ in x], dtype=dtype)
    xl, yl = x.astype(LD), y.astype(LD)
    with np.errstate(under="ignore"):
        loss_ref = np.where(xl >= 0, (1 - yl) * xl, -yl * xl) + np.log1p(np.exp(-np.abs(xl)))
    grad_ref = (ref_sigmoid(x) - yl) / len(x)
    t = tg.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, tg.tensor(y))
    loss.backward()
    assert np.isfinite(loss.numpy()) and np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), float(loss_ref.mean()), **tol(dtype))
    np.testing.assert_allclose(t.grad.numpy(), grad_ref.astype(np.float64), **tol(dtype))


@DTYPES
@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy_on_probabilities(dtype, data):
    """Probabilities at 0 and 1 exactly and within 1e-30 of them: PyTorch's clamp of the logs at -100."""
    p_pool = [0.0, 1.0, 0.5, 1e-30, 1e-8, 1 - 1e-7, 0.25]
    n = data.draw(st.integers(1, 5))
    p = np.array([data.draw(st.sampled_from(p_pool)) for _ in range(n)], dtype=dtype)
    y = np.array([data.draw(st.sampled_from([0.0, 1.0, 0.3])) for _ in range(n)], dtype=dtype)
    pl, yl = p.astype(LD), y.astype(LD)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.maximum(np.log(pl), -100), np.maximum(np.log1p(-pl), -100)
    loss_ref = -(yl * log_p + (1 - yl) * log_q).mean()
    grad_ref = (pl - yl) / np.maximum(pl * (1 - pl), LD(1e-12)) / n
    t = tg.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(t, tg.tensor(y))
    loss.backward()
    assert np.isfinite(loss.numpy()) and np.isfinite(t.grad.numpy()).all()
    np.testing.assert_allclose(loss.numpy(), float(loss_ref), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)
    np.testing.assert_allclose(t.grad.numpy(), grad_ref.astype(np.float64), rtol=1e-5 if dtype == np.float32 else 1e-12)


# the exact values the issue names, worked by hand
def test_cross_entropy_float32_tie_at_1e7():
    x = tg.tensor([[1e7, 1e7, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, [0])
    loss.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.log(2), rtol=1e-7)            # -log(1/2), not 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [[-0.5, 0.5, 0.0]])        # softmax - onehot


def test_log_softmax_float64_tie_at_1e16():
    x = tg.tensor(np.array([1e16, 1e16, 0.0]), requires_grad=True)
    y = x.log_softmax(0)
    y.backward(tg.tensor(np.array([1.0, 0.0, 0.0])))
    np.testing.assert_array_equal(y.numpy()[:2], [-np.log(2)] * 2)
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, -0.5, 0.0])           # e_0 - softmax * 1


def test_logsumexp_gradient_is_the_softmax_even_when_the_value_rounds():
    x = tg.tensor(np.array([1e16, 1e16, 0.0]), requires_grad=True)
    y = x.logsumexp(0)                                  # 1e16 + log 2 rounds to 1e16
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5, 0.0])


def test_log_softmax_at_float32_max_gives_no_warning():
    x = tg.tensor(np.array([3e38, 3e38, -3e38], dtype=np.float32), requires_grad=True)
    y = x.log_softmax(0)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy()[:2], [-np.log(2)] * 2, rtol=1e-7)
    assert y.numpy()[2] == -np.inf                     # -6e38 is beyond float32: -inf, as in PyTorch
    np.testing.assert_array_equal(x.grad.numpy(), [-0.5, -0.5, 1.0])


def test_binary_cross_entropy_gradients_at_0_and_1_are_finite():
    p = tg.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, tg.tensor([0.0, 1.0, 1.0, 0.0]))
    loss.backward()
    assert loss.item() == pytest.approx(50.0)                   # (0 + 0 + 100 + 100) / 4
    np.testing.assert_allclose(p.grad.numpy(), [0.0, 0.0, -0.25e12, 0.25e12])


def _only_dof_warning(fn):
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0") as rec:
        fn()
    assert [w.category for w in rec] == [UserWarning]


@pytest.mark.parametrize("fn", [
    lambda: tg.tensor([0.0, 1.0]).log(),
    lambda: tg.tensor([-1.0]).log(),
    lambda: tg.tensor([-1.0]).sqrt(),
    lambda: tg.tensor([1.0, 0.0]) / tg.tensor([0.0, 0.0]),
    lambda: tg.tensor([100.0]).exp(),
    lambda: tg.tensor([0.0]) ** -1.0,
    lambda: tg.tensor([1e30]).logsumexp(0),
    lambda: tg.tensor([-3e38, 3e38]).softmax(0),
    lambda: tg.tensor([[-np.inf, -np.inf]]).logsumexp(1),
    lambda: _only_dof_warning(lambda: tg.zeros(2, 0).var(1)),   # PyTorch's UserWarning, no numpy one
], ids=["log0", "log-neg", "sqrt-neg", "div0", "exp-overflow", "pow-neg", "lse-1e30", "softmax-3e38", "lse-all-inf",
        "var-empty"])
def test_ieee_results_without_runtime_warnings(fn):
    fn()                                                 # the autouse fixture makes any warning an error


def test_log_of_zero_backward_is_inf_without_warning():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    x.log().sum().backward()
    assert x.grad.numpy()[0] == np.inf and x.grad.numpy()[1] == 1.0


def test_overflow_in_plain_arithmetic_gives_inf_without_a_numpy_warning_and_leaves_user_numpy_alone():
    """Run as a user would (a fresh interpreter, default warning filters): tinygrad_seq's ops give inf
    silently, as PyTorch does, while the user's own numpy code still warns."""
    import subprocess
    import sys
    code = ("import numpy as np, tinygrad_seq as tg\n"
            "big = tg.tensor([1e30, -1e30], dtype=np.float32)\n"
            "assert np.isinf((big * big).numpy()).all() and np.isinf((big @ big).numpy())\n"
            "assert np.isinf((big + big * 1e10).numpy()).all() and np.isnan((big * big - big * big).numpy()).all()\n"
            "np.float32(1e30) * np.float32(1e30)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warned) == 1 and "scalar multiply" in warned[0], proc.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinite_rows_as_pytorch(dtype):
    """Rows holding infinities, PyTorch 2.13's numbers: an all -inf row's logsumexp is -inf (not nan), its
    softmax nan; a -inf entry beside finite ones gets probability 0; a +inf row maximum gives nan in every
    entry of the row (log-softmax and softmax)."""
    inf = float("inf")
    x = tg.tensor(np.array([[-inf, -inf], [-inf, 1.0], [inf, inf], [inf, 1.0], [1.0, inf]], dtype=dtype))
    nan2 = [np.nan] * 2
    np.testing.assert_array_equal(x.logsumexp(1).numpy(), np.array([-inf, 1.0, inf, inf, inf], dtype=dtype))
    np.testing.assert_array_equal(x.log_softmax(1).numpy(), np.array([nan2, [-inf, 0.0], nan2, nan2, nan2],
                                                                     dtype=dtype))
    np.testing.assert_array_equal(x.softmax(1).numpy(), np.array([nan2, [0.0, 1.0], nan2, nan2, nan2], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_at_the_edge_of_exp_overflow_is_pytorchs_formula_without_a_warning(dtype):
    """sigmoid(x) = 1 / (1 + e^-x) as PyTorch computes it: where e^-x overflows the result is exactly 0, and just
    before it the tiny value of the formula.  Every x from well inside the range to far past the overflow edge of
    each dtype (float16 at -11.09, float32 at -88.72, float64 at -709.78), alone and among ordinary values,
    with no RuntimeWarning."""
    import warnings
    edge = {np.float16: 11.09, np.float32: 88.72, np.float64: 709.78}[dtype]
    xs = -np.concatenate([np.linspace(edge - 3, edge + 3, 61), [edge * 10, 0.0, 1.0]]).astype(dtype)
    xs = np.concatenate([xs, -xs[:5], [np.nan, np.inf, -np.inf]]).astype(dtype)
    with np.errstate(over="ignore"):
        expected = (1 / (1 + np.exp(-xs))).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = tg.tensor(xs).sigmoid().numpy()                              # all at once
        column = tg.tensor(xs.reshape(-1, 1)).sigmoid().numpy().ravel()     # another shape
        singles = np.array([tg.tensor(v).sigmoid().item() for v in xs], dtype)     # one 0-d tensor each
    for values in (got, column, singles):
        assert values.dtype == dtype and values.tobytes() == expected.tobytes()
    assert (expected[xs < -edge - 0.1] == 0).all() and (expected[(xs > -edge + 0.5) & (xs < -1)] > 0).all()
