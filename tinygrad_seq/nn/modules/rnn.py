"""torch.nn.modules.rnn: the recurrent layers and cells."""
from ..recurrent import GRU, GRUCell, LSTM, LSTMCell, RNN, RNNCell  # noqa: F401
