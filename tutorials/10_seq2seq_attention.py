# %% [markdown]
# # 10 · Sequence to sequence: spelled-out numbers to digits, with and without attention
#
# "three hundred and twelve thousand four hundred and five" → `312405`.  The
# input and the output are sequences of different lengths, and which input
# words produce which output digit depends on the number ("twelve" gives two
# digits, "thousand" gives none but decides where the rest go).  An
# **encoder–decoder** handles this:
#
# * the **encoder**, a GRU, reads the words;
# * the **decoder**, a GRU cell, writes the digits one at a time, each step
#   fed the digit it wrote before, until it writes an end token.
#
# We build it twice: first the plain version, whose decoder sees the input
# only through the encoder's final state; then with **additive (Bahdanau)
# attention**, where each decoder step looks back over all the encoder's
# states.  We compare exact-match accuracy as the inputs get longer, and draw
# the attention weights.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import time

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, diagrams, nn
from tinygrad_seq.nn import functional as F

QUICK = quick()
SEED = 0
MAX_DIGITS = 6
N_TEST = 300 if QUICK else 1200
STEPS = 40 if QUICK else 800
BATCH = 64
HIDDEN = 64
print(f"quick mode: {QUICK}   numbers up to {MAX_DIGITS} digits   training steps: {STEPS}")

# %% [markdown]
# ## The data
#
# Numbers are drawn by first drawing how many digits they have (1 to 6,
# uniformly) and then a number with that many digits, so long numbers are as
# common as short ones.  The words follow British usage ("and" before the
# tens).  The input vocabulary is the words; the output vocabulary is the ten
# digits plus `<bos>` (what the decoder is fed at its first step) and `<eos>`.

