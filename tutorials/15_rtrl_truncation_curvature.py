# %% [markdown]
# # 15 · The other way through time: RTRL, truncated BPTT, and curvature
#
# Lesson 3 computed an RNN's gradient by running the recurrence forward,
# keeping every state, and walking the recorded graph *backwards* in time:
# backpropagation through time (BPTT) is reverse-mode differentiation of the
# unrolled graph, nothing more.  There is a second way through time.
# **Forward-mode** differentiation carries, next to every value, its
# derivative along a chosen direction (its *tangent*), and updates both in the
# same forward step.  Carried along with an RNN's state, that is **real-time
# recurrent learning** (RTRL, Williams and Zipser, 1989): the network knows
# $\partial h_t / \partial \theta$ at every step, needs no stored history, and
# pays for it with one tangent per parameter.
#
# In this lesson we
#
# 1. compute the gradient of an RNN's loss three ways: reverse mode over the
#    unrolled graph (`loss.backward()`), forward mode carried along with the
#    state (RTRL, built with the library's dual tensors), and lesson 3's
#    hand-derived BPTT, and compare them in float64;
# 2. measure what each costs: memory against the sequence length $T$, time
#    per step against the number of parameters;
# 3. measure what *truncated* BPTT, the cheap way out, cannot learn;
# 4. differentiate the gradient itself: a Hessian-vector product of the loss,
#    and the loss surface's sharpest curvature during training.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import time
import tracemalloc

import numpy as np

import tinygrad_seq as tg
import tinygrad_seq.autograd.forward_ad as fwAD
from tinygrad_seq import charts, diagrams, optim, reference

QUICK = quick()
rng = np.random.default_rng(0)
print(f"quick mode: {QUICK}")

# %% [markdown]
# ## The network, written once
#
# Lesson 3's RNN with PyTorch's names (the bridge table at the end of lesson 3):
#
# $$h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \qquad
#   z_t = V h_t + c, \qquad
#   L = \frac1N \sum_{t, b} -\log \mathrm{softmax}(z_{t,b})[y_{t,b}]$$
#
# with one-hot inputs over $K = 4$ symbols, $h_0 = 0$, and $N$ the number of
# targets.  The loss is written as a sum of per-step terms $L_t$, because
# forward mode will want them one at a time.  `rnn_step` and `step_loss` below
# are all the model there is; every method in this lesson runs them unchanged.  (Each
# transpose is `transpose(-2, -1)`, so that the same code also runs on weights
# with a leading batch axis, which section 1 will need.)  Lesson 3's drawing,
# in its letters ($U = W_{ih}$, $W = W_{hh}$, $s_t = h_t$, $o_t = z_t$): BPTT walks its
# arrows backwards from the losses; RTRL goes along them, forwards.

# %%
diagrams.show("rnn", figure("15_rnn_unrolled"))

# %%
I = K = 4
NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "V", "c"]


def init_params(H, seed=0):
    """Uniform(-1/sqrt(H), 1/sqrt(H)), float64, as nn.RNN initialises its weights."""
    gen = np.random.default_rng(seed)
    shapes = {"weight_ih": (H, I), "weight_hh": (H, H), "bias_ih": (H,), "bias_hh": (H,), "V": (K, H), "c": (K,)}
    k = 1 / np.sqrt(H)
    return {n: tg.tensor(gen.uniform(-k, k, shapes[n]), dtype=tg.float64, requires_grad=True) for n in NAMES}


