"""After ``backward()`` the graph keeps its structure and loses only what the VJPs saved (as in PyTorch).

The structure (op names, shapes, dtypes, edges, which leaf each edge reaches)
is recorded before backward by walking ``grad_fn``/``next_functions`` and
compared with the same walk afterwards; the class of graphs is random chains
and trees of ops, an unrolled RNN, and graphs with no saved arrays at all.
"""
import weakref

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import tinygrad_seq as tg
from tinygrad_seq import viz
from tinygrad_seq.tensor import AccumulateGrad

PYTORCH_SECOND_BACKWARD = "backward through the graph a second time"   # PyTorch's words (its RuntimeError)


def _structure(t):
    """Every node reachable from ``t.grad_fn``, iteratively: (name, shape, dtype, edges), edges by position."""
    order, index, stack = [], {}, [t.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or isinstance(n, AccumulateGrad) or n in index:
            continue
        index[n] = len(order)
        order.append(n)
        stack.extend(p for p, _ in n.next_functions)
    def edge(p):
        if p is None:
            return None
        if isinstance(p, AccumulateGrad):
            return ("leaf", id(p.variable))
        return index[p]
    return [(n.name, n.shape, str(n.dtype), tuple(edge(p) for p, _ in n.next_functions)) for n in order]


UNARY = [lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: a * a, lambda a: a.exp() * 0.1,
         lambda a: (a * 2.0).relu(), lambda a: a.softmax(-1), lambda a: a[:, :2].sum(-1, keepdim=True) + a]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b.tanh(), lambda a, b: a @ b.t()[:, :1] + b]


@st.composite
def graphs(draw):
    seed = draw(st.integers(0, 2**16))
    steps = draw(st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=8))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return seed, steps, dtype


def _build(seed, steps, dtype):
    rng = np.random.default_rng(seed)
    x = tg.Tensor(rng.standard_normal((3, 4)).astype(dtype), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 4)).astype(dtype), requires_grad=True)
    h = x
    for binary, u, b in steps:
        h = BINARY[b](h, w) if binary else UNARY[u](h)
    return x, w, (h * h).mean()


@given(graphs())
def test_structure_survives_backward_and_only_saved_arrays_are_freed(case):
    x, w, loss = _build(*case)
    before = _structure(loss)
    loss.backward()
    assert _structure(loss) == before
    stack, seen = [loss.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or isinstance(n, AccumulateGrad) or n in seen:
            continue
        seen.add(n)
        assert n.saved_shapes == ()                 # what the VJPs read is gone
        stack.extend(p for p, _ in n.next_functions)
    leaves = {id(p.variable) for n in seen for p, _ in n.next_functions if isinstance(p, AccumulateGrad)}
    assert leaves <= {id(x), id(w)} and id(x) in leaves


@given(graphs())
def test_a_second_backward_through_freed_arrays_raises_and_changes_no_grad(case):
    x, w, loss = _build(*case)
    loss.backward()
    gx = x.grad.numpy().copy()
    gw = None if w.grad is None else w.grad.numpy().copy()
    with pytest.raises(RuntimeError, match=PYTORCH_SECOND_BACKWARD) as err:
        loss.backward()
    assert "retain_graph=True" in str(err.value) and "'" in str(err.value)     # names the op
    np.testing.assert_array_equal(x.grad.numpy(), gx)                           # nothing half-accumulated
    assert (w.grad is None) == (gw is None) and (gw is None or np.array_equal(w.grad.numpy(), gw, equal_nan=True))


def test_retain_graph_keeps_the_arrays_for_exactly_one_more_pass():
    x = tg.Tensor([0.5, -1.0, 2.0], dtype=tg.float64, requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    # d/dx (x tanh x) = tanh x + x (1 - tanh^2 x), twice
    t = np.tanh([0.5, -1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * (t + np.array([0.5, -1.0, 2.0]) * (1 - t * t)), rtol=1e-12)
    with pytest.raises(RuntimeError, match=PYTORCH_SECOND_BACKWARD):
        y.backward()


def test_a_graph_that_saved_nothing_can_be_walked_again_as_in_pytorch():
    # PyTorch 2.x: x = ones(3, requires_grad=True); y = (x + x).sum(); y.backward(); y.backward() -> x.grad = [4, 4, 4]
    x = tg.ones(3, requires_grad=True)
    y = (x + x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])


def test_saved_arrays_are_released_to_the_allocator():
    x = tg.randn(40, 40, requires_grad=True)
    h = x.tanh()
    ref = weakref.ref(h.grad_fn.saved)
    loss = (h * 3.0).sum()
    del h
    loss.backward()
    assert ref() is None


def test_the_views_work_after_backward_and_match_before(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")            # wide enough that the |g| column never wraps a line
    tg.manual_seed(3)
    rnn = tg.nn.RNN(3, 5)
    x = tg.randn(4, 2, 3)
    loss = rnn(x)[0].pow(2).mean()
    dot_before = viz.to_dot(loss, model=rnn)
    tree_before = str(viz.graph(loss, model=rnn))
    loss.backward()
    assert viz.to_dot(loss, model=rnn) == dot_before
    after = str(viz.graph(loss, model=rnn))
    # the same ops and parameter names; the leaves now show their |grad|, the ops none (not hooked before)
    strip = lambda s: [line.split(" |g|")[0] for line in s.splitlines()]
    assert strip(after) == strip(tree_before)
    assert "weight_hh_l0" in after and "|g|" in after
    op_lines = [line for line in after.splitlines() if "tanh" in line]
    assert op_lines and not any("|g|" in line for line in op_lines)
    path = viz.save_graph(loss, str(tmp_path / "g.dot"), model=rnn)
    assert open(path).read() == dot_before
    stack = [loss.grad_fn]
    names = set()
    while stack:                                    # next_functions walks down to the parameters
        n = stack.pop()
        if isinstance(n, AccumulateGrad):
            names.add(n.variable._name)
            continue
        if n is not None:
            stack.extend(p for p, _ in n.next_functions)
    assert {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"} <= names
