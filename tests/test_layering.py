"""The package's layers only point down, and the engine's private names stay inside the engine.

Read from the source (ast), not by importing: every ``from X import name`` and
every ``module._name`` attribute read in a module outside the engine is
checked, and the layering rules of the issue that asked for them (optimizers
see only tensors, layers know no views) are checked on the import graph.
"""
import ast
import pathlib

import pytest

import tinygrad_seq

PKG = pathlib.Path(tinygrad_seq.__file__).parent
ENGINE = {"tinygrad_seq.tensor", "tinygrad_seq._data", "tinygrad_seq._indexing", "tinygrad_seq._inplace",
          "tinygrad_seq.autograd.functional", "tinygrad_seq.autograd.forward_ad",
          "tinygrad_seq.ops", "tinygrad_seq.autograd", "tinygrad_seq.lazygrad",
          "tinygrad_seq._gc", "tinygrad_seq._state", "tinygrad_seq._args",
          "tinygrad_seq.jit"}      # capture and replay builds nodes as Node.apply does: a speed trick of the engine


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: pathlib.Path):
    """(imported module, name, alias, line) for every ``from ... import`` and ``import`` in the file."""
    name = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = _resolve(name, path.name == "__init__.py", node)
            for a in node.names:
                yield mod, a.name, a.asname or a.name, node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, a.asname or a.name, node.lineno


SOURCES = sorted(PKG.rglob("*.py"))
OUTSIDE = [p for p in SOURCES if _module_name(p) not in ENGINE]


def test_the_scan_sees_the_whole_package():
    names = {_module_name(p) for p in SOURCES}
    assert ENGINE <= names and {"tinygrad_seq.nn.recurrent", "tinygrad_seq.optim.optimizer",
                                "tinygrad_seq.viz", "tinygrad_seq.train"} <= names
    assert len(OUTSIDE) >= 20


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_outside_the_engine_uses_an_underscore_name_of_the_engine(path):
    bad = []
    engine_aliases = {}                          # local name -> engine module, for `from . import ops as _ops`
    for mod, name, alias, line in _imports(path):
        full = f"{mod}.{name}" if name else mod
        if full in ENGINE:
            engine_aliases[alias] = full
        elif mod in ENGINE and name.startswith("_"):
            bad.append(f"line {line}: from {mod} import {name}")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in engine_aliases and node.attr.startswith("_") and not node.attr.startswith("__"):
            bad.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not bad, f"{path.relative_to(PKG)} reaches into the engine's private names: {bad}"


def _imported_modules(prefix: str) -> dict:
    """{module under ``prefix``: the package modules it imports (module-level or inside functions)}."""
    known = {_module_name(p) for p in SOURCES}
    out = {}
    for p in SOURCES:
        name = _module_name(p)
        if name == prefix or name.startswith(prefix + "."):
            out[name] = {f"{m}.{n}" if f"{m}.{n}" in known else m
                         for m, n, _, _ in _imports(p) if m.startswith("tinygrad_seq")}
    return out


def test_optimizers_see_only_tensors_and_layers_know_no_views():
    for name, deps in _imported_modules("tinygrad_seq.optim").items():
        assert not any(d == "tinygrad_seq.nn" or d.startswith("tinygrad_seq.nn.") for d in deps), (name, deps)
    for name, deps in _imported_modules("tinygrad_seq.nn").items():
        assert not any(d.startswith(("tinygrad_seq.viz", "tinygrad_seq.train", "tinygrad_seq.optim",
                                     "tinygrad_seq.charts", "tinygrad_seq.progress")) for d in deps), (name, deps)
    for name, deps in _imported_modules("tinygrad_seq").items():
        if name in ENGINE:
            assert all(d in ENGINE or d == "tinygrad_seq" for d in deps), (name, deps)


def test_the_views_still_attach_from_above():
    import tinygrad_seq as tg
    m = tg.nn.Linear(2, 3)
    assert tg.nn.summary is tg.viz.summary and m.summary.__func__ is tg.viz.summary
    assert hasattr(tg.Tensor, "__rich__") and hasattr(tg.nn.Module, "__rich__")
