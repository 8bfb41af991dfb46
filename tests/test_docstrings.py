"""Every public name has a docstring (help() is documentation people rely on)."""
import inspect

import tinygrad_seq as tg

MODULES = [tg, tg.nn, tg.nn.functional, tg.nn.init, tg.nn.utils, tg.nn.utils.rnn, tg.optim, tg.utils.data,
           tg.autograd, tg.charts, tg.progress, tg.tutorial]


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
            if not inspect.getdoc(obj):
                missing.add(f"{obj.__module__}.{obj.__qualname__}")
            if inspect.isclass(obj):
                for mname, m in vars(obj).items():
                    if mname.startswith("_") or not callable(m) or isinstance(m, type):
                        continue
                    if not inspect.getdoc(m):
                        missing.add(f"{obj.__module__}.{obj.__qualname__}.{mname}")
    return sorted(missing)


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
