# %% [markdown]
# # 08 · A character-level language model
#
# A language model assigns a probability to the next symbol given everything
# before it.  Here the symbols are characters and the text is Python's own
# documentation (the `pydoc_data.topics` module that ships with CPython, so
# nothing is downloaded).  The model reads the text one character at a time,
# and at every position outputs a distribution over the next character:
#
# $$p(x_{t+1} \mid x_1, \dots, x_t) = \mathrm{softmax}(W_{\text{out}} h_t + b_{\text{out}}), \qquad h_t = \mathrm{LSTM}(E[x_t], h_{t-1})$$
#
# where $x_t$ is the character at position $t$, $E$ the embedding table and
# $W_{\text{out}}, b_{\text{out}}$ the head (lesson 3's table; $c_t$ would be
# the LSTM's memory cell, so the characters are $x_t$ here). The model is the
# library's `CharLM`, the one behind the `tinygrad-seq train` command; the
# training loop, truncated backpropagation through time, is written out on
# this page, and we measure what the truncation costs. We watch two things as training goes on: the
# validation **bits per character** falling, and samples from the model
# turning from noise into something that looks like documentation.  At the
# end we sample with different temperatures and with top-$k$, side by side.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import re
import time
from collections import Counter

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, nn, optim
from tinygrad_seq.data import CharVocab, Streams, load_text, split_text
from tinygrad_seq.nn import functional as F
from tinygrad_seq.train import CharLM, detach_state, evaluate, sample

QUICK = quick()
if QUICK:       # a slice of the corpus, a tiny model, a fixed number of steps: seconds
    N_CHARS = 40_000
    CONFIG = dict(hidden=64, seq_len=32, batch=16, lr=0.01, steps=200, eval_every=25, sample_every=100)
else:           # the whole corpus, a bigger model, a fixed number of steps (the same result on any machine)
    N_CHARS = None
    CONFIG = dict(hidden=128, seq_len=64, batch=32, lr=0.005, steps=600, eval_every=100, sample_every=300)
print(f"quick mode: {QUICK}   settings: {CONFIG}")

# %% [markdown]
# ## The text and its vocabulary
#
# `load_text(None)` returns the bundled corpus; `split_text` holds out its
# last 5 % for validation (the model never trains on it), and `CharVocab`
# numbers the distinct characters in sorted order.  In quick mode we use only
# the first part of the corpus.

# %%
corpus, source = load_text(None)
text = corpus if N_CHARS is None else corpus[:N_CHARS]
train_text, val_text = split_text(text)
vocab = CharVocab.from_text(text)
print(f"{source}: {len(corpus):,} characters; using {len(text):,}: "
      f"{len(train_text):,} for training, {len(val_text):,} for validation")
print(f"vocabulary: {len(vocab)} characters")
print("a piece of the training text:")
print(train_text[1000:1300])

# %% [markdown]
# ## The baseline: character frequencies alone
#
# Bits per character (bpc) is the average of $-\log_2 p(\text{the true next
# character})$ over the held-out text: the number of bits per character an
# ideal compressor driven by the model would need.  A model that knows
# nothing but how often each character occurs (a *unigram* model,
# $p(c) = n_c / N$ counted on the training text) needs on average the
# entropy of those frequencies:
#
# $$H = -\sum_c p(c) \log_2 p(c)$$
#
# Anything below $H$ is the model using the context.  For scale, a uniform
# guess over the whole vocabulary costs $\log_2 |V|$ bits.  We also print
# what the unigram model actually scores on the validation text (its
# cross-entropy there, with one extra count per character so that none has
# probability zero), which is close to $H$.

# %%
counts = Counter(train_text)
freq = np.array([counts.get(c, 0) for c in vocab.itos], dtype=np.float64)
p_train = freq / freq.sum()
nonzero = p_train[p_train > 0]
unigram_bpc = float(-(nonzero * np.log2(nonzero)).sum())
p_smooth = (freq + 1) / (freq.sum() + len(vocab))
unigram_val = float(-np.log2(p_smooth[vocab.encode(val_text)]).mean())
print(f"uniform over {len(vocab)} characters: {np.log2(len(vocab)):.3f} bpc")
print(f"unigram entropy of the training text: H = {unigram_bpc:.3f} bpc")
print(f"unigram model on the validation text: {unigram_val:.3f} bpc")
print("most frequent characters:", ", ".join(f"{c!r} {n / freq.sum():.3f}" for c, n in counts.most_common(8)))

