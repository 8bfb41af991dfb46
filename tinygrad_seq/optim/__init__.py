"""Optimizers and learning-rate schedulers with PyTorch's update rules and defaults."""
from . import lr_scheduler
from .optimizer import Optimizer
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
