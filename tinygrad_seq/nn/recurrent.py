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
from typing import Any, Callable, NamedTuple

import numpy as np

from .._gc import full_gc_deferred
from ..functions import cat, stack
from .._args import bool_arg, is_int
from ..tensor import ShapeError, Tensor, where
from . import functional as F
from .layers import _uniform_param
from .module import Module
from .utils.rnn import PackedSequence, _run_packed

# ---------------------------------------------------------------------------
# the cell equations (gate order as PyTorch: LSTM i, f, g, o;  GRU r, z, n)
# ---------------------------------------------------------------------------


def rnn_step(xw: Tensor, h: Tensor, w_hh_t: Tensor, activation: Callable[[Tensor], Tensor] = Tensor.tanh) -> Tensor:
    """h' = f(x W_ih^T + b_ih + b_hh + h W_hh^T),  f = tanh (or relu):  s_t = f(U x_t + W s_{t-1} + b)."""
    return activation(xw + h @ w_hh_t)


def lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor, w_hr_t: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step, with one matmul for all four gates:

        i, f, g, o = split(x W_ih^T + b_ih + b_hh + h W_hh^T)
        i = sigmoid(i)   input gate          f = sigmoid(f)   forget gate
        g = tanh(g)      candidate cell      o = sigmoid(o)   output gate
        c' = f * c + i * g                   h' = o * tanh(c')
        h' = h' W_hr^T                       with proj_size: the projection
    """
    i, f, g, o = (xw + h @ w_hh_t).chunk(4, -1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    return (h_new if w_hr_t is None else h_new @ w_hr_t), c_new


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
    xr, xz, xn = xw.chunk(3, -1)
    hr, hz, hn = hw.chunk(3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


class _Kind(NamedTuple):
    """What differs between the cell types, chosen once per module (never per time step)."""
    gates: int                    # blocks of hidden_size rows in W_ih and W_hh
    states: tuple                 # the state's names: ("h",) or ("h", "c")
    step: Callable                # (xw, state tuple, W_hh^T, b_hh, W_hr^T) -> new state tuple; the output is its [0]
    b_hh_in_projection: bool      # b_hh adds to x W_ih^T (all but the GRU, where r multiplies it)


def _rnn_tanh(xw, s, w, b, p):
    return (rnn_step(xw, s[0], w, Tensor.tanh),)


def _rnn_relu(xw, s, w, b, p):
    return (rnn_step(xw, s[0], w, Tensor.relu),)


def _lstm(xw, s, w, b, p):
    return lstm_step(xw, s[0], s[1], w, p)


def _gru(xw, s, w, b, p):
    return (gru_step(xw, s[0], w, b),)


_KINDS = {   # the steps are named functions (not lambdas) so that a saved whole module can name them
    "RNN_TANH": _Kind(1, ("h",), _rnn_tanh, True),
    "RNN_RELU": _Kind(1, ("h",), _rnn_relu, True),
    "LSTM": _Kind(4, ("h", "c"), _lstm, True),
    "GRU": _Kind(3, ("h",), _gru, False),
}


def _project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None, kind: _Kind) -> Tensor:
    """x W_ih^T + b: the input's share of every gate (for the GRU, b_hh stays inside the step)."""
    xw = x @ w_ih.T
    if b_ih is None:
        return xw
    return xw + (b_ih + b_hh if kind.b_hh_in_projection else b_ih)


# ---------------------------------------------------------------------------
# argument checks shared by cells and layers, all before any computation
# ---------------------------------------------------------------------------

def _check_sizes(name: str, input_size: Any, hidden_size: Any, nonlinearity: str | None = None) -> None:
    for arg, v, low in (("input_size", input_size, 0), ("hidden_size", hidden_size, 1)):
        if not is_int(v):
            raise TypeError(f"{name}: {arg} must be an integer, got {type(v).__name__} {v!r}")
        if v < low:
            raise ValueError(f"{name}: {arg} must be at least {low}, got {v}")
    if nonlinearity is not None and nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def _check_input(name: str, x: Any, input_size: int, ndims: tuple, what: str, dtype: Any = None) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name}: input must have the dtype of the weights, {dtype}, got {x.dtype} "
                        f"(convert the input with .to({dtype}) or the model with .to({x.dtype}))")
    if x.ndim not in ndims:
        raise ShapeError(f"{name}: expected input of shape {what}, got shape {x.shape}")
    if x.shape[-1] != input_size:
        raise ShapeError(f"{name}: expected input with {input_size} features (input_size), got {x.shape[-1]} "
                         f"(input shape {x.shape})")
    return x


