"""SGD, Adam, AdamW, RMSprop and Adagrad, with PyTorch's update rules and defaults.

Notation per step t (starting at 1): g the gradient, p the parameter, lr the
learning rate, wd the weight decay.  Each ``_update`` is the rule as written
in PyTorch's documentation, on numpy arrays, in place.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .._args import number_arg
from .optimizer import Optimizer


class SGD(Optimizer):
    """g += wd p;  b = g (t = 1) or  mu b + (1 - dampening) g;  g = g + mu b (nesterov) or b;  p -= lr g"""

    _limits = {**Optimizer._limits, "dampening": (-math.inf, math.inf, False)}
    _flags = ("nesterov",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        self._check(dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _update(self, p, grad, state, group):
        mu, wd = group["momentum"], group["weight_decay"]
        if wd:
            grad = grad + wd * p.array
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * grad
            grad = grad + mu * buf if group["nesterov"] else buf
        p.array -= group["lr"] * grad


class Adam(Optimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)

    With amsgrad, v is replaced by its running maximum in the denominator.
    Adam adds wd p to g; AdamW instead decays p by (1 - lr wd) first.
    """
    decoupled = False
    _flags = ("amsgrad",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=self._betas(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _betas(self, betas: Any, where: str = "") -> tuple:
        name = type(self).__name__
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair of numbers (beta1, beta2) in [0, 1), got {betas!r}{where}")
        for i, b in enumerate(betas):
            number_arg(name, f"betas[{i}]", b)
            if not 0 <= b < 1:
                raise ValueError(f"{name}: betas must be in [0, 1), got {tuple(betas)!r}{where} "
                                 f"(Invalid beta parameter at index {i}: {b})")
        return (float(betas[0]), float(betas[1]))

    def _check(self, group, where=""):
        super()._check(group, where)
        if "betas" in group:
            group["betas"] = self._betas(group["betas"], where)

    def _update(self, p, grad, state, group):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd:
            if self.decoupled:
                p.array *= 1 - lr * wd
            else:
                grad = grad + wd * p.array
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.array)
            state["exp_avg_sq"] = np.zeros_like(p.array)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.array)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
        p.array -= (lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr wd, then the Adam step (default wd = 0.01)."""
    decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """v = a v + (1-a) g^2;  (centered: m = a m + (1-a) g, v~ = v - m^2);  d = sqrt(v~) + eps;
    p -= lr g / d, or with momentum  b = mu b + g / d;  p -= lr b"""

    _limits = {**Optimizer._limits, "alpha": (0.0, 1.0, True)}
    _flags = ("centered",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _update(self, p, grad, state, group):
        a, eps, wd, mu = group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if wd:
            grad = grad + wd * p.array
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.array)
            if mu:
                state["momentum_buffer"] = np.zeros_like(p.array)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.array)
        state["step"] += 1
        v = state["square_avg"]
        v *= a
        v += (1 - a) * grad * grad
        if group["centered"]:
            m = state["grad_avg"]
            m *= a
            m += (1 - a) * grad
            avg = np.sqrt(v - m * m) + eps
        else:
            avg = np.sqrt(v) + eps
        if mu:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += grad / avg
            p.array -= group["lr"] * buf
        else:
            p.array -= group["lr"] * grad / avg


class Adagrad(Optimizer):
    """s += g^2;  p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(s) + eps)"""

    _limits = {**Optimizer._limits, "lr_decay": (0.0, math.inf, True),
               "initial_accumulator_value": (0.0, math.inf, True)}

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _update(self, p, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.array
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.array, group["initial_accumulator_value"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        p.array -= clr * grad / (np.sqrt(state["sum"]) + group["eps"])
