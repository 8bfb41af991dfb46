"""Weight initialisation in place, with PyTorch's names, arguments and fan rules.

Every function here overwrites ``tensor``'s values in place (its numpy buffer,
outside any graph, so no gradient is recorded), draws from the package's
seeded generator (the one ``tg.manual_seed`` resets) unless a ``generator`` is
given, and returns ``tensor``:

    w = nn.Parameter(tg.zeros(64, 32))
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)

Fans follow PyTorch: for a weight of shape (out, in, *kernel),
fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._args import number_arg
from ..tensor import Tensor, no_grad
from ..utils._generator import numpy_rng

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "trunc_normal_",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _check(name: str, tensor: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{name}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` into the tensor's own array (cast to its dtype; the tensor keeps its identity)."""
    with no_grad():
        tensor.copy_(Tensor._wrap(np.asarray(values)))
    return tensor


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    linear / conv*    1
    sigmoid           1
    tanh              5/3
    relu              sqrt(2)
    leaky_relu        sqrt(2 / (1 + negative_slope^2)), slope ``param`` (default 0.01)
    selu              3/4
    ================= ====================================================
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): (in * k, out * k), k = prod(kernel).

    Raises ValueError for tensors with fewer than 2 dimensions, as PyTorch does.
    """
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with values drawn from U(a, b)."""
    _check("uniform_", tensor)
    number_arg("nn.init.uniform_", "a", a), number_arg("nn.init.uniform_", "b", b)
    if a > b:
        raise ValueError(f"nn.init.uniform_: expects a <= b, got a={a}, b={b}")
    return _fill(tensor, numpy_rng(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with values drawn from N(mean, std^2)."""
    _check("normal_", tensor)
    number_arg("nn.init.normal_", "mean", mean), number_arg("nn.init.normal_", "std", std, 0)
    return _fill(tensor, numpy_rng(generator).normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Fill ``tensor`` from N(mean, std^2) truncated to [a, b] (redrawing values outside, by rejection)."""
    _check("trunc_normal_", tensor)
    number_arg("nn.init.trunc_normal_", "mean", mean), number_arg("nn.init.trunc_normal_", "std", std, 0)
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = numpy_rng(generator)
    out = rng.normal(mean, std, size=tensor.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        if not bad.any():
            break
        out[bad] = rng.normal(mean, std, size=int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, np.clip(out, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with the value ``val``."""
    return _fill(_check("constant_", tensor), number_arg("nn.init.constant_", "val", val))


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones."""
    return _fill(_check("ones_", tensor), 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros."""
    return _fill(_check("zeros_", tensor), 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d ``tensor`` with the identity matrix (ones on the diagonal, zeros elsewhere)."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(name: str, tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    _check(name, tensor)
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op")
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    ``gain = calculate_gain(nonlinearity, a)`` (``a`` is the leaky-ReLU negative
    slope), ``fan`` is fan_in or fan_out by ``mode``.  PyTorch's Linear default
    is ``kaiming_uniform_(w, a=math.sqrt(5))``, i.e. bound = 1 / sqrt(fan_in).
    """
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan) (see ``kaiming_uniform_``)."""
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013).

    The tensor is viewed as (rows, cols) = (shape[0], numel / shape[0]); a
    standard-normal matrix is QR-decomposed and Q's columns are sign-corrected by
    diag(R), so rows are orthonormal when rows <= cols (Q Q^T = I) and columns
    are when rows >= cols (Q^T Q = I).
    """
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = numpy_rng(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))
