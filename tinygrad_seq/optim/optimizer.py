"""The optimizer base: parameter groups, per-parameter state, state_dict round trips."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable

import numpy as np

from .._args import bool_arg, number_arg
from .._state import enable_grad, mark_modified
from ..functions import zero_grads
from ..tensor import Tensor


class Optimizer:
    """Holds parameter groups (dicts with ``params`` and hyper-parameters) and per-parameter state.

    A group may carry keys of its own (``'name'``, a scheduler's ``'initial_lr'``, ...): they are
    kept, saved by ``state_dict()`` and restored by ``load_state_dict()``, as in PyTorch.  A key
    that looks like a misspelt hyper-parameter (``'momentun'``) is refused, where PyTorch would
    silently ignore it.

    Subclasses implement ``_update(p, grad, state, group)``, which changes ``p.array``
    in place; ``step()`` calls it for every parameter that has a gradient.
    """

    # hyper-parameter -> (lowest, highest, whether the highest is allowed); subclasses extend it
    _limits: dict = {"lr": (0.0, float("inf"), True), "weight_decay": (0.0, float("inf"), True),
                     "eps": (0.0, float("inf"), True), "momentum": (0.0, float("inf"), True)}
    _flags: tuple = ()                         # hyper-parameters that must be booleans

    def __init__(self, params: Iterable[Any], defaults: dict):
        name = type(self).__name__
        self.defaults = dict(defaults)
        if isinstance(params, (Tensor, dict, str, bytes)) or not hasattr(params, "__iter__"):
            hint = " (pass model.parameters())" if hasattr(params, "parameters") else ""
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts (e.g. model.parameters()), "
                            f"got {type(params).__name__}{hint}")
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        dicts = [isinstance(p, dict) for p in params]
        if any(dicts) and not all(dicts):
            raise TypeError(f"{name}: params must be all Tensors or all dicts (parameter groups), not a mix")
        groups = params if all(dicts) else [{"params": params}]
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}          # id(param) -> state
        self._check(dict(self.defaults), "")
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters (``{'params': [...], 'lr': ...}``); unset hyper-parameters take the defaults."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' key, got "
                            f"{type(group).__name__}" + (f" with keys {sorted(group)}" if isinstance(group, dict) else ""))
        group = dict(group)
        ps = group["params"]
        if isinstance(ps, (dict, str, bytes)) or not (isinstance(ps, Tensor) or hasattr(ps, "__iter__")):
            raise TypeError(f"{name}: a group's 'params' must be a Tensor or an iterable of Tensors, got "
                            f"{type(ps).__name__}")
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        mine: set = set()
        for i, p in enumerate(group["params"]):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params must be Tensors, got {type(p).__name__} at position {i}")
            if not p.requires_grad:
                raise ValueError(f"{name}: can only optimize tensors that require grad; the parameter at position "
                                 f"{i} (shape {p.shape}) does not")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (the parameter at position {i}, shape "
                                 f"{p.shape}, was computed by '{p.grad_fn.name}'); optimize the leaf it came from")
            if id(p) in mine:
                raise ValueError(f"{name}: the parameter group has the same parameter twice (position {i}, "
                                 f"shape {p.shape}); each parameter must appear once")
            if id(p) in seen:
                raise ValueError(f"{name}: some parameters appear in more than one parameter group (position {i}, "
                                 f"shape {p.shape})")
            mine.add(id(p))
        self._refuse_typos(group, name)
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check(group, " in a parameter group")
        self.param_groups.append(group)

    def _refuse_typos(self, group: dict, name: str) -> None:
        """Refuse a key that is not a hyper-parameter but is spelt almost like one (other keys are the user's)."""
        known = list(self.defaults) + ["params", "initial_lr"]
        typos = {k: difflib.get_close_matches(k, known, 1, 0.8)[0] for k in group
                 if isinstance(k, str) and k not in known and difflib.get_close_matches(k, known, 1, 0.8)}
        if typos:
            hint = ", ".join(f"{k!r} (did you mean {v!r}?)" for k, v in sorted(typos.items()))
            raise TypeError(f"{name}: unknown hyper-parameters {sorted(typos)}: {hint}; PyTorch would keep such a "
                            f"key and silently ignore it (accepted: {sorted(self.defaults)})")

    def _check(self, group: dict, where: str = "") -> None:
        """Refuse hyper-parameters of the wrong type or outside their range (PyTorch's checks, and types)."""
        name = type(self).__name__
        for k, v in group.items():
            if k in self._flags:
                bool_arg(name, k, v)
            elif k in self._limits:
                lo, hi, hi_ok = self._limits[k]
                try:
                    number_arg(name, k, v, lo, hi, hi_ok=hi_ok)
                except ValueError as e:
                    raise ValueError(f"{e}{where}" + (f" (Invalid learning rate: {v})" if k == "lr" else "")) from None

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``set_to_none=False``: zero them in place instead)."""
        bool_arg(f"{type(self).__name__}.zero_grad", "set_to_none", set_to_none)
        zero_grads(self._params(), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place (graphs that saved it can't backprop after).

        ``closure`` (optional, as PyTorch's): a function that clears the gradients, recomputes the
        loss, calls ``backward()`` and returns the loss; it is called first, with gradients enabled,
        and its loss is returned (None without a closure).
        """
        loss = None
        if closure is not None:
            if not callable(closure):
                raise TypeError(f"{type(self).__name__}.step: closure must be callable (a function that "
                                f"recomputes the loss), got {type(closure).__name__}")
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:
                    raise RuntimeError(f"{type(self).__name__}.step: the gradient of a parameter of shape {p.shape} "
                                       f"has shape {p.grad.shape} (was .grad assigned by hand?)")
                state = self.state.setdefault(id(p), {})
                self._update(p, p.grad.array, state, group)
                mark_modified(p)
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    # -- saving and resuming ----------------------------------------------------
    def _params(self) -> list[Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [...]} with parameters as indices.

        Each group keeps all its keys (hyper-parameters and any of the user's, such as ``'name'``)."""
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
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            got = f"a dict with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else \
                type(state_dict).__name__
            raise ValueError(f"{name}: state_dict must be a dict with keys 'state' and 'param_groups' (what "
                             f"Optimizer.state_dict() returns), got {got}")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) and "params" in g for g in groups):
            raise ValueError(f"{name}: 'param_groups' must be a list of dicts with a 'params' key, got {groups!r}"[:300])
        if not isinstance(saved_state, dict):
            raise ValueError(f"{name}: 'state' must be a dict {{parameter index: state}}, got "
                             f"{type(saved_state).__name__}")
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ValueError(f"{name}: the saved parameter groups (sizes {[len(g['params']) for g in groups]}) do not "
                             f"match this optimizer's (sizes {[len(g['params']) for g in self.param_groups]})")
        params = self._params()
        new_state: dict = {}
        for k, st in saved_state.items():
            try:
                i = int(k)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: state key {k!r} is not a parameter index") from None
            if not 0 <= i < len(params):
                raise ValueError(f"{name}: state key {k!r} is not a parameter index in [0, {len(params)})")
            if not isinstance(st, dict):
                raise ValueError(f"{name}: the state of parameter {k} must be a dict, got {type(st).__name__}")
            p = params[i]
            entry = {}
            for sname, v in st.items():
                if isinstance(v, np.ndarray) and v.ndim:
                    if v.shape != p.shape:
                        raise ValueError(f"{name}: size mismatch for state[{k!r}][{sname!r}]: the checkpoint has shape "
                                         f"{v.shape}, the parameter has shape {p.shape}")
                    entry[sname] = np.array(v, dtype=p.dtype)
                else:
                    entry[sname] = v.item() if isinstance(v, np.ndarray) else v
            new_state[id(p)] = entry
        for saved, group in zip(groups, self.param_groups):
            extra = {k: (tuple(v) if isinstance(v, (list, np.ndarray)) and k == "betas" else v)
                     for k, v in saved.items() if k != "params"}
            self._check(dict(extra), " in the saved state_dict")
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, (list, np.ndarray)) and k == "betas" else v
        self.state = new_state
