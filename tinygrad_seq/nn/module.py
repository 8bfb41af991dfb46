"""Parameter, Module and the containers (Sequential, ModuleList, ModuleDict).

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to it as
an attribute, so ``named_parameters()`` can list them with dotted names
(``rnn.weight_ih_l0``) and ``state_dict()`` / ``load_state_dict()`` can move
their values in and out, as in PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np

from ..tensor import Tensor, _check_grad_dtype, _mark_modified, no_grad


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """``p.grad = None`` for each parameter, or zero its gradient in place (modules and optimizers share this)."""
    for p in params:
        if set_to_none:
            p.grad = None
        elif p.grad is not None:
            with no_grad():
                p.grad.zero_()


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: it always requires grad."""

    __slots__ = ("_name",)          # the attribute name it was first registered under (for error messages)

    def __init__(self, data: Any = (), requires_grad: bool = True, dtype: Any = None):
        if isinstance(data, Tensor) and dtype is None:
            dtype = data.dtype
        elif isinstance(data, np.ndarray) and dtype is None:
            dtype = data.dtype          # an integer array stays integer, and so cannot be a trainable parameter
        super().__init__(data, requires_grad=False, dtype=dtype)
        if requires_grad:
            _check_grad_dtype(self.array.dtype, "Parameter")
        self.requires_grad = bool(requires_grad)
        self._name = None

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model: subclass it and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Parameter):
            if value._name is None:
                value._name = name
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: "Module") -> None:
        setattr(self, name, module)

    # -- calling ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- traversal --------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        stack = [(prefix, self)]
        while stack:                       # iterative pre-order, children in order
            name, mod = stack.pop()
            yield name, mod
            for child_name, child in reversed(mod._modules.items()):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    # -- modes and gradients ----------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: zero them in place instead)."""
        zero_grads(self.parameters(), set_to_none)

    # -- state ------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Every parameter's values by dotted name (copies, safe to keep while training goes on)."""
        return OrderedDict((name, p.array.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters by name; with ``strict`` every name must match exactly."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, p in own.items():
            if k in state_dict:
                v = np.asarray(state_dict[k].array if isinstance(state_dict[k], Tensor) else state_dict[k])
                if v.shape != p.shape:
                    mismatched.append(f"{k}: expected shape {p.shape}, got {v.shape}")
        problems = []
        if mismatched:
            problems.append("shape mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        for k, p in own.items():
            if k in state_dict:
                v = state_dict[k]
                p.array[...] = np.asarray(v.array if isinstance(v, Tensor) else v, dtype=p.dtype)
                _mark_modified(p)
        return IncompatibleKeys(missing, unexpected)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -- dtype ------------------------------------------------------------------
    def to(self, dtype: Any) -> "Module":
        """Convert every parameter to ``dtype`` in place (e.g. ``np.float64`` for gradcheck)."""
        for p in self.parameters():
            p.array = p.array.astype(dtype)
            p.grad = None
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # -- printing ---------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ")" if not lines else head + "\n" + "\n".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules whose parameters are registered (``layers.0.weight``...)."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(Linear(4, 8), Tanh(), Linear(8, 2))``."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys."""

    def __init__(self, modules: dict | None = None):
        super().__init__()
        for k, m in (modules or {}).items():
            self[k] = m

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
