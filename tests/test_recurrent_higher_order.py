"""Every recurrent cell and layer, differentiated twice and in forward mode, unchanged (they compose primitives).

gradgradcheck (second derivatives against finite differences of the gradient,
float64, small sizes) with respect to the input and a recurrent weight; and
forward mode against reverse mode, <u, J v> = <J^T u, v> to 1e-10, with dual
inputs and dual parameters (a plain tensor in each parameter's place, PyTorch's
recipe), for the configurations drawn below: bidirectional, two layers,
batch_first, projections, packed sequences, initial states.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
import tinygrad_seq.autograd.forward_ad as fwAD
from tinygrad_seq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = [lambda: tg.nn.RNNCell(2, 2), lambda: tg.nn.RNNCell(2, 2, nonlinearity="relu"), lambda: tg.nn.LSTMCell(2, 2),
         lambda: tg.nn.GRUCell(2, 2)]


def _layer(kind, draw):
    opts = dict(num_layers=draw(st.sampled_from([1, 2])), bidirectional=draw(st.booleans()),
                batch_first=draw(st.booleans()))
    if kind is tg.nn.LSTM and draw(st.booleans()):
        opts["proj_size"] = 1
    return kind(2, 2, **opts), opts


def _run(m, x, opts, packed=False, lengths=None):
    """The layer's output and final state, as one tuple of tensors (a packed input is unpacked again)."""
    if packed:
        out, state = m(pack_padded_sequence(x, lengths, batch_first=opts["batch_first"], enforce_sorted=False))
        out = pad_packed_sequence(out, batch_first=opts["batch_first"])[0]
    else:
        out, state = m(x)
    return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


@pytest.mark.parametrize("make", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_cells_gradgradcheck_and_forward_mode(make) -> None:
    tg.manual_seed(1)
    cell = make().double()
    x = tg.randn(2, 2, dtype=np.float64) * 0.5 + 0.3           # relu: away from its kink
    hx = tg.randn(2, 2, dtype=np.float64) * 0.5
    state = (hx, hx * 0.5) if isinstance(cell, tg.nn.LSTMCell) else hx

    def f(x, w):
        cell.weight_hh = w
        out = cell(x, state)
        return tuple(out) if isinstance(out, tuple) else out

    w = cell.weight_hh.detach().clone()
    assert tg.autograd.gradgradcheck(f, [x.clone().requires_grad_(), w.clone().requires_grad_()])
    _forward_vs_reverse(lambda x, w: f(x, w), [x, w])


def _forward_vs_reverse(fn, inputs, seed=0):
    rng = np.random.default_rng(seed)
    vs = [tg.tensor(rng.standard_normal(t.shape)) for t in inputs]
    with fwAD.dual_level():
        outs = fn(*[fwAD.make_dual(t.detach(), v) for t, v in zip(inputs, vs)])
        outs = outs if isinstance(outs, tuple) else (outs,)
        tangents = [fwAD.unpack_dual(o).tangent for o in outs]
    us = [rng.standard_normal(o.shape) for o in outs]
    fwd = sum(float(np.sum(u * t.numpy())) for u, t in zip(us, tangents) if t is not None)
    xs = [t.detach().requires_grad_() for t in inputs]
    outs = fn(*xs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    grads = tg.autograd.grad(list(outs), xs, [tg.tensor(u) for u in us], allow_unused=True)
    rev = sum(float(np.sum(g.numpy() * v.numpy())) for g, v in zip(grads, vs) if g is not None)
    assert abs(fwd - rev) <= 1e-10 * max(1.0, abs(rev)), (fwd, rev)


@pytest.mark.parametrize("kind", [tg.nn.RNN, tg.nn.LSTM, tg.nn.GRU], ids=["rnn", "lstm", "gru"])
@settings(max_examples=4)
@given(data=st.data())
def test_layers_forward_mode_with_dual_inputs_and_parameters(kind, data) -> None:
    tg.manual_seed(data.draw(st.integers(0, 50)))
    m, opts = _layer(kind, data.draw)
    m = m.double()
    packed = data.draw(st.booleans())
    B, T_ = 3, 4
    x = tg.randn(*((B, T_, 2) if opts["batch_first"] else (T_, B, 2)), dtype=np.float64)
    lengths = [4, 2, 3]
    names = [n for n, _ in m.named_parameters()]
    params = [p.detach().clone() for _, p in m.named_parameters()]

    def f(x, *ps):
        for n, p in zip(names, ps):
            setattr(m, n, p)
        return _run(m, x, opts, packed, lengths)

    _forward_vs_reverse(f, [x] + params, data.draw(st.integers(0, 100)))


@pytest.mark.parametrize("kind", [tg.nn.RNN, tg.nn.LSTM, tg.nn.GRU], ids=["rnn", "lstm", "gru"])
@settings(max_examples=2)
@given(data=st.data())
def test_layers_gradgradcheck(kind, data) -> None:
    tg.manual_seed(data.draw(st.integers(0, 50)))
    m, opts = _layer(kind, data.draw)
    m = m.double()
    packed = data.draw(st.booleans())
    x = tg.randn(2, 2, 2, dtype=np.float64)
    name = "weight_hh_l0_reverse" if opts["bidirectional"] else "weight_hh_l0"
    w = getattr(m, name).detach().clone()

    def f(x, w):
        setattr(m, name, w)
        return _run(m, x, opts, packed, [2, 1])[0]       # (the final states: in the forward-mode test)

    assert tg.autograd.gradgradcheck(f, [x.requires_grad_(), w.requires_grad_()])


def test_a_layer_with_create_graph_backward_and_an_optimizer() -> None:
    """A gradient penalty through an LSTM: .grad of every parameter has a graph, the step still works."""
    tg.manual_seed(3)
    m = tg.nn.LSTM(2, 3, num_layers=2, dropout=0.0, bidirectional=True).double()
    opt = tg.optim.SGD(m.parameters(), lr=0.1)
    x = tg.randn(4, 2, 2, dtype=np.float64, requires_grad=True)
    out, _ = m(x)
    gx, = tg.autograd.grad((out ** 2).sum(), x, create_graph=True)
    (gx ** 2).sum().backward()
    assert all(p.grad is not None and p.grad.grad_fn is None for p in m.parameters())
    before = [p.detach().clone() for p in m.parameters()]
    opt.step()
    opt.zero_grad()
    assert all(not np.array_equal(b.numpy(), p.numpy()) for b, p in zip(before, m.parameters()))
    out, _ = m(x)
    (out ** 2).sum().backward(create_graph=True)
    assert all(p.grad.grad_fn is not None for p in m.parameters())
