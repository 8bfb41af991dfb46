"""Learning-rate schedulers, chainable as PyTorch's (``StepLR``, ``MultiStepLR``, ``ExponentialLR``,
``CosineAnnealingLR``, ``LambdaLR``, ``MultiplicativeLR``, ``ConstantLR``, ``LinearLR``, ``ReduceLROnPlateau``).

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``.  Each step
*scales the optimizer's current learning rate* (PyTorch's recursive ``get_lr``):
a learning rate set by hand (``group["lr"] = ...``) is respected from then on,
and two schedulers on one optimizer compose (``StepLR`` and ``ExponentialLR``
together multiply by both factors).  ``step(epoch)`` (deprecated in PyTorch, with
its warning) jumps to the closed form computed from ``base_lrs`` instead.
"""
from __future__ import annotations

import bisect
import math
import types
import warnings
from collections import Counter
from typing import Any

from .._args import int_arg, number_arg
from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. Please "
    "use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. Please open an issue if you are "
    "unable to replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose.")


def _check_optimizer(cls: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{cls}: optimizer must be an Optimizer (tg.optim.SGD, Adam, ...), "
                        f"got {type(optimizer).__name__}")


class LRScheduler:
    """Base class of the schedulers: holds the optimizer, ``base_lrs`` and the epoch counter.

    Args:
        optimizer: the optimizer whose ``param_groups[i]["lr"]`` this scheduler sets.
        last_epoch: the index of the last epoch seen.  ``-1`` (default) starts a new
            schedule: each group's ``initial_lr`` is set to its current ``lr`` (unless
            the group already has one) and becomes ``base_lrs``.  A value ``>= 0``
            resumes a schedule and needs ``initial_lr`` in every group (KeyError
            otherwise), as when the optimizer's state_dict was loaded first.

    Creating a scheduler performs one initial ``step()`` (``last_epoch`` becomes
    ``last_epoch + 1``, 0 for a new schedule) that leaves the learning rates as
    they are for a new schedule.  Subclasses define ``get_lr()``: the next
    learning rates from the optimizer's *current* ones (the chainable form),
    and ``_get_closed_form_lr()``: the learning rates at ``last_epoch`` from
    ``base_lrs`` (used by the deprecated ``step(epoch)``).
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        int_arg(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                                   f"a scheduler with last_epoch={last_epoch} >= 0 (load the optimizer's "
                                   "state_dict first, or start a new schedule with last_epoch=-1)")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self) -> None:
        """Initialise the step count and take the first step (the learning rates of a new schedule stay)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The next learning rate of each parameter group, computed from the current ones (chainable form).

        Called by ``step()``; to read the learning rates in use, call ``get_last_lr()``.
        """
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` left in the optimizer's parameter groups (a new list)."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _warn_get_lr_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=3)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch: ``last_epoch += 1`` and set each group's ``lr`` to ``get_lr()``.

        ``epoch`` (deprecated in PyTorch, with the same warning): set ``last_epoch = epoch``
        and use the closed form from ``base_lrs``.  Call after ``optimizer.step()``.
        """
        self._step_count += 1
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
                self.last_epoch = int_arg(f"{type(self).__name__}.step", "epoch", epoch, None)
                values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (``base_lrs``, ``last_epoch``, the settings, ...), as PyTorch's."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict()`` returned (learning rates in the optimizer are not touched)."""
        name = type(self).__name__
        if not isinstance(state, dict) or not {"base_lrs", "last_epoch"} <= set(state):
            raise ValueError(f"{name}.load_state_dict: state must be a dict with 'base_lrs' and "
                             f"'last_epoch' (what state_dict() returns), got {type(state).__name__}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(state['base_lrs'])} "
                             f"learning rates, the optimizer {len(self.optimizer.param_groups)} parameter groups")
        self.__dict__.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in state.items()})


class _LRScheduler(LRScheduler):
    """PyTorch's old name of the base class, kept for code that subclasses it."""


class StepLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` every ``step_size`` epochs.

    Chainable: at epochs ``step_size, 2 step_size, ...`` the *current* lr is scaled by
    ``gamma``; on its own that is ``lr = base_lr * gamma ** (epoch // step_size)``.

    Args: ``optimizer``, ``step_size`` (int >= 1), ``gamma`` (default 0.1), ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        int_arg("StepLR", "step_size", step_size, 1)
        number_arg("StepLR", "gamma", gamma, 0.0)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current lrs times ``gamma`` when ``last_epoch`` is a non-zero multiple of ``step_size``."""
        self._warn_get_lr_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` every epoch: alone, ``lr = base_lr * gamma ** epoch``.

    Args: ``optimizer``, ``gamma``, ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        number_arg("ExponentialLR", "gamma", gamma, 0.0)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current lrs times ``gamma`` (unchanged by the initial step of the constructor)."""
        self._warn_get_lr_outside_step()
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs (no restarts).

    Chainable, as PyTorch: each step scales the current lr's distance to ``eta_min``,

        lr_{t} = eta_min + (lr_{t-1} - eta_min) (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max)),

    which on its own follows the closed form
    ``lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2``; past ``T_max``
    the lr rises again along the same cosine (period ``2 T_max``).

    Args: ``optimizer``, ``T_max`` (int >= 1), ``eta_min`` (default 0), ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        int_arg("CosineAnnealingLR", "T_max", T_max, 1)
        number_arg("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The recursive form above (PyTorch's, branch for branch)."""
        self._warn_get_lr_outside_step()
        groups, T, e = self.optimizer.param_groups, self.T_max, self.last_epoch
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and e > 0:
            return [self.eta_min + (base - self.eta_min) * (1 + math.cos(e * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:          # the bottom of the cosine: add back its first rise
            return [g["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, g in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (g["lr"] - self.eta_min)
                + self.eta_min for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` at each epoch in ``milestones`` (a milestone listed
    k times multiplies by ``gamma ** k``); alone, ``lr = base_lr * gamma ** (milestones passed)``.

    Args: ``optimizer``, ``milestones`` (epoch numbers), ``gamma`` (default 0.1), ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, milestones: Any, gamma: float = 0.1, last_epoch: int = -1):
        ms = list(milestones)
        for m in ms:
            int_arg("MultiStepLR", "milestones", m, None)
        number_arg("MultiStepLR", "gamma", gamma, 0.0)
        self.milestones, self.gamma = Counter(int(m) for m in ms), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current lrs times ``gamma ** (times last_epoch is listed in milestones)``."""
        self._warn_get_lr_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        ms = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect.bisect_right(ms, self.last_epoch) for base_lr in self.base_lrs]


def _lambdas(cls: str, optimizer: Any, lr_lambda: Any) -> list:
    n = len(optimizer.param_groups)
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise ValueError(f"{cls}: expected {n} lr_lambdas (one per parameter group), but got {len(fns)}")
    for f in fns:
        if not callable(f):
            raise TypeError(f"{cls}: lr_lambda must be a function of the epoch, got {type(f).__name__}")
    return fns


class _LambdaState:
    """state_dict without the functions (PyTorch saves a callable object's ``__dict__``, not a plain function)."""

    def state_dict(self) -> dict:
        state = {k: v for k, v in LRScheduler.state_dict(self).items() if k != "lr_lambdas"}   # type: ignore
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else dict(f.__dict__)
                               for f in self.lr_lambdas]                                    # type: ignore
        return state

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))                    # type: ignore
        LRScheduler.load_state_dict(self, state)                                            # type: ignore
        for f, d in zip(self.lr_lambdas, saved):                                            # type: ignore
            if d is not None:
                f.__dict__.update(d)


class LambdaLR(_LambdaState, LRScheduler):
    """Set each group's learning rate to ``base_lr * lr_lambda(epoch)`` (one function, or one per group).

    Not chainable, as in PyTorch: it always starts from ``base_lrs``.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1):
        _check_optimizer("LambdaLR", optimizer)
        self.lr_lambdas = _lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``base_lr * lr_lambda(last_epoch)`` for each group."""
        self._warn_get_lr_outside_step()
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """Multiply each group's current learning rate by ``lr_lambda(epoch)`` every epoch after the first."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1):
        _check_optimizer("MultiplicativeLR", optimizer)
        self.lr_lambdas = _lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The current lrs times ``lr_lambda(last_epoch)`` (unchanged at epoch 0)."""
        self._warn_get_lr_outside_step()
        if self.last_epoch > 0:
            return [group["lr"] * f(self.last_epoch) for f, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
        return self._current_lrs()


class ConstantLR(LRScheduler):
    """Multiply the learning rates by ``factor`` (in [0, 1]) until epoch ``total_iters``, then restore them.

    Args: ``optimizer``, ``factor`` (default 1/3), ``total_iters`` (default 5), ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        number_arg("ConstantLR", "factor", factor, 0.0, 1.0)
        int_arg("ConstantLR", "total_iters", total_iters, 0)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``lr * factor`` at epoch 0, ``lr / factor`` at ``total_iters``, the current lrs otherwise."""
        self._warn_get_lr_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rates linearly from ``start_factor`` to ``end_factor`` times ``base_lr`` over
    ``total_iters`` epochs (a warm-up), then keep them.

    Args: ``optimizer``, ``start_factor`` (in (0, 1], default 1/3), ``end_factor`` (in [0, 1], default 1),
    ``total_iters`` (default 5), ``last_epoch`` (default -1).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        number_arg("LinearLR", "start_factor", start_factor, 0.0, 1.0, lo_ok=False)
        number_arg("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        int_arg("LinearLR", "total_iters", total_iters, 1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive form: each epoch scales the current lrs by the ratio of consecutive factors."""
        self._warn_get_lr_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self.last_epoch > self.total_iters:
            return self._current_lrs()
        d = self.end_factor - self.start_factor
        ratio = 1.0 + d / (self.total_iters * self.start_factor + (self.last_epoch - 1) * d)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters) for base_lr in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rates by ``factor`` when a metric has stopped improving.

    ``scheduler.step(metric)`` once per epoch (a number or a 0-d tensor, e.g. the
    validation loss).  A value is an improvement when it beats the best so far by
    the threshold: ``mode='min'`` with ``threshold_mode='rel'`` means
    ``metric < best * (1 - threshold)``, ``'abs'`` means ``metric < best - threshold``
    (``'max'``: ``> best * (1 + threshold)`` / ``> best + threshold``).  After more
    than ``patience`` epochs without improvement each group's lr becomes
    ``max(lr * factor, min_lr)`` (skipped if that changes it by no more than
    ``eps``), and the next ``cooldown`` epochs count no bad epochs.

    Args: ``optimizer``, ``mode='min'``, ``factor=0.1`` (in [0, 1)), ``patience=10``,
    ``threshold=1e-4``, ``threshold_mode='rel'``, ``cooldown=0``, ``min_lr=0`` (a number,
    or one per parameter group), ``eps=1e-8``.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: Any = 0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        _check_optimizer(name, optimizer)
        number_arg(name, "factor", factor, 0.0, 1.0, hi_ok=False)
        int_arg(name, "patience", patience, 0)
        number_arg(name, "threshold", threshold)
        int_arg(name, "cooldown", cooldown, 0)
        number_arg(name, "eps", eps, 0.0)
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"{name}: expected {len(optimizer.param_groups)} min_lrs (one per parameter "
                                 f"group), got {len(min_lr)}")
            for v in min_lr:
                number_arg(name, "min_lr", v, 0.0)
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            number_arg(name, "min_lr", min_lr, 0.0)
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self) -> None:
        """Forget the best value, the bad-epoch count and the cooldown."""
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def get_lr(self) -> list[float]:
        """The learning rates in use (this scheduler changes them only in ``step(metric)``)."""
        return self._current_lrs()

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record one epoch's metric; reduce the learning rates after ``patience`` bad epochs."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number or a one-element tensor, got "
                            f"{type(metrics).__name__}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0               # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups, "
                                   f"{len(self.min_lrs)} when the scheduler was created (a group was added?); "
                                   "set the scheduler's min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is in its cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict()`` returned."""
        if not isinstance(state, dict) or not {"mode", "threshold", "threshold_mode", "best"} <= set(state):
            raise ValueError("ReduceLROnPlateau.load_state_dict: state must be a dict with 'mode', 'threshold', "
                             f"'threshold_mode' and 'best' (what state_dict() returns), got {type(state).__name__}")
        self.__dict__.update({k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in state.items()})
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
