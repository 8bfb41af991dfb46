# %% [markdown]
# # 4. Vanishing and exploding gradients
#
# Lesson 3's error term went back through time as
# $\delta^a_t = (W^\top \delta^a_{t+1} + \dots) \odot \tanh'(a_t)$: one multiplication by
# $W^\top$ and by a tanh derivative (at most 1, lesson 2) per step. Over many
# steps, a product of many factors either shrinks towards zero or grows without
# bound. This lesson measures it, for the vanilla RNN and for the gated cells
# of lessons 5 and 6, and shows the usual guard against the growing kind.
#
# From here on the lessons use PyTorch's names (the table at the end of lesson 3):
# the state is $h_t$ (lesson 3's $s_t$), and in this lesson $W$ always means the
# recurrent matrix $W_{hh}$ (`weight_hh`, lesson 3's $W$).

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
# $$\frac{\partial L}{\partial h_t} = J_{t+1}^\top J_{t+2}^\top \cdots J_T^\top\, \frac{\partial L}{\partial h_T},
#   \qquad J_k = \frac{\partial h_k}{\partial h_{k-1}}, \qquad \text{for the RNN}\quad J_k = \mathrm{diag}\big(1 - h_k^2\big)\, W$$
#
# (one Jacobian per step, in this order: matrices do not commute).

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
#
# Read the printed ratios closely. At PyTorch's default initialisation the LSTM
# and the GRU lose their gradient as fast as the vanilla RNN (their ratios are
# within a factor of 100 of the RNN's, or smaller): gates that sit near
# $\sigma(0) = 0.5$ halve the gradient along the cell at every step, and being
# gated buys nothing by itself. Only the cells with the forget (update) gate's
# bias raised by 1, so that it starts near $\sigma(1) \approx 0.73$, keep a much
# larger share. That is why lessons 5 and 6 start their cells that way, and
# lesson 5 shows what it buys on a task with a long delay.
#
# ## What decides vanishing: the largest singular value, not the spectral radius
#
# For the vanilla RNN each step back multiplies the gradient by
# $J_k^\top = \big(\mathrm{diag}(\tanh'(a_k))\, W\big)^\top$. A norm bound on one
# factor is $\lVert J_k \rVert \le \gamma\, \sigma_{\max}(W)$, where
# $\sigma_{\max}(W) = \lVert W \rVert_2$ is $W$'s largest singular value and
# $\gamma$ bounds the activation's derivative ($\gamma = 1$ for tanh,
# $\tfrac14$ for the sigmoid). So
#
# $$\gamma\, \sigma_{\max}(W) < 1 \quad\Longrightarrow\quad
#   \Big\lVert \frac{\partial L}{\partial h_t} \Big\rVert \le \big(\gamma\, \sigma_{\max}(W)\big)^{T-t}\,
#   \Big\lVert \frac{\partial L}{\partial h_T} \Big\rVert$$
#
# is a *sufficient* condition for the gradient to vanish, and
# $\gamma\, \sigma_{\max}(W) > 1$ is *necessary* for it to explode (Pascanu,
# Mikolov & Bengio 2013). The spectral radius $\rho(W)$, the largest
# $|\lambda|$ over $W$'s eigenvalues, is never larger than $\sigma_{\max}(W)$
# and only describes $W^k$ on its own, for large $k$. With the diagonal
# factors in between, which change from step to step, $\rho(W) < 1$ guarantees
# nothing. A counterexample: a $2 \times 2$ $W$ with both eigenvalues of size
# 0.9 (so $W^{99}$ alone shrinks), and diagonal factors a tanh derivative can
# take ($1 - h^2 = 0.3$ where $|h| \approx 0.84$), alternating between the two
# units, over 99 steps:

# %%
a = np.sqrt(10.81)
W_ce = np.array([[a, 10.0], [-1.0, -a]])          # W @ W = 0.81 I: eigenvalues +0.9 and -0.9
rho_ce = float(np.abs(np.linalg.eigvals(W_ce)).max())
sigma_ce = float(np.linalg.norm(W_ce, 2))         # the largest singular value
D_ce = [np.diag([1.0, 0.3]), np.diag([0.3, 1.0])] # tanh'(a_k) at two alternating kinds of step
g = np.ones(2) / np.sqrt(2)                        # dL/dh_T, norm 1
for k in range(99):
    g = (D_ce[k % 2] @ W_ce).T @ g                 # one step back: dL/dh_(k-1) = J_k^T dL/dh_k
counter_growth = float(np.linalg.norm(g))
w_power = float(np.linalg.norm(np.linalg.matrix_power(W_ce, 99), 2))
print(f"rho(W) = {rho_ce:.3f}, sigma_max(W) = {sigma_ce:.3f}: gamma * sigma_max = {sigma_ce:.2f} > 1")
print(f"|W^99| = {w_power:.3g} (shrinks), but |dL/dh_(T-99)| / |dL/dh_T| = {counter_growth:.3g} (explodes)")

# %% [markdown]
# In a real RNN the diagonal factors come from its own states, and the tanh
# saturates as the states grow (its derivative falls towards 0), which pulls
# the other way. We rescale one random $W$ to several spectral radii and measure
# what happens in practice:

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
sigma_low = float(np.linalg.norm(W0 * (radii[0] / rho0), 2))
print(f"at rho = {radii[0]}: sigma_max(W) = {sigma_low:.3f}"
      + (" < 1, so the bound above guarantees vanishing" if sigma_low < 1 else " (not below 1: no guarantee)"))

