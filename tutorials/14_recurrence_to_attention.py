# %% [markdown]
# # 14 · From recurrence to attention
#
# A recurrent network reads a sequence one step at a time and carries
# everything it knows in its state: $h_t = f(x_t, h_{t-1})$.  Whatever the
# output at step $T$ needs from step 1 must pass through $T - 1$ applications
# of $f$, and so must its gradient on the way back (lessons 4 and 5).
# **Attention** gives every position a direct line to every other: the output
# at position $i$ is a weighted average of all the positions' values, with
# weights computed from how well position $i$'s *query* matches each
# position's *key*:
#
# $$Q = XW_q^\top,\; K = XW_k^\top,\; V = XW_v^\top, \qquad
#   \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\Big(\frac{QK^\top}{\sqrt{d}} + M\Big)\,V$$
#
# where $M$ is $0$ where position $i$ may look at position $j$ and $-\infty$
# where it may not (for a language model: no looking ahead, $j > i$).  A
# **Transformer** layer is this attention, on several *heads* side by side,
# followed by a small feed-forward network, each with a residual connection
# and a LayerNorm.  In this lesson we
#
# 1. build self-attention from primitive ops, step by step, and check it
#    equals `nn.MultiheadAttention`;
# 2. measure how much gradient reaches each input position, for an LSTM and
#    for a Transformer layer on the same sequence (path length $T$ against 1);
# 3. train an LSTM and a small causal Transformer as character-level language
#    models with about the same number of parameters for the same wall time,
#    and see honestly which one wins here, and why; and draw what the
#    Transformer's heads look at.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import math
import time

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, nn
from tinygrad_seq.data import CharVocab, Streams, load_text, split_text
from tinygrad_seq.nn import functional as F

QUICK = quick()
tg.manual_seed(0)
print(f"quick mode: {QUICK}")

# %% [markdown]
# ## 1 · Self-attention from primitive ops
#
# One sequence of $T = 6$ positions with $E = 8$ features, and a
# `nn.MultiheadAttention(8, num_heads=2)` whose weights we borrow: its
# `in_proj_weight` stacks $W_q, W_k, W_v$ (each $E \times E$) and its
# `out_proj` is the output projection $W_o$.  Each of the $h = 2$ heads works
# on its own $d = E / h = 4$ of the projected features:
#
# $$\mathrm{head}_k = \mathrm{softmax}\!\Big(\frac{Q_k K_k^\top}{\sqrt{d}}\Big) V_k, \qquad
#   \mathrm{out} = [\mathrm{head}_1, \dots, \mathrm{head}_h]\, W_o^\top + b_o$$
#
# Everything below is matmuls, a softmax and slicing; the gradient comes from
# `backward()` as for the RNNs.  We work in float64 so that the comparison is
# exact to rounding.

# %%
T, E, H = 6, 8, 2
d = E // H
mha = nn.MultiheadAttention(E, H).double()
x = tg.randn(T, E, dtype=tg.float64)                        # one sequence, unbatched: (T, E)

W_q, W_k, W_v = mha.in_proj_weight.chunk(3)                 # each (E, E)
b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
Q, K, V = x @ W_q.T + b_q, x @ W_k.T + b_k, x @ W_v.T + b_v  # (T, E): a query, key and value per position

heads, weights = [], []
for k in range(H):
    q, key, v = (M[:, k * d:(k + 1) * d] for M in (Q, K, V))   # this head's slice: (T, d)
    scores = q @ key.T / math.sqrt(d)                           # (T, T): how well query i matches key j
    A = scores.softmax(-1)                                      # each row a distribution over positions
    heads.append(A @ v)                                         # (T, d): weighted averages of the values
    weights.append(A)
out = tg.cat(heads, 1) @ mha.out_proj.weight.T + mha.out_proj.bias

ref, ref_w = mha(x, x, x, average_attn_weights=False)       # the library's module, same weights
attn_diff = max(float(np.abs(out.numpy() - ref.numpy()).max()),
                float(np.abs(tg.stack(weights).numpy() - ref_w.numpy()).max()))
