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
   (three more groups of Tensor's methods have files of their own, mixins
   ``Tensor`` inherits: ``_data.py`` conversions, ``Size``, data to arrays and
   PyTorch's type promotion; ``_indexing.py`` indexing, gather and scatter;
   ``_inplace.py`` in-place methods and the views that alias);
2. ``ops.py``: the table of primitive ops, each forward beside its VJP;
3. ``autograd/``: the backward pass (order the nodes; for each, take its
   summed gradient, call its VJP, accumulate into its inputs), hooks,
   ``retain_grad``, ``autograd.grad``, the stale-graph check, anomaly mode.

Below them: ``_state.py`` (grad mode, anomaly mode, default dtype, generator,
in-place epoch), ``_args.py`` (the argument checks every module shares), and
the speed tricks of the loop, ``lazygrad.py`` and ``_gc.py``.

The engine's import circle, kept here: ``ops`` subclasses ``Node`` and
``autograd`` wraps gradients in ``Tensor``s, while ``Tensor``'s methods call
both.  So ``ops`` is imported right after ``Node`` is defined (``Tensor``'s
arithmetic is made from its classes), the three mixin files just before
``Tensor`` (they read ``Tensor``, ``lift`` and ``where`` back from this module
only when a method runs), and ``autograd`` at the end of this file, once
``Tensor`` exists.  Nothing else in the package imports upward.
"""
from __future__ import annotations

import warnings
import weakref
from collections import namedtuple
from typing import Any, Callable, Sequence

import numpy as np

from ._args import (ShapeError, axes_arg, bool_arg, check_device, check_grad_dtype, device, dim_arg, dim_nd,
                    is_int, number_arg, range_index, shape_args)
from ._gc import full_gc_deferred  # noqa: F401  (importable from here, as before)
# the public modes are re-exported from here, as before the split (``from tinygrad_seq.tensor import no_grad``)
from ._state import (AnomalyError, State, detect_anomaly, enable_grad, get_default_dtype,  # noqa: F401
                     inference_mode, is_grad_enabled, manual_seed, no_grad, set_default_dtype,
                     set_grad_enabled, version_of)

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
    keeps the node for the backward pass in ``autograd/``.

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

    __slots__ = ("inputs", "needs_input_grad", "saved", "ctx", "hooks", "epoch", "shape", "dtype", "created_at",
                 "params")
    name = "node"
    # What each entry of ``saved`` is, for a recorded VJP (``backward(create_graph=True)``): an input's index, the
    # output ("out"), or None for a value read only as a constant (a mask); "derived": see ``recorded_saved``.
    saves: tuple = ()
    # Whether ``backward`` accepts its gradient in a lazy form from ``lazygrad.py`` (else the loop makes it an array)
    takes_lazy: bool = False
    # Whether ``forward`` draws from the default generator (``State.rng``): dropout.  ``tg.jit`` lets only such an
    # op draw while it captures, so that a replay, running the op again, draws what eager mode would
    draws: bool = False

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

    def jvp(self, *tangents: "Tensor") -> "Tensor":
        """Forward mode: the Jacobian-vector product, d(output) from d(each input).

        ``tangents``: one Tensor per input, of that input's shape (zeros for an
        input without a tangent).  Returns the output's tangent.  Reads
        ``self.saved`` and ``self.ctx`` as the VJP does (and ``self.shape``,
        ``self.dtype``, ``self.params``: the output's shape and dtype and the
        op's keyword constants), with operators and ``ops.xp``, like the VJP,
        so the tangent is recorded and differentiable (``autograd/forward_ad.py``).
        """
        raise NotImplementedError(f"'{self.name}' has no forward-mode rule (jvp)")

    def linear_jvp(self, *tangents: "Tensor") -> "Tensor":
        """The JVP of an op that is linear in its inputs (add, reshape, getitem, cat, ...): the op itself,
        with the same constants, applied to the tangents.  Such an op declares ``jvp = Node.linear_jvp``."""
        return type(self).apply(*tangents, **self.params)

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
        if State.watch:                          # detect_anomaly() or forward mode (a dual level) is on
            _autograd.watch_forward(node, inputs, t, needs is not None, params)
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


# The rest of Tensor's methods, in their own files (mixins ``Tensor`` inherits; read them after this one):
# ``_data.py`` (conversions, and what a tensor holds: Size, to_array, promotion), ``_indexing.py`` (t[i],
# gather, scatter) and ``_inplace.py`` (add_, fill_, t[i] = v, and views that alias).  They read ``Tensor``
# back from this module when they run, the engine's second circle.
from ._data import Conversions, Size, promote_all, promote_types, result_type, to_array, _promote  # noqa: E402,F401
from ._indexing import Indexing  # noqa: E402
from ._inplace import InPlace, _several_views, _viewed  # noqa: E402


class Tensor(Conversions, Indexing, InPlace):
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
        if State.capture is not None:               # (zero_grad inside a function tinygrad_seq.jit captures)
            State.capture.side_effect(".grad set inside the function (call zero_grad() outside it)")
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
        ``create_graph=True``: the gradients are computed with recorded ops, so
        ``.grad`` has a ``grad_fn`` and can be differentiated again (higher order).
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
        """Dimensions reordered (``permute(1, 0, 2)``; negative dims count from the end, as in PyTorch)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise ShapeError(f"permute: {len(dims)} dims {tuple(dims)} given for the {self.ndim} axes of {self.shape}")
        axes = tuple([dim_arg(d, self.ndim, "permute") for d in dims])
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


def _bool_mask(mask: Any, op: str, what: str = "the mask") -> np.ndarray:
    m = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    if m.dtype != bool:
        raise TypeError(f"{op}: {what} must be boolean, got {m.dtype}")
    return m


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
