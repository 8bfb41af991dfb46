"""The engine, part 1 of 3: ``Tensor`` (the data) and ``Node`` (one recorded op).

Every operation on tensors that require a gradient records one ``Node``: the
op, the nodes (or leaf tensors) it read, and the arrays its gradient rule
needs.  ``backward`` then walks those nodes once, in reverse topological
order, and asks each for its vector-Jacobian product (VJP)::

    dL/d input_i  =  VJP_i(dL/d output)

A tensor read by many ops (a weight used at every time step) receives the sum
of all its contributions before its own VJP runs, so backpropagation through
time needs no special code: it is that loop over an unrolled graph.

Read the engine in this order:

1. this file: ``Node`` (the contract an op fulfils, ``forward`` and
   ``backward``, and what ``apply`` records), then ``Tensor``, whose methods
   are the ops' front door and whose ``backward`` is one call into ...
2. ``ops.py``: the table of primitive ops, each forward beside its VJP;
3. ``autograd.py``: the backward pass (order the nodes; for each, take its
   summed gradient, call its VJP, accumulate into its inputs), hooks,
   ``retain_grad``, ``autograd.grad``, the stale-graph check, anomaly mode.

Below them: ``_state.py`` (grad mode, anomaly mode, default dtype, generator,
in-place epoch), ``_args.py`` (the argument checks every module shares), and
the speed tricks of the loop, ``lazygrad.py`` and ``_gc.py``.

The engine's one import circle, kept here: ``ops`` subclasses ``Node`` and
``autograd`` wraps gradients in ``Tensor``s, while ``Tensor``'s methods call
both.  So ``ops`` is imported right after ``Node`` is defined (``Tensor``'s
arithmetic is made from its classes), and ``autograd`` at the end of this
file, once ``Tensor`` exists.  Nothing else in the package imports upward.
"""
from __future__ import annotations

import warnings
import weakref
from collections import namedtuple
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ._args import (ShapeError, axes_arg, bool_arg, check_device, check_grad_dtype, device, dim_arg, dim_nd,
                    dtype_arg, is_int, number_arg, range_index, shape_args)
from ._gc import full_gc_deferred  # noqa: F401  (importable from here, as before)
# the public modes are re-exported from here, as before the split (``from tinygrad_seq.tensor import no_grad``)
from ._state import (AnomalyError, State, detect_anomaly, enable_grad, get_default_dtype,  # noqa: F401
                     inference_mode, is_grad_enabled, manual_seed, mark_modified, no_grad, set_default_dtype,
                     set_grad_enabled, version_of, buffer_of)

__all__ = [
    "Tensor", "Size", "Node", "ShapeError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
    "is_grad_enabled", "set_default_dtype", "get_default_dtype", "manual_seed", "detect_anomaly",
    "AnomalyError", "device",
]


# ----------------------------------------------------------------------------
# the graph node
# ----------------------------------------------------------------------------

class Node:
    """One recorded op: the base class of every op in ``ops.py``.

    The contract an op fulfils is two methods, ``forward`` and ``backward``
    (below); ``apply`` runs the forward and, when a graph is being recorded,
    keeps the node for the backward pass in ``autograd.py``.

    What a node keeps:
      ``inputs``            per input: its node, the input itself if it is a
                            leaf that requires grad, or ``None``
      ``needs_input_grad``  which inputs want a gradient (PyTorch's name)
      ``saved``, ``ctx``    the arrays the VJP reads, and small metadata
                            (backward frees ``saved``; the rest stays walkable)
      ``hooks``             ``None``, or its gradient hooks and the tensor that
                            retains its grad (``register_hook``, ``retain_grad``)
      ``epoch``             the in-place change counter when it was recorded
      ``shape``, ``dtype``  of the tensor it produced (for viewing the graph)

    Walk a graph by hand with ``t.grad_fn.name`` and ``t.grad_fn.next_functions``
    (before or after ``backward``).
    """

    __slots__ = ("inputs", "needs_input_grad", "saved", "ctx", "hooks", "epoch", "shape", "dtype", "created_at")
    name = "node"

    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        """The op on numpy arrays, one per input tensor (``params``: the op's keyword constants).

        Returns the output array.  Whatever the VJP will need goes into
        ``self.saved`` (arrays: input or output values, one array or a tuple;
        checked for in-place changes and freed by backward) and ``self.ctx``
        (small metadata: shapes, axes, constants).  May raise ``ValueError`` for
        shapes it cannot combine; ``apply`` turns that into a ``ShapeError``
        naming the op and the input shapes.
        """
        raise NotImplementedError

    def backward(self, g: np.ndarray) -> tuple:
        """The vector-Jacobian product: ``g`` is dL/d(output), the result dL/d(each input).

        Returns a tuple with one entry per input: an array of that input's
        shape (broadcasting undone), a lazy gradient from ``lazygrad.py``, or
        ``None`` where ``self.needs_input_grad`` is False.  Reads only
        ``self.saved``, ``self.ctx`` and ``g``; must not change ``g`` in place
        (hooks and other readers may hold it).
        """
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: "Tensor", **params: Any) -> "Tensor":
        """Run the op on tensors; record a node if grad mode is on and an input requires grad.

        One and two inputs are spelled out rather than looped over: this runs for
        every op of every time step, and a comprehension costs a frame in CPython.
        """
        node = _new(cls)
        n = len(inputs)
        if n == 1:
            x = inputs[0]
            needs = _ONE if x.requires_grad and State.grad_enabled else None
            arrays = (x.array,)
        elif n == 2:
            a, b = inputs
            needs = _NEEDS[a.requires_grad, b.requires_grad] if State.grad_enabled else None
            arrays = (a.array, b.array)
        else:
            flags = tuple([t.requires_grad for t in inputs])
            needs = flags if State.grad_enabled and True in flags else None
            arrays = [t.array for t in inputs]
        node.needs_input_grad = needs
        node.saved = None
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
        if needs is None:
            t = _fill(_new(Tensor), out, False, None)
        else:
            # per input: its node, the leaf itself, or None when it needs no gradient
            if n == 1:
                node.inputs = (x.grad_fn or x,)
            elif n == 2:
                node.inputs = ((a.grad_fn or a) if needs[0] else None, (b.grad_fn or b) if needs[1] else None)
            else:
                node.inputs = tuple([(x.grad_fn or x) if x.requires_grad else None for x in inputs])
            node.hooks = None
            node.epoch = State.epoch
            node.shape = out.shape
            node.dtype = out.dtype
            t = _fill(_new(Tensor), out, True, node)
        if State.anomaly:
            _autograd.anomaly_forward(node, inputs, out, needs is not None)
        return t

    # -- the graph, for walking it by hand (the structure outlives backward) -----
    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of ``inputs``: ``((node or AccumulateGrad(leaf) or None, 0), ...)``."""
        return tuple((AccumulateGrad(p) if isinstance(p, Tensor) else p, 0) for p in self.inputs)

    def saved_arrays(self) -> tuple:
        """The arrays this node saved for its VJP (empty once backward has freed them)."""
        saved = self.saved
        if saved is None:
            return ()
        return tuple(a for a in (saved if type(saved) is tuple else (saved,)) if type(a) is np.ndarray)

    @property
    def saved_shapes(self) -> tuple:
        """The shapes of the arrays this node saved for its VJP (empty once backward has freed them)."""
        return tuple(a.shape for a in self.saved_arrays())

    def register_hook(self, fn: Callable) -> "_Handle":
        """Call ``fn(grad)`` with this node's output gradient (a Tensor) in backward; a returned tensor replaces it."""
        if self.hooks is None:
            self.hooks = Hooks()
        self.hooks.append(fn)
        return _Handle(self.hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name}>"


