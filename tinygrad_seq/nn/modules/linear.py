"""torch.nn.modules.linear: Linear, Identity."""
from ..layers import Identity, Linear  # noqa: F401
