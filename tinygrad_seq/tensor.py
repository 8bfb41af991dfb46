"""The engine: ``Tensor``, the graph ``Node`` and reverse-mode ``backward``.

Every operation on tensors that require a gradient records one ``Node``: the
op's name, the nodes (or leaf tensors) it read, and the arrays its gradient
rule needs.  ``backward`` walks those nodes once, in reverse topological order,
and asks each for its vector-Jacobian product (VJP)::

    dL/d input_i  =  VJP_i(dL/d output)

A tensor read by many ops (a weight used at every time step) receives the sum
of all its contributions before its own VJP runs, so backpropagation through
time needs no special code: it is this loop over an unrolled graph.

The ops themselves, each forward beside its VJP, live in ``ops.py``.
"""
from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = [
    "Tensor", "Node", "ShapeError", "no_grad", "enable_grad", "is_grad_enabled",
    "set_default_dtype", "get_default_dtype", "manual_seed",
]


class ShapeError(ValueError):
    """An op was given shapes it cannot combine; the message names the op and the shapes."""


# ----------------------------------------------------------------------------
# global state: grad mode, default dtype, random generator
# ----------------------------------------------------------------------------

class _State:
    grad_enabled = True
    default_dtype = np.dtype(np.float32)
    rng = np.random.default_rng()


def is_grad_enabled() -> bool:
    return _State.grad_enabled


