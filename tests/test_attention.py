"""Attention and the Transformer family against PyTorch 2.13's numbers (written into
tests/attention_reference.py from the cases in tests/attention_cases.py), plus gradchecks, masks and errors."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq.nn import functional as F

from attention_cases import CASES, arrays, mask_array
from attention_reference import REF

ACT = {"TANH": lambda x: x.tanh()}
TOL = {np.float64: 1e-10, np.float32: 1e-6}


def build(case):
    c = dict(case.get("ctor", {}))
    if "activation" in c:
        c["activation"] = ACT.get(c["activation"], c["activation"])
    m = case["module"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # enable_nested_tensor's note, as PyTorch's
        if m == "TransformerEncoder":
            layer = c.pop("layer")
            norm = nn.LayerNorm(layer["d_model"]) if c.pop("norm") else None
            return nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), c["num_layers"], norm)
        if m == "TransformerDecoder":
            layer = c.pop("layer")
            norm = nn.LayerNorm(layer["d_model"]) if c.pop("norm") else None
            return nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), c["num_layers"], norm)
        return getattr(nn, m)(**c)


def digest(g):
    P = np.random.RandomState(7).uniform(-1, 1, g.shape)
    return [float((g * P).sum()), float(np.abs(g).sum())]


def close(actual, expected, tol, what):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64).ravel(), np.asarray(expected, dtype=np.float64),
                               rtol=tol, atol=tol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_equals_pytorch(case, dtype):
    ref = REF[case["name"]]
    exp = ref["float64" if dtype == np.float64 else "float32"]
    tol = TOL[dtype]
    mod = None
    if case["module"] != "sdpa":
        mod = build(case).to(dtype)
        assert list(mod.state_dict()) == ref["keys"]               # PyTorch's names, in PyTorch's order
    shapes = [v.shape for v in mod.state_dict().values()] if mod is not None else []
    params, inputs, rng = arrays(case, shapes, dtype)
    if mod is not None:
        mod.load_state_dict(dict(zip(ref["keys"], params)))
    ts = {n: tg.tensor(a, requires_grad=True) for n, a in inputs.items()}
    args = [ts[n] for n, _ in case["inputs"]] + [ts[src] for src in case.get("same", {}).values()]
    kw = {k: (tg.tensor(mask_array(v).astype(dtype) if v[0] == "float" else mask_array(v))
              if isinstance(v, tuple) else v) for k, v in case.get("kwargs", {}).items()}
    if mod is None:
        out, w = F.scaled_dot_product_attention(*args, **kw), None
    else:
        res = mod(*args, **kw)
        out, w = res if isinstance(res, tuple) else (res, None)
    assert out.dtype == dtype
    assert list(out.shape) == exp["out_shape"]
    close(out.numpy(), exp["out"], tol, "output")
    assert (w is None) == (exp["weights"] is None)
    R = rng.uniform(-1, 1, out.shape).astype(dtype)
    loss = (out * tg.tensor(R)).sum()
    if w is not None:
        assert list(w.shape) == exp["weights_shape"]
        close(w.numpy(), exp["weights"], tol, "attention weights")
        loss = loss + (w * tg.tensor(rng.uniform(-1, 1, w.shape).astype(dtype))).sum()
    if "grads" not in exp:
        return
    loss.backward()
    for n, t in ts.items():
        close(t.grad.numpy(), exp["grads"][n], tol, f"gradient of {n}")
    if mod is not None:
        for (k, p), e in zip(mod.named_parameters(), exp["pgrads"].values()):
            close(digest(p.grad.numpy().astype(np.float64)), e, tol,
                  f"gradient of {k}")


# ---------------------------------------------------------------------------
# gradients against central differences (float64), over shapes
# ---------------------------------------------------------------------------

def f64(*shape, rng):
    return tg.tensor(rng.standard_normal(shape), dtype=np.float64, requires_grad=True)


@settings(max_examples=15)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.sampled_from(["none", "bool", "float", "causal"]), st.integers(0, 2 ** 16))
def test_sdpa_gradcheck(n, h, L, S, E, Ev, mask_kind, seed):
    rng = np.random.default_rng(seed)
    q, k, v = f64(n, h, L, E, rng=rng), f64(n, h, S, E, rng=rng), f64(n, h, S, Ev, rng=rng)
    kw = {}
    if mask_kind == "bool":                      # some rows may be fully masked: their output is 0
        kw["attn_mask"] = tg.tensor(rng.random((L, S)) < 0.6)
    elif mask_kind == "float":
        scores = rng.standard_normal((n, 1, L, S))
        kw["attn_mask"] = tg.tensor(np.where(rng.random((n, 1, L, S)) < 0.3, -np.inf, scores))
    elif mask_kind == "causal":
        kw["is_causal"] = True
    out = F.scaled_dot_product_attention(q, k, v, **kw)
    assert out.shape == (n, h, L, Ev) and np.isfinite(out.numpy()).all()
    assert tg.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kw), [q, k, v],
                        allow_constant=True)


@settings(max_examples=8)
@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2 ** 16))
def test_mha_gradcheck(heads, head_dim, L, S, n, batch_first, other_kv_dims, need_weights, seed):
    rng = np.random.default_rng(seed)
    tg.manual_seed(seed)
    E = heads * head_dim
    kdim, vdim = (E + 1, E + 2) if other_kv_dims else (E, E)
    mha = nn.MultiheadAttention(E, heads, kdim=kdim, vdim=vdim, batch_first=batch_first,
                                add_bias_kv=seed % 3 == 0, add_zero_attn=seed % 5 == 0).double()
    shape = (lambda t, d: (n, t, d)) if batch_first else (lambda t, d: (t, n, d))
    q, k, v = f64(*shape(L, E), rng=rng), f64(*shape(S, kdim), rng=rng), f64(*shape(S, vdim), rng=rng)
    kpm = tg.tensor(np.concatenate([np.zeros((n, 1), bool), rng.random((n, S - 1)) < 0.4], axis=1))

    def f(*_):
        out, w = mha(q, k, v, key_padding_mask=kpm, need_weights=need_weights)
        return (out, w) if need_weights else out
    out = f()[0] if need_weights else f()
    assert out.shape == shape(L, E)
    assert tg.gradcheck(f, [q, k, v, *mha.parameters()])


# ---------------------------------------------------------------------------
# masks, dropout, init, shapes, errors, views
# ---------------------------------------------------------------------------

def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    expected = np.array([[0, -np.inf, -np.inf, -np.inf], [0, 0, -np.inf, -np.inf], [0, 0, 0, -np.inf], [0, 0, 0, 0]])
    np.testing.assert_array_equal(m.numpy(), expected)
    assert m.dtype == np.float32
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=tg.float64).dtype == np.float64


def test_fully_masked_rows_give_zero_without_weights_and_nan_with_them():
    tg.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2).double()
    x = tg.randn(3, 2, 4, dtype=np.float64, requires_grad=True)
    mask = tg.tensor(np.array([[False, True, True], [True, True, True], [False, False, True]]))
    out, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy()[1], np.broadcast_to(mha.out_proj.bias.numpy(), (2, 4)))
    assert np.isfinite(x.grad.numpy()).all() and np.isfinite(mha.in_proj_weight.grad.numpy()).all()
    out, w = mha(x, x, x, attn_mask=mask)
    assert np.isnan(out.numpy()[1]).all() and np.isnan(w.numpy()[:, 1]).all()     # as PyTorch's explicit softmax
    assert np.isfinite(out.numpy()[[0, 2]]).all()


def test_dropout_on_attention_weights():
    tg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.4)
    x = tg.randn(16, 3, 8)
    mha.eval()
    out_eval, w_eval = mha(x, x, x, average_attn_weights=False)
    mha.train()
    out, w = mha(x, x, x, average_attn_weights=False)
    w, w_eval = w.numpy(), w_eval.numpy()
    kept = w != 0
    np.testing.assert_allclose(w[kept], w_eval[kept] / 0.6, rtol=1e-5)        # kept ones scaled by 1/(1-p)
    assert abs(1 - kept.mean() - 0.4) < 0.05
    assert not np.allclose(out.numpy(), out_eval.numpy())
    q = tg.randn(2, 5, 4)
    assert np.all(F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).numpy() == 0)
    mean = np.mean([F.scaled_dot_product_attention(q, q, q, dropout_p=0.3).numpy() for _ in range(400)], axis=0)
    np.testing.assert_allclose(mean, F.scaled_dot_product_attention(q, q, q).numpy(), atol=0.2)


def test_initialisation_as_pytorch():
    tg.manual_seed(0)
    E = 16
    mha = nn.MultiheadAttention(E, 4)
    w = mha.in_proj_weight.numpy()
    bound = math.sqrt(6 / (E + 3 * E))                                         # xavier_uniform_ on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert np.all(mha.in_proj_bias.numpy() == 0) and np.all(mha.out_proj.bias.numpy() == 0)
    assert np.abs(mha.out_proj.weight.numpy()).max() <= 1 / math.sqrt(E)      # Linear's own init
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear" and isinstance(mha.out_proj, nn.Linear)
    kv = nn.MultiheadAttention(E, 4, kdim=5, vdim=7, add_bias_kv=True, bias=False)
    assert kv.in_proj_weight is None and kv.in_proj_bias is None and kv.out_proj.bias is None
    assert kv.k_proj_weight.shape == (E, 5) and kv.v_proj_weight.shape == (E, 7) and kv.bias_k.shape == (1, 1, E)
    assert np.abs(kv.k_proj_weight.numpy()).max() <= math.sqrt(6 / (E + 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = nn.Transformer(8, 2, 2, 1, 12, dropout=0.0)
    for name, p in t.named_parameters():
        a = p.numpy()
        if a.ndim > 1:
            assert np.abs(a).max() <= math.sqrt(6 / (a.shape[0] + a.shape[1])), name
        elif "norm" in name:
            assert np.all(a == (1 if name.endswith("weight") else 0)), name
    layers = t.encoder.layers                                                   # deep copies, not shared
    assert layers[0].linear1.weight is not layers[1].linear1.weight
    assert len(list(t.parameters())) == len(t.state_dict())


def test_unbatched_and_batch_first_shapes():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    x = tg.randn(5, 8)
    out = layer(x)
    assert out.shape == (5, 8)
    np.testing.assert_allclose(out.numpy(), layer(x.unsqueeze(1)).numpy()[:, 0], atol=1e-6)
    bf = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    bf.load_state_dict(layer.state_dict())
    xb = tg.randn(3, 5, 8)
    np.testing.assert_allclose(bf(xb).numpy(), layer(xb.transpose(0, 1)).transpose(0, 1).numpy(), atol=1e-6)
    mha = nn.MultiheadAttention(8, 2)
    out, w = mha(x, tg.randn(7, 8), tg.randn(7, 8), average_attn_weights=False)
    assert out.shape == (5, 8) and w.shape == (2, 5, 7)


def test_encoder_nested_fast_path_zeroes_padding_like_pytorch():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2)
    x = tg.randn(2, 4, 8)
    pad = tg.tensor(np.array([[False, False, True, True], [False, False, False, False]]))
    with_grad = enc(x, src_key_padding_mask=pad).numpy()
    enc.eval()
    with tg.no_grad():
        fast = enc(x, src_key_padding_mask=pad).numpy()
    assert np.all(fast[0, 2:] == 0)                                            # padded positions: 0
    np.testing.assert_allclose(fast[0, :2], with_grad[0, :2], atol=1e-6)
    np.testing.assert_allclose(fast[1], with_grad[1], atol=1e-6)
    assert np.all(with_grad[0, 2:] != 0)                                       # in training: computed


def test_causal_mask_detected_and_is_causal_hint():
    tg.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2)
    x = tg.randn(5, 2, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    bool_causal = tg.tensor(np.triu(np.ones((5, 5), bool), 1))
    a = enc(x, mask=causal).numpy()
    np.testing.assert_allclose(enc(x, mask=bool_causal).numpy(), a, atol=1e-6)
    # the output at position t depends on inputs 0..t only
    x2 = tg.tensor(x.numpy().copy())
    x2.array[3:] += 1.0
    b = enc(x2, mask=causal).numpy()
    np.testing.assert_allclose(a[:3], b[:3], atol=1e-6)
    assert not np.allclose(a[3:], b[3:])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        nn.TransformerEncoderLayer(8, 2, device="cuda")
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    mha = nn.MultiheadAttention(4, 2)
    x = tg.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="bool and floating"):
        mha(x, x, x, attn_mask=tg.tensor(np.zeros((3, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        mha(x, x, x, attn_mask=tg.zeros(3, 4))
    with pytest.raises(ValueError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=tg.zeros(3, 2))
    with pytest.raises(ValueError, match="3-d"):
        mha(x, x[0], x[0])
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=tg.zeros(2, 2), is_causal=True)
    with pytest.raises(ValueError, match="scaled_dot_product_attention"):
        F.scaled_dot_product_attention(tg.randn(2, 3, 4), tg.randn(2, 5, 3), tg.randn(2, 5, 3))


def test_graph_view_collapses_repeated_layers():
    tg.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), num_layers=5)
    loss = enc(tg.randn(4, 2, 8)).sum()
    text = str(tg.viz.graph(loss, model=enc))
    assert "× 5 layers" in text                                                # one block per layer
    assert "layers.0." in text and "layers.2." not in text                      # only the earliest drawn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 4, norm=nn.LayerNorm(8))
    assert "× 4 layers" in str(tg.viz.graph(enc(tg.randn(4, 2, 8)).sum(), model=enc))  # a final norm on top
    lstm = nn.LSTM(4, 8)
    assert "× 30 steps" in str(tg.viz.graph(lstm(tg.randn(30, 1, 4))[0][-1].sum()))   # an RNN still counts steps


# ---------------------------------------------------------------------------
# whole modules saved and loaded (torch.save(model, f) in PyTorch programs), PyTorch's module paths
# ---------------------------------------------------------------------------

class TinyLM(nn.Module):
    """A module-level class, as a program's own model would be."""

    def __init__(self, vocab=11, d=8):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 2, 16, dropout=0.1, activation=F.gelu)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        self.head.weight = self.emb.weight                       # tied
        self.register_buffer("scale", tg.tensor([2.0]))
        self.note = ("tiny", 3)

    def forward(self, ids):
        h = self.emb(ids) * self.scale
        return self.head(self.encoder(h, mask=nn.Transformer.generate_square_subsequent_mask(ids.shape[0])))


