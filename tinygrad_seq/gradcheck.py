"""Check analytic gradients against central finite differences, in float64.

For f: inputs -> outputs, pick a fixed random projection r of the outputs and
compare, for every element x_k of every input that requires grad,

    analytic   dL/dx_k  from L.backward(),   L = sum(f(x) * r)
    numeric    (L(x_k + eps) - L(x_k - eps)) / (2 eps)

and pass when |analytic - numeric| <= atol + rtol |numeric| everywhere.

``gradgradcheck`` does the same one order up, as PyTorch's: the function
checked is (inputs, v) -> the VJP of ``fn`` with v, computed with
``autograd.grad(..., create_graph=True)``, so the second derivatives (and the
VJP's linearity in v) are compared with finite differences of the gradient.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._args import number_arg
from .autograd import grad as _grad, topological_order
from .tensor import Tensor, enable_grad, no_grad


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
              rtol: float = 1e-3, seed: int = 0, allow_constant: bool = False) -> bool:
    """True if ``fn``'s gradients match finite differences; raises ``GradcheckError`` otherwise.

    Inputs that are Tensors with ``requires_grad=True`` are checked (every float
    Tensor if none is marked).  They must be float64 (finite differences in
    float32 are too coarse): the very tensors passed are perturbed in place and
    restored, so ``fn`` may also read them through a closure, e.g. a module's
    parameters after ``model.double()``::

        model.double()
        x = tg.randn(5, 2, 3, dtype=np.float64, requires_grad=True)
        tg.gradcheck(lambda *_: model(x)[0], [x, *model.parameters()])

    A check in which no input changes the output at all fails loudly (a
    function that ignores what it is given would otherwise pass, 0 against 0);
    ``allow_constant=True`` accepts it, for a function that is constant on purpose.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        number_arg("gradcheck", name, v, 0, lo_ok=name != "eps")
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    if not hasattr(inputs, "__iter__"):
        raise TypeError(f"gradcheck: inputs must be a Tensor or a sequence of them, got {type(inputs).__name__}")
    inputs = list(inputs)
    floats = [isinstance(x, Tensor) and x.dtype.kind == "f" for x in inputs]
    marked = [f and x.requires_grad for f, x in zip(floats, inputs)]
    check = marked if any(marked) else floats
    if not any(check):
        raise ValueError("gradcheck: no floating-point Tensor among the inputs to check")
    for i, (x, c) in enumerate(zip(inputs, check)):
        if c and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} (shape {x.shape}) is {x.dtype}; finite differences need float64 "
                            "tensors: make them with dtype=np.float64 or .double(), and convert a model with "
                            "model.double()")
        if c and not x.requires_grad:
            if x.grad_fn is not None:
                raise ValueError(f"gradcheck: input {i} is not a leaf; pass the leaves it was computed from")
            x.requires_grad_(True)
    old_grads = [x.grad if c else None for x, c in zip(inputs, check)]
    for x, c in zip(inputs, check):
        if c:
            x.grad = None
    try:
        return _check(fn, inputs, check, eps, atol, rtol, seed, allow_constant)
    finally:
        for x, c, g in zip(inputs, check, old_grads):
            if c:
                x.grad = g


def _check(fn: Callable[..., Any], args: list, check: list, eps: float, atol: float, rtol: float,
           seed: int, allow_constant: bool) -> bool:
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*args))
    proj = [rng.standard_normal(o.shape) for o in outs]

    def loss_value() -> float:
        with no_grad():
            return sum(float(np.sum(o.array.astype(np.float64) * r)) for o, r in zip(_outputs(fn(*args)), proj))

    checked = [x for x, c in zip(args, check) if c]
    if not allow_constant and not _reaches(outs, checked):
        raise GradcheckError("gradcheck: no input influences the output (the output's graph reads none of the "
                             "tensors being checked): does fn read the tensors passed to it? nothing was checked")
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


def _reaches(outs: list[Tensor], tensors: list[Tensor]) -> bool:
    """Whether the graph that produced ``outs`` reads any of ``tensors`` (leaves that require grad)."""
    wanted = {id(t) for t in tensors}
    if any(id(o) in wanted for o in outs):
        return True
    roots = [o.grad_fn for o in outs if o.grad_fn is not None]
    for node in topological_order(roots) if roots else []:
        if any(isinstance(p, Tensor) and id(p) in wanted for p in node.inputs):
            return True
    return False


def gradgradcheck(func: Callable[..., Any], inputs: Sequence[Any], grad_outputs: Sequence[Any] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0, **_pytorch_options: Any) -> bool:
    """True if ``func``'s second derivatives match finite differences of its gradient (PyTorch's gradgradcheck).

    With ``grad_outputs`` None, a random (fixed-seed) float64 v per output that
    requires grad is drawn, with ``requires_grad=True``; then ``gradcheck``
    checks  (inputs, v) -> autograd.grad(func(inputs), inputs, v, create_graph=True)
    in both arguments.  Inputs must be float64, as for ``gradcheck``.  Raises
    ``GradcheckError`` on a mismatch (``raise_exception=False``: returns False).
    PyTorch's other options (``fast_mode``, ``check_undefined_grad``, ...) are accepted and ignored.
    """
    if not callable(func):
        raise TypeError(f"gradgradcheck: func must be callable, got {type(func).__name__}")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    floats = [isinstance(x, Tensor) and x.dtype.kind == "f" for x in inputs]
    if not any(f and x.requires_grad for f, x in zip(floats, inputs)):
        for x, f in zip(inputs, floats):
            if f and x.grad_fn is None:
                x.requires_grad_(True)
    diff = [f and x.requires_grad for f, x in zip(floats, inputs)]
    n = len(inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        outs = [o for o in _outputs(func(*inputs)) if o.requires_grad]
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64, requires_grad=True) for o in outs]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)

    def vjp(*args: Any) -> tuple:
        xs, vs = args[:n], args[n:]
        with enable_grad():
            outs = [o for o in _outputs(func(*xs)) if o.requires_grad]
            wrt = [x for x, d in zip(xs, diff) if d]
            grads = _grad(outs, wrt, list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    try:
        return gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, seed=seed, allow_constant=True)
    except GradcheckError as e:
        if raise_exception:
            raise GradcheckError(f"gradgradcheck: {e}") from None
        return False
