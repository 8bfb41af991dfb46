"""Losses and functional forms, all composed of the engine's primitive ops.

None of these has gradient code: their gradients come from ``backward()``
through the primitives they are written in.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..functions import cat, leaky_relu, log_softmax, logsumexp, relu, sigmoid, softmax, softplus, stack, tanh  # noqa: F401
from .. import ops as _ops
from ..functions import _t
from ..functions import pad as _pad
from .._args import bool_arg, int_arg, number_arg
from .._state import mark_modified
from ..tensor import ShapeError, Tensor, to_array, where

__all__ = [
    "linear", "embedding", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "ctc_loss", "softmax", "log_softmax", "logsumexp", "dropout",
    "one_hot", "relu", "sigmoid", "tanh", "softplus", "pad", "leaky_relu", "gelu", "layer_norm",
    "scaled_dot_product_attention", "multi_head_attention_forward",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _int_array(name: str, what: str, x: Any) -> np.ndarray:
    arr = np.asarray(x.array if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: {what} must be integers (class indices), got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _index_tensor(given: Any, arr: np.ndarray) -> Tensor:
    """Integer indices as an op's input: an integer Tensor as it is, or cast to int64 by an op (so ``tg.jit``
    sees the argument flow into the op), anything else as a new tensor of ``arr`` (its int64 values)."""
    if isinstance(given, Tensor) and given.array.dtype.kind in "iu":
        return given if given.array.dtype == np.int64 else _ops.Cast.apply(given, dtype=np.dtype(np.int64))
    return Tensor._wrap(arr)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    bool_arg("dropout", "training", training)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    return _ops.Dropout.apply(_t(x), p=p)          # draws its mask from the default generator (ops.py)


def one_hot(indices: Any, num_classes: int = -1) -> Tensor:
    """Integer class indices -> int64 rows with a 1 at each index (PyTorch's ``F.one_hot``; no gradient)."""
    idx = _int_array("one_hot", "indices", indices)
    if int_arg("one_hot", "num_classes", num_classes, -1) == -1 and idx.size == 0:
        raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: indices must be in [0, {num_classes}), got range [{idx.min()}, {idx.max()}]")
    return Tensor._wrap(np.eye(num_classes, dtype=np.int64)[idx])


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b, with W of shape (out_features, in_features)."""
    x, weight = _t(x), _t(weight)
    xs, ws = x.array.shape, weight.array.shape
    if len(ws) != 2 or not xs:
        raise ShapeError(f"linear: expects an input of at least 1 dimension and a 2-d weight (out_features, "
                         f"in_features), got shapes {x.shape} and {weight.shape}")
    if xs[-1] != ws[1]:
        raise ShapeError(f"linear: input has {x.shape[-1]} features (shape {x.shape}), "
                         f"but the weight expects {weight.shape[1]} (weight shape {weight.shape})")
    dt = x.array.dtype
    if bias is not None:
        bias = _t(bias)
    if dt.kind == "f" and weight.array.dtype is dt and (bias is None or bias.array.dtype is dt):
        return _ops.Linear.apply(x, weight) if bias is None else _ops.Linear.apply(x, weight, bias)   # one op
    y = x @ weight.T                    # mixed dtypes: promoted as x @ W.T + b would be
    return y if bias is None else y + bias


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices``; the padding row gets no gradient.

    ``max_norm``: first, in place and without recording (PyTorch's ``embedding_renorm_``), every
    looked-up row whose ``norm_type``-norm exceeds ``max_norm`` is scaled by
    ``max_norm / (norm + 1e-7)``; the weight changes, as in PyTorch.
    """
    idx = _int_array("embedding", "indices", indices)
    weight = _t(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape {weight.shape}")
    if scale_grad_by_freq is not False or sparse is not False:
        raise NotImplementedError("embedding: scale_grad_by_freq=True and sparse=True are not supported "
                                  "(gradients are dense and unscaled)")
    n = weight.shape[0]
    if max_norm is not None:
        number_arg("embedding", "max_norm", max_norm, 0.0)
        if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.integer, np.floating)) \
                or norm_type != norm_type:
            raise TypeError(f"embedding: norm_type must be a number (2.0, 1.0, inf, ...), got {norm_type!r}")
        _ops.Embedding.check(idx, n)                # before the weight changes
        _renorm_rows(weight, idx, max_norm, float(norm_type))
    # one op (ops.py), which reads the indices itself (and checks their range): a tensor of them is its input
    return _ops.Embedding.apply(weight, _index_tensor(indices, idx),
                                padding_idx=None if padding_idx is None else int(padding_idx) % n)


