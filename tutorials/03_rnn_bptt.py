# %% [markdown]
# # 3. A vanilla RNN and backpropagation through time, by hand
#
# A recurrent network reads a sequence $x_1, \dots, x_T$ one element at a time
# and carries a state $s_t$ from step to step. We build one from primitive ops,
# derive its gradients by hand (backpropagation through time, BPTT) in plain
# numpy, check that they equal what `loss.backward()` computes on the unrolled
# graph, and then train it with SGD.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import shutil

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, diagrams, optim, reference, viz
from tinygrad_seq.nn import functional as F
from tinygrad_seq.progress import Progress

QUICK = quick()
tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The network
#
# $$s_t = f(U x_t + W s_{t-1} + b), \qquad o_t = V s_t + c, \qquad p_t = g(o_t), \qquad s_0 = 0$$
#
# with $f = \tanh$ and $g = \mathrm{softmax}$ over $K$ classes. In this lesson
# $o_t$ always means the output *scores* before the softmax (the logits) and
# $p_t$ the probabilities after it. The network is trained with the
# cross-entropy $L = \frac1N \sum_{t,n} -\log p_{t,n}[y_{t,n}]$ averaged over
# the $N = T \cdot B$ predictions of a batch of $B$ sequences. The same $U, W, b,
# V, c$ serve every step: unrolled over time, the RNN is a deep network whose
# layers share their weights. The picture (a text drawing in the terminal, an
# SVG in a notebook):

# %%
diagrams.show("rnn", figure("03_rnn_unrolled"))

# %% [markdown]
# In code a batch is a matrix of row vectors, so $U x_t$ becomes `x[t] @ U.T`.
# The forward pass is a plain Python loop over time; each step appends a few
# nodes to the graph.

# %%
I = K = 4          # one-hot inputs over K symbols, K output classes
H = 8 if QUICK else 16


def init_params(dtype=np.float64):
    k = 1 / np.sqrt(H)
    shapes = {"U": (H, I), "W": (H, H), "b": (H,), "V": (K, H), "c": (K,)}
    return {name: tg.tensor(rng.uniform(-k, k, s), dtype=dtype, requires_grad=True) for name, s in shapes.items()}


def rnn_forward(P, x):
    """x: (T, B, I) -> scores o_t before the softmax, (T, B, K), and the states s_1..s_T."""
    s = tg.zeros(x.shape[1], H, dtype=x.dtype)
    scores, states = [], []
    for t in range(x.shape[0]):
        s = (x[t] @ P["U"].T + s @ P["W"].T + P["b"]).tanh()
        states.append(s)
        scores.append(s @ P["V"].T + P["c"])
    return tg.stack(scores), states


def one_hot_batch(symbols):
    return np.eye(K)[symbols]                       # (T, B) ints -> (T, B, K)

# %% [markdown]
# ## The graph the engine records for one step
#
# The drawing above is the textbook's. Here is the engine's own record of one
# step, $s_1$ and $o_1$ from $x_1$ and $s_0 = 0$. `viz.graph` prints it as a tree
# that starts at $o_1$ and goes down, op by op, to the leaves $U, W, b, V, c$
# (`permute` is the transpose in `x @ U.T`); `viz.to_dot`
# gives the same graph as Graphviz source, rendered to an SVG when Graphviz's
# `dot` is installed. $T$ steps append $T$ copies of this block, chained
# through $s_t$: that chain is what `backward()` walks back through time.

# %%
P_demo = init_params()
x_demo = tg.tensor(one_hot_batch(np.array([[1]])), dtype=np.float64)
s_1 = (x_demo[0] @ P_demo["U"].T + tg.zeros(1, H, dtype=np.float64) @ P_demo["W"].T + P_demo["b"]).tanh()
o_1 = s_1 @ P_demo["V"].T + P_demo["c"]
print(viz.graph(o_1, params=P_demo))
dot = viz.to_dot(o_1, params=P_demo)
dot_ops = dot.count("shape=box")
print(f"DOT source: {len(dot.splitlines())} lines, {dot_ops} op nodes; first lines:")
print("\n".join(dot.splitlines()[:6]))
if shutil.which("dot") and figure("03_one_step_graph"):
    print("rendered:", viz.save_graph(o_1, figure("03_one_step_graph")[:-4] + ".svg", params=P_demo))

