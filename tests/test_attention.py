"""Attention and the Transformer family against PyTorch 2.13's numbers (written into
tests/attention_reference.py from the cases in tests/attention_cases.py), plus gradchecks, masks and errors."""
import copy
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
        close(t.grad.numpy(), exp["grads"][n], tol * 10 if dtype == np.float32 else tol, f"gradient of {n}")
    if mod is not None:
        for (k, p), e in zip(mod.named_parameters(), exp["pgrads"].values()):
            close(digest(p.grad.numpy().astype(np.float64)), e, tol * 10 if dtype == np.float32 else tol,
                  f"gradient of {k}")
