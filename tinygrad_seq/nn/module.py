"""Parameter, Module and the containers (Sequential, ModuleList, ModuleDict).

A ``Module`` registers every ``Parameter`` and sub-``Module`` assigned to it as
an attribute, and every buffer given to ``register_buffer``, so
``named_parameters()`` can list them with dotted names (``rnn.weight_ih_l0``)
and ``state_dict()`` / ``load_state_dict()`` can move their values in and out,
as in PyTorch.  Forward hooks and pre-hooks run around ``forward`` when the
module is called.
"""
from __future__ import annotations

import itertools
import warnings
import weakref
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, NamedTuple

import numpy as np

from ..functions import cat
from .._args import bool_arg, check_device, check_grad_dtype
from .._state import is_grad_enabled, mark_modified
from ..functions import zero_grads
from ..tensor import Tensor, device, no_grad


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: it always requires grad."""

    __slots__ = ("_name",)          # the attribute name it was first registered under (for error messages)

    def __init__(self, data: Any = (), requires_grad: bool = True, dtype: Any = None):
        if isinstance(data, Tensor) and dtype is None:
            dtype = data.dtype
        elif isinstance(data, np.ndarray) and dtype is None:
            dtype = data.dtype          # an integer array stays integer, and so cannot be a trainable parameter
        super().__init__(data, requires_grad=False, dtype=dtype)
        if requires_grad is not False and requires_grad is not True:
            bool_arg("Parameter", "requires_grad", requires_grad)
        if requires_grad:
            check_grad_dtype(self.array.dtype, "Parameter")
        self.requires_grad = bool(requires_grad)
        self._name = None

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _callable_hook(op: str, hook: Any) -> None:
    if not callable(hook):
        raise TypeError(f"{op}: hook must be callable, got {type(hook).__name__}")


class StateDictError(RuntimeError, KeyError):
    """``load_state_dict`` refused the values: PyTorch's RuntimeError (also a KeyError, as it was here before)."""

    __str__ = RuntimeError.__str__


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class RemovableHandle:
    """Returned by ``register_forward_hook`` and friends: ``handle.remove()`` unregisters the hook.

    Also a context manager that removes the hook on exit.
    """

    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict, extra_dicts: tuple = ()):
        self.id = next(RemovableHandle._next_id)
        self._refs = tuple(weakref.ref(d) for d in (hooks_dict,) + tuple(extra_dicts))

    def remove(self) -> None:
        """Unregister the hook (doing it twice is harmless)."""
        for ref in self._refs:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class _HookDict(OrderedDict):
    """An ordered dict that can be weakly referenced (by the handles)."""


