"""torch.nn.modules.loss: the losses as modules."""
from ..layers import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, CTCLoss, L1Loss, MSELoss, NLLLoss  # noqa: F401