class _GradMode:
    """Context manager (and decorator) that sets whether ops record a graph."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_State.grad_enabled)
        _State.grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        _State.grad_enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        mode = self.enabled

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(mode):
                return fn(*args, **kwargs)
        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


@contextlib.contextmanager
def full_gc_deferred() -> Iterator[None]:
    """Defer the cyclic garbage collector's full collections inside a block that builds or walks a large graph.

    The collector scans young objects often; what survives moves to older
    generations, and a full collection, which re-scans every old object, runs
    each time the old generation has grown by a quarter.  A graph growing one
    op at a time (an unrolled RNN) keeps setting that off: about five extra
    scans of the whole graph, by then far out of cache.  Inside this block
    only the cheap young collections run; the deferred full one comes later,
    usually after backward has freed the graph.  Reference counting frees
    everything as usual.  Blocks may nest or overlap (threads): the first one
    in defers, the last one out restores the thresholds.
    """
    with _Deferral.lock:
        if _Deferral.depth == 0:
            _Deferral.saved = gc.get_threshold()
            gc.set_threshold(_Deferral.saved[0], _Deferral.saved[1], 1 << 30)
        _Deferral.depth += 1
    try:
        yield
    finally:
        with _Deferral.lock:
            _Deferral.depth -= 1
            if _Deferral.depth == 0:
                gc.set_threshold(*_Deferral.saved)


class _Deferral:
    lock = threading.RLock()
    depth = 0
    saved: tuple = ()


def no_grad() -> _GradMode:
    """``with tg.no_grad():`` ops inside record no graph and save nothing."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """``with tg.enable_grad():`` turns recording back on inside ``no_grad``."""
    return _GradMode(True)


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype that Python floats and lists of floats become (float32 unless changed)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _State.default_dtype = dt


def get_default_dtype() -> np.dtype:
    return _State.default_dtype


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random factory, initializer and dropout mask."""
    _State.rng = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The generator that random factories, initializers and dropout draw from."""
    return _State.rng


# ----------------------------------------------------------------------------
# the graph node
# ----------------------------------------------------------------------------

class Node:
    """One recorded op: base class of every op in ``ops.py``.

    An op subclass defines ``forward(*arrays, **params) -> array`` and
    ``backward(g) -> tuple`` (one gradient or ``None`` per input).  ``apply``
    runs the forward and, when a graph is being recorded, keeps the node.

    Slots: ``parents`` holds, per input, the input's node, the input itself if
    it is a leaf that requires grad, or ``None``; a one-input op holds that one
    parent bare, not in a tuple (one Python object fewer per node: an unrolled
    RNN records hundreds of thousands of them).  ``needs`` says which inputs
    want a gradient (a VJP computes only those); ``saved`` holds the arrays the
    VJP needs and ``ctx`` small metadata (shapes, axes).
    """

    __slots__ = ("parents", "needs", "saved", "ctx", "hooks", "retained")
    name = "node"

    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g: np.ndarray) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: "Tensor", **params: Any) -> "Tensor":
        node = object.__new__(cls)
        if _State.grad_enabled:
            flags = tuple([t.requires_grad for t in inputs])
            needs = _NEEDS.get(flags, flags)       # shared tuples: one object fewer per node
            record = True in needs
        else:
            record = False
        node.needs = needs if record else None
        try:
            out = node.forward(*[t.data for t in inputs], **params)
        except ShapeError:
            raise
        except ValueError as e:
            shapes = " and ".join(str(t.shape) for t in inputs)
            why = "cannot be broadcast together" if "broadcast" in str(e) else str(e)
            raise ShapeError(f"{cls.name}: shapes {shapes}: {why}") from None
        t = object.__new__(Tensor)
        t.data = out
        t.grad = None
        t._hooks = None
        if record:
            if len(inputs) == 1:
                node.parents = inputs[0].grad_fn or inputs[0]
            else:
                node.parents = tuple([(x.grad_fn or x) if x.requires_grad else None for x in inputs])
            node.hooks = None
            node.retained = None
            t.requires_grad = True
            t.grad_fn = node
        else:
            t.requires_grad = False
            t.grad_fn = None
        return t

    def __repr__(self) -> str:
        return f"<{self.name}>"


_NEEDS = {k: k for k in [(True,), (False,), (True, True), (True, False), (False, True), (False, False)]}


class Scatter:
    """A gradient that is zero except for the given values at basic indices: ``parts`` = [(index, value)].

    Slicing VJPs return this instead of a zero-filled array, and accumulation
    merges the parts.  When the parts tile the array along one axis (the four
    gates of an LSTM, the T steps of an input projection) the dense gradient is
    one concatenation: no zero fill and no adds.
    """

    __slots__ = ("shape", "parts")

    def __init__(self, shape: tuple, index: Any, value: np.ndarray):
        self.shape, self.parts = shape, [(index, value)]

    def dense(self) -> np.ndarray:
        tiled = _tiling(self.shape, self.parts)
        if tiled is not None:
            return tiled
        out = np.zeros(self.shape, dtype=self.parts[0][1].dtype)
        self.add_to(out)
        return out

    def add_to(self, buf: np.ndarray) -> None:
        for index, value in self.parts:
            buf[index] += value

    def merge(self, other: "Scatter") -> None:
        self.parts += other.parts


def _span(index: Any, shape: tuple) -> tuple | None:
    """(axis, start, stop, is_int) if ``index`` selects one step-1 range (or one int) of one axis, else None."""
    parts = index if isinstance(index, tuple) else (index,)
    if len(parts) > len(shape):
        return None
    found = None
    for axis, p in enumerate(parts):
        if isinstance(p, slice):
            start, stop, step = p.indices(shape[axis])
            if step != 1:
                return None
            if start == 0 and stop == shape[axis]:
                continue
            span = (axis, start, stop, False)
        elif isinstance(p, (int, np.integer)) and not isinstance(p, bool):
            i = int(p) % shape[axis] if shape[axis] else 0
            span = (axis, i, i + 1, True)
        else:
            return None
        if found is not None:
            return None
        found = span
    return found


def _tiling(shape: tuple, parts: list) -> np.ndarray | None:
    """The parts concatenated, if they cover ``shape`` exactly once along a single axis; else None."""
    if len(parts) < 2:
        return None
    spans = []
    for index, value in parts:
        span = _span(index, shape)
        if span is None:
            return None
        spans.append((span, value))
    axis = spans[0][0][0]
    spans.sort(key=lambda sv: sv[0][1])
    pos = 0
    for (ax, start, stop, _), _v in spans:
        if ax != axis or start != pos:
            return None
        pos = stop
    if pos != shape[axis]:
        return None
    return np.concatenate([np.expand_dims(v, axis) if is_int else v for (_, _, _, is_int), v in spans], axis=axis)


class ProductSum:
    """A gradient of the form  sum_i a_i^T g_i,  kept as its factors until it is needed.

    The VJP of ``x @ W`` with respect to a 2-d ``W`` is x^T g.  When W is used at
    every time step, its T contributions are gathered here and computed as one
    large matmul over the concatenated factors instead of T small ones and T adds.
    """

    __slots__ = ("shape", "lhs", "rhs")

    def __init__(self, shape: tuple, lhs: np.ndarray, rhs: np.ndarray):
        self.shape, self.lhs, self.rhs = shape, [lhs], [rhs]

    def dense(self) -> np.ndarray:
        if len(self.lhs) == 1:
            out = self.lhs[0].T @ self.rhs[0]
        else:
            out = np.concatenate(self.lhs).T @ np.concatenate(self.rhs)
        return out.reshape(self.shape)

    def add_to(self, buf: np.ndarray) -> None:
        buf += self.dense()

    def merge(self, other: "ProductSum") -> None:
        self.lhs += other.lhs
        self.rhs += other.rhs


_LAZY = (Scatter, ProductSum)


def _accumulate(grads: dict, owned: set, key: Any, g: Any) -> None:
    """grads[key] += g, in place only in buffers this backward pass allocated."""
    prev = grads.get(key)
    if prev is None:
        grads[key] = g
        return
    if type(prev) is type(g) and type(g) in _LAZY:
        prev.merge(g)              # both were made by VJPs in this pass: merging them is safe
        return
    if key not in owned:
        prev = prev.dense() if type(prev) in _LAZY else prev.copy()
        owned.add(key)
        grads[key] = prev
    if type(g) in _LAZY:
        g.add_to(prev)
    else:
        prev += g


def _topological_order(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, each before every node it reads (iterative post-order DFS).

    A node is marked when it is expanded, not when it is pushed: then every
    node it reads is finished before it is, even when reached by several paths.
    """
    order: list[Node] = []
    seen: set = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        parents = node.parents
        if type(parents) is not tuple:
            parents = (parents,)
        for p in parents:
            if isinstance(p, Node) and p not in seen:
                stack.append((p, False))
    order.reverse()
    return order


