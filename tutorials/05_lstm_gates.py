# %% [markdown]
# # 5. The LSTM, gate by gate
#
# Lesson 4 showed the vanilla RNN's gradient shrinking by a factor at every
# step back in time. The long short-term memory (Hochreiter & Schmidhuber 1997)
# adds a memory cell $c_t$ that is updated by *addition*, with gates deciding
# what to forget, what to write and what to show. Here we write it from
# primitive ops, check it against `nn.LSTM` number for number, and then give it
# a task with a long delay that a vanilla RNN of the same size fails.

# %%
from tinygrad_seq.tutorial import figure, quick, remember, result, step_through
step_through()

# %%
import inspect
import textwrap

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, diagrams, nn, tasks

QUICK = quick()
tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The equations
#
# At each step, from the input $x_t$ and the previous hidden state $h_{t-1}$,
# four gates (each with its own weights, $\sigma$ the sigmoid):
#
# $$\begin{aligned}
# i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) && \text{input gate: how much to write}\\
# f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) && \text{forget gate: how much of } c_{t-1} \text{ to keep}\\
# g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) && \text{candidate: what to write}\\
# o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) && \text{output gate: how much to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t && \text{memory cell}\\
# h_t &= o_t \odot \tanh(c_t) && \text{hidden state}
# \end{aligned}$$
#
# Along the memory cell, $\partial c_t / \partial c_{t-1} = \mathrm{diag}(f_t)$:
# no weight matrix, no squashing derivative. Where the forget gate stays near 1,
# the gradient passes back through many steps intact.
#
# `nn.LSTM` stores the four gates' weights stacked in one matrix, in the order
# $i, f, g, o$ (as PyTorch does): `weight_ih_l0` is $[W_{ii}; W_{if}; W_{ig}; W_{io}]$.
# We take the same weights apart and run the equations above one by one.
# First the cell as a picture (colah's layout: the memory cell runs along the
# top, the gates feed it from below):

# %%
diagrams.show("lstm", figure("05_lstm_cell"))

# %%
I, H = 3, 5
lstm = nn.LSTM(I, H).double()                # float64, so the comparison shows rounding only
W = {name: p.numpy().copy() for name, p in lstm.named_parameters()}


