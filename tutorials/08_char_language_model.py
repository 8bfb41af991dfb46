# %% [markdown]
# # 08 · A character-level language model
#
# A language model assigns a probability to the next symbol given everything
# before it.  Here the symbols are characters and the text is Python's own
# documentation (the `pydoc_data.topics` module that ships with CPython, so
# nothing is downloaded).  The model reads the text one character at a time,
# and at every position outputs a distribution over the next character:
#
# $$p(c_{t+1} \mid c_1, \dots, c_t) = \mathrm{softmax}(W h_t + b), \qquad h_t = \mathrm{LSTM}(E[c_t], h_{t-1})$$
#
# We train it with exactly the library code behind the `tinygrad-seq train`
# command (`tinygrad_seq.train`: `TrainConfig`, `CharLM`, `train`,
# `evaluate`, `sample`), and watch two things as training goes on: the
# validation **bits per character** falling, and samples from the model
# turning from noise into something that looks like documentation.  At the
# end we sample with different temperatures and with top-$k$, side by side.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import re
import tempfile
import time
from collections import Counter

import numpy as np

from tinygrad_seq import charts
from tinygrad_seq.data import CharVocab, Streams, load_text, split_text
from tinygrad_seq.train import Reporter, TrainConfig, load_checkpoint, sample, train

QUICK = quick()
if QUICK:       # a slice of the corpus, a tiny model, a fixed number of steps: seconds
    N_CHARS = 40_000
    CONFIG = dict(hidden=64, seq_len=32, batch=16, lr=0.01, steps=200, minutes=None,
                  eval_every=25, sample_every=100)
else:           # the whole corpus, a bigger model, a time budget of two minutes
    N_CHARS = None
    CONFIG = dict(hidden=128, seq_len=64, batch=32, lr=0.005, steps=None, minutes=2.0,
                  eval_every=100, sample_every=300)
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
# $$L_k = -\frac{1}{\text{seq\_len}} \sum_{t=t_0}^{t_0+\text{seq\_len}-1} \ln p(c_{t+1} \mid h_t), \qquad \frac{\partial h_{t_0 - 1}}{\partial \theta} := 0$$
#
# The loop in `tinygrad_seq.train.train` does this with
# `state = detach_state(state)` after each `opt.step()`, and resets the state
# to zero when the streams wrap round to the start of the text.  Here are the
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
# ## Training, with samples along the way
#
# `train(config, reporter)` runs the loop: Adam, gradient clipping at norm 1,
# an evaluation of the validation bpc with `evaluate()` every `eval_every`
# steps, and a 200-character sample every `sample_every` steps (temperature
# 0.8).  It tells a `Reporter` about each of these; the command line passes
# one that draws a progress bar, and here a small subclass prints the
# evaluations and the first 160 characters of each sample, and keeps the curve.  Checkpoints go to a
# temporary folder.  In full mode the learning rate follows a cosine from
# `lr` down to `lr / 10` over the time budget (the library's default
# schedule); a run limited by steps keeps it constant.

# %%
class TutorialReporter(Reporter):
    def __init__(self):
        self.curve, self.samples, self.t0 = [], {}, time.perf_counter()

    def evaluated(self, step, val_bpc, best):
        self.curve.append((step, val_bpc))
        print(f"step {step:5d}  {time.perf_counter() - self.t0:6.1f} s  validation {val_bpc:.3f} bpc")

    def sampled(self, step, text):
        self.samples[step] = text
        print(f"--- sample at step {step} " + "-" * 40)
        print(text[:160])
        print("-" * 64)


out_dir = tempfile.mkdtemp(prefix="tutorial08-")
config = TrainConfig(dropout=0.0, out=out_dir, seed=0, **CONFIG)
reporter = TutorialReporter()
run = train(config, reporter, text=text, handle_sigint=False)
val_bpc = run.final_bpc
print(f"{run.step} steps in {run.elapsed:.1f} s ({run.chars_per_s:,.0f} training characters/s)")
print(f"validation: {val_bpc:.3f} bpc at the end, best {run.best_bpc:.3f} at step {run.best_step}; "
      f"unigram baseline {unigram_bpc:.3f}")

# %% [markdown]
# The validation curve, with the unigram entropy $H$ for reference:

# %%
charts.plot({"validation bpc": run.val_bpc, "unigram H": [unigram_bpc] * len(run.val_bpc)},
            x=run.val_steps, xlabel="step", ylabel="bits per character",
            title="validation bits per character", png=figure("08_val_bpc"))

# %% [markdown]
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
# effect directly; then a short sample for each setting, all from the best
# checkpoint and the same random seed, with the share of its words (runs of
# letters and underscores) that also occur somewhere in the training text.

# %%
ckpt = load_checkpoint(run.best_path or run.last_path)
model = ckpt.model
prompt = "The "
logits, _ = model(ckpt.vocab.encode(prompt).reshape(-1, 1), None)
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
    text_s = "".join(sample(model, ckpt.vocab, prompt, LENGTH, temperature, top_k,
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
result(val_bpc=round(val_bpc, 4), unigram_bpc=round(unigram_bpc, 4), steps=run.step,
       best_bpc=round(run.best_bpc, 4), seconds=round(run.elapsed, 1))
