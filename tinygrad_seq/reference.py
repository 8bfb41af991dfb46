"""Backpropagation through time derived by hand, in plain numpy: no graph, no autograd.

The model, for a vanilla RNN (``rnn_bptt``), an LSTM (``lstm_bptt``) or a GRU (``gru_bptt``):

    h_t   = cell(x_t, h_{t-1})                 (weights W_ih, W_hh, b_ih, b_hh, as in nn.RNN / nn.LSTM / nn.GRU)
    o_t   = V h_t + c                          (a Linear head: V = weight, c = bias)
    loss  = mean over t, b of  -log softmax(o_t)[y_t]

BPTT in its three steps:
1. forward: run the recurrence and keep every h_t (and, for the LSTM and GRU, the gates and c_t);
2. error terms, back through the layers (output -> hidden) and back through time:
       d o_t = (softmax(o_t) - onehot(y_t)) / N
       d h_t = d o_t V + (error arriving from step t+1)
   then through the cell's equations to the pre-activations d a_t;
3. weight gradients: sums over time of outer products, e.g. dW_hh = sum_t d a_t^T h_{t-1},
   computed here as one matmul over all steps at once.

The tests check that ``loss.backward()`` on the same equations built from
primitive ops gives these numbers; the benchmark uses them as the speed
reference; the tutorials show them beside the autograd version.

This module imports only numpy: nothing here shares code with the engine, so a
bug in the engine cannot hide by appearing on both sides of a comparison.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) in one buffer (as fast as the engine's, so the benchmark compares like with like).

    For very negative x, e^-x overflows to inf and the result is exactly 0: no nan; the warning is silenced.
    """
    t = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


def _head_loss(hs: np.ndarray, y: np.ndarray, V: np.ndarray, c: np.ndarray) -> tuple:
    """Mean cross-entropy of o = hs V^T + c against y; returns loss, d o, dV, dc, d hs (from the head)."""
    T, B, H = hs.shape
    h2 = hs.reshape(T * B, H)
    logits = h2 @ V.T + c
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    yf = y.reshape(-1)
    N = yf.size
    loss = -logp[np.arange(N), yf].mean()
    do = np.exp(logp)
    do[np.arange(N), yf] -= 1
    do /= N
    return loss, do, do.T @ h2, do.sum(axis=0), (do @ V).reshape(T, B, H)


def rnn_bptt(x: np.ndarray, y: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray,
             b_hh: np.ndarray, V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None,
             input_grads: bool = False) -> tuple[float, dict]:
    """Loss and gradients of a tanh RNN with a softmax head; x (T, B, I), integer y (T, B).

    With ``input_grads`` the gradients also hold "x" (T, B, I) and "h0" (B, H): d h0 is the error that
    arrives at step 0's input state, ``d a_0 W_hh``."""
    T, B, _ = x.shape
    H = W_hh.shape[0]
    h_prev = np.zeros((B, H), x.dtype) if h0 is None else h0
    # 1. forward
    xw = x @ W_ih.T + (b_ih + b_hh)                      # input projection, all steps at once
    hs = np.empty((T, B, H), x.dtype)
    for t in range(T):
        h_prev = hs[t] = np.tanh(xw[t] + h_prev @ W_hh.T)
    loss, _, dV, dc, dh_out = _head_loss(hs, y, V, c)
    # 2. error terms back through time:  d a_t = (d h_t) * (1 - h_t^2),  d h_{t-1} += d a_t W_hh
    da = np.empty_like(hs)
    dh_next = np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        da[t] = (dh_out[t] + dh_next) * (1 - hs[t] ** 2)
        dh_next = da[t] @ W_hh
    # 3. weight gradients, summed over time in single matmuls
    h_before = np.concatenate([(np.zeros((1, B, H), x.dtype) if h0 is None else h0[None]), hs[:-1]])
    da2 = da.reshape(T * B, H)
    db = da2.sum(axis=0)
    grads = {"weight_ih": da2.T @ x.reshape(T * B, -1), "weight_hh": da2.T @ h_before.reshape(T * B, H),
             "bias_ih": db, "bias_hh": db.copy(), "V": dV, "c": dc}
    if input_grads:
        grads["x"] = da @ W_ih
        grads["h0"] = dh_next
    return float(loss), grads


