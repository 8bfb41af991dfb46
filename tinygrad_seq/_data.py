"""What a tensor holds: Python data read as arrays, ``Size``, PyTorch's type promotion, and conversions.

Part of the engine (read after ``tensor.py``).  ``to_array`` turns numbers,
lists and arrays into the array a new tensor owns, with PyTorch's ``tensor()``
rules and errors that name the bad element; ``Size`` is ``torch.Size``;
``promote_types``/``result_type``/``promote_all`` are PyTorch's promotion
rules, which differ from numpy's in two places (an int meets a float: the
float's width wins; a 0-d tensor raises only the category).  ``Conversions``
is the part of ``Tensor`` that converts (``to``, ``float()``, ``new_zeros``
...): a mixin ``Tensor`` inherits, so those methods read in one place.

``tensor`` imports this module before it defines ``Tensor``; the few names
needed back from it (``Tensor``, ``lift``) are read from the module ``_t`` when
a function runs, never at import.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from . import ops as _ops
from . import tensor as _t  # noqa: F401  (the engine's circle: read at call time, see above)
from ._args import check_device, device, dtype_arg, is_int, shape_args
from ._state import State

if TYPE_CHECKING:                       # annotations only
    from .tensor import Tensor


def to_array(data: Any, dtype: Any) -> np.ndarray:
    """``data`` as a new ndarray: PyTorch's ``tensor()`` rules (floats -> default dtype, ints -> int64)."""
    if isinstance(data, _t.Tensor):
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
        elif not isinstance(v, (bool, int, float, np.number, np.bool_, np.ndarray, _t.Tensor)):
            t = type(v).__name__
            name = "None" if v is None else f"{'an' if t[0] in 'aeiou' else 'a'} {t}"
            return TypeError(f"tensor: cannot make a tensor from {name}{at}: could not infer the dtype of "
                             f"{type(v).__name__}; {_EXPECTED}")
    return None


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


def result_type(a: Any, b: Any) -> np.dtype:
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


def promote_all(tensors: Sequence[Any]) -> list:
    """Tensors converted to their common PyTorch result type (``cat``, ``stack``)."""
    first = tensors[0].array.dtype
    if all(t.array.dtype is first for t in tensors):
        return list(tensors)
    dt = first
    for t in tensors[1:]:
        dt = promote_types(dt, t.array.dtype)
    dt = np.dtype(dt)
    return [t if t.array.dtype is dt else t.to(dt) for t in tensors]


def _promote(a: Any, b: Any) -> tuple:
    """PyTorch's promotion for two tensors of different dtypes: both converted to ``result_type(a, b)``."""
    dt = result_type(a, b)
    return (a if a.array.dtype is dt else a.to(dt)), (b if b.array.dtype is dt else b.to(dt))


class Conversions:
    """``Tensor``'s conversions: dtype and device (``to``, ``float()``, ``type``, ...) and ``new_*`` tensors."""

    __slots__ = ()

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
            if isinstance(a, _t.Tensor):
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
        fill = _t.lift(fill_value, self).array
        if fill.ndim:
            raise TypeError(f"new_full: fill_value must be a number, got {fill_value!r}")
        return _new_leaf(np.full(shape_args((size,), "new_full"), fill,
                            dtype_arg("new_full", dtype) if dtype is not None else self.dtype), requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> "Tensor":
        """A new tensor from ``data``, this tensor's dtype by default."""
        return _new_leaf(to_array(data, dtype or self.dtype), requires_grad)


def _new_leaf(arr: np.ndarray, requires_grad: bool) -> Any:
    t = _t.Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t