class _FullBackwardHooks:
    """One call's wiring of ``register_full_backward_hook`` (PyTorch's BackwardHook), from tensor hooks only.

    The call's positional tensor inputs that require grad are routed through one concatenation
    (``flat_in``) and sliced back, so one tensor hook sees all their gradients at once: that is
    ``grad_input``, and what the module's hooks return replaces it.  The outputs are routed the
    same way (``flat_out``), whose hook sees ``grad_output`` before the module's own backward runs.
    """

    def __init__(self, module: "Module", hooks: list, pre_hooks: list):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs, self.in_index, self.in_shapes = 0, None, ()
        self.nondiff_inputs: list = []

    @staticmethod
    def _route(op: str, tensors: list) -> tuple:
        dtypes = {t.dtype for t in tensors}
        if len(dtypes) > 1:
            raise NotImplementedError(f"{op}: the module's tensors that require grad have different dtypes "
                                      f"{sorted(map(str, dtypes))}; full backward hooks need one dtype")
        flat = cat([t.reshape(-1) for t in tensors])
        pieces, start = [], 0
        for t in tensors:
            n = t.numel()
            pieces.append(flat[start:start + n].reshape(t.shape))
            start += n
        return flat, pieces

    @staticmethod
    def _split(g: Tensor, shapes: tuple) -> list:
        out, start = [], 0
        for shape in shapes:
            n = int(np.prod(shape, dtype=np.int64))
            out.append(Tensor._wrap(g.array[start:start + n].reshape(shape)))
            start += n
        return out

    @staticmethod
    def _join(values: tuple, shapes: tuple, like: Tensor, what: str) -> Tensor:
        parts = []
        for i, (v, shape) in enumerate(zip(values, shapes)):
            if v is None:
                parts.append(np.zeros(int(np.prod(shape, dtype=np.int64)), like.dtype))
                continue
            a = v.array if isinstance(v, Tensor) else np.asarray(v)
            if a.shape != tuple(shape):
                raise RuntimeError(f"full backward hook: the {what} it returned at position {i} has shape {a.shape}, "
                                   f"the tensor has shape {tuple(shape)}")
            parts.append(a.reshape(-1).astype(like.dtype, copy=False))
        return Tensor._wrap(np.concatenate(parts) if parts else np.zeros(0, like.dtype))

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.nondiff_inputs = [(i, a.shape, a.dtype) for i, a in enumerate(args)
                               if isinstance(a, Tensor) and not a.requires_grad]
        if not idx:
            return args
        flat, pieces = self._route("register_full_backward_hook", [args[i] for i in idx])
        self.in_index, self.in_shapes = idx, tuple(args[i].shape for i in idx)
        flat.register_hook(self._on_input_grad)
        new = list(args)
        for i, piece in zip(idx, pieces):
            new[i] = piece
        return tuple(new)

    def _on_input_grad(self, g: Tensor) -> Tensor | None:
        if self.grad_outputs is None:          # the gradient reached the inputs without passing the outputs
            return None
        grad_input: list = [None] * self.n_inputs
        for i, gi in zip(self.in_index, self._split(g, self.in_shapes)):
            grad_input[i] = gi
        for i, shape, dtype in self.nondiff_inputs:    # PyTorch passes zeros for a tensor input needing no grad
            grad_input[i] = Tensor._wrap(np.zeros(shape, dtype))
        res, replaced = tuple(grad_input), False
        for hook in list(self.hooks):
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if not isinstance(out, (tuple, list)) or len(out) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got "
                                   f"{len(out) if isinstance(out, (tuple, list)) else type(out).__name__}, "
                                   f"but expected {len(res)}")
            res, replaced = tuple(out), True
        self.grad_outputs = None
        if not replaced:
            return None
        return self._join(tuple(res[i] for i in self.in_index), self.in_shapes, g, "grad_input")

    def setup_outputs(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        items = list(result) if is_tuple else [result]
        idx = [i for i, a in enumerate(items) if isinstance(a, Tensor) and a.requires_grad]
        if not idx:
            return result
        flat, pieces = self._route("register_full_backward_hook", [items[i] for i in idx])
        reached = [False] * len(idx)
        for k, piece in enumerate(pieces):
            def mark(g: Tensor, k: int = k) -> None:
                reached[k] = True
            piece.register_hook(mark)
            items[idx[k]] = piece
        shapes, n = tuple(items[i].shape for i in idx), len(items)

        def on_output_grad(g: Tensor) -> Tensor | None:
            grad_outputs: list = [None] * n
            for k, (i, go) in enumerate(zip(idx, self._split(g, shapes))):
                grad_outputs[i] = go if reached[k] else None
                reached[k] = False
            res, replaced = tuple(grad_outputs), False
            for pre in list(self.pre_hooks):
                out = pre(self.module, res)
                if out is None:
                    continue
                if not isinstance(out, (tuple, list)) or len(out) != len(res):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got "
                                       f"{len(out) if isinstance(out, (tuple, list)) else type(out).__name__}, "
                                       f"but expected {len(res)}")
                res, replaced = tuple(out), True
            self.grad_outputs = res
            if self.in_index is None and self.hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients.", UserWarning, stacklevel=2)
                none = (None,) * self.n_inputs
                for hook in list(self.hooks):
                    out = hook(self.module, none, res)
                    if out is not None and not (isinstance(out, tuple) and all(v is None for v in out)):
                        raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                           "always return None or None for all gradients.")
                self.grad_outputs = None
            if not replaced:
                return None
            return self._join(tuple(res[i] for i in idx), shapes, g, "grad_output")

        flat.register_hook(on_output_grad)
        if not is_tuple:
            return items[0]
        return tuple(items) if type(result) is tuple else type(result)(*items)


