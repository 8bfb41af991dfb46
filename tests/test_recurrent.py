"""Recurrent cells and layers: gradients (hypothesis over configs), the hand-derived BPTT, semantics, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn, reference

F = nn.functional


@pytest.fixture(autouse=True)
def _float64():
    tg.set_default_dtype(np.float64)
    yield
    tg.set_default_dtype(np.float32)


LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
CELLS = {"RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}


@settings(max_examples=12)
@given(kind=st.sampled_from(sorted(LAYERS)), I=st.integers(1, 3), H=st.integers(1, 3), T=st.integers(1, 4),
       B=st.integers(1, 3), layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(),
       use_lengths=st.booleans(), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_layer_gradients_match_finite_differences(kind, I, H, T, B, layers, bidirectional, batch_first,
                                                  use_lengths, bias, seed):
    tg.manual_seed(seed)
    m = LAYERS[kind](I, H, num_layers=layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    D = 2 if bidirectional else 1
    x = tg.randn(*((B, T, I) if batch_first else (T, B, I)), requires_grad=True)
    h0 = tg.randn(D * layers, B, H, requires_grad=True)
    c0 = tg.randn(D * layers, B, H, requires_grad=True)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=B) if use_lengths else None
    state = (h0, c0) if kind == "LSTM" else h0

    def run(*_):
        out, hn = m(x, state, lengths=lengths)
        return (out,) + (tuple(hn) if kind == "LSTM" else (hn,))
    assert tg.gradcheck(run, [x, h0, c0, *m.parameters()])


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_gradients_match_finite_differences(kind):
    tg.manual_seed(0)
    cell = CELLS[kind](3, 4)
    x, h, c = tg.randn(2, 3, requires_grad=True), tg.randn(2, 4, requires_grad=True), tg.randn(2, 4, requires_grad=True)
    run = (lambda *_: cell(x, (h, c))) if kind == "LSTMCell" else (lambda *_: cell(x, h))
    assert tg.gradcheck(run, [x, h, c, *cell.parameters()])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_backward_equals_hand_derived_bptt(kind):
    tg.manual_seed(3)
    T, B, I, H, C = 7, 3, 4, 5, 6
    m = nn.RNN(I, H) if kind == "rnn" else nn.LSTM(I, H)
    head = nn.Linear(H, C)
    x = tg.randn(T, B, I)
    y = np.random.default_rng(0).integers(0, C, (T, B))
    out, _ = m(x)
    loss = F.cross_entropy(head(out).reshape(-1, C), y.reshape(-1))
    loss.backward()
    bptt = reference.rnn_bptt if kind == "rnn" else reference.lstm_bptt
    ref_loss, ref = bptt(x.numpy(), y, m.weight_ih_l0.numpy(), m.weight_hh_l0.numpy(), m.bias_ih_l0.numpy(),
                         m.bias_hh_l0.numpy(), head.weight.numpy(), head.bias.numpy())
    assert abs(ref_loss - loss.item()) < 1e-12
    ours = {"weight_ih": m.weight_ih_l0, "weight_hh": m.weight_hh_l0, "bias_ih": m.bias_ih_l0,
            "bias_hh": m.bias_hh_l0, "V": head.weight, "c": head.bias}
    for name, p in ours.items():
        np.testing.assert_allclose(p.grad.numpy(), ref[name], rtol=0, atol=1e-10, err_msg=name)


def test_parameter_names_shapes_and_init_follow_pytorch():
    m = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert m.weight_ih_l0.shape == (80, 10) and m.weight_ih_l1.shape == (80, 40) and m.weight_hh_l1.shape == (80, 20)
    assert nn.GRU(3, 7).weight_hh_l0.shape == (21, 7) and nn.RNN(3, 7).bias_ih_l0.shape == (7,)
    bound = 1 / np.sqrt(20)
    assert all(np.abs(p.numpy()).max() <= bound for p in m.parameters())
    tg.manual_seed(5)
    a = nn.LSTM(3, 4).state_dict()
    tg.manual_seed(5)
    b = nn.LSTM(3, 4).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert repr(m) == "LSTM(10, 20, num_layers=2, bidirectional=True)"


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_output_shapes_batch_first_and_unbatched(kind):
    m = LAYERS[kind](3, 4, num_layers=2, bidirectional=True, batch_first=True)
    out, hn = m(tg.randn(2, 5, 3))
    h = hn[0] if kind == "LSTM" else hn
    assert out.shape == (2, 5, 8) and h.shape == (4, 2, 4)
    out, hn = m(tg.randn(5, 3))                              # unbatched
    h = hn[0] if kind == "LSTM" else hn
    assert out.shape == (5, 8) and h.shape == (4, 4)


def test_final_state_is_last_output_of_each_direction():
    m = nn.GRU(2, 3, bidirectional=True)
    x = tg.randn(6, 2, 2)
    out, hn = m(x)
    np.testing.assert_allclose(hn.numpy()[0], out.numpy()[-1, :, :3])
    np.testing.assert_allclose(hn.numpy()[1], out.numpy()[0, :, 3:])


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_lengths_equal_running_each_sequence_alone(kind):
    tg.manual_seed(2)
    m = LAYERS[kind](2, 3, num_layers=2, bidirectional=True)
    lengths = [5, 2, 4]
    x = tg.randn(5, 3, 2)
    out, hn = m(x, lengths=lengths)
    hn = hn[0] if kind == "LSTM" else hn
    for b, n in enumerate(lengths):
        alone, h_alone = m(x[:n, b:b + 1])
        h_alone = h_alone[0] if kind == "LSTM" else h_alone
        np.testing.assert_allclose(out.numpy()[:n, b], alone.numpy()[:, 0], atol=1e-12)
        assert np.all(out.numpy()[n:, b] == 0)
        np.testing.assert_allclose(hn.numpy()[:, b], h_alone.numpy()[:, 0], atol=1e-12)


def test_cells_match_one_step_of_the_layers():
    tg.manual_seed(4)
    for cell_cls, layer_cls in [(nn.RNNCell, nn.RNN), (nn.LSTMCell, nn.LSTM), (nn.GRUCell, nn.GRU)]:
        layer = layer_cls(3, 4)
        cell = cell_cls(3, 4)
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        x = tg.randn(1, 2, 3)
        out, _ = layer(x)
        step = cell(x[0])
        h = step[0] if isinstance(step, tuple) else step
        np.testing.assert_allclose(h.numpy(), out.numpy()[0], atol=1e-12)


def test_relu_rnn_and_dropout_between_layers():
    m = nn.RNN(2, 3, nonlinearity="relu", num_layers=2, dropout=0.5)
    x = tg.randn(4, 2, 2)
    assert (m(x)[0].numpy() >= 0).all()
    m.eval()
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)


def test_bad_inputs_are_named_before_any_computation():
    lstm = nn.LSTM(10, 20)
    with pytest.raises(tg.ShapeError, match=r"LSTM: expected input with 10 features \(input_size\), got 12"):
        lstm(tg.randn(5, 3, 12))
    with pytest.raises(tg.ShapeError, match=r"expected h0 of shape \(1, 3, 20\), got \(1, 3, 21\)"):
        lstm(tg.randn(5, 3, 10), (tg.zeros(1, 3, 21), tg.zeros(1, 3, 20)))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\].*\[6, 1, 1\]"):
        lstm(tg.randn(5, 3, 10), lengths=[6, 1, 1])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 5\]"):
        lstm(tg.randn(5, 3, 10), lengths=[0, 1, 1])
    with pytest.raises(tg.ShapeError, match="expected 3 lengths"):
        lstm(tg.randn(5, 3, 10), lengths=[1, 1])
    with pytest.raises(ValueError, match=r"\(h0, c0\)"):
        lstm(tg.randn(5, 3, 10), tg.zeros(1, 3, 20))
    with pytest.raises(tg.ShapeError, match=r"GRUCell: expected input with 3 features \(input_size\), got 5"):
        nn.GRUCell(3, 4)(tg.randn(2, 5))
    with pytest.raises(tg.ShapeError, match=r"RNNCell: expected hx of shape \(2, 4\)"):
        nn.RNNCell(3, 4)(tg.randn(2, 3), tg.randn(3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        nn.GRU(3, 4)(tg.tensor(np.zeros((2, 1, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
