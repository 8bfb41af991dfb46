"""Module system, layers, checkpoints."""
from __future__ import annotations

import os

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

F = nn.functional


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4, padding_idx=0)
        self.rnn = nn.LSTM(4, 8, batch_first=True)
        self.head = nn.Linear(8, 10)
        self.drop = nn.Dropout(0.1)

    def forward(self, idx):
        out, _ = self.rnn(self.drop(self.embed(idx)))
        return self.head(out)


def test_registration_names_and_modes():
    m = Model()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["embed.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                     "head.weight", "head.bias"]
    assert [type(c).__name__ for c in m.children()] == ["Embedding", "LSTM", "Linear", "Dropout"]
    assert len(list(m.modules())) == 5
    m.eval()
    assert not m.training and not m.rnn.training
    m.train()
    assert m.drop.training
    assert "(rnn): LSTM(4, 8, batch_first=True)" in repr(m)
    assert "(head): Linear(in_features=8, out_features=10, bias=True)" in repr(m)


def test_zero_grad_and_state_dict_round_trip():
    m = Model()
    out = m(np.array([[1, 2, 3]]))
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    sd = m.state_dict()
    other = Model()
    other.load_state_dict(sd)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    sd["head.weight"][...] = 0                  # PyTorch's: the values share memory with the parameters
    assert np.abs(m.head.weight.numpy()).sum() == 0
    assert np.abs(other.head.weight.numpy()).sum() > 0      # load_state_dict copied


def test_load_state_dict_reports_missing_unexpected_and_mismatched():
    m = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match='Missing key.*"bias"'):
        m.load_state_dict({"weight": np.zeros((2, 3))})
    with pytest.raises(RuntimeError, match='Unexpected key.*"extra"'):
        m.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(2), "extra": np.zeros(1)})
    with pytest.raises(RuntimeError, match=r"Linear:\n\tsize mismatch for weight: copying a param with shape "
                                           r"\(3, 2\) from checkpoint, the shape in current model is \(2, 3\)"):
        m.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(2)})
    res = m.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert res.missing_keys == ["bias"] and m.weight.numpy().sum() == 6


def test_containers():
    seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.LogSoftmax(dim=1))
    assert seq(tg.randn(5, 3)).shape == (5, 2) and len(seq) == 4 and isinstance(seq[1], nn.Tanh)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    md = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.GRUCell(2, 3)})

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.ml, self.md = ml, md
    names = [n for n, _ in Holder().named_parameters()]
    assert "ml.2.weight" in names and "md.b.weight_hh" in names
    assert set(md.keys()) == {"a", "b"}


def test_linear_embedding_dropout_activations():
    tg.manual_seed(0)
    lin = nn.Linear(4, 3)
    assert lin.weight.shape == (3, 4) and np.abs(lin.weight.numpy()).max() <= 0.5
    with pytest.raises(tg.ShapeError, match="linear: input has 5 features"):
        lin(tg.randn(2, 5))
    emb = nn.Embedding(5, 2, padding_idx=0)
    assert np.all(emb.weight.numpy()[0] == 0)
    out = emb(np.array([[0, 1, 1], [2, 0, 4]]))
    out.sum().backward()
    assert np.all(emb.weight.grad.numpy()[0] == 0) and np.all(emb.weight.grad.numpy()[1] == 2)
    with pytest.raises(IndexError, match=r"embedding: indices must be in \[0, 5\)"):
        emb(np.array([5]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(tg.Tensor([1.0]))
    drop = nn.Dropout(0.5).eval()
    x = tg.randn(10)
    assert drop(x) is x
    np.testing.assert_allclose(nn.Softmax(dim=0)(tg.Tensor([0.0, 0.0])).numpy(), [0.5, 0.5])
    assert nn.ReLU()(tg.Tensor([-1.0])).item() == 0 and nn.Sigmoid()(tg.Tensor(0.0)).item() == 0.5


def test_parameter_always_requires_grad_and_is_a_tensor():
    p = nn.Parameter(np.zeros(3, np.float32))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.zeros(3, np.int64))


# ---------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------

def _train(model, opt, steps, data):
    losses = []
    for x, y in data[:steps]:
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, 10), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_checkpoint_round_trip_resumes_identically(tmp_path):
    rng = np.random.default_rng(0)
    data = [(rng.integers(1, 10, (2, 5)), rng.integers(0, 10, (2, 5))) for _ in range(6)]
    tg.manual_seed(0)
    model = Model().eval()
    opt = optim.Adam(model.parameters(), lr=0.01)
    _train(model, opt, 3, data)
    path = tmp_path / "ckpt.npz"
    tg.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": 3, "note": "hi"}, path)
    after = _train(model, opt, 6, data[3:] + data[:3])

    ckpt = tg.load(path)
    assert ckpt["step"] == 3 and ckpt["note"] == "hi"
    tg.manual_seed(123)
    model2 = Model().eval()
    opt2 = optim.Adam(model2.parameters(), lr=0.01)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    resumed = _train(model2, opt2, 6, data[3:] + data[:3])
    assert resumed == after


def test_bad_checkpoints_raise_one_clear_error_and_never_run_code(tmp_path):
    good = tmp_path / "good.npz"
    tg.save({"w": np.arange(3.0)}, good)
    truncated = tmp_path / "trunc.npz"
    truncated.write_bytes(good.read_bytes()[:40])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(2))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __structure__=np.array([{"evil": 1}], dtype=object))
    for path in (truncated, garbage, foreign, pickled, tmp_path / "missing.npz"):
        with pytest.raises(tg.CheckpointError, match=str(path.name)):
            tg.load(path)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": np.ones(3)}, path)

    def dies_halfway(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(tg.serialization.np, "savez", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tg.load(path)["w"], np.ones(3))
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    with pytest.raises(TypeError, match="cannot store a object"):
        tg.save({"bad": object()}, path)
