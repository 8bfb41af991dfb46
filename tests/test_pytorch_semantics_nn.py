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


# --- register_full_backward_hook -----------------------------------------------------------------------------

@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.floats(-3, 3))
def test_full_backward_hook_sees_input_and_output_grads_and_may_replace(n_in, n_out, batch, scale):
    lin = nn.Linear(n_in, n_out).double()
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append((module, grad_input, grad_output))
        return (grad_input[0] * scale,)
    lin.register_full_backward_hook(hook)
    rng = np.random.default_rng(n_in * 10 + n_out)
    x0, r = rng.normal(size=(batch, n_in)), rng.normal(size=(batch, n_out))
    x = tg.tensor(x0, requires_grad=True)
    (lin(x) * tg.tensor(r)).sum().backward()
    (module, gi, go), = seen
    W = lin.weight.numpy()
    assert module is lin and len(gi) == 1 and len(go) == 1
    np.testing.assert_allclose(go[0].numpy(), r, rtol=1e-12)                  # dL/dy
    np.testing.assert_allclose(gi[0].numpy(), r @ W, rtol=1e-12, atol=1e-14)  # dL/dx = dL/dy W
    np.testing.assert_allclose(x.grad.numpy(), scale * (r @ W), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lin.weight.grad.numpy(), r.T @ x0, rtol=1e-12, atol=1e-14)   # untouched


class Two(nn.Module):
    def forward(self, x, y, k=2):
        return x * y * k, (x + y).sum(), 7


