"""PyTorch's ``torch.autograd`` functions: ``backward`` and ``grad``, plus ``detect_anomaly``.

    loss.backward()                                  # fills every leaf's .grad
    tg.autograd.backward([l1, l2], [g1, g2])         # several outputs at once
    dx, dw = tg.autograd.grad(loss, [x, w])          # gradients returned, no .grad touched
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._gc import full_gc_deferred
from .tensor import (AnomalyError, ShapeError, Tensor, _accumulate_leaf, _backward, _run_hooks,  # noqa: F401
                     detect_anomaly)

__all__ = ["backward", "grad", "detect_anomaly", "AnomalyError"]


def _as_list(x: Any, what: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{what}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _seeds(outputs: list, grad_outputs: Any, where: str) -> list[np.ndarray]:
    """dL/d(output) for each output: given, or 1 for a one-element output."""
    given = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs, where)
    if len(given) != len(outputs):
        raise ValueError(f"{where}: got {len(given)} gradients for {len(outputs)} outputs")
    seeds = []
    for out, g in zip(outputs, given):
        if not isinstance(out, Tensor):
            raise TypeError(f"{where}: outputs must be Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(
                f"{where}: element 0 of tensors does not require grad and does not have a grad_fn "
                "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"{where}: grad can be implicitly created only for scalar outputs; this output has shape "
                    f"{out.shape}: pass a gradient of that shape (or reduce it first, e.g. .sum())")
            seeds.append(np.ones_like(out.array))
        else:
            try:
                arr = np.asarray(g.array if isinstance(g, Tensor) else g, dtype=out.dtype)
            except (TypeError, ValueError):
                raise TypeError(f"{where}: gradient must be a Tensor or numbers of the output's shape {out.shape}, "
                                f"got {type(g).__name__} {g!r}"[:200]) from None
            if arr.shape != out.shape:
                raise ShapeError(f"{where}: gradient has shape {arr.shape} but the output has shape {out.shape}")
            seeds.append(arr)
    return seeds


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate the gradients of ``tensors`` (seeded with ``grad_tensors``) into the leaves' ``.grad``.

    ``inputs``: only these tensors (leaves or not, as in PyTorch) get their ``.grad`` changed.
    """
    if create_graph:
        raise NotImplementedError("backward(create_graph=True): higher-order gradients are not supported "
                                  "by tinygrad_seq")
    outputs = _as_list(tensors, "backward")
    seeds = _seeds(outputs, grad_tensors, "backward")
    only = None if inputs is None else {t: None for t in _as_list(inputs, "backward")}
    # a non-leaf among ``inputs`` gets its .grad as retain_grad() gives it (after its hooks, as in PyTorch)
    borrowed = [t for t in (only or ()) if t.grad_fn is not None and not t.retains_grad]
    for t in borrowed:
        t.retain_grad()
    graph_outputs = [(o, s) for o, s in zip(outputs, seeds) if o.grad_fn is not None]
    for o, s in zip(outputs, seeds):
        if o.grad_fn is None and (only is None or o in only):      # a leaf: its gradient is the seed itself
            _accumulate_leaf(o, s.copy())
    try:
        if not graph_outputs:
            return
        with full_gc_deferred():
            _backward([o for o, _ in graph_outputs], [s for _, s in graph_outputs], bool(retain_graph), capture=only)
    finally:
        for t in borrowed:
            t.grad_fn.retained = None
    if only is not None:
        for t, g in only.items():
            if g is not None and t.grad_fn is None:
                _accumulate_leaf(t, g)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (no ``.grad`` is changed)."""
    if create_graph:
        raise NotImplementedError("grad(create_graph=True): higher-order gradients are not supported "
                                  "by tinygrad_seq")
    outs = _as_list(outputs, "grad")
    ins = _as_list(inputs, "grad")
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: One of the differentiated Tensors does not require grad")
    seeds = _seeds(outs, grad_outputs, "grad")
    capture: dict = {t: None for t in ins}
    graph = [(o, s) for o, s in zip(outs, seeds) if o.grad_fn is not None]
    for o, s in zip(outs, seeds):
        if o.grad_fn is None and o in capture:
            capture[o] = s if capture[o] is None else capture[o] + s
    if graph:
        with full_gc_deferred():
            _backward([o for o, _ in graph], [s for _, s in graph], bool(retain_graph), capture=capture)
    result = []
    for t in ins:
        g = capture[t]
        if g is None and not allow_unused:
            raise RuntimeError("grad: One of the differentiated Tensors appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
        result.append(None if g is None else Tensor._wrap(g))
    return tuple(result)
