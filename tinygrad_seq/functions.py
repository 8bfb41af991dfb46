"""The ``tg.*`` functions: one-line aliases of Tensor methods, and the ops that take several tensors.

``tg.exp(x)`` is ``x.exp()``, ``tg.max(x, 1)`` is ``x.max(1)``, and so on;
``cat``, ``stack`` and ``where`` take several tensors and so live here.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from . import ops
from ._args import dim_arg, int_arg
from ._args import dtype_arg
from .tensor import ShapeError, Tensor, lift, no_grad, promote_all, to_array, where  # noqa: F401  (where: re-exported)
from .tensor import promote_types as _promote_types, result_type as _result_type

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "mm", "bmm", "exp", "log", "sqrt", "sin", "cos", "abs",
    "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "maximum", "minimum", "clip", "clamp", "where",
    "logsumexp", "softmax", "log_softmax", "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin",
    "var", "std", "norm", "cumsum", "cat", "concatenate", "concat", "stack", "split", "chunk", "unbind",
    "flatten", "squeeze", "unsqueeze", "expand", "broadcast_to", "reshape", "transpose", "permute", "gather",
    "masked_fill", "topk", "sort", "argsort", "narrow", "flip", "pad", "einsum", "tril", "triu", "allclose",
    "equal", "is_tensor", "numel", "clone", "promote_types", "result_type", "scatter", "scatter_add",
]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(to_array(x, None))


def add(a: Any, b: Any, alpha: float = 1) -> Tensor: return _t(a).add(b, alpha=alpha)      # noqa: E704
def sub(a: Any, b: Any, alpha: float = 1) -> Tensor: return _t(a).sub(b, alpha=alpha)      # noqa: E704
def mul(a: Any, b: Any) -> Tensor: return _t(a) * b                                          # noqa: E704
def div(a: Any, b: Any) -> Tensor: return _t(a) / b                                          # noqa: E704
def neg(x: Any) -> Tensor: return -_t(x)                                                     # noqa: E704
def pow(a: Any, b: Any) -> Tensor: return _t(a) ** b                                         # noqa: E704,A001
def matmul(a: Any, b: Any) -> Tensor: return _t(a) @ b                                       # noqa: E704
def mm(a: Any, b: Any) -> Tensor: return _t(a).mm(b)                                         # noqa: E704
def bmm(a: Any, b: Any) -> Tensor: return _t(a).bmm(b)                                       # noqa: E704
def exp(x: Any) -> Tensor: return _t(x).exp()                                                # noqa: E704
def log(x: Any) -> Tensor: return _t(x).log()                                                # noqa: E704
def sqrt(x: Any) -> Tensor: return _t(x).sqrt()                                              # noqa: E704
def sin(x: Any) -> Tensor: return _t(x).sin()                                                # noqa: E704
def cos(x: Any) -> Tensor: return _t(x).cos()                                                # noqa: E704
def abs(x: Any) -> Tensor: return _t(x).abs()                                                # noqa: E704,A001
def tanh(x: Any) -> Tensor: return _t(x).tanh()                                              # noqa: E704
def sigmoid(x: Any) -> Tensor: return _t(x).sigmoid()                                        # noqa: E704
def relu(x: Any) -> Tensor: return _t(x).relu()                                              # noqa: E704
def softplus(x: Any) -> Tensor: return _t(x).softplus()                                      # noqa: E704
def maximum(a: Any, b: Any) -> Tensor: return _t(a).maximum(b)                               # noqa: E704
def minimum(a: Any, b: Any) -> Tensor: return _t(a).minimum(b)                               # noqa: E704
def cumsum(x: Any, dim: int) -> Tensor: return _t(x).cumsum(dim)                             # noqa: E704
def numel(x: Tensor) -> int: return x.numel()                                                # noqa: E704
def clone(x: Tensor) -> Tensor: return x.clone()                                             # noqa: E704
def is_tensor(x: Any) -> bool: return isinstance(x, Tensor)                                  # noqa: E704


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return _t(x).leaky_relu(negative_slope)


def clamp(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return _t(x).clamp(min, max)


clip = clamp


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
    return _t(x).logsumexp(dim, keepdim, **kw)


def softmax(x: Any, dim: int = -1, **kw: Any) -> Tensor:
    return _t(x).softmax(dim, **kw)


def log_softmax(x: Any, dim: int = -1, **kw: Any) -> Tensor:
    return _t(x).log_softmax(dim, **kw)


def sum(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:  # noqa: A001
    return _t(x).sum(dim, keepdim, **kw)


def mean(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor:
    return _t(x).mean(dim, keepdim, **kw)


def max(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:  # noqa: A001
    return _t(x).max(dim, keepdim, **kw)


def min(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:  # noqa: A001
    return _t(x).min(dim, keepdim, **kw)


def amax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).amax(dim, keepdim)


def amin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).amin(dim, keepdim)


def argmax(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmax(dim, keepdim)


def argmin(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _t(x).argmin(dim, keepdim)


def var(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
    return _t(x).var(dim, unbiased, keepdim, **kw)


def std(x: Any, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, **kw: Any) -> Tensor:
    return _t(x).std(dim, unbiased, keepdim, **kw)


def norm(x: Any, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(x).norm(p, dim, keepdim)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    return _t(x).split(split_size_or_sections, dim)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    return _t(x).chunk(chunks, dim)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    return _t(x).unbind(dim)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _t(x).flatten(start_dim, end_dim)


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    return _t(x).squeeze(dim)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return _t(x).unsqueeze(dim)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    return _t(x).expand(*sizes)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return _t(x).broadcast_to(shape)


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return _t(x).reshape(shape)


def transpose(x: Tensor, dim0: int = -2, dim1: int = -1) -> Tensor:
    return _t(x).transpose(dim0, dim1)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    return _t(x).permute(dims)


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    return _t(x).gather(dim, index)


def scatter(x: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
    return _t(x).scatter(dim, index, src, value=value, reduce=reduce)


def scatter_add(x: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    return _t(x).scatter_add(dim, index, src)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    return _t(x).masked_fill(mask, value)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    return _t(x).topk(k, dim, largest, sorted)


def sort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    return _t(x).sort(dim, descending, stable=stable)


def argsort(x: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    return _t(x).argsort(dim, descending, stable=stable)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    return _t(x).narrow(dim, start, length)


def flip(x: Tensor, dims: Any) -> Tensor:
    return _t(x).flip(dims)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return _t(a).allclose(b, rtol, atol, equal_nan)


def equal(a: Any, b: Any) -> bool:
    return _t(a).equal(b)


def _check_list(name: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    return [_t(t) for t in tensors]


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dimension; every other dimension must match."""
    ts = _check_list("cat", tensors)
    d = dim_arg(axis if axis is not None else dim, ts[0].ndim, "cat")
    if ts[0].ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated (use stack)")
    return ops.Concat.apply(*promote_all(ts), axis=d)


