"""Gradient clipping, the usual guard against exploding gradients in RNNs."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ...tensor import Tensor


def _with_grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their joint norm is at most ``max_norm``; returns the norm before."""
    params = _with_grads(parameters)
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
    for p in _with_grads(parameters):
        p.grad = Tensor._wrap(np.clip(p.grad.array, -clip_value, clip_value))