# %% [markdown]
# ## Gradient clipping
#
# Exploding gradients do their damage through the update: one huge gradient
# throws the weights far from anywhere sensible, and the loss overflows. The
# guard is to rescale the whole gradient whenever its norm exceeds a threshold,
#
# $$g \leftarrow g \cdot \min\Big(1, \frac{\tau}{\lVert g \rVert}\Big)$$
#
# (`nn.utils.clip_grad_norm_`, Pascanu et al. 2013). Why this is enough: an
# SGD step is $\Delta\theta = -\eta\, g$, so after clipping
# $\lVert \Delta\theta \rVert \le \eta\, \tau$ whatever the gradient was. The
# direction is kept; only the length of the step is bounded. Two runs, identical except
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
    losses, grad_norm, step_norm = [], [], []
    for step in range(steps):
        xs = data.uniform(-1, 1, (T_task, B, 1))
        out, _ = rnn(tg.tensor(xs, dtype=np.float32))
        loss = F.mse_loss(head(out[-1]), tg.tensor(xs[-2:].sum(axis=0), dtype=np.float32))
        opt.zero_grad()
        loss.backward()
        grad_norm.append(float(nn.utils.clip_grad_norm_(params, clip)))
        before = [p.numpy().astype(np.float64) for p in params]
        opt.step()
        step_norm.append(float(np.sqrt(sum(((p.numpy() - b0) ** 2).sum() for p, b0 in zip(params, before)))))
        losses.append(loss.item())
    return np.array(losses), np.array(grad_norm), np.array(step_norm)


steps = 80 if QUICK else 300
with np.errstate(over="ignore", invalid="ignore"):
    loss_free, norm_free, step_free = train(float("inf"), steps)
    loss_clip, norm_clip, step_clip = train(1.0, steps)
diverged = not np.isfinite(loss_free[-1])
first_bad = int(np.argmax(~np.isfinite(loss_free))) if diverged else -1
print(f"without clipping: largest gradient norm {np.nanmax(norm_free):.3g}, final loss {loss_free[-1]:.4g}"
      + (f" (not finite from step {first_bad})" if diverged else ""))
print(f"with clipping at 1: largest gradient norm {norm_clip.max():.3g} (before clipping), "
      f"loss {loss_clip[:10].mean():.4f} over the first 10 steps, {loss_clip[-10:].mean():.4f} over the last 10")
charts.plot({"no clipping": loss_free, "clip_grad_norm_(1.0)": loss_clip}, logy=True, xlabel="SGD step",
            ylabel="MSE", title="the same run with and without clipping", png=figure("04_clipping"))
clip_max_step = float(step_clip.max())
print(f"largest step |delta theta|: {np.nanmax(step_free):.3g} unclipped, {clip_max_step:.3g} clipped "
      f"(the bound lr * tau = {0.3 * 1.0})")

# %% [markdown]
# Both runs start from the same weights and see the same batches; only the
# clipped one survives, and its loss falls, and no clipped step is longer than
# $\eta\tau$.
#
# Clipping does nothing for the *vanishing* kind. It multiplies the whole
# gradient by one factor $\min(1, \tau / \lVert g \rVert) \le 1$: it never
# makes a gradient larger, and it scales the contributions from early and late
# steps alike, so the ratios measured in the first section are the same after
# clipping. A vanished gradient is already below any threshold and passes
# through untouched. Here is the RNN of the first section, its gradient
# clipped at $\tau = 10^{-3}$:

# %%
tg.manual_seed(0)
probe = nn.RNNCell(I, H)
norms_probe = grad_norms(probe)                   # the same RNN as the first section's
before_clip = float(np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in probe.parameters())))
nn.utils.clip_grad_norm_(list(probe.parameters()), 1e-3)
after_clip = float(np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in probe.parameters())))
clip_scale = after_clip / before_clip
print(f"parameter gradient norm {before_clip:.3g} -> {after_clip:.3g} after clipping (factor {clip_scale:.3g});")
print(f"the early steps' share |dL/dh_1| / |dL/dh_T| = {norms_probe[0] / norms_probe[-1]:.3g} is unchanged: "
      f"clipping multiplied every step's contribution by the same {clip_scale:.3g}")

# %% [markdown]
# Summary:

# %%
result(rnn_ratio=ratios["RNN"], lstm_ratio=ratios["LSTM forget bias +1"], gru_ratio=ratios["GRU update bias +1"],
       lstm0_ratio=ratios["LSTM"], gru0_ratio=ratios["GRU"], rho_low_ratio=sweep[radii[0]],
       rho_high_ratio=sweep[radii[-1]], sigma_low=sigma_low, counter_rho=rho_ce, counter_sigma=sigma_ce,
       counter_growth=counter_growth, counter_wpower=w_power, noclip_diverged=int(diverged),
       clip_max_step=clip_max_step, clip_lr_tau=0.3 * 1.0, clip_before=before_clip, clip_scale=clip_scale,
       clip_loss_first=float(loss_clip[:10].mean()), clip_loss_last=float(loss_clip[-10:].mean()))
