"""The backward pass, in one place, and PyTorch's ``torch.autograd`` functions.

    loss.backward()                                  # fills every leaf's .grad
    tg.autograd.backward([l1, l2], [g1, g2])         # several outputs at once
    dx, dw = tg.autograd.grad(loss, [x, w])          # gradients returned, no .grad touched
    dx, = tg.autograd.grad(loss, x, create_graph=True)   # ... as tensors with a graph: differentiable again

A gradient's path from ``loss.backward()`` to a leaf takes three moves:

1. ``Tensor.backward`` (``tensor.py``) is one call to ``backward`` below, which
   seeds dL/dloss = 1 and calls ``backward_pass``;
2. the loop in ``backward_pass`` orders the nodes and, for each, takes its
   summed gradient and calls its VJP: ``node.backward(g)``, the op's rule in
   the table in ``ops.py``;
3. the loop adds each returned gradient to the input's running sum, and what
   is left once every node has run belongs to the leaves:
   ``accumulate_leaf`` adds it to ``leaf.grad``.

Everything else a backward pass can do (hooks, ``retain_grad``, capturing
gradients for ``autograd.grad`` or ``inputs=``, anomaly mode) is one call,
``Observer.vjp``, made in place of step 2 only when one of them is active.
Below the loop, in the order it uses them: the topological order, the leaves,
the observer, the stale-graph check, and anomaly mode's forward check.

Higher order (``create_graph=True``) is the same loop with the gradients as
Tensors: ``recording()`` turns grad mode on and gives the VJPs in ``ops.py``
their Tensor namespace, and ``recorded_vjp`` hands each VJP its saved arrays
as Tensors joined to the graph (an input's value as a tensor made by that
input's node, the output's as one made by the node itself).  Every step of the
backward pass is then an op like any other, recorded, and differentiable again.
The sections at the end: "create_graph"; ``functional.py`` (vjp, jvp, jacobian,
hessian, hvp, vhp) and ``forward_ad.py`` (dual tensors) build on this module.
"""
from __future__ import annotations

import contextlib
import os
import sys
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import lazygrad, ops
from .._gc import full_gc_deferred
from .._state import MODIFIED, AnomalyError, State, buffer_of, detect_anomaly
from ..tensor import Node, ShapeError, Tensor, _fill, _new

__all__ = ["backward", "grad", "backward_pass", "topological_order", "detect_anomaly", "AnomalyError", "functional",
           "forward_ad"]


# ----------------------------------------------------------------------------
# the public entry points: check the arguments, seed dL/d(output), run the loop
# ----------------------------------------------------------------------------

