"""Attention and the Transformer, composed only of the engine's primitive ops.

Scaled dot-product attention over queries Q (L, E), keys K (S, E) and values V (S, Ev):

    scores  = Q K^T * scale + M          scale = 1 / sqrt(E),  M = 0 where allowed, -inf where masked
    weights = softmax(scores)            each query's distribution over the S keys (rows sum to 1)
    out     = weights V                  (L, Ev): every output reads every allowed input in one step

Multi-head attention projects the inputs, runs that on ``num_heads`` slices of
the features side by side and projects the concatenation back:

    head_i = attention(Q W_q,i, K W_k,i, V W_v,i)        out = cat(head_1 .. head_h) W_o^T + b_o

A Transformer encoder layer is attention and a two-layer feed-forward network,
each with a residual connection and a LayerNorm (after it, or before with
``norm_first=True``); the decoder layer adds attention over the encoder's output.
Names, shapes, defaults, masks and parameter names follow PyTorch's
``torch.nn.MultiheadAttention`` and ``torch.nn.Transformer*`` so that state
dicts move both ways.  As in ``recurrent.py``, there is no backward code here:
the gradients come from ``backward()`` through the primitives.
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import Any, Callable

import numpy as np

from ..functions import cat
from .._args import ShapeError, bool_arg, check_device, int_arg, number_arg
from .._state import State, is_grad_enabled
from ..tensor import Tensor, where
from . import functional as F
from . import init
from .layers import Dropout, LayerNorm, Linear
from .module import Module, ModuleList, Parameter

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "MultiheadAttention",
           "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]


# ---------------------------------------------------------------------------
# masks: every mask becomes an additive one (0 = allowed, -inf = masked)
# ---------------------------------------------------------------------------

def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _additive_mask(name: str, mask: Any, dtype: np.dtype, true_means_masked: bool) -> Tensor | None:
    """A boolean mask -> 0 / -inf in ``dtype``; a float mask is added as it is (PyTorch's ``_canonical_mask``).

    ``nn.MultiheadAttention`` and the Transformer layers mask where a boolean is True;
    ``scaled_dot_product_attention`` keeps where it is True.
    """
    if mask is None:
        return None
    m = _as_tensor(mask)
    if m.dtype == np.bool_:
        masked = m.array if true_means_masked else ~m.array
        return Tensor._wrap(np.where(masked, -np.inf, 0.0).astype(dtype))
    if m.dtype.kind != "f":
        raise TypeError(f"{name}: only bool and floating types of masks are supported, got dtype {m.dtype}")
    return m if m.requires_grad or m.dtype == dtype else Tensor._wrap(m.array.astype(dtype))


def _safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last axis, but a row whose scores are all -inf (every key masked) gets weights 0.

    PyTorch's ``scaled_dot_product_attention`` does the same (its output there is 0, not nan).  The
    masked rows are set to 0 before the softmax too, so no 0/0 is ever formed, in forward or backward.
    """
    dead = np.all(scores.array == -np.inf, axis=-1, keepdims=True)
    if not dead.any():
        return scores.softmax(-1)
    return where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))


