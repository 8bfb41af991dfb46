"""Backpropagation through time derived by hand, in plain numpy: no graph, no autograd.

The model, for a vanilla RNN (``rnn_bptt``) or an LSTM (``lstm_bptt``):

    h_t   = cell(x_t, h_{t-1})                 (weights W_ih, W_hh, b_ih, b_hh, as in nn.RNN / nn.LSTM)
    o_t   = V h_t + c                          (a Linear head: V = weight, c = bias)
    loss  = mean over t, b of  -log softmax(o_t)[y_t]

BPTT in its three steps:
1. forward: run the recurrence and keep every h_t (and, for the LSTM, the gates and c_t);
2. error terms, back through the layers (output -> hidden) and back through time:
       d o_t = (softmax(o_t) - onehot(y_t)) / N
       d h_t = d o_t V + (error arriving from step t+1)
   then through the cell's equations to the pre-activations d a_t;
3. weight gradients: sums over time of outer products, e.g. dW_hh = sum_t d a_t^T h_{t-1},
   computed here as one matmul over all steps at once.

The tests check that ``loss.backward()`` on the same equations built from
primitive ops gives these numbers; the benchmark uses them as the speed
reference; the tutorials show them beside the autograd version.
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
             b_hh: np.ndarray, V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None) -> tuple[float, dict]:
    """Loss and gradients of a tanh RNN with a softmax head; x (T, B, I), integer y (T, B)."""
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
    return float(loss), grads


def lstm_bptt(x: np.ndarray, y: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray,
              b_hh: np.ndarray, V: np.ndarray, c: np.ndarray, h0: np.ndarray | None = None,
              c0: np.ndarray | None = None) -> tuple[float, dict]:
    """Loss and gradients of an LSTM (gates i, f, g, o) with a softmax head; x (T, B, I), integer y (T, B)."""
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
    return float(loss), grads