concatenate = concat = cat


def stack(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join equally shaped tensors along a new dimension."""
    ts = _check_list("stack", tensors)
    d = dim_arg(axis if axis is not None else dim, ts[0].ndim + 1, "stack")
    return ops.Stack.apply(*promote_all(ts), axis=d)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """numpy-style padding: ``pad_width`` is ((before, after), ...) per axis, or one pair for all."""
    x = _t(x)
    if x.ndim == 0:
        raise ShapeError("pad: a 0-d tensor has no axes to pad")
    try:
        pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    except (ValueError, TypeError):
        raise ValueError(f"pad: pad_width must be (before, after) pairs of ints, one per axis or one for all, "
                         f"got {pad_width!r} for shape {x.shape}") from None
    if any(p < 0 for pair in pw for p in pair):
        raise ValueError(f"pad: widths must be non-negative, got {pad_width}")
    return ops.Pad.apply(x, pad_width=tuple(map(tuple, pw)), value=value)


def _triangle_input(op: str, x: Any, diagonal: Any) -> Tensor:
    x = _t(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions, got shape {x.shape}")
    int_arg(op, "diagonal", diagonal, None)
    return x


def tril(x: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (the rest zeroed)."""
    x = _triangle_input("tril", x, diagonal)
    return where(np.tril(np.ones(x.shape[-2:], dtype=bool), diagonal), x, 0.0 if x.dtype.kind == "f" else 0)


def triu(x: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (the rest zeroed)."""
    x = _triangle_input("triu", x, diagonal)
    return where(np.triu(np.ones(x.shape[-2:], dtype=bool), diagonal), x, 0.0 if x.dtype.kind == "f" else 0)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation over one or two operands, built from broadcasting products and sums.

    Each operand is permuted and reshaped so that all indices line up, then
    multiplied and summed over the indices not in the output.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string like 'ij,jk->ik', got {type(equation).__name__}")
    ts = [_t(o) for o in operands]
    eq = equation.replace(" ", "")
    lhs, _, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ts) or "." in eq:
        raise ValueError(f"einsum: equation {equation!r} does not match {len(ts)} operands (no '...' support)")
    if not _:
        counts = {c: lhs.count(c) for c in lhs if c != ","}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    if set(out) - set("".join(terms)) or len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscripts {out!r} must be distinct letters that appear in the inputs "
                         f"(equation {equation!r})")
    letters = sorted(set("".join(terms)), key=lambda c: (c not in out, out.find(c), c))
    total = None
    for term, t in zip(terms, ts):
        if len(term) != t.ndim:
            raise ShapeError(f"einsum: subscripts {term!r} do not match an operand of shape {t.shape}")
        if len(set(term)) != len(term):
            raise ValueError(f"einsum: repeated subscripts within one operand ({term!r}) are not supported")
        present = [c for c in letters if c in term]
        x = t.permute([term.index(c) for c in present]) if t.ndim else t
        x = x.reshape(tuple(x.shape[present.index(c)] if c in term else 1 for c in letters))
        total = x if total is None else total * x
    reduce_axes = tuple(i for i, c in enumerate(letters) if c not in out)
    result = total.sum(reduce_axes) if reduce_axes else total
    kept = [c for c in letters if c in out]
    return result.permute([kept.index(c) for c in out]) if len(out) > 1 else result


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """PyTorch's ``promote_types``: the smallest dtype both convert to (an int and a float -> the float)."""
    return np.dtype(_promote_types(dtype_arg("promote_types", type1), dtype_arg("promote_types", type2)))


def result_type(tensor1: Any, tensor2: Any) -> np.dtype:
    """PyTorch's ``result_type``: the dtype ``tensor1 + tensor2`` has (a 0-d tensor or a Python number
    raises only the category -- bool < integer < floating -- of a tensor with dimensions, never its width)."""
    if isinstance(tensor1, Tensor):
        return _result_type(tensor1, lift(tensor2, tensor1))
    if isinstance(tensor2, Tensor):
        return _result_type(lift(tensor1, tensor2), tensor2)
    a = Tensor._wrap(to_array(tensor1, None))
    return _result_type(a, lift(tensor2, a))


def _document() -> None:
    """Give each alias the docstring of the Tensor method it stands for."""
    for name in __all__:
        fn = globals()[name]
        method = getattr(Tensor, name, None)
        if fn.__doc__ is None and method is not None and method.__doc__:
            fn.__doc__ = f"``tg.{name}(x, ...)`` is ``x.{name}(...)``: " + method.__doc__


is_tensor.__doc__ = "Whether ``x`` is a tinygrad_seq Tensor (Parameters included)."
_document()


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """``p.grad = None`` for each tensor, or zero its gradient in place (``Module.zero_grad`` and
    ``Optimizer.zero_grad`` share this; it lives here so optimizers see only tensors)."""
    for p in params:
        if set_to_none:
            p.grad = None
        elif p.grad is not None:
            with no_grad():
                p.grad.zero_()
