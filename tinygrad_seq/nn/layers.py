"""Feed-forward layers: Linear, Embedding, Dropout, LayerNorm, Identity, and activations as modules."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._args import bool_arg, int_arg, is_int, number_arg
from .._state import State
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter


def _uniform_param(shape: tuple, bound: float) -> Parameter:
    """A new parameter drawn from U(-bound, bound) with the seeded generator, in the default dtype."""
    return Parameter(State.rng.uniform(-bound, bound, size=shape).astype(State.default_dtype))


class Linear(Module):
    """y = x W^T + b;  W: (out_features, in_features), both drawn from U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        in_features, out_features = int_arg("Linear", "in_features", in_features), \
            int_arg("Linear", "out_features", out_features)
        bool_arg("Linear", "bias", bias)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = _uniform_param((out_features, in_features), bound)
        self.register_parameter("bias", _uniform_param((out_features,), bound) if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors looked up by integer index; weights drawn from N(0, 1)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        num_embeddings = int_arg("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = int_arg("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None and (not is_int(padding_idx) or not -num_embeddings <= padding_idx < num_embeddings):
            raise ValueError(f"Embedding: padding_idx must be an integer in [-{num_embeddings}, {num_embeddings}) "
                             f"(num_embeddings), got {padding_idx!r}")
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        w = State.rng.standard_normal((num_embeddings, embedding_dim)).astype(State.default_dtype)
        if padding_idx is not None:
            w[padding_idx] = 0
        self.weight = Parameter(w)

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """Zero elements with probability p while training (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = number_arg("Dropout", "p", p, 0, 1)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class LeakyReLU(Module):
    """max(0, x) + negative_slope * min(0, x)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = number_arg("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x * Phi(x); ``approximate='tanh'`` uses the tanh form (see ``F.gelu``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments, as PyTorch's."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes, then scale and shift elementwise.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, with the biased variance;
    ``weight`` starts at ones and ``bias`` at zeros (both of ``normalized_shape``),
    absent when ``elementwise_affine=False`` (``bias=False`` drops only the bias).
    Input (*, *normalized_shape), output of the same shape.
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        super().__init__()
        ns = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        ns = tuple(int_arg("LayerNorm", "normalized_shape", n, 1) for n in ns)
        if not ns:
            raise ValueError("LayerNorm: normalized_shape must name at least one dimension, got ()")
        number_arg("LayerNorm", "eps", eps, 0)
        bool_arg("LayerNorm", "elementwise_affine", elementwise_affine)
        self.normalized_shape, self.eps, self.elementwise_affine = ns, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(ns, dtype=State.default_dtype))
            self.register_parameter("bias", Parameter(np.zeros(ns, dtype=State.default_dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = int_arg(type(self).__name__, "dim", dim, None)

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(self.dim)


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    def __init__(self, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        int_arg("CrossEntropyLoss", "ignore_index", ignore_index, None)
        number_arg("CrossEntropyLoss", "label_smoothing", label_smoothing, 0, 1)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.ignore_index = int_arg("NLLLoss", "ignore_index", ignore_index, None)

    def forward(self, log_probs: Tensor, target: Any) -> Tensor:
        return F.nll_loss(log_probs, target, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class CTCLoss(_Loss):
    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction)
        self.blank = int_arg("CTCLoss", "blank", blank, 0)
        self.zero_infinity = bool_arg("CTCLoss", "zero_infinity", zero_infinity)

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                          self.zero_infinity)