def _check_state(name: str, hx: Any, kind: _Kind, wants: tuple, batched: bool, batch_axis: int, dtype: Any,
                 suffix: str = "0") -> tuple:
    """The initial state as a tuple of tensors (zeros if ``hx`` is None), one per state, of the shapes ``wants``."""
    if hx is None:
        return tuple(Tensor._wrap(np.zeros(w if batched else w[:batch_axis] + (1,) + w[batch_axis:], dtype))
                     for w in wants)
    given = tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
    if len(given) != len(kind.states):
        raise ValueError(f"{name}: expected the state as ({', '.join(s + suffix for s in kind.states)}) "
                         f"({len(kind.states)} tensor{'s' if len(kind.states) > 1 else ''}), got {len(given)}")
    states = []
    for label, s, want in zip(kind.states, given, wants):
        s = s if isinstance(s, Tensor) else Tensor(s)
        if s.shape != want:
            raise ShapeError(f"{name}: expected {label}{suffix} of shape {want}, got {s.shape}")
        if s.dtype != dtype:
            raise TypeError(f"{name}: {label}{suffix} has dtype {s.dtype} but the input has {dtype}; pass a {dtype} state")
        states.append(s if batched else s.unsqueeze(batch_axis))
    return tuple(states)


def _init_weights(module: Module, kind: _Kind, input_size: int, hidden_size: int, bias: bool, suffix: str,
                  proj_size: int = 0) -> None:
    """PyTorch's initialisation: every weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    k = 1 / math.sqrt(hidden_size)
    G = kind.gates * hidden_size
    setattr(module, f"weight_ih{suffix}", _uniform_param((G, input_size), k))
    setattr(module, f"weight_hh{suffix}", _uniform_param((G, proj_size or hidden_size), k))
    module.register_parameter(f"bias_ih{suffix}", _uniform_param((G,), k) if bias else None)
    module.register_parameter(f"bias_hh{suffix}", _uniform_param((G,), k) if bias else None)
    if proj_size:
        setattr(module, f"weight_hr{suffix}", _uniform_param((proj_size, hidden_size), k))


# ---------------------------------------------------------------------------
# cells: one time step
# ---------------------------------------------------------------------------

class _CellBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str | None = None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size, nonlinearity)
        bool_arg(type(self).__name__, "bias", bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        if nonlinearity is not None:
            self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.kind = _KINDS[self.mode]
        _init_weights(self, self.kind, input_size, hidden_size, bias, "")

    def forward(self, x: Any, hx: Any = None) -> Any:
        name = type(self).__name__
        x = _check_input(name, x, self.input_size, (1, 2), f"(batch, {self.input_size}) or ({self.input_size},)",
                         self.weight_ih.dtype)
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        want = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        state = _check_state(name, hx, self.kind, (want,) * len(self.kind.states), batched, 0, x.dtype, suffix="x")
        xw = _project(x, self.weight_ih, self.bias_ih, self.bias_hh, self.kind)
        new = self.kind.step(xw, state, self.weight_hh.T, self.bias_hh, None)
        if not batched:
            new = tuple(s.squeeze(0) for s in new)
        return new if len(new) > 1 else new[0]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh), f = tanh (default) or relu.

    Args: ``input_size``, ``hidden_size``, ``bias=True``, ``nonlinearity='tanh'``.
    Input ``x`` (batch, input_size) or (input_size,); ``hx`` (batch, hidden_size)
    or (hidden_size,), zeros if not given.  Returns h' of hx's shape.
    Parameters: ``weight_ih`` (hidden_size, input_size), ``weight_hh``
    (hidden_size, hidden_size), ``bias_ih`` and ``bias_hh`` (hidden_size,).
    """
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, bias, nonlinearity)
        self.nonlinearity = nonlinearity