class Module:
    """Base class of every layer and model: subclass it and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", _HookDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", _HookDict())
        object.__setattr__(self, "_forward_pre_hooks", _HookDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", _HookDict())
        object.__setattr__(self, "_backward_hooks", _HookDict())
        object.__setattr__(self, "_backward_pre_hooks", _HookDict())
        object.__setattr__(self, "training", True)

    # -- registration ---------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
            return
        if value is not None and (params.get(name) is value or modules.get(name) is value):
            return                    # the same object again (``m.weight -= x`` in place): keep its place
        if name in params and value is not None and not isinstance(value, Tensor):
            raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' (Parameter or None expected)")
        if name in modules and value is not None and not isinstance(value, Module):
            raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)")
        params.pop(name, None)
        modules.pop(name, None)
        if buffers is not None and name in buffers:
            del buffers[name]
            self.__dict__["_non_persistent_buffers_set"].discard(name)
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
        if "_buffers" in d and name in d["_buffers"]:
            return d["_buffers"][name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self.__dict__.get("_buffers", ()):
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` records an absent parameter, e.g. a disabled bias)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_parameter: name must be a non-empty string without '.', got {name!r}")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        elif not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(Parameter or None required; wrap a tensor as nn.Parameter(t))")
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: "Module") -> None:
        """Register ``module`` as a child under ``name`` (like assigning an attribute)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: name must be a non-empty string without '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass (module '{name}')")
        setattr(self, name, module)

    register_module = add_module

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (running statistics, masks...).

        Buffers are attributes (``self.name``), listed by ``named_buffers()``,
        converted by ``to()``/``double()``, and saved in ``state_dict()`` unless
        ``persistent=False``.  ``tensor`` may be None (registered, but not saved).
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if (name in self.__dict__ or name in self._parameters or name in self._modules) \
                and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    # -- hooks --------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before every ``forward``; returns a handle with ``.remove()``.

        The hook may return None (inputs unchanged) or new positional inputs (a
        tuple, or a single value that is wrapped into one).  With
        ``with_kwargs=True`` it is called as ``hook(module, args, kwargs)`` and may
        return None or a tuple ``(args, kwargs)``.
        """
        _callable_hook("register_forward_pre_hook", hook)
        handle = RemovableHandle(self._forward_pre_hooks, (self._forward_pre_hooks_with_kwargs,))
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every ``forward``; returns a handle with ``.remove()``.

        ``args`` are the positional inputs (after any pre-hooks); if the hook
        returns something other than None, that replaces the output.  With
        ``with_kwargs=True`` it is called as ``hook(module, args, kwargs, output)``.
        """
        _callable_hook("register_forward_hook", hook)
        handle = RemovableHandle(self._forward_hooks, (self._forward_hooks_with_kwargs,))
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` in backward, as PyTorch's; returns a handle.

        ``grad_input`` holds the gradients with respect to the module's positional inputs (None
        for an input that is not a tensor or needs no grad), ``grad_output`` those with respect to
        its outputs (a tensor output, or the tensors of a tuple output; None for one that received
        no gradient).  The hook runs once all gradients with respect to the inputs are known, and
        may return a new ``grad_input`` tuple (same length) that replaces them.  If no input needs
        grad it runs, with a warning, when the output gradients are known (and must return None).
        Built from tensor hooks: with hooks registered, the inputs and outputs pass through one
        concatenation each.
        """
        _callable_hook("register_full_backward_hook", hook)
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the outputs are known;
        it may return a new ``grad_output`` tuple that replaces them (PyTorch's)."""
        _callable_hook("register_full_backward_pre_hook", hook)
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    # -- calling ----------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What the module computes; subclasses define it.  Call the module, not ``forward``, so hooks run."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        pre, post = d.get("_forward_pre_hooks"), d.get("_forward_hooks")
        backward = d.get("_backward_hooks") or d.get("_backward_pre_hooks")
        if not pre and not post and not backward:
            return self.forward(*args, **kwargs)
        for hid, hook in list(pre.items()):
            if hid in d["_forward_pre_hooks_with_kwargs"]:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook with kwargs must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {res}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        wiring = None
        if backward and is_grad_enabled():
            wiring = _FullBackwardHooks(self, list(d["_backward_hooks"].values()),
                                        list(d["_backward_pre_hooks"].values()))
            args = wiring.setup_inputs(args)
        output = self.forward(*args, **kwargs)
        for hid, hook in list(post.items()):
            if hid in d["_forward_hooks_with_kwargs"]:
                res = hook(self, args, kwargs, output)
            else:
                res = hook(self, args, output)
            if res is not None:
                output = res
        return output if wiring is None else wiring.setup_outputs(output)

    # -- traversal --------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Every module in the tree, pre-order, with its dotted name (this one as ``prefix``, "" by default).

        A module reached twice (shared between parents) is listed once, under its
        first name, unless ``remove_duplicate=False``.
        """
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        """Every module in the tree (this one first), each once."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct sub-modules with their attribute names (a module held twice is listed once)."""
        memo: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules, each once."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool) -> Iterator:
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for mod_name, mod in mods:
            for name, v in mod.__dict__[kind].items():
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mod_name}.{name}" if mod_name else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a shared (tied) parameter is listed once unless
        ``remove_duplicate=False``, which lists it under every name that reaches it."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (each once); only this module's own with ``recurse=False``."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs for every registered buffer that is not None."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer that is not None (each once); only this module's own with ``recurse=False``."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every sub-module (children first, recursively) and then on this one; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ----------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout on) for this module and its children; returns the module."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"train: training mode is expected to be boolean, got {type(mode).__name__} {mode!r}")
        mode = bool(mode)
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (dropout off) for this module and its children; ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` on every parameter (False freezes the module); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``set_to_none=False``: zero them in place instead)."""
        zero_grads(self.parameters(), set_to_none)

    # -- state ------------------------------------------------------------------
    def _state_items(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """PyTorch's order: a module's parameters, then its persistent buffers, then each child's.

        Shared modules and tied parameters appear under every name that reaches them.
        """
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield prefix + name, b
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_items(prefix + name + ".")

    def state_dict(self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, Any]":
        """Every parameter's and persistent buffer's value by dotted name, as tensors (PyTorch's).

        Each value is ``t.detach()``: a tensor that shares memory with the parameter or buffer
        (an in-place change of one shows in the other; ``.clone()`` a value to keep a snapshot
        while training goes on).  ``keep_vars=True`` gives the parameters themselves.  A tied
        parameter is listed under each of its names.  ``destination``: a dict to fill and return.
        """
        out = OrderedDict() if destination is None else destination
        for k, v in self._state_items(prefix):
            out[k] = v if keep_vars else v.detach()
        return out

    def load_state_dict(self, state_dict: dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values (tensors, numpy arrays or nested lists) into the parameters and buffers by name.

        With ``strict`` every name must match exactly.  Values are copied into the existing
        parameters (which stay the same objects), cast to their dtype; ``assign=True`` makes each
        parameter and buffer hold the given value's memory instead (when the dtype matches).
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: state_dict must be a dict of name -> tensor or array (what "
                            f"state_dict() returns), got {type(state_dict).__name__}")
        bool_arg("load_state_dict", "strict", strict)
        bool_arg("load_state_dict", "assign", assign)
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            problems.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        values = {}
        for k, p in own.items():
            if k in state_dict:
                v = state_dict[k]
                try:
                    v = v.array if isinstance(v, Tensor) else np.asarray(v)
                except (TypeError, ValueError) as e:
                    problems.append(f"value for {k}: expected a tensor or an array, got {type(v).__name__} ({e}).")
                    continue
                if v.dtype.kind not in "biuf":
                    problems.append(f"value for {k}: expected numbers, got {v.dtype} data in the checkpoint.")
                elif v.shape != p.shape:
                    problems.append(f"size mismatch for {k}: copying a param with shape {v.shape} from checkpoint, "
                                    f"the shape in current model is {p.shape}.")
                else:
                    values[k] = v
        if problems:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                                 + "\n\t".join(problems))
        for k, v in values.items():
            p = own[k]
            if assign and v.dtype == p.dtype:
                p.array = v
            else:
                p.array[...] = np.asarray(v, dtype=p.dtype)
            mark_modified(p)
        return IncompatibleKeys(missing, unexpected)

    def num_parameters(self) -> int:
        """The number of parameter elements."""
        return sum(p.numel() for p in self.parameters())

    # -- dtype ------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``: convert parameters and floating buffers in place.

        Devices are accepted for PyTorch code: "cpu" (the only one); "cuda" is refused with a clear message.
        """
        dtype = kwargs.pop("dtype", None)
        for a in (*args, kwargs.pop("device", None)):
            if a is None or isinstance(a, bool):
                continue
            if isinstance(a, (str, device)):
                check_device(a)
            else:
                dtype = a
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dtype} "
                            "(parameters must stay trainable)")
        for p in self.parameters():
            p.array = p.array.astype(dtype)
            p.grad = None
        for b in self.buffers():
            if b.array.dtype.kind == "f":
                b.array = b.array.astype(dtype)
        return self

    def cpu(self) -> "Module":
        """The module itself: everything is on the CPU."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Module":
        """Refused: tinygrad_seq computes on the CPU with numpy."""
        check_device("cuda")
        return self

    def double(self) -> "Module":
        """Parameters and floating buffers to float64, in place (e.g. for gradcheck)."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Parameters and floating buffers to float32, in place."""
        return self.to(np.float32)

    def half(self) -> "Module":
        """Parameters and floating buffers to float16, in place (numpy's IEEE half precision; PyTorch's
        CPU kernels may accumulate in higher precision, so the last bits can differ)."""
        return self.to(np.float16)

    def bfloat16(self) -> "Module":
        """Refused: numpy has no bfloat16 dtype (use ``half()`` for 16-bit floats)."""
        raise TypeError(f"{type(self).__name__}.bfloat16: numpy has no bfloat16 dtype, so tinygrad_seq has none; "
                        "use .half() (float16) or .float()")

    # -- printing ---------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's own settings, shown in its repr (subclasses override it)."""
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
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Add each of ``modules`` at the end."""
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i: Any) -> Any:
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i]) if isinstance(self, Sequential) else ModuleList(mods[i])
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"{type(self).__name__}: index must be an integer or a slice, got {type(i).__name__}")
        if not -len(mods) <= i < len(mods):
            raise IndexError(f"{type(self).__name__}: index {i} is out of range for {len(mods)} modules")
        return mods[i]

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
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """``(name, module)`` pairs, in insertion order."""
        return self._modules.items()