def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float, scale: float,
            safe: bool) -> tuple[Tensor, Tensor]:
    """out = softmax(Q K^T * scale + M) V over the last two axes; returns (out, weights)."""
    scores = (q * scale) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    weights = _safe_softmax(scores) if safe else scores.softmax(-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + M) V, PyTorch's ``F.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).  ``attn_mask``
    broadcastable to (..., L, S): boolean (True = may attend) or float (added to the scores).
    ``is_causal``: query i attends to keys 0..i (a top-left lower triangle).  ``scale``
    defaults to 1/sqrt(E).  ``dropout_p`` drops attention weights (always, as PyTorch's
    function does; pass 0 in evaluation).  A query whose keys are all masked gets output 0.
    ``enable_gqa``: key and value may have fewer heads (dim -3) than the query, shared by
    groups of query heads.
    """
    q, k, v = (_as_tensor(t) for t in (query, key, value))
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ShapeError(f"scaled_dot_product_attention: query, key and value need at least 2 dimensions "
                         f"(..., L, E), got shapes {q.shape}, {k.shape} and {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query (..., L, E) {q.shape}, key (..., S, E) {k.shape} "
                         f"and value (..., S, Ev) {v.shape} do not fit together")
    number_arg("scaled_dot_product_attention", "dropout_p", dropout_p, 0, 1)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: an explicit attn_mask should not be set when "
                           "is_causal=True")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        k, v = _repeat_heads(k, q.shape[-3]), _repeat_heads(v, q.shape[-3])
    L, S = q.shape[-2], k.shape[-2]
    mask = _additive_mask("scaled_dot_product_attention", attn_mask, q.dtype, true_means_masked=False)
    if is_causal:
        mask = _causal_mask(L, S, q.dtype)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return _attend(q, k, v, mask, dropout_p, scale, safe=True)[0]


def _causal_mask(L: int, S: int, dtype: np.dtype) -> Tensor:
    """0 on and below the diagonal, -inf above: query i sees keys 0..i."""
    return Tensor._wrap(np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf).astype(dtype))


def _repeat_heads(t: Tensor, heads: int) -> Tensor:
    """(..., Hk, S, E) -> (..., heads, S, E), each key head shared by heads // Hk query heads in a row."""
    hk = t.shape[-3]
    if heads % hk:
        raise ShapeError(f"scaled_dot_product_attention: with enable_gqa the query's {heads} heads must be a "
                         f"multiple of the key's and value's {hk}")
    lead = t.shape[:-3]
    t = t.unsqueeze(-3).expand(*lead, hk, heads // hk, *t.shape[-2:])
    return t.reshape(*lead, heads, *t.shape[-2:])


# ---------------------------------------------------------------------------
# multi-head attention
# ---------------------------------------------------------------------------

def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Any = None, need_weights: bool = True,
                                 attn_mask: Any = None, use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
                                 static_v: Tensor | None = None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """PyTorch's ``F.multi_head_attention_forward`` (its arguments, in its order) for inputs (L, N, E) /
    (S, N, Ek) or unbatched (L, E).

    ``static_k``/``static_v`` (N * num_heads, S', E / num_heads) replace the projected keys/values.
    Returns (output (L, N, E), weights (N, L, S) averaged over heads, (N, heads, L, S),
    or None when ``need_weights=False``).
    """
    name = "MultiheadAttention"
    batched = query.ndim == 3
    _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, batched)
    if not batched:                                        # (L, E) -> (L, 1, E)
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = _as_tensor(key_padding_mask).unsqueeze(0)
    L, N, E = query.shape
    if E != embed_dim_to_check or E % num_heads:
        raise ShapeError(f"MultiheadAttention: the query has {E} features; expected embed_dim {embed_dim_to_check}, "
                         f"divisible by num_heads {num_heads}")
    H, hd = num_heads, E // num_heads
    dtype = query.dtype
    kpm = _additive_mask(name, key_padding_mask, dtype, true_means_masked=True)
    if is_causal and attn_mask is None:
        raise RuntimeError("MultiheadAttention: is_causal is a hint that attn_mask is the causal mask; pass the "
                           "mask too (nn.Transformer.generate_square_subsequent_mask(L) makes it)")
    if is_causal and kpm is None and not need_weights:
        mask = None                                        # the hint is used as is, as in PyTorch
    else:
        mask = _additive_mask(name, attn_mask, dtype, true_means_masked=True)
        is_causal = is_causal and kpm is None

    # projections: q = query W_q^T + b_q, k = key W_k^T + b_k, v = value W_v^T + b_v
    b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise ValueError(f"{name}: use_separate_proj_weight is False but in_proj_weight is None")
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{name}: use_separate_proj_weight is True but q/k/v_proj_weight is None")
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    if mask is not None:                                   # (L, S) or (N * H, L, S) -> (N or 1, H or 1, L, S)
        mask = mask.reshape(1, 1, L, -1) if mask.ndim == 2 else mask.reshape(N, H, L, -1)
    if bias_k is not None and bias_v is not None:          # one more key and value, learned
        k = cat([k, bias_k.expand(1, N, E)])
        v = cat([v, bias_v.expand(1, N, E)])
        mask, kpm = _pad_last(mask), _pad_last(kpm)
    elif (bias_k is None) != (bias_v is None):
        raise ValueError(f"{name}: bias_k and bias_v must both be set or both be None")

    def heads(t: Tensor) -> Tensor:                        # (S, N, E) -> (N, H, S, hd)
        return t.reshape(t.shape[0], N, H, hd).permute(1, 2, 0, 3)

    q, k, v = heads(q), heads(k), heads(v)
    if static_k is not None:                               # given keys/values per (batch, head), already projected
        k = _as_tensor(static_k).reshape(N, H, -1, hd)
    if static_v is not None:
        v = _as_tensor(static_v).reshape(N, H, -1, hd)
    if add_zero_attn:                                      # one more key and value, all zeros
        zeros = Tensor._wrap(np.zeros((N, H, 1, hd), dtype=k.dtype))
        k, v = cat([k, zeros], dim=2), cat([v, zeros], dim=2)
        mask, kpm = _pad_last(mask), _pad_last(kpm)
    S = k.shape[2]
    if kpm is not None:
        if kpm.shape != (N, S):
            raise ShapeError(f"{name}: key_padding_mask should have shape ({N}, {S}) (batch, source length), "
                             f"got {kpm.shape}")
        kpm = kpm.reshape(N, 1, 1, S)
        mask = kpm if mask is None else mask + kpm
    if is_causal and mask is None:
        mask = _causal_mask(L, S, dtype)
    if not training:
        dropout_p = 0.0

    # each head attends on its own slice: (N, H, L, hd); a fully masked row gives nan with the weights
    # returned (PyTorch's explicit softmax) and 0 without (PyTorch's scaled_dot_product_attention)
    out, weights = _attend(q, k, v, mask, dropout_p, 1 / math.sqrt(hd), safe=not need_weights)
    out = out.permute(2, 0, 1, 3).reshape(L, N, E)         # concatenate the heads
    out = F.linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    if average_attn_weights:
        weights = weights.mean(1)
    return (out, weights) if batched else (out.squeeze(1), weights.squeeze(0))


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """One more column of 0 (allowed) at the end of the last axis."""
    if mask is None:
        return None
    return cat([mask, Tensor._wrap(np.zeros(mask.shape[:-1] + (1,), dtype=mask.dtype))], dim=-1)