def _renorm_rows(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: rows ``idx`` of ``weight`` with norm > max_norm scaled down, in place."""
    rows = np.unique(idx)
    if not rows.size:
        return
    w = weight.array
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = max_norm / (norms[big] + 1e-7)
        w[rows[big]] *= scale[:, None].astype(w.dtype)
        mark_modified(weight)


def pad(x: Tensor, pad: tuple, value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) widths starting from the last axis."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of widths for at most {x.ndim} axes, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return _pad(x, widths, value)


# ---------------------------------------------------------------------------
# GELU and layer normalisation
# ---------------------------------------------------------------------------

# Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a1 t + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p x), x >= 0
# erf as rational approximations on four ranges (Sun's fdlibm s_erf.c, as in musl and FreeBSD; error below
# 1e-16 relative in float64), so gelu matches PyTorch's exact erf to float64 precision
_ERX = 8.45062911510467529297e-01
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(z: Tensor, coeffs: tuple) -> Tensor:
    """c0 + c1 z + c2 z^2 + ... by Horner's rule."""
    r = z * coeffs[-1] + coeffs[-2]
    for c in reversed(coeffs[:-2]):
        r = r * z + c
    return r


def _erf(x: Tensor) -> Tensor:
    """erf composed of primitive ops: fdlibm's rational approximations on |x| < 0.84375, < 1.25, < 1/0.35, < 6.

    Each range is computed on the input clamped into it (so no branch ever overflows, and a branch
    not taken gets a zero gradient, never nan), then ``where`` picks the right one; the gradient is
    that of the approximations, 2/sqrt(pi) exp(-x^2) to float64 precision.
    """
    a = x.abs()
    s = x.clamp(-0.84375, 0.84375)                       # erf(x) = x + x P(x^2) / Q(x^2)
    small = s + s * (_poly(s * s, _PP) / _poly(s * s, _QQ))
    m = a.clamp(0.84375, 1.25) - 1.0                     # erf(|x|) = erx + P(|x| - 1) / Q(|x| - 1)
    mid = _ERX + _poly(m, _PA) / _poly(m, _QA)
    b = a.clamp(1.25, 1 / 0.35)                          # erf(|x|) = 1 - exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|
    tail_b = 1.0 - (-(b * b) - 0.5625 + _poly(1.0 / (b * b), _RA) / _poly(1.0 / (b * b), _SA)).exp() / b
    c = a.clamp(1 / 0.35, 6.0)
    tail_c = 1.0 - (-(c * c) - 0.5625 + _poly(1.0 / (c * c), _RB) / _poly(1.0 / (c * c), _SB)).exp() / c
    ax = a.array
    y = where(ax < 1.25, mid, where(ax < 1 / 0.35, tail_b, tail_c))
    return where(ax < 0.84375, small, where(x.array >= 0, y, -y))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """max(0, x) + negative_slope * min(0, x), elementwise."""
    return _t(input).leaky_relu(negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """GELU(x) = x * Phi(x), Phi the standard normal CDF.

    ``approximate="none"``: 0.5 x (1 + erf(x / sqrt(2))), with erf composed of
    primitives by Abramowitz & Stegun 7.1.26 (|erf error| <= 1.5e-7, so the GELU
    error is at most 0.75e-7 |x|).  ``approximate="tanh"``:
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), as PyTorch.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _t(input)
    if approximate == "tanh":
        inner = (x + 0.044715 * (x * x * x)) * float(np.sqrt(2.0 / np.pi))
        return 0.5 * x * (1.0 + inner.tanh())
    return 0.5 * x * (1.0 + _erf(x * float(1 / np.sqrt(2.0))))


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape`` axes.

    The variance is the biased one (divides by n), as in PyTorch.
    """
    x = _t(input)
    ns = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
    ns = tuple(int_arg("layer_norm", "normalized_shape", n, 0) for n in ns)
    if not ns:
        raise ValueError("layer_norm: normalized_shape must name at least one dimension, got ()")
    if not ns or x.shape[x.ndim - len(ns):] != ns or len(ns) > x.ndim:
        raise ShapeError(f"layer_norm: expected input with trailing shape {ns}, got {x.shape}")
    axes = tuple(range(x.ndim - len(ns), x.ndim))
    if 0 in ns:                       # nothing to normalise over (LayerNorm(0)): an empty output, as in PyTorch
        y = x * 1
    else:
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True, correction=0) + eps
        if not eps:                   # a constant row has no spread: NaN as in PyTorch, without computing 0/0
            var = where(var.array == 0, np.array(np.nan, var.dtype), var)
        y = (x - mean) / var.sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# ---------------------------------------------------------------------------
# classification losses
# ---------------------------------------------------------------------------

def _class_last(logits: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): the class axis last, other axes flattened."""
    if logits.ndim <= 2:
        return logits.reshape(-1, logits.shape[-1])
    perm = (0,) + tuple(range(2, logits.ndim)) + (1,)
    return logits.permute(perm).reshape(-1, logits.shape[1])


def nll_loss(log_probs: Tensor, target: Any, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """loss_i = -log_probs[i, target_i]; "mean" averages over targets that are not ``ignore_index``."""
    _check_reduction("nll_loss", reduction)
    int_arg("nll_loss", "ignore_index", ignore_index, None)
    log_probs = _t(log_probs)
    if log_probs.ndim == 0:
        raise ShapeError("nll_loss: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...), got a 0-d "
                         "tensor")
    tgt = _int_array("nll_loss", "targets", target)
    shape = log_probs.array.shape
    expected = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if tgt.shape != expected:
        raise ShapeError(f"nll_loss: input of shape {log_probs.shape} needs targets of shape {expected}, "
                         f"got {tgt.shape}")
    if log_probs.ndim == 2 and reduction != "none" and shape[0] and log_probs.array.dtype.char in "fd":
        # one op (ops.py), which reads the targets itself: a tensor of them is its input, as it is
        return _ops.NLLLoss.apply(log_probs, _index_tensor(target, tgt), mean=reduction == "mean",
                                  ignore_index=int(ignore_index))
    C = shape[1] if len(shape) > 1 else shape[0]
    flat_t = tgt.reshape(-1)
    valid = flat_t != ignore_index
    all_valid = bool(valid.all())
    if not all_valid or flat_t.size and (flat_t.min() < 0 or flat_t.max() >= C):
        bad = flat_t[valid & ((flat_t < 0) | (flat_t >= C))]
        if bad.size:
            raise IndexError(f"nll_loss: target {int(bad[0])} is out of range for {C} classes")
    if log_probs.ndim == 2:
        lp = log_probs                              # (N, C) already: no reshape recorded
    else:
        lp = _class_last(log_probs) if log_probs.ndim > 1 else log_probs.reshape(1, -1)
    safe_t = flat_t if all_valid else np.where(valid, flat_t, 0)
    picked = -lp[np.arange(lp.shape[0]), safe_t]
    if not all_valid:
        picked = picked * Tensor._wrap(valid.astype(picked.dtype))
    if reduction == "mean":
        return picked.sum() / max(int(valid.sum()), 1) if not all_valid else picked.mean()
    if reduction == "sum":
        return picked.sum()
    return picked.reshape(tgt.shape)


def cross_entropy(logits: Tensor, target: Any, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy from logits: -log softmax(logits)[target], stable for any finite logits.

    logits (N, C) or (N, C, d1, ...); integer targets (N) or (N, d1, ...), or class
    probabilities of the logits' shape.  With label smoothing e the target is
    (1 - e) one-hot + e / C uniform.
    """
    _check_reduction("cross_entropy", reduction)
    int_arg("cross_entropy", "ignore_index", ignore_index, None)
    if number_arg("cross_entropy", "label_smoothing", label_smoothing) and not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    logits = _t(logits)
    if logits.ndim == 0:
        raise ShapeError("cross_entropy: logits must have a class dimension: (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d tensor")
    axis = 1 if logits.ndim > 1 else 0
    logp = log_softmax(logits, axis)
    tgt_arr = target.array if isinstance(target, Tensor) else np.asarray(target)
    if tgt_arr.dtype.kind == "f":                      # class probabilities
        if tgt_arr.shape != logits.shape:
            raise TypeError(f"cross_entropy: targets must be integers (class indices), or class probabilities of "
                            f"the logits' shape {logits.shape}; got {tgt_arr.dtype} of shape {tgt_arr.shape}")
        C = logits.shape[axis]
        probs = _t(target) * (1 - label_smoothing) + label_smoothing / C
        return _reduce(-(logp * probs).sum(axis=axis), reduction)
    nll = nll_loss(logp, target if isinstance(target, Tensor) else tgt_arr, ignore_index=ignore_index,
                   reduction=reduction)
    if label_smoothing == 0:
        return nll
    tgt = tgt_arr.astype(np.int64)
    valid = Tensor._wrap((tgt != ignore_index).astype(logp.dtype))
    smooth = -logp.mean(axis=axis) * valid           # e * sum_c (-log p_c) / C per position
    if reduction == "mean":
        smooth = smooth.sum() / max(float(valid.array.sum()), 1.0)
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * label_smoothing


def _pair(name: str, input: Any, target: Any, reduction: str) -> tuple[Tensor, Tensor]:  # noqa: A002
    """Check the reduction and that input and target have one shape; return both as Tensors."""
    _check_reduction(name, reduction)
    input, target = _t(input), _t(target)
    if input.shape != target.shape:
        raise ShapeError(f"{name}: input shape {input.shape} and target shape {target.shape} differ")
    return input, target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """(input - target)^2, averaged or summed."""
    input, target = _pair("mse_loss", input, target, reduction)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """|input - target|, averaged or summed."""
    input, target = _pair("l1_loss", input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs clamped at -100 as in PyTorch."""
    p, y = _pair("binary_cross_entropy", input, target, reduction)
    if p.array.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy: input must be a floating-point tensor of probabilities, got {p.dtype}")
    if p.array.size and not ((p.array >= 0) & (p.array <= 1)).all():      # (NaN fails both tests)
        bad = p.array[~((p.array >= 0) & (p.array <= 1))].flat[0]
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got {bad} "
                         "(for logits use binary_cross_entropy_with_logits)")
    return _reduce(_ops.BinaryCrossEntropy.apply(p, y.to(p.dtype)), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean",  # noqa: A002
                                     pos_weight: Any = None) -> Tensor:
    """BCE on logits x: (1 - y) x + L softplus(-x), L = 1 + (w - 1) y, stable for any finite x.

    Written per sign of x so that no two terms cancel (for x < 0, softplus(-x) = -x + softplus(x)):
    x >= 0:  (1 - y) x + L softplus(-x);    x < 0:  -w y x + L softplus(x)   (w = 1 without pos_weight).
    Both are sums of non-negative terms, so the loss is accurate to the last bit even where it is tiny.
    """
    x, y = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    if pos_weight is None:
        pos = (1 - y) * x + softplus(-x)
        neg = softplus(x) - y * x
    else:
        w = _t(pos_weight)
        try:
            np.broadcast_shapes(w.shape, x.shape)
        except ValueError:
            raise ShapeError(f"binary_cross_entropy_with_logits: pos_weight of shape {w.shape} cannot be broadcast "
                             f"to the input's shape {x.shape} (give one weight per class, the last dimension)") from None
        L = 1 + (w - 1) * y
        pos = (1 - y) * x + L * softplus(-x)
        neg = L * softplus(x) - (w * y) * x
    return _reduce(where(x.array >= 0, pos, neg), reduction)


# ---------------------------------------------------------------------------
# connectionist temporal classification
# ---------------------------------------------------------------------------

def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC: -log of the total probability of every alignment that collapses to the target.

    log_probs (T, N, C) are log-softmax outputs; targets (N, S) padded, or 1-d
    concatenated; lengths per sequence.  The forward variable over the extended
    label l' = (blank, l1, blank, l2, ..., blank) of length L = 2S + 1 is, in log space,

        alpha_0(0) = lp_0(blank),  alpha_0(1) = lp_0(l1)
        alpha_t(s) = lp_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2))

    where the s-2 term is allowed only when l'_s is not blank and l'_s != l'_{s-2};
    the loss is -logsumexp(alpha_{T-1}(L-1), alpha_{T-1}(L-2)).  Impossible
    alignments give +inf (0 with ``zero_infinity``).  "mean" divides each loss by
    its target length, then averages over the batch, as PyTorch does.
    """
    _check_reduction("ctc_loss", reduction)
    log_probs = _t(log_probs)
    if log_probs.ndim != 3:
        raise ShapeError(f"ctc_loss: log_probs must be (T, N, C), got shape {log_probs.shape}")
    T, N, C = log_probs.shape
    in_len = _int_array("ctc_loss", "input_lengths", input_lengths).reshape(-1)
    tg_len = _int_array("ctc_loss", "target_lengths", target_lengths).reshape(-1)
    tgts = _int_array("ctc_loss", "targets", targets)
    if in_len.shape != (N,) or tg_len.shape != (N,):
        raise ShapeError(f"ctc_loss: expected {N} input and target lengths, got {in_len.shape} and {tg_len.shape}")
    if (in_len < 1).any() or (in_len > T).any():
        raise ValueError(f"ctc_loss: input_lengths must be in [1, {T}], got {in_len.tolist()}")
    if (tg_len < 0).any():
        raise ValueError(f"ctc_loss: target_lengths must be non-negative, got {tg_len.tolist()}")
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: blank {blank} is not a class index in [0, {C})")
    S = int(tg_len.max()) if N else 0
    labels = np.full((N, S), blank, dtype=np.int64)
    if tgts.ndim == 1:                                  # concatenated targets
        if tgts.size != tg_len.sum():
            raise ShapeError(f"ctc_loss: 1-d targets have {tgts.size} labels but target_lengths add up to "
                             f"{tg_len.sum()}")
        offsets = np.concatenate([[0], np.cumsum(tg_len)])
        for n in range(N):
            labels[n, :tg_len[n]] = tgts[offsets[n]:offsets[n + 1]]
    else:
        if tgts.shape[0] != N or tgts.shape[1] < S:
            raise ShapeError(f"ctc_loss: targets of shape {tgts.shape} cannot hold {N} targets of lengths "
                             f"{tg_len.tolist()}")
        for n in range(N):
            labels[n, :tg_len[n]] = tgts[n, :tg_len[n]]
    used = np.concatenate([labels[n, :tg_len[n]] for n in range(N)]) if N else labels
    if used.size and ((used < 0).any() or (used >= C).any() or (used == blank).any()):
        raise ValueError(f"ctc_loss: target labels must be in [0, {C}) and not the blank {blank}")

    L = 2 * S + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    skip = np.zeros((N, L), dtype=bool)                 # may alpha(s) come from alpha(s-2)?
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    dtype = log_probs.dtype
    neg_inf = np.array(-np.inf, dtype=dtype)

    emit = log_probs[:, np.arange(N)[:, None], ext]     # (T, N, L): lp_t(l'_s), one gather
    start = np.zeros((N, L), dtype=bool)
    start[:, 0] = True
    if L > 1:
        start[:, 1] = tg_len > 0
    alpha = where(start, emit[0], neg_inf)
    pad1 = Tensor._wrap(np.full((N, 1), -np.inf, dtype=dtype))
    pad2 = Tensor._wrap(np.full((N, 2), -np.inf, dtype=dtype))
    for t in range(1, int(in_len.max())):
        prev1 = cat([pad1, alpha[:, :-1]], axis=1)
        prev2 = where(skip, cat([pad2, alpha[:, :-2]], axis=1), neg_inf) if L > 2 else pad1.expand(N, L)
        new = stack([alpha, prev1, prev2], axis=2).logsumexp(axis=2) + emit[t]
        active = (t < in_len)[:, None]
        alpha = new if active.all() else where(active, new, alpha)

    rows = np.arange(N)
    last = alpha[rows, 2 * tg_len]                                    # ends on the final blank
    before = where(tg_len > 0, alpha[rows, np.maximum(2 * tg_len - 1, 0)], neg_inf)  # or the last label
    loss = -stack([last, before], axis=1).logsumexp(axis=1)
    if zero_infinity:
        loss = where(np.isinf(loss.array), np.zeros((), dtype=dtype), loss)
    if reduction == "mean":
        return (loss / Tensor._wrap(np.maximum(tg_len, 1).astype(dtype))).mean()
    return _reduce(loss, reduction)


# attention lives in nn/attention.py (it composes the functions above); exported here as PyTorch does
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402
