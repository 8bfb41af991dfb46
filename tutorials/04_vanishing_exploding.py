# %% [markdown]
# # 4. Vanishing and exploding gradients
#
# Lesson 3's error term went back through time as
# $\delta^a_t = (W^\top \delta^a_{t+1} + \dots) \odot \tanh'(a_t)$: one multiplication by
# $W^\top$ and by a tanh derivative (at most 1, lesson 2) per step. Over many
# steps, a product of many factors either shrinks towards zero or grows without
# bound. This lesson measures it, for the vanilla RNN and for the gated cells
# of lessons 5 and 6, and shows the usual guard against the growing kind.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, nn, optim
from tinygrad_seq.nn import functional as F

QUICK = quick()
rng = np.random.default_rng(0)

# %% [markdown]
# ## How far back does a gradient reach?
#
# Run a cell over $T$ steps of the same random input, let the loss read only
# the last hidden state, $L = r^\top h_T$ for a fixed random $r$, and ask how
# much of $\partial L / \partial h_t$ is left at each earlier step $t$. The
# hidden states are intermediate tensors, whose gradients `backward()` normally
# throws away; `h.retain_grad()` asks it to keep them in `h.grad`. By the chain rule
#
# $$\frac{\partial L}{\partial h_t} = \Big(\prod_{k=t+1}^{T} \frac{\partial h_k}{\partial h_{k-1}}\Big)^{\!\top} \frac{\partial L}{\partial h_T},
#   \qquad \text{for the RNN}\quad \frac{\partial h_k}{\partial h_{k-1}} = \mathrm{diag}\big(1 - h_k^2\big)\, W$$

# %%
T = 50 if QUICK else 100
I, H = 4, 16
x = tg.tensor(rng.normal(size=(T, 1, I)), dtype=np.float64)     # float64: the smallest norms underflow float32
r = tg.tensor(rng.normal(size=(1, H)), dtype=np.float64)


def grad_norms(cell):
    """|dL/dh_t| for t = 1..T, with L = r . h_T."""
    cell = cell.double()
    h = tg.zeros(1, H, dtype=np.float64)
    c = tg.zeros(1, H, dtype=np.float64)
    hs = []
    for t in range(T):
        if isinstance(cell, nn.LSTMCell):
            h, c = cell(x[t], (h, c))
        else:
            h = cell(x[t], h)
        h.retain_grad()
        hs.append(h)
    (hs[-1] * r).sum().backward()
    return np.array([np.linalg.norm(h.grad.numpy()) for h in hs])


def with_gate_bias(cell, gate, shift):
    """The cell with ``shift`` added to the bias of gate number ``gate`` (LSTM i,f,g,o; GRU r,z,n)."""
    state = cell.state_dict()
    bias = state["bias_ih"].clone()               # state_dict() values share memory with the weights
    bias[gate * H:(gate + 1) * H] += shift
    state["bias_ih"] = bias
    cell.load_state_dict(state)
    return cell

# %% [markdown]
# At PyTorch's default initialisation, all three kinds of cell are compared on
# the same input. An LSTM carries its memory cell forward as
# $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, so along the cell the gradient is
# multiplied by the forget gate $f_t$ at each step, with no weight matrix and no
# squashing derivative in between; a GRU keeps $z_t \odot h_{t-1}$ of its old
# state in the same way. At initialisation those gates sit near $\sigma(0) = 0.5$.
# The usual remedy (Gers et al. 2000, Jozefowicz et al. 2015) starts the forget
# gate more open by adding 1 to its bias; we do the same for the GRU's update
# gate and draw all five curves (log scale):

# %%
tg.manual_seed(0)
norms = {"RNN": grad_norms(nn.RNNCell(I, H)),
         "LSTM": grad_norms(nn.LSTMCell(I, H)),
         "GRU": grad_norms(nn.GRUCell(I, H)),
         "LSTM forget bias +1": grad_norms(with_gate_bias(nn.LSTMCell(I, H), 1, 1.0)),
         "GRU update bias +1": grad_norms(with_gate_bias(nn.GRUCell(I, H), 1, 1.0))}
ratios = {name: float(n[0] / n[-1]) for name, n in norms.items()}
for name, ratio in ratios.items():
    print(f"{name:>20}: |dL/dh_1| / |dL/dh_T| = {ratio:.3g}   (per step: x{ratio ** (1 / (T - 1)):.3f})")
charts.plot(norms, x=np.arange(1, T + 1), logy=True, xlabel="time step t", ylabel="|dL/dh_t|",
            title=f"gradient reaching step t from the loss at step {T}", png=figure("04_grad_norms"))

