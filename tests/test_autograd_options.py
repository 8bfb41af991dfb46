"""autograd's options drawn together (issue 25): ``autograd.grad`` / ``autograd.backward`` / ``Tensor.backward``
with every combination of outputs, ``grad_outputs``, ``inputs`` (leaves and intermediate tensors, in any order),
``allow_unused`` and ``retain_graph``, against central differences of the function restricted to the requested
inputs, computed in plain numpy (float64) with no engine involved.

Also: chains of views and in-place ops, with and without gradients, against the same program run out of place;
the stale-graph check through views of a parameter; the lazy gradient forms at edge shapes (1-d matmul
operands, a weight used once or many times).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as tg


def examples(n: int) -> int:
    """n examples under the ci profile (50 by default), six times as many under the "thorough" one (300)."""
    return max(1, n * settings.default.max_examples // 50)

# ---------------------------------------------------------------------------
# the function, twice: once in numpy (the reference), once in the engine
#
#   u  = x * w + sin x                 (non-leaf)
#   v  = 2 tanh u + sum(w)             (non-leaf)
#   y1 = sum(v * c1) + sum(x^2) / 2    (scalar output)
#   y2 = u^2 * c2 + v                  (output of x's shape)
#
# Requesting a non-leaf (u or v) means: the function of that tensor with everything not downstream of it
# held fixed, as PyTorch defines it.
# ---------------------------------------------------------------------------

NAMES = ("x", "w", "u", "v")


def np_outputs(vals: dict, c1: np.ndarray, c2: np.ndarray) -> tuple:
    x, w = vals["x"], vals["w"]
    u = vals["u"] if "u" in vals else x * w + np.sin(x)
    v = vals["v"] if "v" in vals else 2 * np.tanh(u) + w.sum()
    y1 = (v * c1).sum() + (x * x).sum() / 2
    y2 = u * u * c2 + v
    return y1, y2


def fd_grad(name: str, base: dict, weights: list, c1, c2, eps: float = 1e-6) -> np.ndarray:
    """d/d(name) of sum_k <weights_k, outputs_k> by central differences.

    For a leaf, everything is recomputed from it (the total derivative, whatever else is requested);
    for a non-leaf, it is overridden and only what lies downstream of it is recomputed.
    """
    def L(val: np.ndarray) -> float:
        vals = {"x": base["x"], "w": base["w"], name: val}
        y1, y2 = np_outputs(vals, c1, c2)
        return sum(float(np.sum(wk * (y1 if k == 0 else y2))) for k, wk in weights)

    point = base[name]
    g = np.zeros_like(point)
    for i in np.ndindex(point.shape):
        up, dn = point.copy(), point.copy()
        up[i] += eps
        dn[i] -= eps
        g[i] = (L(up) - L(dn)) / (2 * eps)
    return g


def build(x0: np.ndarray, w0: np.ndarray, c1, c2, leaf_grads: dict | None = None):
    x = tg.tensor(x0, requires_grad=True)
    w = tg.tensor(w0, requires_grad=True)
    z = tg.tensor(np.ones(2), requires_grad=True)          # a leaf the outputs never read
    if leaf_grads:
        for t, name in ((x, "x"), (w, "w")):
            if name in leaf_grads:
                t.grad = tg.tensor(leaf_grads[name].copy())
    u = x * w + x.sin()
    v = u.tanh() * 2 + w.sum()
    y1 = (v * tg.tensor(c1)).sum() + (x * x).sum() / 2
    y2 = u * u * tg.tensor(c2) + v
    return {"x": x, "w": w, "u": u, "v": v, "z": z}, (y1, y2)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x0 = rng.uniform(-1.5, 1.5, n)
    w0 = rng.uniform(-1.5, 1.5, n)
    c1, c2 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    outs = draw(st.sampled_from([(0,), (1,), (0, 1), (1, 0)]))
    weights = []
    for k in outs:
        if k == 0:
            given_w = draw(st.sampled_from([None, "number", "tensor"]))
            weights.append((k, given_w, 1.0 if given_w is None else float(rng.uniform(-2, 2))))
        else:
            weights.append((k, draw(st.sampled_from(["tensor", "array"])), rng.uniform(-2, 2, n)))
    requested = draw(st.lists(st.sampled_from(NAMES + ("z",)), min_size=1, max_size=5, unique=True))
    return x0, w0, c1, c2, weights, requested, draw(st.booleans()), draw(st.booleans()), rng


def _seed(kind, value):
    if kind is None:
        return None
    if kind in ("tensor",):
        return tg.tensor(np.asarray(value, dtype=np.float64))
    return np.asarray(value, dtype=np.float64) if kind == "array" else value


@settings(max_examples=examples(30))
@given(problems())
def test_grad_every_option_combination_matches_finite_differences(problem):
    x0, w0, c1, c2, weights, requested, allow_unused, retain, _ = problem
    ts, ys = build(x0, w0, c1, c2)
    outputs = [ys[k] for k, _, _ in weights]
    seeds = [_seed(kind, val) for _, kind, val in weights]
    grad_outputs = None if all(s is None for s in seeds) else seeds
    inputs = [ts[r] for r in requested]
    call = lambda: tg.autograd.grad(outputs if len(outputs) > 1 else outputs[0], inputs,  # noqa: E731
                                    grad_outputs=grad_outputs, retain_graph=retain, allow_unused=allow_unused)
    if "z" in requested and not allow_unused:
        with pytest.raises(RuntimeError, match="not have been used"):
            call()
        return
    before = {k: ts[k].grad for k in ("x", "w")}
    grads = call()
    assert isinstance(grads, tuple) and len(grads) == len(inputs)
    assert all(before[k] is ts[k].grad for k in before)          # grad() never touches .grad
    assert ts["x"].grad is None and ts["w"].grad is None
    base = {"x": x0, "w": w0}
    base["u"] = x0 * w0 + np.sin(x0)
    base["v"] = 2 * np.tanh(base["u"]) + w0.sum()
    ws = [(k, val) for k, _, val in weights]
    for name, g in zip(requested, grads):
        if name == "z":
            assert g is None
            continue
        want = fd_grad(name, base, ws, c1, c2)
        assert g is not None and g.shape == ts[name].shape
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-5, atol=1e-6, err_msg=name)
    # the graph is freed unless retain_graph: a second call says so, or works and gives the same numbers
    if retain:
        again = call()
        for a, b in zip(grads, again):
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    else:
        with pytest.raises(RuntimeError, match="retain_graph"):
            call()


@settings(max_examples=examples(30))
@given(problems(), st.sampled_from(["method", "function"]))
def test_backward_inputs_and_seeds_match_finite_differences(problem, how):
    """backward(inputs=...) fills .grad of exactly the requested tensors (adding to what is there);
    every other leaf keeps its .grad; the seeds are grad_tensors."""
    x0, w0, c1, c2, weights, requested, _, retain, rng = problem
    requested = [r for r in requested if r != "z"] or ["x"]
    limit = rng.random() < 0.7               # sometimes no inputs= at all (every leaf)
    prior = {k: rng.uniform(-1, 1, x0.shape) for k in ("x", "w") if rng.random() < 0.5}
    ts, ys = build(x0, w0, c1, c2, prior)
    for name in requested:
        if name in ("u", "v"):
            ts[name].retain_grad() if rng.random() < 0.3 else None
    retained = {n for n in ("u", "v") if ts[n].retains_grad}
    outputs = [ys[k] for k, _, _ in weights]
    seeds = [_seed(kind, val) for _, kind, val in weights]
    inputs = [ts[r] for r in requested] if limit else None
    if how == "method" and len(outputs) == 1:
        call = lambda: outputs[0].backward(seeds[0], retain_graph=retain, inputs=inputs)  # noqa: E731
    else:
        call = lambda: tg.autograd.backward(outputs, seeds, retain_graph=retain, inputs=inputs)  # noqa: E731
    call()
    base = {"x": x0, "w": w0}
    base["u"] = x0 * w0 + np.sin(x0)
    base["v"] = 2 * np.tanh(base["u"]) + w0.sum()
    ws = [(k, val) for k, _, val in weights]
    filled = set(requested) if limit else {"x", "w"} | retained
    for name in ("x", "w", "u", "v"):
        g = ts[name].grad
        if name in filled:
            want = fd_grad(name, base, ws, c1, c2) + prior.get(name, 0)
            assert g is not None, name
            np.testing.assert_allclose(g.numpy(), want, rtol=1e-5, atol=1e-6, err_msg=name)
        elif name in prior:
            np.testing.assert_array_equal(g.numpy(), prior[name])       # untouched
        elif name in ("x", "w") or name not in retained:
            assert g is None, name
    assert ts["z"].grad is None
    if retain:
        call()                                                        # a second pass works
    else:
        with pytest.raises(RuntimeError, match="retain_graph"):
            call()


def test_backward_of_a_leaf_output_uses_its_seed_and_respects_inputs():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    y = (b * 2).sum()
    tg.autograd.backward([a, y], [tg.tensor([0.5, -4.0]), None])
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, -4.0])
    np.testing.assert_array_equal(b.grad.numpy(), [2.0])
    a.grad = b.grad = None
    y = (b * 2).sum()
    tg.autograd.backward([a, y], [tg.tensor([0.5, -4.0]), None], inputs=[b])
    assert a.grad is None                          # a leaf output that is not among the inputs
    np.testing.assert_array_equal(b.grad.numpy(), [2.0])
    g = tg.autograd.grad([a], [a], grad_outputs=[np.array([3.0, 5.0])])
    np.testing.assert_array_equal(g[0].numpy(), [3.0, 5.0])


def test_hooks_on_a_non_leaf_input():
    """A hook on an intermediate tensor u changes the gradient that flows on to x.  autograd.grad returns
    u's gradient from before its hooks when something wanted lies below u (PyTorch then runs u's VJP), after
    them when nothing does; backward(inputs=[u]) and retain_grad() store it after them (PyTorch 2.13's
    numbers: grad(y, [u, x]) -> (6, -12) and (180, -360); grad(y, [u]) -> (60, -120); .grad -> (60, -120))."""
    def graph():
        x = tg.tensor([1.0, -2.0], requires_grad=True)
        u = x * 3
        u.register_hook(lambda g: g * 10)
        return x, u, (u * u).sum()

    x, u, y = graph()
    gu, gx = tg.autograd.grad(y, [u, x])
    np.testing.assert_allclose(gu.numpy(), [6.0, -12.0])
    np.testing.assert_allclose(gx.numpy(), [180.0, -360.0])
    x, u, y = graph()
    gx, gu = tg.autograd.grad(y, [x, u])
    np.testing.assert_allclose(gu.numpy(), [6.0, -12.0])
    np.testing.assert_allclose(gx.numpy(), [180.0, -360.0])
    x, u, y = graph()                # nothing wanted below u: PyTorch returns u's gradient after its hooks
    (gu,) = tg.autograd.grad(y, [u])
    np.testing.assert_allclose(gu.numpy(), [60.0, -120.0])
    x, u, y = graph()
    y.backward(inputs=[u, x])
    np.testing.assert_allclose(u.grad.numpy(), [60.0, -120.0])
    np.testing.assert_allclose(x.grad.numpy(), [180.0, -360.0])
    assert not u.retains_grad
    x, u, y = graph()
    u.retain_grad()
    y.backward()
    np.testing.assert_allclose(u.grad.numpy(), [60.0, -120.0])


def test_leaf_grads_are_not_aliases_of_seeds_or_each_other():
    """The .grad a backward stores is the engine's own array: changing the seed afterwards, or one .grad,
    changes no other gradient."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seed = np.array([1.0, 1.0, 1.0])
    (x + w).backward(seed)
    seed[:] = 7
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(w.grad.numpy(), [1, 1, 1])
    x.grad.numpy()[0] = 100          # a user scribbling on one grad leaves the other alone
    assert w.grad.numpy()[0] == 1
    # several contributions summed into one leaf: the sum is a fresh buffer, not one of the contributions
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    g = tg.tensor([5.0, 6.0])
    (a + a + a).backward(g)
    np.testing.assert_array_equal(a.grad.numpy(), [15.0, 18.0])
    np.testing.assert_array_equal(g.numpy(), [5.0, 6.0])


