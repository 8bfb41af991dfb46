"""Gradient clipping, the usual guard against exploding gradients in RNNs."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..._args import number_arg
from ...tensor import Tensor


def _with_grads(parameters: Iterable[Tensor] | Tensor, op: str) -> list[Tensor]:
    if not isinstance(parameters, Tensor) and not hasattr(parameters, "__iter__"):
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors (model.parameters()), "
                        f"got {type(parameters).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, got {type(p).__name__} at position {i}")
    return [p for p in params if p.grad is not None]


def _vector_norm(a: np.ndarray, norm_type: float) -> float:
    """The norm_type-norm of ``a`` flattened, in float64: (sum |a|^p)^(1/p); inf: max |a|; 0: count of non-zeros."""
    if a.size == 0:
        return 0.0
    return float(np.linalg.norm(a.reshape(-1).astype(np.float64, copy=False), ord=norm_type))


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``; returns the norm before.

    As PyTorch: the total norm is the ``norm_type``-norm of the vector of each
    gradient's ``norm_type``-norm (for finite p, the p-norm of all gradient
    elements together; for ``inf``, the largest |element|).  If
    ``max_norm / (total + 1e-6) < 1`` every gradient is multiplied by it, keeping
    its dtype (float32 stays float32).  Returned as a Python float.
    """
    if max_norm != float("inf"):                 # inf: measure the norm, clip nothing
        number_arg("clip_grad_norm_", "max_norm", max_norm, 0)
    if isinstance(norm_type, str):               # PyTorch takes 'inf' (anything float() reads)
        try:
            norm_type = float(norm_type)
        except ValueError:
            raise ValueError(f"clip_grad_norm_: norm_type must be a number or 'inf', got {norm_type!r}") from None
    if norm_type not in (float("inf"), -float("inf")):
        number_arg("clip_grad_norm_", "norm_type", norm_type)
    params = _with_grads(parameters, "clip_grad_norm_")
    if not params:
        return 0.0
    norm_type = float(norm_type)
    total = _vector_norm(np.array([_vector_norm(p.grad.array, norm_type) for p in params]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in params:
            g = p.grad.array
            p.grad = Tensor._wrap(g * g.dtype.type(scale))
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value]."""
    number_arg("clip_grad_value_", "clip_value", clip_value, 0)
    for p in _with_grads(parameters, "clip_grad_value_"):
        p.grad = Tensor._wrap(np.clip(p.grad.array, -clip_value, clip_value))
