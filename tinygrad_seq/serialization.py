"""Checkpoints: ``tg.save(state, path)`` and ``tg.load(path)``.

A checkpoint is a nested structure of dicts, lists, tuples, numbers, strings,
None, tensors and arrays (a model's and an optimizer's ``state_dict()`` together, say),
stored as one ``.npz`` file: every array under a numbered key, and the shape
of the structure as JSON in the key ``__structure__``.  A tensor comes back as
a tensor (without grad), an array as an array; each is stored on its own, so
two values that shared memory when saved (a tensor and a view of it) are
independent copies when loaded.  Loading uses
``allow_pickle=False``, so opening a file never runs code.  Saving writes a
temporary file in the same folder and renames it over the target, so an
interrupted save leaves the previous checkpoint intact; the file gets the
permissions the user's umask gives (as ``open`` and ``torch.save`` do), not
the temporary file's private 0600.

A whole module (``torch.save(model, f)`` in PyTorch code) is stored the same
way, as data: its class by name, its attributes, its parameters' and buffers'
arrays.  Loading rebuilds it without unpickling anything, and, as PyTorch's
``weights_only`` loading, only from classes and functions it is allowed to
use: tinygrad_seq's own, and those named with ``safe_globals([...])`` (a
context manager) or ``add_safe_globals([...])``.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from .tensor import Tensor

FORMAT = "tinygrad_seq-checkpoint-1"
TMP_PREFIX = ".tmp-"            # save()'s temporary files: ``.tmp-*.npz`` beside the target


def _umask() -> int:
    """The process's umask (read without changing it where /proc allows, else set and restored at once)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_seq checkpoint; the message names the path."""


def _global_name(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None)
    if name is None or "<" in name or getattr(obj, "__module__", None) is None:
        raise TypeError(f"save: cannot store {obj!r}: only module-level classes and functions can be named")
    return f"{obj.__module__}:{name}"


def _resolve(name: str) -> Any:
    """The class or function saved under ``name``: tinygrad_seq's own, or one allowed by safe_globals."""
    for g in _SAFE_GLOBALS:                    # allowed by add_safe_globals / safe_globals
        if isinstance(g, tuple):
            mod, _, qual_name = g[1].rpartition(".")
            if f"{mod}:{qual_name}" == name:
                return g[0]
        elif f"{getattr(g, '__module__', '')}:{getattr(g, '__qualname__', '')}" == name:
            return g
    module, _, qual = name.partition(":")
    if module == "tinygrad_seq" or module.startswith("tinygrad_seq."):
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
        return obj
    raise CheckpointError(f"load: the checkpoint needs {name.replace(':', '.')}, which is not allowed; if you trust "
                          f"it, allow it with tinygrad_seq.serialization.safe_globals([{qual}]) around load()")


def _is_module(obj: Any) -> bool:
    return isinstance(getattr(obj, "__dict__", None), dict) and "_parameters" in obj.__dict__ \
        and "_modules" in obj.__dict__


def _encode_object(obj: Any, arrays: dict, memo: dict) -> Any:
    """A module (or a tensor/Parameter inside one) as data; shared objects are stored once and referred to."""
    if id(obj) in memo:
        return {"__ref__": memo[id(obj)]}
    memo[id(obj)] = len(memo)
    if isinstance(obj, Tensor):
        return {"__tensor__": [memo[id(obj)], _global_name(type(obj)), _encode(obj.array, arrays, memo),
                               bool(obj.requires_grad), getattr(obj, "_name", None)]}
    for hooks in ("_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs",
                  "_forward_pre_hooks_with_kwargs"):
        if obj.__dict__.get(hooks):
            raise TypeError(f"save: cannot store a {type(obj).__name__} with registered hooks ({hooks}); "
                            "remove them, or save its state_dict()")
    state = [[k, _encode(v, arrays, memo)] for k, v in obj.__dict__.items() if not k.endswith("hooks_with_kwargs")
             and k not in ("_forward_hooks", "_forward_pre_hooks")]
    return {"__object__": [memo[id(obj)], _global_name(type(obj)), state]}


