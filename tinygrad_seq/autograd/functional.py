"""``torch.autograd.functional``: derivatives of a whole function, as tensors.

    out, vjp = vjp(f, x, v)          # v^T J       (one reverse pass)
    out, jvp = jvp(f, x, v)          # J v         (forward mode, dual tensors)
    J = jacobian(f, x)               # out.shape + x.shape
    H = hessian(f, x)                # x.shape + x.shape, f scalar
    out, Hv = hvp(f, x, v)           # H v
    out, vH = vhp(f, x, v)           # v^T H

Signatures, return structures and error messages are PyTorch's: ``inputs`` is
a Tensor or a tuple of Tensors and each result mirrors it (a tuple of tuples
for ``jacobian``/``hessian`` of several outputs and inputs); ``create_graph``
keeps the results differentiable; ``strict=True`` raises where an output does
not depend on an input (instead of returning zeros).  Everything is built on
``autograd.grad`` (reverse mode, ``create_graph=True`` for second order) and
``forward_ad`` (forward mode: ``jvp``, ``jacobian(strategy="forward-mode")``).
``vectorize=True`` is accepted: it gives the same numbers, one pass per row.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import forward_ad as fwAD
from . import grad as _grad
from .. import ops
from .._state import State, set_grad_enabled
from ..tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ----------------------------------------------------------------------------
# the shared steps (PyTorch's helpers, same names without the underscore's meaning changed)
# ----------------------------------------------------------------------------

def _as_tuple(inp: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"{where} has type {type(el)}.")
    return is_tuple, items


def _unpack(res: Any, is_tuple: Any) -> Any:
    """Mirror the caller's structure: ``is_tuple`` is a bool, or (outputs are a tuple, inputs are a tuple)."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            res = tuple(el[0] for el in res)
        return res if outer else res[0]
    return res if is_tuple else res[0]


def _prepare(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh tensors to differentiate with respect to: a view (create_graph, so the caller's graph
    continues through it) or a detached copy of the reference."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(need_graph)
                 for x in inputs)


def _finish(tensors: tuple, create_graph: bool) -> tuple:
    if create_graph:
        return tensors
    return tuple(t.detach() if isinstance(t, Tensor) else _finish(t, create_graph) for t in tensors)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (el_v, el_o) in enumerate(zip(v, other)):
        if el_v.shape != el_o.shape:
            pre = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{pre}v has invalid size: should be {el_o.size()} but got {el_v.size()}.")


_INDEPENDENT = {
    "hessian": "The hessian of the user-provided function with respect to input {i} is independent of the input. "
               "This is not allowed in strict mode. You should ensure that your function is thrice differentiable "
               "and that the hessian depends on the inputs.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with respect "
                "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this "
                "would be violated by a linear function for example).",
    "grad_inputs": "The gradient with respect to input {i} is independent of the inputs of the user-provided "
                   "function. This is not allowed in strict mode.",
    "outputs": "Output {i} of the user-provided function does not require gradients. The outputs must be "
               "computed in a differentiable manner from the input when running in strict mode.",
}


def _check_requires_grad(tensors: tuple, kind: str, strict: bool) -> None:
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. "
                               "This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_INDEPENDENT[kind].format(i=i))


