"""Learning tests: small, seeded, fast, with margins."""
from __future__ import annotations

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

F = nn.functional


def _memory_batch(rng, B, T, noise=0.5):
    """The class (0 or 1) is shown one-hot at t = 0, then T - 1 steps of Gaussian noise; predict it at the end."""
    bits = rng.integers(0, 2, B)
    x = (rng.standard_normal((T, B, 2)) * noise).astype(np.float32)
    x[0] = 0
    x[0, np.arange(B), bits] = 1
    return x, bits


def _train_memory(cls, T=50, H=8, steps=300, lr=0.1, seed=0):
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnn, head = cls(2, H), nn.Linear(H, 2)
    opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=lr)
    for _ in range(steps):
        x, y = _memory_batch(rng, 32, T)
        out, _ = rnn(tg.Tensor(x))
        loss = F.cross_entropy(head(out[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _memory_batch(np.random.default_rng(999), 500, T)
    with tg.no_grad():
        out, _ = rnn(tg.Tensor(x))
        return float((head(out[-1]).data.argmax(1) == y).mean())


def test_gated_gru_remembers_across_50_noisy_steps_where_a_vanilla_rnn_does_not():
    gru, rnn = _train_memory(nn.GRU), _train_memory(nn.RNN)
    assert gru > 0.95, gru
    assert rnn < 0.65, rnn


def test_bidirectional_rnn_beats_unidirectional_when_the_answer_is_in_the_future():
    """Target at step t is the symbol at t + 1: only a network that reads backwards can know it."""
    def train(bidirectional, T=8, K=4, H=16, steps=150, seed=0):
        tg.manual_seed(seed)
        rng = np.random.default_rng(seed)
        rnn = nn.RNN(K, H, bidirectional=bidirectional, batch_first=True)
        head = nn.Linear(H * (2 if bidirectional else 1), K)
        opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.02)

        def batch(r, B):
            sym = r.integers(0, K, (B, T + 1))
            return np.eye(K, dtype=np.float32)[sym[:, :T]], sym[:, 1:]
        for _ in range(steps):
            x, y = batch(rng, 32)
            out, _ = rnn(tg.Tensor(x))
            loss = F.cross_entropy(head(out).reshape(-1, K), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        x, y = batch(np.random.default_rng(7), 400)
        with tg.no_grad():
            pred = head(rnn(tg.Tensor(x))[0]).data.argmax(-1)
        return float((pred[:, :-1] == y[:, :-1]).mean())      # the last target lies beyond the input
    bi, uni = train(True), train(False)
    assert bi > 0.9, bi
    assert uni < 0.4, uni