def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate the gradients of ``tensors`` (seeded with ``grad_tensors``) into the leaves' ``.grad``.

    ``inputs``: only these tensors get their ``.grad`` changed.  ``create_graph``: the gradients are
    computed with recorded ops, so ``.grad`` has a ``grad_fn`` and can be differentiated again
    (``retain_graph`` then defaults to True, as in PyTorch).
    """
    if State.capture is not None:                   # tinygrad_seq.jit capturing a function that calls backward()
        State.capture.saw_backward(tensors, grad_tensors, retain_graph, create_graph, inputs)
    if retain_graph is None:
        retain_graph = create_graph
    outputs = _as_list(tensors, "backward")
    seeds = _seeds(outputs, grad_tensors, "backward", create_graph)
    only = None if inputs is None else {t: None for t in _as_list(inputs, "backward")}
    if only is not None and not only:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    # a non-leaf among ``inputs`` gets its .grad as retain_grad() gives it (after its hooks, as in PyTorch)
    borrowed = [t for t in (only or ()) if t.grad_fn is not None and not t.retains_grad]
    for t in borrowed:
        t.retain_grad()
    graph = [(o, s) for o, s in zip(outputs, seeds) if o.grad_fn is not None]
    for o, s in zip(outputs, seeds):
        if o.grad_fn is None and (only is None or o in only):      # a leaf: its gradient is the seed itself
            accumulate_leaf(o, s if create_graph else s.copy())
    try:
        if graph:
            with full_gc_deferred():
                if create_graph:
                    with recording():
                        backward_pass([o for o, _ in graph], [s for _, s in graph], bool(retain_graph),
                                      capture=only, create_graph=True)
                else:
                    backward_pass([o for o, _ in graph], [s for _, s in graph], bool(retain_graph), capture=only)
    finally:
        for t in borrowed:
            t.grad_fn.hooks.retained = None
    if only is not None:
        for t, g in only.items():                   # (a non-leaf's .grad came from the borrowed retain_grad)
            if g is not None and t.grad_fn is None:
                accumulate_leaf(t, g)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (no ``.grad`` is changed).

    ``create_graph=True``: the gradients are Tensors with their own graph (differentiable again);
    ``retain_graph`` defaults to ``create_graph``, as in PyTorch.
    """
    if State.capture is not None:
        State.capture.side_effect("autograd.grad() inside the function (a replay repeats only loss.backward())")
    if retain_graph is None:
        retain_graph = create_graph
    outs = _as_list(outputs, "grad")
    ins = _as_list(inputs, "grad")
    for t in ins:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: One of the differentiated Tensors does not require grad")
    seeds = _seeds(outs, grad_outputs, "grad", create_graph)
    capture: dict = {t: None for t in ins}
    graph = [(o, s) for o, s in zip(outs, seeds) if o.grad_fn is not None]
    for o, s in zip(outs, seeds):
        if o.grad_fn is None and o in capture:
            capture[o] = s if capture[o] is None else capture[o] + s
    if graph:
        with full_gc_deferred():
            if create_graph:
                with recording():
                    backward_pass([o for o, _ in graph], [s for _, s in graph], bool(retain_graph),
                                  capture=capture, create_graph=True)
            else:
                backward_pass([o for o, _ in graph], [s for _, s in graph], bool(retain_graph), capture=capture)
    result = []
    for t in ins:
        g = capture[t]
        if g is not None and t._hooks:              # a leaf's hooks change its gradient here too (PyTorch)
            g = run_hooks(t._hooks, g, "the leaf")
        if g is None and not allow_unused:
            raise RuntimeError("grad: One of the differentiated Tensors appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
        result.append(None if g is None else g if isinstance(g, Tensor) else Tensor._wrap(g))
    return tuple(result)


def _as_list(x: Any, what: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{what}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _seeds(outputs: list, grad_outputs: Any, where: str, as_tensors: bool = False) -> list:
    """dL/d(output) for each output: given, or 1 for a one-element output (Tensors with ``as_tensors``: a
    given Tensor of the output's dtype is kept as it is, its graph included)."""
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
            seeds.append(g if as_tensors and isinstance(g, Tensor) and g.array.dtype == arr.dtype else arr)
    if as_tensors:
        seeds = [s if isinstance(s, Tensor) else Tensor._wrap(s) for s in seeds]
    return seeds


# ----------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------

FREED = -1          # a node's epoch once backward has freed what it saved (no in-place count is negative)


def backward_pass(roots: Sequence[Tensor], seeds: Sequence[Any], retain_graph: bool,
                  capture: dict | None = None, create_graph: bool = False) -> None:
    """The chain rule over the graph below ``roots``, seeded with dL/d(root) = ``seeds``.

    Order the nodes so that each comes after every node that reads it; then for
    each node, take its gradient (every reader's contribution, summed), call
    its VJP, and add what it returns to its inputs' sums.  What is left at the
    end belongs to the leaves.  With ``capture`` ({tensor: None}) only those
    tensors' gradients are filled in there, and no ``.grad`` changes.
    ``create_graph``: the same loop on Tensors, recorded (see "create_graph" below; the caller runs it
    inside ``recording()``).
    """
    # node or leaf -> dL/d(its output), summed as contributions arrive (Tensors, added by recorded ops, when recording)
    sums = TensorSums() if create_graph else lazygrad.GradientSums()
    for root, g in zip(roots, seeds):
        sums.add(root.grad_fn, g)
    observer = Observer(capture, create_graph)  # hooks, retain_grad, capture, anomaly, recording: see below
    watching, epoch = observer.active, State.epoch
    for node in topological_order([root.grad_fn for root in roots]):
        g = sums.pop(node, None)
        if node.epoch != epoch:                 # changed in place, or freed, since it was recorded
            check_saved(node)
        if g is not None:
            if type(g) is not np.ndarray and not node.takes_lazy:
                g = sums.dense(g)               # a lazy sum (lazygrad.py): an array now (a Tensor, when recording, stays)
            if watching or node.hooks is not None:
                grads_in = observer.vjp(node, g)
            else:
                grads_in = node.backward(g)     # the VJP: dL/d(each input), from ops.py
            for parent, gp in zip(node.inputs, grads_in):
                if parent is not None and gp is not None:
                    sums.add(parent, gp)
        if not retain_graph and node.saved is not None:
            node.saved = None                   # free what the VJP saved; the graph's structure stays walkable
            node.epoch = FREED
    for leaf in list(sums):                     # only leaves are left
        g = sums.pop_owned(leaf)
        if capture is None:
            accumulate_leaf(leaf, g)
        elif leaf in capture:
            capture[leaf] = g


def topological_order(roots: Iterable[Node]) -> list[Node]:
    """Nodes reachable from ``roots``, each after every node that reads it (iterative DFS, no recursion)."""
    order: list[Node] = []
    seen: set = set()
    stack: list[tuple[Node, bool]] = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)           # every node it reads is already in ``order``
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for p in node.inputs:
            if isinstance(p, Node) and p not in seen:
                stack.append((p, False))
    order.reverse()
    return order


def accumulate_leaf(leaf: Tensor, g: np.ndarray) -> None:
    """leaf.grad += g (after the leaf's hooks), in the leaf's dtype, into the same tensor (PyTorch's: code
    holding ``g = x.grad`` sees the sum).  ``g`` is a buffer this backward owns, so it may become ``.grad``."""
    if not leaf.requires_grad:                      # requires_grad_(False) after the graph was built: PyTorch
        return                                      # keeps the graph but fills no .grad
    if type(g) is not np.ndarray:                   # a recorded gradient (create_graph): added out of place
        if leaf._hooks:
            g = run_hooks(leaf._hooks, g, "the leaf")
        if g.array.dtype != leaf.array.dtype:
            g = g.to(leaf.array.dtype)
        leaf._grad = g if leaf._grad is None else leaf._grad + g
        return
    if leaf._hooks:
        h = run_hooks(leaf._hooks, g, "the leaf")
        g = g if h is g else np.array(h)            # a hook's result may be held elsewhere: keep a copy
    if g.dtype != leaf.array.dtype:
        g = g.astype(leaf.array.dtype)
    old = leaf._grad
    if old is None:
        leaf._grad = Tensor._wrap(g)
    elif old.array.flags.writeable and old.array.shape == g.shape:
        np.add(old.array, g, out=old.array)
    else:                                           # a read-only or broadcast .grad set by hand: replace it
        leaf._grad = Tensor._wrap(old.array + g)


# ----------------------------------------------------------------------------
# the optional concerns, behind one call
# ----------------------------------------------------------------------------

class Observer:
    """What one backward pass does around a VJP besides calling it: hooks, ``retain_grad``, capture, anomaly.

    The loop calls ``vjp`` instead of ``node.backward`` only when ``active``
    (capturing a non-leaf's gradient, or under ``detect_anomaly()``) or when
    the node has hooks (``register_hook``, ``retain_grad``); otherwise none of
    this runs.
    """

    __slots__ = ("capture", "wanted", "before_hooks", "anomaly", "active", "record")

    def __init__(self, capture: dict | None, record: bool = False):
        self.capture = capture
        self.record = record                    # create_graph: gradients are Tensors, VJPs recorded
        # non-leaf tensors whose gradient is wanted, by the node that produced them
        self.wanted = {t.grad_fn: t for t in capture if t.grad_fn is not None} if capture is not None else {}
        self.before_hooks = self._reaching_another_target() if self.wanted else ()
        self.anomaly = State.anomaly
        self.active = bool(self.wanted) or self.anomaly or record

    def _reaching_another_target(self) -> set:
        """The wanted nodes with another wanted tensor below them.  PyTorch runs their VJP, and
        ``autograd.grad`` then returns their gradient as it was before the tensor's hooks; for a wanted
        node with nothing wanted below, it returns the gradient after them (PyTorch 2.13's numbers)."""
        targets = set(self.wanted) | {t for t in self.capture if t.grad_fn is None}
        found = set()
        for node in self.wanted:
            stack, seen = list(node.inputs), set()
            while stack:
                p = stack.pop()
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                if p in targets:
                    found.add(node)
                    break
                if isinstance(p, Node):
                    stack.extend(p.inputs)
        return found

    def vjp(self, node: Node, g: np.ndarray) -> tuple:
        """``node.backward(g)`` with the active concerns around it."""
        record = self.record
        if not record:
            g = lazygrad.dense(g)               # hooks and anomaly mode see arrays
        if node in self.before_hooks:
            self.capture[self.wanted[node]] = g if record else g.copy()
        hooks = node.hooks
        if hooks is not None:
            if hooks:
                g = run_hooks(hooks, g, node.name)
            if hooks.retained is not None:
                t = hooks.retained()
                if t is not None:
                    if record:
                        t._grad = g if t._grad is None else t._grad + g
                    else:
                        t._grad = Tensor._wrap(g.copy() if t._grad is None else t._grad.array + g)
        if node in self.wanted and node not in self.before_hooks:
            self.capture[self.wanted[node]] = g if record else g.copy()
        grads_in = recorded_vjp(node, g) if record else node.backward(g)
        if self.anomaly:
            anomaly_backward(node, g, grads_in)
        return grads_in


def run_hooks(hooks: list, g: Any, where: str) -> Any:
    """Call each hook with the gradient (a Tensor); a returned tensor of the same shape and dtype replaces it.
    (``g`` is an array, or a Tensor in a recorded backward, and so is the result.)"""
    recorded = isinstance(g, Tensor)
    for hook in list(hooks):
        out = hook(g if recorded else Tensor._wrap(g))
        if out is None:
            continue
        if recorded:
            new = out if isinstance(out, Tensor) else Tensor._wrap(np.asarray(out))
        else:
            new = out.array if isinstance(out, Tensor) else np.asarray(out)
        name = getattr(hook, "__name__", "hook")
        if new.shape != g.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value: the gradient of {where} has shape "
                               f"{g.shape}, the hook returned shape {new.shape}")
        if new.dtype != g.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value: the gradient of {where} is "
                               f"{g.dtype}, the hook returned {new.dtype}")
        g = new
    return g


