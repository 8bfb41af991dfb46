"""Check analytic gradients against central finite differences, in float64.

For f: inputs -> outputs, pick a fixed random projection r of the outputs and
compare, for every element x_k of every input that requires grad,

    analytic   dL/dx_k  from L.backward(),   L = sum(f(x) * r)
    numeric    (L(x_k + eps) - L(x_k - eps)) / (2 eps)

and pass when |analytic - numeric| <= atol + rtol |numeric| everywhere.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference one; the message says where."""


def _outputs(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        flat: list[Tensor] = []
        for o in out:
            flat.extend(_outputs(o))
        return flat
    raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(out).__name__}")


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0) -> bool:
    """True if ``fn``'s gradients match finite differences; raises ``GradcheckError`` otherwise.

    Inputs that are float Tensors with ``requires_grad=True`` are checked (all float
    Tensors if none is marked).  float64 inputs are used as they are (perturbed in
    place and restored), so ``fn`` may also read them through a closure, e.g. a
    module's parameters: ``gradcheck(lambda *_: model(x)[0], [x, *model.parameters()])``.
    Other float inputs are checked through float64 copies.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    floats = [isinstance(x, Tensor) and x.dtype.kind == "f" for x in inputs]
    marked = [f and x.requires_grad for f, x in zip(floats, inputs)]
    check = marked if any(marked) else floats
    if not any(check):
        raise ValueError("gradcheck: no floating-point Tensor among the inputs to check")
    args = [(x if x.dtype == np.float64 and x.requires_grad else Tensor(x.array.astype(np.float64), requires_grad=True))
            if c else x for x, c in zip(inputs, check)]
    old_grads = [a.grad if c else None for a, c in zip(args, check)]
    for a, c in zip(args, check):
        if c:
            a.grad = None
    try:
        return _check(fn, args, check, eps, atol, rtol, seed)
    finally:
        for a, c, g in zip(args, check, old_grads):
            if c:
                a.grad = g


def _check(fn: Callable[..., Any], args: list, check: list, eps: float, atol: float, rtol: float,
           seed: int) -> bool:
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*args))
    proj = [rng.standard_normal(o.shape) for o in outs]

    def loss_value() -> float:
        with no_grad():
            return sum(float(np.sum(o.array.astype(np.float64) * r)) for o, r in zip(_outputs(fn(*args)), proj))

    total = None
    for o, r in zip(outs, proj):
        if o.requires_grad:
            term = (o * Tensor._wrap(r.astype(o.dtype))).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()

    for i, (x, c) in enumerate(zip(args, check)):
        if not c:
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.array
        flat = x.array.reshape(-1)          # a view: perturbing it perturbs x
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            up = loss_value()
            flat[k] = orig - eps
            down = loss_value()
            flat[k] = orig
            numeric = (up - down) / (2 * eps)
            a = float(analytic.reshape(-1)[k])
            if not abs(a - numeric) <= atol + rtol * abs(numeric):
                idx = np.unravel_index(k, x.shape) if x.ndim else ()
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {x.shape}), element {tuple(int(j) for j in idx)}: "
                    f"analytic {a:.8g} but numeric {numeric:.8g}")
    return True
