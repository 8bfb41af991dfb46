"""PyTorch habits on modules: buffers, hooks, apply, traversal without duplicates, tied weights,
and the LayerNorm / GELU / LeakyReLU / Identity layers checked against numpy."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn

F = nn.functional


# ---------------------------------------------------------------------------
# layers
# ---------------------------------------------------------------------------

def np_layer_norm(x, axes, w=None, b=None, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)       # biased
    y = (x - mu) / np.sqrt(var + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


def test_layer_norm_forward_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * 3 + 1
    ln = nn.LayerNorm(4)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones(4))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros(4))
    ln.weight.numpy()[...] = rng.standard_normal(4)
    ln.bias.numpy()[...] = rng.standard_normal(4)
    np.testing.assert_allclose(ln(tg.Tensor(x)).numpy(), np_layer_norm(x, (2,), ln.weight.numpy(), ln.bias.numpy()),
                               rtol=1e-5, atol=1e-5)
    ln2 = nn.LayerNorm((3, 4), eps=1e-3, elementwise_affine=False)
    assert ln2.weight is None and ln2.bias is None and list(ln2.parameters()) == []
    np.testing.assert_allclose(ln2(tg.Tensor(x)).numpy(), np_layer_norm(x, (1, 2), eps=1e-3), rtol=1e-5, atol=1e-5)
    ln3 = nn.LayerNorm(4, bias=False)
    assert [n for n, _ in ln3.named_parameters()] == ["weight"]
    assert repr(ln) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    with pytest.raises(ValueError):
        ln(tg.zeros(2, 5))


def test_layer_norm_gradcheck():
    tg.manual_seed(0)
    ln = nn.LayerNorm((2, 3)).double()
    rng = np.random.default_rng(1)
    ln.weight.numpy()[...] = rng.standard_normal((2, 3))
    ln.bias.numpy()[...] = rng.standard_normal((2, 3))
    x = tg.Tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [x, ln.weight, ln.bias])


def test_gelu_exact_and_tanh_against_references():
    xs = np.linspace(-6, 6, 241)
    x = tg.Tensor(xs)                                               # float64
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    assert np.abs(nn.GELU()(x).numpy() - exact).max() < 1e-6
    tanh_ref = 0.5 * xs * (1 + np.tanh(np.sqrt(2 / np.pi) * (xs + 0.044715 * xs ** 3)))
    np.testing.assert_allclose(nn.GELU("tanh")(x).numpy(), tanh_ref, rtol=1e-12, atol=1e-12)
    assert F.gelu(tg.zeros(3)).dtype == np.float32
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    with pytest.raises(ValueError):
        nn.GELU("fast")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck(approximate):
    x = tg.Tensor(np.random.default_rng(2).standard_normal(12) * 2, requires_grad=True)
    assert tg.gradcheck(lambda x: F.gelu(x, approximate), [x])
    if approximate == "none":                        # the derivative is Phi(x) + x phi(x)
        x.grad = None
        F.gelu(x).sum().backward()
        v = x.numpy()
        cdf = 0.5 * (1 + np.array([math.erf(t / math.sqrt(2)) for t in v]))
        want = cdf + v * np.exp(-v * v / 2) / math.sqrt(2 * math.pi)
        np.testing.assert_allclose(x.grad.numpy(), want, atol=1e-6)


def test_leaky_relu_and_identity():
    x = tg.Tensor([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).numpy(), [-0.2, 0.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(nn.LeakyReLU()(x).numpy(), [-0.02, 0.0, 3.0], rtol=1e-6)
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    ident = nn.Identity(54, unused="x")
    assert ident(x) is x and list(ident.parameters()) == []


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------

class Stats(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.register_buffer("running_mean", tg.zeros(2))
        self.register_buffer("steps", tg.tensor(0))
        self.register_buffer("scratch", tg.ones(2), persistent=False)
        self.register_buffer("empty", None)

    def forward(self, x):
        return self.lin(x) - self.running_mean


def test_buffers_in_state_dict_and_load():
    m = Stats()
    assert list(m.state_dict()) == ["running_mean", "steps", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "steps", "scratch"]
    assert [n for n, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    assert len(list(m.buffers())) == 3
    m.running_mean = tg.Tensor([1.0, 2.0])                 # assignment keeps it a buffer
    assert "running_mean" in m._buffers and m.running_mean.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError):
        m.running_mean = [1.0, 2.0]
    sd = m.state_dict()
    other = Stats()
    other.load_state_dict(sd)
    assert other.running_mean.tolist() == [1.0, 2.0]
    sd.pop("steps")
    with pytest.raises(KeyError, match="steps"):
        other.load_state_dict(sd)
    assert other.load_state_dict(sd, strict=False).missing_keys == ["steps"]
    m.double()
    assert m.running_mean.dtype == np.float64 and m.steps.dtype == np.int64
    with pytest.raises(KeyError):
        m.register_buffer("lin", tg.zeros(1))
    with pytest.raises(KeyError):
        m.register_buffer("a.b", tg.zeros(1))
    with pytest.raises(TypeError):
        m.register_buffer("c", np.zeros(1))
    del m.scratch
    assert "scratch" not in dict(m.named_buffers())


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


def test_tied_weights_state_dict_and_named_parameters():
    m = Tied()
    assert [n for n, _ in m.named_parameters()] == ["embed.weight"]
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == ["embed.weight", "head.weight"]
    sd = m.state_dict()
    assert list(sd) == ["embed.weight", "head.weight"]
    np.testing.assert_array_equal(sd["embed.weight"], sd["head.weight"])
    other = Tied()
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.head.weight.numpy(), sd["embed.weight"])
    assert other.head.weight is other.embed.weight


def test_shared_module_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.Tanh(), shared)
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert len(list(seq.children())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in seq.named_modules(prefix="model")][:2] == ["model", "model.0"]


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    calls = []

    def record(mod, args, out):
        calls.append((mod, args, out))

    h = lin.register_forward_hook(record)
    x = tg.ones(1, 2)
    y = lin(x)
    assert len(calls) == 1 and calls[0][0] is lin and calls[0][1][0] is x and calls[0][2] is y
    h2 = lin.register_forward_hook(lambda m, a, out: out * 0)
    assert lin(x).tolist() == [[0.0, 0.0]] and len(calls) == 2
    h2.remove()
    h2.remove()                                              # twice is harmless
    pre = lin.register_forward_pre_hook(lambda m, args: args[0] * 2)     # single value: wrapped in a tuple
    np.testing.assert_allclose(lin(x).numpy(), lin.forward(x * 2).numpy())
    assert calls[-1][1][0].tolist() == [[2.0, 2.0]]          # the forward hook sees the new inputs
    pre.remove()
    h.remove()
    n = len(calls)
    lin(x)
    assert len(calls) == n
    with lin.register_forward_hook(lambda m, a, k, out: out + k["bump"], with_kwargs=True):
        class Bump(nn.Module):
            def forward(self, x, bump=0.0):
                return x + bump
        b = Bump()
        b.register_forward_hook(lambda m, a, k, out: out * k["bump"], with_kwargs=True)
        assert b(tg.ones(1), bump=2.0).tolist() == [6.0]
    assert not lin._forward_hooks


def test_apply_requires_grad_and_zero_grad():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Tanh", "Linear", "Sequential"]      # children before the parent
    model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert model[0].bias.tolist() == [0, 0, 0]
    model(tg.ones(4, 2)).sum().backward()
    g = model[0].weight.grad
    model.zero_grad(set_to_none=False)
    assert model[0].weight.grad is g and not g.numpy().any()           # zeroed in place
    model.zero_grad()
    assert model[0].weight.grad is None
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_new_names_are_reachable():
    assert tg.nn.init.xavier_uniform_ and tg.nn.utils.rnn.pack_padded_sequence and tg.utils.data.DataLoader
    assert tg.nn.utils.clip_grad_norm_ and tg.nn.utils.clip_grad_value_
    for cls in (tg.nn.LayerNorm, tg.nn.GELU, tg.nn.LeakyReLU, tg.nn.Identity):
        assert cls.__doc__