print(f"output {tuple(out.shape)}; largest difference from nn.MultiheadAttention (output and weights): {attn_diff:.1e}")
print("head 1's weights (each row sums to 1):")
print(np.round(weights[0].numpy(), 2))

# %% [markdown]
# **The causal mask.**  A language model must not see the future, so
# position $i$ may only attend to $j \le i$: add $M$ with $-\infty$ above the
# diagonal before the softmax ($e^{-\infty} = 0$).
# `nn.Transformer.generate_square_subsequent_mask(T)` makes exactly this $M$;
# passed as `attn_mask`, the module gives the same numbers as our masked
# version:

# %%
M = nn.Transformer.generate_square_subsequent_mask(T, dtype=tg.float64)
print(M.numpy())
heads_c = []
for k in range(H):
    q, key, v = (Mx[:, k * d:(k + 1) * d] for Mx in (Q, K, V))
    heads_c.append((q @ key.T / math.sqrt(d) + M).softmax(-1) @ v)
out_c = tg.cat(heads_c, 1) @ mha.out_proj.weight.T + mha.out_proj.bias
ref_c, w_c = mha(x, x, x, attn_mask=M)
causal_diff = float(np.abs(out_c.numpy() - ref_c.numpy()).max())
print(f"masked: largest difference {causal_diff:.1e}; weight above the diagonal: "
      f"{float(np.triu(w_c.numpy(), 1).sum()):.1f}")

# %% [markdown]
# ## 2 · How much gradient reaches each input position
#
# Take a sequence of $T$ random inputs, let the loss read the output at the
# *last* position (a fixed random projection of it: a plain sum would be
# constant after the Transformer's final LayerNorm), and measure $\lVert \partial L / \partial x_t \rVert$
# for every $t$.  For an LSTM the only route from $x_1$ to the output at $T$
# runs through $T - 1$ recurrent steps, and each step scales the gradient by
# its forget gate and recurrent Jacobian: the curve falls geometrically as
# $t$ moves back.  In a Transformer layer the output at $T$ reads every
# position directly: the path from any $x_t$ to it is **one** attention step,
# however far back $t$ is.  `tg.viz.compare_gradient_flow(..., wrt="input")`
# runs both on the same input and draws the two curves (log scale):

# %%
T2 = 40 if QUICK else 120
E2 = 32
x2 = tg.randn(T2, 1, E2)
lstm = nn.LSTM(E2, E2)
layer = nn.TransformerEncoderLayer(E2, nhead=4, dim_feedforward=64, dropout=0.0)
r = tg.randn(E2)                                  # a fixed random readout of the last output
flows = tg.viz.compare_gradient_flow({"lstm": lstm, "transformer": layer}, x2, wrt="input",
                                     loss_fn=lambda out: (out[-1] * r).sum(), png=figure("14_input_gradients"))
lstm_n, tr_n = np.array(flows["lstm"].norms), np.array(flows["transformer"].norms)
lstm_ratio = lstm_n[0] / lstm_n[-2]               # the first position against the one before the last
tr_ratio = tr_n[0] / tr_n[-2]
tr_spread = tr_n[:-1].max() / tr_n[:-1].min()
print(f"|dL/dx_1| / |dL/dx_(T-1)| over T = {T2} positions: LSTM {lstm_ratio:.1e}, Transformer {tr_ratio:.2f}")
print(f"over positions 1 .. T-1 the Transformer's largest and smallest |dL/dx_t| differ by a factor "
      f"{tr_spread:.1f}; the LSTM's by {lstm_n[:-1].max() / lstm_n[:-1].min():.1e}")
print(f"at the last position itself: LSTM {lstm_n[-1]:.2f}, Transformer {tr_n[-1]:.2f} "
      f"(the residual connection is a direct path there)")