def test_full_backward_hook_tuple_inputs_and_outputs_as_pytorch():
    """torch 2.13 on the same module: gi (tensor([9., 12.]), tensor([0., 0.]), None),
    go (tensor([1., 1.]), None, None); then for (b * 2).backward(): gi[0] = [2., 2.], go = (None, 2., None)."""
    m, calls = Two(), []
    handle = m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go)))
    x, y = tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0])
    a, b, c = m(x, y, 3)
    assert c == 7
    a.sum().backward()
    (gi, go), = calls
    assert gi[2] is None and go[1] is None and go[2] is None
    np.testing.assert_array_equal(gi[0].numpy(), [9.0, 12.0])
    np.testing.assert_array_equal(gi[1].numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(go[0].numpy(), [1.0, 1.0])
    calls.clear()
    x.grad = None
    a, b, c = m(x, y, 3)
    (b * 2).backward()
    (gi, go), = calls
    assert go[0] is None and go[2] is None and float(go[1]) == 2.0
    np.testing.assert_array_equal(gi[0].numpy(), [2.0, 2.0])
    handle.remove()
    calls.clear()
    m(x, y)[0].sum().backward()
    assert calls == []


def test_full_backward_hook_on_lstm_and_without_input_grads():
    """torch 2.13: an LSTM's hook gets grad_input shapes [(4, 1, 2)] and grad_output [(4, 1, 3), None]
    (the (h_n, c_n) tuple is not a tensor); with no input requiring grad it fires with (None,) and a warning."""
    lstm, shapes = nn.LSTM(2, 3), []
    lstm.register_full_backward_hook(lambda m, gi, go: shapes.append(
        ([None if g is None else g.shape for g in gi], [None if g is None else g.shape for g in go])))
    o, (h, c) = lstm(tg.ones(4, 1, 2, requires_grad=True))
    (o.sum() + h.sum()).backward()
    assert shapes == [([(4, 1, 2)], [(4, 1, 3), None])]
    lin, got = nn.Linear(2, 1), []
    lin.register_full_backward_hook(lambda m, gi, go: got.append((gi, go)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(tg.ones(1, 2)).sum().backward()
    assert got[0][0] == (None,) and got[0][1][0].numpy().tolist() == [[1.0]]
    bad = nn.Linear(2, 1)
    bad.register_full_backward_hook(lambda m, gi, go: (tg.ones(1, 2),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"):
            bad(tg.ones(1, 2)).sum().backward()
    wrong = nn.Linear(2, 1)
    wrong.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        wrong(tg.ones(1, 2, requires_grad=True)).sum().backward()


def test_full_backward_pre_hook_replaces_grad_output():
    lin = nn.Linear(3, 2).double()
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    x = tg.tensor(np.ones((1, 3)), requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.bias.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * lin.weight.numpy().sum(0, keepdims=True))


# --- half() ----------------------------------------------------------------------------------------------------

def test_half_converts_parameters_and_float_buffers_and_trains_in_float16():
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    m.register_buffer("count", tg.tensor([1]))
    m.register_buffer("scale", tg.ones(2))
    assert m.half() is m
    assert all(p.dtype == np.float16 for p in m.parameters())
    assert m.count.dtype == np.int64 and m.scale.dtype == np.float16
    x = tg.tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float16))
    y = m(x)
    assert y.dtype == np.float16
    y.sum().backward()
    assert all(p.grad.dtype == np.float16 for p in m.parameters())
    ref = np.tanh(x.numpy().astype(np.float64) @ m[0].weight.numpy().T.astype(np.float64) + m[0].bias.numpy())
    ref = ref @ m[2].weight.numpy().T.astype(np.float64) + m[2].bias.numpy()
    np.testing.assert_allclose(y.numpy().astype(np.float64), ref, atol=5e-3)
    with pytest.raises(TypeError, match="numpy has no bfloat16"):
        m.bfloat16()


# --- Embedding(max_norm=), Embedding.from_pretrained ---------------------------------------------------------

W_TABLE = [[3.0, 4.0, 0.0], [0.1, 0.2, 0.2], [1.0, 1.0, 1.0], [0.0, 0.0, -5.0]]


def test_embedding_max_norm_and_from_pretrained_numbers_from_pytorch():
    """torch 2.13, float64: from_pretrained(W, freeze=False, max_norm=1.5) looked up at [[0, 2], [0, 3]]."""
    w = tg.tensor(W_TABLE, dtype=tg.float64)
    e = nn.Embedding.from_pretrained(w.clone(), freeze=False, max_norm=1.5)
    assert repr(e) == "Embedding(4, 3, max_norm=1.5)" and e.weight.requires_grad
    out = e(tg.tensor([[0, 2], [0, 3]]))
    r0, r2, r3 = [0.8999999820000003, 1.1999999760000004, 0.0], [0.8660253537844416] * 3, [0.0, 0.0, -1.4999999700000006]
    np.testing.assert_allclose(out.numpy(), [[r0, r2], [r0, r3]], rtol=1e-15)
    np.testing.assert_allclose(e.weight.numpy(), [r0, [0.1, 0.2, 0.2], r2, r3], rtol=1e-15)     # renormed in place
    (out * tg.arange(12.0, dtype=tg.float64).reshape(2, 2, 3)).sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy(), [[6, 8, 10], [0, 0, 0], [3, 4, 5], [9, 10, 11]])
    e2 = nn.Embedding.from_pretrained(w.clone(), max_norm=2.0, norm_type=1.0, padding_idx=1)
    assert repr(e2) == "Embedding(4, 3, padding_idx=1, max_norm=2.0, norm_type=1.0)" and not e2.weight.requires_grad
    np.testing.assert_allclose(e2(tg.tensor([1, 2, 3])).numpy(),
                               [[0.1, 0.2, 0.2], [0.6666666444444452] * 3, [0.0, 0.0, -1.9999999600000007]], rtol=1e-15)
    e3 = nn.Embedding.from_pretrained(w.clone(), max_norm=2.0, norm_type=float("inf"))
    np.testing.assert_allclose(e3(tg.tensor([0, 3])).numpy(),
                               [[1.499999962500001, 1.9999999500000012, 0.0], [0.0, 0.0, -1.9999999600000007]],
                               rtol=1e-15)
    assert repr(nn.Embedding(4, 3, max_norm=1.0, norm_type=3.0)) == "Embedding(4, 3, max_norm=1.0, norm_type=3.0)"


def test_from_pretrained_shares_memory_and_keeps_the_padding_row():
    x = tg.tensor(W_TABLE)
    e = nn.Embedding.from_pretrained(x, padding_idx=1)
    x[0, 0] = 99.0                                   # PyTorch: 99.0 (the weight is the given tensor's memory)
    assert e.weight[0, 0].item() == 99.0 and e.weight[1].tolist() == pytest.approx([0.1, 0.2, 0.2])
    assert e.padding_idx == 1 and not e.weight.requires_grad
    with pytest.raises(ValueError, match="embeddings must be 2-dimensional"):
        nn.Embedding.from_pretrained(tg.ones(3))
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4                      # stored non-negative
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(5, 2, sparse=True)


@given(st.integers(2, 6), st.integers(1, 4), st.floats(0.05, 3.0), st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
       st.lists(st.integers(0, 5), min_size=1, max_size=8), st.integers(0, 2 ** 16))
def test_embedding_max_norm_renormalises_looked_up_rows_as_documented(n, d, max_norm, p, idx, seed):
    idx = [i % n for i in idx]
    w0 = np.random.default_rng(seed).normal(size=(n, d)) * 2
    e = nn.Embedding(n, d, max_norm=max_norm, norm_type=p, _weight=tg.tensor(w0.copy()))
    out = e(tg.tensor(idx)).numpy()
    want = w0.copy()
    for i in set(idx):
        norm = np.sum(np.abs(w0[i]) ** p) ** (1 / p) if p != float("inf") else np.abs(w0[i]).max()
        if norm > max_norm:
            want[i] = w0[i] * (max_norm / (norm + 1e-7))
    np.testing.assert_allclose(e.weight.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(out, want[idx], rtol=1e-12)


# --- LSTM(proj_size=) ---------------------------------------------------------------------------------------------

# read off torch 2.13.0 (float64) for LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2), weights by _fill
PROJ_TORCH = {
    'out': [0.04640562400444775, -0.028397602712348445, 0.33285301377153087, -0.08699841626819635, 0.0149655242318213,
        -0.05996873732224082, 0.35574081711586025, -0.07301716643746532, 0.044571392780901276, -0.08548181192818768,
        0.26470185005128105, -0.07560782281887468, 0.03465055777948138, -0.08830975051003376, 0.3075680975811544,
        -0.0560645452538015, 0.04711396683617652, -0.08172687901954959, 0.15892878715827968, -0.058311326811295625,
        0.04275145866753256, -0.08196663081858596, 0.22528281523506502, -0.029814110280571536],
    'h_n': [0.01773869454237178, -0.24684639854248608, 0.04507654419054036, -0.17567606129454855, 0.39949066299565394,
        -0.041159820315972546, 0.3390607161394366, -0.07263005639677905, 0.04711396683617652, -0.08172687901954959,
        0.04275145866753256, -0.08196663081858596, 0.33285301377153087, -0.08699841626819635, 0.35574081711586025,
        -0.07301716643746532],
    'c_n': [-0.26803820040377213, -0.3193729568586012, -0.21800357344449484, -0.3799022924688372, -0.25910595922935187,
        -0.07523576528958723, 0.6976213926004236, 0.8030248441451171, 0.6653320744546617, 0.5884523764438601,
        0.6772923915648523, 0.6687157544664332, -0.3087901173872152, -0.1409927474203487, 0.04725262483838141,
        -0.2892644486783861, -0.13304020157885385, 0.030258877543403024, 0.5343363019808366, 0.7277131450345933,
        0.8685221007384514, 0.654689913271095, 0.7797235480619931, 0.7540083402967918],
    'x.grad': [0.06549177609748734, 0.011160114550545781, 0.28134984463879553, 0.27164483767732794, 0.12066525770911801,
        0.1446892240117324, 0.14705443705156557, 0.12249165484079229, -0.11518053408547624, -0.16522404870962787,
        -0.12895821925556097, -0.1731396865683695],
    'weight_hr_l0': [0.010358089255767363, -0.020563887382570332, -0.021572785070047597, 0.22839165209616288, 0.2349073184905051,
        0.13018726496649038],
    'weight_hr_l1_reverse': [0.8807888592049701, 0.8178994100692975, 0.683813803062874, 0.3299996371817595, 0.2962099177045775,
        0.22273462170138583],
    'weight_hh_l1': [-0.010671616265131308, 0.02672531286940181, -0.003988360697008567, 0.0119323428525645,
        -0.002284563342789159, -0.004827162343757224, -0.005584986872863894, 0.008647391032727518,
        -0.00011705296198647949, 0.004176145566860234, 0.00872471900294059, 0.0010215403913537394,
        0.020318839250991406, -0.06802176890379154, 0.004200937660089343, -0.06676408374409237,
        -0.0016673789178249868, -0.05338431503423269, 0.0009183870328232519, -0.000439763423243257,
        0.0024873298079068585, -0.0009938027829578078, 0.001863583999916615, 0.001099402775978543],
}


def _fill(name, shape):
    """Deterministic weights, the same formula as in the PyTorch script that produced PROJ_TORCH."""
    n = int(np.prod(shape))
    return 0.5 * np.sin(np.arange(n) * 0.37 + sum(map(ord, name)) * 0.01).reshape(shape)


def _proj_lstm():
    m = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=2).double()
    for k, p in m.named_parameters():
        p.data = tg.tensor(_fill(k, p.shape))
    return m


def test_lstm_proj_size_parameters_and_repr_as_pytorch():
    m = _proj_lstm()
    assert [(k, p.shape) for k, p in m.named_parameters()][:5] == [
        ("weight_ih_l0", (12, 2)), ("weight_hh_l0", (12, 2)), ("bias_ih_l0", (12,)), ("bias_hh_l0", (12,)),
        ("weight_hr_l0", (2, 3))]
    assert m.weight_ih_l1.shape == (12, 4) and m.weight_hr_l1_reverse.shape == (2, 3)
    assert len(list(m.parameters())) == 20
    assert repr(m) == "LSTM(2, 3, proj_size=2, num_layers=2, bidirectional=True)"
    assert nn.LSTM(2, 3, 1, True, False, 0.0, False, 1).proj_size == 1         # PyTorch's positional order
    for kw, msg in ((dict(proj_size=-1), "proj_size should be a positive integer or zero"),
                    (dict(proj_size=3), "proj_size has to be smaller than hidden_size")):
        with pytest.raises(ValueError, match=msg):
            nn.LSTM(2, 3, **kw)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
        nn.GRU(2, 3, proj_size=1)


def test_lstm_proj_size_forward_and_grads_match_pytorch():
    m = _proj_lstm()
    x = tg.tensor(np.cos(np.arange(12) * 0.7).reshape(3, 2, 2), requires_grad=True)
    h0 = tg.tensor(0.3 * np.sin(np.arange(16) * 1.1).reshape(4, 2, 2))
    c0 = tg.tensor(0.3 * np.cos(np.arange(24) * 0.9).reshape(4, 2, 3))
    out, (h, c) = m(x, (h0, c0))
    assert out.shape == (3, 2, 4) and h.shape == (4, 2, 2) and c.shape == (4, 2, 3)
    r = tg.tensor(np.sin(np.arange(24) * 0.3).reshape(3, 2, 4))
    ((out * r).sum() + (h ** 2).sum() + c.sum()).backward()
    got = {"out": out, "h_n": h, "c_n": c, "x.grad": x.grad, "weight_hr_l0": m.weight_hr_l0.grad,
           "weight_hr_l1_reverse": m.weight_hr_l1_reverse.grad, "weight_hh_l1": m.weight_hh_l1.grad}
    for k, v in got.items():
        np.testing.assert_allclose(v.numpy().ravel(), PROJ_TORCH[k], rtol=0, atol=1e-10, err_msg=k)


def test_lstm_proj_size_equations_gradcheck_lengths_and_unbatched():
    tg.manual_seed(3)
    m = nn.LSTM(3, 4, proj_size=2, batch_first=True).double()
    x = tg.randn(2, 5, 3, dtype=np.float64, requires_grad=True)
    out, (h, c) = m(x)
    # the equations by hand in numpy: h_t = W_hr (o * tanh(c_t))
    W_ih, W_hh, W_hr = m.weight_ih_l0.numpy(), m.weight_hh_l0.numpy(), m.weight_hr_l0.numpy()
    b = m.bias_ih_l0.numpy() + m.bias_hh_l0.numpy()
    sig = lambda z: 1 / (1 + np.exp(-z))                                          # noqa: E731
    hh, cc = np.zeros((2, 2)), np.zeros((2, 4))
    for t in range(5):
        i, f, g, o = np.split(x.numpy()[:, t] @ W_ih.T + hh @ W_hh.T + b, 4, axis=1)
        cc = sig(f) * cc + sig(i) * np.tanh(g)
        hh = (sig(o) * np.tanh(cc)) @ W_hr.T
        np.testing.assert_allclose(out.numpy()[:, t], hh, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c.numpy()[0], cc, rtol=1e-12)
    h0, c0 = tg.randn(1, 2, 2, dtype=np.float64), tg.randn(1, 2, 4, dtype=np.float64)
    xs = tg.randn(2, 3, 3, dtype=np.float64, requires_grad=True)
    assert tg.gradcheck(lambda *_: m(xs, (h0, c0))[0], [xs, h0, c0, *m.parameters()])
    # lengths= and a packed sequence agree; an unbatched input gives the batched result
    out_l, (h_l, _) = m(x, lengths=[5, 2])
    packed = nn.utils.rnn.pack_padded_sequence(x, [5, 2], batch_first=True, enforce_sorted=False)
    out_p, (h_p, _) = m(packed)
    np.testing.assert_allclose(nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True)[0].numpy(), out_l.numpy())
    np.testing.assert_allclose(h_p.numpy(), h_l.numpy())
    np.testing.assert_allclose(h_l.numpy()[0, 1], m(x[1:2, :2])[1][0].numpy()[0, 0], rtol=1e-12)
    out_u, (h_u, c_u) = m(x[0])
    assert out_u.shape == (5, 2) and h_u.shape == (1, 2) and c_u.shape == (1, 4)
    with pytest.raises(tg.ShapeError, match=r"expected h0 of shape \(1, 2, 2\), got \(1, 2, 4\)"):
        m(x, (tg.zeros(1, 2, 4, dtype=np.float64), tg.zeros(1, 2, 4, dtype=np.float64)))


# --- LayerNorm(0), LayerNorm(eps=0) ----------------------------------------------------------------------------

def test_layernorm_of_size_zero_is_valid_as_in_pytorch():
    """torch 2.13: LayerNorm(0) has weight of shape (0,), maps (3, 0) to (3, 0), weight.grad = tensor([])."""
    ln = nn.LayerNorm(0)
    assert ln.weight.shape == (0,) and ln.bias.shape == (0,)
    x = tg.zeros(3, 0, requires_grad=True)
    y = ln(x)
    assert y.shape == (3, 0) and y is not x
    y.sum().backward()
    assert x.grad.shape == (3, 0) and ln.weight.grad.shape == (0,)
    assert nn.LayerNorm((2, 0))(tg.zeros(5, 2, 0)).shape == (5, 2, 0)
    assert nn.functional.layer_norm(tg.zeros(4, 0), (0,)).shape == (4, 0)


def test_layernorm_eps_zero_on_a_constant_row_gives_nan_quietly():
    """torch 2.13 (LayerNorm(3, eps=0) on [[2, 2, 2], [1, 2, 3]], loss sum(y * [1, 2, 3])): y = [[nan] * 3,
    [-1.2247, 0, 1.2247]]; x.grad row 0 nan; weight.grad nan; bias.grad [2, 4, 6]."""
    ln = nn.LayerNorm(3, eps=0)
    x = tg.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # not even the package's own filter: no 0/0, no inf-inf
        y = ln(x)
        (y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.isnan(y.numpy()[0]).all() and np.isnan(x.grad.numpy()[0]).all()
    np.testing.assert_allclose(y.numpy()[1], [-np.sqrt(1.5), 0, np.sqrt(1.5)], rtol=1e-6)
    assert np.isnan(ln.weight.grad.numpy()).all()
    np.testing.assert_array_equal(ln.bias.grad.numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy()[1], [0, 0, 0], atol=1e-6)     # torch: [-1.19e-07, 0, 1.19e-07]
