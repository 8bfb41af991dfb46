"""Recurrent cells and layers, composed only of the engine's primitive ops.

Notation: the textbook RNN  s_t = f(U x_t + W s_{t-1} + b),  o_t = g(V s_t + c)
maps to PyTorch's (and our) names as U = ``weight_ih``, W = ``weight_hh``,
b = ``bias_ih + bias_hh``, and V, c = the weight and bias of a ``Linear`` head.

Each step function below is the cell's equations and nothing else.  It takes
``xw``, the input's projection  x W_ih^T + b  (the layers compute it for all
time steps in one matmul), and the previous state.  There is no backward code
anywhere in this file: backpropagation through time is ``loss.backward()``
over the unrolled graph.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..tensor import ShapeError, Tensor, full_gc_deferred
from .layers import _uniform_param
from .module import Module
from .utils.rnn import PackedSequence, _run_packed

# ---------------------------------------------------------------------------
# the cell equations (gate order as PyTorch: LSTM i, f, g, o;  GRU r, z, n)
# ---------------------------------------------------------------------------


def rnn_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, nonlinearity: str = "tanh") -> Tensor:
    """h' = f(x W_ih^T + b_ih + b_hh + h W_hh^T),  f = tanh or relu."""
    pre = xw + h @ w_hh_t
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step, with one matmul for all four gates:

        i, f, g, o = split(x W_ih^T + b_ih + b_hh + h W_hh^T)
        i = sigmoid(i)   input gate          f = sigmoid(f)   forget gate
        g = tanh(g)      candidate cell      o = sigmoid(o)   output gate
        c' = f * c + i * g                   h' = o * tanh(c')
    """
    i, f, g, o = (xw + h @ w_hh_t).chunk(4, axis=-1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def gru_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    """One GRU step (PyTorch's form):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      reset gate
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)      update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   candidate
        h' = (1 - z) * n + z * h  =  n + z * (h - n)
    """
    hw = h @ w_hh_t
    if b_hh is not None:
        hw = hw + b_hh
    xr, xz, xn = xw.chunk(3, axis=-1)
    hr, hz, hn = hw.chunk(3, axis=-1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None, mode: str) -> Tensor:
    """x W_ih^T + b: the input's share of every gate (for GRU, b_hh stays inside the step)."""
    xw = x @ w_ih.T
    if b_ih is None:
        return xw
    bias = b_ih + b_hh if mode != "GRU" else b_ih
    return xw + bias


def _step(mode: str, xw: Tensor, state: Any, w_hh_t: Tensor, b_hh: Tensor | None) -> Any:
    if mode == "LSTM":
        return lstm_step(xw, state[0], state[1], w_hh_t)
    if mode == "GRU":
        return gru_step(xw, state, w_hh_t, b_hh)
    return rnn_step(xw, state, w_hh_t, "tanh" if mode == "RNN_TANH" else "relu")


def _check_dtype_input(name: str, x: Any) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got {x.dtype}")
    return x


# ---------------------------------------------------------------------------
# cells: one time step
# ---------------------------------------------------------------------------

class _CellBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        G = _GATES[self.mode]
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        k = 1 / math.sqrt(hidden_size) if hidden_size else 0.0
        self.weight_ih = _uniform_param((G * hidden_size, input_size), k)
        self.weight_hh = _uniform_param((G * hidden_size, hidden_size), k)
        self.register_parameter("bias_ih", _uniform_param((G * hidden_size,), k) if bias else None)
        self.register_parameter("bias_hh", _uniform_param((G * hidden_size,), k) if bias else None)

    def _prepare(self, x: Any, hx: Any) -> tuple[Tensor, Any, bool]:
        name = type(self).__name__
        x = _check_dtype_input(name, x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input of shape (batch, {self.input_size}) or ({self.input_size},), "
                             f"got {x.shape}")
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        states = hx if isinstance(hx, (tuple, list)) else (hx,)
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            states = tuple(Tensor._wrap(np.zeros((B, H), dtype=x.dtype)) for _ in range(n_states))
        else:
            if len(states) != n_states:
                raise ValueError(f"{name}: expected {n_states} state tensors, got {len(states)}")
            fixed = []
            for s in states:
                s = s if isinstance(s, Tensor) else Tensor(s)
                want = (B, H) if batched else (H,)
                if s.shape != want:
                    raise ShapeError(f"{name}: expected hidden state of shape {want}, got {s.shape}")
                fixed.append(s if batched else s.unsqueeze(0))
            states = tuple(fixed)
        return x, (states if self.mode == "LSTM" else states[0]), batched

    def forward(self, x: Any, hx: Any = None) -> Any:
        x, state, batched = self._prepare(x, hx)
        xw = _project(x, self.weight_ih, self.bias_ih, self.bias_hh, self.mode)
        out = _step(self.mode, xw, state, self.weight_hh.T, self.bias_hh)
        if batched:
            return out
        return tuple(s.squeeze(0) for s in out) if self.mode == "LSTM" else out.squeeze(0)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), f = tanh (default) or relu."""
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity


class LSTMCell(_CellBase):
    """``h, c = cell(x, (h, c))``; see ``lstm_step`` for the gate equations."""
    mode = "LSTM"


class GRUCell(_CellBase):
    """``h = cell(x, h)``; see ``gru_step`` for the gate equations."""
    mode = "GRU"


# ---------------------------------------------------------------------------
# layers: whole sequences, stacked, optionally bidirectional
# ---------------------------------------------------------------------------

class _RecurrentBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__()
        name = type(self).__name__
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        G, D = _GATES[self.mode], 2 if bidirectional else 1
        k = 1 / math.sqrt(hidden_size) if hidden_size else 0.0
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * D
            for suffix in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{layer}{suffix}", _uniform_param((G * hidden_size, in_size), k))
                setattr(self, f"weight_hh_l{layer}{suffix}", _uniform_param((G * hidden_size, hidden_size), k))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", _uniform_param((G * hidden_size,), k))
                    setattr(self, f"bias_hh_l{layer}{suffix}", _uniform_param((G * hidden_size,), k))

    def _weights(self, layer: int, direction: int) -> tuple:
        s = f"l{layer}{'_reverse' if direction else ''}"
        p = self._parameters
        return p[f"weight_ih_{s}"], p[f"weight_hh_{s}"], p.get(f"bias_ih_{s}"), p.get(f"bias_hh_{s}")

    # -- argument checks, all before any computation ---------------------------
    def _check(self, x: Any, hx: Any, lengths: Any) -> tuple:
        name = type(self).__name__
        x = _check_dtype_input(name, x)
        if x.ndim not in (2, 3):
            raise ShapeError(f"{name}: expected a 2-d (unbatched) or 3-d input, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input with {self.input_size} features (input_size), "
                             f"got {x.shape[-1]} (input shape {x.shape})")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        want = (D * self.num_layers, B, self.hidden_size) if batched else (D * self.num_layers, self.hidden_size)
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            states = [Tensor._wrap(np.zeros((D * self.num_layers, B, self.hidden_size), x.dtype))] * n_states
        else:
            given = list(hx) if isinstance(hx, (tuple, list)) else [hx]
            if len(given) != n_states:
                raise ValueError(f"{name}: expected {'(h0, c0)' if n_states == 2 else 'h0'} as the state, "
                                 f"got {len(given)} tensors")
            states = []
            for label, s in zip(("h0", "c0"), given):
                s = s if isinstance(s, Tensor) else Tensor(s)
                if s.shape != want:
                    raise ShapeError(f"{name}: expected {label} of shape {want}, got {s.shape}")
                states.append(s if batched else s.unsqueeze(1))
        valid = None
        if lengths is not None:
            lens = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
            if lens.dtype.kind not in "iu":
                raise TypeError(f"{name}: lengths must be integers, got {lens.dtype}")
            lens = lens.reshape(-1)
            if lens.shape != (B,):
                raise ShapeError(f"{name}: expected {B} lengths (one per sequence), got {lens.size}")
            if (lens < 1).any() or (lens > T).any():
                raise ValueError(f"{name}: lengths must be in [1, {T}] (the sequence length), got {lens.tolist()}")
            valid = np.arange(T)[:, None, None] < lens[None, :, None]       # (T, B, 1)
            if valid.all():
                valid = None
        return x, states, valid, batched

    def forward(self, x: Any, hx: Any = None, lengths: Any = None) -> tuple:
        """Run over the whole sequence: ``output, h_n`` (LSTM: ``output, (h_n, c_n)``).

        ``lengths`` (one int per sequence) marks the valid prefix of each padded
        sequence: outputs past it are zero, the forward direction's final state
        is the state at the last valid step, the reverse direction starts there.
        """
        if isinstance(x, PackedSequence):     # PyTorch's packed input: output is packed too
            return _run_packed(self, x, hx)
        x, states, valid, batched = self._check(x, hx, lengths)
        with full_gc_deferred():          # the unrolled graph grows by a few objects per op
            return self._unroll(x, states, valid, batched)

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch compacts cuDNN weights here; these weights need no compaction."""

    def _unroll(self, x: Tensor, states: list, valid: np.ndarray | None, batched: bool) -> tuple:
        T = x.shape[0]
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals: list[list[Tensor]] = [[] for _ in states]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                xw = _project(layer_input, w_ih, b_ih, b_hh, self.mode)       # all time steps at once
                w_hh_t = w_hh.T
                idx = layer * D + direction
                state = (states[0][idx], states[1][idx]) if lstm else states[0][idx]
                ys: list[Any] = [None] * T
                for t in (range(T) if direction == 0 else range(T - 1, -1, -1)):
                    new = _step(self.mode, xw[t], state, w_hh_t, b_hh)
                    h_new = new[0] if lstm else new
                    if valid is None or valid[t].all():
                        state, ys[t] = new, h_new
                    else:                                   # past a sequence's end: keep its state, output 0
                        m = valid[t]
                        state = (ops.where(m, new[0], state[0]), ops.where(m, new[1], state[1])) if lstm \
                            else ops.where(m, new, state)
                        ys[t] = ops.where(m, h_new, np.zeros((), h_new.dtype))
                outputs.append(ops.stack(ys, axis=0))
                for i, s in enumerate(state if lstm else (state,)):
                    finals[i].append(s)
            layer_input = outputs[0] if D == 1 else ops.cat(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = ops.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = [ops.stack(f, axis=0) for f in finals]
        if not batched:
            output, h_n = output.squeeze(1), [h.squeeze(1) for h in h_n]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n[0], h_n[1])) if lstm else (output, h_n[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RecurrentBase):
    """Elman RNN over a sequence: h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RecurrentBase):
    """Long short-term memory over a sequence; gate order i, f, g, o as in PyTorch."""
    mode = "LSTM"


class GRU(_RecurrentBase):
    """Gated recurrent unit over a sequence; gate order r, z, n as in PyTorch."""
    mode = "GRU"
