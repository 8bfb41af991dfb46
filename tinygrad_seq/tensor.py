"""The engine: ``Tensor``, the graph ``Node`` and reverse-mode ``backward``.

Every operation on tensors that require a gradient records one ``Node``: the
op, the nodes (or leaf tensors) it read, and the arrays its gradient rule
needs.  ``backward`` walks those nodes once, in reverse topological order, and
asks each for its vector-Jacobian product (VJP)::

    dL/d input_i  =  VJP_i(dL/d output)

A tensor read by many ops (a weight used at every time step) receives the sum
of all its contributions before its own VJP runs, so backpropagation through
time needs no special code: it is this loop over an unrolled graph.

Read in this order: the ``Node`` (what one recorded op keeps), ``backward``
(the loop), then ``Tensor``.  The ops themselves, each forward beside its VJP,
are the table in ``ops.py``; the speed tricks of the loop (lazy gradient
forms, garbage-collector deferral) live in ``lazygrad.py`` and ``_gc.py``.

Why ``ops`` is imported at the bottom of this file: the ops subclass ``Node``
(defined here), and ``Tensor``'s methods are the ops' front door (written out
here so readers and editors see every method).  Each module needs the other,
so ``ops`` is imported once this module is complete: a cycle by design, kept
in one place.
"""
from __future__ import annotations

import functools
import os
import sys
import weakref
from collections import namedtuple
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import lazygrad
from ._gc import full_gc_deferred

__all__ = [
    "Tensor", "Node", "ShapeError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
    "is_grad_enabled", "set_default_dtype", "get_default_dtype", "manual_seed", "detect_anomaly",
    "AnomalyError", "device",
]


class ShapeError(ValueError):
    """An op was given shapes it cannot combine; the message names the op and the shapes."""


class AnomalyError(RuntimeError):
    """Raised under ``detect_anomaly()``: the first op whose output or gradient is not finite."""


# ----------------------------------------------------------------------------
# global state: grad mode, anomaly mode, default dtype, random generator
# ----------------------------------------------------------------------------

class _State:
    grad_enabled = True
    anomaly = False                    # detect_anomaly(): check every op's output and gradient
    default_dtype = np.dtype(np.float32)
    rng = np.random.default_rng()
    epoch = 0                          # counts in-place changes; see "In-place changes" below


def is_grad_enabled() -> bool:
    """Whether ops record a graph right now (False inside ``no_grad()``)."""
    return _State.grad_enabled


class no_grad:
    """``with tg.no_grad():`` ops inside record no graph and save nothing (also a decorator: ``@tg.no_grad()``)."""

    mode = False

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_State.grad_enabled)
        _State.grad_enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _State.grad_enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            prev = _State.grad_enabled
            _State.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _State.grad_enabled = prev
        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


class enable_grad(no_grad):
    """``with tg.enable_grad():`` turns recording back on inside ``no_grad``."""

    mode = True


class inference_mode(no_grad):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``inference_mode(False)`` changes nothing)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = not mode


class set_grad_enabled(no_grad):
    """``tg.set_grad_enabled(False)`` switches recording off now (as in PyTorch); as a context manager it
    switches back to the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {type(mode).__name__} {mode!r}")
        self.mode = bool(mode)
        self.prev = _State.grad_enabled
        _State.grad_enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _State.grad_enabled = self.prev


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats and lists of floats become (float32 unless changed)."""
    dt = _dtype_arg("set_default_dtype", dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: dtype must be a floating dtype (tg.float32 or tg.float64), got {dt}")
    _State.default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _State.default_dtype


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random factory, initializer and dropout mask."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
    _State.rng = np.random.default_rng(int(seed))


class detect_anomaly:
    """``with tg.detect_anomaly():`` check every op's output in forward and every gradient in backward.

    The first value that is not finite where the op's own inputs were raises
    ``AnomalyError`` naming the op, the shapes, and the file and line of your
    code that created the op (for a NaN born in backward: the op whose VJP
    produced it, and where that op was created).  Off by default; when off
    it costs one flag test per op.
    """

    def __init__(self, mode: bool = True):
        self.mode = mode
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_State.anomaly)
        _State.anomaly = self.mode

    def __exit__(self, *exc: Any) -> None:
        _State.anomaly = self._prev.pop()


class device:
    """``tg.device("cpu")``: tinygrad_seq computes on the CPU with numpy; any other device is refused."""

    def __init__(self, type: str = "cpu", index: int | None = None):  # noqa: A002 (PyTorch's name)
        self.type = _check_device(type)
        self.index = index

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"


_DTYPE_NAMES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "double",
                "float", "long", "int", "half"}


def _check_device(dev: Any) -> str:
    name = str(dev.type if isinstance(dev, device) else dev)
    if isinstance(dev, str) and dev in _DTYPE_NAMES:
        raise RuntimeError(f"device {name!r} is not available: {name!r} is a dtype name, not a device; pass a "
                           f"dtype object (tg.{name})")
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"device {name!r} is not available: tinygrad_seq computes on the CPU with numpy "
                           "(use 'cpu', or leave the device out)")
    return "cpu"


# ----------------------------------------------------------------------------
# the graph node
# ----------------------------------------------------------------------------

class Node:
    """One recorded op: the base class of every op in ``ops.py``.

    An op subclass defines ``forward(*arrays, **params) -> array`` and
    ``backward(g) -> tuple`` (one gradient or ``None`` per input); ``apply``
    runs the forward and, when a graph is being recorded, keeps the node.

    What a node keeps:
      ``inputs``            per input: its node, the input itself if it is a
                            leaf that requires grad, or ``None`` (once backward
                            has freed the graph, iterating it raises)
      ``needs_input_grad``  which inputs want a gradient (PyTorch's name)
      ``saved``, ``ctx``    the arrays the VJP reads, and small metadata
      ``hooks``, ``retained``  gradient hooks, and a tensor that retains its grad
      ``epoch``             the in-place change counter when it was recorded
      ``shape``, ``dtype``  of the tensor it produced (for viewing the graph)

    Walk a graph by hand with ``t.grad_fn.name`` and ``t.grad_fn.next_functions``.
    """

    __slots__ = ("inputs", "needs_input_grad", "saved", "ctx", "hooks", "retained", "epoch", "shape", "dtype",
                 "created_at")
    name = "node"

    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g: np.ndarray) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: "Tensor", **params: Any) -> "Tensor":
        """Run the op on tensors; record a node if grad mode is on and an input requires grad.

        One and two inputs are spelled out rather than looped over: this runs for
        every op of every time step, and a comprehension costs a frame in CPython.
        """
        node = object.__new__(cls)
        n = len(inputs)
        if n == 1:
            x = inputs[0]
            needs = _ONE if x.requires_grad and _State.grad_enabled else None
            arrays = (x.array,)
        elif n == 2:
            a, b = inputs
            needs = _NEEDS[a.requires_grad, b.requires_grad] if _State.grad_enabled else None
            arrays = (a.array, b.array)
        else:
            flags = tuple([t.requires_grad for t in inputs])
            needs = flags if _State.grad_enabled and True in flags else None
            arrays = [t.array for t in inputs]
        node.needs_input_grad = needs
        try:
            out = node.forward(*arrays, **params)
        except ShapeError:
            raise
        except ValueError as e:
            shapes = " and ".join(str(t.shape) for t in inputs)
            why = "cannot be broadcast together" if "broadcast" in str(e) else str(e)
            raise ShapeError(f"{cls.name}: shapes {shapes}: {why}") from None
        if type(out) is not _ndarray:            # numpy returns scalars for 0-d results: keep arrays
            out = np.asarray(out)
        t = object.__new__(Tensor)
        t.array = out
        t.grad = None
        t._hooks = None
        if needs is not None:
            # per input: its node, the leaf itself, or None when it needs no gradient
            if n == 1:
                node.inputs = (x.grad_fn or x,)
            elif n == 2:
                node.inputs = ((a.grad_fn or a) if needs[0] else None, (b.grad_fn or b) if needs[1] else None)
            else:
                node.inputs = tuple([(x.grad_fn or x) if x.requires_grad else None for x in inputs])
            node.hooks = None
            node.retained = None
            node.epoch = _State.epoch
            node.shape = out.shape
            node.dtype = out.dtype
            t.requires_grad = True
            t.grad_fn = node
        else:
            t.requires_grad = False
            t.grad_fn = None
        if _State.anomaly:
            _anomaly_forward(node, inputs, out, needs is not None)
        return t

    # -- the graph, for walking it by hand --------------------------------------
    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of ``inputs``: ``((node or AccumulateGrad(leaf) or None, 0), ...)``."""
        return tuple((AccumulateGrad(p) if isinstance(p, Tensor) else p, 0) for p in self.inputs)

    @property
    def saved_shapes(self) -> tuple:
        """The shapes of the arrays this node saved for its VJP (empty once the graph is freed)."""
        return tuple(a.shape for a in _saved_arrays(getattr(self, "saved", None)))

    def register_hook(self, fn: Callable) -> "_Handle":
        """Call ``fn(grad)`` with this node's output gradient (a Tensor) in backward; a returned tensor replaces it."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return _Handle(self.hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name}>"


