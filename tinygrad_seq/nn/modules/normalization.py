"""torch.nn.modules.normalization: LayerNorm."""
from ..layers import LayerNorm  # noqa: F401