# %% [markdown]
# ## BPTT in three steps
#
# **1. Forward pass.** Run the recurrence and keep every $s_t$ and $p_t = \mathrm{softmax}(o_t)$.
#
# **2. Error terms, back through the output layer and back through time.**
# Write $a_t = U x_t + W s_{t-1} + b$ for the pre-activation. From lesson 2 (where the scores were called $z$),
# softmax with cross-entropy gives the error at the output directly:
#
# $$\delta^o_t = \frac{\partial L}{\partial o_t} = \frac{1}{N}(p_t - \mathrm{onehot}(y_t))$$
#
# The state $s_t$ is used twice: by the output $o_t$ and by the next step's
# $a_{t+1}$. Its error is the sum of both (gradients add up), and the tanh
# multiplies by its derivative $1 - s_t^2$:
#
# $$\delta^s_t = V^\top \delta^o_t + W^\top \delta^a_{t+1}, \qquad
#   \delta^a_t = \delta^s_t \odot (1 - s_t^2), \qquad \delta^a_{T+1} = 0$$
#
# computed for $t = T, T-1, \dots, 1$: backwards in time.
#
# **3. Weight gradients as sums over time.** Every step used the same weights,
# so each gradient is a sum of one outer product per step:
#
# $$\frac{\partial L}{\partial V} = \sum_t \delta^o_t s_t^\top,\quad
#   \frac{\partial L}{\partial c} = \sum_t \delta^o_t,\quad
#   \frac{\partial L}{\partial U} = \sum_t \delta^a_t x_t^\top,\quad
#   \frac{\partial L}{\partial W} = \sum_t \delta^a_t s_{t-1}^\top,\quad
#   \frac{\partial L}{\partial b} = \sum_t \delta^a_t$$
#
# In numpy, with the batch as rows:

# %%
def bptt_numpy(P, x, y):
    U, W, b, V, c = (P[k].numpy() for k in "UWbVc")
    T, B, _ = x.shape
    N = T * B
    # 1. forward pass
    s = np.zeros((T + 1, B, H))                     # s[0] is the initial state
    p = np.zeros((T, B, K))
    for t in range(T):
        s[t + 1] = np.tanh(x[t] @ U.T + s[t] @ W.T + b)
        o = s[t + 1] @ V.T + c
        e = np.exp(o - o.max(axis=1, keepdims=True))
        p[t] = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(T)[:, None], np.arange(B)[None, :], y]).mean()
    # 2. error terms: output layer, then back through time
    d_o = (p - np.eye(K)[y]) / N
    d_a = np.zeros((T + 1, B, H))                   # d_a[T] stays 0: nothing comes after the last step
    for t in range(T - 1, -1, -1):
        d_s = d_o[t] @ V + d_a[t + 1] @ W
        d_a[t] = d_s * (1 - s[t + 1] ** 2)
    d_a = d_a[:T]
    # 3. weight gradients: sums over time of outer products
    grads = {"V": np.einsum("tbk,tbh->kh", d_o, s[1:]), "c": d_o.sum(axis=(0, 1)),
             "U": np.einsum("tbh,tbi->hi", d_a, x), "W": np.einsum("tbh,tbj->hj", d_a, s[:-1]),
             "b": d_a.sum(axis=(0, 1))}
    return loss, grads

# %% [markdown]
# ## Hand-derived BPTT against `loss.backward()`
#
# Random inputs and targets, float64, the same parameters for both. The
# autograd version never sees the equations above: it only records the forward
# loop and walks the graph back.

# %%
T_check, B_check = (6, 3) if QUICK else (20, 8)
P = init_params()
xs = one_hot_batch(rng.integers(0, K, (T_check, B_check)))
ys = rng.integers(0, K, (T_check, B_check))

scores, _ = rnn_forward(P, tg.tensor(xs, dtype=np.float64))
loss = F.cross_entropy(scores.reshape(-1, K), tg.tensor(ys.reshape(-1), dtype=np.int64))
loss.backward()

loss_np, grads_np = bptt_numpy(P, xs, ys)
bptt_diff = max(float(np.abs(P[k].grad.numpy() - grads_np[k]).max()) for k in grads_np)
print(f"loss: backward() graph {loss.item():.12f}   numpy {loss_np:.12f}")
for k in "UWbVc":
    print(f"  d{k}: largest |backward() - numpy| = {np.abs(P[k].grad.numpy() - grads_np[k]).max():.3g}")
print(f"largest difference over all parameters: {bptt_diff:.3g}")

# %% [markdown]
# The library's `tinygrad_seq/reference.py` has the same derivation for
# `nn.RNN`'s parameter names (its bias is split in two, $b = b_{ih} + b_{hh}$,
# so both halves get the same gradient). It agrees too:

