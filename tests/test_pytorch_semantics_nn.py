"""Modules and checkpoints as PyTorch 2.13 behaves: tensor-valued state_dicts that share memory, the
nn.modules.* paths, serialization.safe_globals, register_full_backward_hook, half(), Embedding(max_norm=)
and from_pretrained, LSTM(proj_size=), LayerNorm edge cases.

Expected values are written in: read off torch 2.13.0 by hand, or PyTorch's documented equations
computed here in numpy.  PyTorch is never imported."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn


# --- state_dict: tensors that share memory with the parameters ---------------------------------------------

def test_state_dict_values_are_detached_tensors_sharing_memory():
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    sd = m.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for k, p in m.named_parameters():
        v = sd[k]
        assert type(v) is tg.Tensor and not v.requires_grad and v.grad_fn is None
        assert tg.equal(v, p) and v.shape == p.shape and v.dtype == p.dtype
        np.testing.assert_array_equal(v.detach().cpu().numpy(), p.numpy())
    before = m[0].weight.numpy().copy()
    snapshot = sd["0.weight"].clone()
    sd["0.weight"].add_(1.0)                       # in place on the value: the parameter sees it
    np.testing.assert_array_equal(m[0].weight.numpy(), before + 1)
    with tg.no_grad():
        m[2].bias.mul_(0)                           # in place on the parameter: the value sees it
    np.testing.assert_array_equal(sd["2.bias"].numpy(), np.zeros(2, np.float32))
    np.testing.assert_array_equal(snapshot.numpy(), before)          # clone() is a snapshot
    assert m.state_dict(keep_vars=True)["0.weight"] is m[0].weight
    dest = {}
    assert m.state_dict(destination=dest, prefix="net.") is dest and sorted(dest) == sorted("net." + k for k in sd)


def test_state_dict_includes_persistent_buffers_only():
    m = nn.Linear(2, 2)
    m.register_buffer("steps", tg.tensor([3]))
    m.register_buffer("scratch", tg.zeros(2), persistent=False)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "steps"] and sd["steps"].dtype == np.int64


@given(st.sampled_from(["tensor", "array", "list", "float64-array", "float64-tensor"]), st.integers(1, 4),
       st.integers(1, 4))
def test_load_state_dict_accepts_tensors_arrays_and_lists(kind, n_in, n_out):
    src, dst = nn.Linear(n_in, n_out), nn.Linear(n_in, n_out)
    w0, b0 = src.weight.numpy().copy(), src.bias.numpy().copy()
    conv = {"tensor": lambda v: v, "array": lambda v: v.numpy().copy(), "list": lambda v: v.numpy().tolist(),
            "float64-array": lambda v: v.numpy().astype(np.float64),
            "float64-tensor": lambda v: v.double()}[kind]
    w_param = dst.weight
    dst.load_state_dict({k: conv(v) for k, v in src.state_dict().items()})
    assert dst.weight is w_param and dst.weight.dtype == np.float32       # copied into the same Parameter
    np.testing.assert_array_equal(dst.weight.numpy(), w0.astype(np.float32))
    np.testing.assert_array_equal(dst.bias.numpy(), b0)
    with tg.no_grad():
        src.weight.add_(1)
    np.testing.assert_array_equal(dst.weight.numpy(), w0)                 # a copy, not shared


def test_load_state_dict_assign_shares_memory():
    src, dst = nn.Linear(2, 3), nn.Linear(2, 3)
    dst.load_state_dict(src.state_dict(), assign=True)
    with tg.no_grad():
        src.weight.add_(1)
    np.testing.assert_array_equal(dst.weight.numpy(), src.weight.numpy())


def test_save_and_load_a_state_dict_gives_tensors_back():
    torch = tg                                       # the way real programs spell it
    m = nn.LSTM(3, 4, num_layers=2)
    buf = io.BytesIO()
    torch.save({"model": m.state_dict(), "array": np.arange(3), "epoch": 5}, buf)
    buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    assert isinstance(ck["array"], np.ndarray) and ck["epoch"] == 5
    for k, v in m.state_dict().items():
        got = ck["model"][k]
        assert isinstance(got, tg.Tensor) and not got.requires_grad and tg.equal(got, v)
    m2 = nn.LSTM(3, 4, num_layers=2)
    m2.load_state_dict(ck["model"])
    with tg.no_grad():
        m.weight_ih_l0.zero_()                       # the loaded values were copies
    assert tg.equal(m2.weight_hh_l1, ck["model"]["weight_hh_l1"]) and float(m2.weight_ih_l0.abs().sum()) > 0


def test_a_tensor_and_its_view_are_independent_after_loading():
    """Documented in the README: each saved tensor is stored on its own (PyTorch would keep the sharing)."""
    base = tg.arange(6.0)
    view = base.data                                 # shares memory with base
    buf = io.BytesIO()
    tg.save({"base": base, "view": view}, buf)
    buf.seek(0)
    ck = tg.load(buf)
    ck["base"].add_(1)
    np.testing.assert_array_equal(ck["view"].numpy(), np.arange(6.0, dtype=np.float32))


# --- nn.modules.* paths, nn.parameter, serialization.safe_globals --------------------------------------------

# the submodule of torch.nn.modules each class lives in (torch 2.13: cls.__module__), written in
TORCH_PATHS = [("module", "Module"), ("container", "Sequential"), ("container", "ModuleList"),
               ("container", "ModuleDict"), ("linear", "Linear"), ("linear", "Identity"), ("sparse", "Embedding"),
               ("dropout", "Dropout"), ("normalization", "LayerNorm"), ("activation", "Tanh"),
               ("activation", "Sigmoid"), ("activation", "ReLU"), ("activation", "LeakyReLU"), ("activation", "GELU"),
               ("activation", "Softmax"), ("activation", "LogSoftmax"), ("loss", "CrossEntropyLoss"),
               ("loss", "NLLLoss"), ("loss", "MSELoss"), ("loss", "L1Loss"), ("loss", "BCELoss"),
               ("loss", "BCEWithLogitsLoss"), ("loss", "CTCLoss"), ("rnn", "RNN"), ("rnn", "LSTM"), ("rnn", "GRU"),
               ("rnn", "RNNCell"), ("rnn", "LSTMCell"), ("rnn", "GRUCell")]


@pytest.mark.parametrize("sub,name", TORCH_PATHS)
def test_nn_modules_full_paths_are_the_same_classes(sub, name):
    import importlib
    mod = importlib.import_module(f"tinygrad_seq.nn.modules.{sub}")
    assert getattr(mod, name) is getattr(nn, name)
    assert getattr(getattr(tg.nn.modules, sub), name) is getattr(nn, name)
    assert getattr(tg.nn.modules, name) is getattr(nn, name)


def test_nn_parameter_path_and_an_unknown_modules_name():
    assert tg.nn.parameter.Parameter is nn.Parameter
    with pytest.raises(AttributeError) as e:
        tg.nn.modules.batchnorm
    msg = str(e.value)
    assert "torch.nn.modules.batchnorm has no counterpart here" in msg and "Did you mean" not in msg
    with pytest.raises(ModuleNotFoundError):
        __import__("tinygrad_seq.nn.modules.conv")


def test_safe_globals_is_an_accepted_no_op(tmp_path):
    torch = tg
    m = torch.nn.modules.rnn.LSTM(2, 3)
    torch.save(m.state_dict(), tmp_path / "w.npz")
    allowed = [torch.nn.modules.rnn.LSTM, torch.nn.modules.dropout.Dropout, (torch.nn.Linear, "x.Linear")]
    with torch.serialization.safe_globals(allowed) as ctx:
        assert torch.serialization.get_safe_globals() == allowed and ctx.safe_globals == allowed
        sd = torch.load(tmp_path / "w.npz", weights_only=True)
    assert torch.serialization.get_safe_globals() == []
    m2 = torch.nn.LSTM(2, 3)
    m2.load_state_dict(sd)
    assert all(tg.equal(a, b) for a, b in zip(m.parameters(), m2.parameters()))
    torch.serialization.add_safe_globals([np.ndarray])
    try:
        assert torch.serialization.get_safe_globals() == [np.ndarray]
    finally:
        torch.serialization.clear_safe_globals()
    with pytest.raises(TypeError, match="add_safe_globals: expected a list"):
        torch.serialization.add_safe_globals(torch.nn.LSTM)
    with pytest.raises(TypeError, match="safe_globals: each entry must be a class or function"):
        torch.serialization.safe_globals(["torch.nn.LSTM"])