def _check_shapes(query: Tensor, key: Tensor, value: Tensor, kpm: Any, attn_mask: Any, num_heads: int,
                  batched: bool) -> None:
    """PyTorch's ``_mha_shape_check``: all batched (3-d) or all unbatched (2-d), masks to match."""
    shapes = f"query {query.shape}, key {key.shape}, value {value.shape}"
    want = 3 if batched else 2
    if query.ndim not in (2, 3) or key.ndim != want or value.ndim != want:
        raise ShapeError(f"MultiheadAttention: query, key and value must all be 3-d (batched) or all 2-d "
                         f"(unbatched), got {shapes}")
    if kpm is not None and _as_tensor(kpm).ndim != want - 1:
        raise ShapeError(f"MultiheadAttention: key_padding_mask must be {want - 1}-d for {want}-d inputs, got "
                         f"shape {_as_tensor(kpm).shape}")
    if key.shape[:-1] != value.shape[:-1]:
        raise ShapeError(f"MultiheadAttention: key and value must have the same sequence and batch sizes, got "
                         f"{shapes}")
    if attn_mask is not None:
        m = _as_tensor(attn_mask)
        L, S = query.shape[0], key.shape[0]
        n = query.shape[1] * num_heads if batched else num_heads
        if not ((m.ndim == 2 and m.shape == (L, S)) or (m.ndim == 3 and m.shape == (n, L, S))):
            raise ShapeError(f"MultiheadAttention: attn_mask must have shape ({L}, {S}) or ({n}, {L}, {S}) "
                             f"((batch *) num_heads, target length, source length), got {m.shape}")


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for the output projection of ``MultiheadAttention``: a plain ``Linear``."""


class MultiheadAttention(Module):
    """Multi-head attention, PyTorch's ``nn.MultiheadAttention`` (its arguments, parameters and shapes).

    Parameters: ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v (xavier-uniform), or
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when
    kdim/vdim differ from E; ``in_proj_bias`` (3E,) (zeros); ``out_proj`` a Linear(E, E)
    with zero bias; ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``.
    forward(query, key, value) with (L, N, E) inputs ((N, L, E) with ``batch_first``, (L, E)
    unbatched) returns (output like query, weights (N, L, S) or None).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None):
        super().__init__()
        if device is not None:
            check_device(device)
        embed_dim = int_arg("MultiheadAttention", "embed_dim", embed_dim, 1)
        num_heads = int_arg("MultiheadAttention", "num_heads", num_heads, 1)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else int_arg("MultiheadAttention", "kdim", kdim, 1)
        self.vdim = embed_dim if vdim is None else int_arg("MultiheadAttention", "vdim", vdim, 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = number_arg("MultiheadAttention", "dropout", dropout, 0, 1)
        self.batch_first = bool_arg("MultiheadAttention", "batch_first", batch_first)
        self.add_zero_attn = bool_arg("MultiheadAttention", "add_zero_attn", add_zero_attn)
        for flag in ("bias", "add_bias_kv"):
            bool_arg("MultiheadAttention", flag, locals()[flag])
        dt = State.default_dtype if dtype is None else np.dtype(dtype)
        E = embed_dim
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(np.empty((E, E), dtype=dt))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), dtype=dt))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), dtype=dt))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * E, dtype=dt)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, E), dtype=dt))
            self.bias_v = Parameter(np.empty((1, 1, E), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        if dtype is not None:
            self.out_proj.to(dt)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` (L, N, E) to ``key`` (S, N, kdim) / ``value`` (S, N, vdim) (batch first:
        (N, L, E); unbatched: (L, E)).

        ``key_padding_mask`` (N, S): True (or -inf) = a padded key nobody attends to.  ``attn_mask``
        (L, S) or (N * num_heads, L, S): True (or -inf) = not allowed, floats are added to the scores.
        ``is_causal`` is a hint that ``attn_mask`` is the causal mask.  Returns (output like query,
        weights (N, L, S) averaged over heads, (N, num_heads, L, S), or None with ``need_weights=False``).
        """
        query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
        batched = query.ndim == 3
        if self.batch_first and batched:                   # (N, L, E) -> (L, N, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.ndim in (2, 3) and query.shape[-1] != self.embed_dim:
            raise ShapeError(f"MultiheadAttention: query has {query.shape[-1]} features, embed_dim is "
                             f"{self.embed_dim}")
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.bias_k,
            self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


# ---------------------------------------------------------------------------
# the Transformer
# ---------------------------------------------------------------------------

def _activation(name: str, activation: Any) -> Callable[[Tensor], Tensor]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str) or not callable(activation):
        raise ValueError(f"{name}: activation should be relu/gelu or a callable, not {activation!r}")
    return activation


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each added to its input and normalised:

        x = norm1(x + dropout1(self_attn(x, x, x)))                        (norm_first=False)
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))
    or, with ``norm_first=True``, x = x + block(norm(x)) for each of the two.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            device=device, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = bool_arg("TransformerEncoderLayer", "norm_first", norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation("TransformerEncoderLayer", activation)
        if dtype is not None:
            self.to(dtype)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        """src (S, N, E) ((N, S, E) batch first, (S, E) unbatched) -> the same shape; masks as MultiheadAttention's."""
        x = _as_tensor(src)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention over the encoder's output (``memory``), feed-forward:

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(multihead_attn(x, memory, memory)))
        x = norm3(x + dropout3(linear2(dropout(activation(linear1(x))))))
    or x = x + block(norm(x)) for each with ``norm_first=True``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            device=device, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = bool_arg("TransformerDecoderLayer", "norm_first", norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation("TransformerDecoderLayer", activation)
        if dtype is not None:
            self.to(dtype)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        """tgt (T, N, E) and the encoder's output memory (S, N, E) -> (T, N, E) (batch first: N first)."""
        x, memory = _as_tensor(tgt), _as_tensor(memory)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(module: Module, n: int) -> ModuleList:
    """n independent copies (PyTorch's ``_get_clones``: every copy starts with the same values)."""
    return ModuleList([copy.deepcopy(module) for _ in range(int_arg("Transformer", "num_layers", n, 1))])


def _seq_len(src: Tensor, batch_first: bool) -> int:
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: Any, is_causal: bool | None, size: int) -> bool:
    """PyTorch's rule: an explicit ``is_causal`` wins; otherwise a mask equal to the causal one counts as causal."""
    if is_causal is not None:
        return is_causal is True
    if mask is None:
        return False
    m = _as_tensor(mask).array
    causal = np.triu(np.ones((size, size), dtype=bool), 1)
    if m.dtype != np.bool_:
        causal = np.where(causal, -np.inf, 0.0)
    return m.shape == causal.shape and bool(np.all(m == causal))


def _padding(kpm: Any) -> np.ndarray:
    """Where a key padding mask pads: True, or a nonzero float (PyTorch's ``logical_not`` of it is False)."""
    pad = _as_tensor(kpm).array
    return pad if pad.dtype == np.bool_ else pad != 0


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    ``enable_nested_tensor`` is accepted: in evaluation without gradients, with a batch-first
    layer and a ``src_key_padding_mask`` (and no ``mask``), PyTorch's fast path runs on the
    unpadded sequences and returns 0 at the padded positions; this does the same, from the
    ordinary computation.
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor = self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = ""
        if not isinstance(encoder_layer, TransformerEncoderLayer):
            why_not = "encoder_layer was not TransformerEncoderLayer"
        elif encoder_layer.norm_first:
            why_not = "encoder_layer.norm_first was True"
        elif not encoder_layer.self_attn.batch_first:
            why_not = ("encoder_layer.self_attn.batch_first was not True(use batch_first for better inference "
                       "performance)")
        elif encoder_layer.self_attn.in_proj_bias is None:
            why_not = "encoder_layer.self_attn was passed bias=False"
        elif encoder_layer.activation not in (F.relu, F.gelu):
            why_not = "encoder_layer.activation_relu_or_gelu was not True"
        elif encoder_layer.norm1.eps != encoder_layer.norm2.eps:
            why_not = "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"
        elif encoder_layer.self_attn.num_heads % 2 == 1:
            why_not = "encoder_layer.self_attn.num_heads is odd"
        if enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                          stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        """Every layer in turn with the same masks; ``is_causal=None`` detects a causal ``mask`` as PyTorch does."""
        src = _as_tensor(src)
        first = self.layers[0]
        batch_first = first.self_attn.batch_first
        if mask is not None and _as_tensor(mask).dtype == np.bool_:
            mask = _additive_mask("TransformerEncoder", mask, src.dtype, true_means_masked=True)
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self._nested_fast_path(src, mask, src_key_padding_mask):
            output = where(_padding(src_key_padding_mask)[:, :, None], 0.0, output)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def _nested_fast_path(self, src: Tensor, mask: Any, kpm: Any) -> bool:
        """When PyTorch would run on nested (unpadded) tensors and give 0 at the padded positions."""
        if not self.use_nested_tensor or self.layers[0].training or src.ndim != 3 or kpm is None or mask is not None:
            return False
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in self.layers[0].parameters())):
            return False
        keep = ~_padding(kpm)                              # left-aligned: every row is True... then False...
        return bool(np.all(keep[:, 1:] <= keep[:, :-1]))


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn (each reading ``memory``), then ``norm``."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        """Every layer in turn, each reading ``memory``; ``tgt_is_causal=None`` detects a causal ``tgt_mask``."""
        output = _as_tensor(tgt)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal,
                                               _seq_len(output, self.layers[0].self_attn.batch_first))
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", PyTorch's ``nn.Transformer``.

    forward(src (S, N, E), tgt (T, N, E)) -> (T, N, E) (batch first with ``batch_first=True``).
    Every parameter with more than one dimension is drawn xavier-uniform, as PyTorch does.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Any = "relu", custom_encoder: Any = None, custom_decoder: Any = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device: Any = None, dtype: Any = None):
        super().__init__()
        if device is not None:
            check_device(device)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, LayerNorm(d_model, eps=layer_norm_eps,
                                                                                   bias=bias))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, LayerNorm(d_model, eps=layer_norm_eps,
                                                                                   bias=bias))
        if dtype is not None:
            self.to(dtype)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Any = None, tgt_mask: Any = None, memory_mask: Any = None,
                src_key_padding_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        """Encode ``src``, then decode ``tgt`` reading the encoding; the masks go to the matching attention."""
        src, tgt = _as_tensor(src), _as_tensor(tgt)
        if src.ndim == 3 and src.shape[0 if self.batch_first else 1] != tgt.shape[0 if self.batch_first else 1]:
            raise ShapeError(f"Transformer: the batch number of src and tgt must be equal, got shapes {src.shape} "
                             f"and {tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature number of src and tgt must be equal to d_model "
                             f"({self.d_model}), got shapes {src.shape} and {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """(sz, sz) float mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
        sz = int_arg("generate_square_subsequent_mask", "sz", sz)
        dt = State.default_dtype if dtype is None else np.dtype(dtype)
        return Tensor._wrap(np.triu(np.full((sz, sz), -np.inf, dtype=dt), 1))

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