def lstm_bptt(x: np.ndarray, y: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray,
              b_hh: np.ndarray, V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None,
              c0: np.ndarray | None = None, input_grads: bool = False) -> tuple[float, dict]:
    """Loss and gradients of an LSTM (gates i, f, g, o) with a softmax head; x (T, B, I), integer y (T, B).

    With ``input_grads`` the gradients also hold "x", "h0" and "c0": the errors left after step 0,
    d h0 = d a_0 W_hh and d c0 = d c_0 f_0 (the cell state's path through the forget gate)."""
    T, B, _ = x.shape
    H = W_hh.shape[0] // 4
    dt = x.dtype
    h_prev = np.zeros((B, H), dt) if h0 is None else h0
    c_prev = np.zeros((B, H), dt) if c0 is None else c0
    # 1. forward:  a = x W_ih^T + b + h W_hh^T;  i, f, o = sigmoid;  g = tanh;  c = f c + i g;  h = o tanh(c)
    xw = x @ W_ih.T + (b_ih + b_hh)
    gates = np.empty((T, B, 4 * H), dt)                  # activated i, f, g, o
    cs = np.empty((T + 1, B, H), dt)
    hs = np.empty((T + 1, B, H), dt)
    cs[0], hs[0] = c_prev, h_prev
    for t in range(T):
        a = xw[t] + hs[t] @ W_hh.T
        act = gates[t]
        act[:, :2 * H] = _sigmoid(a[:, :2 * H])
        act[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        act[:, 3 * H:] = _sigmoid(a[:, 3 * H:])
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        cs[t + 1] = f * cs[t] + i * g
        hs[t + 1] = o * np.tanh(cs[t + 1])
    loss, _, dV, dc_head, dh_out = _head_loss(hs[1:], y, V, c)
    # 2. error terms back through time
    da = np.empty((T, B, 4 * H), dt)
    dh_next = np.zeros((B, H), dt)
    dc_next = np.zeros((B, H), dt)
    for t in range(T - 1, -1, -1):
        act = gates[t]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        tc = np.tanh(cs[t + 1])
        dh = dh_out[t] + dh_next
        dcell = dh * o * (1 - tc * tc) + dc_next
        d = da[t]
        d[:, :H] = dcell * g * i * (1 - i)               # input gate
        d[:, H:2 * H] = dcell * cs[t] * f * (1 - f)      # forget gate
        d[:, 2 * H:3 * H] = dcell * i * (1 - g * g)      # candidate
        d[:, 3 * H:] = dh * tc * o * (1 - o)             # output gate
        dc_next = dcell * f
        dh_next = d @ W_hh
    # 3. weight gradients
    da2 = da.reshape(T * B, 4 * H)
    db = da2.sum(axis=0)
    grads = {"weight_ih": da2.T @ x.reshape(T * B, -1), "weight_hh": da2.T @ hs[:-1].reshape(T * B, H),
             "bias_ih": db, "bias_hh": db.copy(), "V": dV, "c": dc_head}
    if input_grads:
        grads["x"] = da @ W_ih
        grads["h0"] = dh_next
        grads["c0"] = dc_next
    return float(loss), grads


def gru_bptt(x: np.ndarray, y: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray,
             b_hh: np.ndarray, V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None,
             input_grads: bool = False) -> tuple[float, dict]:
    """Loss and gradients of a GRU (gates r, z, n, PyTorch's equations) with a softmax head.

    x (T, B, I), integer y (T, B).  With ``input_grads`` the gradients also hold
    "x" (T, B, I) and "h0" (B, H).  The step, as PyTorch documents it:

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Back through one step, with d h' the error arriving at h' (from the head and from step t+1):

        d n = d h' (1 - z)              d z = d h' (h - n)           d h (direct) = d h' z
        d a_n = d n (1 - n^2)           (a_n: the pre-activation of n)
        d (W_hn h + b_hn) = d a_n r     d r = d a_n (W_hn h + b_hn)
        d a_r = d r r (1 - r)           d a_z = d z z (1 - z)
        d h = d h' z + [d a_r, d a_z, d a_n r] W_hh

    The input side's error is [d a_r, d a_z, d a_n], the hidden side's [d a_r, d a_z, d a_n r]:
    they differ in the candidate's third, because r multiplies only the hidden part.
    """
    T, B, _ = x.shape
    H = W_hh.shape[0] // 3
    dt = x.dtype
    hs = np.empty((T + 1, B, H), dt)
    hs[0] = np.zeros((B, H), dt) if h0 is None else h0
    # 1. forward; keep r, z, n and the hidden projection of the candidate (W_hn h + b_hn)
    xw = x @ W_ih.T + b_ih                               # (T, B, 3H): the input's share, all steps at once
    rs, zs, ns, hns = (np.empty((T, B, H), dt) for _ in range(4))
    for t in range(T):
        hw = hs[t] @ W_hh.T + b_hh
        r = rs[t] = _sigmoid(xw[t, :, :H] + hw[:, :H])
        z = zs[t] = _sigmoid(xw[t, :, H:2 * H] + hw[:, H:2 * H])
        hns[t] = hw[:, 2 * H:]
        n = ns[t] = np.tanh(xw[t, :, 2 * H:] + r * hns[t])
        hs[t + 1] = (1 - z) * n + z * hs[t]
    loss, _, dV, dc, dh_out = _head_loss(hs[1:], y, V, c)
    # 2. error terms back through time
    dxa = np.empty((T, B, 3 * H), dt)                    # d (x W_ih^T + b_ih)
    dha = np.empty((T, B, 3 * H), dt)                    # d (h W_hh^T + b_hh)
    dh_next = np.zeros((B, H), dt)
    for t in range(T - 1, -1, -1):
        r, z, n = rs[t], zs[t], ns[t]
        dh = dh_out[t] + dh_next
        dan = dh * (1 - z) * (1 - n * n)
        daz = dh * (hs[t] - n) * z * (1 - z)
        dar = dan * hns[t] * r * (1 - r)
        dxa[t, :, :H] = dha[t, :, :H] = dar
        dxa[t, :, H:2 * H] = dha[t, :, H:2 * H] = daz
        dxa[t, :, 2 * H:] = dan
        dha[t, :, 2 * H:] = dan * r
        dh_next = dh * z + dha[t] @ W_hh
    # 3. weight gradients
    dx2, dh2 = dxa.reshape(T * B, 3 * H), dha.reshape(T * B, 3 * H)
    grads = {"weight_ih": dx2.T @ x.reshape(T * B, -1), "weight_hh": dh2.T @ hs[:-1].reshape(T * B, H),
             "bias_ih": dx2.sum(axis=0), "bias_hh": dh2.sum(axis=0), "V": dV, "c": dc}
    if input_grads:
        grads["x"] = dxa @ W_ih
        grads["h0"] = dh_next
    return float(loss), grads


# ---------------------------------------------------------------------------
# forward only: stacked, bidirectional layers with initial states and lengths
# ---------------------------------------------------------------------------

def cell_step(mode: str, x: np.ndarray, h: np.ndarray, c: np.ndarray | None, W_ih: np.ndarray, W_hh: np.ndarray,
              b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> tuple:
    """One step of PyTorch's cell equations for ``mode`` in RNN_TANH, RNN_RELU, LSTM, GRU; returns (h', c')."""
    H = W_hh.shape[1]
    a_x = x @ W_ih.T + (0 if b_ih is None else b_ih)
    a_h = h @ W_hh.T + (0 if b_hh is None else b_hh)
    if mode == "RNN_TANH":
        return np.tanh(a_x + a_h), None
    if mode == "RNN_RELU":
        return np.maximum(a_x + a_h, 0), None
    if mode == "LSTM":
        a = a_x + a_h
        i, f = _sigmoid(a[..., :H].copy()), _sigmoid(a[..., H:2 * H].copy())
        g, o = np.tanh(a[..., 2 * H:3 * H]), _sigmoid(a[..., 3 * H:].copy())
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    r = _sigmoid(a_x[..., :H] + a_h[..., :H])
    z = _sigmoid(a_x[..., H:2 * H] + a_h[..., H:2 * H])
    n = np.tanh(a_x[..., 2 * H:] + r * a_h[..., 2 * H:])
    return (1 - z) * n + z * h, None


def layers_forward(mode: str, x: np.ndarray, params: dict, num_layers: int, bidirectional: bool,
                   h0: np.ndarray | None = None, c0: np.ndarray | None = None,
                   lengths: np.ndarray | None = None) -> tuple:
    """``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` in eval mode, one sequence at a time, in plain numpy.

    x (T, B, I) time-major; ``params`` by PyTorch's names (weight_ih_l0, weight_hh_l0_reverse, ...; biases
    may be absent); h0, c0 (num_layers * D, B, H) in PyTorch's layout: slot ``layer * D + direction``;
    ``lengths`` the valid prefix of each sequence (all T if None).  Each sequence b is run over its own
    ``lengths[b]`` steps only: the forward direction from step 0, the reverse one from its last valid step
    back to 0, each from its slot of h0/c0.  Returns (output (T, B, D * H) with zeros past each length,
    h_n, c_n (None unless LSTM)), h_n[slot] the state after the direction's last step.
    """
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    H = params["weight_hh_l0"].shape[1]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths).reshape(-1)
    h0 = np.zeros((num_layers * D, B, H), x.dtype) if h0 is None else h0
    c0 = np.zeros((num_layers * D, B, H), x.dtype) if (c0 is None and mode == "LSTM") else c0
    h_n = np.zeros((num_layers * D, B, H), x.dtype)
    c_n = np.zeros((num_layers * D, B, H), x.dtype) if mode == "LSTM" else None
    layer_in = x
    for layer in range(num_layers):
        out = np.zeros((T, B, D * H), x.dtype)
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [params.get(k + sfx) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            slot = layer * D + d
            for b in range(B):
                n = int(lengths[b])
                h = h0[slot, b]
                c = c0[slot, b] if mode == "LSTM" else None
                for t in (range(n) if d == 0 else range(n - 1, -1, -1)):
                    h, c = cell_step(mode, layer_in[t, b], h, c, *w)
                    out[t, b, d * H:(d + 1) * H] = h
                h_n[slot, b] = h
                if mode == "LSTM":
                    c_n[slot, b] = c
        layer_in = out
    return layer_in, h_n, c_n
