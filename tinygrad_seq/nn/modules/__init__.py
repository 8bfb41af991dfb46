"""PyTorch's ``torch.nn.modules.*`` paths, for code that names classes by their full path.

``tinygrad_seq.nn.modules.rnn.LSTM`` is ``tinygrad_seq.nn.LSTM`` (the same class), and so on
for every class this package has: ``module``, ``container``, ``linear``, ``sparse``,
``dropout``, ``normalization``, ``activation``, ``loss``, ``rnn``, ``transformer``.  PyTorch's other
submodules (``conv``, ``batchnorm``, ...) have no counterpart here.
"""
from . import activation, container, dropout, linear, loss, module, normalization, rnn, sparse, transformer
from .activation import GELU, LeakyReLU, LogSoftmax, MultiheadAttention, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .linear import Identity, Linear, NonDynamicallyQuantizableLinear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, CTCLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import LayerNorm
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell
from .sparse import Embedding
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

_HERE = ("activation", "container", "dropout", "linear", "loss", "module", "normalization", "rnn", "sparse", "transformer")


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_seq.nn.modules has no '{name}': PyTorch's torch.nn.modules.{name} has no "
                         f"counterpart here (available: {', '.join(_HERE)}, and the classes they hold)")