def _encode(obj: Any, arrays: dict, memo: dict | None = None) -> Any:
    """The JSON-able structure of ``obj``, its arrays collected in ``arrays``; raises before anything is written."""
    memo = {} if memo is None else memo
    if _is_module(obj) or (memo and isinstance(obj, Tensor)):
        return _encode_object(obj, arrays, memo)
    if isinstance(obj, Tensor):                # loaded back as a Tensor (a state_dict's values), a copy
        return {"__tensor__": _encode(obj.array, arrays)["__array__"]}
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or obj.dtype.kind == "V":
            raise TypeError(f"save: cannot store an array of dtype {obj.dtype} without pickling "
                            "(checkpoints hold numeric, bool and string arrays only)")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError(f"save: dict keys must be strings, got {[type(k).__name__ for k in obj]}")
        return {"__dict__": [[k, _encode(v, arrays, memo)] for k, v in obj.items()]}
    if isinstance(obj, tuple) and hasattr(obj, "_fields") and memo:     # a NamedTuple inside a module
        return {"__namedtuple__": [_global_name(type(obj)), [_encode(v, arrays, memo) for v in obj]]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, memo) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays, memo) for v in obj]
    if isinstance(obj, (set, frozenset)) and memo:
        return {"__set__": [_encode(v, arrays, memo) for v in sorted(obj, key=repr)]}
    if isinstance(obj, np.dtype) and memo:
        return {"__dtype__": obj.str}
    if memo and (isinstance(obj, type) or callable(obj)) and hasattr(obj, "__qualname__"):
        return {"__global__": _global_name(obj)}         # a class or function a module holds (an activation)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} (use dicts, lists, numbers, strings and arrays)")


_ORDERED = ("_parameters", "_buffers", "_modules")