def test_whole_module_save_and_load(tmp_path):
    tg.manual_seed(0)
    m = TinyLM()
    m.eval()
    ids = np.random.default_rng(0).integers(0, 11, (5, 2))
    before = m(ids).numpy()
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        tg.save(m, f)
    with pytest.raises(tg.CheckpointError, match="TinyLM.*not allowed.*safe_globals"):
        tg.load(path)
    with tg.serialization.safe_globals([TinyLM]):
        with open(path, "rb") as f:
            m2 = tg.load(f)
    with pytest.raises(tg.CheckpointError, match="not allowed"):    # the allowance ended with the block
        tg.load(path)
    assert type(m2) is TinyLM and m2.training is False and m2.note == ("tiny", 3)
    np.testing.assert_array_equal(m2(ids).numpy(), before)
    assert m2.head.weight is m2.emb.weight                            # still tied
    assert m2.encoder.layers[0].activation is F.gelu
    assert list(m2.state_dict()) == list(m.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m2.parameters())
    assert m2.scale.numpy().tolist() == [2.0] and not isinstance(m2.scale, nn.Parameter)
    m2.train()
    opt = tg.optim.SGD(m2.parameters(), lr=0.1)
    loss = F.cross_entropy(m2(ids).reshape(-1, 11), ids.reshape(-1))
    loss.backward()
    opt.step()
    assert not np.array_equal(m2.emb.weight.numpy(), m.emb.weight.numpy())   # a separate copy was trained
    m.register_forward_hook(lambda *a: None)
    with pytest.raises(TypeError, match="hooks"):
        tg.save(m, tmp_path / "hooked.pt")