def _autograd_grad(outputs: tuple, inputs: tuple, grad_outputs: tuple | None = None, create_graph: bool = False,
                   retain_graph: bool | None = None) -> tuple:
    """``autograd.grad`` over the outputs that require grad (None for every input when none does)."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)


def _ones(t: Tensor) -> Tensor:
    return Tensor._wrap(np.ones(t.shape, t.dtype))


def _zeros(t: Tensor, requires_grad: bool = False) -> Tensor:
    z = Tensor._wrap(np.zeros(t.shape, t.dtype))
    return z.requires_grad_(True) if requires_grad else z


_FILL_MSG = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict "
            "mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in strict "
                  "mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str) -> tuple:
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_FILL_MSG[stage].format(i=i))
            g = _zeros(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _grad_mode(create_graph: bool) -> set_grad_enabled:
    return set_grad_enabled(True if create_graph else State.grad_enabled)


# ----------------------------------------------------------------------------
# the functions
# ----------------------------------------------------------------------------

def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), v^T J)``: the vector-Jacobian product, one reverse pass (PyTorch's ``vjp``)."""
    with set_grad_enabled(True):
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prepare(v, create_graph, False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
    with _grad_mode(create_graph):
        res = _fill_in_zeros(_autograd_grad(outputs, inputs, v, create_graph), inputs, strict, create_graph, "back")
    return _unpack(_finish(outputs, create_graph), is_outputs_tuple), _unpack(_finish(res, create_graph),
                                                                              is_inputs_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), J v)``: the Jacobian-vector product (PyTorch's ``jvp``).

    Computed in forward mode, with dual tensors: one pass of ``func`` carrying
    the tangent ``v`` along.  With ``create_graph=True`` or ``strict=True`` it
    is computed as PyTorch does it, by the double-backward trick (reverse
    mode twice), which also gives PyTorch's strict-mode errors.
    """
    with set_grad_enabled(True):
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _prepare(v, create_graph, False)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        else:
            v = (_ones(inputs[0]),)
    if not create_graph and not strict:
        with fwAD.dual_level():
            duals = tuple(fwAD.make_dual(x, t) for x, t in zip(inputs, v))
            is_outputs_tuple, outputs = _as_tuple(func(*duals), "outputs of the user-provided function", "jvp")
            unpacked = [fwAD.unpack_dual(o) for o in outputs]
        outputs = tuple(p for p, _ in unpacked)
        res = tuple(_zeros(p) if t is None else t for p, t in unpacked)
        return _unpack(_finish(outputs, False), is_outputs_tuple), _unpack(_finish(res, False), is_outputs_tuple)
    with set_grad_enabled(True):
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # the VJP is linear in its seed: differentiating it with respect to the seed gives J v
        seeds = tuple(_zeros(o, requires_grad=True) for o in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, seeds, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with _grad_mode(create_graph):
        res = _autograd_grad(grad_inputs, seeds, v, create_graph=create_graph)
        res = _fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return _unpack(_finish(outputs, create_graph), is_outputs_tuple), _unpack(_finish(res, create_graph),
                                                                              is_outputs_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func``: entry [i][j] has shape ``outputs[i].shape + inputs[j].shape`` (PyTorch's).

    ``strategy="reverse-mode"``: one reverse pass per output element;
    ``"forward-mode"``: one forward (dual-tensor) pass per input element.
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacfwd(func, inputs, strict)
    with set_grad_enabled(True):
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows: list[list] = [[] for _ in inputs]
            flat = out.reshape(-1)
            for k in range(out.numel()):
                vj = _autograd_grad((flat[k],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (row, g, x) in enumerate(zip(rows, vj, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{j}. This is not allowed in strict mode.")
                        g = _zeros(x)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                           f"{i}. This is not allowed in strict mode when create_graph=True.")
                    row.append(g)
            jac.append(tuple(_stack(row, x, tuple(out.shape) + tuple(x.shape)) for row, x in zip(rows, inputs)))
    return _unpack(_finish(tuple(jac), create_graph), (is_outputs_tuple, is_inputs_tuple))


def _stack(rows: list, like: Tensor, shape: tuple) -> Tensor:
    if not rows:
        return Tensor._wrap(np.zeros(shape, like.dtype))
    return ops.Stack.apply(*rows, axis=0).reshape(shape)


def _jacfwd(func: Callable, inputs: Any, strict: bool) -> Any:
    """The Jacobian one column at a time: a dual-tensor pass per input element (forward mode)."""
    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    columns: list[list] = []           # per input: per element, the output tangents
    is_outputs_tuple, primal_outs = False, ()
    for j, x in enumerate(inputs):
        cols = []
        for k in range(x.numel()):
            with fwAD.dual_level():
                duals = []
                for jj, xx in enumerate(inputs):
                    t = np.zeros(xx.shape, xx.dtype)
                    if jj == j:
                        t.reshape(-1)[k] = 1
                    duals.append(fwAD.make_dual(xx.detach(), Tensor._wrap(t)))
                is_outputs_tuple, outs = _as_tuple(func(*duals), "outputs", "jacobian")
                unpacked = [fwAD.unpack_dual(o) for o in outs]
            primal_outs = tuple(p for p, _ in unpacked)
            cols.append([_zeros(p) if t is None else t.detach() for p, t in unpacked])
        columns.append(cols)
    if not any(x.numel() for x in inputs):
        is_outputs_tuple, outs = _as_tuple(func(*[x.detach() for x in inputs]), "outputs", "jacobian")
        primal_outs = outs
    jac = []
    for i, out in enumerate(primal_outs):
        row = []
        for j, x in enumerate(inputs):
            shape = tuple(out.shape) + tuple(x.shape)
            cols = [c[i].reshape(-1) for c in columns[j]]
            if not cols:
                row.append(Tensor._wrap(np.zeros(shape, out.dtype)))
            else:                      # columns: (k, out elements) -> (out elements, k) -> out.shape + x.shape
                row.append(ops.Stack.apply(*cols, axis=0).permute(1, 0).reshape(shape).detach())
        jac.append(tuple(row))
    return _unpack(tuple(jac), (is_outputs_tuple, is_inputs_tuple))


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func``: entry [i][j] has shape ``inputs[i].shape + inputs[j].shape`` (PyTorch's).

    The Jacobian of the gradient: the inner gradient is recorded
    (``create_graph=True``); the outer Jacobian is taken in reverse mode, or
    in forward mode over it (``outer_jacobian_strategy="forward-mode"``).
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*inp: Tensor) -> Tensor:
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.reshape(())

    def jac_func(*inp: Tensor) -> Any:
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac if isinstance(jac, tuple) else (jac,), "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(res, (is_inputs_tuple, is_inputs_tuple))


def _second_order_setup(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, name: str) -> tuple:
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _prepare(inputs, create_graph, True)
    if v is not None:
        _, v = _as_tuple(v, "v", name)
        v = _prepare(v, create_graph, False)
        _validate_v(v, inputs, is_inputs_tuple)
    elif len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                           "Tensor with a single element.")
    out = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(out, "outputs of the user-provided function", name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {name} should contain a single element")
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), v^T H)`` for a scalar ``func``: the gradient of <grad f, v> (PyTorch's ``vhp``)."""
    with set_grad_enabled(True):
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _second_order_setup(
            func, inputs, v, create_graph, strict, "vhp")
    with _grad_mode(create_graph):
        res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back")
    return _unpack(_finish(outputs, create_graph), is_outputs_tuple), _unpack(_finish(res, create_graph),
                                                                              is_inputs_tuple)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), H v)`` for a scalar ``func`` (PyTorch's ``hvp``: the double-backward trick, so it is
    H v even where the computed H is not symmetric)."""
    with set_grad_enabled(True):
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _second_order_setup(
            func, inputs, v, create_graph, strict, "hvp")
        grad_jac = tuple(_zeros(x, requires_grad=True) for x in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with _grad_mode(create_graph):
        res = _autograd_grad(double_back, grad_jac, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return _unpack(_finish(outputs, create_graph), is_outputs_tuple), _unpack(_finish(res, create_graph),
                                                                              is_inputs_tuple)