_new = object.__new__
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


class Hooks(list):
    """A node's gradient hooks, and the tensor that retains its gradient (``retain_grad``), if any."""

    __slots__ = ("retained",)

    def __init__(self) -> None:
        super().__init__()
        self.retained: Callable | None = None


class _Handle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook away (also callable, for old code)."""

    def __init__(self, hooks: list, fn: Callable):
        self.hooks, self.fn = hooks, fn

    def remove(self) -> None:
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)

    __call__ = remove


from . import ops as _ops  # noqa: E402  (the engine's circle, explained in the module docstring)


# ----------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------

def to_array(data: Any, dtype: Any) -> np.ndarray:
    """``data`` as a new ndarray: PyTorch's ``tensor()`` rules (floats -> default dtype, ints -> int64)."""
    if isinstance(data, Tensor):
        data = data.array
    try:
        arr = np.array(data)
    except ValueError as e:
        raise _bad_data(data, None) or ValueError(f"tensor: cannot make a tensor from this data: {e}") from None
    if arr.dtype == object or arr.dtype.kind in "USVMm":
        raise _bad_data(data, arr) or TypeError(f"tensor: cannot make a tensor from this {type(data).__name__}; "
                                                f"{_EXPECTED}")
    if arr.dtype == np.uint64 and not isinstance(data, (np.ndarray, np.generic)) and arr.size and \
            arr.max() > np.iinfo(np.int64).max:             # Python ints in [2**63, 2**64): numpy's uint64
        raise ValueError(f"tensor: the integer {int(arr.max())} does not fit in int64 (overflow; PyTorch: "
                         "\"Overflow when unpacking long long\")")
    if dtype is not None:
        dt = dtype_arg("tensor", dtype)
        if dt.kind in "biu" and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            raise ValueError(f"tensor: cannot convert non-finite values (nan or inf) to {dt}")
        if dt.kind in "iu" and arr.dtype.kind in "iu" and arr.size and not isinstance(data, (np.ndarray, np.generic)):
            info = np.iinfo(dt)
            lo, hi = int(arr.min()), int(arr.max())
            if lo < info.min or hi > info.max:
                raise RuntimeError(f"tensor: value {lo if lo < info.min else hi} cannot be converted to type {dt} "
                                   "without overflow")
        return arr.astype(dt, copy=False)
    if arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
        arr = arr.astype(State.default_dtype)
    elif arr.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        arr = arr.astype(np.int64)
    return arr