# %% [markdown]
# ## Truncated BPTT with parallel streams and a detached state
#
# Backpropagating through the whole text at once would need the activations
# of every one of its characters in memory.  *Truncated* backpropagation
# through time cuts the text into chunks of `seq_len` characters and takes
# one optimizer step per chunk.  Two details make it work well:
#
# **Parallel streams.**  To fill a batch of `batch` sequences without losing
# continuity, `data.Streams` cuts the training text into `batch` contiguous
# stretches, one per batch column.  Step $k$ reads characters
# $[k \cdot \text{seq\_len}, (k+1) \cdot \text{seq\_len})$ of *every* stretch,
# so column $b$ of chunk $k+1$ continues exactly where column $b$ of chunk
# $k$ stopped.
#
# **The carried, detached state.**  Because the columns continue, the final
# hidden state of chunk $k$ is the right initial state for chunk $k+1$: the
# model's forward pass sees the whole history of its stretch, not just the
# last `seq_len` characters.  But the gradient must stop at the chunk
# boundary, or step $k+1$ would backpropagate into chunk $k$'s graph (and, by
# induction, into the whole text).  So between steps the state is *detached*:
# its value is kept and its history dropped.  With chunk $k$ covering times
# $t_0, \dots, t_0 + \text{seq\_len} - 1$,
#
# $$L_k = -\frac{1}{\text{seq\_len}} \sum_{t=t_0}^{t_0+\text{seq\_len}-1} \ln p(x_{t+1} \mid h_t), \qquad \frac{\partial h_{t_0 - 1}}{\partial \theta} := 0$$
#
# The loop below does this with `state = detach_state(state)` after each
# `opt.step()`, and resets the state to zero when the streams wrap round to
# the start of the text.  Here are the
# first two chunks of the first two streams, as the trainer will see them:

# %%
demo = Streams(vocab.encode(train_text), batch=CONFIG["batch"], seq_len=CONFIG["seq_len"])
x1, _, _ = demo.next_batch()
x2, _, _ = demo.next_batch()
print(f"{CONFIG['batch']} streams of {demo.stream_len:,} characters each; "
      f"{demo.chunks_per_epoch} chunks (steps) per pass over the training text; x has shape {x1.shape}")
for b in range(2):
    print(f"stream {b}, chunk 1: {vocab.decode(x1[:, b])!r}")
    print(f"stream {b}, chunk 2: {vocab.decode(x2[:, b])!r}")
joined = vocab.decode(np.concatenate([x1[:, 0], x2[:, 0]]))
print("stream 0's two chunks are one stretch of the text:", joined in train_text)

# %% [markdown]
# ## The truncated-BPTT loop
#
# One function, used twice in this lesson. Each step: take the next chunk,
# run the model over it *from the carried state*, take the loss over the chunk,
# backpropagate (through this chunk only), clip the gradient's norm at 1
# (lesson 4: one exploding batch cannot throw the weights away), take an Adam
# step, and detach the state
# before it is carried into the next chunk. `next_chunk()` returns a chunk's
# inputs, its targets (each the character after its input) and whether the
# data started again from the top.

# %%
def train_tbptt(model, next_chunk, steps, lr, clip=1.0, every=None, report=None):
    params = list(model.parameters())
    opt = optim.Adam(params, lr=lr)
    state, losses = None, []
    for step in range(1, steps + 1):
        x, y, wrapped = next_chunk()                     # (seq_len, batch) inputs and targets
        if wrapped:
            state = None                                 # back at the start of the data: start fresh
        logits, state = model(x, state)                  # forward through the chunk from the carried state
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()                                  # back through this chunk only
        nn.utils.clip_grad_norm_(params, clip)           # rescale the gradient to norm <= clip (lesson 4)
        opt.step()
        state = detach_state(state)                      # keep the value, drop the history
        losses.append(loss.item())
        if report and step % every == 0:
            report(step)
    return losses

# %% [markdown]
# ## Training, with samples along the way
#
# A one-layer `CharLM` (embedding, LSTM, linear head) trained for a fixed
# number of steps, with the validation bpc measured by `evaluate()` every
# `eval_every` steps and a 160-character sample (temperature 0.8) every
# `sample_every` steps. A fixed number of steps, not a time budget, so the
# result is the same on a fast machine and a slow one; only the printed
# seconds differ.