def rnn_step(p, x_t, h):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), the batch as rows."""
    return (x_t @ p["weight_ih"].transpose(-2, -1) + p["bias_ih"]
            + h @ p["weight_hh"].transpose(-2, -1) + p["bias_hh"]).tanh()


def step_loss(p, h, y_t, N):
    """L_t = -(1/N) sum_b log softmax(V h_b + c)[y_b]; y_t one-hot rows (a row of zeros: no target)."""
    z = h @ p["V"].transpose(-2, -1) + p["c"]
    return -(z.log_softmax(-1) * y_t).sum((-2, -1)) / N


def loss_fn(p, x, y):
    """L = sum_t L_t over the unrolled sequence: x (T, B, I), y (T, B, K) one-hot."""
    T, B, _ = x.shape
    N = float(y.sum().item())
    h = tg.zeros(B, p["weight_hh"].shape[0], dtype=tg.float64)
    L = 0
    for t in range(T):
        h = rnn_step(p, x[t], h)
        L = L + step_loss(p, h, y[t], N)
    return L


def flat(d):
    """The parameters' (or gradients') values as one vector, in the order of NAMES."""
    return np.concatenate([np.asarray(d[n].numpy() if isinstance(d[n], tg.Tensor) else d[n]).reshape(-1)
                           for n in NAMES])

# %% [markdown]
# ## 1 · One gradient, three ways
#
# A random batch in float64, and the same parameters for all three methods.
#
# **Reverse mode (BPTT).**  Record the forward loop, call `backward()`: the
# engine walks the graph from $L$ back to $h_1$, through every stored step.
#
# **By hand (lesson 3).**  `reference.rnn_bptt` is BPTT's three steps written
# out in numpy (its loss is the mean over all $T \cdot B$ targets, as ours is
# here, where every step has a target).

# %%
T1, B1, H1 = (8, 3, 6) if QUICK else (20, 4, 8)
P1 = init_params(H1)
sym1 = rng.integers(0, K, (T1, B1))
x1_np, y1_int = np.eye(I)[sym1], rng.integers(0, K, (T1, B1))
x1, y1 = tg.tensor(x1_np), tg.tensor(np.eye(K)[y1_int])
n_params = sum(P1[n].numel() for n in NAMES)

L1 = loss_fn(P1, x1, y1)
L1.backward()
g_bptt = flat({n: P1[n].grad for n in NAMES})

loss_hand, grads_hand = reference.rnn_bptt(x1_np, y1_int, *(P1[n].detach().numpy() for n in NAMES))
g_hand = flat(grads_hand)
bptt_vs_hand = float(np.abs(g_bptt - g_hand).max())
print(f"T = {T1}, B = {B1}, hidden {H1}: P = {n_params} parameters; loss {L1.item():.12f} (by hand {loss_hand:.12f})")
print(f"largest |backward() - hand-derived BPTT| over the {n_params} gradient entries: {bptt_vs_hand:.1e}")

# %% [markdown]
# **Forward mode, one direction.**  A *dual tensor* is a value with a tangent
# attached: `fwAD.make_dual(w, v)` says "this is $w$, moving in direction
# $v$".  Every primitive op has, beside its backward rule, a forward rule that
# computes its output's tangent from its inputs' tangents (for $\tanh$:
# $\dot h = (1 - h^2) \odot \dot a$; for a product: $\dot{(AB)} = \dot A B + A
# \dot B$).  Run the *same* `loss_fn` on parameters made dual with a direction
# $v$ and the loss comes out dual too: its tangent is the directional
# derivative $\nabla_\theta L \cdot v$, computed in one forward pass, with no
# graph.  `fwAD.unpack_dual` takes the pair apart.  (The parameters are
# detached first, so that no backward graph is recorded either.)
# `tg.autograd.functional.jvp(f, inputs, v)`, PyTorch's function of the same
# name, does the same in one call.

# %%
v1 = {n: tg.tensor(rng.standard_normal(P1[n].shape)) for n in NAMES}
with fwAD.dual_level():
    dual = {n: fwAD.make_dual(P1[n].detach(), v1[n]) for n in NAMES}
    loss_value, loss_tangent = fwAD.unpack_dual(loss_fn(dual, x1, y1))
jvp = float(loss_tangent.item())
_, jvp_f = tg.autograd.functional.jvp(lambda *ps: loss_fn(dict(zip(NAMES, ps)), x1, y1),
                                      tuple(P1[n].detach() for n in NAMES), tuple(v1[n] for n in NAMES))
jvp_vs_bptt = max(abs(jvp - float(g_bptt @ flat(v1))), abs(jvp_f.item() - float(g_bptt @ flat(v1))))
print(f"forward mode, one pass:       dL.v = {jvp:.12f}")
print(f"autograd.functional.jvp:      dL.v = {jvp_f.item():.12f}")
print(f"reverse mode, all of grad:  grad.v = {float(g_bptt @ flat(v1)):.12f}   largest difference {jvp_vs_bptt:.1e}")

# %% [markdown]
# One forward pass gives one number, the slope along $v$.  The whole gradient
# has $P$ numbers: forward mode needs one pass per direction, $v = e_1, \dots,
# e_P$ (reverse mode got all $P$ from one backward pass; that is why training
# uses it).
#
# ### RTRL: the sensitivity matrix as tangents
#
# What does the tangent of $h_t$ hold in that pass?  Differentiate the
# recurrence: the *sensitivity* $S_t = \partial h_t / \partial \theta$ (for
# each sequence an $H \times P$ matrix) obeys
#
# $$S_t = \mathrm{diag}(1 - h_t^2)\Big(W_{hh} S_{t-1} + \frac{\partial a_t}{\partial \theta}\Big), \qquad S_0 = 0,
#   \qquad \frac{\partial L}{\partial \theta} = \sum_t \Big(\frac{\partial L_t}{\partial h_t} S_t
#   + \frac{\partial L_t}{\partial \theta}\Big)$$
#
# where $a_t$ is the pre-activation and the last term is what $L_t$ depends on
# directly ($V$, $c$).  That is RTRL: $S_t$ runs *forward* with the state, so
# the gradient of the loss so far is known at every step, and nothing of the
# past is kept.  A dual pass in direction $v$ carries exactly $S_t v$ as $h_t$'s
# tangent: the engine's rules for `matmul`, `add` and `tanh` *are* this
# recursion, applied to one column.
#
# To carry all $P$ columns at once we give every tensor a leading axis of $P$
# copies (the engine's tangents have their primal's shape; a bias becomes
# $(P, 1, H)$ so that it broadcasts over the batch), with the $P$ unit
# directions as the parameters' tangents: copy $k$ of $h_t$ then carries
# column $k$ of $S_t$.  One pass with $P$ tangents instead of $P$ passes: the
# result PyTorch's `torch.func.vmap` over `jvp` gives, written out by hand
# (vmap avoids the $P$ copies of the values; here they cost memory, measured in
# section 2).

# %%
def rtrl(p, x, y):
    """RTRL with dual tensors: the gradient (a vector in NAMES order) and the last sensitivity S_T (B, H, P)."""
    T, B, _ = x.shape
    N = float(y.sum().item())
    n = sum(p[name].numel() for name in NAMES)
    directions = np.eye(n)                                   # direction k moves parameter entry k alone
    grad = np.zeros(n)
    with fwAD.dual_level():
        dual, start = {}, 0
        for name in NAMES:
            w = p[name].detach()
            size = w.numel()
            shape = (n,) + (1,) * (2 - w.dim()) + tuple(w.shape)      # P copies; a bias as (P, 1, H)
            tangent = directions[:, start:start + size].reshape(shape)
            dual[name] = fwAD.make_dual(w.expand(*shape).clone(), tg.tensor(tangent))
            start += size
        h = tg.zeros(n, B, p["weight_hh"].shape[0], dtype=tg.float64)      # h_0 = 0: no tangent, S_0 = 0
        for t in range(T):
            h = rnn_step(dual, x[t], h)                      # copy k of h's tangent: column k of S_t
            grad += fwAD.unpack_dual(step_loss(dual, h, y[t], N)).tangent.numpy()   # dL_t/dtheta_k, all k
        S_T = fwAD.unpack_dual(h).tangent.numpy().transpose(1, 2, 0)
    return grad, S_T


g_rtrl, S_T = rtrl(P1, x1, y1)
rtrl_vs_bptt = float(np.abs(g_rtrl - g_bptt).max())
rtrl_vs_hand = float(np.abs(g_rtrl - g_hand).max())
print(f"RTRL (forward mode, {n_params} tangents) against backward(): {rtrl_vs_bptt:.1e}; "
      f"against the hand-derived BPTT: {rtrl_vs_hand:.1e}")

# %% [markdown]
# The same gradient the plain way, one forward pass per direction $e_k$ with
# the parameters' own shapes, and the time each way takes (CPU time).  The
# arithmetic is the same; the batched pass does it in $P$ times fewer, larger
# numpy calls.

# %%
def one_direction_at_a_time(p, x, y):
    grad = []
    for name in NAMES:
        w = p[name].detach()
        for k in range(w.numel()):
            e_k = np.zeros(w.numel())
            e_k[k] = 1.0
            with fwAD.dual_level():                  # only this entry moves; every other parameter is constant
                moved = {other: (fwAD.make_dual(w, tg.tensor(e_k.reshape(w.shape))) if other == name
                                 else p[other].detach()) for other in NAMES}
                grad.append(fwAD.unpack_dual(loss_fn(moved, x, y)).tangent.item())
    return np.array(grad)


t0 = time.process_time()
g_passes = one_direction_at_a_time(P1, x1, y1)
t_passes = time.process_time() - t0
t0 = time.process_time()
rtrl(P1, x1, y1)
t_batched = time.process_time() - t0
passes_vs_rtrl = float(np.abs(g_passes - g_rtrl).max())
print(f"{n_params} passes, one direction each: {t_passes:.2f} s; one pass carrying {n_params} tangents: "
      f"{t_batched:.3f} s; the two gradients differ by {passes_vs_rtrl:.1e}")

# %% [markdown]
# The recursion for $S_t$ written out in numpy, to see that the tangents are
# exactly it.  $\partial a_t / \partial \theta$ is simple: entry $i$ of $a_t$
# depends on row $i$ of $W_{ih}$ through $x_t$, on row $i$ of $W_{hh}$ through
# $h_{t-1}$, and on $b_i$ with slope 1; the head's $V$ and $c$ do not touch
# the state, so their columns of $S_t$ stay 0.

# %%
def sensitivity_by_hand(p, x):
    """S_T = dh_T/dtheta by the RTRL recursion in numpy: (B, H, P), the columns in NAMES order."""
    W_ih, W_hh = p["weight_ih"].detach().numpy(), p["weight_hh"].detach().numpy()
    b = p["bias_ih"].detach().numpy() + p["bias_hh"].detach().numpy()
    T, B, _ = x.shape
    H = W_hh.shape[0]
    one = np.eye(H)
    h, S = np.zeros((B, H)), np.zeros((B, H, sum(p[n].numel() for n in NAMES)))
    head = np.zeros((B, H, p["V"].numel() + p["c"].numel()))
    for t in range(T):
        da = np.concatenate([np.einsum("ik,bl->bikl", one, x[t]).reshape(B, H, -1),    # d a_i / d W_ih[k, l]
                             np.einsum("ik,bl->bikl", one, h).reshape(B, H, -1),       # d a_i / d W_hh[k, l]
                             np.broadcast_to(one, (B, H, H)), np.broadcast_to(one, (B, H, H)), head], axis=2)
        h = np.tanh(x[t] @ W_ih.T + h @ W_hh.T + b)
        S = (1 - h ** 2)[:, :, None] * (np.einsum("ij,bjp->bip", W_hh, S) + da)
    return S


tangent_vs_recursion = float(np.abs(S_T - sensitivity_by_hand(P1, x1_np)).max())
print(f"S_T, shape (B, H, P) = {S_T.shape}; largest |tangent - recursion by hand| {tangent_vs_recursion:.1e}")
print(f"  columns of V and c in S_T are zero: {bool(np.all(S_T[:, :, -(K * H1 + K):] == 0))}")

# %% [markdown]
# Three methods, one gradient: reverse mode, forward mode and the hand
# derivation agree to the differences printed above (float64 rounding).
#
# ## 2 · What each costs
#
# BPTT keeps every step's saved tensors until the backward pass: memory grows
# with $T$.  RTRL keeps only the current state and its $P$ tangents, whatever
# $T$ is; but each step updates $P$ tangents of size $H$ (for each sequence),
# and $P$ grows like $H^2$, so its time per step grows with the number of
# parameters (about $H^4$ work per step and sequence, against BPTT's $H^2$).
#
# What is measured: **memory** is the peak of the bytes allocated *during* one
# gradient computation and still held (Python's `tracemalloc`, which numpy
# reports its arrays to; the inputs and parameters, allocated before, are not
# counted; for RTRL it includes the $P \times P$ unit directions and the $P$
# copies of each weight).  **Time** is the CPU time of one gradient
# computation divided by $T$ (`time.process_time`, so that other jobs on a
# shared machine do not count; numpy uses one thread here; the better of two
# runs, without tracemalloc).
# Batch of 4 sequences, float64.

# %%
Ts = (8, 16, 32) if QUICK else (25, 50, 100, 200)
Hs = (4, 20) if QUICK else (8, 16, 32)
B2 = 4


def peak_bytes(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def seconds(fn):
    best = float("inf")
    for _ in range(2):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def bptt_grad(p, x, y):
    for n in NAMES:
        p[n].grad = None
    loss_fn(p, x, y).backward()


costs = []
for H in Hs:
    p = init_params(H)
    P = sum(p[n].numel() for n in NAMES)
    for T in Ts:
        x = tg.tensor(np.eye(I)[rng.integers(0, K, (T, B2))])
        y = tg.tensor(np.eye(K)[rng.integers(0, K, (T, B2))])
        row = {"H": H, "P": P, "T": T,
               "bptt_kb": peak_bytes(lambda: bptt_grad(p, x, y)) / 1e3,
               "rtrl_kb": peak_bytes(lambda: rtrl(p, x, y)) / 1e3,
               "bptt_ms": 1e3 * seconds(lambda: bptt_grad(p, x, y)) / T,
               "rtrl_ms": 1e3 * seconds(lambda: rtrl(p, x, y)) / T}
        costs.append(row)

print(f"{'H':>4} {'P':>6} {'T':>5} | {'BPTT peak KB':>12} {'RTRL peak KB':>12} | {'BPTT ms/step':>12} {'RTRL ms/step':>12}")
for r in costs:
    print(f"{r['H']:>4} {r['P']:>6} {r['T']:>5} | {r['bptt_kb']:>12.1f} {r['rtrl_kb']:>12.1f} | "
          f"{r['bptt_ms']:>12.3f} {r['rtrl_ms']:>12.3f}")

# %%
by_H = {H: [r for r in costs if r["H"] == H] for H in Hs}
charts.plot({f"{m} H={H}": [r[f"{m.lower()}_kb"] for r in rows] for H, rows in by_H.items() for m in ("BPTT", "RTRL")},
            x=list(Ts), xlabel="sequence length T", ylabel="peak KB", logy=True,
            title="memory of one gradient: BPTT grows with T, RTRL does not", png=figure("15_memory"))
big = by_H[Hs[-1]]
bptt_growth = big[-1]["bptt_kb"] / big[0]["bptt_kb"]
rtrl_growth = big[-1]["rtrl_kb"] / big[0]["rtrl_kb"]
bptt_kb_per_step = (big[-1]["bptt_kb"] - big[0]["bptt_kb"]) / (Ts[-1] - Ts[0])
print(f"hidden {Hs[-1]}: from T = {Ts[0]} to T = {Ts[-1]} ({Ts[-1] // Ts[0]}x longer) BPTT's peak grew "
      f"{bptt_growth:.1f}x ({bptt_kb_per_step:.1f} KB per step), RTRL's {rtrl_growth:.2f}x")

# %%
per_step = {H: (np.mean([r["bptt_ms"] for r in rows]), np.mean([r["rtrl_ms"] for r in rows]))
            for H, rows in by_H.items()}
print(charts.bar_chart({f"RTRL H={H} (P={rows[0]['P']})": per_step[H][1] for H, rows in by_H.items()}
                       | {f"BPTT H={H} (P={rows[0]['P']})": per_step[H][0] for H, rows in by_H.items()},
                       title="milliseconds per time step (mean over T)", fmt="{:.3f}"))
P_small, P_big = by_H[Hs[0]][0]["P"], by_H[Hs[-1]][0]["P"]
rtrl_time_growth = per_step[Hs[-1]][1] / per_step[Hs[0]][1]
bptt_time_growth = per_step[Hs[-1]][0] / per_step[Hs[0]][0]
print(f"from P = {P_small} to P = {P_big} parameters ({P_big / P_small:.1f}x): RTRL's time per step grew "
      f"{rtrl_time_growth:.1f}x, BPTT's {bptt_time_growth:.1f}x (counting multiplications: "
      f"{(Hs[-1] / Hs[0]) ** 4:.0f}x and {(Hs[-1] / Hs[0]) ** 2:.0f}x)")
cross = [r for r in costs if r["bptt_kb"] > r["rtrl_kb"]]
print("rows where BPTT held more memory than RTRL: "
      + (", ".join(f"H={r['H']} T={r['T']}" for r in cross) if cross else "none in this table"))
for H, rows in by_H.items():
    slope = (rows[-1]["bptt_kb"] - rows[0]["bptt_kb"]) / (Ts[-1] - Ts[0])          # KB per step
    even = rows[0]["T"] + (rows[0]["rtrl_kb"] - rows[0]["bptt_kb"]) / slope           # where the lines cross
    print(f"H={H}: BPTT adds {slope:.1f} KB per step; RTRL holds {np.mean([r['rtrl_kb'] for r in rows]):.0f} KB "
          f"whatever T is, as much as BPTT at about T = {even:.0f}")

# %% [markdown]
# Memory: BPTT's peak grows linearly with $T$ (the KB per step printed
# above), RTRL's stays where it is.  But RTRL's constant is large, of the order
# of $P^2$ numbers here (the unit directions and the $P$ copies of the
# weights, beside the $P \cdot B \cdot H$ sensitivities), and it grows with
# the network: the lines above give the length from which BPTT would hold as
# much, for each hidden size.  Time: RTRL's cost per step grows with the
# number of parameters, BPTT's less (the ratios printed above).  Compare both
# with what counting multiplications predicts, printed beside them: at these
# small sizes much of a step's time is the engine's fixed cost per op, so the
# measured growth can fall well short of the count.  RTRL's cost per step is
# why RTRL is a tool for understanding (and for small networks that must learn
# online, without storing the past) and BPTT, truncated, is what is used in
# practice.
#
# ## 3 · Truncated BPTT: what a window cannot learn
#
# Truncated BPTT cuts the cost the other way: split each sequence into windows
# of $k$ steps, carry the state from one window to the next but *detach* it
# (the value goes on, the history is dropped), and back-propagate each
# window's loss within the window only.  The gradient of a loss at step $t$
# then reaches back only to the start of its window.
#
# The task, lesson 3's delayed recall: random symbols from $K = 4$, and at
# step $t$ the target is the input at step $t - d$ (steps $t < d$ have no
# target).  The same network, the same data, the same number of Adam updates,
# three gradients: a window shorter than the delay, one longer than it, and
# the whole sequence (full BPTT, whose gradient RTRL would give as well).
# Accuracy on 256 fresh sequences; chance is $1/K$.

# %%
DELAY, T3, B3, H3 = 3, 12, 32, 12
STEPS3 = 60 if QUICK else 300
WINDOWS = (DELAY - 1, 2 * DELAY, T3)
CURV_AT = [0, STEPS3 // 3, STEPS3] if QUICK else [0, STEPS3 // 8, STEPS3 // 4, STEPS3 // 2, STEPS3]


def delay_batch(gen, B):
    sym = gen.integers(0, K, (T3, B))
    y = np.zeros((T3, B, K))
    y[DELAY:] = np.eye(K)[sym[:-DELAY]]                        # target at t: the input at t - DELAY
    return tg.tensor(np.eye(I)[sym]), tg.tensor(y)


def train_truncated(window, snapshots=()):
    p = init_params(H3, seed=1)
    gen = np.random.default_rng(2)
    opt = optim.Adam([p[n] for n in NAMES], lr=0.05)
    losses, saved = [], {}
    for step in range(STEPS3 + 1):
        if step in snapshots:
            saved[step] = {n: p[n].detach().clone() for n in NAMES}
        if step == STEPS3:
            break
        x, y = delay_batch(gen, B3)
        N = float(y.sum().item())
        opt.zero_grad()
        h, total = tg.zeros(B3, H3, dtype=tg.float64), 0.0
        for start in range(0, T3, window):
            h = h.detach()                                     # the value goes on; the gradient stops here
            L = 0
            for t in range(start, min(T3, start + window)):
                h = rnn_step(p, x[t], h)
                L = L + step_loss(p, h, y[t], N)
            if isinstance(L, tg.Tensor) and L.requires_grad:
                L.backward()                                   # gradients of all windows add up in .grad
                total += L.item()
        opt.step()
        losses.append(total)
    return p, losses, saved


def recall_accuracy(p):
    """The share of steps t >= DELAY whose most likely symbol is the input from DELAY steps back."""
    x, y = delay_batch(np.random.default_rng(99), 256)
    hs, h = [], tg.zeros(256, H3, dtype=tg.float64)
    with tg.no_grad():
        for t in range(T3):
            h = rnn_step(p, x[t], h)
            hs.append((h @ p["V"].T + p["c"]).argmax(-1).numpy())
    pred, target = np.array(hs)[DELAY:], y.numpy()[DELAY:].argmax(-1)
    return float((pred == target).mean())


trunc = {}
t0 = time.perf_counter()
for window in WINDOWS:
    p, losses, saved = train_truncated(window, snapshots=CURV_AT if window == T3 else ())
    trunc[window] = {"acc": recall_accuracy(p), "losses": losses, "saved": saved,
                     "loss_end": float(np.mean(losses[-5:]))}
    label = "full BPTT" if window == T3 else f"window {window}"
    print(f"{label:>10} (delay {DELAY}): recall accuracy {trunc[window]['acc']:.3f}, "
          f"loss (mean of 5 updates) {np.mean(losses[:5]):.3f} -> {trunc[window]['loss_end']:.3f}")
print(f"chance {1 / K:.2f}; {STEPS3} updates each, {time.perf_counter() - t0:.1f} s for the three")
charts.plot({("full BPTT" if w == T3 else f"window {w}"): trunc[w]["losses"] for w in WINDOWS},
            xlabel="Adam update", ylabel="loss", title=f"delayed recall (delay {DELAY}): training loss",
            png=figure("15_truncation"))

# %% [markdown]
# No window of $k \le d$ steps ever holds both a target and its source, so no
# gradient connects them: the recurrent weights are never taught to keep a
# symbol for $d$ steps.  What that window reaches is printed above; whatever it
# has above chance comes from what the recurrence keeps without being asked
# to, read out by $V$ (which every window trains directly).  A window longer
# than the delay connects a target to its source at some positions, and the
# shared weights carry what they learn there to every position.  Lesson 8 measured
# the same effect on its character model.
#
# ## 4 · Curvature: the gradient of the gradient
#
# The gradient $g(\theta) = \nabla L$ is itself a function of $\theta$, and the
# engine can differentiate it again: `backward(create_graph=True)` (or
# `tg.autograd.grad(..., create_graph=True)`) records the backward pass as a
# graph of its own.  The **Hessian-vector product** $Hv$ is then one more
# reverse pass, over $g \cdot v$:
#
# $$H v = \nabla_\theta\,\big(\nabla_\theta L \cdot v\big)$$
#
# without ever forming the $P \times P$ matrix $H$.
# `tg.autograd.functional.hvp(f, inputs, v)` is the same with PyTorch's
# signature.  Checked here against central differences of the gradient,
# $(g(\theta + \epsilon v) - g(\theta - \epsilon v)) / 2\epsilon$, on the
# trained network of section 3.

# %%
x_c, y_c = delay_batch(np.random.default_rng(7), 16)           # a fixed batch to measure curvature on


def hvp_double_backward(p, v):
    params = [p[n] for n in NAMES]
    g = tg.autograd.grad(loss_fn(p, x_c, y_c), params, create_graph=True)
    g_dot_v = sum((gi * vi).sum() for gi, vi in zip(g, v))
    return tg.autograd.grad(g_dot_v, params)


def gradient(theta):
    q = {n: t.detach().requires_grad_() for n, t in theta.items()}
    loss_fn(q, x_c, y_c).backward()
    return flat({n: q[n].grad for n in NAMES})


trained = {n: t.detach().requires_grad_() for n, t in trunc[T3]["saved"][STEPS3].items()}
v4 = [tg.tensor(rng.standard_normal(trained[n].shape)) for n in NAMES]
hv = flat(dict(zip(NAMES, hvp_double_backward(trained, v4))))
_, hv_f = tg.autograd.functional.hvp(lambda *ps: loss_fn(dict(zip(NAMES, ps)), x_c, y_c),
                                     tuple(trained[n] for n in NAMES), tuple(v4))
hvp_vs_functional = float(np.abs(hv - flat(dict(zip(NAMES, hv_f)))).max())
eps = 1e-5
plus = gradient({n: trained[n].detach() + eps * v for n, v in zip(NAMES, v4)})
minus = gradient({n: trained[n].detach() - eps * v for n, v in zip(NAMES, v4)})
hv_fd = (plus - minus) / (2 * eps)
hvp_vs_fd = float(np.abs(hv - hv_fd).max() / np.abs(hv_fd).max())
print(f"|Hv| = {np.linalg.norm(hv):.4f}; double backward against functional.hvp: {hvp_vs_functional:.1e}")
print(f"against finite differences of the gradient (eps {eps:g}): largest difference / largest entry {hvp_vs_fd:.1e}")

# %% [markdown]
# **The sharpest direction.**  The eigenvalue of $H$ largest in magnitude,
# $\lambda$, says how fast the slope changes along the loss surface's most
# curved direction.  Power iteration finds it with Hessian-vector products
# alone: repeat $v \leftarrow Hv / \lVert Hv \rVert$; then $\lambda = v \cdot Hv$.
# How close $v$ came to an eigenvector is measured by the residual
# $\lVert Hv - \lambda v \rVert / |\lambda|$ (0 for an exact one).  We run it at
# several points of the full-BPTT training above, on the parameters saved there.

# %%
ITERS = 10 if QUICK else 30


def top_eigenvalue(theta, iters=ITERS, seed=0):
    gen = np.random.default_rng(seed)
    p = {n: t.detach().requires_grad_() for n, t in theta.items()}
    size = sum(p[n].numel() for n in NAMES)
    v = gen.standard_normal(size)
    v /= np.linalg.norm(v)

    def H_times(vec):
        parts, start = [], 0
        for n in NAMES:
            size = p[n].numel()
            parts.append(tg.tensor(vec[start:start + size].reshape(p[n].shape)))
            start += size
        return flat(dict(zip(NAMES, hvp_double_backward(p, parts))))

    for _ in range(iters):
        w = H_times(v)
        lam = float(v @ w)
        v = w / np.linalg.norm(w)
    w = H_times(v)
    lam = float(v @ w)
    return lam, float(np.linalg.norm(w - lam * v) / abs(lam)), size


t0 = time.perf_counter()
curvature = {}
for step in CURV_AT:
    lam, residual, P_curv = top_eigenvalue(trunc[T3]["saved"][step])
    curvature[step] = (lam, residual)
    print(f"step {step:>4}: lambda = {lam:9.4f}   residual {residual:.1e}   training loss there "
          f"{trunc[T3]['losses'][min(step, STEPS3 - 1)]:.3f}")
print(f"({len(CURV_AT)} points x {ITERS + 1} Hessian-vector products over P = {P_curv} parameters: "
      f"{time.perf_counter() - t0:.1f} s)")
charts.plot({"largest |eigenvalue|": [curvature[s][0] for s in CURV_AT]}, x=CURV_AT, xlabel="Adam update",
            ylabel="lambda", title="sharpest curvature of the loss during training", connect=True,
            png=figure("15_curvature"))

# %%
lams = [curvature[s][0] for s in CURV_AT]
lam_first, lam_last, lam_max = lams[0], lams[-1], max(lams, key=abs)
trend = "grew" if abs(lam_last) > abs(lam_first) else "shrank"
print(f"The sharpest curvature {trend} from {lam_first:.4f} at the start to {lam_last:.4f} after {STEPS3} updates; "
      f"its largest magnitude on the way was {lam_max:.4f} (step {CURV_AT[lams.index(lam_max)]}).")

# %% [markdown]
# Forward mode and reverse mode are two orders of the same chain rule: one
# carries $\partial h_t / \partial \theta$ forward with the state (RTRL, memory
# flat in $T$, work per step growing with $P$), the other carries $\partial L / \partial
# h_t$ backward over the stored graph (BPTT, one pass, memory linear in $T$).
# Truncating BPTT keeps its memory bounded and loses every dependency longer
# than the window.  And because the backward pass is itself made of
# differentiable ops, the gradient can be differentiated again, which gives
# the curvature that first-order training never sees.

# %%
result(P=n_params, bptt_vs_hand=bptt_vs_hand, rtrl_vs_bptt=rtrl_vs_bptt, rtrl_vs_hand=rtrl_vs_hand,
       jvp_vs_bptt=jvp_vs_bptt, tangent_vs_recursion=tangent_vs_recursion, passes_vs_rtrl=passes_vs_rtrl,
       passes_s=t_passes, batched_s=t_batched,
       T_ratio=Ts[-1] / Ts[0], bptt_mem_growth=bptt_growth, rtrl_mem_growth=rtrl_growth,
       bptt_kb_per_step=bptt_kb_per_step, P_ratio=P_big / P_small, rtrl_time_growth=rtrl_time_growth,
       bptt_time_growth=bptt_time_growth, delay=DELAY, short_window=WINDOWS[0], short_acc=trunc[WINDOWS[0]]["acc"],
       long_window=WINDOWS[1], long_acc=trunc[WINDOWS[1]]["acc"], full_acc=trunc[T3]["acc"], chance=1 / K,
       short_loss=trunc[WINDOWS[0]]["loss_end"], full_loss=trunc[T3]["loss_end"], steps=STEPS3,
       hvp_vs_fd=hvp_vs_fd, hvp_vs_functional=hvp_vs_functional, lam_first=lam_first, lam_last=lam_last,
       lam_residual=max(r for _, r in curvature.values()), curv_points=len(CURV_AT))