class LSTMCell(_CellBase):
    """``h', c' = cell(x, (h, c))``; the gate equations are ``lstm_step``'s.

    Input ``x`` (batch, input_size) or (input_size,); ``(h, c)`` each (batch,
    hidden_size), zeros if not given.  Parameters: ``weight_ih`` (4 hidden_size,
    input_size), ``weight_hh`` (4 hidden_size, hidden_size), ``bias_ih``,
    ``bias_hh`` (4 hidden_size,), gates stacked in the order i, f, g, o.
    """
    mode = "LSTM"


class GRUCell(_CellBase):
    """``h' = cell(x, h)``; the gate equations are ``gru_step``'s.

    Shapes as ``RNNCell``'s; parameters have 3 hidden_size rows, gates stacked
    in the order r, z, n.
    """
    mode = "GRU"


# ---------------------------------------------------------------------------
# layers: whole sequences, stacked, optionally bidirectional
# ---------------------------------------------------------------------------

class _RecurrentBase(Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, nonlinearity: str | None = None):
        super().__init__()
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size, nonlinearity)
        if not is_int(proj_size) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections, "
                             f"got {proj_size!r}")
        if proj_size and self.mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size}, "
                             f"hidden_size={hidden_size}")
        if not is_int(num_layers) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be an integer of at least 1, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        for flag, v in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            bool_arg(name, flag, v)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.proj_size = int(proj_size)
        H_out = proj_size or hidden_size                # the features of h (and of the output)
        if nonlinearity is not None:
            self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.kind = _KINDS[self.mode]
        D = 2 if bidirectional else 1
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:D]:
                _init_weights(self, self.kind, input_size if layer == 0 else H_out * D, hidden_size, bias,
                              f"_l{layer}{suffix}", proj_size)

    def _weights(self, layer: int, direction: int) -> tuple:
        s = f"l{layer}{'_reverse' if direction else ''}"
        names = (f"weight_ih_{s}", f"weight_hh_{s}", f"bias_ih_{s}", f"bias_hh_{s}", f"weight_hr_{s}")
        p, d = self._parameters, self.__dict__
        if names[0] in d or names[1] in d or names[2] in d or names[3] in d or names[4] in d:
            p = {**p, **d}      # a plain tensor set in a parameter's place (a dual tensor) is used, as in PyTorch
        return (p[names[0]], p[names[1]], p.get(names[2]), p.get(names[3]), p.get(names[4]))

    def _check(self, x: Any, hx: Any, lengths: Any) -> tuple:
        name = type(self).__name__
        x = _check_input(name, x, self.input_size, (2, 3), "(seq_len, batch, input_size) (batch first if "
                         "batch_first) or (seq_len, input_size)", self._weights(0, 0)[0].dtype)
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise ShapeError(f"{name}: the input sequence is empty (length 0, input shape {x.shape})")
        D = 2 if self.bidirectional else 1
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:len(self.kind.states)]     # h (and c)
        wants = tuple((D * self.num_layers, B, n) if batched else (D * self.num_layers, n) for n in sizes)
        states = _check_state(name, hx, self.kind, wants, batched, 1, x.dtype)
        valid = None
        if lengths is not None:
            lens = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths)
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

    @full_gc_deferred()                   # the unrolled graph grows by a few objects per op (see _gc.py)
    def forward(self, x: Any, hx: Any = None, lengths: Any = None) -> tuple:
        """Run over the whole sequence: ``output, h_n`` (LSTM: ``output, (h_n, c_n)``).

        ``lengths`` (one int per sequence) marks the valid prefix of each padded
        sequence: outputs past it are zero, the forward direction's final state
        is the state at the last valid step, the reverse direction starts there.
        A ``PackedSequence`` input gives a packed output (PyTorch's packed form).
        """
        if isinstance(x, PackedSequence):
            return _run_packed(self, x, hx)
        x, states, valid, batched = self._check(x, hx, lengths)
        T, D = x.shape[0], 2 if self.bidirectional else 1
        finals: list[tuple] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                xw = _project(layer_input, w_ih, b_ih, b_hh, self.kind)       # all time steps at once
                w_hh_t, w_hr_t = w_hh.T, (None if w_hr is None else w_hr.T)
                state = tuple(s[layer * D + direction] for s in states)
                ys: list[Any] = [None] * T
                for t in (range(T) if direction == 0 else range(T - 1, -1, -1)):
                    new = self.kind.step(xw[t], state, w_hh_t, b_hh, w_hr_t)
                    if valid is None or valid[t].all():
                        state, ys[t] = new, new[0]
                    else:                                   # past a sequence's end: keep its state, output 0
                        m = valid[t]
                        state = tuple(where(m, n, s) for n, s in zip(new, state))
                        ys[t] = where(m, new[0], np.zeros((), new[0].dtype))
                outputs.append(stack(ys, 0))
                finals.append(state)
            layer_input = outputs[0] if D == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = [stack([f[i] for f in finals], 0) for i in range(len(self.kind.states))]
        if not batched:
            output, h_n = output.squeeze(1), [h.squeeze(1) for h in h_n]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (tuple(h_n) if len(h_n) > 1 else h_n[0])

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN memory-layout call: nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
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


