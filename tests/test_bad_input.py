"""Bad input to every public function gets a clear error (issue #14).

One table: each row calls the public API with a wrong type, a wrong shape, an
out-of-range value, an empty or 0-d input, NaN/inf or an extreme magnitude, and
names the exception it must raise and a regex its message must match (the
regex names the op or class and the argument).  A row that passes silently, or
fails with a different exception type (numpy's or Python's own), fails the test.
The CLI rows run ``python -m tinygrad_seq`` in a subprocess.

Numerics at the extremes are in ``test_extremes.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.nn as nn
import tinygrad_seq.nn.functional as F
from tinygrad_seq import optim
from tinygrad_seq.optim import lr_scheduler as sched

ShapeError = tg.ShapeError
CASES: list = []


def case(name, fn, exc, pattern):
    CASES.append(pytest.param(fn, exc, pattern, id=name))


def x23():
    return tg.arange(6.0).reshape(2, 3)


def p2():
    return tg.zeros(2, requires_grad=True)


def sgd():
    return optim.SGD([p2()], lr=0.1)


# ---------------------------------------------------------------------------
# construction
# ---------------------------------------------------------------------------
DIM = r"dimension out of range \(expected to be in range of"
case("tensor-str-array", lambda: tg.tensor(np.array(["a", "b"])), TypeError, r"tensor: cannot make a tensor from a numpy array of strings \(dtype <U1\)")
case("tensor-str-list", lambda: tg.tensor(["a"]), TypeError, r"tensor: cannot make a tensor")
case("tensor-numeric-str-with-dtype", lambda: tg.tensor(["1", "2"], dtype=tg.float32), TypeError, r"tensor: cannot make")
case("tensor-object-array", lambda: tg.tensor(np.array([1, "a"], dtype=object)), TypeError, r"tensor: cannot make")
case("tensor-None", lambda: tg.tensor(None), TypeError, r"tensor: cannot make")
case("tensor-None-in-list", lambda: tg.tensor([1.0, None]), TypeError, r"tensor: cannot make")
case("tensor-dict", lambda: tg.tensor({"a": 1}), TypeError, r"tensor: cannot make")
case("tensor-set", lambda: tg.tensor({1, 2}), TypeError, r"tensor: cannot make")
case("tensor-ragged", lambda: tg.tensor([[1, 2], [3]]), ValueError, r"tensor: cannot make a tensor from this data")
case("tensor-complex-requires-grad", lambda: tg.tensor([1 + 2j], requires_grad=True), TypeError,
     r"only floating-point tensors can require grad.*complex128")
case("tensor-int-requires-grad", lambda: tg.tensor([1, 2], requires_grad=True), TypeError,
     r"only floating-point tensors can require grad.*int64")
case("tensor-bad-dtype-name", lambda: tg.tensor([1], dtype="foo"), TypeError, r"tensor: dtype must be .*'foo'")
case("tensor-object-dtype", lambda: tg.tensor([1], dtype=object), TypeError, r"tensor: dtype must be")
case("tensor-str-dtype", lambda: tg.tensor([1], dtype=str), TypeError, r"tensor: dtype must be")
case("tensor-cuda", lambda: tg.tensor([1.0], device="cuda"), RuntimeError, r"device 'cuda' is not available")
case("Tensor-str", lambda: tg.Tensor("abc"), TypeError, r"tensor: cannot make")
case("Tensor-int-requires-grad", lambda: tg.Tensor(np.array([1, 2]), dtype=np.int64, requires_grad=True),
     TypeError, r"Tensor: only floating-point")
case("requires_grad_-int", lambda: tg.tensor([1]).requires_grad_(), TypeError, r"requires_grad_: only floating")
case("requires_grad_-non-leaf-off", lambda: (p2() * 2).requires_grad_(False), RuntimeError, r"requires_grad_: .*leaf")
case("data-setter-int", lambda: setattr(p2(), "data", np.array([1, 2])), TypeError, r"\.data =: only floating")
case("set_default_dtype-int", lambda: tg.set_default_dtype(np.int64), TypeError, r"set_default_dtype: dtype must be a floating")
case("set_default_dtype-str", lambda: tg.set_default_dtype("nope"), TypeError, r"set_default_dtype: dtype must be")
case("manual_seed-str", lambda: tg.manual_seed("1"), TypeError, r"manual_seed: seed must be an integer")
case("manual_seed-float", lambda: tg.manual_seed(1.5), TypeError, r"manual_seed: seed must be an integer")
case("device-cuda", lambda: tg.device("cuda"), RuntimeError, r"device 'cuda' is not available")

# factories
for fname in ("zeros", "ones", "randn", "rand", "empty"):
    f = getattr(tg, fname)
    case(f"{fname}-negative", lambda f=f: f(-1), ValueError, rf"{fname if fname != 'empty' else 'zeros'}: sizes must be non-negative")
    case(f"{fname}-float", lambda f=f: f(2.0, 3), TypeError, r"sizes must be integers, got float 2.0")
    case(f"{fname}-str", lambda f=f: f("3"), TypeError, r"sizes must be integers, got str")
    case(f"{fname}-None", lambda f=f: f(None), TypeError, r"sizes must be integers, got NoneType")
    case(f"{fname}-bad-dtype", lambda f=f: f(2, dtype="foo"), TypeError, r"dtype must be .*'foo'")
case("zeros-int-requires-grad", lambda: tg.zeros(2, dtype=tg.int64, requires_grad=True), TypeError, r"only floating")
case("zeros-cuda", lambda: tg.zeros(2, device="cuda"), RuntimeError, r"device 'cuda'")
case("full-str-fill", lambda: tg.full((2,), "a"), TypeError, r"full: fill_value must be a number, got str")
case("full-negative-size", lambda: tg.full((-1,), 1.0), ValueError, r"full: sizes must be non-negative")
case("full_like-not-tensor", lambda: tg.full_like([1, 2], 0), TypeError, r"expected a Tensor, got list")
case("full_like-str-fill", lambda: tg.full_like(x23(), "x"), TypeError, r"full_like: fill_value must be a number")
case("zeros_like-list", lambda: tg.zeros_like([1.0]), TypeError, r"expected a Tensor, got list")
case("zeros_like-bad-dtype", lambda: tg.zeros_like(x23(), dtype="foo"), TypeError, r"dtype must be")
case("arange-zero-step", lambda: tg.arange(0, 10, 0), ValueError, r"arange: step must be a nonzero number, got 0")
case("arange-wrong-sign", lambda: tg.arange(0, 10, -1), ValueError, r"arange: .*inconsistent with step sign")
case("arange-str", lambda: tg.arange("5"), TypeError, r"arange: end must be a number, got str")
case("arange-inf", lambda: tg.arange(0, float("inf")), ValueError, r"arange: end must be finite, got inf")
case("arange-nan-step", lambda: tg.arange(0, 1, float("nan")), ValueError, r"arange: step must be finite, got nan")
case("arange-bad-dtype", lambda: tg.arange(3, dtype="x"), TypeError, r"arange: dtype must be")
case("linspace-negative-steps", lambda: tg.linspace(0, 1, -1), ValueError, r"linspace: steps must be a non-negative integer")
case("linspace-float-steps", lambda: tg.linspace(0, 1, 2.5), ValueError, r"linspace: steps must be a non-negative integer")
case("linspace-str-start", lambda: tg.linspace("a", 1, 3), TypeError, r"linspace: start must be a number, got str")
case("eye-negative", lambda: tg.eye(-1), ValueError, r"eye: n must be a non-negative integer, got -1")
case("eye-float", lambda: tg.eye(2.5), ValueError, r"eye: n must be a non-negative integer, got 2.5")
case("eye-m-negative", lambda: tg.eye(2, -3), ValueError, r"eye: m must be a non-negative integer")
case("randint-empty-range", lambda: tg.randint(5, 2, (3,)), ValueError, r"randint: needs integers low < high")
case("randint-float-bounds", lambda: tg.randint(0.5, 3, (2,)), ValueError, r"randint: needs integers low < high")
case("randint-negative-size", lambda: tg.randint(0, 3, (-1,)), ValueError, r"randint: sizes must be non-negative")
case("randint-no-size", lambda: tg.randint(3), TypeError, r"randint: needs high and size")
case("randperm-negative", lambda: tg.randperm(-1), ValueError, r"randperm: n must be a non-negative integer")
case("randperm-float", lambda: tg.randperm(2.0), ValueError, r"randperm: n must be a non-negative integer")
case("multinomial-negative", lambda: tg.multinomial(tg.tensor([0.5, -0.1]), 1), ValueError,
     r"multinomial: probabilities must be finite and non-negative")
case("multinomial-nan", lambda: tg.multinomial(tg.tensor([0.5, float("nan")]), 1), ValueError,
     r"multinomial: probabilities must be finite")
case("multinomial-zero-samples", lambda: tg.multinomial(tg.tensor([0.5, 0.5]), 0), ValueError,
     r"multinomial: num_samples must be a positive integer")
case("multinomial-too-many", lambda: tg.multinomial(tg.tensor([0.5, 0.0]), 2), ValueError,
     r"multinomial: cannot draw 2 samples without replacement")
case("multinomial-3d", lambda: tg.multinomial(tg.ones(2, 2, 2), 1), ValueError, r"multinomial: input must be 1-d or 2-d")
case("randn-generator-wrong", lambda: tg.randn(2, generator=np.random.default_rng()), TypeError,
     r"generator must be a tg.Generator")
case("Generator-seed-str", lambda: tg.Generator().manual_seed("x"), TypeError, r"Generator.manual_seed: seed must be")

# ---------------------------------------------------------------------------
# shape arguments and dimensions
# ---------------------------------------------------------------------------
case("reshape-float", lambda: x23().reshape(2.0, 3), TypeError, r"reshape: sizes must be integers, got float 2.0")
case("reshape-two-minus-ones", lambda: x23().reshape(-1, -1), ValueError, r"reshape: only one size can be -1")
case("reshape-minus-two", lambda: x23().reshape(-2, 3), ValueError, r"reshape: sizes must be non-negative")
case("reshape-wrong-total", lambda: x23().reshape(4, 2), ShapeError, r"reshape.*\(2, 3\)")
case("reshape-str", lambda: x23().reshape("6"), TypeError, r"reshape: sizes must be integers, got str")
case("view-float", lambda: x23().view(6.0), TypeError, r"reshape: sizes must be integers")
case("expand-minus-one-new-dim", lambda: tg.zeros(3).expand(-1, 3), ShapeError,
     r"expand: -1 is not allowed for the new leading dimensions")
case("expand-fewer-dims", lambda: x23().expand(3), ShapeError, r"expand: cannot expand \(2, 3\) to fewer dimensions")
case("expand-wrong-size", lambda: x23().expand(4, 3), ShapeError, r"broadcast_to|expand")
case("expand-float", lambda: x23().expand(2.0, 3), TypeError, r"expand: sizes must be integers")
case("broadcast_to-incompatible", lambda: x23().broadcast_to((3, 3)), ShapeError, r"expand: cannot broadcast \(2, 3\) to \(3, 3\)")
case("split-negative-sizes", lambda: tg.zeros(3).split([5, -2]), ShapeError, r"split: sizes \[5, -2\] must be non-negative")
case("split-wrong-sum", lambda: tg.zeros(3).split([1, 1]), ShapeError, r"split: sizes \[1, 1\] must .*add up to 3")
case("split-zero", lambda: tg.zeros(3).split(0), ValueError, r"split: split_size must be a positive integer, got 0")
case("split-float", lambda: tg.zeros(3).split(1.5), TypeError, r"split: split_size_or_sections must be an int or a list")
case("split-dim-out-of-range", lambda: x23().split(1, axis=5), IndexError, r"split: " + DIM + r" \[-2, 1\], but got 5")
case("split-dim-float", lambda: x23().split(1, 0.5), TypeError, r"split: dim must be an integer, got float")
case("chunk-float", lambda: tg.zeros(4).chunk(2.5), ValueError, r"chunk: chunks must be a positive integer, got 2.5")
case("chunk-zero", lambda: tg.zeros(4).chunk(0), ValueError, r"chunk: chunks must be a positive integer, got 0")
case("chunk-dim", lambda: tg.zeros(4).chunk(2, 1), IndexError, r"chunk: " + DIM)
case("flatten-start-out-of-range", lambda: x23().flatten(start_dim=5), IndexError, r"flatten: " + DIM + r" \[-2, 1\], but got 5")
case("flatten-start-after-end", lambda: x23().flatten(1, 0), ValueError, r"flatten: start_dim 1 comes after end_dim 0")
case("flatten-float", lambda: x23().flatten(0.5), TypeError, r"flatten: dim must be an integer")
case("transpose-out-of-range", lambda: x23().transpose(0, 5), IndexError, r"transpose: " + DIM + r" \[-2, 1\], but got 5")
case("transpose-0d", lambda: tg.tensor(1.0).transpose(0, 1), IndexError, r"transpose: " + DIM + r" \[-1, 0\]")
case("permute-too-few", lambda: x23().permute(0), ShapeError, r"permute.*\(2, 3\)")
case("permute-repeated", lambda: x23().permute(0, 0), ShapeError, r"permute")
case("permute-out-of-range", lambda: x23().permute(0, 5), IndexError, r"permute: dimension out of range")   # PyTorch's
case("permute-float", lambda: x23().permute(0, 1.0), TypeError, r"permute: dim must be an integer")
case("t-3d", lambda: tg.zeros(2, 2, 2).t(), ShapeError, r"t: expects a tensor with at most 2 dimensions")
case("squeeze-out-of-range", lambda: x23().squeeze(3), IndexError, r"squeeze: " + DIM)
case("unsqueeze-out-of-range", lambda: x23().unsqueeze(4), IndexError, r"unsqueeze: " + DIM + r" \[-3, 2\], but got 4")
case("unsqueeze-float", lambda: x23().unsqueeze(1.0), TypeError, r"unsqueeze: dim must be an integer")
case("unbind-out-of-range", lambda: x23().unbind(2), IndexError, r"unbind: " + DIM)
case("narrow-too-long", lambda: x23().narrow(1, 1, 5), IndexError, r"narrow: start 1 \+ length 5 exceeds dimension 1")
case("narrow-dim", lambda: x23().narrow(2, 0, 1), IndexError, r"narrow: " + DIM)
case("gather-float-index", lambda: x23().gather(1, tg.tensor([[0.0]])), TypeError, r"gather: index must be an integer")
case("gather-ndim", lambda: x23().gather(1, tg.tensor([0])), ShapeError, r"gather: index must have 2 dimensions")
case("gather-dim", lambda: x23().gather(3, tg.tensor([[0]])), IndexError, r"gather: " + DIM)
case("repeat-too-few", lambda: x23().repeat(2), ShapeError, r"repeat: needs at least 2 sizes for shape \(2, 3\)")
case("repeat-negative", lambda: x23().repeat(2, -1), ValueError, r"repeat: sizes must be non-negative")
case("flip-out-of-range", lambda: x23().flip(2), IndexError, r"flip: " + DIM)
case("topk-too-big", lambda: tg.zeros(3).topk(4), ValueError, r"topk: k must be an integer in \[0, 3\], got 4")
case("topk-float", lambda: tg.zeros(3).topk(1.0), ValueError, r"topk: k must be an integer")
case("sort-dim", lambda: tg.zeros(3).sort(1), IndexError, r"sort: " + DIM)
case("cumsum-dim", lambda: tg.zeros(3).cumsum(1), IndexError, r"cumsum: " + DIM)
case("softmax-dim", lambda: x23().softmax(2), IndexError, r"softmax: " + DIM)
case("softmax-0d-dim-1", lambda: tg.tensor(1.0).softmax(1), IndexError, r"softmax: " + DIM + r" \[-1, 0\], but got 1")
case("log_softmax-dim-float", lambda: x23().log_softmax(0.5), TypeError, r"log_softmax: dim must be an integer")
case("sum-float-axis", lambda: x23().sum(axis=1.5), TypeError, r"sum: dim must be an integer, got float 1.5")
case("sum-out-of-range", lambda: x23().sum(2), IndexError, r"sum: " + DIM)
case("sum-repeated-dims", lambda: x23().sum((0, 0)), ValueError, r"sum: dim \(0, 0\) names a dimension twice")
case("sum-0d-dim-1", lambda: tg.tensor(1.0).sum(1), IndexError, r"sum: " + DIM)
case("mean-int", lambda: tg.tensor([1, 2]).mean(), TypeError, r"mean: needs a floating-point tensor, got int64")
case("mean-dim", lambda: x23().mean(-3), IndexError, r"mean: " + DIM)
case("max-empty", lambda: tg.zeros(0).max(), ShapeError, r"max: cannot reduce an empty tensor")
case("max-dim-empty", lambda: tg.zeros(2, 0).max(1), ShapeError, r"max: cannot reduce over dimension 1 of size 0")
case("max-dim", lambda: x23().max(2), IndexError, r"max: " + DIM)
case("min-dim-float", lambda: x23().min(1.0), TypeError, r"min: dim must be an integer")
case("amax-dim", lambda: x23().amax(5), IndexError, r"max: " + DIM)
case("argmax-dim", lambda: x23().argmax(2), IndexError, r"argmax: " + DIM)
case("argmin-dim", lambda: x23().argmin(-3), IndexError, r"argmin: " + DIM)
case("var-dim", lambda: x23().var(2), IndexError, r"var: " + DIM)
case("logsumexp-dim", lambda: x23().logsumexp(2), IndexError, r"logsumexp: " + DIM)
case("all-dim", lambda: x23().all(2), IndexError, r"all: " + DIM)
case("any-dim", lambda: x23().any(-5), IndexError, r"any: " + DIM)
case("size-dim", lambda: x23().size(2), IndexError, r"size: " + DIM)
case("size-dim-str", lambda: x23().size("0"), TypeError, r"size: dim must be an integer")

# ---------------------------------------------------------------------------
# elementwise, comparisons, indexing, conversions
# ---------------------------------------------------------------------------
case("add-shapes", lambda: tg.zeros(2) + tg.zeros(3), ShapeError, r"add: shapes \(2,\) and \(3,\): cannot be broadcast")
case("mul-shapes", lambda: x23() * tg.zeros(2), ShapeError, r"mul: shapes \(2, 3\) and \(2,\)")
case("matmul-inner", lambda: x23() @ x23(), ShapeError, r"matmul: \(2, 3\) @ \(2, 3\): inner dimensions 3 and 2 differ")
case("matmul-0d", lambda: tg.tensor(1.0) @ tg.tensor(2.0), ShapeError, r"matmul")
case("mm-1d", lambda: tg.zeros(3).mm(tg.zeros(3)), ShapeError, r"mm: expects 2-d and 2-d tensors")
case("bmm-2d", lambda: x23().bmm(x23()), ShapeError, r"bmm: expects 3-d and 3-d tensors")
case("lt-shapes", lambda: tg.zeros(2) < tg.zeros(3), ShapeError, r"lt: shapes \(2,\) and \(3,\) cannot be broadcast")
case("eq-shapes", lambda: tg.zeros(2) == tg.zeros(3), ShapeError, r"eq: shapes \(2,\) and \(3,\)")
case("ge-shapes", lambda: x23() >= tg.zeros(2), ShapeError, r"ge: shapes")
case("invert-float", lambda: ~tg.zeros(2), TypeError, r"~ \(bitwise not\) needs a bool or integer tensor")
case("where-shapes", lambda: tg.where(tg.zeros(2) > 0, tg.zeros(3), tg.zeros(4)), ShapeError,
     r"where: condition \(2,\), input \(3,\) and other \(4,\)")
case("where-float-cond", lambda: tg.where(tg.zeros(2), tg.zeros(2), 1.0), TypeError, r"where: the condition must be boolean")
case("masked_fill-float-mask", lambda: x23().masked_fill(x23(), 0.0), TypeError, r"where: the condition must be boolean")
case("masked_fill_-int-mask", lambda: x23().masked_fill_(np.ones((2, 3), int), 0.0), TypeError, r"masked_fill_: the mask must be boolean")
case("clamp-no-bounds", lambda: x23().clamp(), ValueError, r"clamp: at least one of min and max")
case("item-many", lambda: x23().item(), ValueError, r"item: only a one-element tensor")
case("bool-many", lambda: bool(x23()), RuntimeError, r"the truth value of a tensor of shape \(2, 3\)")
case("len-0d", lambda: len(tg.tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor")
case("iter-0d", lambda: list(tg.tensor(1.0)), TypeError, r"iteration over a 0-d tensor")
case("index-float-tensor", lambda: [1, 2][tg.tensor(1.0)], TypeError, r"only integer tensors of a single element")
case("getitem-out-of-range", lambda: x23()[5], IndexError, r"getitem|index 5")
case("iadd-leaf", lambda: p2().__iadd__(1.0), RuntimeError, r"add_: a leaf Variable that requires grad")
case("iadd-shape", lambda: x23().__iadd__(tg.zeros(3, 3)), ShapeError, r"add_: in-place result does not fit")
case("iadd-float-into-int", lambda: tg.tensor([1, 2]).__iadd__(0.5), RuntimeError, r"add_: result can't be cast")
case("to-bad-dtype", lambda: x23().to("float128x"), RuntimeError, r"device 'float128x' is not available")
case("to-object", lambda: x23().to(object), TypeError, r"to: dtype must be")
case("to-unexpected-kw", lambda: x23().to(foo=1), TypeError, r"to: unexpected arguments \['foo'\]")
case("cuda", lambda: x23().cuda(), RuntimeError, r"device 'cuda' is not available")
case("array-no-copy-cast", lambda: np.asarray(x23(), dtype=np.int32, copy=False), ValueError,
     r"cannot view a float32 tensor as int32 without a copy")

# functions taking several tensors
case("cat-dim", lambda: tg.cat([tg.zeros(2), tg.zeros(2)], 5), IndexError, r"cat: " + DIM + r" \[-1, 0\], but got 5")
case("cat-shapes", lambda: tg.cat([tg.zeros(2, 3), tg.zeros(2, 4)], 0), ShapeError, r"cat: shapes \[\(2, 3\), \(2, 4\)\] do not match outside axis 0")
case("cat-empty", lambda: tg.cat([]), ValueError, r"cat: expected a non-empty list of tensors")
case("cat-tensor", lambda: tg.cat(tg.zeros(2)), TypeError, r"cat: expected a list or tuple of tensors, got Tensor")
case("cat-0d", lambda: tg.cat([tg.tensor(1.0), tg.tensor(2.0)]), ShapeError, r"cat: zero-dimensional tensors")
case("stack-dim", lambda: tg.stack([tg.zeros(2), tg.zeros(2)], 5), IndexError, r"stack: " + DIM + r" \[-2, 1\], but got 5")
case("stack-shapes", lambda: tg.stack([tg.zeros(2), tg.zeros(3)]), ShapeError, r"stack: all shapes must be equal, got \[\(2,\), \(3,\)\]")
case("stack-empty", lambda: tg.stack([]), ValueError, r"stack: expected a non-empty list")
case("pad-negative", lambda: tg.pad(x23(), ((0, -1), (0, 0))), ValueError, r"pad: widths must be non-negative")
case("pad-bad-widths", lambda: tg.pad(x23(), ((1, 2, 3),)), ValueError, r"pad: pad_width must be \(before, after\) pairs")
case("F.pad-odd", lambda: F.pad(x23(), (1,)), ValueError, r"pad: expected an even number of widths")
case("einsum-operands", lambda: tg.einsum("ij,jk->ik", x23()), ValueError, r"einsum: equation 'ij,jk->ik' does not match 1")
case("einsum-shape", lambda: tg.einsum("ijk->i", x23()), ShapeError, r"einsum: subscripts 'ijk' do not match")

# autograd
case("backward-non-scalar", lambda: (p2() * 2).backward(), RuntimeError, r"grad can be implicitly created only for scalar")
case("backward-grad-shape", lambda: (p2() * 2).backward(tg.zeros(3)), ShapeError, r"gradient has shape \(3,\) but the output has shape \(2,\)")
case("backward-no-grad", lambda: tg.zeros(2).sum().backward(), RuntimeError, r"does not require grad")
case("register_hook-no-grad", lambda: tg.zeros(2).register_hook(lambda g: g), RuntimeError, r"register_hook: cannot register")
case("retain_grad-no-grad", lambda: tg.zeros(2).retain_grad(), RuntimeError, r"retain_grad: this tensor does not require grad")
case("create_graph-no-grad", lambda: tg.autograd.grad(tg.zeros(2).sum(), [p2()], create_graph=True), RuntimeError, r"does not require grad")
case("autograd.grad-not-tensor", lambda: tg.autograd.grad([1.0], [p2()]), TypeError, r"outputs must be Tensors, got float")
case("autograd.grad-unused", lambda: tg.autograd.grad((p2() * 2).sum(), [p2()]), RuntimeError, r"grad: One of the differentiated Tensors")


def _hook_case(ret):
    def run():
        p = p2()
        p.register_hook(lambda g: ret)
        (p * 2).sum().backward()
    return run


case("hook-wrong-shape", _hook_case(tg.zeros(3)), RuntimeError, r"hook '<lambda>' has changed the size of value")
case("hook-wrong-dtype", _hook_case(tg.zeros(2, dtype=tg.float64)), RuntimeError, r"hook '<lambda>' has changed the type")

# ---------------------------------------------------------------------------
# nn layers and modules
# ---------------------------------------------------------------------------
case("Linear-float", lambda: nn.Linear(2.0, 3), TypeError, r"Linear: in_features must be an integer, got float 2.0")
case("Linear-negative", lambda: nn.Linear(2, -1), ValueError, r"Linear: out_features must be an integer >= 0, got -1")
case("Linear-str", lambda: nn.Linear("2", 3), TypeError, r"Linear: in_features must be an integer, got str")
case("Linear-bias-str", lambda: nn.Linear(2, 3, bias="yes"), TypeError, r"Linear: bias must be True or False")
case("Linear-forward-features", lambda: nn.Linear(2, 3)(tg.zeros(4, 5)), ShapeError, r"linear: input has 5 features")
case("Embedding-negative-index", lambda: nn.Embedding(5, 3)(tg.tensor([-1])), IndexError,
     r"embedding: indices must be in \[0, 5\)")
case("Embedding-too-big-index", lambda: nn.Embedding(5, 3)(tg.tensor([5])), IndexError, r"embedding: indices must be in \[0, 5\)")
case("Embedding-float-index", lambda: nn.Embedding(5, 3)(tg.tensor([1.0])), TypeError, r"embedding: indices must be integers")
case("Embedding-float-size", lambda: nn.Embedding(5.0, 3), TypeError, r"Embedding: num_embeddings must be an integer")
case("Embedding-negative-size", lambda: nn.Embedding(5, -3), ValueError, r"Embedding: embedding_dim must be an integer >= 0")
case("Embedding-padding", lambda: nn.Embedding(5, 3, padding_idx=5), ValueError, r"Embedding: padding_idx must be an integer in \[-5, 5\)")
case("Embedding-padding-float", lambda: nn.Embedding(5, 3, padding_idx=1.0), ValueError, r"Embedding: padding_idx must be an integer")
case("Dropout-p", lambda: nn.Dropout(1.5), ValueError, r"Dropout: p must be a finite number in \[0, 1\], got 1.5")
case("Dropout-str", lambda: nn.Dropout("0.5"), TypeError, r"Dropout: p must be a number, got str")
case("Dropout-nan", lambda: nn.Dropout(float("nan")), ValueError, r"Dropout: p must be a finite number")
case("LeakyReLU-str", lambda: nn.LeakyReLU("x"), TypeError, r"LeakyReLU: negative_slope must be a number")
case("GELU-approximate", lambda: nn.GELU("fast"), ValueError, r"GELU: approximate must be 'none' or 'tanh'")
case("LayerNorm-negative", lambda: nn.LayerNorm(-1), ValueError, r"LayerNorm: normalized_shape must be an integer >= 0, got -1")
case("LayerNorm-float", lambda: nn.LayerNorm(2.5), TypeError, r"LayerNorm: normalized_shape must be an integer")
case("LayerNorm-empty", lambda: nn.LayerNorm(()), ValueError, r"LayerNorm: normalized_shape must name at least one")
case("LayerNorm-eps", lambda: nn.LayerNorm(3, eps=-1), ValueError, r"LayerNorm: eps must be a finite number >= 0")
case("LayerNorm-forward", lambda: nn.LayerNorm(4)(x23()), ShapeError, r"layer_norm: expected input with trailing shape \(4,\)")
case("Softmax-dim-float", lambda: nn.Softmax(1.5), TypeError, r"Softmax: dim must be an integer")
case("LogSoftmax-dim-forward", lambda: nn.LogSoftmax(3)(x23()), IndexError, r"log_softmax: " + DIM)
case("CrossEntropyLoss-reduction", lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
     r"CrossEntropyLoss: reduction must be one of")
case("CrossEntropyLoss-smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=2), ValueError,
     r"CrossEntropyLoss: label_smoothing must be a finite number in \[0, 1\]")
case("CrossEntropyLoss-ignore-float", lambda: nn.CrossEntropyLoss(ignore_index=1.5), TypeError,
     r"CrossEntropyLoss: ignore_index must be an integer")
case("MSELoss-reduction", lambda: nn.MSELoss("max"), ValueError, r"MSELoss: reduction must be one of")
case("NLLLoss-ignore", lambda: nn.NLLLoss(ignore_index="x"), TypeError, r"NLLLoss: ignore_index must be an integer")
case("CTCLoss-blank", lambda: nn.CTCLoss(blank=-1), ValueError, r"CTCLoss: blank must be an integer >= 0")

# recurrent layers
for cls in (nn.RNN, nn.LSTM, nn.GRU):
    n = cls.__name__
    case(f"{n}-hidden-zero", lambda cls=cls: cls(3, 0), ValueError, rf"{n}: hidden_size must be at least 1, got 0")
    case(f"{n}-hidden-negative", lambda cls=cls: cls(3, -1), ValueError, rf"{n}: hidden_size must be at least 1, got -1")
    case(f"{n}-hidden-float", lambda cls=cls: cls(3, 4.0), TypeError, rf"{n}: hidden_size must be an integer, got float 4.0")
    case(f"{n}-input-str", lambda cls=cls: cls("3", 4), TypeError, rf"{n}: input_size must be an integer, got str")
    case(f"{n}-layers-zero", lambda cls=cls: cls(3, 4, num_layers=0), ValueError, rf"{n}: num_layers must be an integer of at least 1")
    case(f"{n}-dropout", lambda cls=cls: cls(3, 4, dropout=1.5), ValueError, rf"{n}: dropout must be a probability in \[0, 1\]")
    case(f"{n}-input-features", lambda cls=cls: cls(3, 4)(tg.zeros(2, 1, 5)), ShapeError, rf"{n}: expected input with 3 features")
    case(f"{n}-input-int", lambda cls=cls: cls(3, 4)(tg.zeros(2, 1, 3, dtype=tg.int64)), TypeError, rf"{n}: expected a floating-point input")
    case(f"{n}-input-4d", lambda cls=cls: cls(3, 4)(tg.zeros(2, 1, 1, 3)), ShapeError, rf"{n}: expected input of shape")
    case(f"{n}-empty-sequence", lambda cls=cls: cls(3, 4)(tg.zeros(0, 1, 3)), ShapeError, rf"{n}: the input sequence is empty")
    case(f"{n}-lengths-too-long", lambda cls=cls: cls(3, 4)(tg.zeros(2, 1, 3), lengths=[3]), ValueError, rf"{n}: lengths must be in \[1, 2\]")
case("RNN-nonlinearity", lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, r"RNN: nonlinearity must be 'tanh' or 'relu'")
case("RNN-int-h0", lambda: nn.RNN(3, 4)(tg.zeros(2, 1, 3), tg.zeros(1, 1, 4, dtype=tg.int64)), TypeError,
     r"RNN: h0 has dtype int64 but the input has float32")
case("RNN-h0-shape", lambda: nn.RNN(3, 4)(tg.zeros(2, 1, 3), tg.zeros(1, 2, 4)), ShapeError, r"RNN: expected h0 of shape \(1, 1, 4\)")
case("LSTM-state-not-pair", lambda: nn.LSTM(3, 4)(tg.zeros(2, 1, 3), tg.zeros(1, 1, 4)), ValueError, r"LSTM: expected the state as \(h0, c0\)")
case("RNNCell-hidden", lambda: nn.RNNCell(3, 0), ValueError, r"RNNCell: hidden_size must be at least 1")
case("LSTMCell-float", lambda: nn.LSTMCell(3.5, 2), TypeError, r"LSTMCell: input_size must be an integer")
case("GRUCell-input", lambda: nn.GRUCell(3, 2)(tg.zeros(1, 4)), ShapeError, r"GRUCell: expected input with 3 features")


# modules: dtype, state dicts
case("Module.to-int64", lambda: nn.Linear(2, 2).to(np.int64), TypeError, r"Module.to: only floating-point dtypes")
case("Module.to-cuda", lambda: nn.Linear(2, 2).to("cuda"), RuntimeError, r"device 'cuda' is not available")
case("load_state_dict-size", lambda: nn.Linear(2, 3).load_state_dict({"weight": np.zeros((4, 2)), "bias": np.zeros(3)}),
     RuntimeError, r"Error\(s\) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param with "
                   r"shape \(4, 2\) from checkpoint, the shape in current model is \(3, 2\)")
case("load_state_dict-missing", lambda: nn.Linear(2, 3).load_state_dict({"weight": np.zeros((3, 2))}), RuntimeError,
     r'Missing key\(s\) in state_dict: "bias"')
case("load_state_dict-unexpected", lambda: nn.Linear(2, 3).load_state_dict(
    {"weight": np.zeros((3, 2)), "bias": np.zeros(3), "w2": np.zeros(1)}), RuntimeError, r'Unexpected key\(s\) in state_dict: "w2"')
case("load_state_dict-list", lambda: nn.Linear(2, 3).load_state_dict([1, 2]), TypeError, r"load_state_dict: state_dict must be a dict")
case("load_state_dict-strings", lambda: nn.Linear(1, 1).load_state_dict({"weight": np.array([["a"]]), "bias": np.zeros(1)}),
     RuntimeError, r"value for weight: expected numbers")
case("register_buffer-dotted", lambda: nn.Linear(1, 1).register_buffer("a.b", tg.zeros(1)), KeyError, r"buffer name can.+t contain")

# ---------------------------------------------------------------------------
# losses and functional forms
# ---------------------------------------------------------------------------
case("cross_entropy-target-range", lambda: F.cross_entropy(x23(), [0, 3]), IndexError, r"nll_loss: target 3 is out of range for 3 classes")
case("cross_entropy-target-negative", lambda: F.cross_entropy(x23(), [0, -1]), IndexError, r"nll_loss: target -1 is out of range")
case("cross_entropy-target-shape", lambda: F.cross_entropy(x23(), [0, 1, 2]), ShapeError, r"nll_loss: input of shape \(2, 3\) needs targets of shape \(2,\)")
case("cross_entropy-prob-target-shape", lambda: F.cross_entropy(x23(), tg.zeros(2, 4)), TypeError, r"cross_entropy: targets must be integers")
case("cross_entropy-reduction", lambda: F.cross_entropy(x23(), [0, 1], reduction="avg"), ValueError, r"cross_entropy: reduction must be one of")
case("cross_entropy-smoothing", lambda: F.cross_entropy(x23(), [0, 1], label_smoothing=-0.1), ValueError, r"cross_entropy: label_smoothing must be in \[0, 1\]")
case("nll_loss-float-target", lambda: F.nll_loss(x23(), tg.tensor([0.0, 1.0])), TypeError, r"nll_loss: targets must be integers")
case("mse_loss-shapes", lambda: F.mse_loss(x23(), tg.zeros(3)), ShapeError, r"mse_loss: input shape \(2, 3\) and target shape \(3,\) differ")
case("l1_loss-reduction", lambda: F.l1_loss(x23(), x23(), "total"), ValueError, r"l1_loss: reduction must be one of")
case("bce-above-one", lambda: F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0])), ValueError,
     r"binary_cross_entropy: input must be probabilities in \[0, 1\], got 1.5")
case("bce-nan", lambda: F.binary_cross_entropy(tg.tensor([float("nan")]), tg.tensor([1.0])), ValueError,
     r"binary_cross_entropy: input must be probabilities in \[0, 1\], got nan")
case("bce-negative", lambda: F.binary_cross_entropy(tg.tensor([-0.0, -1e-30]), tg.tensor([1.0, 0.0])), ValueError,
     r"binary_cross_entropy: input must be probabilities")
case("bce-int-input", lambda: F.binary_cross_entropy(tg.tensor([1, 0]), tg.tensor([1.0, 0.0])), TypeError,
     r"binary_cross_entropy: input must be a floating-point tensor")
case("bce-shapes", lambda: F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([1.0, 0.0])), ShapeError,
     r"binary_cross_entropy: input shape \(1,\) and target shape \(2,\) differ")
case("bce_logits-shapes", lambda: F.binary_cross_entropy_with_logits(x23(), tg.zeros(3)), ShapeError,
     r"binary_cross_entropy_with_logits: input shape")
case("one_hot-range", lambda: F.one_hot(tg.tensor([0, 3]), 3), ValueError, r"one_hot: indices must be in \[0, 3\)")
case("one_hot-float", lambda: F.one_hot(tg.tensor([0.0]), 3), TypeError, r"one_hot: indices must be integers")
case("dropout-p", lambda: F.dropout(x23(), 2.0), ValueError, r"dropout: p must be a probability in \[0, 1\]")
case("dropout-nan", lambda: F.dropout(x23(), float("nan")), ValueError, r"dropout: p must be a probability")
case("linear-shapes", lambda: F.linear(x23(), tg.zeros(4, 2)), ShapeError, r"linear: input has 3 features")
case("layer_norm-shape", lambda: F.layer_norm(x23(), (2,)), ShapeError, r"layer_norm: expected input with trailing shape")
case("gelu-approximate", lambda: F.gelu(x23(), "erf"), ValueError, r"gelu: approximate must be 'none' or 'tanh'")
case("ctc-2d", lambda: F.ctc_loss(x23(), [[1]], [2], [1]), ShapeError, r"ctc_loss: log_probs must be \(T, N, C\)")
case("ctc-lengths", lambda: F.ctc_loss(tg.zeros(2, 1, 3), [[1]], [3], [1]), ValueError, r"ctc_loss: input_lengths must be in \[1, 2\]")
case("ctc-blank-label", lambda: F.ctc_loss(tg.zeros(2, 1, 3), [[0]], [2], [1]), ValueError, r"ctc_loss: target labels must be in \[0, 3\) and not the blank")
case("ctc-blank", lambda: F.ctc_loss(tg.zeros(2, 1, 3), [[1]], [2], [1], blank=3), ValueError, r"ctc_loss: blank 3 is not a class index")

# ---------------------------------------------------------------------------
# optimizers and schedulers
# ---------------------------------------------------------------------------
OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW, "RMSprop": optim.RMSprop,
              "Adagrad": optim.Adagrad}
for n, cls in OPTIMIZERS.items():
    case(f"{n}-same-param-twice", lambda cls=cls: (lambda p: cls([p, p]))(p2()), ValueError, rf"{n}: .*same parameter twice")
    case(f"{n}-param-in-two-groups", lambda cls=cls: (lambda p: cls([{"params": [p]}, {"params": [p]}]))(p2()),
         ValueError, rf"{n}: some parameters appear in more than one parameter group")
    case(f"{n}-non-leaf", lambda cls=cls: cls([p2() * 2]), ValueError, rf"{n}: can't optimize a non-leaf Tensor")
    case(f"{n}-no-grad", lambda cls=cls: cls([tg.zeros(2)]), ValueError, rf"{n}: can only optimize tensors that require grad")
    case(f"{n}-bare-tensor", lambda cls=cls: cls(p2()), TypeError, rf"{n}: params must be an iterable of Tensors or dicts.*got Tensor")
    case(f"{n}-module", lambda cls=cls: cls(nn.Linear(2, 2)), TypeError, rf"{n}: params must be .*got Linear \(pass model.parameters\(\)\)")
    case(f"{n}-empty", lambda cls=cls: cls([]), ValueError, rf"{n}: got an empty parameter list")
    case(f"{n}-not-tensors", lambda cls=cls: cls([1.0, 2.0]), TypeError, rf"{n}: params must be Tensors, got float")
    case(f"{n}-mixed", lambda cls=cls: cls([p2(), {"params": [p2()]}]), TypeError, rf"{n}: params must be all Tensors or all dicts")
    case(f"{n}-group-no-params", lambda cls=cls: cls([{"lr": 0.1}]), TypeError, rf"{n}: a parameter group must be a dict with a 'params' key")
    case(f"{n}-unknown-hyper", lambda cls=cls: cls([{"params": [p2()], "lrr": 1}]), TypeError, rf"{n}: unknown hyper-parameters \['lrr'\]: 'lrr' \(did you mean 'lr'\?\)")
    case(f"{n}-lr-negative", lambda cls=cls: cls([p2()], lr=-1), ValueError, rf"{n}: lr must be a finite number >= 0, got -1 \(Invalid learning rate: -1\)")
    case(f"{n}-lr-str", lambda cls=cls: cls([p2()], lr="0.01"), TypeError, rf"{n}: lr must be a number, got str '0.01'")
    case(f"{n}-lr-nan", lambda cls=cls: cls([p2()], lr=float("nan")), ValueError, rf"{n}: lr must be a finite number")
    case(f"{n}-lr-inf", lambda cls=cls: cls([p2()], lr=float("inf")), ValueError, rf"{n}: lr must be a finite number")
    case(f"{n}-lr-None", lambda cls=cls: cls([p2()], lr=None), TypeError, rf"{n}: lr must be a number, got NoneType")
    case(f"{n}-group-lr-negative", lambda cls=cls: cls([{"params": [p2()], "lr": -0.5}]), ValueError,
         rf"{n}: lr must be a finite number >= 0, got -0.5 in a parameter group")
    case(f"{n}-weight_decay", lambda cls=cls: cls([p2()], weight_decay=-1e-4), ValueError, rf"{n}: weight_decay must be a finite number >= 0")
    if n != "SGD":
        case(f"{n}-eps", lambda cls=cls: cls([p2()], eps=-1e-8), ValueError, rf"{n}: eps must be a finite number >= 0")
case("SGD-momentum", lambda: optim.SGD([p2()], momentum=-0.9), ValueError, r"SGD: momentum must be a finite number >= 0")
case("SGD-momentum-str", lambda: optim.SGD([p2()], momentum="0.9"), TypeError, r"SGD: momentum must be a number")
case("SGD-nesterov", lambda: optim.SGD([p2()], nesterov=True), ValueError, r"SGD: nesterov momentum needs momentum > 0")
case("SGD-nesterov-str", lambda: optim.SGD([p2()], momentum=0.9, nesterov="yes"), TypeError, r"SGD: nesterov must be True or False")
case("Adam-betas-float", lambda: optim.Adam([p2()], betas=0.9), TypeError, r"Adam: betas must be a pair of numbers")
case("Adam-betas-three", lambda: optim.Adam([p2()], betas=(0.9, 0.99, 0.999)), TypeError, r"Adam: betas must be a pair")
case("Adam-beta1-one", lambda: optim.Adam([p2()], betas=(1.0, 0.999)), ValueError, r"Adam: betas must be in \[0, 1\).*index 0")
case("Adam-beta2-negative", lambda: optim.Adam([p2()], betas=(0.9, -0.1)), ValueError, r"Adam: betas must be in \[0, 1\).*index 1")
case("Adam-beta-str", lambda: optim.Adam([p2()], betas=("a", 0.9)), TypeError, r"Adam: betas\[0\] must be a number")
case("AdamW-betas-group", lambda: optim.AdamW([{"params": [p2()], "betas": (0.9, 1.5)}]), ValueError, r"AdamW: betas must be in \[0, 1\)")
case("Adam-amsgrad-str", lambda: optim.Adam([p2()], amsgrad="no"), TypeError, r"Adam: amsgrad must be True or False")
case("RMSprop-alpha", lambda: optim.RMSprop([p2()], alpha=1.5), ValueError, r"RMSprop: alpha must be a finite number in \[0, 1\]")
case("RMSprop-alpha-negative", lambda: optim.RMSprop([p2()], alpha=-0.1), ValueError, r"RMSprop: alpha must be")
case("RMSprop-momentum", lambda: optim.RMSprop([p2()], momentum=-1), ValueError, r"RMSprop: momentum must be a finite number >= 0")
case("RMSprop-centered", lambda: optim.RMSprop([p2()], centered=1), TypeError, r"RMSprop: centered must be True or False")
case("Adagrad-initial", lambda: optim.Adagrad([p2()], initial_accumulator_value=-1), ValueError,
     r"Adagrad: initial_accumulator_value must be a finite number >= 0")
case("Adagrad-lr_decay", lambda: optim.Adagrad([p2()], lr_decay=-0.1), ValueError, r"Adagrad: lr_decay must be a finite number >= 0")


def _opt_load(sd):
    return lambda: optim.Adam([p2()]).load_state_dict(sd)


case("Optimizer.load-missing-groups", _opt_load({"state": {}}), ValueError,
     r"Adam.load_state_dict: state_dict must be a dict with keys 'state' and 'param_groups'")
case("Optimizer.load-list", _opt_load([1]), ValueError, r"Adam.load_state_dict: state_dict must be a dict")
case("Optimizer.load-groups-size", _opt_load({"state": {}, "param_groups": [{"params": [0, 1]}]}), ValueError,
     r"Adam.load_state_dict: the saved parameter groups \(sizes \[2\]\) do not match this optimizer's \(sizes \[1\]\)")
case("Optimizer.load-bad-group", _opt_load({"state": {}, "param_groups": [[0]]}), ValueError,
     r"Adam.load_state_dict: 'param_groups' must be a list of dicts")
case("Optimizer.load-bad-key", _opt_load({"state": {"5": {}}, "param_groups": [{"params": [0]}]}), ValueError,
     r"Adam.load_state_dict: state key '5' is not a parameter index in \[0, 1\)")
case("Optimizer.load-non-int-key", _opt_load({"state": {"w": {}}, "param_groups": [{"params": [0]}]}), ValueError,
     r"Adam.load_state_dict: state key 'w' is not a parameter index")
case("Optimizer.load-state-shape", _opt_load({"state": {"0": {"step": 1, "exp_avg": np.zeros(3), "exp_avg_sq": np.zeros(2)}},
                                              "param_groups": [{"params": [0]}]}), ValueError,
     r"Adam.load_state_dict: size mismatch for state\['0'\]\['exp_avg'\]: the checkpoint has shape \(3,\), the parameter has shape \(2,\)")
case("Optimizer.load-bad-lr", _opt_load({"state": {}, "param_groups": [{"params": [0], "lr": -1}]}), ValueError,
     r"Adam: lr must be a finite number >= 0, got -1 in the saved state_dict")
case("Optimizer.load-state-not-dict", _opt_load({"state": [], "param_groups": [{"params": [0]}]}), ValueError,
     r"Adam.load_state_dict: 'state' must be a dict")

case("StepLR-zero", lambda: sched.StepLR(sgd(), 0), ValueError, r"StepLR: step_size must be an integer >= 1, got 0")
case("StepLR-negative", lambda: sched.StepLR(sgd(), -2), ValueError, r"StepLR: step_size must be an integer >= 1")
case("StepLR-float", lambda: sched.StepLR(sgd(), 2.5), TypeError, r"StepLR: step_size must be an integer, got float 2.5")
case("StepLR-gamma-negative", lambda: sched.StepLR(sgd(), 1, gamma=-1), ValueError, r"StepLR: gamma must be a finite number >= 0")
case("StepLR-gamma-str", lambda: sched.StepLR(sgd(), 1, gamma="0.1"), TypeError, r"StepLR: gamma must be a number")
case("StepLR-not-optimizer", lambda: sched.StepLR([p2()], 1), TypeError, r"StepLR: optimizer must be an Optimizer")
case("ExponentialLR-gamma", lambda: sched.ExponentialLR(sgd(), -0.5), ValueError, r"ExponentialLR: gamma must be a finite number >= 0")
case("ExponentialLR-nan", lambda: sched.ExponentialLR(sgd(), float("nan")), ValueError, r"ExponentialLR: gamma must be a finite")
case("CosineAnnealingLR-zero", lambda: sched.CosineAnnealingLR(sgd(), 0), ValueError, r"CosineAnnealingLR: T_max must be an integer >= 1, got 0")
case("CosineAnnealingLR-float", lambda: sched.CosineAnnealingLR(sgd(), 10.0), TypeError, r"CosineAnnealingLR: T_max must be an integer")
case("CosineAnnealingLR-eta", lambda: sched.CosineAnnealingLR(sgd(), 10, eta_min=-1), ValueError, r"CosineAnnealingLR: eta_min must be")
case("scheduler-load-bad", lambda: sched.StepLR(sgd(), 1).load_state_dict({"x": 1}), ValueError,
     r"StepLR.load_state_dict: state must be a dict with 'base_lrs' and 'last_epoch'")

# ---------------------------------------------------------------------------
# gradient clipping, sequence packing
# ---------------------------------------------------------------------------
from tinygrad_seq.nn import utils as nnu  # noqa: E402

case("pad_sequence-empty", lambda: nnu.rnn.pad_sequence([]), ValueError, r"pad_sequence: received an empty list")
case("pad_sequence-side", lambda: nnu.rnn.pad_sequence([tg.zeros(2)], padding_side="up"), ValueError, r"pad_sequence: padding_side must be")
case("pad_sequence-shapes", lambda: nnu.rnn.pad_sequence([tg.zeros(2, 3), tg.zeros(2, 4)]), ShapeError, r"pad_sequence: every sequence must have shape")
case("pack_padded-zero-length", lambda: nnu.rnn.pack_padded_sequence(tg.zeros(3, 2, 1), [3, 0]), RuntimeError,
     r"pack_padded_sequence: Length of all samples has to be greater than 0")
case("pack_padded-too-long", lambda: nnu.rnn.pack_padded_sequence(tg.zeros(3, 2, 1), [4, 1]), ValueError,
     r"pack_padded_sequence: lengths \[4, 1\] exceed the padded sequence length 3")
case("pack_padded-unsorted", lambda: nnu.rnn.pack_padded_sequence(tg.zeros(3, 2, 1), [1, 3]), RuntimeError,
     r"`lengths` array must be sorted in decreasing order")
case("pack_padded-float-lengths", lambda: nnu.rnn.pack_padded_sequence(tg.zeros(3, 2, 1), [1.5, 3.0]), TypeError,
     r"pack_padded_sequence: lengths must be integers")
case("pad_packed-not-packed", lambda: nnu.rnn.pad_packed_sequence(tg.zeros(2)), TypeError, r"expected a PackedSequence, got Tensor")
case("clip_grad_norm-negative", lambda: nnu.clip_grad_norm_([p2()], -1.0), ValueError, r"clip_grad_norm_: max_norm must be")
case("clip_grad_norm-str", lambda: nnu.clip_grad_norm_([p2()], "1"), TypeError, r"clip_grad_norm_: max_norm must be a number")
case("clip_grad_norm-norm_type", lambda: nnu.clip_grad_norm_([p2()], 1.0, norm_type="two"), ValueError,
     r"clip_grad_norm_: norm_type must be a number or 'inf', got 'two'")
case("clip_grad_norm-norm_type-None", lambda: nnu.clip_grad_norm_([p2()], 1.0, norm_type=None), TypeError,
     r"clip_grad_norm_: norm_type must be a number")
case("clip_grad_norm-norm_type-nan", lambda: nnu.clip_grad_norm_([p2()], 1.0, norm_type=float("nan")), ValueError,
     r"clip_grad_norm_: norm_type must be a finite number")
case("clip_grad_norm-not-params", lambda: nnu.clip_grad_norm_(5, 1.0), TypeError, r"clip_grad_norm_: parameters must be")
case("clip_grad_norm-list-of-floats", lambda: nnu.clip_grad_norm_([1.0], 1.0), TypeError, r"clip_grad_norm_: parameters must be Tensors")
case("clip_grad_value-negative", lambda: nnu.clip_grad_value_([p2()], -1.0), ValueError, r"clip_grad_value_: clip_value must be")


# ---------------------------------------------------------------------------
# more: numbers where numbers belong, modules, data, autograd arguments
# ---------------------------------------------------------------------------
case("add-None", lambda: x23() + None, TypeError, r"tensor: cannot make a tensor from None: could not infer the dtype of NoneType")
case("add-str", lambda: x23() + "a", TypeError, r"tensor: cannot make a tensor from a str \('a'\): invalid data type 'str'")
case("pow-str", lambda: x23() ** "a", TypeError, r"tensor: cannot make a tensor")
case("matmul-scalar", lambda: x23() @ 2, ShapeError, r"matmul: .*both operands need at least one dimension")
case("getitem-float", lambda: x23()[1.5], IndexError, r"getitem: index 1.5 into shape \(2, 3\)")
case("getitem-str", lambda: x23()["a"], IndexError, r"getitem: index 'a' into shape")
case("getitem-float-array", lambda: x23()[tg.tensor([0.5])], IndexError, r"getitem: .*must be of integer \(or boolean\) type")
case("getitem-too-many", lambda: x23()[0, 0, 0], IndexError, r"getitem: .*too many indices")
case("getitem-bad-mask", lambda: x23()[np.array([True])], IndexError, r"getitem: .*boolean index did not match")
case("setitem-shape", lambda: x23().__setitem__(0, tg.zeros(5)), ShapeError, r"setitem: in-place result does not fit")
case("setitem-str", lambda: x23().__setitem__(0, "a"), TypeError, r"tensor: cannot make a tensor")
case("clamp-str", lambda: x23().clamp("a"), TypeError, r"clamp: min must be a number or None, got str")
case("clamp-max-list", lambda: x23().clamp(max=["a"]), TypeError, r"clamp: max must be a number or None")
case("leaky_relu-str", lambda: x23().leaky_relu("a"), TypeError, r"leaky_relu: negative_slope must be a number")
case("norm-nuc", lambda: x23().norm("nuc"), ValueError, r"norm: p must be a number or 'fro', got 'nuc'")
case("norm-nan", lambda: x23().norm(float("nan")), ValueError, r"norm: p must be a number")
case("var-correction-str", lambda: x23().var(correction="a"), TypeError, r"var: correction must be a number")
case("var-correction-negative", lambda: x23().var(correction=-1), ValueError, r"var: correction must be a finite number >= 0")
case("sum-keepdim-str", lambda: x23().sum(0, keepdim="yes"), TypeError, r"sum: keepdim must be True or False")
case("mean-keepdims-int", lambda: x23().mean(0, keepdims=2), TypeError, r"mean: keepdim must be True or False")
case("pow-int-negative", lambda: tg.tensor([2]) ** -1, RuntimeError, r"pow: integers to negative integer powers are not allowed")
case("argmax-empty", lambda: tg.zeros(0).argmax(), ShapeError, r"argmax: cannot take the argmax of an empty tensor")
case("argmin-empty", lambda: tg.zeros(2, 0).argmin(), ShapeError, r"argmin: cannot take the argmin of an empty tensor")
case("allclose-shapes", lambda: x23().allclose(tg.zeros(3, 3)), ShapeError, r"allclose: shapes \(2, 3\) and \(3, 3\)")
case("uniform_-reversed", lambda: tg.zeros(2).uniform_(1, 0), ValueError, r"uniform_: expects a <= b, got a=1, b=0")
case("uniform_-str", lambda: tg.zeros(2).uniform_("a"), TypeError, r"uniform_: a must be a number")
case("normal_-negative-std", lambda: tg.zeros(2).normal_(0, -1), ValueError, r"normal_: std must be a finite number >= 0")
case("fill_-str", lambda: tg.zeros(2).fill_("a"), TypeError, r"tensor: cannot make a tensor")
case("fill_-tensor", lambda: tg.zeros(2).fill_(tg.zeros(2)), ShapeError, r"fill_: value must be a number or a one-element tensor")
case("new_full-str", lambda: x23().new_full((2,), "a"), TypeError, r"tensor: cannot make a tensor")
case("new_zeros-negative", lambda: x23().new_zeros(-1), ValueError, r"new_zeros: sizes must be non-negative")
case("copy_-shape", lambda: x23().copy_(tg.zeros(3, 3)), ShapeError, r"copy_: in-place result does not fit")
case("masked_fill-shape", lambda: x23().masked_fill(tg.tensor([True, False]), 0.0), ShapeError, r"where: condition \(2,\)")
case("to-dtype-name-as-device", lambda: x23().to("float64"), RuntimeError, r"'float64' is a dtype name, not a device")
case("Module.to-dtype-name", lambda: nn.Linear(1, 1).to("float64"), RuntimeError, r"'float64' is a dtype name")
case("tensor-nan-to-int", lambda: tg.tensor([float("nan")], dtype=tg.int64), ValueError,
     r"tensor: cannot convert non-finite values \(nan or inf\) to int64")
case("tensor-inf-to-int", lambda: tg.tensor([float("inf")], dtype=tg.int32), ValueError, r"tensor: cannot convert non-finite")
case("tensor-too-big-int", lambda: tg.tensor(2 ** 70), ValueError, r"tensor: the integer 1180591620717411303424 does not fit in int64")
case("tril-1d", lambda: tg.tril(tg.zeros(3)), ShapeError, r"tril: input tensor must have at least 2 dimensions")
case("triu-diagonal-float", lambda: tg.triu(x23(), 0.5), TypeError, r"triu: diagonal must be an integer")
case("einsum-unknown-output", lambda: tg.einsum("i->j", tg.zeros(3)), ValueError, r"einsum: output subscripts 'j' must be")
case("einsum-not-str", lambda: tg.einsum(5, tg.zeros(3)), TypeError, r"einsum: equation must be a string")
case("stack-strings", lambda: tg.stack([[1, 2], "a"]), TypeError, r"tensor: cannot make a tensor")
case("backward-gradient-str", lambda: (p2() * 2).backward("x"), TypeError, r"backward: gradient must be a Tensor or numbers")
case("gradcheck-negative-eps", lambda: tg.gradcheck(lambda a: a * 2, [tg.zeros(2, dtype=tg.float64, requires_grad=True)], eps=-1),
     ValueError, r"gradcheck: eps must be a finite number > 0")
case("gradcheck-float32", lambda: tg.gradcheck(lambda a: a * 2, [p2()]), TypeError, r"gradcheck: input 0 .* is float32")
case("gradcheck-no-inputs", lambda: tg.gradcheck(lambda a: a, [1.0]), ValueError, r"gradcheck: no floating-point Tensor")
case("gradcheck-not-callable", lambda: tg.gradcheck(5, [p2()]), TypeError, r"gradcheck: fn must be callable")

case("F.cross_entropy-0d", lambda: F.cross_entropy(tg.tensor(1.0), tg.tensor(0)), ShapeError, r"cross_entropy: logits must have a class dimension")
case("F.one_hot-negative-classes", lambda: F.one_hot(tg.tensor([0]), -5), ValueError, r"one_hot: num_classes must be an integer >= -1")
case("F.one_hot-float-classes", lambda: F.one_hot(tg.tensor([0]), 2.5), TypeError, r"one_hot: num_classes must be an integer")
case("F.one_hot-empty-infer", lambda: F.one_hot(tg.tensor([], dtype=tg.int64)), ValueError, r"one_hot: cannot infer num_classes")
case("F.embedding-1d-weight", lambda: F.embedding(tg.tensor([0]), tg.zeros(3)), ShapeError, r"embedding: weight must be 2-d")
case("F.linear-1d-weight", lambda: F.linear(x23(), tg.zeros(3)), ShapeError, r"linear: expects .* a 2-d weight")
case("F.linear-0d-input", lambda: F.linear(tg.tensor(1.0), tg.zeros(2, 3)), ShapeError, r"linear: expects an input of at least 1")
case("F.layer_norm-float-shape", lambda: F.layer_norm(x23(), 3.0), TypeError, r"layer_norm: normalized_shape must be an integer")
case("F.dropout-training-str", lambda: F.dropout(x23(), 0.5, training="no"), TypeError, r"dropout: training must be True or False")
case("F.ctc-negative-target-length", lambda: F.ctc_loss(tg.zeros(2, 1, 3), [[1]], [2], [-1]), ValueError,
     r"ctc_loss: target_lengths must be non-negative")
case("F.cross_entropy-ignore-float", lambda: F.cross_entropy(x23(), [0, 1], ignore_index=1.5), TypeError,
     r"cross_entropy: ignore_index must be an integer")
case("F.cross_entropy-smoothing-str", lambda: F.cross_entropy(x23(), [0, 1], label_smoothing="a"), TypeError,
     r"cross_entropy: label_smoothing must be a number")
case("F.nll_loss-ignore-str", lambda: F.nll_loss(x23(), [0, 1], ignore_index="x"), TypeError,
     r"nll_loss: ignore_index must be an integer")
case("register_hook-not-callable", lambda: p2().register_hook(5), TypeError, r"register_hook: fn must be callable")
case("set_grad_enabled-str", lambda: tg.set_grad_enabled("x"), TypeError, r"set_grad_enabled: mode must be True or False")
case("zero_grad-str", lambda: sgd().zero_grad("x"), TypeError, r"SGD.zero_grad: set_to_none must be True or False")
case("multinomial-str", lambda: tg.multinomial("a", 1), TypeError, r"tensor: cannot make a tensor")
case("Parameter-int", lambda: nn.Parameter(tg.tensor([1, 2])), TypeError, r"Parameter: only floating-point tensors")


def _step_with_wrong_grad():
    q = p2()
    q.grad = tg.zeros(3)
    optim.SGD([q], lr=0.1).step()


case("step-grad-shape", _step_with_wrong_grad, RuntimeError,     # refused already where .grad is assigned (PyTorch's)
     r"attempting to assign a gradient of size '\[3\]' to a tensor of size '\[2\]'")
case("Tensor-requires_grad-str", lambda: tg.Tensor([1.0], requires_grad="no"), TypeError, r"Tensor: requires_grad must be True or False")
case("tensor-requires_grad-str", lambda: tg.tensor([1.0], requires_grad="no"), TypeError, r"tensor: requires_grad must be True or False")
case("zeros-requires_grad-str", lambda: tg.zeros(2, requires_grad="no"), TypeError, r"requires_grad must be True or False")
case("Parameter-requires_grad-str", lambda: nn.Parameter(tg.zeros(1), requires_grad="x"), TypeError, r"Parameter: requires_grad must be")
case("requires_grad_-str", lambda: tg.zeros(1).requires_grad_("x"), TypeError, r"requires_grad_: requires_grad must be")
case("DataLoader-shuffle-str", lambda: tg.utils.data.DataLoader(_DS(), shuffle="no"), ValueError, r"shuffle should be a boolean value")
case("DataLoader-int-dataset", lambda: tg.utils.data.DataLoader(5), TypeError, r"DataLoader: dataset must be a Dataset")
case("TensorDataset-list", lambda: tg.utils.data.TensorDataset([1, 2]), TypeError, r"TensorDataset: argument 0 must be a Tensor")
case("TensorDataset-empty", lambda: tg.utils.data.TensorDataset(), ValueError, r"TensorDataset: needs at least one tensor")
case("pad_sequence-batch_first-str", lambda: nnu.rnn.pad_sequence([tg.zeros(2)], batch_first="x"), TypeError,
     r"pad_sequence: batch_first must be True or False")
case("pad_packed-total_length-float", lambda: nnu.rnn.pad_packed_sequence(nnu.rnn.pack_sequence([tg.zeros(3, 1)]), total_length=4.5),
     TypeError, r"pad_packed_sequence: total_length must be an integer")
case("invert_permutation-not-permutation", lambda: nnu.rnn.invert_permutation(tg.tensor([0, 0])), ValueError,
     r"invert_permutation: expected a permutation of 0..1")
case("load_state_dict-strict-str", lambda: nn.Linear(1, 1).load_state_dict(nn.Linear(1, 1).state_dict(), strict="no"), TypeError,
     r"load_state_dict: strict must be True or False")
case("register_forward_hook-not-callable", lambda: nn.Linear(1, 1).register_forward_hook(5), TypeError,
     r"register_forward_hook: hook must be callable")
case("register_forward_pre_hook-not-callable", lambda: nn.Linear(1, 1).register_forward_pre_hook(None), TypeError,
     r"register_forward_pre_hook: hook must be callable")
case("bce_logits-pos_weight-shape", lambda: F.binary_cross_entropy_with_logits(tg.zeros(2, 3), tg.zeros(2, 3), pos_weight=tg.ones(4)),
     ShapeError, r"binary_cross_entropy_with_logits: pos_weight of shape \(4,\) cannot be broadcast")
ZD = r"dimension specified as 0 but the tensor has no dimensions \(it is 0-d\)"
case("0d-unbind", lambda: tg.tensor(2.0).unbind(), IndexError, r"unbind: " + ZD)
case("0d-split", lambda: tg.tensor(2.0).split(1), IndexError, r"split: " + ZD)
case("0d-chunk", lambda: tg.tensor(2.0).chunk(2), IndexError, r"chunk: " + ZD)
case("0d-narrow", lambda: tg.tensor(2.0).narrow(0, 0, 1), IndexError, r"narrow: " + ZD)
case("0d-size", lambda: tg.tensor(2.0).size(0), IndexError, r"size: " + ZD)
case("0d-gather-index", lambda: tg.tensor(2.0).gather(0, tg.tensor(1)), IndexError, r"gather: a 0-d input takes a 0-d index equal to 0")
case("0d-getitem", lambda: tg.tensor(2.0)[0], IndexError, r"getitem: index 0 into shape \(\)")
case("0d-pad", lambda: tg.pad(tg.tensor(2.0), 1), ShapeError, r"pad: a 0-d tensor has no axes to pad")
case("0d-F.pad", lambda: F.pad(tg.tensor(2.0), (1, 1)), ValueError, r"pad: expected an even number of widths for at most 0 axes")
case("0d-nll_loss", lambda: F.nll_loss(tg.tensor(2.0), tg.tensor(0)), ShapeError, r"nll_loss: input must have a class dimension")
case("0d-layer_norm", lambda: F.layer_norm(tg.tensor(2.0), ()), ValueError, r"layer_norm: normalized_shape must name at least one")
case("0d-stack-dim", lambda: tg.stack([tg.tensor(1.0), tg.tensor(2.0)], 1), IndexError, r"stack: " + DIM + r" \[-1, 0\], but got 1")
case("0d-logsumexp-dim", lambda: tg.tensor(1.0).logsumexp(1), IndexError, r"logsumexp: " + DIM)
case("0d-permute", lambda: tg.tensor(1.0).permute(0), ShapeError, r"permute: 1 dims \(0,\) given for the 0 axes")
case("0d-bmm", lambda: tg.tensor(1.0).bmm(tg.tensor(1.0)), ShapeError, r"bmm: expects 3-d and 3-d tensors")
case("0d-tril", lambda: tg.tril(tg.tensor(1.0)), ShapeError, r"tril: input tensor must have at least 2 dimensions")
case("0d-len", lambda: len(tg.tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor")
case("F.mse_loss-int", lambda: F.mse_loss(tg.tensor([1, 2]), tg.tensor([1, 2])), TypeError, r"mean: needs a floating-point tensor")

case("init.uniform_-str", lambda: nn.init.uniform_(tg.zeros(2), "a"), TypeError, r"nn.init.uniform_: a must be a number")
case("init.uniform_-reversed", lambda: nn.init.uniform_(tg.zeros(2), 1.0, 0.0), ValueError, r"nn.init.uniform_: expects a <= b")
case("init.normal_-std", lambda: nn.init.normal_(tg.zeros(2), std=-1), ValueError, r"nn.init.normal_: std must be a finite number >= 0")
case("init.constant_-str", lambda: nn.init.constant_(tg.zeros(2), "a"), TypeError, r"nn.init.constant_: val must be a number")
case("init.xavier-1d", lambda: nn.init.xavier_uniform_(tg.zeros(2)), ValueError, r"Fan in and fan out can not be computed")
case("init.kaiming-mode", lambda: nn.init.kaiming_uniform_(tg.zeros(2, 2), mode="x"), ValueError, r"Mode x not supported")
case("init.not-tensor", lambda: nn.init.zeros_(np.zeros(2)), TypeError, r"nn.init.zeros_: expected a Tensor, got ndarray")
case("ModuleList-index", lambda: nn.ModuleList([nn.Linear(1, 1)])[5], IndexError, r"ModuleList: index 5 is out of range for 1 modules")
case("ModuleList-str-index", lambda: nn.ModuleList([nn.Linear(1, 1)])["0"], TypeError, r"ModuleList: index must be an integer")
case("ModuleList-non-module", lambda: nn.ModuleList([1]), TypeError, r"add_module: int is not a Module subclass")
case("Sequential-non-module", lambda: nn.Sequential(nn.Linear(1, 1), "relu"), TypeError, r"add_module: str is not a Module subclass")
case("add_module-dotted", lambda: nn.Linear(1, 1).add_module("a.b", nn.Linear(1, 1)), KeyError, r"add_module: name must be")
case("register_parameter-tensor", lambda: nn.Linear(1, 1).register_parameter("w", tg.zeros(1)), TypeError,
     r"register_parameter: cannot assign 'Tensor' object to parameter 'w'")
case("setattr-parameter-int", lambda: setattr(nn.Linear(1, 1), "weight", 5), TypeError, r"cannot assign 'int' as parameter 'weight'")
case("setattr-module-int", lambda: setattr(nn.Sequential(nn.Linear(1, 1)), "0", 5), TypeError, r"cannot assign 'int' as child module '0'")
case("train-str", lambda: nn.Linear(1, 1).train("no"), ValueError, r"train: training mode is expected to be boolean")
case("RNN-batch_first-str", lambda: nn.RNN(3, 4, batch_first="yes"), TypeError, r"RNN: batch_first must be True or False")
case("LSTM-bias-str", lambda: nn.LSTM(3, 4, bias="no"), TypeError, r"LSTM: bias must be True or False")
case("GRUCell-bias-int", lambda: nn.GRUCell(3, 4, bias=0), TypeError, r"GRUCell: bias must be True or False")
case("RNN-float64-input-float32-model", lambda: nn.RNN(3, 4)(tg.zeros(2, 1, 3, dtype=tg.float64)), TypeError,
     r"RNN: input must have the dtype of the weights, float32, got float64")
case("LSTMCell-float64-input", lambda: nn.LSTMCell(3, 4)(tg.zeros(1, 3, dtype=tg.float64)), TypeError,
     r"LSTMCell: input must have the dtype of the weights")
case("LSTM-float64-h0", lambda: nn.LSTM(3, 4)(tg.zeros(2, 1, 3), (tg.zeros(1, 1, 4, dtype=tg.float64), tg.zeros(1, 1, 4))),
     TypeError, r"LSTM: h0 has dtype float64 but the input has float32")

_DS = lambda: tg.utils.data.TensorDataset(tg.zeros(4))  # noqa: E731
case("random_split-negative", lambda: tg.utils.data.random_split(_DS(), [5, -1]), ValueError,
     r"random_split: lengths must be non-negative sizes or fractions, got -1 at index 1")
case("random_split-fraction-above-one", lambda: tg.utils.data.random_split(_DS(), [1.5, 2.5]), ValueError,
     r"random_split: length 1.5 at index 0 is neither a whole size nor a fraction")
case("random_split-sum", lambda: tg.utils.data.random_split(_DS(), [3, 3]), ValueError, r"Sum of input lengths does not equal")
case("DataLoader-batch-size-0", lambda: tg.utils.data.DataLoader(_DS(), batch_size=0), ValueError, r"batch_size should be a positive integer")
case("DataLoader-batch-size-float", lambda: tg.utils.data.DataLoader(_DS(), batch_size=2.0), ValueError, r"batch_size should be a positive integer")
case("TensorDataset-sizes", lambda: tg.utils.data.TensorDataset(tg.zeros(4), tg.zeros(3)), ValueError, r"Size mismatch between tensors")
case("save-directory", lambda: tg.save({}, "/"), IsADirectoryError, r"save: / is a directory")
case("load-missing", lambda: tg.load("/no/such/file.pt"), Exception, r"no such checkpoint file")


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("fn, exc, pattern", CASES)
def test_bad_input_is_a_clear_error(fn, exc, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # a numpy RuntimeWarning is not an answer either
        with pytest.raises(exc, match=pattern) as info:
            fn()
    msg = str(info.value)
    assert msg and ("\n" not in msg or msg.startswith("Error(s) in loading state_dict")), msg   # one line


def test_the_table_is_large():
    assert len(CASES) >= 500, len(CASES)


# ---------------------------------------------------------------------------
# accepted inputs whose answers must be PyTorch's (they were silently different)
# ---------------------------------------------------------------------------
def test_promotion_follows_pytorch():
    b = tg.tensor([True, False]) + 1
    assert b.dtype == np.int64 and b.tolist() == [2, 1]
    assert (tg.tensor([1, 2]) + tg.tensor([1.0, 2.0])).dtype == np.float32          # numpy: float64
    assert (tg.tensor([1.0, 2.0]) * tg.tensor([1, 2], dtype=tg.int32)).dtype == np.float32
    assert (tg.tensor([1, 2]) / tg.tensor([2.0, 2.0])).dtype == np.float32
    assert tg.tensor([True]).exp().dtype == np.float32                            # numpy: float16
    assert tg.tensor([1, 2]).log().dtype == np.float32                            # numpy: float64
    assert tg.tensor([1, 2]).softmax(0).dtype == np.float32
    assert (tg.tensor([1.0], dtype=tg.float64) + tg.tensor([1])).dtype == np.float64
    assert (tg.tensor([1], dtype=tg.int32) + tg.tensor([1])).dtype == np.int64


def test_promotion_keeps_the_gradient():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * tg.tensor([3, 4])).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 4.0]


def test_where_of_two_numbers_is_the_default_dtype():
    assert tg.where(tg.tensor([True, False]), 1.0, 2.0).dtype == np.float32


def test_clamp_with_min_above_max_gives_max_as_pytorch():
    assert tg.tensor([0.0, 5.0]).clamp(3, 1).tolist() == [1.0, 1.0]


def test_numpy_array_of_a_tensor_honours_copy():
    t = tg.tensor([1.0, 2.0])
    a = np.array(t)                   # numpy 2: copy=True by default
    a[0] = 9
    assert t.tolist() == [1.0, 2.0]
    v = np.asarray(t)                 # no copy asked: shares memory
    assert np.shares_memory(v, t.numpy())
    with pytest.raises(ValueError, match="without a copy"):
        np.asarray(t, dtype=np.float64, copy=False)


def test_norm_p0_counts_nonzeros():
    assert tg.tensor([0.0, 2.0, -1.0]).norm(0).item() == 2.0


def test_0d_tensors_where_pytorch_accepts_them():
    z = tg.tensor(2.0, requires_grad=True)
    assert z.transpose(0, -1) is z
    v, i = z.topk(1)
    assert v.shape == () and i.shape == () and v.item() == 2.0
    v, i = z.sort()
    assert v.shape == () and i.shape == () and i.item() == 0
    g = z.gather(0, tg.tensor(0))
    g.backward()
    assert g.shape == () and z.grad.item() == 1.0


def test_module_list_slices():
    m = nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1))
    assert isinstance(m[:2], nn.Sequential) and len(m[:2]) == 2
    assert isinstance(nn.ModuleList([nn.Tanh(), nn.Tanh()])[1:], nn.ModuleList)


# ---------------------------------------------------------------------------
# CLI: one line on stderr, exit code 2, before any work is done
# ---------------------------------------------------------------------------
def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-m", "tinygrad_seq", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=cwd)


@pytest.mark.parametrize("args, pattern", [
    (["bench", "--configs", ","], r"--configs: expected a comma-separated list"),
    (["bench", "--json", "{tmp}/"], r"--json: expected a file path to write, got '.*/' \(a directory\)"),
    (["check", "--bogus"], r"unrecognized arguments: --bogus"),
], ids=["bench-empty-configs", "bench-json-directory", "check-unknown-flag"])
def test_cli_refuses_bad_arguments_in_one_line(args, pattern, tmp_path):
    r = _cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert __import__("re").search(pattern, r.stderr), r.stderr
    if args[0] == "bench":
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("argv, pattern", [
    (["bench", "--configs", "tiny"], r"unknown bench config 'tiny'"),
    (["bench", "--configs", " , ,"], r"--configs: expected"),
    (["bench", "--reps", "0"], r"--reps must be at least 1, got 0"),
    (["bench", "--reps", "-3"], r"--reps must be at least 1, got -3"),
    (["bench", "--json", ""], r"--json: expected a file path to write, got ''"),
    (["bench", "--json", "/no/such/folder/out.json"], r"--json: folder /no/such/folder does not exist"),
])
def test_cli_bench_checks_in_process(argv, pattern, capsys):
    from tinygrad_seq import cli
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(pattern, err) and len(err.strip().splitlines()) == 1, err


def test_cli_json_directory_without_slash(tmp_path, capsys):
    from tinygrad_seq import cli
    assert cli.main(["bench", "--json", str(tmp_path)]) == 2
    assert "(a directory)" in capsys.readouterr().err
