"""Recurrent layers with explicit, non-zero initial states (issue 25), all options drawn together:
mode, num_layers, bidirectional, batch_first, bias, lengths (padded or packed, any order), unbatched input,
against ``reference.layers_forward`` (numpy, one sequence at a time, PyTorch's h0/c0 layout: slot
``layer * D + direction``), with a different value in every slot so a wrong layout shows.

Gradients: with respect to h0, c0 and the input by central differences; and for one layer against the
hand-derived BPTT of ``reference.py`` (``input_grads=True`` gives d h0, d c0).
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq import reference as ref
from tinygrad_seq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def examples(n: int) -> int:
    """n examples under the ci profile (50 by default), six times as many under the "thorough" one (300)."""
    return max(1, n * settings.default.max_examples // 50)

MODES = {"RNN_TANH": lambda *a, **k: nn.RNN(*a, **k), "RNN_RELU": lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k),
         "LSTM": nn.LSTM, "GRU": nn.GRU}


@st.composite
def configs(draw):
    return dict(mode=draw(st.sampled_from(sorted(MODES))), L=draw(st.integers(1, 3)), bidir=draw(st.booleans()),
                batch_first=draw(st.booleans()), bias=draw(st.booleans()), T=draw(st.integers(1, 4)),
                B=draw(st.integers(1, 3)), I=draw(st.integers(1, 3)), H=draw(st.integers(1, 3)),
                form=draw(st.sampled_from(["padded", "lengths", "packed", "unbatched"])),
                states=draw(st.sampled_from(["given", "none"])), seed=draw(st.integers(0, 2**16)))


def make(cfg: dict):
    tg.manual_seed(cfg["seed"])
    m = MODES[cfg["mode"]](cfg["I"], cfg["H"], num_layers=cfg["L"], bidirectional=cfg["bidir"],
                           batch_first=cfg["batch_first"], bias=cfg["bias"]).double()
    rng = np.random.default_rng(cfg["seed"])
    for p in m.parameters():                     # weights large enough that every term matters
        with tg.no_grad():
            p.copy_(rng.uniform(-0.9, 0.9, p.shape))
    m.eval()
    return m, {k: v.numpy().copy() for k, v in m.named_parameters()}, rng


@settings(max_examples=examples(30))
@given(configs())
def test_layers_with_initial_states_match_the_reference(cfg):
    m, params, rng = make(cfg)
    T, B, I, H, L = cfg["T"], cfg["B"], cfg["I"], cfg["H"], cfg["L"]
    D = 2 if cfg["bidir"] else 1
    lstm = cfg["mode"] == "LSTM"
    unbatched = cfg["form"] == "unbatched"
    if unbatched:
        B = 1
    x = rng.uniform(-1, 1, (T, B, I))
    lengths = rng.integers(1, T + 1, B) if cfg["form"] in ("lengths", "packed") else None
    h0 = rng.uniform(-1, 1, (L * D, B, H)) if cfg["states"] == "given" else None
    c0 = rng.uniform(-1, 1, (L * D, B, H)) if (cfg["states"] == "given" and lstm) else None
    want_y, want_h, want_c = ref.layers_forward(cfg["mode"], x, params, L, cfg["bidir"], h0, c0, lengths)

    hx = None
    if h0 is not None:
        hx = (tg.tensor(h0[:, 0] if unbatched else h0), tg.tensor(c0[:, 0] if unbatched else c0)) if lstm else \
            tg.tensor(h0[:, 0] if unbatched else h0)
    bf = cfg["batch_first"]
    if unbatched:
        y, state = m(tg.tensor(x[:, 0]), hx)
        y = y.numpy()[:, None]
    elif cfg["form"] == "packed":
        padded = tg.tensor(x.transpose(1, 0, 2) if bf else x)
        packed = pack_padded_sequence(padded, lengths, batch_first=bf, enforce_sorted=False)
        out, state = m(packed, hx)
        y, lens = pad_packed_sequence(out, batch_first=bf, total_length=T)
        np.testing.assert_array_equal(lens.numpy(), lengths)
        y = y.numpy().transpose(1, 0, 2) if bf else y.numpy()
    else:
        inp = tg.tensor(x.transpose(1, 0, 2) if bf else x)
        y, state = m(inp, hx, lengths=lengths) if lengths is not None else m(inp, hx)
        y = y.numpy().transpose(1, 0, 2) if bf else y.numpy()
    h_n, c_n = state if lstm else (state, None)
    h_n = h_n.numpy()[:, None] if unbatched else h_n.numpy()
    np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n, want_h, rtol=1e-10, atol=1e-12)
    if lstm:
        c_n = c_n.numpy()[:, None] if unbatched else c_n.numpy()
        np.testing.assert_allclose(c_n, want_c, rtol=1e-10, atol=1e-12)


@settings(max_examples=examples(8))
@given(configs())
def test_gradients_reach_every_slot_of_h0_and_c0(cfg):
    """d(loss)/d h0, c0 and x by central differences, the loss reading the output and both final states."""
    cfg = {**cfg, "T": min(cfg["T"], 3), "H": min(cfg["H"], 2), "I": min(cfg["I"], 2), "B": min(cfg["B"], 2)}
    m, _, rng = make(cfg)
    T, B, I, H, L = cfg["T"], cfg["B"], cfg["I"], cfg["H"], cfg["L"]
    D = 2 if cfg["bidir"] else 1
    lstm = cfg["mode"] == "LSTM"
    x = tg.tensor(rng.uniform(-1, 1, (B, T, I) if cfg["batch_first"] else (T, B, I)), requires_grad=True)
    h0 = tg.tensor(rng.uniform(-1, 1, (L * D, B, H)), requires_grad=True)
    c0 = tg.tensor(rng.uniform(-1, 1, (L * D, B, H)), requires_grad=True)
    lengths = rng.integers(1, T + 1, B) if cfg["form"] in ("lengths", "packed") else None
    wy = tg.tensor(rng.uniform(-1, 1, (B, T, D * H) if cfg["batch_first"] else (T, B, D * H)))
    wh = tg.tensor(rng.uniform(-1, 1, (L * D, B, H)))

    def loss(x, h0, c0):
        y, s = m(x, (h0, c0) if lstm else h0, lengths=lengths)
        h, c = s if lstm else (s, None)
        out = (y * wy).sum() + (h * wh).sum()
        return out + (c * wh * 0.5).sum() if lstm else out

    tg.gradcheck(loss, [x, h0, c0] if lstm else [x, h0, c0.detach()])


@settings(max_examples=examples(12))
@given(st.sampled_from(["RNN_TANH", "LSTM", "GRU"]), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 2**16))
def test_one_layer_bptt_with_initial_states_matches_the_hand_derivation(mode, T, B, I, H, seed):
    """loss.backward() through nn.RNN/LSTM/GRU + Linear head from non-zero h0 (c0) vs reference.*_bptt,
    including d h0 and d c0."""
    rng = np.random.default_rng(seed)
    V = 3
    m, params, _ = make(dict(mode=mode, L=1, bidir=False, batch_first=False, bias=True, seed=seed, I=I, H=H))
    head = nn.Linear(H, V).double()
    x0 = rng.uniform(-1, 1, (T, B, I))
    y = rng.integers(0, V, (T, B))
    h00, c00 = rng.uniform(-1, 1, (B, H)), rng.uniform(-1, 1, (B, H))
    x = tg.tensor(x0, requires_grad=True)
    h0 = tg.tensor(h00[None], requires_grad=True)
    c0 = tg.tensor(c00[None], requires_grad=True)
    out, _ = m(x, (h0, c0) if mode == "LSTM" else h0)
    logits = head(out)
    loss = nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    loss.backward()
    args = (x0, y, params["weight_ih_l0"], params["weight_hh_l0"], params["bias_ih_l0"], params["bias_hh_l0"],
            head.weight.numpy(), head.bias.numpy())
    if mode == "RNN_TANH":
        want_loss, g = ref.rnn_bptt(*args, h0=h00, input_grads=True)
    elif mode == "LSTM":
        want_loss, g = ref.lstm_bptt(*args, h0=h00, c0=c00, input_grads=True)
    else:
        want_loss, g = ref.gru_bptt(*args, h0=h00, input_grads=True)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-12)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        np.testing.assert_allclose(getattr(m, name + "_l0").grad.numpy(), g[name], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g["x"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h0.grad.numpy()[0], g["h0"], rtol=1e-9, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(c0.grad.numpy()[0], g["c0"], rtol=1e-9, atol=1e-12)


def test_dropout_acts_between_layers_only():
    """dropout applies to the outputs of every layer but the last (PyTorch's rule): a one-layer module in
    training mode gives its eval-mode numbers, and a two-layer one differs from them."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.uniform(-1, 1, (5, 2, 3)))
    h0 = tg.tensor(rng.uniform(-1, 1, (2, 2, 4)))
    for mode in sorted(MODES):
        hx = (h0, h0 * 0.5) if mode == "LSTM" else h0
        one = MODES[mode](3, 4, num_layers=1, dropout=0.5, bidirectional=True).double()
        one.train()
        y_train, _ = one(x, hx)
        one.eval()
        y_eval, _ = one(x, hx)
        np.testing.assert_array_equal(y_train.numpy(), y_eval.numpy())
        two = MODES[mode](3, 4, num_layers=2, dropout=0.5).double()
        hx2 = (h0, h0 * 0.5) if mode == "LSTM" else h0
        tg.manual_seed(1)
        y_train, _ = two.train()(x, hx2)
        y_eval, _ = two.eval()(x, hx2)
        assert not np.allclose(y_train.numpy(), y_eval.numpy())
