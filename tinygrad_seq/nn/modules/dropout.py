"""torch.nn.modules.dropout: Dropout."""
from ..layers import Dropout  # noqa: F401
