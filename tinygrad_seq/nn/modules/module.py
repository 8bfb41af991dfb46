"""torch.nn.modules.module: the base class."""
from ..module import Module, RemovableHandle  # noqa: F401