def test_pytorch_module_paths_and_onnx():
    import tinygrad_seq.nn.modules.transformer as tr
    assert tr.TransformerEncoderLayer is nn.TransformerEncoderLayer
    assert tg.nn.modules.linear.NonDynamicallyQuantizableLinear is type(nn.MultiheadAttention(4, 2).out_proj)
    assert tg.nn.modules.activation.MultiheadAttention is nn.MultiheadAttention
    assert tg.nn.modules.sparse.Embedding is nn.Embedding and tg.nn.modules.container.ModuleList is nn.ModuleList
    import tinygrad_seq.onnx
    with pytest.raises(NotImplementedError, match="ONNX"):
        tinygrad_seq.onnx.export(nn.Linear(2, 2), tg.randn(1, 2), "m.onnx")


@pytest.mark.parametrize("make", [lambda: nn.LSTM(3, 4, 2, bidirectional=True), lambda: nn.GRU(3, 4),
                                  lambda: nn.RNN(3, 4, nonlinearity="relu"), lambda: nn.GRUCell(3, 4)],
                         ids=["lstm", "gru", "rnn-relu", "grucell"])
def test_recurrent_modules_save_whole(make):
    import io
    tg.manual_seed(1)
    m, buf = make(), io.BytesIO()
    x = tg.randn(2, 3) if isinstance(m, nn.GRUCell) else tg.randn(5, 2, 3)
    tg.save(m, buf)
    buf.seek(0)
    m2 = tg.load(buf)
    first = lambda o: o[0] if isinstance(o, tuple) else o                        # noqa: E731
    assert type(m2) is type(m) and m2.kind == m.kind
    np.testing.assert_array_equal(first(m2(x)).numpy(), first(m(x)).numpy())


