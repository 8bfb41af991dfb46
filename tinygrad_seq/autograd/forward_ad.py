"""Forward-mode differentiation with dual tensors, as PyTorch's ``torch.autograd.forward_ad``.

    import tinygrad_seq.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        x = fwAD.make_dual(primal, tangent)       # x carries dx = tangent along
        y = f(x)                                  # every op also computes dy = J dx
        y_value, jvp = fwAD.unpack_dual(y)        # jvp = J(primal) @ tangent

A tangent is carried beside its tensor (a Tensor of the same shape and
dtype), not inside it.  While a level is active, ``Node.apply`` hands every op
to ``propagate`` below, which calls the op's JVP rule (``jvp`` in ``ops.py``,
beside its VJP) on the inputs' tangents.  Outside a level nothing of this
runs: the flag ``Node.apply`` tests anyway for anomaly mode covers both.
Tangents are computed with recorded Tensor ops, so a tangent is itself
differentiable (reverse over forward); one level at a time, as in PyTorch.
"""
from __future__ import annotations

import weakref
from typing import Any, NamedTuple, Sequence

import numpy as np

from .. import ops
from .._state import State
from ..tensor import Node, Tensor
from . import TENSOR, recorded_saved     # (defined before autograd/__init__.py imports this module)

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]

_current_level = -1
_tangents: dict[int, tuple] = {}        # id(tensor) -> (weak reference to it, its tangent), this level only
# id(node) -> (node, the tangent of its output), for nodes recorded in a graph during the level: a recorded
# backward (create_graph) rebuilds a node's input and output values as new tensors (autograd.recorded_saved)
# and gives them these tangents, so forward mode runs through a backward pass too (forward over reverse)
_node_tangents: dict[int, tuple] = {}


def enter_dual_level() -> int:
    """Enter a forward-mode level (only one at a time, as PyTorch); returns it."""
    global _current_level
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level = 0
    State.dual = State.watch = True
    return _current_level


def exit_dual_level(*, level: int | None = None) -> None:
    """Leave the level: every tangent made in it is gone."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level or level < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    _tangents.clear()
    _node_tangents.clear()
    _current_level = -1
    State.dual = False
    State.watch = State.anomaly or State.capture is not None


class dual_level:
    """``with fwAD.dual_level():`` forward mode for the block; tangents vanish when it ends."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: ``(primal, tangent)``, tangent None when the tensor carries none."""
    primal: Tensor
    tangent: Tensor | None


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A new tensor sharing ``tensor``'s values (a view, differentiable back to it) that carries ``tangent``.

    The tangent must have the tensor's shape; it is kept in the tensor's
    dtype.  Only inside a ``dual_level()``.
    """
    level = _current_level if level is None else level
    if level < 0 or level != _current_level:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: expected two Tensors, got {type(tensor).__name__} and {type(tangent).__name__}")
    if tensor.dtype.kind not in "fc":
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if tangent.dtype.kind not in "fc":
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tangent.shape != tensor.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    State.dual = False                  # the view itself carries no tangent but the one set here
    try:
        dual = tensor.view_as(tensor)
    finally:
        State.dual = True
    tangent = tangent if tangent.dtype == tensor.dtype else tangent.to(tensor.dtype)
    _set(dual, tangent)
    if dual.grad_fn is not None:
        note(dual.grad_fn, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: the primal as a view without tangent, and the tangent (None if there is none)."""
    level = _current_level if level is None else level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    tangent = tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    State.dual = False
    try:
        primal = tensor.view_as(tensor)
    finally:
        State.dual = True
    return UnpackedDualTensor(primal, tangent)


def tangent_of(t: Tensor) -> Tensor | None:
    """The tangent ``t`` carries in the current level, or None."""
    entry = _tangents.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def set_tangent(t: Tensor, tangent: Tensor | None) -> None:
    """Give ``t`` this tangent in the current level (None: none); for in-place ops (``_inplace.py``)."""
    if tangent is None:
        _tangents.pop(id(t), None)
    else:
        _set(t, tangent)
        if t.grad_fn is not None:
            note(t.grad_fn, tangent)


def tangent_of_source(src: Any) -> Tensor | None:
    """The tangent of what a graph input entry (``node.inputs[i]``: a node, a leaf, None) produced, or None."""
    if isinstance(src, Tensor):
        return tangent_of(src)
    entry = _node_tangents.get(id(src)) if src is not None else None
    return None if entry is None else entry[1]


def _set(t: Tensor, tangent: Tensor) -> None:
    key = id(t)
    _tangents[key] = (weakref.ref(t, lambda _ref: _forget(key, _ref)), tangent)


def _forget(key: int, ref: Any) -> None:
    entry = _tangents.get(key)
    if entry is not None and entry[0] is ref:
        del _tangents[key]


# ----------------------------------------------------------------------------
# the forward-mode step, called by Node.apply (through autograd.watch_forward) after every op in a level
# ----------------------------------------------------------------------------

def propagate(node: Node, inputs: Sequence[Tensor], out: Tensor, recorded: bool, params: dict) -> None:
    """Give ``out`` its tangent: the op's JVP rule on its inputs' tangents (zeros for an input without one).

    An integer or bool output carries no tangent (PyTorch's).  The rule reads
    ``node.saved``/``node.ctx`` as the VJP does; when the node is part of a
    graph its saved values are joined to it (``autograd.recorded_saved``), so
    the tangent can be differentiated in reverse mode.
    """
    tangents = [tangent_of(t) for t in inputs]
    if all(t is None for t in tangents) or out.array.dtype.kind not in "fc":
        return
    tangent = run_jvp(node, tangents, [t.array for t in inputs], out.array, recorded, params)
    _set(out, tangent)
    if recorded:
        note(node, tangent)


def note(node: Node, tangent: Tensor) -> None:
    """Remember the tangent of ``node``'s output (for a recorded backward in this level)."""
    _node_tangents[id(node)] = (node, tangent)


def run_jvp(node: Node, tangents: list, arrays: list, out: np.ndarray, recorded: bool, params: dict) -> Tensor:
    """The op's JVP rule on ``tangents`` (None: zeros), in the output's dtype and shape."""
    need = node.needs_input_grad
    if need is not None and False in need and arrays is not None:
        # the forward kept a stand-in for an input no gradient needed (ops._keep): the JVP may read it, so
        # run the forward again with everything kept (only here, in forward mode)
        node = type(node).__new__(type(node))
        node.needs_input_grad, node.saved = None, None
        node.forward(*arrays, **params)
        recorded = False
    node.shape, node.dtype, node.params = out.shape, out.dtype, params
    if any(t is None for t in tangents):
        zero = np.zeros((), dtype=out.dtype)
        tangents = [Tensor._wrap(np.broadcast_to(zero.astype(x.dtype) if x.dtype.kind in "fc" else zero, x.shape))
                    if t is None else t for t, x in zip(tangents, arrays)]
    dual, State.dual = State.dual, False        # the tangent's own ops carry no tangents
    xp, ops.xp = ops.xp, TENSOR                 # the rule computes with Tensor ops (grad mode as it is)
    saved = node.saved
    try:
        if recorded and saved is not None:
            node.saved = recorded_saved(node)
        tangent = node.jvp(*tangents)
        if tangent.array.dtype != out.dtype:
            tangent = tangent.to(out.dtype)
        if tangent.array.shape != out.shape:
            tangent = tangent.broadcast_to(out.shape)
    finally:
        node.saved = saved
        ops.xp = xp
        State.dual = dual
    return tangent