# %%
tg.manual_seed(0)
model = CharLM(len(vocab), CONFIG["hidden"], layers=1, model="lstm")
streams = Streams(vocab.encode(train_text), batch=CONFIG["batch"], seq_len=CONFIG["seq_len"])
val_ids = vocab.encode(val_text)
curve, t0 = [], time.perf_counter()


def report(step):
    if step % CONFIG["eval_every"] == 0:
        curve.append((step, evaluate(model, val_ids)))
        print(f"step {step:5d}  {time.perf_counter() - t0:6.1f} s  validation {curve[-1][1]:.3f} bpc")
    if step % CONFIG["sample_every"] == 0:
        text_s = "".join(sample(model, vocab, "", 160, 0.8, None, np.random.default_rng(step)))
        print(f"--- sample at step {step} " + "-" * 40 + "\n" + text_s + "\n" + "-" * 64)


losses = train_tbptt(model, streams.next_batch, CONFIG["steps"], CONFIG["lr"],
                     every=min(CONFIG["eval_every"], CONFIG["sample_every"]), report=report)
seconds = time.perf_counter() - t0
val_bpc = curve[-1][1]
best_step, best_bpc = min(curve, key=lambda c: c[1])
print(f"{CONFIG['steps']} steps in {seconds:.1f} s "
      f"({CONFIG['steps'] * CONFIG['batch'] * CONFIG['seq_len'] / seconds:,.0f} training characters/s)")
print(f"validation: {val_bpc:.3f} bpc at the end, best {best_bpc:.3f} at step {best_step}; "
      f"unigram baseline {unigram_bpc:.3f}")

# %% [markdown]
# The validation curve, with the unigram entropy $H$ for reference:

# %%
charts.plot({"validation bpc": [v for _, v in curve], "unigram H": [unigram_bpc] * len(curve)},
            x=[k for k, _ in curve], xlabel="step", ylabel="bits per character",
            title="validation bits per character", png=figure("08_val_bpc"))

# %% [markdown]
# ## Measured: what the truncation costs
#
# Truncation is an approximation. The *forward* pass still carries information
# from the whole history, but the gradient of a loss at step $t$ reaches back
# only to the start of its chunk. So the model is never taught to store
# anything for longer than a window: a dependency longer than the window
# cannot be learned. To see it, lesson 3's task with a longer delay: a stream
# of random symbols from $K = 4$, and at each step the target is the symbol
# `DELAY` = 4 steps back. The same `CharLM` (hidden size 32) and the same loop
# above, the same number of steps, three ways:
#
# * truncation window 3, shorter than the delay: no target's source symbol is
#   ever inside the same chunk, so no gradient connects them;
# * window 12, longer than the delay;
# * full BPTT: independent sequences of 24 symbols, the state reset for each,
#   the gradient through all of it (the first `DELAY` targets, which have no
#   source, are left out of the loss with `ignore_index`).
#
# Accuracy is measured on a fresh stream of 200 steps, state carried
# throughout; chance is $1/K = 0.25$.

# %%
K_T, DELAY, B_T = 4, 4, 32
STEPS_T = 200 if QUICK else 400


def delay_chunks(window, full=False, seed=0):
    """next_chunk() for the delay task: (inputs, targets = inputs DELAY steps earlier, wrapped)."""
    gen = np.random.default_rng(seed)
    stream = gen.integers(0, K_T, (STEPS_T * window + DELAY, B_T))
    pos = [DELAY]

    def next_chunk():
        if full:                                           # a new sequence every step, nothing carried
            x = gen.integers(0, K_T, (window, B_T))
            y = np.full_like(x, -100)                      # -100: cross_entropy's ignore_index
            y[DELAY:] = x[:-DELAY]
            return x, y, True
        lo = pos[0]
        pos[0] += window
        return stream[lo:lo + window], stream[lo - DELAY:lo - DELAY + window], False
    return next_chunk


def recall_accuracy(m):
    test = np.random.default_rng(99).integers(0, K_T, (200, 64))
    with tg.no_grad():
        logits, _ = m(test, None)
    return float((logits.argmax(axis=-1).numpy()[DELAY:] == test[:-DELAY]).mean())


