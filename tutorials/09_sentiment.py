# %% [markdown]
# # 09 · Sentiment classification: an LSTM that reads "not good" correctly
#
# A sequence classifier reads a whole review and outputs one label.  Here the
# reviews are short sentences built from phrase templates, and two things in
# them defeat a model that only counts words:
#
# * **negation**: "the plot was good" is positive, "the plot was not good" is
#   negative, and "the plot was not bad" is positive again;
# * **contrast**: in "the music was great but the ending was dull" the clause
#   after *but* decides.
#
# We train two models on the same reviews and compare held-out accuracy:
#
# 1. a **bag-of-words logistic regression**: counts of each word, one weight per
#    word and class;
# 2. an **LSTM classifier**: `Embedding` → `LSTM` over the padded batch with
#    `lengths=` → a `Linear` head on the state after each review's last word.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import time

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, nn
from tinygrad_seq.nn import functional as F

QUICK = quick()
SEED = 0
N_TRAIN, N_TEST = (2000, 600) if QUICK else (6000, 2000)
STEPS = 50 if QUICK else 300
BATCH = 64
print(f"quick mode: {QUICK}   train/test reviews: {N_TRAIN}/{N_TEST}   LSTM steps: {STEPS}")

# %% [markdown]
# ## The data: reviews from phrase templates
#
# A clause is `[the] NOUN VERB [not|never] [very|really|...] ADJ`.  Its
# sentiment is the adjective's polarity, flipped when the clause is negated:
#
# $$\text{sentiment}(\text{clause}) = \text{polarity}(\text{ADJ}) \times \begin{cases} -1 & \text{if negated} \\ +1 & \text{otherwise} \end{cases}$$
#
# A review is an optional opener ("honestly", "i think", ...) and one or two
# clauses.  Two clauses are joined by *and* when they agree and by *but* when
# the second contradicts the first; the review's label is always the
# sentiment of its **last** clause.  Each clause is negated with probability
# 1/2, so positive and negative words appear equally often in positive and
# negative reviews: the counts of words carry little of the label.

# %%
POS = ["good", "great", "excellent", "fun", "lovely", "brilliant"]
NEG = ["bad", "awful", "boring", "dull", "terrible", "weak"]
NOUNS = ["movie", "film", "plot", "story", "acting", "cast", "ending", "music", "script"]
VERBS = ["was", "is", "felt", "seemed"]
NEGATORS = ["not", "never"]
INTENSIFIERS = ["very", "really", "so", "quite"]
OPENERS = ["honestly", "i think", "overall", "well", "to be fair"]
JOINERS = ["and", "but"]

WORDS = sorted({w for group in (POS, NEG, NOUNS, VERBS, NEGATORS, INTENSIFIERS, JOINERS, ["the"])
                for w in group} | {w for o in OPENERS for w in o.split()})
VOCAB = ["<pad>"] + WORDS                   # index 0 is padding
INDEX = {w: i for i, w in enumerate(VOCAB)}


def clause(rng, sentiment):
    """Words of one clause whose sentiment is +1 or -1, and whether it is negated."""
    negated = rng.random() < 0.5
    polarity = -sentiment if negated else sentiment
    words = (["the"] if rng.random() < 0.7 else []) + [rng.choice(NOUNS), rng.choice(VERBS)]
    if negated:
        words.append(rng.choice(NEGATORS))
    if rng.random() < 0.4:
        words.append(rng.choice(INTENSIFIERS))
    words.append(rng.choice(POS if polarity > 0 else NEG))
    return words, negated


def review(rng):
    """(words, label 0/1, whether the deciding clause is negated, whether it has a 'but')."""
    words = rng.choice(OPENERS).split() if rng.random() < 0.3 else []
    label = 1 if rng.random() < 0.5 else -1
    two = rng.random() < 0.5
    contrast = two and rng.random() < 0.5
    if two:
        first, _ = clause(rng, -label if contrast else label)
        words += first + ["but" if contrast else "and"]
    last, negated = clause(rng, label)
    return words + last, int(label > 0), negated, contrast


def dataset(n, rng, make=review):
    rows = [make(rng) for _ in range(n)]
    lengths = np.array([len(r[0]) for r in rows])
    ids = np.zeros((n, lengths.max()), dtype=np.int64)
    for i, (words, *_) in enumerate(rows):
        ids[i, :len(words)] = [INDEX[w] for w in words]
    return dict(ids=ids, lengths=lengths, y=np.array([r[1] for r in rows]),
                negated=np.array([r[2] for r in rows]), contrast=np.array([r[3] for r in rows]),
                text=[" ".join(r[0]) for r in rows])


