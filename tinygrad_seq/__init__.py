"""tinygrad_seq: a small autograd engine on numpy, and the sequence models built from it.

    import tinygrad_seq as tg
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])

The names follow PyTorch's, so ``import tinygrad_seq as torch`` runs everyday
recurrent-network code (on the CPU).
"""
import warnings as _warnings

import numpy as _np

# Overflow and invalid-value warnings that numpy raises inside the engine's own ops (float32 1e30 * 1e30):
# PyTorch gives inf / nan silently, and so do we; tg.detect_anomaly() finds the op where one is born.
# The filter matches only warnings attributed to tinygrad_seq's modules, never the user's own numpy code.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tinygrad_seq(\.|$)")

from .tensor import (Tensor, Size, ShapeError, AnomalyError, no_grad, enable_grad, set_grad_enabled, inference_mode,
                     is_grad_enabled, set_default_dtype, get_default_dtype, manual_seed, detect_anomaly, device)
from .factories import (zeros, ones, full, empty, zeros_like, ones_like, full_like, empty_like, randn, rand, randint,
                        randn_like, rand_like, randperm, multinomial, arange, linspace, eye, tensor, from_numpy,
                        as_tensor, LongTensor, FloatTensor, DoubleTensor, BoolTensor, IntTensor, Generator,
                        set_default_device, get_default_device)
from .functions import (add, sub, mul, div, neg, pow, matmul, mm, bmm, exp, log, sqrt, sin, cos, abs, tanh, sigmoid,
                        relu, leaky_relu, softplus, maximum, minimum, clip, clamp, where, logsumexp, softmax,
                        log_softmax, sum, mean, max, min, amax, amin, argmax, argmin, var, std, norm, cumsum, cat,
                        concatenate, concat, stack, split, chunk, unbind, flatten, squeeze, unsqueeze, expand,
                        broadcast_to, reshape, transpose, permute, gather, masked_fill, topk, sort, argsort, narrow,
                        flip, pad, einsum, tril, triu, allclose, equal, is_tensor, numel, clone, promote_types,
                        result_type, scatter, scatter_add)
from .gradcheck import gradcheck, gradgradcheck, GradcheckError

__version__ = "0.2.0"

# dtypes by PyTorch's names (numpy dtypes: ``x.dtype == tg.float32`` works)
float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
float16 = half = _np.dtype(_np.float16)
int64 = long = _np.dtype(_np.int64)
int32 = int = _np.dtype(_np.int32)
int16 = short = _np.dtype(_np.int16)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)

from . import autograd, charts, cuda, nn, optim, progress, reference, tutorial, utils  # noqa: E402
autograd.gradcheck, autograd.gradgradcheck = gradcheck, gradgradcheck     # torch.autograd's names, attached from above
from .nn.functional import dropout, one_hot  # noqa: E402  (kept at the top level too, as before)
from .serialization import save, load, CheckpointError  # noqa: E402
from . import onnx, serialization  # noqa: E402  (torch.serialization.safe_globals, torch.onnx)
from . import viz  # noqa: E402

# The views attach from above, here and nowhere else (the engine and the layers know no views): rich looks
# for ``__rich__`` on the classes, and the model summary is both ``tg.nn.summary(model, x)`` and ``model.summary(x)``.
Tensor.__rich__ = viz.tensor_rich
nn.Module.__rich__ = viz.module_rich
nn.Module.summary = nn.summary = viz.summary
from .jit import jit  # noqa: E402  (capture and replay, opt-in: tinygrad_seq/jit.py)