class Size(tuple):
    """PyTorch's ``torch.Size``: the tuple of ints ``x.shape`` and ``x.size()`` return, with ``numel()``.

    Slicing it or adding a tuple gives a Size.  ``repr`` is ``tg.Size([2, 3])``; ``str`` stays the
    tuple's ``(2, 3)`` so that error messages read as before.
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable = ()) -> "Size":
        sizes = tuple(sizes)
        for i, n in enumerate(sizes):
            if not is_int(n):
                raise TypeError(f"Size() takes an iterable of 'int' (item {i} is '{type(n).__name__}')")
        return tuple.__new__(cls, [int(n) for n in sizes])

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds (1 for ``Size([])``)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i: Any) -> Any:
        r = tuple.__getitem__(self, i)
        return tuple.__new__(Size, r) if type(i) is slice else r

    def __add__(self, other: Any) -> "Size":
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other: Any) -> "Size":
        return Size(tuple(other) + tuple(self))

    def __repr__(self) -> str:
        return f"tg.Size({list(self)})"

    __str__ = tuple.__repr__


_EXPECTED = "expected numbers, booleans, nested lists of them, or a numeric numpy array"


def _bad_data(data: Any, arr: np.ndarray | None) -> Exception | None:
    """The error for data numpy could not read as numbers, naming the first bad element in words."""
    if isinstance(data, np.ndarray) and arr is not None:
        what = {"U": "strings", "S": "bytes", "V": "records", "M": "datetimes", "m": "timedeltas"}.get(
            arr.dtype.kind, "Python objects")
        return TypeError(f"tensor: cannot make a tensor from a numpy array of {what} (dtype {arr.dtype}); "
                         f"{_EXPECTED}")
    stack: list = [(data, ())]
    while stack:                                # depth-first, in order, without recursion
        v, where = stack.pop()
        at = f" (the element at {list(where)} of the data)" if where else ""
        if isinstance(v, (str, bytes)):
            return TypeError(f"tensor: cannot make a tensor from a {type(v).__name__} ({v!r}){at}: invalid data "
                             f"type '{type(v).__name__}'; {_EXPECTED}")
        if isinstance(v, (list, tuple)):
            stack.extend((e, where + (i,)) for i, e in reversed(list(enumerate(v))))
        elif isinstance(v, int) and not isinstance(v, bool) and not -2 ** 63 <= v < 2 ** 63:
            return ValueError(f"tensor: the integer {v}{at} does not fit in int64 (overflow; PyTorch: \"Overflow "
                              "when unpacking long long\")")
        elif not isinstance(v, (bool, int, float, np.number, np.bool_, np.ndarray, Tensor)):
            t = type(v).__name__
            name = "None" if v is None else f"{'an' if t[0] in 'aeiou' else 'a'} {t}"
            return TypeError(f"tensor: cannot make a tensor from {name}{at}: could not infer the dtype of "
                             f"{type(v).__name__}; {_EXPECTED}")
    return None


MinMax = namedtuple("MinMax", ["values", "indices"])
MinMax.__doc__ = "What ``max(dim)``/``min(dim)``/``topk``/``sort`` return: ``(values, indices)``, PyTorch's named tuple."


def _binary(name: str, op: type, int_to_float: bool = False, scalar: type | None = None) -> tuple:
    """``(__op__, __rop__)`` for a binary op: lift the other operand, promote dtypes as PyTorch does, apply.

    ``int_to_float``: true division of integers gives floats (``__truediv__``);
    ``scalar``: the op for a Python-number exponent (``x ** 2`` is ``PowScalar``).
    Each method is one function: no extra call per op.
    """
    apply = op.apply

    def method(self: "Tensor", other: Any) -> "Tensor":
        if int_to_float and self.array.dtype.kind in "biu" and not _is_float_operand(other):
            return method(self.float(), other)
        if scalar is not None and isinstance(other, (int, float)) and not isinstance(other, bool):
            kind = self.array.dtype.kind
            if kind in "biu":                   # PyTorch: int ** float -> the default float dtype, bool ** int -> int64
                if isinstance(other, float):
                    return scalar.apply(self.to(State.default_dtype), p=other)
                if other < 0:
                    raise RuntimeError(f"pow: integers to negative integer powers are not allowed (a {self.dtype} "
                                       f"tensor ** {other}); convert with .float() first")
                if kind == "b":
                    return scalar.apply(self.to(np.int64), p=other)
            return scalar.apply(self, p=other)
        o = lift(other, self)
        if o.array.dtype is not self.array.dtype:      # (builtin dtypes are singletons)
            return apply(*_promote(self, o))
        return apply(self, o)

    def reflected(self: "Tensor", other: Any) -> "Tensor":
        if int_to_float and self.array.dtype.kind in "biu" and not _is_float_operand(other):
            return reflected(self.float(), other)
        o = lift(other, self)
        if o.array.dtype is not self.array.dtype:
            return apply(*_promote(o, self))
        return apply(o, self)

    for f, dunder in ((method, f"__{name}__"), (reflected, f"__r{name}__")):
        f.__name__, f.__qualname__ = dunder, f"Tensor.{dunder}"
    return method, reflected


def _fill(t: "Tensor", array: np.ndarray, requires_grad: bool, grad_fn: Node | None) -> "Tensor":
    """The one way every Tensor gets its fields: ``Tensor()`` after its checks, ``Tensor._wrap``, ``Node.apply``."""
    t.array = array
    t.requires_grad = requires_grad
    t._grad = None
    t.grad_fn = grad_fn
    t._hooks = None
    t._view = None
    return t


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

    # ``_view``: None, or what this tensor is a view of; ``_views``: set only on a base (see "Views" below)
    __slots__ = ("array", "requires_grad", "_grad", "grad_fn", "_hooks", "_view", "_views", "__weakref__")
    __array_ufunc__ = None          # ndarray <op> Tensor defers to Tensor's reflected ops
    __hash__ = object.__hash__      # == is elementwise, identity is the hash

    def __init__(self, data: Any = (), requires_grad: bool = False, dtype: Any = None, device: Any = None):
        if device is not None:
            check_device(device)
        arr = to_array(data, dtype)
        if dtype is None and arr.dtype.kind in "biu":
            arr = arr.astype(State.default_dtype)
        if requires_grad is not False and requires_grad is not True:
            bool_arg("Tensor", "requires_grad", requires_grad)
        if requires_grad:
            check_grad_dtype(arr.dtype, "Tensor")
        _fill(self, arr, bool(requires_grad), None)

    @staticmethod
    def _wrap(arr: Any) -> "Tensor":
        """A constant tensor around ``arr`` without copying (internal)."""
        return _fill(_new(Tensor), arr if type(arr) is np.ndarray else np.asarray(arr), False, None)

    # -- attributes ---------------------------------------------------------
    shape = property(lambda self: tuple.__new__(Size, self.array.shape),
                     doc="The shape, a ``tg.Size`` (a tuple; ``size()`` is PyTorch's call form).")
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
            check_grad_dtype(arr.dtype, ".data =")
        self.array = arr

    @property
    def grad(self) -> "Tensor | None":
        """The gradient accumulated by ``backward`` (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:                       # PyTorch's checks and messages
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value is self:
                raise RuntimeError("can't assign Variable as its own grad")
            if value.array.shape != self.array.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.array.shape)}' to a "
                                   f"tensor of size '{list(self.array.shape)}'. Please ensure that the gradient "
                                   "and the tensor are the same size")
            if value.array.dtype != self.array.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{value.array.dtype}' to a tensor "
                                   f"with dtype '{self.array.dtype}'. The gradient must match the tensor's dtype")
        self._grad = value

    @property
    def _version(self) -> int:
        """How many times this tensor's values were changed in place (PyTorch's counter)."""
        return version_of(self.array)

    def size(self, dim: int | None = None) -> Any:
        """The shape (``size()``) or one length (``size(dim)``), as PyTorch's ``size``."""
        if dim is None:
            return tuple.__new__(Size, self.array.shape)
        return self.array.shape[dim_nd(dim, self.ndim, "size")]

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
        if (kind == "f" and self.array.dtype != State.default_dtype) or (kind in "iu" and self.array.dtype != np.int64):
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

        ``retain_graph``: the arrays the graph saved for its VJPs are freed as
        backward walks it, so a second ``backward()`` through the same graph
        raises (PyTorch's error); pass ``retain_graph=True`` to the first call
        to keep them.  The graph's structure stays walkable either way
        (``grad_fn.next_functions``, ``tg.viz.graph``).  Changing a saved
        tensor in place between the two (an optimizer step) raises too.
        This method is one call: the pass itself is ``autograd.backward``.
        ``create_graph=True`` (higher-order gradients) is not supported.
        """
        _autograd.backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad: this tensor does not require grad")
            return
        node = self.grad_fn
        if node.hooks is None:
            node.hooks = Hooks()
        node.hooks.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this (non-leaf) tensor."""
        hooks = None if self.grad_fn is None else self.grad_fn.hooks
        return hooks is not None and hooks.retained is not None and hooks.retained() is self

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
            bool_arg("requires_grad_", "requires_grad", requires_grad)
        if requires_grad:
            check_grad_dtype(self.array.dtype, "requires_grad_")
        self.requires_grad = bool(requires_grad)
        return self

    # -- arithmetic: the twelve binary dunders, each made by ``_binary`` (below the class) --------------
    __add__, __radd__ = _binary("add", _ops.Add)
    __sub__, __rsub__ = _binary("sub", _ops.Sub)
    __mul__, __rmul__ = _binary("mul", _ops.Mul)
    __truediv__, __rtruediv__ = _binary("truediv", _ops.Div, int_to_float=True)
    __pow__, __rpow__ = _binary("pow", _ops.Pow, scalar=_ops.PowScalar)
    __matmul__, __rmatmul__ = _binary("matmul", _ops.MatMul)

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
        if type(o) is int and self.array.dtype.kind in "iu":
            o = lift(o, self).array                 # an out-of-range int wraps round first, as in PyTorch
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
        return Tensor._wrap(np.all(self.array, axis=axes_arg(dim, self.ndim, "all"), keepdims=keepdim))

    def any(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """True where some element (over ``dim``) is true."""
        return Tensor._wrap(np.any(self.array, axis=axes_arg(dim, self.ndim, "any"), keepdims=keepdim))

    def equal(self, other: Any) -> bool:
        """True if both have the same shape and values (PyTorch's ``torch.equal``)."""
        o = other.array if isinstance(other, Tensor) else np.asarray(other)
        return self.shape == o.shape and bool(np.array_equal(self.array, o))

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
        """Whether all values are within ``atol + rtol * |other|`` of ``other``."""
        o = other.array if isinstance(other, Tensor) else to_array(other, None)
        try:
            np.broadcast_shapes(self.shape, o.shape)
        except ValueError:
            raise ShapeError(f"allclose: shapes {self.shape} and {o.shape} cannot be broadcast together") from None
        return bool(np.allclose(self.array, o, rtol=rtol, atol=atol, equal_nan=equal_nan))

    # -- indexing -------------------------------------------------------------
    def __getitem__(self, index: Any) -> "Tensor":
        if type(index) is not int and type(index) is not slice:   # ints and slices need no conversion
            index = _index_arrays(index)
        return _viewed(_ops.GetItem.apply(self, index=index), self, _ops.GetItem, {"index": index})

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``: in place, as in PyTorch (recorded when a gradient flows through)."""
        index = _index_arrays(index)
        v = lift(value, self)
        self._inplace("setitem", lambda: _ops.SetItem.apply(self, v, index=index),
                      lambda a: a.__setitem__(index, v.array), v)

    # -- elementwise functions ------------------------------------------------
    def exp(self) -> "Tensor":
        """e^x, elementwise."""
        return _ops.Exp.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

    def log(self) -> "Tensor":
        """Natural logarithm, elementwise."""
        return _ops.Log.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

    def sqrt(self) -> "Tensor":
        """Square root, elementwise."""
        return _ops.Sqrt.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

    def sin(self) -> "Tensor":
        """sin x, elementwise."""
        return _ops.Sin.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

    def cos(self) -> "Tensor":
        """cos x, elementwise."""
        return _ops.Cos.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

    def abs(self) -> "Tensor":
        """|x|, elementwise."""
        return _ops.Abs.apply(self)

    def tanh(self) -> "Tensor":
        """tanh x, elementwise."""
        return _ops.Tanh.apply(self if self.array.dtype.kind in "fc" else self.to(State.default_dtype))

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
        return _ops.LeakyRelu.apply(self, slope=number_arg("leaky_relu", "negative_slope", negative_slope))

    def softplus(self) -> "Tensor":
        """log(1 + e^x), elementwise, without overflow."""
        return _ops.Softplus.apply(self if self.array.dtype.kind == "f" else self.to(State.default_dtype))

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":  # noqa: A002
        """Limit every element to [min, max] (either may be None)."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        for name, v in (("min", min), ("max", max)):
            if v is not None and not isinstance(v, Tensor) and \
                    (isinstance(v, (str, bytes)) or not np.issubdtype(np.asarray(v).dtype, np.number)):
                raise TypeError(f"clamp: {name} must be a number or None, got {type(v).__name__} {v!r}")
        x = self
        for name, v in (("min", min), ("max", max)):
            if isinstance(v, Tensor) and (v.array.ndim or v.requires_grad):
                raise TypeError(f"clamp: {name} as a tensor with dimensions or requiring grad is not supported "
                                f"(got shape {tuple(v.shape)}); use torch.maximum / torch.minimum")
            if x.array.dtype.kind in "biu" and \
                    (isinstance(v, float) or (isinstance(v, Tensor) and v.array.dtype.kind == "f")):
                x = x.to(result_type(x, lift(v, x)))  # PyTorch: an integer tensor, a float bound: a float result
        lo, hi = (v.item() if isinstance(v, Tensor) else v for v in (min, max))
        return _ops.Clip.apply(x, lo=lo, hi=hi)

    clip = clamp

    def maximum(self, other: Any) -> "Tensor":
        """Elementwise maximum with ``other`` (ties share the gradient)."""
        o = lift(other, self)
        return _ops.Maximum.apply(*_promote(self, o)) if o.array.dtype is not self.array.dtype else \
            _ops.Maximum.apply(self, o)

    def minimum(self, other: Any) -> "Tensor":
        """Elementwise minimum with ``other`` (ties share the gradient)."""
        o = lift(other, self)
        return _ops.Minimum.apply(*_promote(self, o)) if o.array.dtype is not self.array.dtype else \
            _ops.Minimum.apply(self, o)

    def where(self, condition: Any, other: Any) -> "Tensor":
        """``self`` where ``condition``, else ``other`` (PyTorch's ``x.where(cond, y)``)."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where ``mask`` is true, ``self`` elsewhere."""
        return where(mask, lift(value, self), self)

    # -- reductions -----------------------------------------------------------
    # Each takes PyTorch's ``dim``/``keepdim`` or numpy's ``axis``/``keepdims``.
    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """Sum over all elements or over ``dim`` (an int or a tuple)."""
        return self._reduce(_ops.Sum, dim, keepdim, axis, keepdims)

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None, keepdims: bool | None = None) -> "Tensor":
        """Mean over all elements or ``dim`` (a floating tensor only)."""
        if self.array.dtype.kind != "f":
            raise TypeError(f"mean: needs a floating-point tensor, got {self.dtype} (use .float() first)")
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
        return self._variance("var", dim, unbiased, keepdim, correction, axis, keepdims)

    def _variance(self, name: str, dim: Any, unbiased: Any, keepdim: bool, correction: Any, axis: Any,
                  keepdims: Any) -> "Tensor":
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        number_arg(name, "correction", correction, 0)
        y = self._reduce(_ops.Var, dim, keepdim, axis, keepdims, correction=correction)
        if y.array.size and self.array.size // y.array.size - correction <= 0:     # nan (or inf), as PyTorch
            warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
        return y

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> "Tensor":
        """Standard deviation: the square root of ``var``."""
        return self._variance("std", dim, unbiased, keepdim, correction, None, None).sqrt()

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> "Tensor":
        """The p-norm (2 by default; 1, any p > 0, or inf) over all elements or ``dim``."""
        if isinstance(p, str) and p != "fro" or not isinstance(p, (str, int, float, np.integer, np.floating)) \
                or isinstance(p, bool) or p != p:
            raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
        if p == 0:                                  # the number of non-zero elements (no gradient)
            return Tensor._wrap((self.array != 0).sum(axis=axes_arg(dim, self.ndim, "norm"), keepdims=keepdim)
                                .astype(self.dtype if self.dtype.kind == "f" else State.default_dtype))
        if p in ("fro", 2):
            return (self * self).sum(dim, keepdim).sqrt()
        if p == float("inf"):
            return self.abs().amax(dim, keepdim)
        if p == 1:
            return self.abs().sum(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def _reduce(self, op: type, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None, **params: Any) -> "Tensor":
        axes = axes_arg(axis if axis is not None else dim, self.ndim, op.name)
        keep = keepdim if keepdims is None else keepdims
        if keep is not True and keep is not False:
            keep = bool_arg(op.name, "keepdim", keep)
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
        d = dim_arg(d, self.ndim, op.name)
        if self.shape and self.shape[d] == 0:
            raise ShapeError(f"{op.name}: cannot reduce over dimension {d} of size 0 (shape {self.shape})")
        idx = arg(self.array, axis=d, keepdims=True) if self.ndim else np.zeros((), np.int64)
        values = self.gather(d, Tensor._wrap(idx)) if self.ndim else self.reshape(())     # a new tensor, never self
        if not keep and self.ndim:
            values, idx = values.squeeze(d), np.squeeze(idx, d)
        return MinMax(values, Tensor._wrap(idx.astype(np.int64)))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> "Tensor":
        """Index of the largest value (over ``dim``; flattened if None), int64."""
        d = axis if axis is not None else dim
        if self.array.size == 0:
            raise ShapeError(f"argmax: cannot take the argmax of an empty tensor (shape {self.shape})")
        return Tensor._wrap(np.argmax(self.array, axis=None if d is None else dim_arg(d, self.ndim, "argmax"),
                                      keepdims=keepdim).astype(np.int64))

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> "Tensor":
        """Index of the smallest value (over ``dim``; flattened if None), int64."""
        d = axis if axis is not None else dim
        if self.array.size == 0:
            raise ShapeError(f"argmin: cannot take the argmin of an empty tensor (shape {self.shape})")
        return Tensor._wrap(np.argmin(self.array, axis=None if d is None else dim_arg(d, self.ndim, "argmin"),
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
        return self if self.array.dtype.kind in "fc" else self.to(State.default_dtype)

    def _along(self, op: type, dim: Any) -> "Tensor":
        d = dim_arg(dim, self.ndim, op.name)
        if self.ndim == 0:                          # PyTorch accepts dim 0 / -1 on a 0-d tensor
            return op.apply(self.reshape(1), axis=0).reshape(())
        return op.apply(self, axis=d)

    # -- shape ------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        """The same values in a new shape (one size may be -1)."""
        shape = shape_args(shape, "reshape", allow_minus_one=True)
        return _viewed(_ops.Reshape.apply(self, shape=shape), self, _ops.Reshape, {"shape": shape})

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
        s, e = dim_arg(start_dim, self.ndim, "flatten"), dim_arg(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:])

    def permute(self, *dims: Any) -> "Tensor":
        """Dimensions reordered (``permute(1, 0, 2)``)."""
        axes = shape_args(dims, "permute")
        return _viewed(_ops.Permute.apply(self, axes=axes), self, _ops.Permute, {"axes": axes})

    def transpose(self, dim0: int = -2, dim1: int = -1) -> "Tensor":
        """Swap two axes (PyTorch's ``transpose``); ``permute`` reorders all of them."""
        axes = list(range(self.ndim))
        d0, d1 = dim_arg(dim0, self.ndim, "transpose"), dim_arg(dim1, self.ndim, "transpose")
        if self.ndim == 0:
            return self                         # PyTorch: transposing a 0-d tensor returns it
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return _viewed(_ops.Permute.apply(self, axes=tuple(axes)), self, _ops.Permute, {"axes": tuple(axes)})

    def t(self) -> "Tensor":
        """Transpose of a matrix (a 0-d or 1-d tensor is returned as it is)."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor with at most 2 dimensions, got shape {self.shape}")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> "Tensor":
        axes = tuple(range(self.ndim - 1, -1, -1))
        return _viewed(_ops.Permute.apply(self, axes=axes), self, _ops.Permute, {"axes": axes})

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> "Tensor":
        """Size-1 dimensions removed (only ``dim`` if given)."""
        d = axis if axis is not None else dim
        axes = range(self.ndim) if d is None else axes_arg(d, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def unsqueeze(self, dim: int) -> "Tensor":
        """A size-1 dimension inserted at ``dim``."""
        d = dim_arg(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes: Any) -> "Tensor":
        """Broadcast to ``sizes`` (-1 keeps an existing size; new axes may be added in front)."""
        sizes = shape_args(sizes, "expand", allow_minus_one=True, many_minus_ones=True)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: cannot expand {self.shape} to fewer dimensions {sizes}")
        if any(s == -1 for s in sizes[:lead]):
            raise ShapeError(f"expand: -1 is not allowed for the new leading dimensions in {sizes} "
                             f"(the tensor has shape {self.shape})")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return _viewed(_ops.BroadcastTo.apply(self, shape=shape), self, _ops.BroadcastTo, {"shape": shape})

    def expand_as(self, other: "Tensor") -> "Tensor":
        """Broadcast to ``other``'s shape."""
        return self.expand(other.shape)

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        """Broadcast to ``shape`` (numpy's rules); gradients are summed back."""
        shape = shape_args((shape,), "broadcast_to")
        return _viewed(_ops.BroadcastTo.apply(self, shape=shape), self, _ops.BroadcastTo, {"shape": shape})

    def split(self, split_size_or_sections: Any, dim: int = 0, *, axis: int | None = None) -> tuple["Tensor", ...]:
        """PyTorch's split: an int is the size of each piece (the last may be smaller), a list the sizes."""
        d = dim_nd(axis if axis is not None else dim, self.ndim, "split")
        n = self.shape[d]
        if type(split_size_or_sections) is int or is_int(split_size_or_sections):
            step = int(split_size_or_sections)
            if step <= 0:
                raise ValueError(f"split: split_size must be a positive integer, got {step}")
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        elif isinstance(split_size_or_sections, (list, tuple)) and all(is_int(s) for s in split_size_or_sections):
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ShapeError(f"split: sizes {sizes} must be non-negative and add up to {n}, the length of "
                                 f"dimension {d} of {self.shape}")
        else:
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, "
                            f"got {split_size_or_sections!r}")
        out, start = [], 0
        for s in sizes:
            index = range_index(d, start, start + s)
            out.append(_viewed(_ops.GetItem.apply(self, index=index), self, _ops.GetItem, {"index": index}))
            start += s
        return _several_views(out, "split")

    def chunk(self, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple["Tensor", ...]:
        """PyTorch's chunk: pieces of ceil(n / chunks) each (fewer pieces if that covers n)."""
        if not is_int(chunks) or chunks <= 0:
            raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
        d = dim_nd(axis if axis is not None else dim, self.ndim, "chunk")
        return self.split(max(-(-self.shape[d] // chunks), 1), d)

    def unbind(self, dim: int = 0) -> tuple["Tensor", ...]:
        """The slices along ``dim``, that dimension removed."""
        d = dim_nd(dim, self.ndim, "unbind")
        return _several_views([self[(slice(None),) * d + (i,)] for i in range(self.shape[d])], "unbind")

    def narrow(self, dim: int, start: int, length: int) -> "Tensor":
        """``length`` elements of ``dim`` from ``start`` (a view of the values)."""
        d = dim_nd(dim, self.ndim, "narrow")
        if not (0 <= start and length >= 0 and start + length <= self.shape[d]):
            raise IndexError(f"narrow: start {start} + length {length} exceeds dimension {d} of size {self.shape[d]}")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): PyTorch's ``gather``."""
        d = dim_arg(dim, self.ndim, "gather")
        idx = _int_index(index, "gather")
        if self.ndim == 0:                      # PyTorch: a 0-d input takes a 0-d index, which must be 0
            if idx.ndim != 0 or int(idx) != 0:
                raise IndexError(f"gather: a 0-d input takes a 0-d index equal to 0, got {idx.tolist()}")
            return self.reshape(1)[np.zeros(1, np.int64)].reshape(())
        if idx.ndim != self.ndim:
            raise ShapeError(f"gather: index must have {self.ndim} dimensions like the input, got shape {idx.shape}")
        if any(i > n for k, (i, n) in enumerate(zip(idx.shape, self.shape)) if k != d):
            raise ShapeError(f"gather: index {tuple(idx.shape)} must be no larger than the input {tuple(self.shape)} "
                             f"in every dimension apart from dimension {d}")
        _check_bounds("gather", idx, d, self.shape[d])
        grid = list(np.ix_(*[np.arange(n) for n in idx.shape])) if idx.ndim else []
        grid[d] = idx
        return self[tuple(grid)]

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> "Tensor":
        """A copy with ``out[index[i][j]][j] = src[i][j]`` for dim 0 (and so on): PyTorch's ``scatter``.

        ``src`` may be a tensor (self's dtype) or a number (``value=``).  With repeated
        indices one of the values wins, as in PyTorch (which leaves the choice undefined).
        """
        if reduce is not None:
            raise NotImplementedError(f"scatter: reduce={reduce!r} is not supported (PyTorch deprecates it); use "
                                      "scatter_add for reduce='add'")
        src = value if src is None else src
        if self.ndim == 0:                      # as a 1-element tensor (PyTorch takes 0-d self, index and src)
            return self.reshape(1).scatter(dim, _int_index(index, "scatter").reshape(-1),
                                           src.reshape(-1) if isinstance(src, Tensor) else src).reshape(())
        d, idx, src_t = _scatter_args("scatter", self, dim, index, src)
        return _ops.ScatterSet.apply(self, src_t, dim=d, index=idx)

    def scatter_add(self, dim: int, index: Any, src: Any) -> "Tensor":
        """A copy with ``out[index[i][j]][j] += src[i][j]`` for dim 0 (and so on): PyTorch's ``scatter_add``."""
        if self.ndim == 0:
            return self.reshape(1).scatter_add(dim, _int_index(index, "scatter_add").reshape(-1),
                                               src.reshape(-1) if isinstance(src, Tensor) else src).reshape(())
        d, idx, src_t = _scatter_args("scatter_add", self, dim, index, src, number_ok=False)
        return _ops.ScatterAdd.apply(self, src_t, dim=d, index=idx)

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> "Tensor":
        """``scatter``, in place."""
        out = lambda: self.scatter(dim, index, src, value=value, reduce=reduce)  # noqa: E731
        operand = src if isinstance(src, Tensor) else None
        return self._inplace("scatter_", out, lambda a: np.copyto(a, out().array), operand)

    def scatter_add_(self, dim: int, index: Any, src: Any) -> "Tensor":
        """``scatter_add``, in place."""
        out = lambda: self.scatter_add(dim, index, src)  # noqa: E731
        return self._inplace("scatter_add_", out, lambda a: np.copyto(a, out().array),
                             src if isinstance(src, Tensor) else None)

    def repeat(self, *sizes: Any) -> "Tensor":
        """Tile the tensor ``sizes[i]`` times along each dimension (PyTorch's ``repeat``)."""
        sizes = shape_args(sizes, "repeat")
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        index = tuple(np.arange(n * r) % n for n, r in zip(x.shape, sizes))
        return x[np.ix_(*index)] if index else x

    def flip(self, dims: Any) -> "Tensor":
        """Reversed along ``dims``."""
        axes = axes_arg(dims, self.ndim, "flip")
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def contiguous(self) -> "Tensor":
        """The tensor itself if its values are laid out in row-major order, else a row-major copy (PyTorch's)."""
        if self.array.flags.c_contiguous:
            return self
        out = self.clone()                      # recorded when a gradient flows; its array made row-major
        out.array = np.ascontiguousarray(out.array)
        return out

    def is_contiguous(self) -> bool:
        """Whether the values are in row-major order (False after ``t()``, ``transpose``, ``expand``, some slices)."""
        return bool(self.array.flags.c_contiguous)

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradients flow back to ``self``."""
        return self + 0 if self.requires_grad and is_grad_enabled() else Tensor._wrap(self.array.copy())

    # -- sorting --------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> MinMax:
        """``(values, indices)`` sorted along ``dim``, always stable (ties keep their order, also descending).

        NaN sorts as the largest value (last ascending, first descending), as in PyTorch.
        Descending order is the stable ascending order of the reversed array, reversed:
        no negation, so unsigned integers, the smallest signed integer and bool sort right.
        """
        d = dim_arg(dim, self.ndim, "sort")
        bool_arg("sort", "descending", descending), bool_arg("sort", "stable", stable)
        if self.ndim == 0:                          # a new tensor, never self (PyTorch's)
            return MinMax(self.reshape(()), Tensor._wrap(np.zeros((), np.int64)))
        a = self.array
        if descending:
            n = a.shape[d]
            flip = (slice(None),) * d + (slice(None, None, -1),)
            idx = (n - 1) - np.argsort(a[flip], axis=d, kind="stable")[flip]
        else:
            idx = np.argsort(a, axis=d, kind="stable")
        idx = idx.astype(np.int64, copy=False)
        return MinMax(self.gather(d, idx), Tensor._wrap(idx))

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> "Tensor":
        """Indices that sort along ``dim`` (stable; NaN as the largest value)."""
        return self.sort(dim, descending, stable=stable).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMax:  # noqa: A002
        """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``."""
        d = dim_arg(dim, self.ndim, "topk")
        if self.array.dtype.kind == "b":
            raise RuntimeError("topk: bool tensors are not supported (as in PyTorch: \"topk does not support bool "
                               "dtypes on CPU\"); convert with .int() or .float() first")
        n = self.shape[d] if self.ndim else 1
        if not is_int(k) or not 0 <= k <= n:
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
        flags = [a for a in args if isinstance(a, bool)]          # positional (non_blocking, copy), PyTorch's order
        copy = kwargs.pop("copy", flags[1] if len(flags) > 1 else False)
        for a in (*args, kwargs.pop("device", None)):
            if a is None or isinstance(a, bool):
                continue
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)):
                check_device(a)
            else:
                dtype = a
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            return self.clone() if copy else self
        dtype = dtype_arg("to", dtype)
        if dtype == self.array.dtype:
            return self.clone() if copy else self       # copy=True: a new tensor with its own memory, as PyTorch
        return _ops.Cast.apply(self, dtype=dtype)

    astype = to

    def cpu(self) -> "Tensor":
        """The tensor itself: everything is on the CPU."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Tensor":
        """Refused: tinygrad_seq computes on the CPU with numpy."""
        check_device("cuda")
        return self

    def float(self) -> "Tensor":
        """Converted to float32."""
        return self.to(np.float32)

    def half(self) -> "Tensor":
        """Converted to float16 (numpy's IEEE half precision)."""
        return self.to(np.float16)

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
        return _new_leaf(np.zeros(shape_args(size, "new_zeros"), dtype or self.dtype), requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """Ones of ``size``, this tensor's dtype by default."""
        return _new_leaf(np.ones(shape_args(size, "new_ones"), dtype or self.dtype), requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A tensor of ``size`` filled with ``fill_value``, this tensor's dtype by default."""
        fill = lift(fill_value, self).array
        if fill.ndim:
            raise TypeError(f"new_full: fill_value must be a number, got {fill_value!r}")
        return _new_leaf(np.full(shape_args((size,), "new_full"), fill,
                            dtype_arg("new_full", dtype) if dtype is not None else self.dtype), requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A new tensor from ``data``, this tensor's dtype by default."""
        return _new_leaf(to_array(data, dtype or self.dtype), requires_grad)

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
        if State.grad_enabled and (self.requires_grad or (isinstance(operand, Tensor) and operand.requires_grad)):
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                                   "operation. (Change it under `with tg.no_grad():`, as optimizers do.)")
            view = self._view
            if view is not None:
                return _inplace_on_view(self, view, name, recorded)
            new = _recorded_value(self, name, recorded)
            _write(self, new)
            self.grad_fn, self.requires_grad = new.grad_fn, True
            _refresh_views(self)
            return self
        try:
            direct(self.array)
        except ValueError as e:
            raise ShapeError(f"{name}: in-place result does not fit the tensor of shape {self.shape}: {e}") from None
        except TypeError as e:             # numpy's casting error, e.g. a float into an int tensor
            raise RuntimeError(f"{name}: result can't be cast to the tensor's dtype {self.dtype}: {e}") from None
        mark_modified(self)
        return self

    def _inplace_binary(self, name: str, other: Any, ufunc: np.ufunc, expr: Callable) -> "Tensor":
        o = lift(other, self)
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
        return self.__iadd__(other if alpha == 1 else lift(other, self) * alpha)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self -= alpha * other, in place."""
        return self.__isub__(other if alpha == 1 else lift(other, self) * alpha)

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
        v = lift(value, self)
        return self._inplace("fill_", lambda: _replace(self, v), lambda a: a.fill(v.array.item()), v)

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src``'s values (broadcast to this shape) into this tensor, in place."""
        s = src if isinstance(src, Tensor) else Tensor._wrap(np.asarray(src))
        return self._inplace("copy_", lambda: _replace(self, s),
                             lambda a: np.copyto(a, s.array, casting="unsafe"), s)

    def clamp_(self, min: float | None = None, max: float | None = None) -> "Tensor":  # noqa: A002
        """Limit every element to [min, max], in place."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._inplace("clamp_", lambda: self.clamp(min, max), lambda a: np.clip(a, min, max, out=a))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where ``mask`` is true, in place."""
        m = _bool_mask(mask, "masked_fill_")
        v = lift(value, self)
        return self._inplace("masked_fill_", lambda: self.masked_fill(m, v), lambda a: np.copyto(a, v.array, where=m), v)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> "Tensor":
        """Fill with samples of U[a, b), in place (from the generator ``tg.manual_seed`` resets)."""
        number_arg("uniform_", "a", a), number_arg("uniform_", "b", b)
        if a > b:
            raise ValueError(f"uniform_: expects a <= b, got a={a}, b={b}")
        return self._random_fill("uniform_", lambda shape: State.rng.uniform(a, b, shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        """Fill with samples of N(mean, std^2), in place."""
        number_arg("normal_", "mean", mean), number_arg("normal_", "std", std, 0)
        return self._random_fill("normal_", lambda shape: State.rng.normal(mean, std, shape))

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

    def transpose_(self, dim0: int, dim1: int) -> "Tensor":
        """transpose(dim0, dim1), in place."""
        return self._reshape_inplace(self.transpose(dim0, dim1))

    def resize_(self, *sizes: Any) -> "Tensor":
        """A new shape, in place: the first elements (in row-major order) kept, new ones zero (PyTorch leaves them
        uninitialised).  Refused for a tensor that requires grad, as in PyTorch."""
        if self.requires_grad:
            raise RuntimeError("resize_: cannot resize variables that require grad")
        shape = shape_args(sizes, "resize_")
        flat = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=self.array.dtype)
        keep = min(flat.size, self.array.size)
        flat[:keep] = self.array.reshape(-1)[:keep]
        self.array = flat.reshape(shape)
        return self

    def _reshape_inplace(self, new: "Tensor") -> "Tensor":
        if self.requires_grad and self.grad_fn is None and State.grad_enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation "
                               "(a shape change: unsqueeze_, squeeze_, t_, transpose_). Change it under "
                               "`with tg.no_grad():` or use the out-of-place form.")
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
# operands: lifting numbers, promotion, masks and indices (the shared argument checks are in _args.py)
# ----------------------------------------------------------------------------

def _is_float_operand(v: Any) -> bool:
    if isinstance(v, Tensor):
        return v.array.dtype.kind == "f"
    return isinstance(v, float) or (isinstance(v, np.ndarray) and v.dtype.kind == "f")


def _need_ndim(op: str, a: Tensor, na: int, b: Any, nb: int) -> None:
    b_ndim = b.ndim if isinstance(b, Tensor) else np.ndim(b)
    if a.ndim != na or b_ndim != nb:
        raise ShapeError(f"{op}: expects {na}-d and {nb}-d tensors, got shapes {a.shape} and {np.shape(b)}")


def _int_index(index: Any, op: str) -> np.ndarray:
    idx = np.asarray(index.array if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {idx.dtype}")
    return idx


def _check_bounds(op: str, idx: np.ndarray, d: int, n: int) -> None:
    """Indices must lie in [0, n): negative ones are refused (PyTorch's rule and message), not wrapped round."""
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"{op}: index {bad} is out of bounds for dimension {d} with size {n}")


def _scatter_args(op: str, t: "Tensor", dim: Any, index: Any, src: Any, number_ok: bool = True) -> tuple:
    """scatter's checks (PyTorch's): index as many dims as self; index no larger than src anywhere nor than
    self outside ``dim``; indices in range; src of self's dtype (a number becomes a constant of it)."""
    d = dim_arg(dim, t.ndim, op)
    idx = _int_index(index, op)
    if idx.ndim != t.ndim:
        raise ShapeError(f"{op}: index must have {t.ndim} dimensions like self, got shape {idx.shape}")
    t_shape = t.shape
    if isinstance(src, Tensor):
        if src.array.dtype != t.array.dtype:
            raise RuntimeError(f"{op}: expected self.dtype to be equal to src.dtype, got {t.dtype} and {src.dtype}")
        s_shape = src.shape
        if len(s_shape) != len(t_shape):
            raise ShapeError(f"{op}: src must have {t.ndim} dimensions like self, got shape {src.shape}")
        if any(i > s for i, s in zip(idx.shape, s_shape)) or \
                any(i > s for k, (i, s) in enumerate(zip(idx.shape, t_shape)) if k != d):
            raise ShapeError(f"{op}: index {idx.shape} must be no larger than src {src.shape} in every dimension "
                             f"and no larger than self {t.shape} apart from dimension {d}")
    elif number_ok and src is not None and not isinstance(src, (str, bytes)) and np.ndim(src) == 0:
        src = Tensor._wrap(np.full(idx.shape, src, dtype=t.array.dtype))
    else:
        raise TypeError(f"{op}: src must be a tensor{' or a number' if number_ok else ''}, got "
                        f"{type(src).__name__}")
    if any(i > s for k, (i, s) in enumerate(zip(idx.shape, t_shape)) if k != d):
        raise ShapeError(f"{op}: index {idx.shape} must be no larger than self {t.shape} apart from dimension {d}")
    _check_bounds(op, idx, d, t_shape[d])
    return d, idx, src


def _bool_mask(mask: Any, op: str, what: str = "the mask") -> np.ndarray:
    m = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        raise TypeError(f"{op}: {what} must be boolean, got {m.dtype}")
    return m


# ----------------------------------------------------------------------------
# Views.  As in PyTorch, basic indexing, reshape (when no copy is needed), permute/transpose/t/T, expand,
# squeeze/unsqueeze/flatten/view share memory with the tensor they were taken of (numpy's views do).  A view
# records ``_view = (root, steps, recorded)``: the tensor whose memory it shares and the view ops
# (op class, params) that lead from it there.  An in-place op with a gradient flowing writes its result into
# the tensor's own array (so every view and the base see it) and then fixes the history:
#   * on a view: the root's history becomes ``WriteRegion(root_old, new_view_values)`` (PyTorch's
#     CopySlices, ops.py) and the view's own history is re-read from the new root;
#   * on a root: its history becomes the op's output.
# Either way each live view of the root (``root._views``, weak references) re-reads its history from the
# root, so ``v = y[:2]; y.mul_(3); v.sum().backward()`` is right.
# ----------------------------------------------------------------------------

_weakref = weakref.ref


def _viewed(out: Tensor, x: Tensor, op: type, params: dict) -> Tensor:
    """Note that ``out`` (made by ``op(x, **params)``) is a view of ``x`` when it shares ``x``'s memory."""
    base, xa = out.array.base, x.array          # numpy points a view's .base at the array owning the memory
    if base is None or (base is not xa and base is not xa.base):
        return out                                  # a copy (advanced indexing, a reshape that had to copy)
    parent = x._view
    if parent is None:
        root, steps = x, ((op, params),)
    else:
        root, steps = parent[0], parent[1] + ((op, params),)
    grad = State.grad_enabled
    out._view = (root, steps, grad)
    if grad:
        try:
            views = root._views
        except AttributeError:
            views = root._views = []
        if len(views) & 63 == 63:                   # forget the views that are gone, now and then
            views[:] = [r for r in views if r() is not None]
        views.append(_weakref(out))
    return out


def _several_views(pieces: list, name: str) -> tuple:
    """``split``/``chunk``/``unbind``'s pieces: views whose in-place change with a gradient flowing is refused,
    as PyTorch refuses it (they share memory all the same)."""
    for p in pieces:
        if p._view is not None:
            p._view = p._view[:2] + (name,)
    return tuple(pieces)


def _recorded_value(t: Tensor, name: str, recorded: Callable[[], Tensor]) -> Tensor:
    """The in-place op's result computed out of place (a new node), checked against ``t``'s shape and dtype.

    The nodes it recorded may have saved ``t``'s current values (``pow_`` saves its input): since those
    values are about to be overwritten, they keep a copy (PyTorch clones the same way).
    """
    State.epoch += 1                                # the nodes ``recorded`` makes carry this epoch alone
    epoch = State.epoch
    new = recorded()
    if new.shape != t.shape:
        raise ShapeError(f"{name}: output with shape {t.shape} doesn't match the broadcast shape {new.shape}")
    if new.dtype != t.dtype:
        new = new.to(t.dtype)
    buf = buffer_of(t.array)
    stack = [new.grad_fn]
    while stack:
        node = stack.pop()
        if not isinstance(node, Node) or node.epoch != epoch:
            continue
        saved = node.saved
        if type(saved) is tuple:
            node.saved = tuple(a.copy() if type(a) is np.ndarray and buffer_of(a) is buf else a for a in saved)
        elif type(saved) is np.ndarray and buffer_of(saved) is buf:
            node.saved = saved.copy()
        stack.extend(node.inputs)
    return new


def _write(t: Tensor, new: Tensor) -> None:
    """Write ``new``'s values into ``t``'s own array (views of it see them) and note the change."""
    if t.array.flags.writeable:
        np.copyto(t.array, new.array)
        mark_modified(t)
    elif t._view is None and not getattr(t, "_views", None):
        t.array = new.array                         # a read-only array nothing else views: take the new one
    else:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location (an expand()ed or read-only tensor). Please clone() the tensor "
                           "before performing the operation.")


def _inplace_on_view(v: Tensor, view: tuple, name: str, recorded: Callable[[], Tensor]) -> Tensor:
    """An in-place op on a view, gradient flowing: the view's new values written into the root's memory, and
    the root's history rewritten as 'root with the view's elements replaced' (``WriteRegion``)."""
    root, steps, made_with_grad = view
    if type(made_with_grad) is str:
        raise RuntimeError(f"{name}: this tensor is an output of {made_with_grad}(), a function that returns "
                           "multiple views, and is being modified inplace. Such functions do not allow the output "
                           "views to be modified inplace. You should replace the inplace operation by an "
                           "out-of-place one.")
    if not made_with_grad:
        raise RuntimeError(f"{name}: a view was created in no_grad mode and is being modified inplace with grad "
                           "mode enabled. Create the view with grad mode on, or use the out-of-place form.")
    if root.requires_grad and root.grad_fn is None:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation. (Change it under `with tg.no_grad():`, or change a .clone().)")
    if any(op is _ops.BroadcastTo for op, _ in steps):
        raise RuntimeError(f"{name}: unsupported operation: more than one element of the written-to tensor refers "
                           "to a single memory location (the tensor is an expand()ed view). Please clone() the "
                           "tensor before performing the operation.")
    region = np.arange(root.array.size).reshape(root.array.shape)   # which root element each view element is
    try:
        for op, params in steps:
            region = op.view(region, **params)
    except (ValueError, IndexError):
        region = None
    vb, ra = v.array.base, root.array
    if region is None or region.shape != v.array.shape or (vb is not ra and vb is not ra.base):
        raise RuntimeError(f"{name}: the view's base changed shape or memory (unsqueeze_, resize_, .data =) since "
                           "the view was taken; take the view again")
    new = _recorded_value(v, name, recorded)
    base_new = _ops.WriteRegion.apply(root, new, region=np.ascontiguousarray(region))
    _write(v, new)                                  # v's memory is the root's: the root's values change too
    root.grad_fn, root.requires_grad = base_new.grad_fn, True
    _refresh_views(root)
    v.grad_fn, v.requires_grad = _replay(root, steps).grad_fn, True
    return v


def _replay(root: Tensor, steps: tuple) -> Tensor:
    t = root
    for op, params in steps:
        t = op.apply(t, **params)
    return t


def _refresh_views(root: Tensor) -> None:
    """After ``root``'s history changed in place: each live view of it re-reads its history from ``root``."""
    views = getattr(root, "_views", None)
    if not views:
        return
    for ref in views:
        w = ref()
        if w is not None and w._view[0] is root:
            new = _replay(root, w._view[1])
            w.grad_fn, w.requires_grad = new.grad_fn, new.requires_grad


def _replace(t: Tensor, values: Tensor) -> Tensor:
    """``values`` broadcast to ``t``'s shape, recorded as a function of ``t`` (whose gradient is then 0)."""
    return where(np.ones(t.shape, dtype=bool), values.to(t.dtype), t)


def _new_leaf(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _promote(a: Tensor, b: Tensor) -> tuple:
    """PyTorch's promotion for two tensors of different dtypes: both converted to ``result_type(a, b)``."""
    dt = result_type(a, b)
    return (a if a.array.dtype is dt else a.to(dt)), (b if b.array.dtype is dt else b.to(dt))


# PyTorch's categories: bool < integer < floating.  A 0-d tensor (or a Python number, lifted to one by
# ``lift``) only raises the category of a tensor with dimensions, never its width.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_RESULT_TYPES: dict = {}


def promote_types(da: np.dtype, db: np.dtype) -> np.dtype:
    """PyTorch's ``promote_types``: an integer or bool dtype meets a floating one -> the floating one
    (int64 + float16 is float16; numpy would give float64).  Other pairs follow numpy, which agrees."""
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb and (ca == 2 or cb == 2):
        return da if ca > cb else db
    return np.promote_types(da, db)


def result_type(a: Tensor, b: Tensor) -> np.dtype:
    """PyTorch's ``result_type`` for two tensors: tensors with dimensions decide the width, a 0-d one only
    raises the category (``float16 + 0-d float64`` is float16, ``int32 * 0-d int64`` is int32, ``int32 +
    0-d float64`` is float64).  Memoized per (dtype, dtype, 0-d?, 0-d?): O(1) on the hot path."""
    da, db = a.array.dtype, b.array.dtype
    key = (da, db, a.array.ndim == 0, b.array.ndim == 0)
    dt = _RESULT_TYPES.get(key)
    if dt is None:
        if key[2] == key[3]:
            dt = promote_types(da, db)
        else:
            high, low = (db, da) if key[2] else (da, db)            # (the one with dimensions, the 0-d one)
            dt = promote_types(high, low) if _CATEGORY[low.kind] > _CATEGORY[high.kind] else high
        _RESULT_TYPES[key] = dt = np.dtype(dt)
    return dt


def promote_all(tensors: Sequence[Tensor]) -> list:
    """Tensors converted to their common PyTorch result type (``cat``, ``stack``)."""
    first = tensors[0].array.dtype
    if all(t.array.dtype is first for t in tensors):
        return list(tensors)
    dt = first
    for t in tensors[1:]:
        dt = promote_types(dt, t.array.dtype)
    dt = np.dtype(dt)
    return [t if t.array.dtype is dt else t.to(dt) for t in tensors]


def lift(value: Any, like: Tensor) -> Tensor:
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
            dt = State.default_dtype
        elif isinstance(value, int) and not isinstance(value, bool) and dt.kind == "b":
            dt = np.dtype(np.int64)
        try:
            return Tensor._wrap(np.array(value, dtype=dt))
        except OverflowError:
            if isinstance(value, int) and dt.kind in "iu":      # PyTorch wraps it round, as C's cast does:
                return Tensor._wrap(np.array(value, dtype=np.int64).astype(dt))   # uint8 + -3 adds 253
            raise
    return Tensor._wrap(to_array(value, None))


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
        Tensor._wrap(to_array(input, None))
    a, b = lift(input, like), lift(other, like)
    if a.array.dtype is not b.array.dtype:                  # PyTorch's promotion (int with float -> the float)
        a, b = _promote(a, b)
    try:
        return _ops.Where.apply(a, b, cond=cond)
    except ShapeError:
        raise ShapeError(f"where: condition {cond.shape}, input {a.shape} and other {b.shape} cannot be broadcast "
                         "together") from None


from . import autograd as _autograd  # noqa: E402  (the engine's circle, explained in the module docstring)