# %% [markdown]
# The LSTM's gradient at the first position is a tiny fraction of the one a
# step before the end (the ratio printed above): it fell geometrically along
# the way.  The Transformer's does not fall with distance: every
# earlier position reaches the last output through one attention step, so
# their gradients differ by how much attention each gets (the spread printed
# above), not by a factor that compounds with how far back they are.  (The last position is left
# out of these comparisons: it also reaches its own output directly, through
# the cell's input or the residual connection.)  That is what "attention does not
# vanish through time" means, and it is bought with cost: every position
# attends to every other, $T^2$ scores per layer and head, where the LSTM does
# $T$ steps of fixed size.
#
# ## 3 · A character-level language model: LSTM against a causal Transformer
#
# Both models read characters of the bundled corpus (Python's documentation)
# and predict the next one.
#
# * **LSTM**: embedding → one `nn.LSTM` layer → linear head, trained with
#   truncated BPTT over parallel streams with the state carried (and detached)
#   from one chunk to the next, as in lesson 8, so its context is unbounded.
# * **Transformer**: embedding plus a learned position embedding → two
#   `nn.TransformerEncoderLayer`s (4 heads, `norm_first=True`) with the causal
#   mask → LayerNorm → linear head.  It sees only the chunk it is given: a
#   context of at most `CTX` characters.
#
# The sizes are chosen so that the two have about the same number of
# parameters; each is trained with Adam for the **same wall-clock budget**,
# and the validation bits per character is measured at the same moments of
# that budget (evaluation time not counted).  For the Transformer, every
# validation character is scored with at least `CTX / 2` characters of
# context (windows of `CTX`, scoring their second half).

# %%
corpus, source = load_text(None)
text = corpus[:150_000] if QUICK else corpus
train_text, val_text = split_text(text)
vocab = CharVocab.from_text(text)
train_ids = vocab.encode(train_text)
val_ids = vocab.encode(val_text[:3_000] if QUICK else val_text[:20_000])
VOCAB = len(vocab)
BUDGET = 1.2 if QUICK else 90.0          # seconds of training for each model
EVALS = 3 if QUICK else 10               # validation points within the budget
CTX, BATCH = 64, 32
print(f"{source}: training on {len(train_ids):,} characters, validating on {len(val_ids):,}; "
      f"vocabulary {VOCAB}; {BUDGET:g} s of training per model")


class LSTMLM(nn.Module):
    def __init__(self, vocab, emb=64, hidden=128):
        super().__init__()
        self.emb, self.lstm, self.head = nn.Embedding(vocab, emb), nn.LSTM(emb, hidden), nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):                     # ids (T, B) -> logits (T, B, vocab), state
        out, state = self.lstm(self.emb(ids), state)
        return self.head(out), state


class TransformerLM(nn.Module):
    def __init__(self, vocab, d=80, heads=4, ff=160, layers=2, ctx=CTX):
        super().__init__()
        self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        for m in (self.emb, self.pos):                      # small embeddings, as is usual for Transformers
            nn.init.normal_(m.weight, std=0.1)

    def forward(self, ids, state=None):                     # ids (T, B), T <= ctx
        T = ids.shape[0]
        h = self.emb(ids) + self.pos(np.arange(T))[:, None, :]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        return self.head(self.encoder(h, mask=mask, is_causal=True)), None


tg.manual_seed(0)
models = {"lstm": LSTMLM(VOCAB), "transformer": TransformerLM(VOCAB)}
params = {name: m.num_parameters() for name, m in models.items()}
print("parameters:", ", ".join(f"{k} {v:,}" for k, v in params.items()))

# %% [markdown]
# Validation bits per character: the mean of $-\log_2 p(c_{t+1} \mid \text{context})$.
# The LSTM reads the validation text as 16 streams with its state carried; the
# Transformer reads windows of `CTX` characters that overlap by half and
# scores each window's second half (the first window is scored whole).

# %%
LOG2E = 1 / math.log(2)


@tg.no_grad()
def val_bpc(model, kind):
    model.eval()
    total, count = 0.0, 0
    if kind == "lstm":
        streams = Streams(val_ids, batch=16, seq_len=CTX)
        state = None
        for _ in range(streams.chunks_per_epoch):
            xb, yb, _ = streams.next_batch()
            logits, state = model(tg.tensor(xb), state)
            total += F.cross_entropy(logits.reshape(-1, VOCAB), yb.reshape(-1), reduction="sum").item()
            count += yb.size
    else:
        half = CTX // 2
        starts = list(range(0, len(val_ids) - CTX - 1, half))
        for i in range(0, len(starts), 64):
            s = starts[i:i + 64]
            xb = np.stack([val_ids[a:a + CTX] for a in s], axis=1)
            yb = np.stack([val_ids[a + 1:a + CTX + 1] for a in s], axis=1)
            logits, _ = model(tg.tensor(xb))
            lp = F.cross_entropy(logits.reshape(-1, VOCAB), yb.reshape(-1), reduction="none").numpy().reshape(yb.shape)
            keep = np.ones(yb.shape, bool)
            keep[:half, [j for j, a in enumerate(s) if a > 0]] = False
            total += float(lp[keep].sum())
            count += int(keep.sum())
    model.train()
    return total / count * LOG2E