# %%
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
       "sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def below_1000(n):
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"] + (["and"] if n % 100 else [])
    n %= 100
    if n >= 20:
        words += [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    elif n or not words:
        words.append(ONES[n])
    return words


def spell(n):
    """312405 -> ['three', 'hundred', 'and', 'twelve', 'thousand', 'four', 'hundred', 'and', 'five']"""
    if n < 1000:
        return below_1000(n)
    high, low = divmod(n, 1000)
    words = below_1000(high) + ["thousand"]
    if low:
        words += (["and"] if low < 100 else []) + below_1000(low)
    return words


SRC = ["<pad>"] + sorted(set(ONES + TENS[2:] + ["hundred", "thousand", "and"]))
S_IDX = {w: i for i, w in enumerate(SRC)}
TGT = list("0123456789") + ["<bos>", "<eos>"]
BOS, EOS = 10, 11
PAD_TARGET = -100                  # cross_entropy's ignore_index


def numbers(n, rng):
    digits = rng.integers(1, MAX_DIGITS + 1, n)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return [int(rng.integers(lo, 10 ** d)) for lo, d in zip(low, digits)]


def batch(nums):
    """Padded word ids and lengths; decoder inputs (<bos> + digits) and targets (digits + <eos>)."""
    words = [spell(n) for n in nums]
    src_len = np.array([len(w) for w in words])
    src = np.zeros((len(nums), src_len.max()), dtype=np.int64)
    for i, w in enumerate(words):
        src[i, :len(w)] = [S_IDX[x] for x in w]
    digits = [[int(c) for c in str(n)] for n in nums]
    T = max(len(d) for d in digits) + 1
    dec_in = np.full((len(nums), T), EOS, dtype=np.int64)
    target = np.full((len(nums), T), PAD_TARGET, dtype=np.int64)
    for i, d in enumerate(digits):
        dec_in[i, :len(d) + 1] = [BOS] + d
        target[i, :len(d) + 1] = d + [EOS]
    return src, src_len, dec_in, target


rng = np.random.default_rng(SEED)
test_nums = numbers(N_TEST, rng)
for n in test_nums[:5]:
    print(f"{' '.join(spell(n)):<70} -> {n}")
print(f"input vocabulary: {len(SRC)} words; longest input: {max(len(spell(n)) for n in test_nums)} words")

# %% [markdown]
# ## The encoder–decoder
#
# The encoder turns the words $x_1, \dots, x_n$ into states $h_1, \dots, h_n$:
#
# $$h_j = \mathrm{GRU}(E_\text{src}[x_j],\ h_{j-1})$$
#
# The decoder starts from the encoder's last state, $s_0 = h_n$, and at step $t$
# is fed the previous digit $y_{t-1}$ (`<bos>` at $t = 1$):
#
# $$s_t = \mathrm{GRUCell}(E_\text{tgt}[y_{t-1}],\ s_{t-1}), \qquad p(y_t) = \mathrm{softmax}(W_o s_t + b_o)$$
#
# **Teacher forcing**: during training the decoder is fed the *true* previous
# digit, not its own guess, so all steps are trained from the first update and
# the loss is the cross-entropy of every target digit and `<eos>`:
#
# $$L = -\frac{1}{N} \sum_t \log p(y_t \mid y_{<t}, x)$$
#
# **Greedy decoding**: at test time there is no true previous digit; the
# decoder is fed its own most likely output, $\arg\max p(y_{t-1})$, until it
# writes `<eos>`.
#
# ### Additive attention
#
# The plain decoder must get everything from $s_0$, a single vector.  With
# attention (Bahdanau et al., 2015) each step scores every encoder state
# against the decoder's state,
#
# $$e_{tj} = v^\top \tanh(W_s s_{t-1} + W_h h_j) \qquad (e_{tj} = -\infty \text{ at padding positions})$$
#
# $$\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_k \exp(e_{tk})} \quad \text{(the attention weights, } \textstyle\sum_j \alpha_{tj} = 1\text{)}, \qquad c_t = \sum_j \alpha_{tj} h_j \quad \text{(the context vector)}$$
#
# and the decoder reads the context too:
#
# $$s_t = \mathrm{GRUCell}([E_\text{tgt}[y_{t-1}];\ c_t],\ s_{t-1}), \qquad p(y_t) = \mathrm{softmax}(W_o [s_t; c_t] + b_o)$$
#
# Written below from the engine's primitive ops (matmul, tanh, softmax,
# sum), so its gradient is `loss.backward()` like everything else. The two
# models as one picture (the attention path is what the second model adds):

# %%
diagrams.show("seq2seq", figure("10_seq2seq"))

# %%
class Seq2Seq(nn.Module):
    def __init__(self, attention, hidden=HIDDEN, emb=32):
        super().__init__()
        self.attention = attention
        self.src_emb = nn.Embedding(len(SRC), emb, padding_idx=0)
        self.encoder = nn.GRU(emb, hidden, batch_first=True)
        self.tgt_emb = nn.Embedding(len(TGT), emb)
        self.decoder = nn.GRUCell(emb + (hidden if attention else 0), hidden)
        self.out = nn.Linear(hidden * (2 if attention else 1), len(TGT))
        if attention:
            self.W_s = nn.Linear(hidden, hidden, bias=False)
            self.W_h = nn.Linear(hidden, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)

    def encode(self, src, src_len):
        H, h_n = self.encoder(self.src_emb(tg.tensor(src, dtype=np.int64)), lengths=src_len)
        mask = np.where(np.arange(src.shape[1])[None, :] < src_len[:, None], 0.0, -1e9).astype(np.float32)
        keys = self.W_h(H) if self.attention else None           # W_h h_j for all j, once
        return H, h_n[0], keys, mask

    def step(self, y_prev, s, H, keys, mask):
        """One decoder step: logits for y_t, the new state s_t, and the attention weights α_t."""
        e = self.tgt_emb(y_prev)
        if not self.attention:
            s = self.decoder(e, s)
            return self.out(s), s, None
        scores = self.v((keys + self.W_s(s).unsqueeze(1)).tanh()).squeeze(-1) + mask   # (B, n)
        alpha = scores.softmax(dim=1)
        context = (alpha.unsqueeze(-1) * H).sum(dim=1)                                  # (B, hidden)
        s = self.decoder(tg.cat([e, context], dim=1), s)
        return self.out(tg.cat([s, context], dim=1)), s, alpha

    def loss(self, src, src_len, dec_in, target):
        """Teacher forcing: feed the true previous digits, score every target position."""
        H, s, keys, mask = self.encode(src, src_len)
        logits = []
        for t in range(dec_in.shape[1]):
            out, s, _ = self.step(dec_in[:, t], s, H, keys, mask)
            logits.append(out)
        logits = tg.stack(logits, dim=1)                                   # (B, T, classes)
        return F.cross_entropy(logits.reshape(-1, len(TGT)), target.reshape(-1), ignore_index=PAD_TARGET)

    def greedy(self, src, src_len, max_len=MAX_DIGITS + 2):
        """Feed back the most likely digit until <eos>; returns the decoded strings and the weights."""
        with tg.no_grad():
            H, s, keys, mask = self.encode(src, src_len)
            y = np.full(len(src), BOS, dtype=np.int64)
            outs, alphas = [], []
            for _ in range(max_len):
                logits, s, alpha = self.step(y, s, H, keys, mask)
                y = logits.argmax(1).numpy().astype(np.int64)
                outs.append(y)
                alphas.append(None if alpha is None else alpha.numpy())
        decoded = []
        for row in np.stack(outs, axis=1):
            end = np.flatnonzero(row == EOS)
            decoded.append("".join(TGT[k] for k in row[:end[0] if end.size else len(row)]))
        return decoded, alphas

# %% [markdown]
# ## Training both models
#
# Same data stream, same optimiser (Adam), same number of steps, same seed
# for the shared parts.  Every batch is freshly drawn from a random stream
# separate from the test numbers.  Short numbers are few (there are only 10
# one-digit ones), so some test numbers also turn up in training; long ones
# almost never do.

# %%
def train(attention):
    tg.manual_seed(SEED)
    model = Seq2Seq(attention)
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    data_rng = np.random.default_rng(SEED + 1)
    losses, start = [], time.time()
    for step in range(STEPS):
        loss = model.loss(*batch(numbers(BATCH, data_rng)))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if (step + 1) % max(1, STEPS // 5) == 0:
            print(f"  step {step + 1:5d}  loss {np.mean(losses[-50:]):.3f}")
    print(f"  {model.num_parameters()} parameters, trained in {time.time() - start:.1f} s")
    return model, losses


print("plain encoder-decoder")
plain, plain_losses = train(attention=False)
print("with attention")
attn, attn_losses = train(attention=True)
charts.plot({"plain": plain_losses, "attention": attn_losses}, title="training loss (cross-entropy per digit)",
            xlabel="step", png=figure("10_loss"))

# %% [markdown]
# ## Exact match by input length
#
# A prediction counts only if every digit is right and nothing extra is
# written.  Held-out numbers are grouped by how many words their spelling has.

# %%
src, src_len, _, _ = batch(test_nums)
truth = [str(n) for n in test_nums]
pred_plain, _ = plain.greedy(src, src_len)
pred_attn, alphas = attn.greedy(src, src_len)
ok_plain = np.array([p == t for p, t in zip(pred_plain, truth)])
ok_attn = np.array([p == t for p, t in zip(pred_attn, truth)])

BUCKETS = [(1, 3), (4, 6), (7, 9), (10, 12)]
table = {}
print(f"{'input words':<13}{'count':>6}{'plain':>8}{'attention':>11}")
for lo, hi in BUCKETS:
    m = (src_len >= lo) & (src_len <= hi)
    if m.any():
        table[f"{lo}-{hi}"] = (float(ok_plain[m].mean()), float(ok_attn[m].mean()))
        print(f"{lo:>2}-{hi:<10}{int(m.sum()):>6}{table[f'{lo}-{hi}'][0]:>8.3f}{table[f'{lo}-{hi}'][1]:>11.3f}")
plain_acc, attn_acc = float(ok_plain.mean()), float(ok_attn.mean())
print(f"{'all':<13}{N_TEST:>6}{plain_acc:>8.3f}{attn_acc:>11.3f}")
long_lo = 7                                     # "long": 7 words or more
long_m = src_len >= long_lo
plain_long, attn_long = float(ok_plain[long_m].mean()), float(ok_attn[long_m].mean())
print()
print(charts.bar_chart({f"{k} words · plain": v[0] for k, v in table.items()}
                       | {f"{k} words · attention": v[1] for k, v in table.items()},
                       title="held-out exact match by input length", fmt="{:.3f}"))

# %% [markdown]
# ## Exposure bias: trained on the truth, tested on its own guesses
#
# Teacher forcing trains every step on the *true* previous digit; greedy
# decoding feeds the model its *own*. After its first mistake, the decoder is
# in a situation training never showed it, a prefix that is wrong, and its
# later digits suffer from it (*exposure bias*, Ranzato et al. 2016). Measured
# on the plain model: at every position after the first wrong digit of a
# greedy decode, how often is the digit right when the model is fed (a) its
# own previous outputs, as in decoding, and (b) the true previous digits, as in
# training?

# %%
def teacher_forced(model, src, src_len, truth):
    """The argmax digit at every position when fed the true previous digits."""
    dec_in = np.full((len(src), MAX_DIGITS + 2), BOS, dtype=np.int64)
    for i, t in enumerate(truth):
        dec_in[i, 1:len(t) + 1] = [TGT.index(c) for c in t]
    with tg.no_grad():
        H, s, keys, mask = model.encode(src, src_len)
        outs = []
        for t in range(dec_in.shape[1]):
            logits, s, _ = model.step(dec_in[:, t], s, H, keys, mask)
            outs.append(logits.argmax(1).numpy())
    return np.stack(outs, axis=1)


tf_out = teacher_forced(plain, src, src_len, truth)
own_right, fed_right = [], []
for i, (p, t) in enumerate(zip(pred_plain, truth)):
    target = t + "$"                                             # "$": the end token's position
    guess = p + "$"
    first = next((k for k in range(len(target)) if k >= len(guess) or guess[k] != target[k]), None)
    if first is None:
        continue
    for k in range(first + 1, len(target)):
        own_right.append(k < len(guess) and guess[k] == target[k])
        fed_right.append((TGT[tf_out[i, k]] if TGT[tf_out[i, k]] in "0123456789" else "$") == target[k])
own_acc, fed_acc = float(np.mean(own_right)), float(np.mean(fed_right))
print(f"plain model, digits after the first mistake ({len(own_right)} of them): right {own_acc:.3f} when fed its own "
      f"outputs, {fed_acc:.3f} when fed the truth")

# %% [markdown]
# ## Beam search against greedy decoding
#
# Greedy decoding commits to the most likely digit at each step; a mistake
# cannot be undone. **Beam search** keeps the $k$ most likely prefixes (by the
# sum of their log-probabilities), extends each by every token, and keeps the
# $k$ best of those; a prefix that has written `<eos>` is finished and keeps
# its score. With $k = 1$ it is greedy decoding, which checks the code below.

# %%
def beam_search(model, src, src_len, k, max_len=MAX_DIGITS + 2):
    N, V = len(src), len(TGT)
    with tg.no_grad():
        H, s, keys, mask = model.encode(src, src_len)
        score = np.zeros((N, 1))                                   # log-probability of each kept prefix
        seqs = np.full((N, 1, 0), EOS, dtype=np.int64)             # the prefixes' tokens
        y = np.full(N, BOS, dtype=np.int64)
        rows = np.arange(N)                                         # which example each beam row belongs to
        for _ in range(max_len):
            logits, s, _ = model.step(y, s, H[rows], None if keys is None else keys[rows], mask[rows])
            z = logits.numpy().astype(np.float64)
            logp = (z - z.max(1, keepdims=True)) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
            B = score.shape[1]
            logp = logp.reshape(N, B, V)
            if seqs.shape[2] > 0:
                ended = (seqs == EOS).any(axis=2)                    # finished prefixes: only "stay", at no cost
                logp[ended] = -np.inf
                logp[ended, EOS] = 0.0
            cand = (score[:, :, None] + logp).reshape(N, B * V)
            top = np.argsort(-cand, axis=1, kind="stable")[:, :k]
            score = np.take_along_axis(cand, top, axis=1)
            origin, token = top // V, top % V
            seqs = np.concatenate([np.take_along_axis(seqs, origin[:, :, None], axis=1), token[:, :, None]], axis=2)
            rows = np.repeat(np.arange(N), top.shape[1])
            s = s[(np.arange(N)[:, None] * B + origin).reshape(-1)]
            y = token.reshape(-1)
    best = seqs[np.arange(N), score.argmax(1)]
    decoded = []
    for row in best:
        end = np.flatnonzero(row == EOS)
        decoded.append("".join(TGT[t] for t in row[:end[0] if end.size else len(row)]))
    return decoded, score.max(1)


beam1, _ = beam_search(plain, src, src_len, k=1)
beam1_same = int(beam1 == pred_plain)
beam_acc = {}
for name, model_k, greedy_pred in (("plain", plain, pred_plain), ("attention", attn, pred_attn)):
    beam4, _ = beam_search(model_k, src, src_len, k=4)
    beam_acc[name] = (float(np.mean([p == t for p, t in zip(greedy_pred, truth)])),
                      float(np.mean([p == t for p, t in zip(beam4, truth)])))
    print(f"{name:>9}: exact match greedy {beam_acc[name][0]:.3f}, beam search (k = 4) {beam_acc[name][1]:.3f}")
print(f"beam search with k = 1 gives greedy's output on every test number: {bool(beam1_same)}")

# %% [markdown]
# Compare the printed numbers: beam search helps where the model's first
# choice is wrong but the right digit is a close second; it cannot help where
# the right answer is unlikely under the model at every step (then more
# training, or attention, is what helps). And it fixes nothing about exposure
# bias: the decoder still conditions on its own outputs.
#
# ## What the attention looks at
#
# The weights $\alpha_{tj}$ for one held-out number: one row per output step, one
# column per input word.  Darker cells are larger weights; the exact weights
# are printed below the map, one line per input word.  Keep in mind that the
# encoder's state at a word already summarises the words before it, so a
# digit's weight may sit on the word just after the one that names it
# (on "hundred" rather than on "six" for the 6 of 600).

# %%
i = int(np.argmax(src_len))                       # the longest held-out input
words_i = spell(test_nums[i])
steps_i = len(pred_attn[i]) + 1
A = np.stack([a[i, :len(words_i)] for a in alphas[:steps_i]])
rows = [f"{c}" for c in pred_attn[i]] + ["<eos>"]
print(f"input: {' '.join(words_i)}   truth: {truth[i]}   attention model: {pred_attn[i]}   "
      f"plain model: {pred_plain[i]}")
print(charts.heatmap(A, rows=rows, cols=[w[:2] for w in words_i], title="attention weights (rows: output)"))
for w, col in zip(words_i, A.T):
    print(f"{w:>10}: " + " ".join(f"{v:.2f}" for v in col))

charts.save_heatmap_png(A, figure("10_attention"), rows=rows, cols=words_i, xlabel="input word", ylabel="output")

# %% [markdown]
# ## Result
#
# The claim this tutorial makes (and its test checks): on the long inputs
# (`long_from` = 7 words or more, the last two rows of the table) the
# attention model's exact match `attn_long` is higher than the plain model's
# `plain_long` by at least 0.10, and over all held-out numbers `attn_acc` is
# higher than `plain_acc`.  The numbers are printed in the table and on the
# RESULT line; the table shows how the plain model's accuracy falls as the
# input grows.

# %%
result(plain_acc=round(plain_acc, 4), attn_acc=round(attn_acc, 4), plain_long=round(plain_long, 4),
       attn_long=round(attn_long, 4), long_from=long_lo, after_mistake_own=round(own_acc, 4),
       after_mistake_fed=round(fed_acc, 4), beam1_same=beam1_same, plain_greedy=round(beam_acc["plain"][0], 4),
       plain_beam=round(beam_acc["plain"][1], 4), attn_greedy=round(beam_acc["attention"][0], 4),
       attn_beam=round(beam_acc["attention"][1], 4))
