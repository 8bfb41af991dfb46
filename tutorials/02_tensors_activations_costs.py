# %% [markdown]
# # 2. Tensors, activations and costs
#
# Lesson 1 took derivatives of single numbers. Networks work on arrays, and two
# array rules account for most gradient bugs: what broadcasting does to a
# gradient, and the gradient of a matrix product. Then the activation functions
# recurrent networks use, with their derivatives drawn, and the two costs we
# train with: mean squared error and cross-entropy.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts
from tinygrad_seq.nn import functional as F

QUICK = quick()
rng = np.random.default_rng(0)


def t64(a, grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, requires_grad=grad)

# %% [markdown]
# ## Broadcasting, and why its gradient is a sum
#
# Adding a bias $b \in \mathbb{R}^{4}$ to a batch $X \in \mathbb{R}^{3 \times 4}$
# copies $b$ into every row: $Y_{ij} = X_{ij} + b_j$. Each copy is a separate
# use of $b_j$, and lesson 1 showed that the gradients of a value used several
# times add up. So
#
# $$\frac{\partial L}{\partial b_j} = \sum_i \frac{\partial L}{\partial Y_{ij}}$$
#
# the upstream gradient summed over the broadcast axis, and `b.grad` has the
# shape of `b`, not of `Y`. With $L = \sum_{ij} Y_{ij}^2$ the upstream gradient is $2Y$:

# %%
X, b = t64(rng.normal(size=(3, 4))), t64(rng.normal(size=4))
Y = X + b
(Y ** 2).sum().backward()
expected = (2 * Y.numpy()).sum(axis=0)
broadcast_diff = float(np.abs(b.grad.numpy() - expected).max())
print("Y.shape", Y.shape, " b.grad.shape", b.grad.shape)
print("b.grad        ", b.grad.numpy().round(6))
print("sum_i 2 Y_ij  ", expected.round(6))
print(f"largest difference: {broadcast_diff:.3g}")

# %% [markdown]
# ## The matmul gradient
#
# For $Y = X W$ with $X \in \mathbb{R}^{n \times k}$, $W \in \mathbb{R}^{k \times m}$
# and upstream gradient $G = \partial L / \partial Y$:
#
# $$\frac{\partial L}{\partial W} = X^\top G, \qquad \frac{\partial L}{\partial X} = G\, W^\top$$
#
# (each entry $W_{pq}$ meets every row of $X$, so its gradient sums over the
# rows; the shapes leave only one way to write it). We pick $G$ at random by
# taking $L = \sum Y \odot G$:

# %%
Xm, Wm = t64(rng.normal(size=(5, 3))), t64(rng.normal(size=(3, 2)))
G = rng.normal(size=(5, 2))
((Xm @ Wm) * tg.tensor(G, dtype=np.float64)).sum().backward()
matmul_diff = max(float(np.abs(Wm.grad.numpy() - Xm.numpy().T @ G).max()),
                  float(np.abs(Xm.grad.numpy() - G @ Wm.numpy().T).max()))
print("dL/dW from backward():\n", Wm.grad.numpy().round(6))
print("X^T G:\n", (Xm.numpy().T @ G).round(6))
print(f"largest difference (dW and dX): {matmul_diff:.3g}")

# %% [markdown]
# ## Activations and their derivatives
#
# $$\sigma(z) = \frac{1}{1+e^{-z}},\ \ \sigma'(z) = \sigma(z)(1-\sigma(z)) \qquad
#   \tanh'(z) = 1 - \tanh^2(z) \qquad \mathrm{ReLU}(z) = \max(0, z),\ \ \mathrm{ReLU}'(z) = [z > 0]$$
#
# We let `backward()` compute each derivative on a grid of points (the sum of
# independent elementwise outputs has the elementwise derivative as its
# gradient) and compare with the formulas. Look at the heights of the
# derivative curves: the sigmoid's derivative never exceeds a quarter and the
# tanh's never exceeds one, and both go to zero for large $|z|$. A gradient
# that passes through many of these on its way back through time shrinks with
# each one: that is lesson 4.

# %%
z = np.linspace(-4, 4, 41 if QUICK else 161)
values, derivs, formula_diff = {}, {}, 0.0
formulas = {"sigmoid": lambda s, z: s * (1 - s), "tanh": lambda s, z: 1 - s ** 2,
            "relu": lambda s, z: (z > 0).astype(float)}
for name in formulas:
    zt = t64(z)
    out = getattr(zt, name)()
    out.sum().backward()
    values[name], derivs[name] = out.numpy(), zt.grad.numpy()
    formula_diff = max(formula_diff, float(np.abs(derivs[name] - formulas[name](out.numpy(), z)).max()))
print(f"backward() vs the formulas, largest difference: {formula_diff:.3g}")
max_deriv = {name: float(d.max()) for name, d in derivs.items()}
print("largest derivative:", {k: round(v, 6) for k, v in max_deriv.items()})

charts.plot({f"{k}(z)": v for k, v in values.items() if k != "relu"}, x=z, xlabel="z",
            title="activations", png=figure("02_activations"), height=10)