def train_for(model, kind, budget, evals):
    """Adam for ``budget`` seconds of training; the validation bpc at evals equally spaced moments."""
    opt = tg.optim.Adam(model.parameters(), lr=3e-3)
    streams = Streams(train_ids, batch=BATCH, seq_len=CTX)
    state, trained, steps, curve = None, 0.0, 0, []
    marks = [budget * (k + 1) / evals for k in range(evals)]
    for mark in marks:
        while trained < mark:
            t0 = time.perf_counter()
            xb, yb, wrapped = streams.next_batch()
            if wrapped:
                state = None
            logits, state = model(tg.tensor(xb), state)
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), yb.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if state is not None:
                state = tuple(s.detach() for s in state)      # truncated BPTT: keep the value, drop the history
            trained += time.perf_counter() - t0
            steps += 1
        curve.append(val_bpc(model, kind))
        print(f"{kind:>11}: {trained:6.1f} s of training, {steps:5d} steps, validation {curve[-1]:.3f} bpc")
    return curve, steps, trained


runs = {name: train_for(m, name, BUDGET, EVALS) for name, m in models.items()}
curves = {name: r[0] for name, r in runs.items()}
ms_per_step = {name: 1000 * r[2] / r[1] for name, r in runs.items()}
counts = np.bincount(train_ids, minlength=VOCAB) + 1
p = counts / counts.sum()
unigram = float(-np.log2(p[val_ids]).mean())
times = [BUDGET * (k + 1) / EVALS for k in range(EVALS)]
charts.plot({**curves, "unigram": [unigram] * EVALS}, x=[round(t, 1) for t in times], xlabel="seconds of training",
            ylabel="validation bits per character", title="LSTM against a causal Transformer, equal time",
            png=figure("14_bpc_by_time"))
for name in curves:
    print(f"{name:>11}: {params[name]:,} parameters, {runs[name][1]} steps, {ms_per_step[name]:.1f} ms/step, "
          f"final {curves[name][-1]:.3f} bpc (unigram {unigram:.3f})")

# %% [markdown]
# ## What the heads look at
#
# The attention weights of the trained Transformer on a piece of validation
# text: for each layer and head, row $i$ is the distribution over the
# characters position $i$ reads (the causal mask leaves the upper triangle
# empty).  We ask each head's `self_attn` for its weights
# (`need_weights=True, average_attn_weights=False`) on the normalised input it
# sees, and summarise each head by the **mean distance** it looks back,
# $\sum_j w_{ij} (i - j)$ averaged over positions $i$.

# %%
tr = models["transformer"]
start = val_text.index(" the ", 2000) + 1                 # a piece of prose, 32 characters
snippet = val_ids[start:start + 32]
with tg.no_grad():
    ids = tg.tensor(snippet[:, None])
    h = tr.emb(ids) + tr.pos(np.arange(len(snippet)))[:, None, :]
    mask = nn.Transformer.generate_square_subsequent_mask(len(snippet))
    maps = []
    for lyr in tr.encoder.layers:
        _, w = lyr.self_attn(*(lyr.norm1(h),) * 3, attn_mask=mask, average_attn_weights=False)
        maps.append(w.numpy()[0])                              # (heads, T, T)
        h = lyr(h, src_mask=mask)
dist = np.arange(len(snippet))[:, None] - np.arange(len(snippet))[None, :]
mean_dist = [[float((m * dist).sum(-1).mean()) for m in layer_maps] for layer_maps in maps]
for li, row in enumerate(mean_dist):
    print(f"layer {li}: mean distance looked back per head: " + ", ".join(f"{v:.1f}" for v in row))
