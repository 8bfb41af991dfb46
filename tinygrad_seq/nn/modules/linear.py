"""torch.nn.modules.linear: Linear, Identity."""
from ..layers import Identity, Linear  # noqa: F401
from ..attention import NonDynamicallyQuantizableLinear  # noqa: F401,E402
