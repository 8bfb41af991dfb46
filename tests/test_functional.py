"""``tg.autograd.functional``: vjp, jvp, jacobian, hessian, hvp, vhp, as PyTorch's.

Closed forms worked out by hand (x^T A x, sum sin x, log-sum-exp, a tiny MLP),
the identities between the functions (hvp = H v, vhp = v^T H, jvp = J v,
vjp = u^T J, forward- and reverse-mode Jacobians equal), PyTorch's return
structures and strict-mode errors, and float64 numbers read off PyTorch 2.13
for an LSTM loss's Hessian-vector product and a GRU's forward-mode JVP.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.autograd.forward_ad as fwAD
from tinygrad_seq.autograd import functional as AF

RNG = np.random.default_rng(5)
A = RNG.standard_normal((3, 3))
X0 = RNG.standard_normal(3)


def T(a):
    return tg.tensor(np.asarray(a, dtype=np.float64))


def quad(x):
    return x @ T(A) @ x


def test_hessians_of_small_functions_against_closed_forms() -> None:
    np.testing.assert_allclose(AF.hessian(quad, T(X0)).numpy(), A + A.T, rtol=1e-12)
    np.testing.assert_allclose(AF.hessian(lambda x: x.sin().sum(), T(X0)).numpy(), np.diag(-np.sin(X0)), atol=1e-15)
    p = np.exp(X0) / np.exp(X0).sum()
    np.testing.assert_allclose(AF.hessian(lambda x: x.logsumexp(0), T(X0)).numpy(), np.diag(p) - np.outer(p, p),
                               rtol=1e-12, atol=1e-15)
    for strategy in ("reverse-mode", "forward-mode"):
        np.testing.assert_allclose(AF.hessian(quad, T(X0), outer_jacobian_strategy=strategy).numpy(), A + A.T,
                                   rtol=1e-12)


def test_hessian_of_a_tiny_mlp_by_hand() -> None:
    """f(W, x) = sum(tanh(W x)): d2f/dW2 is diagonal-by-row, d2f/dx2 = W^T diag(t'') W."""
    W0, x0 = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    (hWW, hWx), (hxW, hxx) = AF.hessian(lambda W, x: (W @ x).tanh().sum(), (T(W0), T(x0)))
    a = W0 @ x0
    t2 = -2 * np.tanh(a) * (1 - np.tanh(a) ** 2)           # tanh''
    np.testing.assert_allclose(hxx.numpy(), W0.T @ np.diag(t2) @ W0, rtol=1e-12)
    np.testing.assert_allclose(hWW.numpy(), np.einsum("i,ik,j,l->ijkl", t2, np.eye(2), x0, x0), rtol=1e-12,
                               atol=1e-15)                  # d2f/dW_ij dW_kl = t''_i [i == k] x_j x_l
    # d2f/dW_ij dx_k = t''_i W_ik x_j + t'_i [j == k]
    t1 = 1 - np.tanh(a) ** 2
    expected = np.einsum("i,ik,j->ijk", t2, W0, x0) + np.einsum("i,jk->ijk", t1, np.eye(3))
    np.testing.assert_allclose(hWx.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(hxW.numpy(), expected.transpose(2, 0, 1), rtol=1e-12)
    assert hWW.shape == (2, 3, 2, 3) and hxW.shape == (3, 2, 3)


def test_hvp_vhp_jvp_vjp_agree_with_the_matrices() -> None:
    v = RNG.standard_normal(3)
    f = lambda x: (x.sin() * x.exp()).sum() + quad(x)           # noqa: E731
    H = AF.hessian(f, T(X0)).numpy()
    val, hv = AF.hvp(f, T(X0), T(v))
    _, vh = AF.vhp(f, T(X0), T(v))
    np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-12)
    np.testing.assert_allclose(vh.numpy(), v @ H, rtol=1e-12)
    assert abs(val.item() - f(T(X0)).item()) < 1e-15
    g = lambda x: (x[:2] * x[1:]).tanh() @ T(A[:2, :2])         # noqa: E731   R^3 -> R^2
    J = AF.jacobian(g, T(X0)).numpy()
    Jf = AF.jacobian(g, T(X0), strategy="forward-mode").numpy()
    hand = np.zeros((2, 3))                                      # hand Jacobian: u = x[:2] x[1:], y = tanh(u) @ B
    u = X0[:2] * X0[1:]
    du = np.zeros((2, 3))
    du[0, 0], du[0, 1], du[1, 1], du[1, 2] = X0[1], X0[0], X0[2], X0[1]
    hand = A[:2, :2].T @ (np.diag(1 - np.tanh(u) ** 2) @ du)
    np.testing.assert_allclose(J, hand, rtol=1e-12)
    np.testing.assert_allclose(Jf, hand, rtol=1e-12)
    _, jv = AF.jvp(g, T(X0), T(v))
    _, jv_trick = AF.jvp(g, T(X0), T(v), create_graph=True)     # the double-backward trick (PyTorch's way)
    np.testing.assert_allclose(jv.numpy(), hand @ v, rtol=1e-12)
    np.testing.assert_allclose(jv_trick.numpy(), hand @ v, rtol=1e-12)
    u2 = RNG.standard_normal(2)
    _, uj = AF.vjp(g, T(X0), T(u2))
    np.testing.assert_allclose(uj.numpy(), u2 @ hand, rtol=1e-12)


def test_return_structures_mirror_the_inputs() -> None:
    x, y = T([1.0, 2.0]), T([3.0])
    f1 = lambda x, y: (x * y).sum()                              # noqa: E731
    out, g = AF.vjp(f1, (x, y))
    assert isinstance(g, tuple) and len(g) == 2 and not isinstance(out, tuple)
    out, g = AF.vjp(lambda x: (x * x).sum(), x)
    assert isinstance(g, tg.Tensor) and g.tolist() == [2.0, 4.0]
    J = AF.jacobian(lambda x, y: (x * y, x.sum()), (x, y))      # tuple of outputs x tuple of inputs
    assert [[j.shape for j in row] for row in J] == [[(2, 2), (2, 1)], [(2,), (1,)]]
    J = AF.jacobian(lambda x: (x * 2, x.sum()), x)
    assert isinstance(J, tuple) and J[0].shape == (2, 2) and J[1].shape == (2,)
    J = AF.jacobian(lambda x, y: x * y, (x, y))
    assert isinstance(J, tuple) and J[1].tolist() == [[1.0], [2.0]]
    H = AF.hessian(f1, (x, y))
    assert H[0][1].shape == (2, 1) and H[1][0].tolist() == [[1.0, 1.0]]
    _, hv = AF.hvp(lambda x: (x ** 3).sum(), x, T([1.0, 1.0]))
    assert hv.tolist() == [6.0, 12.0] and hv.grad_fn is None
    Jf = AF.jacobian(lambda x, y: (x * y, x.sum()), (x, y), strategy="forward-mode")
    for a, b in zip(J if False else AF.jacobian(lambda x, y: (x * y, x.sum()), (x, y)), Jf):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_create_graph_keeps_the_results_differentiable() -> None:
    x = tg.tensor([0.5, -1.0], dtype=np.float64, requires_grad=True)
    H = AF.hessian(lambda x: (x ** 4).sum(), x, create_graph=True)   # diag(12 x^2)
    H.sum().backward()                                               # d/dx sum(12 x^2) = 24 x
    np.testing.assert_allclose(x.grad.numpy(), 24 * x.numpy())
    _, hv = AF.hvp(lambda x: (x ** 4).sum(), x, T([1.0, 1.0]), create_graph=True)
    assert hv.grad_fn is not None
    _, jv = AF.jvp(lambda x: x ** 3, x, T([1.0, 2.0]), create_graph=True)
    g, = tg.autograd.grad(jv.sum(), x)                              # d/dx (3 x^2 v) = 6 x v
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy() * [1.0, 2.0])
    out, vj = AF.vjp(lambda x: x.exp(), x, T([1.0, 1.0]))
    assert vj.grad_fn is None and out.grad_fn is None


def test_errors_as_pytorchs() -> None:
    x = T([1.0, 2.0])
    with pytest.raises(RuntimeError, match="The vector v can only be None if the user-provided function returns"):
        AF.vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match="The vector v can only be None if the input to the user-provided"):
        AF.jvp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match=r"v has invalid size: should be \(2,\) but got \(3,\)"):
        AF.hvp(lambda x: x.sum(), x, T([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but got 1"):
        AF.vhp(lambda x, y: (x * y).sum(), (x, x), (x,))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        AF.hessian(lambda x: (x.sum(), x.sum()), x)
    with pytest.raises(RuntimeError, match="should contain a single element"):
        AF.hessian(lambda x: x * 2, x)
    with pytest.raises(AssertionError, match="Expected strategy"):
        AF.jacobian(lambda x: x, x, strategy="sideways")
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        AF.jacobian(lambda x: x, x, create_graph=True, strategy="forward-mode")
    # strict: an output independent of an input raises instead of giving zeros
    const = lambda x, y: x * 2                                  # noqa: E731
    assert AF.jacobian(const, (x, x))[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        AF.jacobian(const, (x, x), strict=True)
    with pytest.raises(RuntimeError, match="The output of the user-provided function is independent of input 1"):
        AF.vjp(lambda x, y: (x * 2).sum(), (x, x), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.vjp(lambda x: T([1.0]), x, T([1.0]), strict=True)
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0 is "
                                           "independent"):
        AF.hvp(lambda x: (x * 2).sum(), x, x, strict=True)   # linear: its Hessian is identically 0
    assert AF.hvp(lambda x: (x * 2).sum(), x, x)[1].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------
# PyTorch 2.13's numbers (float64, read off with torch.autograd.functional.hvp and forward_ad;
# weights, inputs and directions are numpy draws of default_rng(21), in this order)
# ---------------------------------------------------------------------------

def _swap(module, names, tensors):
    for n, t in zip(names, tensors):
        setattr(module, n, t)                   # a plain tensor in the parameter's place (PyTorch's recipe)


def test_lstm_loss_hessian_vector_product_matches_pytorch() -> None:
    rng = np.random.default_rng(21)
    lstm = tg.nn.LSTM(3, 2).double()
    names = [n for n, _ in lstm.named_parameters()]
    params = {n: rng.standard_normal(p.shape) * 0.5 for n, p in lstm.named_parameters()}
    x = rng.standard_normal((4, 2, 3))
    V = [rng.standard_normal(x.shape)] + [rng.standard_normal(params[n].shape) for n in names]

    def f(x, *ps):
        _swap(lstm, names, ps)
        out, (h, c) = lstm(x)
        return (out ** 2).sum() + (h * c).sum()

    val, hv = AF.hvp(f, tuple(T(a) for a in [x] + [params[n] for n in names]), tuple(T(v) for v in V))
    assert abs(val.item() - LSTM_LOSS) < 1e-14
    for got, want in zip(hv, LSTM_HVP):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-11, atol=1e-13)


def test_gru_forward_mode_jvp_matches_pytorch() -> None:
    rng = np.random.default_rng(21)
    for n in [(8, 3), (8, 2), (8,), (8,)]:                      # the LSTM's draws come first
        rng.standard_normal(n)
    rng.standard_normal((4, 2, 3))
    for n in [(4, 2, 3), (8, 3), (8, 2), (8,), (8,)]:
        rng.standard_normal(n)
    gru = tg.nn.GRU(3, 3, batch_first=True).double()
    names = [n for n, _ in gru.named_parameters()]
    G = {n: rng.standard_normal(p.shape) * 0.5 for n, p in gru.named_parameters()}
    gx = rng.standard_normal((2, 3, 3))
    GT = [rng.standard_normal(gx.shape)] + [rng.standard_normal(G[n].shape) for n in names]
    with fwAD.dual_level():
        xd = fwAD.make_dual(T(gx), T(GT[0]))
        _swap(gru, names, [fwAD.make_dual(T(G[n]), T(t)) for n, t in zip(names, GT[1:])])
        out, h = gru(xd)
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(), GRU_OUT_TANGENT, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(fwAD.unpack_dual(h).tangent.numpy(), GRU_H_TANGENT, rtol=1e-11, atol=1e-13)


LSTM_LOSS = 0.9056151236678585
LSTM_HVP = [ [[[0.18474675605595, 0.065253944039176, -0.01201771521548], [-0.021366493183865, 0.110984457566512, 0.13367787722175]], [[-0.053996609896947, -0.062693628224305, 0.179397371982042], [0.243463790657763, -0.178600148585418, 0.492554848135771]], [[0.33049592389485, 0.275883840200962, 0.207119314489747], [0.450941167932736, 0.161308753514839, 0.339460160532374]], [[0.090198966852444, -0.911617311378813, 0.540332330220461], [0.527535197147531, -0.446726151142274, 0.617865819935421]]],
[[-0.45997260182255, -0.119744978903415, 0.051565731060875], [0.069499409531423, 0.033971597948591, 0.220704016528948], [-0.012214714149317, 0.062231160238653, 0.055210440900283], [0.049107094912336, 0.01930316534595, -0.060758083526061], [-0.192670131088984, 0.102178023080945, 0.043981660925668], [0.011192825577937, 0.532908394688181, -0.61161719358619], [-0.683597168394812, 0.030901401600738, 0.217086811185989], [1.060868226851005, -0.036103683489751, -0.050868113230012]],
[[0.018693723340447, 0.036064688326653], [0.149090486631141, -0.209866320671726], [0.02797613218294, -0.046316888999621], [0.145002953280438, -0.177097190776045], [0.161782287795949, -0.117950506922394], [-0.331863080972414, 0.188283542640637], [-0.0212667218447, 0.027248964622425], [0.338132004481588, -0.337492663125721]],
[-0.225559081425422, 0.917106055296858, 0.247789555844915, 0.776669944915461, 0.427120714350404, 0.401649684346302, -0.422838440615717, 1.550392006822666],
[-0.225559081425422, 0.917106055296857, 0.247789555844915, 0.776669944915462, 0.427120714350404, 0.401649684346302, -0.422838440615717, 1.550392006822666] ]
GRU_OUT_TANGENT = [[[1.542277869088222, 0.185524949903656, 0.788174153857515], [2.277670735731566, 0.419080891616762, 0.27697369765599], [2.18182365825365, 2.979993199230742, 0.353099273366004]], [[1.069461598248379, 3.579760477621638, -1.146255062374424], [1.302127912507195, 2.186164267979005, 0.256129324728088], [1.017950104902247, 1.986343983508278, 0.735375067566094]]]
GRU_H_TANGENT = [[[2.18182365825365, 2.979993199230742, 0.353099273366004], [1.017950104902247, 1.986343983508278, 0.735375067566094]]]