# ----------------------------------------------------------------------------
# The stale-graph check.  ``_state.mark_modified`` counts every in-place change;
# a node records the count when it is made, and the loop looks at what a node
# saved only when the count has moved since (or the node was freed).
# ----------------------------------------------------------------------------

def check_saved(node: Node) -> None:
    """Raise if ``node``'s saved arrays were freed by an earlier backward, or changed in place since it was recorded."""
    if node.epoch == FREED:
        raise RuntimeError(
            "backward: trying to backward through the graph a second time (or directly access saved tensors after "
            f"they have already been freed): the arrays '{node.name}' saved for its gradient were already freed by an "
            "earlier backward() or autograd.grad(). Specify retain_graph=True in the first call if you need to "
            "backward through the graph a second time.")
    saved = node.saved
    for a in (saved if type(saved) is tuple else (saved,)):
        if type(a) is not np.ndarray:
            continue
        buf = a if a.base is None else buffer_of(a)
        entry = MODIFIED.get(id(buf))
        if entry is not None and entry[0]() is buf and entry[1] > node.epoch:
            what = f"the parameter '{entry[3]}'" if entry[3] else "a tensor"
            raise RuntimeError(
                f"backward: {what} of shape {buf.shape} that '{node.name}' saved for its gradient was modified in "
                f"place after the graph was built (by an optimizer step, +=, load_state_dict, ...), so the "
                f"gradient would be wrong. Run the forward pass again after changing it (or change a .clone()).")