def _run_hooks(hooks: list, g: np.ndarray) -> np.ndarray:
    for hook in hooks:
        out = hook(Tensor._wrap(g))
        if out is not None:
            g = out.data if isinstance(out, Tensor) else np.asarray(out, dtype=g.dtype)
    return g


def _backward(root: "Tensor", grad: np.ndarray, retain_graph: bool) -> None:
    order = _topological_order(root.grad_fn)
    grads: dict = {root.grad_fn: grad}
    owned: set = set()
    for node in order:
        g = grads.pop(node, None)
        if node.parents is None:
            raise RuntimeError(
                f"backward: the graph through '{node.name}' was already freed by an earlier "
                "backward(); pass retain_graph=True to the first call to backward twice")
        if g is not None:
            if type(g) in _LAZY:
                g = g.dense()
            if node.hooks:
                g = _run_hooks(node.hooks, g)
            if node.retained is not None:
                t = node.retained()
                if t is not None:
                    g_copy = g.copy()
                    t.grad = Tensor._wrap(g_copy if t.grad is None else t.grad.data + g_copy)
            parents = node.parents
            if type(parents) is not tuple:
                parents = (parents,)
            for p, gi in zip(parents, node.backward(g)):
                if p is not None and gi is not None:
                    _accumulate(grads, owned, p, gi)
        if not retain_graph:
            node.saved = None
            node.parents = None
    for leaf, g in grads.items():          # only leaves are left
        if type(g) in _LAZY:
            g = g.dense()
        elif leaf not in owned:
            g = g.copy()                   # never alias a caller's array in .grad
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g)
        if g.dtype != leaf.data.dtype:
            g = g.astype(leaf.data.dtype)
        leaf.grad = Tensor._wrap(g) if leaf.grad is None else Tensor._wrap(leaf.grad.data + g)


# ----------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------

def _to_array(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, np.ndarray):
        return data.copy()
    if isinstance(data, np.generic):
        return np.array(data)
    try:
        arr = np.array(data)
    except ValueError as e:
        raise ValueError(f"Tensor: cannot make a tensor from this data: {e}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} data")
    if arr.dtype.kind == "f":
        arr = arr.astype(_State.default_dtype)
    return arr


