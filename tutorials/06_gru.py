# %% [markdown]
# # 6. The GRU
#
# The gated recurrent unit (Cho et al. 2014) keeps the LSTM's central idea, an
# update by interpolation that lets the state pass through many steps, with
# fewer parts: two gates instead of three, and no separate memory cell. We
# write it from primitive ops, check it against `nn.GRU`, and set it against
# the LSTM on lesson 5's adding problem: parameters, time per step, accuracy.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import time

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, diagrams, nn, optim, viz
from tinygrad_seq.nn import functional as F
from tinygrad_seq.progress import Progress

QUICK = quick()
tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The equations
#
# $$\begin{aligned}
# r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset gate}\\
# z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update gate}\\
# n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) && \text{candidate}\\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
# \end{aligned}$$
#
# The update gate $z_t$ plays the forget gate's part: where $z_t \approx 1$ the
# state is copied forward and $\partial h_t / \partial h_{t-1}$ is close to the
# identity. The reset gate $r_t$ decides how much of the old state the candidate
# may look at. (This is PyTorch's form, with $r_t$ applied after the
# multiplication by $W_{hn}$.) `nn.GRU` stacks the weights in the order $r, z, n$.
# The cell, drawn like lesson 5's LSTM: one state instead of two, and the update
# gate mixing old state and candidate:

# %%
diagrams.show("gru", figure("06_gru_cell"))

# %%
I, H = 3, 5
gru = nn.GRU(I, H).double()
W = {name: p.numpy().copy() for name, p in gru.named_parameters()}


def gate_params(k):
    rows = slice(k * H, (k + 1) * H)
    return tuple(tg.tensor(W[name][rows], dtype=np.float64)
                 for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))


(Wir, Whr, bir, bhr), (Wiz, Whz, biz, bhz), (Win, Whn, bin_, bhn) = (gate_params(k) for k in range(3))


def gru_by_hand(x):
    h = tg.zeros(x.shape[1], H, dtype=np.float64)
    hs = []
    for t in range(x.shape[0]):
        r = (x[t] @ Wir.T + bir + h @ Whr.T + bhr).sigmoid()
        z = (x[t] @ Wiz.T + biz + h @ Whz.T + bhz).sigmoid()
        n = (x[t] @ Win.T + bin_ + r * (h @ Whn.T + bhn)).tanh()
        h = (1 - z) * n + z * h
        hs.append(h)
    return tg.stack(hs), h


x = tg.tensor(rng.normal(size=(7, 2, I)), dtype=np.float64)
out_hand, h_hand = gru_by_hand(x)
out_lib, h_lib = gru(x)
gru_diff = max(float(np.abs(out_hand.numpy() - out_lib.numpy()).max()),
               float(np.abs(h_hand.numpy() - h_lib[0].numpy()).max()))
print(f"largest |by hand - nn.GRU| over outputs and final state: {gru_diff:.3g}")

# %% [markdown]
# ## Parameters
#
# Each gate (and the candidate) has an input matrix ($H \times I$), a recurrent
# matrix ($H \times H$) and two bias vectors. The LSTM has four such blocks, the
# GRU three, so at the same width the GRU has three quarters of the LSTM's
# parameters: $3H(I + H + 2)$ against $4H(I + H + 2)$. Counted:

# %%
H_task = 16 if QUICK else 32


def count(module):
    return sum(p.numel() for p in module.parameters())


n_lstm, n_gru = count(nn.LSTM(2, H_task)), count(nn.GRU(2, H_task))
print(f"input 2, hidden {H_task}: LSTM {n_lstm} parameters, GRU {n_gru}, ratio {n_gru / n_lstm:.3f}")

# %% [markdown]
# ## On the adding problem
#
# Lesson 5's task: sum the two marked values of a sequence. Both models have the
# same width and a `Linear` head on the last output, and are trained
# identically (Adam, learning rate 0.01, gradients clipped at norm 1, the same
# batches); the LSTM starts with its forget-gate bias raised by 1, as in lesson 5.
# We time every training step (forward, backward and update). Accuracy is the
# share of 1000 test sequences whose prediction is within 0.1 of the target.

# %%
T = 10 if QUICK else 40
steps = 120 if QUICK else 1500
B = 32


