"""torch.nn.modules.container: Sequential, ModuleList, ModuleDict."""
from ..module import ModuleDict, ModuleList, Sequential  # noqa: F401
