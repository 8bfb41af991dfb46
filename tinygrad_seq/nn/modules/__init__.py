"""PyTorch's ``torch.nn.modules.*`` paths, for code that names classes by their full path.

``tinygrad_seq.nn.modules.rnn.LSTM`` is ``tinygrad_seq.nn.LSTM`` (the same class), and so on
for every class this package has: ``module``, ``container``, ``linear``, ``sparse``,
``dropout``, ``normalization``, ``activation``, ``loss``, ``rnn``.  PyTorch's other
submodules (``conv``, ``batchnorm``, ``transformer``, ...) have no counterpart here.
"""
from . import activation, container, dropout, linear, loss, module, normalization, rnn, sparse
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, CTCLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import LayerNorm
from .rnn import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell
from .sparse import Embedding

_HERE = ("activation", "container", "dropout", "linear", "loss", "module", "normalization", "rnn", "sparse")


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_seq.nn.modules has no '{name}': PyTorch's torch.nn.modules.{name} has no "
                         f"counterpart here (available: {', '.join(_HERE)}, and the classes they hold)")