def test_functional_mha_takes_pytorchs_arguments_and_static_kv():
    tg.manual_seed(3)
    E, H, L, S, N = 6, 3, 4, 5, 2
    mha = nn.MultiheadAttention(E, H).double()
    q = tg.randn(L, N, E, dtype=tg.float64)
    k = tg.randn(S, N, E, dtype=tg.float64)
    v = tg.randn(S, N, E, dtype=tg.float64)
    kpm = tg.tensor(np.array([[False] * 4 + [True], [False] * 5]))
    ref, ref_w = mha(q, k, v, key_padding_mask=kpm)
    args = (q, k, v, E, H, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0, mha.out_proj.weight,
            mha.out_proj.bias)                                   # PyTorch's positional order
    out, w = F.multi_head_attention_forward(*args, training=False, key_padding_mask=kpm)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w.numpy(), atol=1e-12)
    _, W_k, W_v = (a.numpy() for a in mha.in_proj_weight.chunk(3))
    b_k, b_v = (a.numpy() for a in mha.in_proj_bias.chunk(3)[1:])
    per_head = lambda a: a.reshape(S, N * H, E // H).transpose(1, 0, 2)    # noqa: E731  (N * H, S, E / H)
    static_k = tg.tensor(per_head(k.numpy() @ W_k.T + b_k))
    static_v = tg.tensor(per_head(v.numpy() @ W_v.T + b_v))
    ignored = tg.zeros(S, N, E, dtype=tg.float64)                # replaced by static_k / static_v
    out_s, _ = F.multi_head_attention_forward(q, ignored, ignored, *args[3:], training=False, key_padding_mask=kpm,
                                              static_k=static_k, static_v=static_v)
    np.testing.assert_allclose(out_s.numpy(), ref.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="embed_dim"):
        F.multi_head_attention_forward(q, k, v, E + 1, *args[4:])
