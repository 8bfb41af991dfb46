"""PyTorch's module paths, for code that names classes by them (``torch.nn.modules.linear.Linear`` in a
``safe_globals`` list, say): ``tinygrad_seq.nn.modules.linear.Linear`` is ``tinygrad_seq.nn.Linear``."""
import sys
import types

from .. import attention, functional, layers, module, recurrent

_PATHS = {
    "activation": {"MultiheadAttention": attention.MultiheadAttention, "ReLU": layers.ReLU, "GELU": layers.GELU,
                   "Tanh": layers.Tanh, "Sigmoid": layers.Sigmoid, "LeakyReLU": layers.LeakyReLU,
                   "Softmax": layers.Softmax, "LogSoftmax": layers.LogSoftmax},
    "container": {"ModuleList": module.ModuleList, "ModuleDict": module.ModuleDict,
                  "Sequential": module.Sequential},
    "dropout": {"Dropout": layers.Dropout},
    "linear": {"Linear": layers.Linear, "Identity": layers.Identity,
               "NonDynamicallyQuantizableLinear": attention.NonDynamicallyQuantizableLinear},
    "module": {"Module": module.Module},
    "normalization": {"LayerNorm": layers.LayerNorm},
    "rnn": {"RNN": recurrent.RNN, "LSTM": recurrent.LSTM, "GRU": recurrent.GRU, "RNNCell": recurrent.RNNCell,
            "LSTMCell": recurrent.LSTMCell, "GRUCell": recurrent.GRUCell},
    "sparse": {"Embedding": layers.Embedding},
    "transformer": {n: getattr(attention, n) for n in ("Transformer", "TransformerEncoder", "TransformerDecoder",
                                                       "TransformerEncoderLayer", "TransformerDecoderLayer")},
}

for _name, _members in _PATHS.items():
    _m = types.ModuleType(f"{__name__}.{_name}", f"PyTorch's torch.nn.modules.{_name}, as tinygrad_seq's classes.")
    _m.__dict__.update(_members)
    sys.modules[_m.__name__] = _m
    globals()[_name] = _m
del _name, _members, _m
