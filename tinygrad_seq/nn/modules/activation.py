"""torch.nn.modules.activation: the activations as modules."""
from ..layers import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh  # noqa: F401
from ..attention import MultiheadAttention  # noqa: F401,E402
