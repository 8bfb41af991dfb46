"""Every public module and every public name in it has a docstring (help() is documentation people rely on)."""
import importlib
import inspect
import pkgutil

import tinygrad_seq as tg


def _public_modules():
    """Every module of the package whose dotted name has no part starting with '_' (found, not listed)."""
    mods = [tg]
    for info in pkgutil.walk_packages(tg.__path__, "tinygrad_seq."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            mods.append(importlib.import_module(info.name))
    return mods


MODULES = _public_modules()


def _public(obj):
    for name in dir(obj):
        if not name.startswith("_"):
            yield name, getattr(obj, name)


def _missing():
    missing = set()
    for mod in MODULES:
        for name, obj in _public(mod):
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not (obj.__module__ or "").startswith("tinygrad_seq"):
                continue
            if mod is not tg and obj.__module__ != mod.__name__ and not mod.__name__.endswith(
                    tuple(f".{p}" for p in ("nn", "optim", "utils", "data"))):
                continue                     # re-exported: checked in the module that defines it
            if not inspect.getdoc(obj):
                missing.add(f"{obj.__module__}.{obj.__qualname__}")
            if inspect.isclass(obj):
                for mname, m in vars(obj).items():
                    if mname.startswith("_") or not callable(m) or isinstance(m, type):
                        continue
                    if not inspect.getdoc(m):
                        missing.add(f"{obj.__module__}.{obj.__qualname__}.{mname}")
    return sorted(missing)


def test_the_module_list_is_discovered_and_covers_every_layer():
    names = {m.__name__ for m in MODULES}
    for must in ("tinygrad_seq.tensor", "tinygrad_seq.ops", "tinygrad_seq.autograd", "tinygrad_seq.lazygrad",
                 "tinygrad_seq.train", "tinygrad_seq.viz", "tinygrad_seq.bench", "tinygrad_seq.cli",
                 "tinygrad_seq.data.corpus", "tinygrad_seq.nn.recurrent", "tinygrad_seq.optim.lr_scheduler"):
        assert must in names
    assert not any(part.startswith("_") for n in names for part in n.split("."))


def test_every_public_module_has_a_docstring():
    missing = [m.__name__ for m in MODULES if not inspect.getdoc(m)]
    assert not missing, f"modules without a docstring: {missing}"


def test_the_engine_contract_is_documented():
    from tinygrad_seq.tensor import Node
    for method in (Node.forward, Node.backward, Node.apply):
        assert method.__doc__ and len(method.__doc__.split()) >= 20, method.__qualname__
    assert "saved" in Node.forward.__doc__ and "needs_input_grad" in Node.backward.__doc__


def test_every_public_name_has_a_docstring():
    missing = _missing()
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_recurrent_layers_document_arguments_shapes_and_parameters():
    for cls in (tg.nn.RNN, tg.nn.LSTM, tg.nn.GRU):
        doc = inspect.getdoc(cls)
        for word in ("input_size", "hidden_size", "num_layers", "batch_first", "bidirectional", "Inputs",
                     "Outputs", "weight_ih_l", "weight_hh_l", "bias_ih_l", "h_0", "h_n"):
            assert word in doc, f"{cls.__name__}'s docstring does not mention {word}"
    help_text = inspect.getdoc(tg.Tensor.backward)
    assert "gradient" in help_text and "retain_graph" in help_text and "freed" in help_text


def test_the_training_command_line_and_display_modules_document_every_public_name(monkeypatch):
    import sys

    import tinygrad_seq.bench
    import tinygrad_seq.blas
    import tinygrad_seq.cli
    import tinygrad_seq.data.corpus
    import tinygrad_seq.train
    monkeypatch.setattr(sys.modules[__name__], "MODULES",
                        [tinygrad_seq.train, tinygrad_seq.cli, tinygrad_seq.bench, tinygrad_seq.data,
                         tinygrad_seq.data.corpus, tinygrad_seq.blas, tg.progress, tg.charts, tg.tutorial])
    missing = _missing()
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"