def test_retained_grad_accumulates_across_backwards():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    u = x * 2
    u.retain_grad()
    y = (u * u).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(u.grad.numpy(), 2 * 2 * np.array([2.0, 4.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * 2 * np.array([2.0, 4.0]))


# ---------------------------------------------------------------------------
# chains of views and in-place ops vs the same program out of place
# ---------------------------------------------------------------------------

VIEWS = ("slice", "transpose", "reshape", "int", "unsqueeze", "narrow_neg")
INPLACE = ("add_scalar", "mul_w", "sub_w", "div_scalar", "setitem_w", "clamp", "copy_w", "neg", "pow2", "tanh")


def _view(t, kind: str, p: int):
    if t.ndim == 0:
        return t
    if kind == "slice":
        n = t.shape[0]
        return t[p % n:] if n > 1 else t
    if kind == "transpose":
        return t.transpose(0, -1) if t.ndim > 1 else t
    if kind == "reshape":
        return t.reshape(-1)
    if kind == "int":
        return t[-1] if t.ndim > 1 else t
    if kind == "unsqueeze":
        return t.unsqueeze(-1) if t.ndim < 3 else t
    return t.narrow(-1, 0, max(1, t.shape[-1] - 1)) if t.shape[-1] else t


def _step(t, kind: str, w_full: np.ndarray, w_grad: bool, inplace: bool):
    """One op on t, in place or as the equivalent out-of-place expression; w is a tensor of t's shape."""
    w = tg.tensor(w_full[: t.numel()].reshape(t.shape).copy(), requires_grad=w_grad)
    if kind == "add_scalar":
        return (t.add_(0.5) if inplace else t + 0.5), w
    if kind == "mul_w":
        return (t.mul_(w) if inplace else t * w), w
    if kind == "sub_w":
        return (t.sub_(w, alpha=2.0) if inplace else t - w * 2.0), w
    if kind == "div_scalar":
        return (t.div_(4.0) if inplace else t / 4.0), w
    if kind == "setitem_w":
        if t.ndim == 0 or t.shape[0] == 0:
            return t, w
        if inplace:
            t[0] = w[0]
            return t, w
        return tg.cat([w[0:1], t[1:]], 0), w
    if kind == "clamp":
        return (t.clamp_(-0.7, 0.9) if inplace else t.clamp(-0.7, 0.9)), w
    if kind == "copy_w":
        return (t.copy_(w) if inplace else t * 0.0 + w), w
    if kind == "neg":
        return (t.neg_() if inplace else -t), w
    if kind == "pow2":
        return (t.pow_(2) if inplace else t ** 2), w
    return (t.tanh_() if inplace else t.tanh()), w


@settings(max_examples=examples(40))
@given(st.integers(0, 2**16), st.lists(st.tuples(st.sampled_from(VIEWS), st.integers(0, 3), st.sampled_from(INPLACE),
                                                 st.booleans()), min_size=1, max_size=5),
       st.booleans(), st.booleans())
def test_random_view_and_inplace_chains_match_the_out_of_place_program(seed, program, x_grad, grad_mode):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (3, 4))
    ws = [rng.uniform(-1, 1, 12) for _ in program]

    def run(inplace: bool):
        with tg.set_grad_enabled(grad_mode):
            x = tg.tensor(x0.copy(), requires_grad=x_grad)
            t = x * 1.0 if (x_grad and grad_mode) else tg.tensor(x0.copy())   # a leaf needing grad can't go in place
            weights = []
            for (view, p, op, w_grad), wf in zip(program, ws):
                t = _view(t, view, p)
                t, w = _step(t, op, wf, w_grad, inplace)
                weights.append(w)
            return x, t, weights

    xa, ta, wa = run(True)
    xb, tb, wb = run(False)
    np.testing.assert_allclose(ta.numpy(), tb.numpy(), rtol=1e-12, atol=1e-12)
    assert ta.shape == tb.shape
    assert ta.requires_grad == tb.requires_grad
    if ta.requires_grad:
        c = rng.uniform(-1, 1, ta.shape)
        (ta * tg.tensor(c)).sum().backward()
        (tb * tg.tensor(c)).sum().backward()
        for a, b in zip([xa, *wa], [xb, *wb]):
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad.numpy())
            else:
                assert a.grad is not None
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", ["iadd", "mul_", "setitem", "copy_", "masked_fill_", "fill_", "isub", "div_", "pow_",
                                "setitem_slice"])
