"""nn.utils.rnn: padding and packing (PyTorch's layout), gradients through them, packed input to RNN/LSTM/GRU."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                       pad_sequence, unpack_sequence, unpad_sequence)


def test_pytorch_documented_example():
    # the example in PyTorch's pad_packed_sequence documentation, numbers copied as literals
    seq = tg.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    packed = pack_padded_sequence(seq, [2, 1, 3], batch_first=True, enforce_sorted=False)
    assert packed.data.tolist() == [4, 1, 3, 5, 2, 6]
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [2, 0, 1]
    assert packed.unsorted_indices.tolist() == [1, 2, 0]
    assert packed.batch_sizes.dtype == np.int64 and packed.sorted_indices.dtype == np.int64
    padded, lengths = pad_packed_sequence(packed, batch_first=True)
    assert padded.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]]
    assert lengths.tolist() == [2, 1, 3] and lengths.dtype == np.int64
    data, batch_sizes, sorted_indices, unsorted_indices = packed        # a named tuple, like PyTorch's
    assert isinstance(packed, tuple) and batch_sizes is packed.batch_sizes


def test_pack_sequence_layout_is_time_major():
    # sequences "abc" and "xy" pack as a x b y c with batch_sizes [2, 2, 1]
    packed = pack_sequence([tg.tensor([1, 2, 3]), tg.tensor([7, 8])])
    assert packed.data.tolist() == [1, 7, 2, 8, 3]
    assert packed.batch_sizes.tolist() == [2, 2, 1]
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_sequence([tg.tensor([7, 8]), tg.tensor([1, 2, 3])])
    unsorted = pack_sequence([tg.tensor([7, 8]), tg.tensor([1, 2, 3])], enforce_sorted=False)
    assert unsorted.data.tolist() == [1, 7, 2, 8, 3] and unsorted.sorted_indices.tolist() == [1, 0]
    assert [s.tolist() for s in unpack_sequence(unsorted)] == [[7, 8], [1, 2, 3]]


def test_pad_sequence_shapes_and_sides():
    a, b, c = tg.ones(3, 2), tg.ones(1, 2) * 2, tg.ones(2, 2) * 3
    out = pad_sequence([a, b, c])
    assert out.shape == (3, 3, 2)
    np.testing.assert_array_equal(out.numpy()[:, 1, 0], [2, 0, 0])
    out = pad_sequence([a, b, c], batch_first=True, padding_value=-1.0)
    assert out.shape == (3, 3, 2)
    np.testing.assert_array_equal(out.numpy()[2, :, 0], [3, 3, -1])
    left = pad_sequence([a, b, c], batch_first=True, padding_side="left")
    np.testing.assert_array_equal(left.numpy()[1, :, 0], [0, 0, 2])
    with pytest.raises(ValueError):
        pad_sequence([tg.ones(2, 2), tg.ones(2, 3)])


def test_errors():
    x = tg.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [4, 0])
    with pytest.raises(ValueError):
        pack_padded_sequence(x, [5, 1])
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2]), total_length=3)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_roundtrip_and_total_length(batch_first):
    rng = np.random.default_rng(0)
    T, B = 5, 4
    lens = [3, 5, 1, 4]
    x = rng.standard_normal((T, B, 2)).astype(np.float32)
    valid = np.arange(T)[:, None] < np.array(lens)[None, :]
    x[~valid] = 0
    xin = x.transpose(1, 0, 2) if batch_first else x
    packed = pack_padded_sequence(tg.Tensor(xin), lens, batch_first=batch_first, enforce_sorted=False)
    assert packed.data.shape == (sum(lens), 2)
    assert packed.batch_sizes.tolist() == [4, 3, 3, 2, 1]
    # time-major data, longest first: step 0 of sequences 1, 3, 0, 2, then step 1 of 1, 3, 0 ...
    np.testing.assert_array_equal(packed.data.numpy()[:4], x[0, [1, 3, 0, 2]])
    np.testing.assert_array_equal(packed.data.numpy()[4:7], x[1, [1, 3, 0]])
    padded, lengths = pad_packed_sequence(packed, batch_first=batch_first)
    np.testing.assert_array_equal(padded.numpy(), xin)
    assert lengths.tolist() == lens
    longer, _ = pad_packed_sequence(packed, batch_first=batch_first, padding_value=9.0, total_length=7)
    assert longer.shape == ((B, 7, 2) if batch_first else (7, B, 2))
    lx = longer.numpy().transpose(1, 0, 2) if batch_first else longer.numpy()
    np.testing.assert_array_equal(lx[5:], 9.0)
    np.testing.assert_array_equal(lx[:T][valid], x[valid])
    assert [s.shape[0] for s in unpad_sequence(padded, lengths, batch_first=batch_first)] == lens


def test_gradients_flow_through_pack_and_pad():
    rng = np.random.default_rng(1)
    lens = [2, 4, 3]
    x = tg.Tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    packed = pack_padded_sequence(x, lens, enforce_sorted=False)
    w = rng.standard_normal(packed.data.shape)
    (packed.data * tg.Tensor(w)).sum().backward()
    # by hand: each packed row's weight lands on the padded position it came from, zeros on padding
    expected = np.zeros((4, 3, 2))
    row = 0
    order = [1, 2, 0]                         # sequences by decreasing length
    for t in range(4):
        for b in order:
            if t < lens[b]:
                expected[t, b] = w[row]
                row += 1
    np.testing.assert_allclose(x.grad.numpy(), expected)

    data = tg.Tensor(rng.standard_normal((9, 2)), requires_grad=True)
    packed = PackedSequence(data, [3, 3, 2, 1], [1, 2, 0])
    padded, _ = pad_packed_sequence(packed, padding_value=5.0)
    r = rng.standard_normal(padded.shape)
    (padded * tg.Tensor(r)).sum().backward()
    back = pack_padded_sequence(tg.Tensor(r), [2, 4, 3], enforce_sorted=False).data.numpy()
    np.testing.assert_allclose(data.grad.numpy(), back)


def test_gradcheck_pack_then_pad():
    rng = np.random.default_rng(2)
    x = tg.Tensor(rng.standard_normal((3, 3, 2)), requires_grad=True)

    def f(x):
        padded, _ = pad_packed_sequence(pack_padded_sequence(x, [1, 3, 2], enforce_sorted=False), total_length=4)
        return padded * padded
    assert tg.gradcheck(f, [x])


def _run_each_alone(model, x, lens, h0, batch_first):
    """Reference: every sequence on its own, unpadded (what PyTorch's packed RNN computes)."""
    outs, finals = [], []
    lstm = isinstance(model, nn.LSTM)
    for b, n in enumerate(lens):
        xb = x[b, :n] if batch_first else x[:n, b]
        hb = None
        if h0 is not None:
            hb = (h0[0][:, b], h0[1][:, b]) if lstm else h0[:, b]
        out, h = model(xb, hb)
        outs.append(out.numpy())
        finals.append(h[0].numpy() if lstm else h.numpy())
    return outs, np.stack(finals, axis=1)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("bidirectional,batch_first,enforce_sorted",
                         [(False, False, True), (True, False, False), (True, True, False), (False, True, False)])
def test_recurrent_packed_equals_lengths_and_per_sequence(cls, bidirectional, batch_first, enforce_sorted):
    tg.manual_seed(0)
    model = cls(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=batch_first).double()
    rng = np.random.default_rng(0)
    lens = [5, 4, 2] if enforce_sorted else [2, 5, 3]
    B, T, D = len(lens), max(lens), 2 if bidirectional else 1
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    h0 = rng.standard_normal((2 * D, B, 4))
    hx = (tg.Tensor(h0), tg.Tensor(h0 * 0.5)) if cls is nn.LSTM else tg.Tensor(h0)
    packed = pack_padded_sequence(tg.Tensor(x), lens, batch_first=batch_first, enforce_sorted=enforce_sorted)
    out_p, h_p = model(packed, hx)
    assert isinstance(out_p, PackedSequence)
    assert out_p.batch_sizes.tolist() == packed.batch_sizes.tolist()
    assert out_p.data.shape == (sum(lens), D * 4)
    out_l, h_l = model(tg.Tensor(x), hx, lengths=lens)
    padded, lengths = pad_packed_sequence(out_p, batch_first=batch_first)
    np.testing.assert_allclose(padded.numpy(), out_l.numpy(), atol=1e-12)
    assert lengths.tolist() == lens
    hp, hl = (h_p[0], h_l[0]) if cls is nn.LSTM else (h_p, h_l)
    np.testing.assert_allclose(hp.numpy(), hl.numpy(), atol=1e-12)
    if cls is nn.LSTM:
        np.testing.assert_allclose(h_p[1].numpy(), h_l[1].numpy(), atol=1e-12)
    # independent reference: each sequence alone, h_n in the original batch order
    h0_np = (h0, h0 * 0.5) if cls is nn.LSTM else h0
    outs, finals = _run_each_alone(model, tg.Tensor(x), lens, h0_np, batch_first)
    np.testing.assert_allclose(hp.numpy(), finals, atol=1e-12)
    for b, n in enumerate(lens):
        got = padded.numpy()[b, :n] if batch_first else padded.numpy()[:n, b]
        np.testing.assert_allclose(got, outs[b], atol=1e-12)


def test_packed_lstm_gradients_match_lengths_path():
    tg.manual_seed(1)
    model = nn.LSTM(2, 3, bidirectional=True).double()
    rng = np.random.default_rng(3)
    x_np = rng.standard_normal((4, 3, 2))
    lens = [3, 4, 1]
    x1 = tg.Tensor(x_np, requires_grad=True)
    out, (h, _) = model(pack_padded_sequence(x1, lens, enforce_sorted=False))
    (out.data.sum() + (h * h).sum()).backward()
    g_packed = x1.grad.numpy().copy()
    w_packed = model.weight_hh_l0_reverse.grad.numpy().copy()
    model.zero_grad()
    x2 = tg.Tensor(x_np, requires_grad=True)
    out, (h, _) = model(x2, lengths=lens)
    (out.sum() + (h * h).sum()).backward()
    np.testing.assert_allclose(g_packed, x2.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(w_packed, model.weight_hh_l0_reverse.grad.numpy(), atol=1e-12)
    assert np.all(g_packed[1:, 2] == 0) and np.all(g_packed[3:, 0] == 0)     # padding gets no gradient


def test_flatten_parameters_is_a_no_op():
    m = nn.GRU(2, 3)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    assert m.flatten_parameters() is None
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
