"""Learning-rate schedules (closed forms of PyTorch's StepLR, ExponentialLR, CosineAnnealingLR).

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``.
"""
from __future__ import annotations

import math
from typing import Any

from .._args import int_arg, number_arg
from .optimizer import Optimizer


def _number(cls: str, name: str, v: Any, lo: float) -> None:
    number_arg(cls, name, v, lo)


def _positive_int(cls: str, name: str, v: Any) -> None:
    int_arg(cls, name, v, 1)


class LRScheduler:
    """The base of the schedulers: ``step()`` sets every group's lr to ``lr_at(base_lr, epoch)``.

    A subclass defines ``lr_at`` (a closed form of the epoch), so a schedule
    can be resumed from its ``state_dict()`` alone.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer must be an Optimizer (tg.optim.SGD, Adam, ...), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_epoch = 0

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at ``epoch`` for a group that started at ``base_lr``."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate of every parameter group now (PyTorch's name)."""
        return [g["lr"] for g in self.optimizer.param_groups]

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate (call after ``optimizer.step()``)."""
        self.last_epoch += 1
        for g, base in zip(self.optimizer.param_groups, self.base_lrs):
            g["lr"] = self.lr_at(base, self.last_epoch)

    def state_dict(self) -> dict:
        """The schedule's state (everything but the optimizer), for ``load_state_dict``."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict()`` returned; a state of another shape raises ``ValueError``."""
        if not isinstance(state, dict) or not {"base_lrs", "last_epoch"} <= set(state):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state must be a dict with 'base_lrs' and "
                             f"'last_epoch' (what state_dict() returns), got {type(state).__name__}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has {len(state['base_lrs'])} "
                             f"learning rates, the optimizer {len(self.optimizer.param_groups)} parameter groups")
        self.__dict__.update({k: (list(v) if k == "base_lrs" else v) for k, v in state.items()})


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)"""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        _positive_int("StepLR", "step_size", step_size)
        _number("StepLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch"""

    def __init__(self, optimizer: Optimizer, gamma: float):
        _number("ExponentialLR", "gamma", gamma, 0.0)
        super().__init__(optimizer)
        self.gamma = gamma

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2"""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        _positive_int("CosineAnnealingLR", "T_max", T_max)
        _number("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
