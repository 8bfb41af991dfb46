"""Gradient clipping, the usual guard against exploding gradients in RNNs."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ...tensor import Tensor, _number_arg


def _with_grads(parameters: Iterable[Tensor] | Tensor, op: str) -> list[Tensor]:
    if not isinstance(parameters, Tensor) and not hasattr(parameters, "__iter__"):
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors (model.parameters()), "
                        f"got {type(parameters).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, got {type(p).__name__} at position {i}")
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``; returns the norm before."""
    if max_norm != float("inf"):                 # inf: measure the norm, clip nothing
        _number_arg("clip_grad_norm_", "max_norm", max_norm, 0)
    if norm_type != float("inf"):
        _number_arg("clip_grad_norm_", "norm_type", norm_type, 0, lo_ok=False)
    params = _with_grads(parameters, "clip_grad_norm_")
    if not params:
        return 0.0
    if norm_type == float("inf"):
        total = max(float(np.abs(p.grad.array).max()) for p in params)
    else:
        total = float(sum(float(np.sum(np.abs(p.grad.array.astype(np.float64)) ** norm_type))
                          for p in params) ** (1 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in params:
            p.grad = Tensor._wrap(p.grad.array * p.grad.array.dtype.type(scale))
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value]."""
    _number_arg("clip_grad_value_", "clip_value", clip_value, 0)
    for p in _with_grads(parameters, "clip_grad_value_"):
        p.grad = Tensor._wrap(np.clip(p.grad.array, -clip_value, clip_value))