_LAYER_DOC = """{title}

    Args:
        input_size: the number of features of each input step x_t.
        hidden_size: the number of features of the hidden state h_t.
        num_layers: stacked layers; layer l > 0 reads layer l-1's outputs.  Default 1.
        {extra}bias: if False, no ``bias_ih_l*`` / ``bias_hh_l*``.  Default True.
        batch_first: if True, input and output are (batch, seq, feature).  Default False.
        dropout: dropout probability on the outputs of every layer but the last.  Default 0.
        bidirectional: if True, a second direction reads the sequence backwards; outputs of the
            two are concatenated (feature size 2 * hidden_size).  Default False.

    Inputs: ``input, {state_in}`` and optionally ``lengths=``
        input: (L, N, input_size), or (N, L, input_size) with ``batch_first``, or (L, input_size)
            unbatched; or a ``PackedSequence``.
        h_0: (D * num_layers, N, hidden_size) (no batch axis if unbatched), zeros if not given.{c_in}
        lengths: one int per sequence (1..L): the valid prefix of each padded sequence.

    Outputs: ``output, {state_out}``
        output: (L, N, D * hidden_size) (batch first if ``batch_first``), h_t of the last layer
            for every t (zero past a sequence's length); a ``PackedSequence`` for packed input.
        h_n: (D * num_layers, N, hidden_size), each sequence's final hidden state per layer and direction.{c_out}

    Parameters (D = 2 if bidirectional else 1; G = {gates}; suffix ``_reverse`` for the backward direction):
        weight_ih_l[k]: (G * hidden_size, input_size) for k = 0, else (G * hidden_size, D * hidden_size)
        weight_hh_l[k]: (G * hidden_size, hidden_size)
        bias_ih_l[k], bias_hh_l[k]: (G * hidden_size,)
    All are drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """


def _layer_doc(title: str, kind: _Kind, extra: str = "") -> str:
    """The PyTorch-style reference text of a recurrent layer (one template for RNN, LSTM and GRU)."""
    lstm = len(kind.states) == 2
    return _LAYER_DOC.format(
        title=title, extra=extra, gates=kind.gates,
        state_in="(h_0, c_0)" if lstm else "h_0", state_out="(h_n, c_n)" if lstm else "h_n",
        c_in="\n        c_0: the cell state, same shape." if lstm else "",
        c_out="\n        c_n: the final cell states, same shape." if lstm else "")


class RNN(_RecurrentBase):
    __doc__ = _layer_doc("Elman RNN over a sequence:  h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)  (or relu).",
                         _KINDS["RNN_TANH"], "nonlinearity: 'tanh' (default) or 'relu'.\n        ")
    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         nonlinearity=nonlinearity)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RecurrentBase):
    __doc__ = _layer_doc("Long short-term memory over a sequence (gate order i, f, g, o; equations in ``lstm_step``).",
                         _KINDS["LSTM"]) + """
    proj_size (default 0): if > 0, h_t = W_hr (o_t * tanh(c_t)) has proj_size features: then h_0, h_n
    and the output have proj_size (not hidden_size) features, c keeps hidden_size, weight_hh_l[k] is
    (4 * hidden_size, proj_size), layers k > 0 read D * proj_size features, and each layer and
    direction has weight_hr_l[k]: (proj_size, hidden_size), from the same uniform distribution.
    """
    mode = "LSTM"


class GRU(_RecurrentBase):
    __doc__ = _layer_doc("Gated recurrent unit over a sequence (gate order r, z, n; equations in ``gru_step``).",
                         _KINDS["GRU"])
    mode = "GRU"