charts.plot({f"{k}'(z)": v for k, v in derivs.items()}, x=z, xlabel="z",
            title="their derivatives", png=figure("02_derivatives"), height=10)

# %% [markdown]
# ## Softmax and its Jacobian
#
# Softmax turns a vector of scores into probabilities, $p_i = e^{z_i} / \sum_k e^{z_k}$.
# Every output depends on every input, so its derivative is a matrix:
#
# $$\frac{\partial p_i}{\partial z_j} = p_i(\delta_{ij} - p_j), \qquad J = \mathrm{diag}(p) - p\,p^\top$$
#
# One `backward()` per output $p_i$ gives row $i$ of $J$:

# %%
zs = rng.normal(size=4)
rows = []
for i in range(4):
    zt = t64(zs)
    zt.softmax(axis=-1)[i].backward()
    rows.append(zt.grad.numpy())
p = np.exp(zs) / np.exp(zs).sum()
J = np.diag(p) - np.outer(p, p)
softmax_diff = float(np.abs(np.array(rows) - J).max())
print("p =", p.round(4))
print("Jacobian from backward():\n", np.array(rows).round(4))
print(f"largest difference from diag(p) - p p^T: {softmax_diff:.3g}")

# %% [markdown]
# ## Costs: mean squared error and cross-entropy
#
# For regression, $\mathrm{MSE} = \frac1N \sum_n (\hat y_n - y_n)^2$ with gradient
# $\frac{2}{N}(\hat y - y)$. For classification into $K$ classes, the network
# outputs scores $z$, softmax turns them into $p$, and cross-entropy is
# $-\log p_y$ for the true class $y$. Through the softmax, the gradient with
# respect to the scores collapses to something very simple:
#
# $$\frac{\partial}{\partial z_j}\big(-\log p_y\big) = p_j - [j = y], \qquad \nabla_z = p - \mathrm{onehot}(y)$$
#
# (averaged over the batch when the loss is a mean). We check both:

# %%
yhat, ytrue = t64(rng.normal(size=6)), rng.normal(size=6)
F.mse_loss(yhat, tg.tensor(ytrue, dtype=np.float64)).backward()
mse_diff = float(np.abs(yhat.grad.numpy() - 2 * (yhat.numpy() - ytrue) / 6).max())
print(f"MSE gradient vs 2(yhat - y)/N: largest difference {mse_diff:.3g}")

N, K = 5, 4
logits = t64(rng.normal(size=(N, K)))
labels = rng.integers(0, K, N)
F.cross_entropy(logits, tg.tensor(labels, dtype=np.int64)).backward()
probs = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
ce_diff = float(np.abs(logits.grad.numpy() - (probs - np.eye(K)[labels]) / N).max())
print(f"cross-entropy gradient vs (p - onehot(y))/N: largest difference {ce_diff:.3g}")

# %% [markdown]
# ## Why cross-entropy pairs with softmax
#
# Take one example that the network gets confidently *wrong*: a large score on
# class 0 while the true class is 1. With cross-entropy the gradient on the
# scores is $p - \mathrm{onehot}(y)$, close to $-1$ on the true class: a strong
# push in the right direction. With squared error on the probabilities, the
# gradient is $\frac{2}{K}(p - y)$ multiplied by the softmax Jacobian, and with a
# saturated softmax that Jacobian $\mathrm{diag}(p) - p p^\top$ is nearly zero:
# the network hardly learns from its worst mistakes. The norms of the two
# gradients, as the wrong score grows:

# %%
wrong_scores = [2.0, 4.0, 6.0, 8.0] if QUICK else [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
ce_norms, mse_norms = [], []
for s in wrong_scores:
    zc = t64([[s, 0.0, 0.0, 0.0]])
    F.cross_entropy(zc, tg.tensor([1], dtype=np.int64)).backward()
    zm = t64([[s, 0.0, 0.0, 0.0]])
    F.mse_loss(zm.softmax(axis=-1), tg.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=np.float64)).backward()
    ce_norms.append(float(np.linalg.norm(zc.grad.numpy())))
    mse_norms.append(float(np.linalg.norm(zm.grad.numpy())))
    print(f"wrong score {s:4.1f}: |grad| cross-entropy {ce_norms[-1]:.4f}   MSE on softmax {mse_norms[-1]:.6f}")
charts.plot({"cross-entropy": ce_norms, "MSE on softmax": mse_norms}, x=wrong_scores, logy=True,
            xlabel="score of the wrong class", ylabel="|dL/dz|", title="gradient on a confident mistake",
            png=figure("02_ce_vs_mse"), height=10)

# %% [markdown]
# Every gradient rule above matched its formula to the printed difference, the
# derivative curves top out where the plot shows, and cross-entropy's push on a
# confident mistake stays strong while squared error's fades. Summary:

# %%
result(broadcast_diff=broadcast_diff, matmul_diff=matmul_diff, activation_diff=formula_diff,
       sigmoid_max_deriv=max_deriv["sigmoid"], tanh_max_deriv=max_deriv["tanh"], softmax_diff=softmax_diff,
       mse_diff=mse_diff, ce_diff=ce_diff, ce_grad_wrong=ce_norms[-1], mse_grad_wrong=mse_norms[-1])
