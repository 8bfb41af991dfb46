"""The optimizer base: parameter groups, per-parameter state, state_dict round trips."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..nn.module import zero_grads
from ..tensor import Tensor, _mark_modified


class Optimizer:
    """Holds parameter groups (dicts with ``params`` and hyper-parameters) and per-parameter state.

    Subclasses implement ``_update(p, grad, state, group)``, which changes ``p.array``
    in place; ``step()`` calls it for every parameter that has a gradient.
    """

    def __init__(self, params: Iterable[Any], defaults: dict):
        self.defaults = dict(defaults)
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}          # id(param) -> state
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters (``{'params': [...], 'lr': ...}``); unset hyper-parameters take the defaults."""
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: can only optimize tensors that require grad")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyper-parameters {sorted(unknown)}")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        if group.get("lr", 0) < 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be non-negative, got {group['lr']}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``set_to_none=False``: zero them in place instead)."""
        zero_grads(self._params(), set_to_none)

    def step(self) -> None:
        """Update every parameter that has a gradient, in place (graphs that saved it can't backprop after)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(id(p), {})
                self._update(p, p.grad.array, state, group)
                _mark_modified(p)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    # -- saving and resuming ----------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [...]} with parameters as indices."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {str(index[pid]): {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for pid, s in self.state.items() if pid in index}
        groups = []
        for g in self.param_groups:
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": [index[id(p)] for p in g["params"]]})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state and hyper-parameters saved by ``state_dict()`` (same parameter groups)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved parameter groups do not match "
                             "this optimizer's")
        params = self._params()
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, (list, np.ndarray)) and k == "betas" else v
        self.state = {}
        for k, s in state_dict["state"].items():
            p = params[int(k)]
            self.state[id(p)] = {name: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) and v.ndim else
                                        (v.item() if isinstance(v, np.ndarray) else v))
                                 for name, v in s.items()}