rng = np.random.default_rng(SEED)
train, test = dataset(N_TRAIN, rng), dataset(N_TEST, rng)
for text, y in zip(train["text"][:6], train["y"][:6]):
    print(f"{'positive' if y else 'negative':>8}  {text}")
print(f"vocabulary: {len(VOCAB)} words   review lengths: {train['lengths'].min()}–{train['lengths'].max()}")

# %% [markdown]
# ## Baseline: bag-of-words logistic regression
#
# Each review becomes a vector of word counts $n \in \mathbb{R}^{|\mathcal V|}$ ($\mathcal V$
# the vocabulary), and the model is
#
# $$p(\text{class} \mid \text{review}) = \mathrm{softmax}(W_{\text{bow}}\, n + b_{\text{bow}}), \qquad W_{\text{bow}} \in \mathbb{R}^{2 \times |\mathcal V|}$$
#
# trained by minimising the cross-entropy.  Whatever the weights, "the plot was
# not good" and "the plot was good not" get the same score, and the score of
# "not good" is $w_\text{not} + w_\text{good}$ while that of "not bad" is $w_\text{not} + w_\text{bad}$: the
# weight of *not* cannot flip the sign of one adjective and not another.
# Worse, because every clause is negated half the time, each word appears
# equally often in positive and negative reviews; if the training loss
# printed below stays close to $\ln 2$ (the loss of a coin flip), the counts
# told the model next to nothing.

# %%
def counts(data):
    c = np.zeros((len(data["y"]), len(VOCAB)), dtype=np.float32)
    for i, row in enumerate(data["ids"]):
        np.add.at(c[i], row[row > 0], 1.0)
    return c


tg.manual_seed(SEED)
bow = nn.Linear(len(VOCAB), 2)
opt = tg.optim.Adam(bow.parameters(), lr=0.05)
x_train, x_test = tg.tensor(counts(train)), tg.tensor(counts(test))
for step in range(300):
    loss = F.cross_entropy(bow(x_train), train["y"])
    opt.zero_grad()
    loss.backward()
    opt.step()
with tg.no_grad():
    bow_pred = bow(x_test).argmax(1).numpy()
bow_acc = float((bow_pred == test["y"]).mean())
print(f"bag-of-words: train loss {loss.item():.3f} (guessing scores ln 2 = {np.log(2):.3f})   "
      f"held-out accuracy {bow_acc:.3f}")

# %% [markdown]
# The bag of words is at chance *by construction*: the data were made so that
# word counts carry no label. A fairer baseline sees some order: a **bag of
# bigrams**, the counts of every adjacent pair of words (plus the single
# words), in the same logistic regression. "not good" is now a feature of its
# own, so a clause like "the plot was not good" is in reach; "was not very
# good" (the negator two words from the adjective) and which clause comes last
# are not.

# %%
PAIRS = {}
for row in train["ids"]:
    for a, b in zip(row[:-1], row[1:]):
        if b > 0:
            PAIRS.setdefault((int(a), int(b)), len(VOCAB) + len(PAIRS))


def bigram_counts(data):
    c = np.zeros((len(data["y"]), len(VOCAB) + len(PAIRS)), dtype=np.float32)
    for i, row in enumerate(data["ids"]):
        np.add.at(c[i], row[row > 0], 1.0)
        for a, b in zip(row[:-1], row[1:]):
            if b > 0 and (int(a), int(b)) in PAIRS:
                c[i, PAIRS[int(a), int(b)]] += 1.0
    return c


