"""tinygrad_seq: a small autograd engine on numpy, and the sequence models built from it.

    import tinygrad_seq as tg
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([2., 4.])
"""
from .tensor import (Tensor, ShapeError, no_grad, enable_grad, is_grad_enabled,
                     set_default_dtype, get_default_dtype, manual_seed)
from .factories import (zeros, ones, full, zeros_like, ones_like, randn, rand, randint, arange, eye,
                        tensor)
from .ops import (add, sub, mul, div, neg, pow, matmul, exp, log, sqrt, abs, tanh, sigmoid, relu,
                  leaky_relu, softplus, maximum, minimum, clip, clamp, where, logsumexp, softmax,
                  log_softmax, cat, concatenate, stack, split, chunk, flatten, squeeze, unsqueeze,
                  expand, broadcast_to, reshape, transpose, permute, pad, dropout, one_hot)
from .gradcheck import gradcheck, GradcheckError

__version__ = "0.1.0"

from . import nn, optim, reference  # noqa: E402
from . import utils  # noqa: E402
from .serialization import save, load, CheckpointError  # noqa: E402