# ----------------------------------------------------------------------------
# anomaly mode (only under detect_anomaly()): the backward check, then the forward one ``Node.apply`` calls
# ----------------------------------------------------------------------------

def anomaly_backward(node: Node, g: np.ndarray, grads_in: tuple) -> None:
    """Raise if the VJP made a non-finite gradient from a finite one, naming the op and where it was created."""
    if isinstance(g, Tensor):                   # a recorded backward: look at the values
        g = g.array
        grads_in = tuple(gi.array if isinstance(gi, Tensor) else gi for gi in grads_in)
    if not np.isfinite(g).all():
        return                                  # reported where it was born
    for i, gi in enumerate(grads_in):
        if gi is None:
            continue
        arr = lazygrad.dense(gi)
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            bad = "nan" if np.isnan(arr).any() else "inf"
            where = getattr(node, "created_at", None) or "<unknown: the node was recorded outside detect_anomaly>"
            raise AnomalyError(f"detect_anomaly: the gradient rule (VJP) of '{node.name}' produced {bad} for its "
                               f"input {i} (shape {arr.shape}) from a finite gradient of shape {g.shape}; "
                               f"the op was created at {where}")


def watch_forward(node: Node, inputs: Sequence[Tensor], t: Tensor, recorded: bool, params: dict) -> None:
    """What ``Node.apply`` calls after an op when ``State.watch`` is on: anomaly mode's check, forward mode's
    tangent (``forward_ad.propagate``), and the op list of ``tinygrad_seq.jit`` while it captures."""
    if State.capture is not None:
        State.capture(node, inputs, t, recorded, params)
    if State.anomaly:
        anomaly_forward(node, inputs, t.array, recorded)
    if State.dual:
        forward_ad.propagate(node, inputs, t, recorded, params)


