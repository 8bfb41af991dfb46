# %% [markdown]
# # 7. Bidirectional RNNs
#
# A recurrent network reading left to right knows, at step $t$, only
# $x_1, \dots, x_t$. When the whole sequence is available before any output is
# needed (tagging the words of a sentence, the frames of a recording), the
# answer at step $t$ may depend on what comes *later*. A bidirectional RNN
# (Schuster & Paliwal 1997) runs a second RNN from right to left and lets the
# output read both.

# %%
from tinygrad_seq.tutorial import figure, quick, result, step_through
step_through()

# %%
import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, diagrams, nn, optim
from tinygrad_seq.nn import functional as F
from tinygrad_seq.progress import Progress

QUICK = quick()
tg.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The equations
#
# Two hidden layers with their own weights, one running forward in time and
# one backward, and an output that reads both:
#
# $$\begin{aligned}
# \overrightarrow{h}_t &= \tanh(\overrightarrow{U} x_t + \overrightarrow{W}\, \overrightarrow{h}_{t-1} + \overrightarrow{b}), && \overrightarrow{h}_0 = 0\\
# \overleftarrow{h}_t &= \tanh(\overleftarrow{U} x_t + \overleftarrow{W}\, \overleftarrow{h}_{t+1} + \overleftarrow{b}), && \overleftarrow{h}_{T+1} = 0\\
# z_t &= W_{\text{out}} \begin{bmatrix}\overrightarrow{h}_t \\ \overleftarrow{h}_t\end{bmatrix} + b_{\text{out}} && \text{(the scores, as in lesson 3's table)}
# \end{aligned}$$
#
# `nn.RNN(bidirectional=True)` keeps the backward layer's weights under the
# names ending in `_reverse` and returns, at every step, the two hidden states
# concatenated: the forward one first. The layout:

# %%
diagrams.show("birnn", figure("07_birnn"))

# %% [markdown]
# We run the equations by hand with its weights:

# %%
I, H = 3, 4
birnn = nn.RNN(I, H, bidirectional=True).double()
Wts = {name: tg.tensor(p.numpy(), dtype=np.float64) for name, p in birnn.named_parameters()}


def direction(x, suffix, reverse):
    U, W = Wts[f"weight_ih_l0{suffix}"], Wts[f"weight_hh_l0{suffix}"]
    b = Wts[f"bias_ih_l0{suffix}"] + Wts[f"bias_hh_l0{suffix}"]
    T = x.shape[0]
    h = tg.zeros(x.shape[1], H, dtype=np.float64)
    hs = [None] * T
    for t in (reversed(range(T)) if reverse else range(T)):
        h = (x[t] @ U.T + h @ W.T + b).tanh()
        hs[t] = h
    return tg.stack(hs)


x = tg.tensor(rng.normal(size=(6, 2, I)), dtype=np.float64)
forward, backward = direction(x, "", False), direction(x, "_reverse", True)
by_hand = tg.cat([forward, backward], axis=-1)
out_lib, h_n = birnn(x)
bi_diff = float(np.abs(by_hand.numpy() - out_lib.numpy()).max())
print(f"output shape {out_lib.shape} (T, B, 2H); largest |by hand - nn.RNN(bidirectional=True)| = {bi_diff:.3g}")
print("final states h_n: forward = last step of the forward layer, backward = FIRST step of the backward layer:")
print(f"  {np.abs(h_n[0].numpy() - forward[-1].numpy()).max():.3g}, {np.abs(h_n[1].numpy() - backward[0].numpy()).max():.3g}")

# %% [markdown]
# ## A tagging task that needs the future
#
# Sequences of random symbols from an alphabet of $K$; the tag of position $t$
# is the symbol at position $t + 1$ (the last position has no tag). A left-to-right
# RNN has not seen $x_{t+1}$ when it must tag position $t$, so whatever it
# learns, it can only guess: its accuracy is bounded by chance, $1/K$. The
# bidirectional RNN's backward layer has just read it.
#
# Two taggers of the same hidden width per direction, each `nn.RNN` plus a
# `Linear` layer on every step, trained identically with cross-entropy and Adam:

# %%
K, T, B = 4, 8, 32
H_task = 16
steps = 60 if QUICK else 300


def tag_batch(gen, B):
    sym = gen.integers(0, K, (T, B))
    return tg.tensor(np.eye(K)[sym], dtype=np.float32), sym[1:]     # tags for positions 0..T-2


def tagger(bidirectional):
    tg.manual_seed(0)
    rnn = nn.RNN(K, H_task, bidirectional=bidirectional)
    return rnn, nn.Linear(H_task * (2 if bidirectional else 1), K)


