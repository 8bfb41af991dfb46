"""In-place updates with PyTorch's semantics, stale graphs refused, gradcheck that cannot pass vacuously,
and saves that never destroy a good checkpoint."""
import os

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

F = nn.functional


def _model_and_data(seed=0):
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((32, 3))
    x, y = tg.Tensor(xs), tg.Tensor(np.tanh(xs @ np.array([[1.0], [-2.0], [0.5]])))
    return model, x, y


# ---------------------------------------------------------------------------
# the training idiom that silently did nothing
# ---------------------------------------------------------------------------

def test_manual_sgd_under_no_grad_trains_and_keeps_every_parameter():
    model, x, y = _model_and_data()
    params = dict(model.named_parameters())
    ids = {k: id(p) for k, p in params.items()}
    arrays = {k: p.numpy() for k, p in params.items()}
    losses = []
    for _ in range(50):
        loss = F.mse_loss(model(x), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with tg.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert losses[-1] < 0.5 * losses[0]
    after = dict(model.named_parameters())
    assert {k: id(p) for k, p in after.items()} == ids                 # the same Parameter objects
    assert all(after[k].numpy() is arrays[k] for k in arrays)          # ... holding the same arrays
    assert all(isinstance(p, nn.Parameter) for p in after.values())


def test_augmented_assignment_on_a_module_attribute_keeps_the_parameter():
    lin = nn.Linear(2, 2)
    w = lin.weight
    before = w.numpy().copy()
    with tg.no_grad():
        lin.weight -= 0.1
    assert lin.weight is w and dict(lin.named_parameters())["weight"] is w
    np.testing.assert_allclose(w.numpy(), before - 0.1, rtol=1e-6)
    assert w.is_leaf and w.requires_grad and w._version == 1
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]          # still in its place


def test_data_is_a_detached_alias_so_data_add_works_as_in_pytorch():
    p = nn.Parameter(np.ones(3, np.float32))
    p.grad = tg.Tensor([1.0, 2.0, 3.0])
    d = p.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.numpy() is p.numpy()
    p.data.add_(p.grad, alpha=-0.5)                  # PyTorch's classic manual update
    np.testing.assert_allclose(p.numpy(), [0.5, 0.0, -0.5])
    assert p._version == 1


# ---------------------------------------------------------------------------
# every in-place operator and method, against numpy
# ---------------------------------------------------------------------------

A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
B = np.array([2.0, -1.0, 0.5])

INPLACE = [
    ("+=", lambda t: t.__iadd__(tg.Tensor(B)), lambda a: a + B),
    ("-=", lambda t: t.__isub__(tg.Tensor(B)), lambda a: a - B),
    ("*=", lambda t: t.__imul__(tg.Tensor(B)), lambda a: a * B),
    ("/=", lambda t: t.__itruediv__(tg.Tensor(B)), lambda a: a / B),
    ("+= number", lambda t: t.__iadd__(2), lambda a: a + 2),
    ("add_ alpha", lambda t: t.add_(tg.Tensor(B), alpha=3), lambda a: a + 3 * B),
    ("sub_ alpha", lambda t: t.sub_(tg.Tensor(B), alpha=2), lambda a: a - 2 * B),
    ("mul_", lambda t: t.mul_(3.0), lambda a: a * 3),
    ("div_", lambda t: t.div_(4.0), lambda a: a / 4),
    ("zero_", lambda t: t.zero_(), lambda a: a * 0),
    ("fill_", lambda t: t.fill_(7.0), lambda a: np.full_like(a, 7.0)),
    ("copy_", lambda t: t.copy_(tg.Tensor(B)), lambda a: np.broadcast_to(B, a.shape)),
    ("clamp_", lambda t: t.clamp_(-1.0, 2.0), lambda a: np.clip(a, -1, 2)),
    ("masked_fill_", lambda t: t.masked_fill_(tg.Tensor(A) > 0, -9.0), lambda a: np.where(A > 0, -9.0, a)),
    ("setitem", lambda t: t.__setitem__((0, slice(1, 3)), 5.0), lambda a: np.where([[0, 1, 1], [0, 0, 0]], 5.0, a)),
    ("setitem mask", lambda t: t.__setitem__(tg.Tensor(A) < 0, 0.0), lambda a: np.where(A < 0, 0.0, a)),
    ("exp_", lambda t: t.exp_(), np.exp),
    ("neg_", lambda t: t.neg_(), np.negative),
]