class _Freed(tuple):
    """What a node's ``inputs`` become once backward has freed the graph: walking it again explains why not."""

    def __iter__(self):
        raise RuntimeError("backward: this graph was already freed by an earlier backward(); pass "
                           "retain_graph=True to the first call to backward twice")


_FREED = _Freed()
_ndarray = np.ndarray
_ONE = (True,)                # the needs_input_grad of every recorded one-input node (shared: one object fewer)
_NEEDS = {(True, True): (True, True), (True, False): (True, False), (False, True): (False, True),
          (False, False): None}


class AccumulateGrad:
    """Where a leaf's gradient ends up (PyTorch's name); ``.variable`` is the leaf tensor."""

    name = "AccumulateGrad"

    def __init__(self, variable: "Tensor"):
        self.variable = variable

    next_functions: tuple = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad {tuple(self.variable.shape)}>"


class _Handle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook away (also callable, for old code)."""

    def __init__(self, hooks: list, fn: Callable):
        self.hooks, self.fn = hooks, fn

    def remove(self) -> None:
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)

    __call__ = remove


def _saved_arrays(saved: Any) -> tuple:
    if saved is None:
        return ()
    return tuple(a for a in (saved if type(saved) is tuple else (saved,)) if type(a) is np.ndarray)


# ----------------------------------------------------------------------------
# backward: order the nodes, then for each take its gradient, run hooks, call its VJP, accumulate
# ----------------------------------------------------------------------------

def _topological_order(roots: Iterable[Node]) -> list[Node]:
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


def _backward(roots: Sequence["Tensor"], grads: Sequence[np.ndarray], retain_graph: bool,
              capture: dict | None = None) -> None:
    """The chain rule over the graph below ``roots``, seeded with ``grads`` (dL/d root).

    Leaves' gradients go into their ``.grad``; with ``capture`` ({tensor: None}),
    only the gradients of those tensors are filled in, and no ``.grad`` changes.
    """
    sums = lazygrad.GradientSums()
    for r, g in zip(roots, grads):
        sums.add(r.grad_fn, g)
    wanted = {t.grad_fn: t for t in capture if t.grad_fn is not None} if capture is not None else None
    order = _topological_order([r.grad_fn for r in roots])
    epoch, anomaly = _State.epoch, _State.anomaly
    for node in order:
        g = sums.pop(node, None)               # all contributions, summed
        if node.epoch != epoch:                # something changed in place since the node was recorded
            _check_saved(node)
        if g is not None:
            if type(g) is not np.ndarray:      # a lazy sum (lazygrad.py): make it an array
                g = lazygrad.dense(g)
            if wanted and node in wanted:      # autograd.grad's answer: before the tensor's hooks, as PyTorch's
                capture[wanted[node]] = g.copy()
            if node.hooks:
                g = _run_hooks(node.hooks, g, node.name)
            if node.retained is not None:
                _retain(node.retained, g)
            grads_in = node.backward(g)
            if anomaly:
                _anomaly_backward(node, g, grads_in)
            for parent, gp in zip(node.inputs, grads_in):
                if parent is not None and gp is not None:
                    sums.add(parent, gp)
        if not retain_graph:
            node.saved = None                  # free the graph as we go
            node.inputs = _FREED
    for leaf in list(sums):                    # only leaves are left
        g = sums.pop_owned(leaf)
        if capture is not None:
            if leaf in capture:
                capture[leaf] = g
            continue
        _accumulate_leaf(leaf, g)


def _accumulate_leaf(leaf: "Tensor", g: np.ndarray) -> None:
    """leaf.grad += g (after the leaf's hooks), in the leaf's dtype."""
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g, "the leaf")
    if g.dtype != leaf.array.dtype:
        g = g.astype(leaf.array.dtype)
    leaf.grad = Tensor._wrap(g) if leaf.grad is None else Tensor._wrap(leaf.grad.array + g)


def _retain(ref: Callable, g: np.ndarray) -> None:
    t = ref()
    if t is not None:
        t.grad = Tensor._wrap(g.copy() if t.grad is None else t.grad.array + g)


def _run_hooks(hooks: list, g: np.ndarray, where: str) -> np.ndarray:
    for hook in list(hooks):
        out = hook(Tensor._wrap(g))
        if out is None:
            continue
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
# In-place changes.  A node keeps arrays for its VJP; if one of them changes in
# place before backward (an optimizer step, ``p -= lr * p.grad``, ``load_state_dict``),
# the gradient would silently be wrong.  Every in-place change therefore calls
# ``_mark_modified``, which bumps a global counter (``_State.epoch``) and notes,
# for the array's underlying buffer (views and ``.data`` share one), the count at
# which it changed.  A node records the counter when it is made; ``backward``
# compares one integer per node and only when they differ looks at what the node
# saved.
# ----------------------------------------------------------------------------

_MODIFIED: dict = {}            # id(buffer) -> [weakref(buffer), epoch of last change, changes, label]


def _buffer(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _mark_modified(t: "Tensor") -> None:
    """Record that ``t``'s values were changed in place."""
    _State.epoch += 1
    buf = _buffer(t.array)
    key = id(buf)
    entry = _MODIFIED.get(key)
    if entry is None or entry[0]() is not buf:
        def forget(ref: Any, key: int = key) -> None:
            if _MODIFIED.get(key, (None,))[0] is ref:
                del _MODIFIED[key]
        entry = _MODIFIED[key] = [weakref.ref(buf, forget), 0, 0, None]
    entry[1] = _State.epoch
    entry[2] += 1
    label = getattr(t, "_name", None)
    if label:
        entry[3] = label


def _version(a: np.ndarray) -> int:
    buf = _buffer(a)
    entry = _MODIFIED.get(id(buf))
    return entry[2] if entry is not None and entry[0]() is buf else 0


def _check_saved(node: Node) -> None:
    """Raise if an array ``node`` saved for its VJP changed in place after the node was recorded."""
    for a in _saved_arrays(getattr(node, "saved", None)):     # (an op that saves nothing never set it)
        buf = _buffer(a)
        entry = _MODIFIED.get(id(buf))
        if entry is not None and entry[0]() is buf and entry[1] > node.epoch:
            what = f"the parameter '{entry[3]}'" if entry[3] else "a tensor"
            raise RuntimeError(
                f"backward: {what} of shape {buf.shape} that '{node.name}' saved for its gradient was modified in "
                f"place after the graph was built (by an optimizer step, +=, load_state_dict, ...), so the "
                f"gradient would be wrong. Run the forward pass again after changing it (or change a .clone()).")


# ----------------------------------------------------------------------------
# anomaly detection (only under detect_anomaly())
# ----------------------------------------------------------------------------

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """'file:line' of the innermost caller outside this package."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PACKAGE):
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


def _anomaly_forward(node: Node, inputs: Sequence["Tensor"], out: np.ndarray, recorded: bool) -> None:
    where = _user_frame()
    if recorded:
        node.created_at = where
    if out.dtype.kind in "fc" and not np.isfinite(out).all() and \
            all(t.array.dtype.kind not in "fc" or np.isfinite(t.array).all() for t in inputs):
        bad = "nan" if np.isnan(out).any() else "inf"
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise AnomalyError(f"detect_anomaly: '{node.name}' produced {bad} in forward from finite inputs of "
                           f"shape {shapes} (output shape {out.shape}), created at {where}")


def _anomaly_backward(node: Node, g: np.ndarray, grads_in: tuple) -> None:
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


# ----------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------

def _to_array(data: Any, dtype: Any) -> np.ndarray:
    """``data`` as a new ndarray: PyTorch's ``tensor()`` rules (floats -> default dtype, ints -> int64)."""
    if isinstance(data, Tensor):
        data = data.array
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"tensor: cannot make a tensor from this data: {e}") from None
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        what = type(data).__name__ if arr.dtype == object and not isinstance(data, np.ndarray) else arr.dtype
        raise TypeError(f"tensor: cannot make a tensor from {what} data (expected numbers, booleans, "
                        "nested lists of them, or a numeric numpy array)")
    if dtype is not None:
        dt = _dtype_arg("tensor", dtype)
        if dt.kind in "biu" and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            raise ValueError(f"tensor: cannot convert non-finite values (nan or inf) to {dt}")
        return arr.astype(dt, copy=False)
    if arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
        arr = arr.astype(_State.default_dtype)
    elif arr.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        arr = arr.astype(np.int64)
    return arr