def fit_linear(features, y, steps=300):
    tg.manual_seed(SEED)
    lin = nn.Linear(features.shape[1], 2)
    opt = tg.optim.Adam(lin.parameters(), lr=0.05)
    x = tg.tensor(features)
    for _ in range(steps):
        loss = F.cross_entropy(lin(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lin, loss.item()


bigram, bigram_loss = fit_linear(bigram_counts(train), train["y"])
with tg.no_grad():
    bigram_pred = bigram(tg.tensor(bigram_counts(test))).argmax(1).numpy()
bigram_acc = float((bigram_pred == test["y"]).mean())
print(f"bag of bigrams: {len(PAIRS)} pairs; train loss {bigram_loss:.3f}   held-out accuracy {bigram_acc:.3f}")

# %% [markdown]
# ## The LSTM classifier
#
# Reviews in a batch have different lengths, so they are padded with index 0
# to the longest one.  Three things keep the padding from mattering:
#
# * `Embedding(padding_idx=0)` maps the padding to a zero vector that gets no gradient;
# * `LSTM(..., lengths=lengths)` stops each review's state at its own last word,
#   so $h_n$ is the state after word `lengths[i]`, not after the padding;
# * the head reads only $h_n$:
#
# $$e_t = E[w_t], \qquad (h_t, c_t) = \mathrm{LSTM}(e_t, h_{t-1}, c_{t-1}), \qquad \text{logits} = W_{\text{out}} h_{\text{len}} + b_{\text{out}}$$
#
# ($c_t$ is the LSTM's memory cell, as in lesson 5.)
#
# The LSTM equations (input, forget, output gates and the cell) are in
# `tinygrad_seq/nn/recurrent.py`; training is `loss.backward()` through the
# unrolled graph (backpropagation through time).

# %%
class SentimentLSTM(nn.Module):
    def __init__(self, vocab, emb=16, hidden=32):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, ids, lengths):
        T = int(lengths.max())                       # drop columns that are padding for the whole batch
        x = self.emb(tg.tensor(ids[:, :T], dtype=np.int64))
        _, (h_n, _) = self.lstm(x, lengths=lengths)
        return self.head(h_n[-1])                     # h_n: (layers, batch, hidden)


tg.manual_seed(SEED)
model = SentimentLSTM(len(VOCAB))
opt = tg.optim.Adam(model.parameters(), lr=0.02)
print(model)
print(f"{model.num_parameters()} parameters (the bag of words has {bow.num_parameters()})")

# %%
def accuracy(model, data):
    model.eval()
    with tg.no_grad():
        pred = model(data["ids"], data["lengths"]).argmax(1).numpy()
    model.train()
    return pred


batch_rng = np.random.default_rng(SEED + 1)
losses, curve = [], []
start = time.time()
for step in range(STEPS):
    idx = batch_rng.integers(0, N_TRAIN, BATCH)
    loss = F.cross_entropy(model(train["ids"][idx], train["lengths"][idx]), train["y"][idx])
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    losses.append(loss.item())
    if (step + 1) % max(1, STEPS // 5) == 0:
        acc = float((accuracy(model, test) == test["y"]).mean())
        curve.append(acc)
        print(f"step {step + 1:4d}  loss {np.mean(losses[-20:]):.3f}  held-out accuracy {acc:.3f}")
print(f"trained in {time.time() - start:.1f} s")
charts.plot({"LSTM": losses}, title="LSTM training loss (cross-entropy)", xlabel="step", png=figure("09_loss"))

# %% [markdown]
# ## Held-out accuracy, and where each model goes wrong
#
# The held-out reviews split by whether the deciding clause is negated, and
# those with a *but*.  Because every clause is negated half the time, the word
# weights that would fit the plain clauses are the opposite of those that
# would fit the negated ones, so the baseline cannot fit either group by
# giving up on the other; the per-group accuracies below show how each model
# fares on each.

# %%
lstm_pred = accuracy(model, test)
lstm_acc = float((lstm_pred == test["y"]).mean())
groups = {"plain last clause": ~test["negated"], "negated last clause": test["negated"],
          "with 'but'": test["contrast"]}
table = {}
print(f"{'held-out reviews':<22}{'count':>7}{'bag of words':>14}{'bigrams':>9}{'LSTM':>8}")
for name, m in groups.items():
    b, s = float((bow_pred[m] == test["y"][m]).mean()), float((lstm_pred[m] == test["y"][m]).mean())
    table[name] = (b, s)
    print(f"{name:<22}{int(m.sum()):>7}{b:>14.3f}{float((bigram_pred[m] == test['y'][m]).mean()):>9.3f}{s:>8.3f}")
print(f"{'all':<22}{N_TEST:>7}{bow_acc:>14.3f}{bigram_acc:>9.3f}{lstm_acc:>8.3f}")
print()
print(charts.bar_chart({f"{k} · BoW": v[0] for k, v in table.items()}
                       | {f"{k} · LSTM": v[1] for k, v in table.items()},
                       title="held-out accuracy by kind of review", fmt="{:.3f}"))

# %% [markdown]
# A few held-out reviews with both predictions (✓ right, ✗ wrong):

# %%
shown = np.flatnonzero(bow_pred != lstm_pred)[:4].tolist() + np.flatnonzero(lstm_pred != test["y"])[:2].tolist()
for i in shown:
    mark = lambda p: "✓" if p == test["y"][i] else "✗"  # noqa: E731
    print(f"truth {'pos' if test['y'][i] else 'neg'}  BoW {mark(bow_pred[i])}  LSTM {mark(lstm_pred[i])}  "
          f"{test['text'][i]}")

# %% [markdown]
# ## Harder splits: outside what training showed
#
# The held-out set above is drawn like the training set, so it tests little
# beyond it. Two harder ones. First, reviews of **three** clauses, longer than
# any training review (each clause joined to the one before by *and* or *but*;
# the label is the last clause's sentiment):

# %%
def long_review(rng, n=3):
    label = 1 if rng.random() < 0.5 else -1
    sentiments = [label]
    for _ in range(n - 1):
        sentiments.insert(0, sentiments[0] * (1 if rng.random() < 0.5 else -1))
    words = rng.choice(OPENERS).split() if rng.random() < 0.3 else []
    for k, sentiment in enumerate(sentiments):
        if k:
            words.append("and" if sentiment == sentiments[k - 1] else "but")
        part, negated = clause(rng, sentiment)
        words += part
    return words, int(label > 0), negated, "but" in words


three = dataset(N_TEST, np.random.default_rng(SEED + 7), make=long_review)
three_acc = float((accuracy(model, three) == three["y"]).mean())
print(f"three clauses ({three['lengths'].min()}–{three['lengths'].max()} words; training reviews "
      f"{train['lengths'].min()}–{train['lengths'].max()}): LSTM accuracy {three_acc:.3f}")

# %% [markdown]
# Second, one negated clause whose negator is separated from its adjective by
# **more intensifiers** than training ever put there (training: at most one,
# "not very good"; here two to five, "not very really so quite good"). The
# LSTM must carry the negation across a longer gap:

# %%
def gap_review(rng, gap):
    label = 1 if rng.random() < 0.5 else -1
    words = ["the", rng.choice(NOUNS), rng.choice(VERBS), rng.choice(NEGATORS)]
    words += [rng.choice(INTENSIFIERS) for _ in range(gap)]
    words.append(rng.choice(POS if -label > 0 else NEG))               # negated: the adjective has the other sign
    return words, int(label > 0), True, False


gap_acc, gap_sets = {}, {}
for gap in (1, 2, 3, 4, 5):
    gap_sets[gap] = dataset(300, np.random.default_rng(SEED + 10 + gap), make=lambda r, g=gap: gap_review(r, g))
    gap_acc[gap] = float((accuracy(model, gap_sets[gap]) == gap_sets[gap]["y"]).mean())
print("intensifiers between negator and adjective  " + "".join(f"{g:>7d}" for g in gap_acc))
print("LSTM accuracy                               " + "".join(f"{a:7.3f}" for a in gap_acc.values()))
hard = gap_sets[4]
hard_pred = accuracy(model, hard)
wrong = np.flatnonzero(hard_pred != hard["y"])
follow_adjective = int(sum(hard_pred[i] == (hard["text"][i].split()[-1] in POS) for i in wrong))
print(f"with four intensifiers the LSTM gets {len(wrong)} of 300 wrong, {follow_adjective} of them with the "
      f"adjective's own sentiment; the first few:")
for i in wrong[:5]:
    print(f"  truth {'pos' if hard['y'][i] else 'neg'}, LSTM {'pos' if hard_pred[i] else 'neg'}   {hard['text'][i]}")

# %% [markdown]
# Read the mistakes: they take the adjective's own sentiment (the count is
# printed above), the negation dropped. The three-clause reviews hold up because each clause, once the
# LSTM is inside it, looks like training data; the longer gap does not, and
# the further the negator is from its adjective, the more often the state has
# lost it by the time the adjective comes (the row of accuracies). What a
# network learned holds as far as its training data reached, and this is
# the split that shows where that ends.
#
# ## Result
#
# The claim this tutorial makes (and its test checks): the LSTM's held-out
# accuracy `lstm_acc` is higher than the bag-of-words accuracy `bow_acc` by
# at least 0.10, in quick mode as well as in full mode.  Both numbers are
# printed in the table above and in the RESULT line below.

# %%
result(lstm_acc=round(lstm_acc, 4), bow_acc=round(bow_acc, 4), gap=round(lstm_acc - bow_acc, 4),
       bigram_acc=round(bigram_acc, 4), three_clause_acc=round(three_acc, 4),
       gap1_acc=round(gap_acc[1], 4), gap4_acc=round(gap_acc[4], 4), gap5_acc=round(gap_acc[5], 4),
       gap4_mistakes=len(wrong), gap4_follow_adjective=follow_adjective)