def test_inplace_op_whose_operand_requires_grad_is_recorded(op):
    """x has no gradient, w has: after an in-place op of x with w, a gradient reaches w (PyTorch's rule)."""
    x = tg.tensor([1.0, 2.0, 3.0])
    w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    want = {"iadd": [1, 1, 1], "mul_": [1, 2, 3], "setitem": [0, 1, 0], "copy_": [1, 1, 1],
            "masked_fill_": None, "fill_": None, "isub": [-1, -1, -1], "div_": [-1 / 0.25, -2 / 1.0, -3 / 4.0],
            "pow_": [1 * np.log(1.0), 2.0 ** -1 * np.log(2.0), 3.0 ** 2 * np.log(3.0)],
            "setitem_slice": [0, 1, 1]}[op]
    if op == "iadd":
        x += w
    elif op == "isub":
        x -= w
    elif op == "div_":
        x.div_(w)
    elif op == "pow_":
        x.pow_(w)
    elif op == "setitem_slice":
        x[1:] = w[1:]
    elif op == "mul_":
        x.mul_(w)
    elif op == "setitem":
        x[1] = w[1]
    elif op == "copy_":
        x.copy_(w)
    elif op == "masked_fill_":
        s = w.sum()
        x.masked_fill_(np.array([True, False, True]), s)
        want = [2.0, 2.0, 2.0]
    else:
        s = w.sum()
        x.fill_(s)
        want = [3.0, 3.0, 3.0]
    assert x.requires_grad and x.grad_fn is not None
    x.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), want)