@pytest.mark.parametrize("name,op,ref", INPLACE, ids=[c[0] for c in INPLACE])
@pytest.mark.parametrize("mode", ["plain", "no_grad leaf", "recorded non-leaf"])
def test_inplace_ops_match_numpy_and_keep_identity(name, op, ref, mode):
    if mode == "plain":
        t = tg.Tensor(A.copy())
        buf = t.numpy()
        out = op(t)
        assert (out is t or out is None) and t.numpy() is buf and t._version == 1        # the tensor's own buffer changed
    elif mode == "no_grad leaf":
        t = tg.Tensor(A.copy(), requires_grad=True)
        with tg.no_grad():
            out = op(t)
        assert (out is t or out is None) and t.is_leaf and t.requires_grad
    else:                                     # recorded: the result is in the graph, gradients flow
        leaf = tg.Tensor(A.copy(), requires_grad=True)
        t = leaf * 1.0
        out = op(t)
        assert (out is t or out is None) and t.grad_fn is not None
        t.sum().backward()
        assert leaf.grad is not None and leaf.grad.shape == A.shape
    np.testing.assert_allclose(t.numpy(), ref(A.copy()), rtol=1e-12)


def test_recorded_inplace_gradients_are_right():
    x = tg.Tensor(A.copy(), requires_grad=True)
    v = tg.Tensor(np.array(2.0), requires_grad=True)
    assert tg.gradcheck(lambda x, v: (lambda y: (y.__imul__(x).__setitem__(0, v), y)[1])(x * 1.0).sum(), [x, v])
    y = x * 1.0
    y *= x                                   # y = x^2: dy/dx = 2x
    y[0] = v                                 # row 0 replaced by v: no gradient to x there
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.vstack([np.zeros(3), 2 * A[1]]))
    assert v.grad.item() == 3.0


def test_inplace_on_a_leaf_that_requires_grad_raises_pytorchs_error():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.__iadd__(1), lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 3.0),
               lambda: w.uniform_(), lambda: w.copy_(tg.Tensor([0.0, 0.0]))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                               "operation"):
            op()
    assert w.tolist() == [1.0, 2.0] and w.is_leaf and w._version == 0


def test_inplace_dtype_and_shape_rules():
    t = tg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t += 0.5                              # PyTorch: result type Float can't be cast to Long
    t += 2
    assert t.tolist() == [3, 4, 5] and t.dtype == np.int64
    x = tg.zeros(3)
    with pytest.raises(tg.ShapeError, match=r"add_"):
        x += tg.ones(2, 3)                     # PyTorch: output with shape [3] doesn't match the broadcast shape
    f32 = tg.zeros(2)
    f32 += tg.Tensor(np.ones(2, np.float64))
    assert f32.dtype == np.float32


def test_random_fills_and_requires_grad_():
    tg.manual_seed(0)
    t = tg.zeros(2000)
    t.uniform_(-2.0, 3.0)
    assert -2 <= t.numpy().min() and t.numpy().max() < 3 and abs(t.numpy().mean() - 0.5) < 0.1
    t.normal_(1.0, 0.5)
    assert abs(t.numpy().mean() - 1.0) < 0.05 and abs(t.numpy().std() - 0.5) < 0.05
    assert t.requires_grad_() is t and t.requires_grad
    u = tg.zeros(2, 3)
    u.unsqueeze_(0)
    assert u.shape == (1, 2, 3)


def test_chained_item_assignment_on_plain_tensors():
    t = tg.zeros(2, 3)
    t[1][2] += 1                                # t[1] is a view: the change reaches t
    t[0, 0] = 5
    assert t.tolist() == [[5.0, 0.0, 0.0], [0.0, 0.0, 1.0]]


# ---------------------------------------------------------------------------
# stale graphs: a saved tensor changed in place before backward
# ---------------------------------------------------------------------------

def _lstm_loss():
    tg.manual_seed(1)
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(tg.randn(5, 2, 3))
    return lstm, out.pow(2).mean()


def test_retain_graph_with_no_change_still_works():
    lstm, loss = _lstm_loss()
    loss.backward(retain_graph=True)
    g1 = {k: p.grad.numpy().copy() for k, p in lstm.named_parameters()}
    lstm.zero_grad()
    loss.backward()
    for k, p in lstm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), g1[k], rtol=1e-6)


def test_backward_after_an_optimizer_step_raises_naming_the_op():
    lstm, loss = _lstm_loss()
    opt = optim.SGD(lstm.parameters(), lr=0.1)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"'matmul' saved for its gradient was modified in place.*"
                                           r"Run the forward pass again"):
        loss.backward()