def _check_grad_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.kind != "f":
        raise TypeError(f"{where}: only floating-point tensors can require grad, this one is {dtype}")


MinMax = namedtuple("MinMax", ["values", "indices"])
MinMax.__doc__ = "What ``max(dim)``/``min(dim)``/``topk``/``sort`` return: ``(values, indices)``, PyTorch's named tuple."


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``Tensor(data, requires_grad=False, dtype=None)`` follows PyTorch's
    ``torch.Tensor``: Python numbers and lists become the default float dtype
    (float32), integers included; a numpy array is copied, floating arrays keep
    their dtype (float64 stays float64), integer and bool arrays become floats.
    ``tg.tensor(data)`` infers the dtype instead (ints stay int64).

    ``t.array`` is the numpy array the tensor holds (``t.numpy()`` returns it);
    ``t.data`` is PyTorch's: a tensor sharing that array, cut from the graph.
    """

    __slots__ = ("array", "requires_grad", "grad", "grad_fn", "_hooks", "__weakref__")
    __array_ufunc__ = None          # ndarray <op> Tensor defers to Tensor's reflected ops
    __hash__ = object.__hash__      # == is elementwise, identity is the hash

    def __init__(self, data: Any = (), requires_grad: bool = False, dtype: Any = None, device: Any = None):
        if device is not None:
            _check_device(device)
        arr = _to_array(data, dtype)
        if dtype is None and arr.dtype.kind in "biu":
            arr = arr.astype(_State.default_dtype)
        if requires_grad is not False and requires_grad is not True:
            _bool_arg("Tensor", "requires_grad", requires_grad)
        if requires_grad:
            _check_grad_dtype(arr.dtype, "Tensor")
        self.array = arr
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self._hooks = None

    @staticmethod
    def _wrap(arr: Any) -> "Tensor":
        """A constant tensor around ``arr`` without copying (internal)."""
        t = object.__new__(Tensor)
        t.array = arr if type(arr) is np.ndarray else np.asarray(arr)
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._hooks = None
        return t

    # -- attributes ---------------------------------------------------------
    shape = property(lambda self: self.array.shape, doc="The shape, a tuple (``size()`` is PyTorch's call form).")
    ndim = property(lambda self: self.array.ndim, doc="The number of dimensions.")
    dtype = property(lambda self: self.array.dtype, doc="The numpy dtype (``tg.float32`` etc. are numpy dtypes).")
    is_leaf = property(lambda self: self.grad_fn is None, doc="True unless the tensor was computed by a recorded op.")
    device = property(lambda self: device("cpu"), doc="Always the CPU.")
    is_cuda = False

    @property
    def data(self) -> "Tensor":
        """PyTorch's ``.data``: a tensor sharing this one's array, cut from the graph (changes show through)."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        arr = value.array if isinstance(value, Tensor) else np.asarray(value)
        if self.requires_grad:
            _check_grad_dtype(arr.dtype, ".data =")
        self.array = arr

    @property
    def _version(self) -> int:
        """How many times this tensor's values were changed in place (PyTorch's counter)."""
        return _version(self.array)

    def size(self, dim: int | None = None) -> Any:
        """The shape (``size()``) or one length (``size(dim)``), as PyTorch's ``size``."""
        if dim is None:
            return self.array.shape
        return self.array.shape[_dim_nd(dim, self.ndim, "size")]

    def numel(self) -> int:
        """The number of elements."""
        return self.array.size

    def dim(self) -> int:
        """The number of dimensions."""
        return self.array.ndim

    def numpy(self) -> np.ndarray:
        """The numpy array this tensor holds (shared, not copied; 0-d included)."""
        return self.array

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item: only a one-element tensor can be converted to a Python number, "
                             f"this one has shape {self.shape}")
        return self.array.item()

    def tolist(self) -> Any:
        """Nested Python lists of the values (a number for a 0-d tensor)."""
        return self.array.tolist()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory, as in PyTorch)."""
        return Tensor._wrap(self.array)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy is False and dtype is not None and np.dtype(dtype) != self.array.dtype:
            raise ValueError(f"cannot view a {self.array.dtype} tensor as {np.dtype(dtype)} without a copy")
        if copy:
            return np.array(self.array, dtype=dtype, copy=True)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __iter__(self):
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} with more than one value is "
                               "ambiguous (use .any() or .all())")
        return bool(self.array.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index "
                            f"(this one is {self.dtype} of shape {self.shape})")
        return int(self.array.item())

    def __repr__(self) -> str:
        body = np.array2string(self.array, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
        extra = ""
        kind = self.array.dtype.kind
        if (kind == "f" and self.array.dtype != _State.default_dtype) or (kind in "iu" and self.array.dtype != np.int64):
            extra += f", dtype={self.array.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd -----------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient``: dL/d(self), needed unless ``self`` has one element (then 1).
        The result is the vector-Jacobian product: every leaf's ``.grad`` grows
        by  gradient . d(self)/d(leaf)  (added to what is there: call
        ``zero_grad()`` between steps).  Non-leaf tensors keep a ``.grad`` only
        after ``retain_grad()``.

        ``retain_graph``: the graph's saved arrays are freed as backward walks
        it, so a second ``backward()`` through the same graph raises; pass
        ``retain_graph=True`` to the first call to keep them.  Changing a saved
        tensor in place between the two (an optimizer step) raises too.
        ``create_graph=True`` (higher-order gradients) is not supported.
        """
        from .autograd import backward
        backward([self], None if gradient is None else [gradient], retain_graph=retain_graph,
                 create_graph=create_graph, inputs=inputs)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad: this tensor does not require grad")
            return
        self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.retained is not None and self.grad_fn.retained() is self

    def register_hook(self, fn: Callable[["Tensor"], Any]) -> _Handle:
        """Call ``fn(grad)`` when this tensor's gradient is ready; a returned tensor replaces it.

        Returns a handle whose ``.remove()`` takes the hook away.
        """
        if not callable(fn):
            raise TypeError(f"register_hook: fn must be callable (grad -> None or a new grad), got {type(fn).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(fn)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` on a leaf, in place; returns the tensor."""
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf variables; "
                               "use .detach() first")
        if requires_grad is not False and requires_grad is not True:
            _bool_arg("requires_grad_", "requires_grad", requires_grad)
        if requires_grad:
            _check_grad_dtype(self.array.dtype, "requires_grad_")
        self.requires_grad = bool(requires_grad)
        return self

    # -- arithmetic ----------------------------------------------------------
    def __add__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Add.apply(*_promote(self, o))
        return _ops.Add.apply(self, o)

    def __radd__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Add.apply(*_promote(o, self))
        return _ops.Add.apply(o, self)

    def __sub__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Sub.apply(*_promote(self, o))
        return _ops.Sub.apply(self, o)

    def __rsub__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Sub.apply(*_promote(o, self))
        return _ops.Sub.apply(o, self)

    def __mul__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Mul.apply(*_promote(self, o))
        return _ops.Mul.apply(self, o)

    def __rmul__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Mul.apply(*_promote(o, self))
        return _ops.Mul.apply(o, self)

    def __truediv__(self, other: Any) -> "Tensor":
        if self.array.dtype.kind in "biu" and not _is_float_operand(other):
            return self.float() / other             # true division of integers gives floats, as in PyTorch
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Div.apply(*_promote(self, o))
        return _ops.Div.apply(self, o)

    def __rtruediv__(self, other: Any) -> "Tensor":
        if self.array.dtype.kind in "biu" and not _is_float_operand(other):
            return other / self.float()
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Div.apply(*_promote(o, self))
        return _ops.Div.apply(o, self)

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            if self.array.dtype.kind in "biu" and isinstance(other, int) and other < 0:
                raise RuntimeError(f"pow: integers to negative integer powers are not allowed (a {self.dtype} "
                                   f"tensor ** {other}); convert with .float() first")
            return _ops.PowScalar.apply(self, p=other)
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Pow.apply(*_promote(self, o))
        return _ops.Pow.apply(self, o)

    def __rpow__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.Pow.apply(*_promote(o, self))
        return _ops.Pow.apply(o, self)

    def __matmul__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.MatMul.apply(*_promote(self, o))
        return _ops.MatMul.apply(self, o)

    def __rmatmul__(self, other: Any) -> "Tensor":
        o = _lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return _ops.MatMul.apply(*_promote(o, self))
        return _ops.MatMul.apply(o, self)

    def __neg__(self) -> "Tensor":
        return _ops.Neg.apply(self)

    def neg(self) -> "Tensor":
        """-x, elementwise."""
        return _ops.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return _ops.Abs.apply(self)

    def add(self, other: Any, alpha: float = 1) -> "Tensor":
        """self + alpha * other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: float = 1) -> "Tensor":
        """self - alpha * other."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> "Tensor":
        """self * other."""
        return self * other

    def div(self, other: Any) -> "Tensor":
        """self / other."""
        return self / other

    def pow(self, exponent: Any) -> "Tensor":
        """self ** exponent."""
        return self ** exponent

    def matmul(self, other: Any) -> "Tensor":
        """Matrix product (``@``), numpy's rules for 1-d and batched operands."""
        return self @ other

    def mm(self, other: Any) -> "Tensor":
        """2-d matrix product (PyTorch's ``mm``)."""
        _need_ndim("mm", self, 2, other, 2)
        return self @ other

    def bmm(self, other: Any) -> "Tensor":
        """Batched matrix product of (B, n, k) and (B, k, m) (PyTorch's ``bmm``)."""
        _need_ndim("bmm", self, 3, other, 3)
        return self @ other

    # -- comparisons (no gradient) ------------------------------------------
    def _compare(self, other: Any, fn: Callable, name: str) -> "Tensor":
        o = other.array if isinstance(other, Tensor) else other
        try:
            return Tensor._wrap(fn(self.array, o))
        except ValueError:
            raise ShapeError(f"{name}: shapes {self.shape} and {np.shape(o)} cannot be broadcast together") from None

    def __lt__(self, o: Any) -> "Tensor":
        return self._compare(o, np.less, "lt")

    def __le__(self, o: Any) -> "Tensor":
        return self._compare(o, np.less_equal, "le")

    def __gt__(self, o: Any) -> "Tensor":
        return self._compare(o, np.greater, "gt")

    def __ge__(self, o: Any) -> "Tensor":
        return self._compare(o, np.greater_equal, "ge")

    def __eq__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(o, np.equal, "eq")

    def __ne__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(o, np.not_equal, "ne")

    lt, le, gt, ge, eq, ne = __lt__, __le__, __gt__, __ge__, __eq__, __ne__

    def __invert__(self) -> "Tensor":
        if self.array.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) needs a bool or integer tensor, got {self.dtype}")
        return Tensor._wrap(~self.array)

    def __and__(self, o: Any) -> "Tensor":
        return self._compare(o, np.bitwise_and, "and")

    def __or__(self, o: Any) -> "Tensor":
        return self._compare(o, np.bitwise_or, "or")

    def __xor__(self, o: Any) -> "Tensor":
        return self._compare(o, np.bitwise_xor, "xor")

    def all(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """True where every element (over ``dim``) is true."""
        return Tensor._wrap(np.all(self.array, axis=_axes_arg(dim, self.ndim, "all"), keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """True where some element (over ``dim``) is true."""
        return Tensor._wrap(np.any(self.array, axis=_axes_arg(dim, self.ndim, "any"), keepdims=keepdim))

    def equal(self, other: Any) -> bool:
        """True if both have the same shape and values (PyTorch's ``torch.equal``)."""
        o = other.array if isinstance(other, Tensor) else np.asarray(other)
        return self.shape == o.shape and bool(np.array_equal(self.array, o))

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        """Whether all values are within ``atol + rtol * |other|`` of ``other``."""
        o = other.array if isinstance(other, Tensor) else _to_array(other, None)
        try:
            np.broadcast_shapes(self.shape, o.shape)
        except ValueError:
            raise ShapeError(f"allclose: shapes {self.shape} and {o.shape} cannot be broadcast together") from None
        return bool(np.allclose(self.array, o, rtol=rtol, atol=atol, equal_nan=equal_nan))

    # -- indexing -------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        if type(index) is not int and type(index) is not slice:   # ints and slices need no conversion
            index = _index_arrays(index)
        return _ops.GetItem.apply(self, index=index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``: in place, as in PyTorch (recorded when a gradient flows through)."""
        index = _index_arrays(index)
        v = _lift(value, self)
        self._inplace("setitem", lambda: _ops.SetItem.apply(self, v, index=index),
                      lambda a: a.__setitem__(index, v.array), v)

    # -- elementwise functions ------------------------------------------------
    def exp(self) -> "Tensor":
        """e^x, elementwise."""
        return _ops.Exp.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def log(self) -> "Tensor":
        """Natural logarithm, elementwise."""
        return _ops.Log.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def sqrt(self) -> "Tensor":
        """Square root, elementwise."""
        return _ops.Sqrt.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def sin(self) -> "Tensor":
        """sin x, elementwise."""
        return _ops.Sin.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def cos(self) -> "Tensor":
        """cos x, elementwise."""
        return _ops.Cos.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def abs(self) -> "Tensor":
        """|x|, elementwise."""
        return _ops.Abs.apply(self)

    def tanh(self) -> "Tensor":
        """tanh x, elementwise."""
        return _ops.Tanh.apply(self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype))

    def sigmoid(self) -> "Tensor":
        """1 / (1 + e^-x), elementwise, without overflow."""
        return _ops.Sigmoid.apply(self)

    def relu(self) -> "Tensor":
        """max(x, 0), elementwise."""
        return _ops.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        """x if x > 0 else negative_slope * x."""
        if isinstance(negative_slope, Tensor) and negative_slope.numel() == 1:
            negative_slope = negative_slope.item()          # a constant, as before (no gradient to the slope)
        return _ops.LeakyRelu.apply(self, slope=_number_arg("leaky_relu", "negative_slope", negative_slope))

    def softplus(self) -> "Tensor":
        """log(1 + e^x), elementwise, without overflow."""
        return _ops.Softplus.apply(self if self.array.dtype.kind == "f" else self.to(_State.default_dtype))

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":  # noqa: A002
        """Limit every element to [min, max] (either may be None)."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        for name, v in (("min", min), ("max", max)):
            if v is not None and not isinstance(v, Tensor) and \
                    (isinstance(v, (str, bytes)) or not np.issubdtype(np.asarray(v).dtype, np.number)):
                raise TypeError(f"clamp: {name} must be a number or None, got {type(v).__name__} {v!r}")
        return _ops.Clip.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        """Elementwise maximum with ``other`` (ties share the gradient)."""
        return _ops.Maximum.apply(self, _lift(other, self))

    def minimum(self, other: Any) -> "Tensor":
        """Elementwise minimum with ``other`` (ties share the gradient)."""
        return _ops.Minimum.apply(self, _lift(other, self))

    def where(self, condition: Any, other: Any) -> "Tensor":
        """``self`` where ``condition``, else ``other`` (PyTorch's ``x.where(cond, y)``)."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where ``mask`` is true, ``self`` elsewhere."""
        return where(mask, _lift(value, self), self)

    # -- reductions -----------------------------------------------------------
    # Each takes PyTorch's ``dim``/``keepdim`` or numpy's ``axis``/``keepdims``.
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """Sum over all elements or over ``dim`` (an int or a tuple)."""
        return self._reduce(_ops.Sum, dim, keepdim, axis, keepdims)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """Mean over all elements or ``dim`` (a floating tensor only)."""
        if self.array.dtype.kind != "f":
            raise TypeError(f"mean: needs a floating-point tensor, got {self.dtype} (use .float() first)")
        if self.array.size == 0:
            axes = _axes_arg(axis if axis is not None else dim, self.ndim, "mean")
            n = int(np.prod([self.shape[a] for a in (range(self.ndim) if axes is None else axes)]))
            if n == 0:
                over = "" if axes is None else f" over dim {axes if len(axes) > 1 else axes[0]}"
                raise ShapeError(f"mean: the mean of an empty tensor (shape {self.shape}){over} is undefined")
        return self._reduce(_ops.Mean, dim, keepdim, axis, keepdims)

    def logsumexp(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
                  keepdims: bool | None = None) -> "Tensor":
        """log(sum(e^x)) over ``dim``, computed with the max subtracted first."""
        return self._floating()._reduce(_ops.LogSumExp, dim, keepdim, axis, keepdims)

    def amax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """The largest value (over ``dim``); ties share the gradient evenly."""
        return self._reduce(_ops.Max, dim, keepdim, axis, keepdims)

    def amin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """The smallest value (over ``dim``); ties share the gradient evenly."""
        return self._reduce(_ops.Min, dim, keepdim, axis, keepdims)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: int | None = None,
            axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """Variance with Bessel's correction by default (``correction=1``; ``unbiased=False`` means 0)."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        _number_arg("var", "correction", correction, 0)
        return self._reduce(_ops.Var, dim, keepdim, axis, keepdims, correction=correction)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> "Tensor":
        """Standard deviation: the square root of ``var``."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """The p-norm (2 by default; 1, any p > 0, or inf) over all elements or ``dim``."""
        if isinstance(p, str) and p != "fro" or not isinstance(p, (str, int, float, np.integer, np.floating)) \
                or isinstance(p, bool) or p != p:
            raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
        if p == 0:                                  # the number of non-zero elements (no gradient)
            return Tensor._wrap((self.array != 0).sum(axis=_axes_arg(dim, self.ndim, "norm"), keepdims=keepdim)
                                .astype(self.dtype if self.dtype.kind == "f" else _State.default_dtype))
        if p in ("fro", 2):
            return (self * self).sum(dim, keepdim).sqrt()
        if p == float("inf"):
            return self.abs().amax(dim, keepdim)
        if p == 1:
            return self.abs().sum(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def _reduce(self, op: type, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None, **params: Any) -> "Tensor":
        axes = _axes_arg(axis if axis is not None else dim, self.ndim, op.name)
        keep = keepdim if keepdims is None else keepdims
        if keep is not True and keep is not False:
            keep = _bool_arg(op.name, "keepdim", keep)
        return op.apply(self, axis=axes, keepdims=keep, **params)

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> Any:
        """``max()``: the largest value.  ``max(dim)``: ``(values, indices)`` along ``dim`` (PyTorch's)."""
        return self._extreme(np.argmax, _ops.Max, dim, keepdim, axis, keepdims)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> Any:
        """``min()``: the smallest value.  ``min(dim)``: ``(values, indices)`` along ``dim`` (PyTorch's)."""
        return self._extreme(np.argmin, _ops.Min, dim, keepdim, axis, keepdims)

    def _extreme(self, arg: Callable, op: type, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None) -> Any:
        if isinstance(dim, Tensor):                 # torch.max(a, b): elementwise
            return self.maximum(dim) if op is _ops.Max else self.minimum(dim)
        d = axis if axis is not None else dim
        keep = bool(keepdim if keepdims is None else keepdims)
        if d is None:
            return op.apply(self, axis=None, keepdims=keep)
        d = _dim(d, self.ndim, op.name)
        if self.shape and self.shape[d] == 0:
            raise ShapeError(f"{op.name}: cannot reduce over dimension {d} of size 0 (shape {self.shape})")
        idx = arg(self.array, axis=d, keepdims=True) if self.ndim else np.zeros((), np.int64)
        values = self.gather(d, Tensor._wrap(idx)) if self.ndim else self
        if not keep and self.ndim:
            values, idx = values.squeeze(d), np.squeeze(idx, d)
        return MinMax(values, Tensor._wrap(idx.astype(np.int64)))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> "Tensor":
        """Index of the largest value (over ``dim``; flattened if None), int64."""
        d = axis if axis is not None else dim
        if self.array.size == 0:
            raise ShapeError(f"argmax: cannot take the argmax of an empty tensor (shape {self.shape})")
        return Tensor._wrap(np.argmax(self.array, axis=None if d is None else _dim(d, self.ndim, "argmax"),
                                      keepdims=keepdim).astype(np.int64))

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> "Tensor":
        """Index of the smallest value (over ``dim``; flattened if None), int64."""
        d = axis if axis is not None else dim
        if self.array.size == 0:
            raise ShapeError(f"argmin: cannot take the argmin of an empty tensor (shape {self.shape})")
        return Tensor._wrap(np.argmin(self.array, axis=None if d is None else _dim(d, self.ndim, "argmin"),
                                      keepdims=keepdim).astype(np.int64))

    def cumsum(self, dim: int, *, axis: int | None = None) -> "Tensor":
        """Running sums along ``dim``."""
        return self._along(_ops.CumSum, axis if axis is not None else dim)

    # -- softmax family (numerically careful primitives) -----------------------
    def softmax(self, dim: int = -1, *, axis: int | None = None) -> "Tensor":
        """e^x / sum e^x along ``dim``, computed with the max subtracted first."""
        return self._floating()._along(_ops.Softmax, axis if axis is not None else dim)

    def log_softmax(self, dim: int = -1, *, axis: int | None = None) -> "Tensor":
        """x - logsumexp(x) along ``dim``, exact for ties and huge logits."""
        return self._floating()._along(_ops.LogSoftmax, axis if axis is not None else dim)

    def _floating(self) -> "Tensor":
        """Integer and bool tensors converted to the default float dtype (for ops that only make sense on floats)."""
        return self if self.array.dtype.kind in "fc" else self.to(_State.default_dtype)

    def _along(self, op: type, dim: Any) -> "Tensor":
        d = _dim(dim, self.ndim, op.name)
        if self.ndim == 0:                          # PyTorch accepts dim 0 / -1 on a 0-d tensor
            return op.apply(self.reshape(1), axis=0).reshape(())
        return op.apply(self, axis=d)

    # -- shape ------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        """The same values in a new shape (one size may be -1)."""
        return _ops.Reshape.apply(self, shape=_shape_args(shape, "reshape", allow_minus_one=True))

    def view(self, *shape: Any) -> "Tensor":
        """The same values in a new shape (PyTorch's ``view``; here a reshape)."""
        return self.reshape(*shape)

    def view_as(self, other: "Tensor") -> "Tensor":
        """Reshaped to ``other``'s shape."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Dimensions ``start_dim`` .. ``end_dim`` merged into one."""
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:])

    def permute(self, *dims: Any) -> "Tensor":
        """Dimensions reordered (``permute(1, 0, 2)``)."""
        return _ops.Permute.apply(self, axes=_shape_args(dims, "permute"))

    def transpose(self, dim0: int = -2, dim1: int = -1) -> "Tensor":
        """Swap two axes (PyTorch's ``transpose``); ``permute`` reorders all of them."""
        axes = list(range(self.ndim))
        d0, d1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        if self.ndim == 0:
            return self                         # PyTorch: transposing a 0-d tensor returns it
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return _ops.Permute.apply(self, axes=tuple(axes))

    def t(self) -> "Tensor":
        """Transpose of a matrix (a 0-d or 1-d tensor is returned as it is)."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape {self.shape}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> "Tensor":
        return _ops.Permute.apply(self, axes=tuple(range(self.ndim - 1, -1, -1)))

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> "Tensor":
        """Size-1 dimensions removed (only ``dim`` if given)."""
        d = axis if axis is not None else dim
        axes = range(self.ndim) if d is None else _axes_arg(d, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def unsqueeze(self, dim: int) -> "Tensor":
        """A size-1 dimension inserted at ``dim``."""
        d = _dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes: Any) -> "Tensor":
        """Broadcast to ``sizes`` (-1 keeps an existing size; new axes may be added in front)."""
        sizes = _shape_args(sizes, "expand", allow_minus_one=True, many_minus_ones=True)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: cannot expand {self.shape} to fewer dimensions {sizes}")
        if any(s == -1 for s in sizes[:lead]):
            raise ShapeError(f"expand: -1 is not allowed for the new leading dimensions in {sizes} "
                             f"(the tensor has shape {self.shape})")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return _ops.BroadcastTo.apply(self, shape=shape)

    def expand_as(self, other: "Tensor") -> "Tensor":
        """Broadcast to ``other``'s shape."""
        return self.expand(other.shape)

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        """Broadcast to ``shape`` (numpy's rules); gradients are summed back."""
        return _ops.BroadcastTo.apply(self, shape=_shape_args((shape,), "broadcast_to"))

    def split(self, split_size_or_sections: Any, dim: int = 0, *, axis: int | None = None) -> tuple["Tensor", ...]:
        """PyTorch's split: an int is the size of each piece (the last may be smaller), a list the sizes."""
        d = _dim_nd(axis if axis is not None else dim, self.ndim, "split")
        n = self.shape[d]
        if type(split_size_or_sections) is int or _is_int(split_size_or_sections):
            step = int(split_size_or_sections)
            if step <= 0:
                raise ValueError(f"split: split_size must be a positive integer, got {step}")
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        elif isinstance(split_size_or_sections, (list, tuple)) and all(_is_int(s) for s in split_size_or_sections):
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ShapeError(f"split: sizes {sizes} must be non-negative and add up to {n}, the length of "
                                 f"dimension {d} of {self.shape}")
        else:
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, "
                            f"got {split_size_or_sections!r}")
        out, start = [], 0
        for s in sizes:
            out.append(_ops.GetItem.apply(self, index=_range_index(d, start, start + s)))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple["Tensor", ...]:
        """PyTorch's chunk: pieces of ceil(n / chunks) each (fewer pieces if that covers n)."""
        if not _is_int(chunks) or chunks <= 0:
            raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
        d = _dim_nd(axis if axis is not None else dim, self.ndim, "chunk")
        return self.split(max(-(-self.shape[d] // chunks), 1), d)

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        """The slices along ``dim``, that dimension removed."""
        d = _dim_nd(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        """``length`` elements of ``dim`` from ``start`` (a view of the values)."""
        d = _dim_nd(dim, self.ndim, "narrow")
        if not (0 <= start and length >= 0 and start + length <= self.shape[d]):
            raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {d} of size {self.shape[d]}")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): PyTorch's ``gather``."""
        d = _dim(dim, self.ndim, "gather")
        idx = _int_index(index, "gather")
        if self.ndim == 0:                      # PyTorch: a 0-d input takes a 0-d index, which must be 0
            if idx.ndim != 0 or int(idx) != 0:
                raise IndexError(f"gather: a 0-d input takes a 0-d index equal to 0, got {idx.tolist()}")
            return self.reshape(1)[np.zeros(1, np.int64)].reshape(())
        if idx.ndim != self.ndim:
            raise ShapeError(f"gather: index must have {self.ndim} dimensions like the input, got shape {idx.shape}")
        grid = list(np.ix_(*[np.arange(n) for n in idx.shape])) if idx.ndim else []
        grid[d] = idx
        return self[tuple(grid)]

    def repeat(self, *sizes: Any) -> "Tensor":
        """Tile the tensor ``sizes[i]`` times along each dimension (PyTorch's ``repeat``)."""
        sizes = _shape_args(sizes, "repeat")
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        index = tuple(np.arange(n * r) % n for n, r in zip(x.shape, sizes))
        return x[np.ix_(*index)] if index else x

    def flip(self, dims: Any) -> "Tensor":
        """Reversed along ``dims``."""
        axes = _axes_arg(dims, self.ndim, "flip")
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def contiguous(self) -> "Tensor":
        """The tensor itself (numpy arrays need no contiguity for anything here)."""
        return self

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradients flow back to ``self``."""
        return self + 0 if self.requires_grad and is_grad_enabled() else Tensor._wrap(self.array.copy())

    # -- sorting --------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False) -> MinMax:
        """``(values, indices)`` sorted along ``dim`` (stable)."""
        d = _dim(dim, self.ndim, "sort")
        idx = np.argsort(-self.array if descending else self.array, axis=d, kind="stable") if self.ndim else \
            np.zeros((), np.int64)
        return MinMax(self.gather(d, idx) if self.ndim else self, Tensor._wrap(idx.astype(np.int64)))

    def argsort(self, dim: int = -1, descending: bool = False) -> "Tensor":
        """Indices that sort along ``dim`` (stable)."""
        return self.sort(dim, descending).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMax:  # noqa: A002
        """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``."""
        d = _dim(dim, self.ndim, "topk")
        n = self.shape[d] if self.ndim else 1
        if not _is_int(k) or not 0 <= k <= n:
            raise ValueError(f"topk: k must be an integer in [0, {n}], got {k!r}")
        if self.ndim == 0:
            values, indices = self.reshape(1).topk(k, 0, largest, sorted)
            return MinMax(values.reshape(()), indices.reshape(())) if k else MinMax(values, indices)
        values, indices = self.sort(d, descending=largest)
        keep = (slice(None),) * d + (slice(0, k),)
        return MinMax(values[keep], indices[keep])

    # -- dtypes and devices ---------------------------------------------------
    def type(self, dtype: Any = None) -> Any:
        """With a dtype: the tensor converted to it.  Without: the dtype's name, e.g. 'float32'."""
        if dtype is None:
            return str(self.array.dtype)
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        """Converted to ``other``'s dtype."""
        return self.to(other.dtype)

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``: PyTorch's forms."""
        dtype = kwargs.pop("dtype", None)
        for a in (*args, kwargs.pop("device", None)):
            if a is None or isinstance(a, bool):
                continue
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)):
                _check_device(a)
            else:
                dtype = a
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            return self
        dtype = _dtype_arg("to", dtype)
        if dtype == self.array.dtype:
            return self
        return _ops.Cast.apply(self, dtype=dtype)

    astype = to

    def cpu(self) -> "Tensor":
        """The tensor itself: everything is on the CPU."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Tensor":
        """Refused: tinygrad_seq computes on the CPU with numpy."""
        _check_device("cuda")
        return self

    def float(self) -> "Tensor":
        """Converted to float32."""
        return self.to(np.float32)

    def double(self) -> "Tensor":
        """Converted to float64."""
        return self.to(np.float64)

    def long(self) -> "Tensor":
        """Converted to int64."""
        return self.to(np.int64)

    def int(self) -> "Tensor":
        """Converted to int32."""
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        """Converted to bool."""
        return self.to(np.bool_)

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating-point one."""
        return self.array.dtype.kind == "f"

    # -- new tensors like this one ---------------------------------------------
    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """Zeros of ``size``, this tensor's dtype by default."""
        return _new(np.zeros(_shape_args(size, "new_zeros"), dtype or self.dtype), requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """Ones of ``size``, this tensor's dtype by default."""
        return _new(np.ones(_shape_args(size, "new_ones"), dtype or self.dtype), requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A tensor of ``size`` filled with ``fill_value``, this tensor's dtype by default."""
        fill = _lift(fill_value, self).array
        if fill.ndim:
            raise TypeError(f"new_full: fill_value must be a number, got {fill_value!r}")
        return _new(np.full(_shape_args((size,), "new_full"), fill,
                            _dtype_arg("new_full", dtype) if dtype is not None else self.dtype), requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A new tensor from ``data``, this tensor's dtype by default."""
        return _new(_to_array(data, dtype or self.dtype), requires_grad)

    # -- in place ----------------------------------------------------------------
    # PyTorch's semantics: the tensor's own array changes and it stays the same
    # object (a Parameter stays its module's Parameter).  Under no_grad, or when
    # no gradient flows, the values are written into the array and the change
    # is marked for the stale-graph check.  When a gradient flows through (grad
    # mode on and this tensor or the operand requires grad) the op is recorded:
    # this tensor becomes the op's output, in a new array.  A leaf that requires
    # grad cannot be changed in place with grad mode on (PyTorch's error).
    def _inplace(self, name: str, recorded: Callable[[], "Tensor"], direct: Callable[[np.ndarray], Any],
                 operand: Any = None) -> "Tensor":
        if _State.grad_enabled and (self.requires_grad or (isinstance(operand, Tensor) and operand.requires_grad)):
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                                   "operation. (Change it under `with tg.no_grad():`, as optimizers do.)")
            new = recorded()
            if new.shape != self.shape:
                raise ShapeError(f"{name}: output with shape {self.shape} doesn't match the broadcast shape "
                                 f"{new.shape}")
            if new.dtype != self.dtype:
                new = new.to(self.dtype)
            self.array, self.grad_fn, self.requires_grad = new.array, new.grad_fn, True
            return self
        try:
            direct(self.array)
        except ValueError as e:
            raise ShapeError(f"{name}: in-place result does not fit the tensor of shape {self.shape}: {e}") from None
        except TypeError as e:             # numpy's casting error, e.g. a float into an int tensor
            raise RuntimeError(f"{name}: result can't be cast to the tensor's dtype {self.dtype}: {e}") from None
        _mark_modified(self)
        return self

    def _inplace_binary(self, name: str, other: Any, ufunc: np.ufunc, expr: Callable) -> "Tensor":
        o = _lift(other, self)
        return self._inplace(name, lambda: expr(self, o),
                             lambda a: ufunc(a, o.array, out=a, casting="same_kind"), o)

    def __iadd__(self, other: Any) -> "Tensor":
        return self._inplace_binary("add_", other, np.add, lambda a, b: a + b)

    def __isub__(self, other: Any) -> "Tensor":
        return self._inplace_binary("sub_", other, np.subtract, lambda a, b: a - b)

    def __imul__(self, other: Any) -> "Tensor":
        return self._inplace_binary("mul_", other, np.multiply, lambda a, b: a * b)

    def __itruediv__(self, other: Any) -> "Tensor":
        return self._inplace_binary("div_", other, np.true_divide, lambda a, b: a / b)

    def add_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self += alpha * other, in place."""
        return self.__iadd__(other if alpha == 1 else _lift(other, self) * alpha)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self -= alpha * other, in place."""
        return self.__isub__(other if alpha == 1 else _lift(other, self) * alpha)

    def mul_(self, other: Any) -> "Tensor":
        """self *= other, in place."""
        return self.__imul__(other)

    def div_(self, other: Any) -> "Tensor":
        """self /= other, in place."""
        return self.__itruediv__(other)

    def zero_(self) -> "Tensor":
        """Set every element to 0, in place."""
        return self.fill_(0)

    def fill_(self, value: Any) -> "Tensor":
        """Set every element to ``value``, in place."""
        if isinstance(value, Tensor) and value.numel() != 1:
            raise ShapeError(f"fill_: value must be a number or a one-element tensor, got shape {value.shape}")
        v = _lift(value, self)
        return self._inplace("fill_", lambda: _replace(self, v), lambda a: a.fill(v.array.item()), v)

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src``'s values (broadcast to this shape) into this tensor, in place."""
        s = src if isinstance(src, Tensor) else Tensor._wrap(np.asarray(src))
        return self._inplace("copy_", lambda: _replace(self, s),
                             lambda a: np.copyto(a, s.array, casting="unsafe"), s)

    def clamp_(self, min: float | None = None, max: float | None = None) -> "Tensor":  # noqa: A002
        """Limit every element to [min, max], in place."""
        return self._inplace("clamp_", lambda: self.clamp(min, max), lambda a: np.clip(a, min, max, out=a))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where ``mask`` is true, in place."""
        m = _bool_mask(mask, "masked_fill_")
        v = _lift(value, self)
        return self._inplace("masked_fill_", lambda: self.masked_fill(m, v), lambda a: np.copyto(a, v.array, where=m), v)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> "Tensor":
        """Fill with samples of U[a, b), in place (from the generator ``tg.manual_seed`` resets)."""
        _number_arg("uniform_", "a", a), _number_arg("uniform_", "b", b)
        if a > b:
            raise ValueError(f"uniform_: expects a <= b, got a={a}, b={b}")
        return self._random_fill("uniform_", lambda shape: _State.rng.uniform(a, b, shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        """Fill with samples of N(mean, std^2), in place."""
        _number_arg("normal_", "mean", mean), _number_arg("normal_", "std", std, 0)
        return self._random_fill("normal_", lambda shape: _State.rng.normal(mean, std, shape))

    def _random_fill(self, name: str, draw: Callable) -> "Tensor":
        values = draw(self.shape)
        return self._inplace(name, lambda: _replace(self, Tensor._wrap(values)),
                             lambda a: np.copyto(a, values, casting="unsafe"))

    def unsqueeze_(self, dim: int) -> "Tensor":
        """Insert a size-1 dimension, in place."""
        return self._reshape_inplace(self.unsqueeze(dim))

    def squeeze_(self, dim: Any = None) -> "Tensor":
        """squeeze, in place."""
        return self._reshape_inplace(self.squeeze(dim))

    def t_(self) -> "Tensor":
        """t(), in place."""
        return self._reshape_inplace(self.t())

    def _reshape_inplace(self, new: "Tensor") -> "Tensor":
        if new.grad_fn is not None:
            self.grad_fn = new.grad_fn
        self.array = new.array
        return self

    def exp_(self) -> "Tensor":
        """e^x, in place."""
        return self._inplace("exp_", self.exp, lambda a: np.exp(a, out=a))

    def tanh_(self) -> "Tensor":
        """tanh, in place."""
        return self._inplace("tanh_", self.tanh, lambda a: np.tanh(a, out=a))

    def sigmoid_(self) -> "Tensor":
        """sigmoid, in place."""
        return self._inplace("sigmoid_", self.sigmoid, lambda a: np.copyto(a, _ops._sigmoid(a)))

    def relu_(self) -> "Tensor":
        """max(x, 0), in place."""
        return self._inplace("relu_", self.relu, lambda a: np.maximum(a, 0, out=a))

    def neg_(self) -> "Tensor":
        """-x, in place."""
        return self._inplace("neg_", self.__neg__, lambda a: np.negative(a, out=a))

    def pow_(self, exponent: Any) -> "Tensor":
        """self **= exponent, in place."""
        return self._inplace_binary("pow_", exponent, np.power, lambda a, b: a ** b)


# ----------------------------------------------------------------------------
# argument helpers (one place each)
# ----------------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_float_operand(v: Any) -> bool:
    if isinstance(v, Tensor):
        return v.array.dtype.kind == "f"
    return isinstance(v, float) or (isinstance(v, np.ndarray) and v.dtype.kind == "f")


def _dtype_arg(op: str, dtype: Any) -> np.dtype:
    """A dtype argument (``tg.float32``, ``np.int64``, ``"float64"``, ...), checked to be numeric or bool."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "biufc" or isinstance(dtype, (int, float)) and not isinstance(dtype, bool):
        raise TypeError(f"{op}: dtype must be a numeric or bool dtype (tg.float32, tg.int64, tg.bool, ...), "
                        f"got {dtype!r}")
    return dt


def _int_arg(op: str, name: str, v: Any, low: int | None = 0) -> int:
    """An integer argument (a size, a count), checked: "<op>: <name> must be an integer >= low, got ..."."""
    if not _is_int(v):
        raise TypeError(f"{op}: {name} must be an integer, got {type(v).__name__} {v!r}")
    if low is not None and v < low:
        raise ValueError(f"{op}: {name} must be an integer >= {low}, got {v}")
    return int(v)


def _number_arg(op: str, name: str, v: Any, lo: float = -float("inf"), hi: float = float("inf"),
                lo_ok: bool = True, hi_ok: bool = True) -> float:
    """A real-number argument (a rate, a probability, an eps), checked to be finite and in range."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__} {v!r}")
    if v != v or v in (float("inf"), -float("inf")) or not (v > lo or (lo_ok and v == lo)) \
            or not (v < hi or (hi_ok and v == hi)):
        if hi == float("inf"):
            rng = "" if lo == -float("inf") else f" {'>=' if lo_ok else '>'} {lo:g}"
        else:
            rng = f" in {'[' if lo_ok else '('}{lo:g}, {hi:g}{']' if hi_ok else ')'}"
        raise ValueError(f"{op}: {name} must be a finite number{rng}, got {v!r}")
    return v


def _bool_arg(op: str, name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {type(v).__name__} {v!r}")
    return bool(v)


def _dim(d: Any, ndim: int, op: str) -> int:
    """One dimension index, checked (PyTorch's range: [-ndim, ndim), and 0 / -1 for 0-d)."""
    if type(d) is int and -ndim <= d < ndim:       # the common case, fast
        return d if d >= 0 else d + ndim
    if not _is_int(d):
        raise TypeError(f"{op}: dim must be an integer, got {type(d).__name__} {d!r}")
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return int(d) % n if ndim else 0


def _dim_nd(d: Any, ndim: int, op: str) -> int:
    """``_dim`` for ops that need a real axis: a 0-d tensor has none (PyTorch's IndexError)."""
    if ndim == 0:
        _dim(d, ndim, op)                       # the type check first
        raise IndexError(f"{op}: dimension specified as {d} but the tensor has no dimensions (it is 0-d)")
    return _dim(d, ndim, op)


def _axes_arg(d: Any, ndim: int, op: str) -> Any:
    """None (all axes) or a tuple of checked dimension indices."""
    if d is None:
        return None
    if isinstance(d, (list, tuple)):
        axes = tuple(_dim(a, ndim, op) for a in d)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(d)} names a dimension twice")
        return axes
    return (_dim(d, ndim, op),)


def _shape_args(args: tuple, op: str, allow_minus_one: bool = False, many_minus_ones: bool = False) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``, checked to be ints (>= 0, or -1 where allowed)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    elif len(args) == 1 and isinstance(args[0], Tensor):
        args = tuple(args[0].tolist()) if args[0].ndim else (args[0].item(),)
    sizes = []
    for s in args:
        if isinstance(s, Tensor) and s.numel() == 1:
            s = s.item()
        if not _is_int(s):
            raise TypeError(f"{op}: sizes must be integers, got {type(s).__name__} {s!r} in {tuple(args)}")
        if s < 0 and not (allow_minus_one and s == -1):
            raise ValueError(f"{op}: sizes must be non-negative, got {tuple(args)}")
        sizes.append(int(s))
    if allow_minus_one and not many_minus_ones and sizes.count(-1) > 1:
        raise ValueError(f"{op}: only one size can be -1 (inferred), got {tuple(sizes)}")
    return tuple(sizes)


def _need_ndim(op: str, a: Tensor, na: int, b: Any, nb: int) -> None:
    b_ndim = b.ndim if isinstance(b, Tensor) else np.ndim(b)
    if a.ndim != na or b_ndim != nb:
        raise ShapeError(f"{op}: expects {na}-d and {nb}-d tensors, got shapes {a.shape} and {np.shape(b)}")


@functools.lru_cache(maxsize=1024)
def _range_index(axis: int, start: int, stop: int) -> tuple:
    """The index ``[:, ..., :, start:stop]``, cached: a recurrent layer splits its gates the same way every step."""
    return (slice(None),) * axis + (slice(start, stop),)


def _int_index(index: Any, op: str) -> np.ndarray:
    idx = np.asarray(index.array if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    return idx


def _bool_mask(mask: Any, op: str, what: str = "the mask") -> np.ndarray:
    m = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        raise TypeError(f"{op}: {what} must be boolean, got {m.dtype}")
    return m


def _replace(t: Tensor, values: Tensor) -> Tensor:
    """``values`` broadcast to ``t``'s shape, recorded as a function of ``t`` (whose gradient is then 0)."""
    return where(np.ones(t.shape, dtype=bool), values.to(t.dtype), t)


def _new(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _promote(a: Tensor, b: Tensor) -> tuple:
    """PyTorch's promotion for two tensors: an integer or bool one takes the other's floating dtype
    (int64 + float32 is float32; numpy would give float64).  Other pairs follow numpy, which agrees."""
    ka, kb = a.array.dtype.kind, b.array.dtype.kind
    if ka in "biu" and kb == "f":
        return a.to(b.array.dtype), b
    if kb in "biu" and ka == "f":
        return a, b.to(a.array.dtype)
    return a, b


def _lift(value: Any, like: Tensor) -> Tensor:
    """An operand as a Tensor, with PyTorch's promotion for Python numbers.

    A number takes ``like``'s dtype when that holds it (float32 stays float32);
    an int with a bool tensor gives int64, a float with an integer or bool
    tensor the default float dtype.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, (bool, int, float)):
        dt = like.array.dtype
        if isinstance(value, float) and dt.kind not in "fc":
            dt = _State.default_dtype
        elif isinstance(value, int) and not isinstance(value, bool) and dt.kind == "b":
            dt = np.dtype(np.int64)
        return Tensor._wrap(np.array(value, dtype=dt))
    return Tensor._wrap(_to_array(value, None))


def _index_arrays(index: Any) -> Any:
    """Replace Tensors and lists inside an index by ndarrays."""
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    if isinstance(index, tuple):
        return tuple([_index_arrays(i) for i in index])
    return index


def where(condition: Any, input: Any, other: Any) -> Tensor:  # noqa: A002 (PyTorch's names)
    """``input`` where ``condition`` is true, else ``other``, elementwise (no gradient to ``condition``)."""
    cond = _bool_mask(condition, "where", "the condition")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else \
        Tensor._wrap(_to_array(input, None))
    a, b = _lift(input, like), _lift(other, like)
    try:
        return _ops.Where.apply(a, b, cond=cond)
    except ShapeError:
        raise ShapeError(f"where: condition {cond.shape}, input {a.shape} and other {b.shape} cannot be broadcast "
                         "together") from None


from . import ops as _ops  # noqa: E402  (the cycle explained in the module docstring)
