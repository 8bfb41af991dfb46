"""torch.nn.parameter: Parameter."""
from .module import Parameter  # noqa: F401