def _decode(obj: Any, arrays: Any, memo: dict | None = None) -> Any:
    memo = {} if memo is None else memo
    if isinstance(obj, list):
        return [_decode(v, arrays, memo) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__tensor__" in obj and isinstance(obj["__tensor__"], str):   # a tensor value (a state_dict's)
            return Tensor._wrap(arrays[obj["__tensor__"]])
        if "__dict__" in obj:
            return {k: _decode(v, arrays, memo) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays, memo) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__set__" in obj:
            return set(_decode(v, arrays, memo) for v in obj["__set__"])
        if "__dtype__" in obj:
            return np.dtype(obj["__dtype__"])
        if "__namedtuple__" in obj:
            cls_name, values = obj["__namedtuple__"]
            cls = _resolve(cls_name)
            if not (isinstance(cls, type) and issubclass(cls, tuple)):
                raise CheckpointError(f"load: {cls_name.replace(':', '.')} is not a tuple type")
            return cls(*(_decode(v, arrays, memo) for v in values))
        if "__global__" in obj:
            return _resolve(obj["__global__"])
        if "__ref__" in obj:
            return memo[obj["__ref__"]]
        if "__tensor__" in obj:
            key, cls_name, data, requires_grad, name = obj["__tensor__"]
            cls = _resolve(cls_name)
            if not isinstance(cls, type) or not issubclass(cls, Tensor):
                raise CheckpointError(f"load: {cls_name.replace(':', '.')} is not a Tensor class")
            arr = _decode(data, arrays, memo)
            t = cls(arr, requires_grad=requires_grad, dtype=arr.dtype)
            if name is not None:
                t._name = name
            memo[key] = t
            return t
        if "__object__" in obj:
            return _decode_object(obj["__object__"], arrays, memo)
        raise ValueError(f"unknown entry {sorted(obj)}")
    return obj


def _decode_object(entry: list, arrays: Any, memo: dict) -> Any:
    """Rebuild a saved module: its class (allowed), then its attributes, without running its __init__."""
    key, cls_name, state = entry
    cls = _resolve(cls_name)
    if not isinstance(cls, type) or not any(c.__name__ == "Module" and c.__module__.startswith("tinygrad_seq")
                                             for c in cls.__mro__):
        raise CheckpointError(f"load: {cls_name.replace(':', '.')} is not a tinygrad_seq Module")
    from .nn.module import Module, _HookDict
    obj = cls.__new__(cls)
    memo[key] = obj
    Module.__init__(obj)                                   # empty registries and hook dicts
    for k, v in state:
        v = _decode(v, arrays, memo)
        if k in _ORDERED:
            v = OrderedDict(v)
        object.__setattr__(obj, k, v)
    for k, v in obj.__dict__.items():
        if k.endswith("hooks") and not isinstance(v, _HookDict):
            object.__setattr__(obj, k, _HookDict())
    return obj


def save(obj: Any, f: Any) -> None:
    """Write ``obj`` to ``f`` (a path, written atomically: temp file in the same folder, then rename; or a
    binary file object).  Everything is validated before anything is written, so a failing save never
    touches an existing checkpoint."""
    arrays: dict = {}
    structure = {"format": FORMAT, "state": _encode(obj, arrays)}
    arrays["__structure__"] = np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8)
    if hasattr(f, "write"):
        np.savez(f, **arrays)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".npz", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(f: Any, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read a checkpoint written by ``save`` (a path or a binary file object); anything else raises one
    ``CheckpointError`` naming it.  ``map_location`` is accepted for PyTorch code (everything is on the CPU)."""
    if map_location is not None and not callable(map_location):
        from ._args import check_device
        check_device(map_location)
    path = getattr(f, "name", "<file object>") if hasattr(f, "read") else os.fspath(f)
    if not hasattr(f, "read") and not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        if not hasattr(f, "read"):
            with open(path, "rb") as fh:
                magic = fh.read(4)
            if magic != b"PK\x03\x04":               # every .npz is a zip archive
                what = "an empty file" if not magic else "not an .npz archive"
                raise CheckpointError(f"{path}: not a tinygrad_seq checkpoint ({what}; checkpoints are the .npz "
                                      "files written by tg.save or tinygrad-seq train)")
        with np.load(f if hasattr(f, "read") else path, allow_pickle=False) as npz:
            if "__structure__" not in npz.files:
                raise CheckpointError(f"{path}: not a tinygrad_seq checkpoint (an .npz without its structure entry)")
            structure = json.loads(npz["__structure__"].tobytes().decode())
            if not isinstance(structure, dict) or structure.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not a tinygrad_seq checkpoint (unknown format)")
            arrays = {k: npz[k] for k in npz.files if k != "__structure__"}
            return _decode(structure["state"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError, UnicodeDecodeError, AttributeError, TypeError,
            json.JSONDecodeError) as e:
        if "pickle" in str(e).lower():                 # numpy's advice to unpickle is unsafe: never pass it on
            raise CheckpointError(f"{path}: not a tinygrad_seq checkpoint (not an .npz archive; pickled data "
                                  "is never loaded)") from None
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupted?): {e}") from None


# -- PyTorch's weights-only allow-list --------------------------------------------------------------------------
# torch.load(weights_only=True) unpickles, and only the classes on an allow-list may be built; programs extend
# the list with add_safe_globals([...]) or `with safe_globals([...]):`.  load() here never unpickles anything
# (np.load with allow_pickle=False).  A checkpoint of tensors, arrays and state_dicts needs no allowing at all;
# the list matters only for a whole saved module (torch.save(model, f)), which load() rebuilds from data using
# only tinygrad_seq's own classes and functions and those on this list.

_SAFE_GLOBALS: list = []


def _check_globals(op: str, safe_globals: Any) -> list:
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"{op}: expected a list of classes or functions (or (class, 'module.Name') pairs), got "
                        f"{type(safe_globals).__name__}")
    for g in safe_globals:
        ok = callable(g) or (isinstance(g, tuple) and len(g) == 2 and callable(g[0]) and isinstance(g[1], str))
        if not ok:
            raise TypeError(f"{op}: each entry must be a class or function, or a (class, 'module.Name') pair, got "
                            f"{type(g).__name__} {g!r}"[:300])
    return list(safe_globals)


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes and functions when ``load`` rebuilds a whole saved module (PyTorch's name).

    ``load`` never unpickles; checkpoints of tensors, arrays and state_dicts need nothing allowed."""
    _SAFE_GLOBALS.extend(_check_globals("add_safe_globals", safe_globals))


def get_safe_globals() -> list:
    """What ``add_safe_globals`` (and an enclosing ``safe_globals``) allowed."""
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Forget the list ``add_safe_globals`` built."""
    _SAFE_GLOBALS.clear()


class safe_globals:
    """``with tg.serialization.safe_globals([nn.LSTM, ...]): tg.load(path)``, accepted for PyTorch code.

    ``load`` reads arrays with ``allow_pickle=False`` and never unpickles; the classes allowed here are
    those a whole saved module (``save(model, f)``) may be rebuilt from, besides tinygrad_seq's own.
    The list is checked and visible to ``get_safe_globals()`` inside the block, as in PyTorch.
    """

    def __init__(self, safe_globals: list):  # noqa: D107
        self.safe_globals = _check_globals("safe_globals", safe_globals)

    def __enter__(self) -> "safe_globals":
        self._before = list(_SAFE_GLOBALS)
        _SAFE_GLOBALS.extend(self.safe_globals)
        return self

    def __exit__(self, *exc: Any) -> None:
        _SAFE_GLOBALS[:] = self._before