# %%
ref_loss, ref = reference.rnn_bptt(xs, ys, P["U"].numpy(), P["W"].numpy(), P["b"].numpy(), np.zeros(H),
                                   P["V"].numpy(), P["c"].numpy())
ref_diff = max(float(np.abs(P[a].grad.numpy() - ref[r]).max())
               for a, r in [("U", "weight_ih"), ("W", "weight_hh"), ("b", "bias_ih"), ("V", "V"), ("c", "c")])
print(f"reference.rnn_bptt vs backward(): largest difference {ref_diff:.3g}")

# %% [markdown]
# ## Training: repeat the symbol from two steps back
#
# The task needs memory: at step $t$ the network must output $x_{t-2}$, which it
# no longer sees. Only the steps $t \geq 3$ count in the loss. A network that
# guesses scores $\ln K$; one that solves the task scores near 0. Plain SGD,
# $\theta \leftarrow \theta - \eta\, \partial L / \partial \theta$, with the
# gradient from `loss.backward()`:

# %%
DELAY, T_train, B_train = 2, 10, 32
steps = 150 if QUICK else 600
lr = 1.0

P = init_params()
opt = optim.SGD(list(P.values()), lr=lr)


def batch(B):
    sym = rng.integers(0, K, (T_train, B))
    return tg.tensor(one_hot_batch(sym), dtype=np.float64), sym


def delayed_loss(scores, sym):
    target = tg.tensor(sym[:-DELAY].reshape(-1), dtype=np.int64)
    return F.cross_entropy(scores[DELAY:].reshape(-1, K), target)


losses = []
with Progress(steps, "SGD", log_every=max(1, steps // 5)) as bar:
    for step in range(steps):
        x, sym = batch(B_train)
        scores, _ = rnn_forward(P, x)
        loss = delayed_loss(scores, sym)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.update(loss=losses[-1])

charts.plot(losses, title="training loss (cross-entropy)", xlabel="SGD step", ylabel="loss",
            png=figure("03_rnn_loss"), height=10)

# %% [markdown]
# The loss falls from about $\ln K$. How well does the trained network recall
# the symbol from two steps back, on sequences it has never seen?

# %%
with tg.no_grad():
    x, sym = batch(256)
    scores, _ = rnn_forward(P, x)
    pred = scores.argmax(axis=-1).numpy()
accuracy = float((pred[DELAY:] == sym[:-DELAY]).mean())
first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
print(f"loss: first 10 steps {first:.4f} (ln K = {np.log(K):.4f}), last 10 steps {last:.4f}")
print(f"recall accuracy on new sequences: {accuracy:.3f} (chance: {1 / K:.2f})")

# %% [markdown]
# The hand-derived BPTT equals `backward()` to the printed difference (float64
# rounding), and SGD on those gradients teaches the RNN a two-step memory.
#
# ## From here on: PyTorch's names
#
# Lessons 1 to 3 follow the outline's notation. From lesson 4 on, the lessons use
# `tinygrad_seq.nn`, whose names are PyTorch's, and the text follows them. The
# same network, renamed once:
#
# | lessons 1-3 (outline) | lessons 4-14 (PyTorch) | in code |
# |---|---|---|
# | state $s_t$ | hidden state $h_t$ | `nn.RNN`'s output, `h_n` its last step |
# | $U$ (input to state) | $W_{ih}$ | `weight_ih_l0` |
# | $W$ (state to state) | $W_{hh}$ | `weight_hh_l0` |
# | $b$ | $b_{ih} + b_{hh}$ (two halves, same gradient) | `bias_ih_l0`, `bias_hh_l0` |
# | $V$, $c$ (the output layer) | $W_{\text{out}}$, $b_{\text{out}}$ | a head `nn.Linear(H, K)`: `weight`, `bias` |
# | scores $o_t$ | scores (logits) $z_t$ | the head's output |
#
# Two letters change meaning at the bridge, so that each has one meaning per
# lesson: from lesson 5 on, $o_t$ is the LSTM's *output gate* and $c_t$ its
# *memory cell* (PyTorch's letters; the gates are $i, f, g, o$ for the LSTM and
# $r, z, n$ for the GRU).

# %%
result(bptt_max_diff=bptt_diff, ref_max_diff=ref_diff, dot_ops=dot_ops, loss_first=first, loss_last=last, accuracy=accuracy)