def adding_batch(gen, B):
    values = gen.uniform(0, 1, (T, B))
    marks = np.zeros((T, B))
    marks[gen.integers(0, T // 2, B), np.arange(B)] = 1
    marks[gen.integers(T // 2, T, B), np.arange(B)] = 1
    return (tg.tensor(np.stack([values, marks], axis=-1), dtype=np.float32),
            tg.tensor((values * marks).sum(axis=0)[:, None], dtype=np.float32))


x_test, y_test = adding_batch(np.random.default_rng(1234), 1000)
baseline = float(((y_test.numpy() - y_test.numpy().mean()) ** 2).mean())


def train(kind):
    tg.manual_seed(0)
    net = nn.LSTM(2, H_task) if kind == "LSTM" else nn.GRU(2, H_task)
    if kind == "LSTM":
        state = net.state_dict()
        bias = state["bias_ih_l0"].clone()
        bias[H_task:2 * H_task] += 1.0
        state["bias_ih_l0"] = bias
        net.load_state_dict(state)
    head = nn.Linear(H_task, 1)
    params = list(net.parameters()) + list(head.parameters())
    opt = optim.Adam(params, lr=0.01)
    gen = np.random.default_rng(0)
    losses, seconds = [], []
    with Progress(steps, kind, log_every=max(1, steps // 4)) as bar:
        for step in range(steps):
            x, y = adding_batch(gen, B)
            start = time.perf_counter()
            out, _ = net(x)
            loss = F.mse_loss(head(out[-1]), y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            seconds.append(time.perf_counter() - start)
            losses.append(loss.item())
            bar.update(loss=losses[-1])
    with tg.no_grad():
        out, _ = net(x_test)
        err = head(out[-1]).numpy() - y_test.numpy()
    return {"losses": losses, "ms": 1000 * float(np.median(seconds)), "mse": float((err ** 2).mean()),
            "accuracy": float((np.abs(err) < 0.1).mean())}


runs = {kind: train(kind) for kind in ("LSTM", "GRU")}

# %%
for kind, run in runs.items():
    print(f"{kind}: median {run['ms']:.2f} ms per training step, test MSE {run['mse']:.4f} "
          f"(baseline {baseline:.4f}), accuracy {run['accuracy']:.3f}")
print(charts.bar_chart({k: r["ms"] for k, r in runs.items()}, title="milliseconds per training step",
                       fmt="{:.2f}"))


def smooth(values, k=10):
    v = np.asarray(values)
    return [float(v[max(0, i - k + 1):i + 1].mean()) for i in range(len(v))]


charts.plot({k: smooth(r["losses"]) for k, r in runs.items()} | {"baseline": [baseline] * steps}, logy=True,
            xlabel="Adam step", ylabel="MSE", title=f"adding problem, T = {T}", png=figure("06_gru_vs_lstm"))

# %% [markdown]
# ## What the numbers say
#
# **Who leaves the plateau first.** Both curves start on the baseline (the
# model predicts the mean) and stay there until the network finds how to carry
# the first marked value; then the loss drops. We take the first step at which
# the smoothed loss falls below half the baseline:

# %%
def escape(losses):
    below = np.flatnonzero(np.array(smooth(losses)) < 0.5 * baseline)
    return int(below[0]) if len(below) else steps          # `steps`: never within this run


escapes = {kind: escape(run["losses"]) for kind, run in runs.items()}
for kind, step in escapes.items():
    print(f"{kind}: below half the baseline from step {step}" + (" (never, in this run)" if step == steps else ""))

# %% [markdown]
# In full mode the GRU leaves the plateau earlier than the LSTM (compare the
# printed steps). A likely reason: its update gate couples keeping and writing ($z_t$ and
# $1 - z_t$), so it has one decision fewer to learn before it can carry a value.
#
# **Three quarters of the parameters, but not faster per step.** The work in a
# step is three matrix products for the GRU against four for the LSTM (the
# multiply-adds are in the ratio 3 : 4). At this size, though, those products
# are tiny (a batch of 32 by a width of 32), and a step's time goes mostly into
# the fixed cost of each primitive op: recording it in the graph, calling
# numpy, and running its backward rule. So count the ops of one step of each
# cell in the graph the engine records:

# %%
probe_x = tg.randn(B, 2)
probe_h = tg.zeros(B, H_task)
h_l, c_l = nn.LSTMCell(2, H_task)(probe_x, (probe_h, probe_h))
lstm_ops = viz.graph(h_l).num_ops                  # h_t = o_t * tanh(c_t): its graph holds c_t's
gru_ops = viz.graph(nn.GRUCell(2, H_task)(probe_x, probe_h)).num_ops

# the training-step times above were measured minutes apart; time the two again, alternating, on one batch
x_b, y_b = adding_batch(np.random.default_rng(5), B)
nets = {kind: (nn.LSTM(2, H_task) if kind == "LSTM" else nn.GRU(2, H_task), nn.Linear(H_task, 1))
        for kind in ("LSTM", "GRU")}
times = {kind: [] for kind in nets}
for _ in range(15 if QUICK else 40):
    for kind, (net, head) in nets.items():
        start = time.perf_counter()
        out, _ = net(x_b)
        F.mse_loss(head(out[-1]), y_b).backward()
        times[kind].append(time.perf_counter() - start)
ms_ratio = float(np.median(times["GRU"]) / np.median(times["LSTM"]))
print(f"ops per step: LSTM {lstm_ops}, GRU {gru_ops};  multiply-adds per step: LSTM {4 * H_task * (2 + H_task)}, "
      f"GRU {3 * H_task * (2 + H_task)}")
print(f"forward + backward over the sequence, alternating: GRU / LSTM time = {ms_ratio:.2f}")

# %% [markdown]
# The GRU's step records *more* ops than the LSTM's (the reset gate is applied
# inside the candidate, and $1 - z_t$ and the final mix are ops of their own)
# but does a quarter fewer multiply-adds. Which of the two sets its speed
# depends on the size: where the fixed per-op cost dominates (small widths,
# small batches) the GRU is no faster than the LSTM, whatever its parameter
# count; where the matrix products dominate, its three quarters of the work
# show. The alternating measurement printed above says which regime this run
# is in on this machine; the parameter count alone does not decide it.
#
# The by-hand GRU equals `nn.GRU` to the printed difference; the parameter
# ratio is exactly three quarters; the time per step and the accuracies are the
# measurements just printed (timings vary with the machine and its load).
# Summary:

# %%
result(gru_diff=gru_diff, lstm_params=n_lstm, gru_params=n_gru, param_ratio=n_gru / n_lstm,
       lstm_ms=runs["LSTM"]["ms"], gru_ms=runs["GRU"]["ms"], lstm_mse=runs["LSTM"]["mse"],
       gru_mse=runs["GRU"]["mse"], baseline_mse=baseline, lstm_acc=runs["LSTM"]["accuracy"],
       gru_acc=runs["GRU"]["accuracy"], lstm_escape=escapes["LSTM"], gru_escape=escapes["GRU"], steps=steps,
       lstm_ops=lstm_ops, gru_ops=gru_ops, ms_ratio=ms_ratio)