def scores(model, x):
    rnn, head = model
    out, _ = rnn(x)
    return head(out[:-1])                                    # (T-1, B, K)


def train(bidirectional):
    model = tagger(bidirectional)
    params = list(model[0].parameters()) + list(model[1].parameters())
    opt = optim.Adam(params, lr=0.02)
    gen = np.random.default_rng(0)
    losses = []
    with Progress(steps, "bidirectional" if bidirectional else "unidirectional", log_every=max(1, steps // 4)) as bar:
        for step in range(steps):
            x, tags = tag_batch(gen, B)
            loss = F.cross_entropy(scores(model, x).reshape(-1, K), tg.tensor(tags.reshape(-1), dtype=np.int64))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.update(loss=losses[-1])
    return model, losses


uni_model, uni_losses = train(False)
bi_model, bi_losses = train(True)

# %%
x_test, tags_test = tag_batch(np.random.default_rng(1234), 500)
with tg.no_grad():
    uni_acc = float((scores(uni_model, x_test).argmax(axis=-1).numpy() == tags_test).mean())
    bi_acc = float((scores(bi_model, x_test).argmax(axis=-1).numpy() == tags_test).mean())
print(f"tagging accuracy on 500 new sequences: unidirectional {uni_acc:.3f}, bidirectional {bi_acc:.3f}, "
      f"chance {1 / K:.3f}")
print(charts.bar_chart({"unidirectional": uni_acc, "bidirectional": bi_acc, "chance": 1 / K},
                       title="tagging accuracy", fmt="{:.3f}"))
charts.plot({"unidirectional": uni_losses, "bidirectional": bi_losses}, xlabel="Adam step",
            ylabel="cross-entropy", title="training loss", png=figure("07_tagging_loss"), height=10)

# %% [markdown]
# ## Why a bidirectional RNN cannot be a language model
#
# Look at the task again: the tag of position $t$ is the symbol at $t + 1$.
# That is exactly what a language model predicts, $p(x_{t+1} \mid x_1, \dots, x_t)$.
# The bidirectional tagger "solves" it because its backward layer has already
# read $x_{t+1}$: it copies the answer instead of predicting it. A language
# model must give the next symbol's probability *from the past alone*, for two
# reasons: its probabilities must multiply to the probability of the sequence,
# $p(x_1, \dots, x_T) = \prod_t p(x_{t+1} \mid x_{\le t})$, which a model that
# looks ahead does not compute; and to *generate* text, each symbol is drawn
# before the next exists, so there is nothing for the backward layer to read.
# Measured: in every test sequence change one symbol, $x_j$, to a different
# one, and see how often the bidirectional tagger's output at $j - 1$ follows
# the change (a model of the past alone could not notice it):

# %%
j = T // 2                                         # change one symbol, x_j, in every test sequence
sym_test = x_test.numpy().argmax(axis=-1)
changed = sym_test.copy()
changed[j] = (sym_test[j] + np.random.default_rng(7).integers(1, K, sym_test[j].shape)) % K
x_changed = tg.tensor(np.eye(K)[changed], dtype=np.float32)
with tg.no_grad():
    bi_out = scores(bi_model, x_changed).argmax(axis=-1).numpy()
    uni_now = scores(uni_model, x_changed).argmax(axis=-1).numpy()
    uni_before = scores(uni_model, x_test).argmax(axis=-1).numpy()
follow = float((bi_out[j - 1] == changed[j]).mean())         # the output at j-1 now names the new x_j
uni_moved = float((uni_now[:j] != uni_before[:j]).mean())    # outputs before j, whose past did not change
print(f"bidirectional: the output at position {j - 1} names the changed x_{j} in {follow:.3f} of the sequences")
print(f"unidirectional: outputs at positions 0..{j - 1} that changed at all: {uni_moved:.3f}")

# %% [markdown]
# The bidirectional tagger's answer follows the future symbol almost every time:
# it is reading it. The unidirectional tagger's outputs before position $j$ do
# not move at all: they depend on the past alone, as a language model's must.
# Bidirectional layers are for tasks where the whole input is known before any
# output is made: tagging, classification, the encoder of lesson 10; never for
# the decoder or a language model.
#
# The by-hand bidirectional RNN equals the library's to the printed difference.
# On the tagging task the unidirectional tagger stays near chance, as it must,
# while the bidirectional one reads the answer from its backward layer.
# Summary:

# %%
result(bi_diff=bi_diff, uni_acc=uni_acc, bi_acc=bi_acc, chance=1 / K, bi_follows_future=follow,
       uni_moved_by_future=uni_moved)