def test_backward_after_plus_equals_under_no_grad_raises_with_the_parameter_name():
    lin = nn.Linear(3, 2)
    loss = lin(tg.randn(4, 3, requires_grad=True)).sum()   # the input's gradient reads the weight (PyTorch saves
    with tg.no_grad():                                      # it only then: see test_pytorch_semantics_autograd.py)
        lin.weight += 1.0
    with pytest.raises(RuntimeError, match=r"the parameter 'weight' of shape \(2, 3\)"):
        loss.backward()


def test_backward_after_load_state_dict_raises():
    lstm, loss = _lstm_loss()
    state = lstm.state_dict()
    lstm.load_state_dict(state)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_backward_after_changing_an_input_tensor_raises():
    x = tg.randn(3, 4)
    w = tg.randn(4, 2, requires_grad=True)
    loss = (x @ w).sum()
    x.mul_(2.0)                               # x is saved by matmul for dL/dw = x^T g
    with pytest.raises(RuntimeError, match="'matmul'"):
        loss.backward()


def test_changes_to_tensors_the_graph_did_not_save_are_fine():
    w = tg.randn(3, requires_grad=True)
    b = tg.randn(3)
    loss = (w + b).sum()                      # add saves nothing
    b.add_(1.0)
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones(3))


def test_a_change_made_before_the_graph_was_built_is_not_stale_when_another_change_follows():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        w -= 0.5                              # before the forward pass: the graph saves the new values
    loss = (w * w).sum()                      # mul saves w
    other = tg.tensor([0.0, 0.0])
    other += 1.0                              # a later in-place change to a tensor the graph did not save
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 3.0])      # 2 * [0.5, 1.5]


# ---------------------------------------------------------------------------
# gradcheck cannot pass vacuously
# ---------------------------------------------------------------------------

def test_gradcheck_refuses_float32_module_parameters_with_a_way_out():
    tg.manual_seed(0)
    model = nn.Linear(3, 2)
    x = tg.randn(4, 3, dtype=np.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"input 1 \(shape \(2, 3\)\) is float32.*model.double\(\)"):
        tg.gradcheck(lambda *_: model(x), [x, *model.parameters()])


def test_gradcheck_catches_a_doubled_gradient_through_module_parameters():
    tg.manual_seed(0)
    model = nn.Linear(3, 2).double()
    x = tg.randn(4, 3, dtype=np.float64, requires_grad=True)
    assert tg.gradcheck(lambda *_: model(x), [x, *model.parameters()])
    model.weight.register_hook(lambda g: g * 2)
    with pytest.raises(tg.GradcheckError, match=r"input 1 \(shape \(2, 3\)\)"):
        tg.gradcheck(lambda *_: model(x), [x, *model.parameters()])


def test_gradcheck_fails_when_no_input_influences_the_output():
    x = tg.randn(3, dtype=np.float64, requires_grad=True)
    other = tg.randn(3, dtype=np.float64)
    with pytest.raises(tg.GradcheckError, match="no input influences the output"):
        tg.gradcheck(lambda _: other * 2, [x])
    assert tg.gradcheck(lambda _: other * 2, [x], allow_constant=True)


# ---------------------------------------------------------------------------
# save never destroys a good checkpoint
# ---------------------------------------------------------------------------

def _module_holding_a_lambda():
    m = nn.Linear(2, 2)
    m.act = lambda x: x                  # a whole module saves as data, but a lambda cannot be named
    return m


@pytest.mark.parametrize("bad", [
    {"w": np.array([object(), 1], dtype=object)},
    {"w": np.zeros(2), "f": open},
    {"model": _module_holding_a_lambda()},
    {1: np.zeros(2)},
])
def test_a_failing_save_leaves_the_old_checkpoint_byte_for_byte(tmp_path, bad):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        tg.save(bad, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]           # no temporary file left behind
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))


def test_save_and_load_through_file_objects(tmp_path):
    import io
    buf = io.BytesIO()
    tg.save({"a": tg.Tensor([1.0, 2.0]), "n": 3}, buf)
    buf.seek(0)
    state = tg.load(buf, map_location="cpu")
    np.testing.assert_array_equal(state["a"], [1.0, 2.0])
    assert state["n"] == 3
    lin, buf = nn.Linear(2, 2), io.BytesIO()                      # a whole module too (tinygrad_seq's own class)
    tg.save(lin, buf)
    buf.seek(0)
    back = tg.load(buf)
    assert type(back) is nn.Linear and np.array_equal(back.weight.numpy(), lin.weight.numpy())
