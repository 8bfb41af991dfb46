"""The argument checks every module shares (package-internal: the names carry no underscore).

Each check raises the error a person can act on: it names the op, the argument
and what it got (``"dropout: p must be a finite number in [0, 1], got 1.5"``).
This module imports nothing from the package; the engine and everything above
it import from here.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["ShapeError", "device", "check_device", "check_grad_dtype", "is_int", "dtype_arg", "int_arg",
           "number_arg", "bool_arg", "dim_arg", "dim_nd", "axes_arg", "shape_args", "range_index"]


class ShapeError(ValueError, RuntimeError):
    """An op was given shapes it cannot combine; the message names the op and the shapes.

    Both a ``ValueError`` and a ``RuntimeError``: PyTorch raises ``RuntimeError`` for shape mismatches, so
    code written for it (``except RuntimeError:``) catches ours too."""


class device:
    """``tg.device("cpu")``: tinygrad_seq computes on the CPU with numpy; any other device is refused."""

    def __init__(self, type: str = "cpu", index: int | None = None):  # noqa: A002 (PyTorch's name)
        self.type = check_device(type)
        self.index = index

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"


DTYPE_NAMES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "double",
               "float", "long", "int", "half"}


def check_device(dev: Any) -> str:
    """A ``device=`` argument: 'cpu' (or ``tg.device('cpu')``) passes; anything else says why not."""
    name = str(dev.type if isinstance(dev, device) else dev)
    if isinstance(dev, str) and dev in DTYPE_NAMES:
        raise RuntimeError(f"device {name!r} is not available: {name!r} is a dtype name, not a device; pass a "
                           f"dtype object (tg.{name})")
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"device {name!r} is not available: tinygrad_seq computes on the CPU with numpy "
                           "(use 'cpu', or leave the device out)")
    return "cpu"


def check_grad_dtype(dtype: np.dtype, where: str) -> None:
    """Only floating-point tensors can require grad (PyTorch's rule)."""
    if dtype.kind != "f":
        raise TypeError(f"{where}: only floating-point tensors can require grad, this one is {dtype}")


def is_int(v: Any) -> bool:
    """A Python or numpy integer, not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def dtype_arg(op: str, dtype: Any) -> np.dtype:
    """A dtype argument (``tg.float32``, ``np.int64``, ``"float64"``, ...), checked to be numeric or bool."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind not in "biufc" or isinstance(dtype, (int, float)) and not isinstance(dtype, bool):
        raise TypeError(f"{op}: dtype must be a numeric or bool dtype (tg.float32, tg.int64, tg.bool, ...), "
                        f"got {dtype!r}")
    return dt


def int_arg(op: str, name: str, v: Any, low: int | None = 0) -> int:
    """An integer argument (a size, a count), checked: "<op>: <name> must be an integer >= low, got ..."."""
    if not is_int(v):
        raise TypeError(f"{op}: {name} must be an integer, got {type(v).__name__} {v!r}")
    if low is not None and v < low:
        raise ValueError(f"{op}: {name} must be an integer >= {low}, got {v}")
    return int(v)


def number_arg(op: str, name: str, v: Any, lo: float = -float("inf"), hi: float = float("inf"),
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


def bool_arg(op: str, name: str, v: Any) -> bool:
    """A flag argument: True or False (numpy bools too), nothing truthy."""
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {type(v).__name__} {v!r}")
    return bool(v)


def dim_arg(d: Any, ndim: int, op: str) -> int:
    """One dimension index, checked (PyTorch's range: [-ndim, ndim), and 0 / -1 for 0-d)."""
    if type(d) is int and -ndim <= d < ndim:       # the common case, fast
        return d if d >= 0 else d + ndim
    if not is_int(d):
        raise TypeError(f"{op}: dim must be an integer, got {type(d).__name__} {d!r}")
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return int(d) % n if ndim else 0


def dim_nd(d: Any, ndim: int, op: str) -> int:
    """``dim_arg`` for ops that need a real axis: a 0-d tensor has none (PyTorch's IndexError)."""
    if ndim == 0:
        dim_arg(d, ndim, op)                        # the type check first
        raise IndexError(f"{op}: dimension specified as {d} but the tensor has no dimensions (it is 0-d)")
    return dim_arg(d, ndim, op)


def axes_arg(d: Any, ndim: int, op: str) -> Any:
    """None (all axes) or a tuple of checked dimension indices."""
    if d is None:
        return None
    if isinstance(d, (list, tuple)):
        axes = tuple(dim_arg(a, ndim, op) for a in d)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(d)} names a dimension twice")
        return axes
    return (dim_arg(d, ndim, op),)


def _is_tensor(v: Any) -> bool:
    """A tinygrad_seq Tensor, recognised by its slots (this module imports no Tensor)."""
    return hasattr(v, "grad_fn") and hasattr(v, "array")


def shape_args(args: tuple, op: str, allow_minus_one: bool = False, many_minus_ones: bool = False) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``, checked to be ints (>= 0, or -1 where allowed)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    elif len(args) == 1 and _is_tensor(args[0]):
        args = tuple(args[0].tolist()) if args[0].ndim else (args[0].item(),)
    sizes = []
    for s in args:
        if _is_tensor(s) and s.numel() == 1:
            s = s.item()
        if not is_int(s):
            raise TypeError(f"{op}: sizes must be integers, got {type(s).__name__} {s!r} in {tuple(args)}")
        if s < 0 and not (allow_minus_one and s == -1):
            raise ValueError(f"{op}: sizes must be non-negative, got {tuple(args)}")
        sizes.append(int(s))
    if allow_minus_one and not many_minus_ones and sizes.count(-1) > 1:
        raise ValueError(f"{op}: only one size can be -1 (inferred), got {tuple(sizes)}")
    return tuple(sizes)


@functools.lru_cache(maxsize=1024)
def range_index(axis: int, start: int, stop: int) -> tuple:
    """The index ``[:, ..., :, start:stop]``, cached: a recurrent layer splits its gates the same way every step."""
    return (slice(None),) * axis + (slice(start, stop),)