truncation = {}
for name, window, full in [("window 3 (< delay 4)", 3, False), ("window 12 (> delay 4)", 12, False),
                           ("full BPTT, sequences of 24", 24, True)]:
    tg.manual_seed(0)
    m = CharLM(K_T, 32, layers=1)
    t1 = time.perf_counter()
    train_tbptt(m, delay_chunks(window, full), STEPS_T, lr=0.01)
    truncation[name] = recall_accuracy(m)
    print(f"{name:>28}: recall accuracy {truncation[name]:.3f}  ({time.perf_counter() - t1:.1f} s)")
tb_short, tb_long, tb_full = truncation.values()

# %% [markdown]
# The window shorter than the delay stays near chance (0.25): no gradient ever
# connects a target to its source, and more steps do not change that. A
# window longer than the delay learns the task as well as full BPTT does, with
# the shorter graphs of truncation. The rule: a window of $k$ steps can teach
# dependencies of at most $k - 1$ steps. For the character model above,
# `seq_len` characters is the longest dependency its gradient ever sees.
#
# ## Sampling: temperature and top-k
#
# `sample(model, vocab, prompt, length, temperature, top_k)` feeds the prompt,
# then repeatedly draws a character from the model's distribution and feeds
# it back, carrying the state.  The temperature $T$ divides the logits $z$
# before the softmax:
#
# $$p_i(T) = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$
#
# $T < 1$ sharpens the distribution towards the most likely characters (safer,
# more repetitive text); $T > 1$ flattens it (more variety, more mistakes).
# Top-$k$ sampling keeps only the $k$ most likely characters, renormalised,
# which cuts off the long tail of unlikely ones however flat the distribution.
# The entropy of the next-character distribution after the prompt shows the
# effect directly; then a short sample for each setting, all from the trained
# model and the same random seed, with the share of its words (runs of
# letters and underscores) that also occur somewhere in the training text.

# %%
prompt = "The "
with tg.no_grad():
    logits, _ = model(vocab.encode(prompt).reshape(-1, 1), None)
z = logits.numpy()[-1, 0].astype(np.float64)


def entropy_bits(z, temperature, top_k=None):
    z = z / temperature
    if top_k is not None:
        z = np.where(z >= np.sort(z)[-top_k], z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


SETTINGS = [("T=0.5", 0.5, None), ("T=1.0", 1.0, None), ("T=1.5", 1.5, None),
            ("T=1.0, top-k 5", 1.0, 5)]
LENGTH = 120 if QUICK else 240
known_words = set(re.findall(r"[A-Za-z_]+", train_text))
entropies, real_words = {}, {}
for name, temperature, top_k in SETTINGS:
    entropies[name] = entropy_bits(z, temperature, top_k)
    text_s = "".join(sample(model, vocab, prompt, LENGTH, temperature, top_k,
                            generator=np.random.default_rng(1)))
    words = re.findall(r"[A-Za-z_]+", prompt + text_s)
    real_words[name] = sum(w in known_words for w in words) / max(1, len(words))
    print(f"=== {name}: entropy of the first draw {entropies[name]:.2f} bits, "
          f"{real_words[name]:.0%} of {len(words)} words occur in the training text ===")
    print(prompt + text_s)
    print()
print(f"top-k 5 allows at most log2 5 = {np.log2(5):.2f} bits")

# %% [markdown]
# The entropies printed above fall with the temperature (dividing the logits
# by a smaller $T$ stretches their differences), and top-$k$ at $T = 1$ leaves
# only $k$ choices, so at most $\log_2 k$ bits.  The share of real words
# printed with each sample is a rough measure of how often the model's
# spelling stays on the paths it has learned at that setting.
#
# ## Result
#
# The claim this tutorial makes (and its test checks): after training, the
# model's validation bits per character `val_bpc` is below the unigram
# entropy `unigram_bpc` of the training text, in quick mode by at least 0.5
# bits.  Both are printed above and on the RESULT line below, with the number
# of training steps.

# %%
print(f"validation {val_bpc:.3f} bpc vs unigram {unigram_bpc:.3f} bpc: "
      f"{unigram_bpc - val_bpc:.3f} bits per character saved by the context")
result(val_bpc=round(val_bpc, 4), unigram_bpc=round(unigram_bpc, 4), steps=CONFIG["steps"],
       best_bpc=round(best_bpc, 4), seconds=round(seconds, 1), tb_delay=DELAY, tb_short_window=3,
       tb_short_acc=round(tb_short, 4), tb_long_acc=round(tb_long, 4), tb_full_acc=round(tb_full, 4))