chars = [c if c.isprintable() and c != " " else "·" for c in vocab.decode(snippet)]
li, hi = min(((li, hi) for li in range(len(maps)) for hi in range(len(maps[0]))),
             key=lambda lh: mean_dist[lh[0]][lh[1]])
print(charts.heatmap(maps[li][hi], rows=chars, cols=chars,
                     title=f"layer {li}, head {hi} (the one looking back least): rows read columns"))
li2, hi2 = max(((li, hi) for li in range(len(maps)) for hi in range(len(maps[0]))),
               key=lambda lh: mean_dist[lh[0]][lh[1]])
print(charts.heatmap(maps[li2][hi2], rows=chars, cols=chars,
                     title=f"layer {li2}, head {hi2} (the one looking back furthest)"))


def draw_maps(maps, png):
    if not charts.have_matplotlib() or not (png or charts.in_notebook()):
        return
    import matplotlib
    if not charts.in_notebook():
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    L, Hh = len(maps), len(maps[0])
    fig, axes = plt.subplots(L, Hh, figsize=(3 * Hh, 3 * L), squeeze=False)
    for a in range(L):
        for b in range(Hh):
            axes[a][b].imshow(maps[a][b], cmap="Greys", vmin=0, vmax=1)
            axes[a][b].set_title(f"layer {a} head {b}", fontsize=9)
            axes[a][b].set_xticks([])
            axes[a][b].set_yticks([])
    fig.tight_layout()
    if png:
        fig.savefig(png, dpi=100)
    if charts.in_notebook():
        plt.show()
    plt.close(fig)


draw_maps(maps, figure("14_attention_maps"))

# %% [markdown]
# ## Which wins here, and why
#
# The numbers above decide; this cell says it in words.  Three things set the
# outcome at this size: how many optimizer steps each model gets in the
# budget (time per step), how much context each can use (the LSTM's carried
# state against the Transformer's window of `CTX`), and how much data each
# needs before attention patterns are learned (a Transformer starts with no
# notion of order beyond its position embedding, an LSTM has it built in).

# %%
winner = min(curves, key=lambda k: curves[k][-1])
loser = "transformer" if winner == "lstm" else "lstm"
margin = curves[loser][-1] - curves[winner][-1]
print(f"After {BUDGET:g} s each, the {winner} is ahead by {margin:.3f} bits per character "
      f"({curves[winner][-1]:.3f} against {curves[loser][-1]:.3f}).")
print(f"Time per step: LSTM {ms_per_step['lstm']:.1f} ms, Transformer {ms_per_step['transformer']:.1f} ms, "
      f"so {runs['lstm'][1]} against {runs['transformer'][1]} steps in the same time.")
lead_changes = sum((a < b) != (c < e) for a, b, c, e in zip(curves["lstm"][:-1], curves["transformer"][:-1],
                                                          curves["lstm"][1:], curves["transformer"][1:]))
print(f"The lead changed hands {lead_changes} time(s) over the {EVALS} measurements.")

# %% [markdown]
# Measured once in full mode (90 s of training each, on this project's
# 2-core machine shared with other jobs): see `tutorials/README.md` for the
# numbers of that run (there the LSTM won clearly, while the Transformer's
# curve was still falling faster at the end; whether it catches up with a
# longer budget is not measured here).  What does not depend on who wins this
# particular race: attention removes the long path that makes gradients
# vanish (section 2) and computes every position of a chunk at once, but it
# pays $T^2$ scores per layer and head, sees only its window, and has to learn
# from data the order that recurrence has by construction.

# %%
result(attn_diff=attn_diff, causal_diff=causal_diff, lstm_grad_ratio=lstm_ratio, tr_grad_ratio=tr_ratio,
       tr_grad_spread=tr_spread, lstm_params=params["lstm"], tr_params=params["transformer"],
       lstm_bpc=curves["lstm"][-1], tr_bpc=curves["transformer"][-1], unigram_bpc=unigram,
       lstm_steps=runs["lstm"][1], tr_steps=runs["transformer"][1], lstm_s=runs["lstm"][2],
       tr_s=runs["transformer"][2], winner=winner)
