"""torch.nn.modules.sparse: Embedding."""
from ..layers import Embedding  # noqa: F401
