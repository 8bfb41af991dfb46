"""Tensors changed in place, and views that alias: ``add_``, ``mul_``, ``fill_``, ``copy_``, ``t[i] = v``, ...

Part of the engine (read after ``tensor.py``).  ``InPlace`` is the part of
``Tensor`` whose methods change a tensor's own values (a mixin ``Tensor``
inherits, so they read in one place); below it, the machinery that keeps a
graph right when they do: which tensors are views of which, the recorded
value of an in-place op, and the history rewrite for an in-place op on a view.

``tensor`` imports this module before it defines ``Tensor``; the names needed
back from it (``Tensor``, ``lift``, ``where``, ``_bool_mask``) are read from the
module ``_t`` when a function runs, never at import.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import ops as _ops
from . import tensor as _t  # (the engine's circle: read at call time, see above)
from ._args import ShapeError, number_arg, shape_args
from ._state import State, buffer_of, mark_modified

if TYPE_CHECKING:                       # annotations only
    from .tensor import Tensor


class InPlace:
    """``Tensor``'s in-place methods."""

    __slots__ = ()

    # PyTorch's semantics: the tensor's own array changes and it stays the same
    # object (a Parameter stays its module's Parameter).  Under no_grad, or when
    # no gradient flows, the values are written into the array and the change
    # is marked for the stale-graph check.  When a gradient flows through (grad
    # mode on and this tensor or the operand requires grad) the op is recorded:
    # this tensor becomes the op's output, in a new array.  A leaf that requires
    # grad cannot be changed in place with grad mode on (PyTorch's error).
    def _inplace(self, name: str, recorded: Callable[[], "Tensor"], direct: Callable[[np.ndarray], Any],
                 operand: Any = None) -> "Tensor":
        if State.dual:                      # forward mode is on: the tangent changes in place too
            return _dual_inplace(self, name, recorded, direct, operand)
        if State.grad_enabled and (self.requires_grad or (isinstance(operand, _t.Tensor) and operand.requires_grad)):
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
        o = _t.lift(other, self)
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
        return self.__iadd__(other if alpha == 1 else _t.lift(other, self) * alpha)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self -= alpha * other, in place."""
        return self.__isub__(other if alpha == 1 else _t.lift(other, self) * alpha)

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
        if isinstance(value, _t.Tensor) and value.numel() != 1:
            raise ShapeError(f"fill_: value must be a number or a one-element tensor, got shape {value.shape}")
        v = _t.lift(value, self)
        return self._inplace("fill_", lambda: _replace(self, v), lambda a: a.fill(v.array.item()), v)

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src``'s values (broadcast to this shape) into this tensor, in place."""
        s = src if isinstance(src, _t.Tensor) else _t.Tensor._wrap(np.asarray(src))
        return self._inplace("copy_", lambda: _replace(self, s),
                             lambda a: np.copyto(a, s.array, casting="unsafe"), s)

    def clamp_(self, min: float | None = None, max: float | None = None) -> "Tensor":  # noqa: A002
        """Limit every element to [min, max], in place."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._inplace("clamp_", lambda: self.clamp(min, max), lambda a: np.clip(a, min, max, out=a))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """``value`` _t.where ``mask`` is true, in place."""
        m = _t._bool_mask(mask, "masked_fill_")
        v = _t.lift(value, self)
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
        return self._inplace(name, lambda: _replace(self, _t.Tensor._wrap(values)),
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


def _viewed(out: _t.Tensor, x: _t.Tensor, op: type, params: dict) -> _t.Tensor:
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


def _recorded_value(t: _t.Tensor, name: str, recorded: Callable[[], _t.Tensor]) -> _t.Tensor:
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
        if not isinstance(node, _t.Node) or node.epoch != epoch:
            continue
        saved = node.saved
        if type(saved) is tuple:
            node.saved = tuple(a.copy() if type(a) is np.ndarray and buffer_of(a) is buf else a for a in saved)
        elif type(saved) is np.ndarray and buffer_of(saved) is buf:
            node.saved = saved.copy()
        stack.extend(node.inputs)
    return new


def _write(t: _t.Tensor, new: _t.Tensor) -> None:
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


def _inplace_on_view(v: _t.Tensor, view: tuple, name: str, recorded: Callable[[], _t.Tensor]) -> _t.Tensor:
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
    region = _region(root, steps)
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


def _region(root: _t.Tensor, steps: tuple) -> np.ndarray | None:
    """Which element of ``root`` (flat position) each element of the view reached by ``steps`` is."""
    region = np.arange(root.array.size).reshape(root.array.shape)
    try:
        for op, params in steps:
            region = op.view(region, **params)
    except (ValueError, IndexError):
        return None
    return region


def _dual_inplace(t: _t.Tensor, name: str, recorded: Callable[[], _t.Tensor], direct: Callable[[np.ndarray], Any],
                  operand: Any) -> _t.Tensor:
    """An in-place op in forward mode: the op as usual, then ``t``'s tangent is the tangent of the result computed
    out of place (and on a view, the root's tangent gets the view's part replaced, as its values do)."""
    from .autograd import forward_ad as fw
    involved = fw.tangent_of(t) is not None or (isinstance(operand, _t.Tensor) and fw.tangent_of(operand) is not None)
    tangent = None
    if involved:
        prev, State.grad_enabled = State.grad_enabled, False
        try:
            tangent = fw.tangent_of(recorded())
        finally:
            State.grad_enabled = prev
    view = t._view
    State.dual = False
    try:
        t._inplace(name, recorded, direct, operand)
        if involved:
            fw.set_tangent(t, tangent)
            if view is not None:
                root = view[0]
                region = _region(root, view[1])
                if region is not None and region.shape == t.array.shape:
                    rt = fw.tangent_of(root)
                    zeros = np.zeros(root.array.shape, root.array.dtype)
                    fw.set_tangent(root, _ops.WriteRegion.apply(
                        rt if rt is not None else _t.Tensor._wrap(zeros),
                        tangent if tangent is not None else _t.Tensor._wrap(np.zeros(t.array.shape, t.array.dtype)),
                        region=np.ascontiguousarray(region)))
    finally:
        State.dual = True
    return t


def _replay(root: _t.Tensor, steps: tuple) -> _t.Tensor:
    t = root
    for op, params in steps:
        t = op.apply(t, **params)
    return t


def _refresh_views(root: _t.Tensor) -> None:
    """After ``root``'s history changed in place: each live view of it re-reads its history from ``root``."""
    views = getattr(root, "_views", None)
    if not views:
        return
    for ref in views:
        w = ref()
        if w is not None and w._view[0] is root:
            new = _replay(root, w._view[1])
            w.grad_fn, w.requires_grad = new.grad_fn, new.requires_grad


def _replace(t: _t.Tensor, values: _t.Tensor) -> _t.Tensor:
    """``values`` broadcast to ``t``'s shape, recorded as a function of ``t`` (whose gradient is then 0)."""
    return _t.where(np.ones(t.shape, dtype=bool), values.to(t.dtype), t)