# %% [markdown]
# The per-step factor is what matters: raised to the power of the distance, it
# decides whether an input that many steps back can still influence learning.
# The gated cells with the more open gate keep a much larger share of the
# gradient than the vanilla RNN (compare the printed ratios), and lesson 5 shows
# what that buys on a task with a long delay.
#
# ## The spectral radius of $W$
#
# For the vanilla RNN, the factor $W$ appears once per step. Its spectral
# radius $\rho(W)$, the largest $|\lambda|$ over its eigenvalues, sets how fast
# $W^k$ grows or shrinks. Since $|\tanh'| \leq 1$, a radius below 1 makes the
# gradient vanish for certain; above 1 it *can* explode, though the tanh
# saturates as the states grow and pulls the other way. We rescale the same $W$
# to several radii and measure:

# %%
radii = [0.5, 1.0, 1.5, 2.0, 3.0] if QUICK else [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]
tg.manual_seed(1)
cell = nn.RNNCell(I, H)
W0 = cell.state_dict()["weight_hh"].clone().numpy()     # a snapshot: state_dict() values share memory
rho0 = float(np.abs(np.linalg.eigvals(W0)).max())
sweep = {}
for rho in radii:
    state = cell.state_dict()
    state["weight_hh"] = W0 * (rho / rho0)
    cell.load_state_dict(state)
    n = grad_norms(cell)
    sweep[rho] = float(n[0] / n[-1])
    print(f"rho(W) = {rho:4.2f}: |dL/dh_1| / |dL/dh_T| = {sweep[rho]:.3g}")
print(charts.bar_chart({f"rho={k}": float(np.log10(v)) for k, v in sweep.items()},
                       title="log10 of the ratio: below 0 vanishing, above 0 exploding", fmt="{:+.1f}"))

# %% [markdown]
# ## Gradient clipping
#
# Exploding gradients do their damage through the update: one huge gradient
# throws the weights far from anywhere sensible, and the loss overflows. The
# guard is to rescale the whole gradient whenever its norm exceeds a threshold,
#
# $$g \leftarrow g \cdot \min\Big(1, \frac{\tau}{\lVert g \rVert}\Big)$$
#
# (`nn.utils.clip_grad_norm_`, Pascanu et al. 2013). Two runs, identical except
# for the clipping: a tanh RNN with $\rho(W) = 1.5$ learning to output the sum of
# its last two inputs, SGD with learning rate 0.3. The unclipped run overflows
# (numpy's overflow warnings are silenced below; the loss becomes `nan`):

# %%
def train(clip, steps, T_task=20, B=16, H_task=16, seed=0):
    tg.manual_seed(seed)
    data = np.random.default_rng(seed)
    rnn, head = nn.RNN(1, H_task), nn.Linear(H_task, 1)
    state = rnn.state_dict()
    W = state["weight_hh_l0"].numpy()
    state["weight_hh_l0"] = W * (1.5 / np.abs(np.linalg.eigvals(W)).max())
    rnn.load_state_dict(state)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = optim.SGD(params, lr=0.3)
    losses, grad_norm = [], []
    for step in range(steps):
        xs = data.uniform(-1, 1, (T_task, B, 1))
        out, _ = rnn(tg.tensor(xs, dtype=np.float32))
        loss = F.mse_loss(head(out[-1]), tg.tensor(xs[-2:].sum(axis=0), dtype=np.float32))
        opt.zero_grad()
        loss.backward()
        grad_norm.append(float(nn.utils.clip_grad_norm_(params, clip)))
        opt.step()
        losses.append(loss.item())
    return np.array(losses), np.array(grad_norm)


steps = 80 if QUICK else 300
with np.errstate(over="ignore", invalid="ignore"):
    loss_free, norm_free = train(float("inf"), steps)
    loss_clip, norm_clip = train(1.0, steps)
diverged = not np.isfinite(loss_free[-1])
first_bad = int(np.argmax(~np.isfinite(loss_free))) if diverged else -1
print(f"without clipping: largest gradient norm {np.nanmax(norm_free):.3g}, final loss {loss_free[-1]:.4g}"
      + (f" (not finite from step {first_bad})" if diverged else ""))
print(f"with clipping at 1: largest gradient norm {norm_clip.max():.3g} (before clipping), "
      f"loss {loss_clip[:10].mean():.4f} over the first 10 steps, {loss_clip[-10:].mean():.4f} over the last 10")
charts.plot({"no clipping": loss_free, "clip_grad_norm_(1.0)": loss_clip}, logy=True, xlabel="SGD step",
            ylabel="MSE", title="the same run with and without clipping", png=figure("04_clipping"))

# %% [markdown]
# Both runs start from the same weights and see the same batches; only the
# clipped one survives, and its loss falls. Summary:

# %%
result(rnn_ratio=ratios["RNN"], lstm_ratio=ratios["LSTM forget bias +1"], gru_ratio=ratios["GRU update bias +1"],
       lstm0_ratio=ratios["LSTM"], gru0_ratio=ratios["GRU"], rho_low_ratio=sweep[radii[0]],
       rho_high_ratio=sweep[radii[-1]], noclip_diverged=int(diverged),
       clip_loss_first=float(loss_clip[:10].mean()), clip_loss_last=float(loss_clip[-10:].mean()))