@pytest.mark.parametrize("chain", [
    lambda p: p[1:],
    lambda p: p[1:][::2],
    lambda p: p.reshape(2, 3)[:, 1:].transpose(0, 1),
    lambda p: p[::-1][1:4][1:],
    lambda p: p.unsqueeze(0)[0][2:],
])
@pytest.mark.parametrize("change", ["add_", "setitem", "data", "optimizer"])
def test_stale_graph_is_caught_through_views_of_views(chain, change):
    """A graph that saved a view (of a view ...) of a parameter refuses backward after the parameter changed."""
    p = tg.nn.Parameter(np.arange(1.0, 7.0))
    x = tg.tensor(np.ones(6), requires_grad=True)
    v = chain(p)
    loss = (v * v).sum() + (x * p).sum()
    if change == "add_":
        with tg.no_grad():
            p.add_(1.0)
    elif change == "setitem":
        with tg.no_grad():
            p[5] = 0.0
    elif change == "data":
        p.data.mul_(2.0)
    else:
        p.grad = tg.tensor(np.ones(6))
        tg.optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_change_right_after_recording_is_stale_and_one_before_is_not():
    for n_changes in (1, 2, 3):
        p = tg.nn.Parameter(np.array([1.0, 2.0]))
        y = (p * p).sum()
        for _ in range(n_changes):
            with tg.no_grad():
                p.mul_(1.0)
        with pytest.raises(RuntimeError, match="modified in place"):
            y.backward()
    p = tg.nn.Parameter(np.array([1.0, 2.0]))
    with tg.no_grad():
        p.add_(1.0)
    y = (p * p).sum()
    y.backward()
    np.testing.assert_allclose(p.grad.numpy(), [4.0, 6.0])