def anomaly_forward(node: Node, inputs: Sequence[Tensor], out: np.ndarray, recorded: bool) -> None:
    """Note where ``node`` was created; raise if it made a non-finite output from finite inputs."""
    where = _user_frame()
    if recorded:
        node.created_at = where
    if out.dtype.kind in "fc" and not np.isfinite(out).all() and \
            all(t.array.dtype.kind not in "fc" or np.isfinite(t.array).all() for t in inputs):
        bad = "nan" if np.isnan(out).any() else "inf"
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise AnomalyError(f"detect_anomaly: '{node.name}' produced {bad} in forward from finite inputs of "
                           f"shape {shapes} (output shape {out.shape}), created at {where}")


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame() -> str:
    """'file:line' of the innermost caller outside this package."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PACKAGE):
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


# ----------------------------------------------------------------------------
# create_graph: the loop on Tensors.  ``recording()`` gives the VJPs in ``ops.py`` the Tensor
# namespace below in place of numpy; ``recorded_vjp`` hands a VJP its saved arrays as Tensors
# joined to the graph; ``TensorSums`` adds contributions with recorded ops.
# ----------------------------------------------------------------------------

@contextlib.contextmanager
def recording(grad_mode: bool = True):
    """Grad mode on (or as ``grad_mode`` says), and the rules in ``ops.py`` computing with Tensor ops
    (``ops.xp`` = ``TENSOR``), for the block."""
    prev_xp, prev_mode = ops.xp, State.grad_enabled
    ops.xp, State.grad_enabled = TENSOR, grad_mode
    try:
        yield
    finally:
        ops.xp, State.grad_enabled = prev_xp, prev_mode


def recorded_vjp(node: Node, g: Tensor) -> tuple:
    """``node.backward(g)`` on Tensors: its saved arrays become Tensors joined to the graph, for this call."""
    saved = node.saved
    if saved is not None:
        node.saved = recorded_saved(node)
    try:
        return node.backward(g)
    finally:
        node.saved = saved


def recorded_saved(node: Node) -> Any:
    """``node.saved`` with each entry as the op's ``saves`` says: an input's value as a Tensor made by that
    input's node (a leaf: the leaf itself), the output's as a Tensor made by ``node``, a constant as it is."""
    spec = type(node).saves
    if spec == ("derived",):
        return node.recorded_saved(derived)
    saved = node.saved
    single = type(saved) is not tuple
    items = (saved,) if single else saved
    if len(spec) != len(items):
        raise RuntimeError(f"'{node.name}' saved {len(items)} arrays but its op declares {len(spec)} in `saves`")
    joined = []
    for what, a in zip(spec, items):
        src = None if what is None or not isinstance(a, (np.ndarray, np.generic)) else \
            node if what == "out" else node.inputs[what]
        if src is None:
            joined.append(a)                    # a constant (or an input that needs no gradient)
        elif isinstance(src, Tensor):
            joined.append(src)                  # a leaf (the stale-graph check saw that it still holds ``a``)
        else:
            t = _fill(_new(Tensor), np.asarray(a), True, src)                # (a 0-d result may be a scalar)
            if State.dual:                      # forward over reverse: the value keeps its tangent
                forward_ad.set_tangent(t, forward_ad.tangent_of_source(src))
            joined.append(t)
    return joined[0] if single else tuple(joined)


def derived(cls: type, inputs: Sequence[Any], array: np.ndarray, ctx: Any = None, saved: Any = None,
            params: dict | None = None) -> Tensor:
    """A Tensor holding ``array`` as if op ``cls`` had computed it from ``inputs`` (nodes or leaves): how an op
    records a saved value derived from its input (LogSumExp's softmax, Var's x - mean) without recomputing it."""
    node = _new(cls)
    node.inputs = tuple(inputs)
    node.needs_input_grad = tuple(p is not None for p in node.inputs)
    node.saved, node.ctx, node.hooks, node.epoch = saved, ctx, None, State.epoch
    node.shape, node.dtype = array.shape, array.dtype
    t = _fill(_new(Tensor), array, True, node)
    if State.dual:                              # forward over reverse: its tangent, from its inputs' tangents
        tangents = [forward_ad.tangent_of_source(p) for p in node.inputs]
        if any(x is not None for x in tangents):
            arrays = [np.zeros(p.shape, p.dtype) for p in node.inputs]      # (shapes and dtypes only)
            tangent = forward_ad.run_jvp(node, tangents, arrays, array, False, params or {})
            forward_ad.set_tangent(t, tangent)
            forward_ad.note(node, tangent)
    return t


class TensorSums(dict):
    """``lazygrad.GradientSums``' protocol for a recorded backward: contributions are Tensors, added with
    recorded (out-of-place) ops."""

    def add(self, key: Any, g: Tensor) -> None:
        """sum[key] += g, recorded."""
        prev = self.get(key)
        self[key] = g if prev is None else prev + g

    @staticmethod
    def dense(g: Tensor) -> Tensor:
        """The gradient as it is (no lazy forms when recording)."""
        return g

    def pop_owned(self, key: Any) -> Tensor:
        """The sum for ``key``; forgets it."""
        return self.pop(key)


# The Tensor namespace: the same names as ``ops.NUMPY``, written with Tensor ops (so they are recorded).

def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _arr(x: Any) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def _where(cond: Any, a: Any, b: Any) -> Tensor:
    from ..tensor import where
    return where(_arr(cond), a, b)


def _expand_dims(x: Any, axes: Any) -> Tensor:
    return _t(x).reshape(np.expand_dims(np.broadcast_to(np.zeros((), np.int8), x.shape), axes).shape)


def _maximum(a: Any, b: Any) -> Tensor:
    return _t(a).maximum(_t(b)) if isinstance(b, Tensor) else _t(a).clamp(min=b)


def _moveaxis(x: Any, source: int, destination: int) -> Tensor:
    nd = x.ndim
    order = [i for i in range(nd) if i != source % nd]
    order.insert(destination % nd, source % nd)
    return _t(x).permute(*order)


def _add_at(shape: tuple, index: Any, g: Any) -> Tensor:
    """zeros(shape) with g added at ``index`` (repeats add up), recorded: a ScatterAdd over flat positions."""
    n = int(np.prod(shape))
    pos = np.asarray(np.arange(n, dtype=np.int64).reshape(shape)[index]).reshape(-1)
    zeros = Tensor._wrap(np.zeros(n, dtype=g.dtype))
    return ops.ScatterAdd.apply(zeros, _t(g).reshape(-1), dim=0, index=pos).reshape(tuple(shape))


def _subtract(a: Any, b: Any, out: Any = None) -> Tensor:
    b = _t(b)                                   # (``out``: numpy's buffer; a new tensor here)
    return _t(a) - b if isinstance(a, np.ndarray) else a - b


def _zeroed(g: Any, index: Any) -> Tensor:
    mask = np.ones(g.shape, dtype=bool)
    mask[index] = False
    return _t(g) * mask


TENSOR = SimpleNamespace(
    where=_where, expand_dims=_expand_dims, broadcast_to=lambda x, shape: _t(x).broadcast_to(shape),
    sum=lambda x, axis=None, keepdims=False: _t(x).sum(axis=axis, keepdims=keepdims),
    exp=lambda x: _t(x).exp(), log=lambda x: _t(x).log(), log1p=lambda x: (1 + _t(x)).log(),
    sin=lambda x: _t(x).sin(), cos=lambda x: _t(x).cos(), sign=lambda x: Tensor._wrap(np.sign(_arr(x))),
    square=lambda x, out=None: _t(x) * _t(x), subtract=_subtract, multiply=lambda a, b, out=None: _t(a) * b,
    empty_like=lambda x: None, maximum=_maximum, zeros_like=lambda x: Tensor._wrap(np.zeros(x.shape, x.dtype)),
    astype=lambda x, dtype: ops.Cast.apply(_t(x), dtype=np.dtype(dtype)),
    flip=lambda x, axis: _t(x).flip(axis), cumsum=lambda x, axis: _t(x).cumsum(axis),
    moveaxis=_moveaxis, swapaxes=lambda x, a, b: _t(x).transpose(a, b),
    permute=lambda x, axes: _t(x).permute(*[int(a) for a in axes]), asarray=_t, sigmoid=lambda x: _t(x).sigmoid(),
    product_sum=lambda shape, lhs, rhs: (_t(lhs).T @ _t(rhs)).reshape(tuple(shape)),
    scatter=_add_at, add_at=_add_at, put_unique=_add_at, zeroed=_zeroed, dense=lambda g: g, mm=lambda a, b: _t(a) @ _t(b))


from . import forward_ad  # noqa: E402  (forward mode reads recorded_saved and TENSOR from this module)
from . import functional  # noqa: E402