def gate_params(gate):
    """(W_i*, W_h*, b_i*, b_h*) of gate number ``gate`` (0 i, 1 f, 2 g, 3 o) as float64 tensors."""
    rows = slice(gate * H, (gate + 1) * H)
    return tuple(tg.tensor(W[name][rows], dtype=np.float64)
                 for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"))


P = {name: gate_params(k) for k, name in enumerate("ifgo")}


def gate(name, x_t, h, act):
    W_x, W_h, b_x, b_h = P[name]
    return act(x_t @ W_x.T + b_x + h @ W_h.T + b_h)


def lstm_by_hand(x):
    T, B, _ = x.shape
    h = tg.zeros(B, H, dtype=np.float64)
    c = tg.zeros(B, H, dtype=np.float64)
    hs, gates = [], []
    for t in range(T):
        i = gate("i", x[t], h, tg.sigmoid)
        f = gate("f", x[t], h, tg.sigmoid)
        g = gate("g", x[t], h, tg.tanh)
        o = gate("o", x[t], h, tg.sigmoid)
        c = f * c + i * g
        h = o * c.tanh()
        hs.append(h)
        gates.append({"i": i, "f": f, "g": g, "o": o, "c": c})
    return tg.stack(hs), (h, c), gates


x = tg.tensor(rng.normal(size=(7, 2, I)), dtype=np.float64)
out_hand, (h_hand, c_hand), _ = lstm_by_hand(x)
out_lib, (h_lib, c_lib) = lstm(x)
lstm_diff = max(float(np.abs(a.numpy() - b.numpy()).max())
                for a, b in [(out_hand, out_lib), (h_hand, h_lib[0]), (c_hand, c_lib[0])])
print(f"outputs {out_lib.shape}, final h and c: largest |by hand - nn.LSTM| = {lstm_diff:.3g}")

# %% [markdown]
# ## The adding problem
#
# Each input step carries two numbers: a random value in $[0, 1]$ and a marker,
# 1 at exactly two steps (one in each half of the sequence) and 0 elsewhere.
# The target, read off the last hidden state, is the sum of the two marked
# values (Hochreiter & Schmidhuber 1997). The first marked value can be most of
# a sequence back, so the network has to hold it across a long delay.
#
# A model that ignores its input can do no better than predicting the mean of
# the targets; its MSE is the variance of the targets (about $2 \cdot \frac{1}{12}$
# for two uniform values). That is the baseline to beat. The batches come from
# `tasks.adding_batch` in the library (printed below), so that lesson 6 draws
# the very same ones.

# %%
def show(function, first, last):
    """Print a library function's source from the line containing ``first`` to the one containing ``last``."""
    lines = inspect.getsource(function).splitlines()
    start = next(k for k, line in enumerate(lines) if first in line)
    stop = next(k for k, line in enumerate(lines) if k > start and last in line)
    print(textwrap.dedent("\n".join(lines[start:stop + 1])))


show(tasks.adding_batch, "values = ", "return")  # the data, from the library (lesson 6 uses it too)
task = tasks.AddingTask.lesson(QUICK)
T, H_task, steps = task.T, task.hidden, task.steps
x_test, y_test = task.test_set()                 # 1000 fresh sequences, the same in every run
baseline = float(((y_test.numpy() - y_test.numpy().mean()) ** 2).mean())
print(f"T = {T}; predict-the-mean baseline MSE on the test set: {baseline:.4f}")

# %% [markdown]
# Two models of the same width, each an `nn.RNN` or `nn.LSTM` with a `Linear`
# head on its last output, trained identically: Adam, learning rate 0.01,
# gradients clipped at norm 1 (lesson 4), the same batches. The LSTM starts
# with its forget-gate bias raised by 1, the usual initialisation lesson 4
# measured.
#
# The task, the models and this training loop live in the library,
# `tinygrad_seq/tasks.py`, written once: lesson 6 trains its GRU with the very
# same code, and reuses this lesson's LSTM run instead of training a copy (the
# LSTM's numbers are saved to `tutorials/.cache/05_lstm_adding.json` below).
# The loop of `tasks.train_adding`, printed from its source:

# %%
show(tasks.train_adding, "= make_adding_model(", "bar.update(")

# %%
lstm_run = tasks.train_adding("LSTM", task)
rnn_run = tasks.train_adding("RNN", task)
lstm_net, lstm_head, lstm_losses, lstm_mse = lstm_run.net, lstm_run.head, lstm_run.losses, lstm_run.mse
rnn_losses, rnn_mse = rnn_run.losses, rnn_run.mse
saved = remember("05_lstm_adding", {"quick": QUICK, **task.settings()}, lstm_run.record())
print(f"the LSTM's run saved to {saved} for lesson 6" if saved else "the LSTM's run was not saved (caching off)")

# %% [markdown]
# The loss curves (smoothed over windows of 10 steps, log scale) and the test
# MSE of each against the baseline. In full mode (the longer sequences and many
# more steps set in the cell above), the LSTM's curve drops far below the
# baseline while the RNN's stays near it: the RNN cannot carry the first marked
# value through the delay. Quick mode uses short sequences and only a
# hundred-odd steps, too few for either model to learn much: there, read the
# printed numbers, not this story.

# %%
def smooth(values, k=10):
    v = np.asarray(values)
    return [float(v[max(0, i - k + 1):i + 1].mean()) for i in range(len(v))]


charts.plot({"LSTM": smooth(lstm_losses), "RNN": smooth(rnn_losses), "baseline": [baseline] * steps},
            logy=True, xlabel="Adam step", ylabel="MSE", title=f"adding problem, T = {T}", png=figure("05_adding_loss"))
print(charts.bar_chart({"LSTM": lstm_mse, "RNN": rnn_mse, "predict the mean": baseline},
                       title="test MSE (lower is better)"))
print(f"LSTM MSE / baseline = {lstm_mse / baseline:.3f}   RNN MSE / baseline = {rnn_mse / baseline:.3f}")

# %% [markdown]
# ## What the gates do
#
# One test sequence through the trained LSTM, with the gates recorded: we copy
# its weights into the by-hand version above (the same equations), run it, and
# average each gate over the hidden units at every step. Marked steps are where
# the model must write; between them it must keep. After full-mode training,
# compare the printed input-gate averages on and off the marked steps.

# %%
with tg.no_grad():
    W = {name: p.numpy().astype(np.float64) for name, p in lstm_net.named_parameters()}
    H = H_task
    P = {name: gate_params(k) for k, name in enumerate("ifgo")}
    one = tg.tensor(x_test.numpy()[:, :1], dtype=np.float64)
    _, _, gates = lstm_by_hand(one)
marked = np.flatnonzero(one.numpy()[:, 0, 1])
gate_means = {name: [float(g[name].numpy().mean()) for g in gates] for name in ("i", "f", "o")}
i_mean = np.array(gate_means["i"])
i_marked, i_other = float(i_mean[marked].mean()), float(np.delete(i_mean, marked).mean())
print(f"marked steps: {marked.tolist()}; input gate {i_marked:.3f} on average there, {i_other:.3f} elsewhere")
print(charts.heatmap([gate_means[k] for k in ("i", "f", "o")], rows=["input i", "forget f", "output o"],
                     cols=["M" if t in marked else "." for t in range(T)],
                     title="mean gate value per step (darker = more open; M = marked step)"))
charts.plot(gate_means, xlabel="time step", ylabel="mean gate value", title="gates on one test sequence",
            png=figure("05_gates"), height=10)

# %% [markdown]
# ## The unit that carries the value
#
# The averages above are flat: most of the units have nothing to keep, and an
# average over them hides the few that do. So look for the unit that carries
# the first marked value. Run all 1000 test sequences through the by-hand LSTM
# and, for each unit $u$, correlate its memory cell $c_t[u]$ just before the
# second mark with the first marked value; the unit with the largest
# correlation is the carrier. Then its own gates: its input gate at the first
# mark (write) and its forget gate on the steps between the two marks (keep),
# against the same averages over all units.

# %%
with tg.no_grad():
    _, _, gates_all = lstm_by_hand(tg.tensor(x_test.numpy(), dtype=np.float64))
xs_np = x_test.numpy()
first = np.argmax(xs_np[:, :, 1], axis=0)                              # first marked step, per sequence
second = T - 1 - np.argmax(xs_np[::-1, :, 1], axis=0)                  # second marked step
seqs = np.arange(xs_np.shape[1])
value = xs_np[first, seqs, 0]                                          # the first marked value
C = np.stack([g["c"].numpy() for g in gates_all])                      # (T, N, H) memory cells
F_gate = np.stack([g["f"].numpy() for g in gates_all])
I_gate = np.stack([g["i"].numpy() for g in gates_all])
before_second = C[second - 1, seqs]                                    # (N, H)
corr = np.array([np.corrcoef(before_second[:, u], value)[0, 1] for u in range(H)])
unit = int(np.nanargmax(np.abs(corr)))
between = np.zeros(F_gate.shape[:2], dtype=bool)                       # (T, N): strictly between the marks
for n in seqs:
    between[first[n] + 1:second[n], n] = True
carry_f = float(F_gate[:, :, unit][between].mean())
all_f = float(F_gate[between].mean())
carry_i_first = float(I_gate[first, seqs, unit].mean())
all_i_first = float(I_gate[first, seqs].mean())
print(f"carrier: unit {unit}, correlation {corr[unit]:+.3f} with the first marked value "
      f"(next best |corr| {np.sort(np.abs(corr))[-2]:.3f})")
print(f"forget gate between the marks: carrier {carry_f:.3f}, all units {all_f:.3f}")
print(f"input gate at the first mark:  carrier {carry_i_first:.3f}, all units {all_i_first:.3f}")
print(charts.heatmap([[float(g[k].numpy()[0, unit]) for g in gates] for k in ("i", "f", "o")],
                     rows=["input i", "forget f", "output o"], cols=["M" if t in marked else "." for t in range(T)],
                     title=f"unit {unit}'s gates on the sequence above (darker = more open; M = marked step)"))

# %% [markdown]
# After full-mode training the carrier's correlation is close to 1, and its
# gates do what the equations promise: the forget gate stays near 1 between
# the marks (keep), well above the average over units. In quick mode the
# model has barely started to learn; the numbers are printed all the same.
#
# The by-hand LSTM matches `nn.LSTM` to the printed difference, and the MSEs
# above are computed on 1000 fresh test sequences. Summary:

# %%
result(lstm_diff=lstm_diff, lstm_mse=lstm_mse, rnn_mse=rnn_mse, baseline_mse=baseline,
       lstm_loss_last=float(np.mean(lstm_losses[-10:])), rnn_loss_last=float(np.mean(rnn_losses[-10:])),
       input_gate_marked=i_marked, input_gate_other=i_other, carry_unit=unit, carry_corr=float(corr[unit]),
       carry_f=carry_f, all_f=all_f, carry_i_first=carry_i_first, all_i_first=all_i_first)