def _check_grad_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.kind not in "fc":
        raise TypeError(f"{where}: only floating-point tensors can require grad, this one is {dtype}")


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats and lists
    of floats become the default dtype (float32); a numpy array keeps its dtype
    (and is copied); integer data stays integer and cannot require grad.
    """

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_hooks", "__weakref__")
    __array_ufunc__ = None          # ndarray <op> Tensor defers to Tensor's reflected ops
    __hash__ = object.__hash__      # == is elementwise, identity is the hash

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None):
        arr = _to_array(data, dtype)
        if requires_grad:
            _check_grad_dtype(arr.dtype, "Tensor")
        self.data = arr
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self._hooks = None

    @staticmethod
    def _wrap(arr: np.ndarray) -> "Tensor":
        """A constant tensor around ``arr`` without copying (internal)."""
        t = object.__new__(Tensor)
        t.data = arr
        t.requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._hooks = None
        return t

    # -- attributes ---------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self.grad_fn is None)

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad; use .detach() first")
        if requires_grad:
            _check_grad_dtype(self.data.dtype, "requires_grad_")
        self.requires_grad = bool(requires_grad)
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != _State.default_dtype and self.data.dtype.kind == "f":
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd -----------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (times ``grad`` if given)."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn "
                "(was it computed under no_grad, or from tensors without requires_grad=True?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implied only for a scalar output, this one has shape "
                    f"{self.shape}; pass grad= of that shape (or reduce it first, e.g. .sum())")
            g = np.ones_like(self.data)
        else:
            g = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if g.shape != self.shape:
                raise ShapeError(f"backward: grad has shape {g.shape} but the tensor has shape {self.shape}")
        if self.grad_fn is None:          # a leaf: its gradient is grad itself
            if self._hooks:
                g = _run_hooks(self._hooks, g)
            self.grad = Tensor._wrap(g.copy() if self.grad is None else self.grad.data + g)
            return
        with full_gc_deferred():
            _backward(self, g, retain_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad: this tensor does not require grad")
            return
        self.grad_fn.retained = weakref.ref(self)

    def register_hook(self, fn: Callable[["Tensor"], Any]) -> Callable[[], None]:
        """Call ``fn(grad)`` when this tensor's gradient is ready; a returned tensor replaces it.

        Returns a function that removes the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.hooks is None:
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        hooks.append(fn)
        return lambda: hooks.remove(fn) if fn in hooks else None

    # -- operators ----------------------------------------------------------
    def __add__(self, other: Any) -> "Tensor":
        return _ops.Add.apply(self, _lift(other, self))

    def __radd__(self, other: Any) -> "Tensor":
        return _ops.Add.apply(_lift(other, self), self)

    def __sub__(self, other: Any) -> "Tensor":
        return _ops.Sub.apply(self, _lift(other, self))

    def __rsub__(self, other: Any) -> "Tensor":
        return _ops.Sub.apply(_lift(other, self), self)

    def __mul__(self, other: Any) -> "Tensor":
        return _ops.Mul.apply(self, _lift(other, self))

    def __rmul__(self, other: Any) -> "Tensor":
        return _ops.Mul.apply(_lift(other, self), self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _ops.Div.apply(self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _ops.Div.apply(_lift(other, self), self)

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return _ops.PowScalar.apply(self, p=other)
        return _ops.Pow.apply(self, _lift(other, self))

    def __rpow__(self, other: Any) -> "Tensor":
        return _ops.Pow.apply(_lift(other, self), self)

    def __matmul__(self, other: Any) -> "Tensor":
        return _ops.MatMul.apply(self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _ops.MatMul.apply(_lift(other, self), self)

    def __neg__(self) -> "Tensor":
        return _ops.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return _ops.Abs.apply(self)

    def _compare(self, other: Any, fn: Callable) -> "Tensor":
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(fn(self.data, other))

    def __lt__(self, o: Any) -> "Tensor":
        return self._compare(o, np.less)

    def __le__(self, o: Any) -> "Tensor":
        return self._compare(o, np.less_equal)

    def __gt__(self, o: Any) -> "Tensor":
        return self._compare(o, np.greater)

    def __ge__(self, o: Any) -> "Tensor":
        return self._compare(o, np.greater_equal)

    def __eq__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(o, np.equal)

    def __ne__(self, o: Any) -> "Tensor":  # type: ignore[override]
        return self._compare(o, np.not_equal)

    def __getitem__(self, index: Any) -> "Tensor":
        if type(index) is not int and type(index) is not slice:   # ints and slices need no conversion
            index = _index_arrays(index)
        return _ops.GetItem.apply(self, index=index)

    # -- methods (thin forwards to ops) --------------------------------------
    def exp(self) -> "Tensor":
        return _ops.Exp.apply(self)

    def log(self) -> "Tensor":
        return _ops.Log.apply(self)

    def sqrt(self) -> "Tensor":
        return _ops.Sqrt.apply(self)

    def abs(self) -> "Tensor":
        return _ops.Abs.apply(self)

    def tanh(self) -> "Tensor":
        return _ops.Tanh.apply(self)

    def sigmoid(self) -> "Tensor":
        return _ops.Sigmoid.apply(self)

    def relu(self) -> "Tensor":
        return _ops.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        return _ops.LeakyRelu.apply(self, slope=negative_slope)

    def softplus(self) -> "Tensor":
        return _ops.Softplus.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> "Tensor":
        return _ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def maximum(self, other: Any) -> "Tensor":
        return _ops.Maximum.apply(self, _lift(other, self))

    def minimum(self, other: Any) -> "Tensor":
        return _ops.Minimum.apply(self, _lift(other, self))

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> "Tensor":
        return _ops.Sum.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> "Tensor":
        return _ops.Mean.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> "Tensor":
        return _ops.Max.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> "Tensor":
        return _ops.Min.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def logsumexp(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> "Tensor":
        return _ops.LogSumExp.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim))

    def var(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None,
            correction: int = 1) -> "Tensor":
        return _ops.Var.apply(self, axis=_axis(axis, dim), keepdims=_keep(keepdims, keepdim), correction=correction)

    def argmax(self, axis: int | None = None, *, dim: int | None = None) -> "Tensor":
        return Tensor._wrap(np.argmax(self.data, axis=_axis(axis, dim)))

    def argmin(self, axis: int | None = None, *, dim: int | None = None) -> "Tensor":
        return Tensor._wrap(np.argmin(self.data, axis=_axis(axis, dim)))

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        return _ops.softmax(self, _axis(axis, dim))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        return _ops.log_softmax(self, _axis(axis, dim))

    def reshape(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        return _ops.flatten(self, start_dim, end_dim)

    def permute(self, *dims: Any) -> "Tensor":
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return _ops.Permute.apply(self, axes=dims)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> "Tensor":
        """Swap two axes (PyTorch's ``transpose``); ``permute`` reorders all of them."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _ops.Permute.apply(self, axes=tuple(axes))

    @property
    def T(self) -> "Tensor":
        return _ops.Permute.apply(self, axes=tuple(range(self.ndim - 1, -1, -1)))

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> "Tensor":
        return _ops.squeeze(self, _axis(axis, dim))

    def unsqueeze(self, axis: int) -> "Tensor":
        return _ops.unsqueeze(self, axis)

    def expand(self, *sizes: Any) -> "Tensor":
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        return _ops.expand(self, sizes)

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        return _ops.BroadcastTo.apply(self, shape=tuple(shape))

    def split(self, split_size_or_sections: Any, axis: int = 0, *, dim: int | None = None) -> tuple["Tensor", ...]:
        return _ops.split(self, split_size_or_sections, _axis(axis, dim))

    def chunk(self, chunks: int, axis: int = 0, *, dim: int | None = None) -> tuple["Tensor", ...]:
        return _ops.chunk(self, chunks, _axis(axis, dim))

    def astype(self, dtype: Any) -> "Tensor":
        return _ops.Cast.apply(self, dtype=np.dtype(dtype))

    to = astype

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)


def _axis(axis: Any, dim: Any) -> Any:
    """Accept PyTorch's ``dim=`` as an alias of numpy's ``axis=``."""
    if dim is not None:
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def _keep(keepdims: bool, keepdim: bool | None) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


def _lift(value: Any, like: Tensor) -> Tensor:
    """Turn an operand into a Tensor; Python numbers take ``like``'s dtype so float32 stays float32."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._wrap(value)
    if isinstance(value, (bool, int, float)):
        dt = like.data.dtype
        if isinstance(value, float) and dt.kind not in "fc":
            dt = _State.default_dtype
        return Tensor._wrap(np.array(value, dtype=dt))
    return Tensor._wrap(_to_array(value, None))


def _index_arrays(index: Any) -> Any:
    """Replace Tensors and lists inside an index by ndarrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple([_index_arrays(i) for i in index])
    return index


from . import ops as _ops  # noqa: E402  (ops subclasses Node, so it is imported last)