# ---------------------------------------------------------------------------
# the lazy gradient forms at edge shapes
# ---------------------------------------------------------------------------

@settings(max_examples=examples(25))
@given(st.integers(0, 2**16), st.sampled_from(["1d@2d", "2d@1d", "1d@1d", "3d@1d", "1d@3d", "3d@2d", "2d@3d"]),
       st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_matmul_gradients_at_every_operand_rank(seed, kind, uses, k, n, m):
    """a @ b for 1-d, 2-d and batched operands, a weight used once or several times, against numpy's
    einsum derivation: d a = g b^T, d b = a^T g, with numpy's rules for 1-d operands."""
    rng = np.random.default_rng(seed)
    shapes = {"1d@2d": ((k,), (k, n)), "2d@1d": ((m, k), (k,)), "1d@1d": ((k,), (k,)),
              "3d@1d": ((2, m, k), (k,)), "1d@3d": ((k,), (2, k, n)), "3d@2d": ((2, m, k), (k, n)),
              "2d@3d": ((m, k), (2, k, n))}[kind]
    a0 = [rng.uniform(-1, 1, shapes[0]) for _ in range(uses)]
    b0 = rng.uniform(-1, 1, shapes[1])
    b = tg.tensor(b0, requires_grad=True)
    As = [tg.tensor(a, requires_grad=True) for a in a0]
    outs = [a @ b for a in As]
    gs = [rng.uniform(-1, 1, np.shape(a @ b0)) for a in a0]
    tg.autograd.backward(outs, [tg.tensor(g) for g in gs])
    want_b = np.zeros_like(b0)
    for a, g, t in zip(a0, gs, As):
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b0[:, None] if b0.ndim == 1 else b0
        g2 = g
        if b0.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        da = g2 @ np.swapaxes(b2, -1, -2)
        while da.ndim > a2.ndim:
            da = da.sum(0)
        np.testing.assert_allclose(t.grad.numpy(), da.reshape(a.shape), rtol=1e-10, atol=1e-12)
        db = np.swapaxes(a2, -1, -2) @ g2
        while db.ndim > b2.ndim:
            db = db.sum(0)
        want_b += db.reshape(b0.shape)
    np.testing.assert_allclose(b.grad.numpy(), want_b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("how", ["T", "permute(1, 0)", "permute(-1, -2)", "T.T", "permute(0, 1).T", "mT once"])
@settings(max_examples=examples(8))
@given(st.integers(0, 2**16), st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3),
       st.booleans(), st.booleans())
def test_a_weight_read_transposed_at_every_step(how, seed, steps, rows, k, n, one_d, hook):
    """``x_t @ W.T`` once per step (``nn.Linear`` in a loop): W's gradient is sum_t g_t^T x_t, by numpy, whether
    the transpose is made once or at every step, twice, with negative axes, for 1-d inputs, with a hook or
    retain_grad on the transposed tensor (which must then see its gradient as an array)."""
    rng = np.random.default_rng(seed)
    W0 = rng.uniform(-1, 1, (n, k))
    W = tg.tensor(W0, requires_grad=True)
    xs = [rng.uniform(-1, 1, (k,) if one_d else (rows, k)) for _ in range(steps)]
    gs = [rng.uniform(-1, 1, (n,) if one_d else (rows, n)) for _ in range(steps)]
    once = W.T
    seen = []
    outs = []
    for x in xs:
        Wt = {"T": lambda: W.T, "permute(1, 0)": lambda: W.permute(1, 0), "permute(-1, -2)": lambda: W.permute(-1, -2),
              "T.T": lambda: W.T.T.T, "permute(0, 1).T": lambda: W.permute(0, 1).T, "mT once": lambda: once}[how]()
        if hook and how != "mT once":
            Wt.register_hook(lambda g: seen.append(g.numpy().copy()))
        outs.append(tg.tensor(x) @ Wt)
    tg.autograd.backward(outs, [tg.tensor(g) for g in gs])
    want = sum(np.outer(g, x) if one_d else g.T @ x for g, x in zip(gs, xs))
    np.testing.assert_allclose(W.grad.numpy(), want, rtol=1e-12, atol=1e-12)
    if seen:
        for got, g, x in zip(seen, gs, xs):
            np.testing.assert_allclose(got, np.outer(x, g) if one_d else x.T @ g, rtol=1e-12, atol=1e-12)


@settings(max_examples=examples(25))
@given(st.integers(0, 2**16), st.integers(2, 5), st.integers(1, 3),
       st.lists(st.tuples(st.integers(-6, 6), st.integers(-6, 6)), min_size=1, max_size=5))
def test_slices_of_one_tensor_sum_their_gradients(seed, n, m, cuts):
    """x[a:b] pieces (overlapping, gapped, negative bounds, single ints) of one tensor: the gradient is
    the scatter-add of each piece's gradient, whatever the pieces cover."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (n, m))
    x = tg.tensor(x0, requires_grad=True)
    want = np.zeros_like(x0)
    total = None
    for lo, hi in cuts:
        idx = (lo if -n <= lo < n else lo % n) if lo == hi else slice(lo, hi)   # an int (negative too) or a slice
        piece = x[idx]
        c = rng.uniform(-1, 1, piece.shape)
        term = (piece * tg.tensor(c)).sum()
        total = term if total is None else total + term
        want[idx] += c
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-12)


@settings(max_examples=examples(40))
@given(st.integers(0, 2**16), st.integers(2, 6), st.integers(1, 3), st.integers(0, 1), st.data())
def test_pieces_of_one_axis_covering_it_or_not(seed, n, m, axis, data):
    """Consecutive blocks of one axis (slices, or ints, negative too, for blocks of one), all of them or only
    some, each read once: the gradient is each block's gradient in its place and zero elsewhere."""
    cuts = sorted(set(data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=n - 1))))
    bounds = [0, *cuts, n]
    blocks = list(zip(bounds[:-1], bounds[1:]))
    rng = np.random.default_rng(seed)
    n_keep = data.draw(st.integers(min(2, len(blocks)), len(blocks)))
    chosen = [blocks[i] for i in sorted(rng.choice(len(blocks), n_keep, replace=False))]
    shape = (n, m) if axis == 0 else (m, n)
    x0 = rng.uniform(-1, 1, shape)
    x = tg.tensor(x0, requires_grad=True)
    want = np.zeros_like(x0)
    total = None
    for lo, hi in data.draw(st.permutations(chosen)):
        if hi - lo == 1 and data.draw(st.booleans()):
            i = lo - n if data.draw(st.booleans()) else lo
            index = (i,) if axis == 0 else (slice(None), i)
        else:
            index = (slice(lo, hi),) if axis == 0 else (slice(None), slice(lo, hi))
        piece = x[index]
        c = rng.uniform(-1, 1, piece.shape)
        want[index] += c
        term = (piece * tg.tensor(c)).sum()
        total = term if total is None else total + term
    total.backward()
    assert x.grad.shape == x0.shape
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-12)
