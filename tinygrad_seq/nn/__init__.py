"""Neural-network building blocks with PyTorch's names, shapes and defaults.

``tg.nn.summary`` (and ``Module.summary``) is attached by ``tinygrad_seq/__init__.py`` from ``viz.py``:
the layers know no views.
"""
from . import functional, init, utils
from .layers import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, CTCLoss, Dropout, Embedding, L1Loss, Linear,
                     LogSoftmax, MSELoss, NLLLoss, ReLU, Sigmoid, Softmax, Tanh)
from .layers import GELU, Identity, LayerNorm, LeakyReLU
from .attention import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                        TransformerEncoder, TransformerEncoderLayer)
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .recurrent import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell, gru_step, lstm_step, rnn_step
from . import modules, parameter  # noqa: E402  (PyTorch's full paths: nn.modules.rnn.LSTM, nn.parameter.Parameter)
