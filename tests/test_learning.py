"""Learning tests: small, seeded, fast, with margins."""
from __future__ import annotations

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import nn, optim

F = nn.functional


def _adding_batch(rng, B, T):
    """The adding problem: values u_t ~ U[0, 1] and two marked steps, one in each half; target = their sum."""
    x = np.zeros((T, B, 2), np.float32)
    x[:, :, 0] = rng.random((T, B))
    first, second = rng.integers(0, T // 2, B), rng.integers(T // 2, T, B)
    rows = np.arange(B)
    x[first, rows, 1] = 1
    x[second, rows, 1] = 1
    return x, (x[first, rows, 0] + x[second, rows, 0])[:, None]


def _adding_mse(cls, steps, T=30, H=16, seed=0, lr=0.02):
    """Test MSE after ``steps`` Adam steps; always predicting the mean scores about 1/6."""
    tg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnn, head = cls(2, H), nn.Linear(H, 1)
    opt = optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=lr)
    for _ in range(steps):
        x, y = _adding_batch(rng, 32, T)
        out, _ = rnn(tg.Tensor(x))
        loss = F.mse_loss(head(out[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _adding_batch(np.random.default_rng(999), 500, T)
    with tg.no_grad():
        out, _ = rnn(tg.Tensor(x))
        return F.mse_loss(head(out[-1]), y).item()


def test_lstm_solves_the_adding_problem_that_a_same_size_rnn_does_not():
    # T = 30, lr = 0.02: the LSTM leaves the plateau near step 700 (test MSE 0.005 there, 0.0014 at 1000);
    # the RNN stays between 0.16 and 0.19 for all 1000 steps (seen on this seed, checked every 100 steps)
    lstm, rnn = _adding_mse(nn.LSTM, 1000), _adding_mse(nn.RNN, 1000)
    assert lstm < 0.02, lstm
    assert rnn > 0.12, rnn            # stuck at the predict-the-mean level (about 1/6)


def test_gru_solves_the_adding_problem_too():
    gru = _adding_mse(nn.GRU, 300)
    assert gru < 0.02, gru            # (seen: 0.0021 after 200 steps, 0.001 after 300)


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
            pred = head(rnn(tg.Tensor(x))[0]).numpy().argmax(-1)
        return float((pred[:, :-1] == y[:, :-1]).mean())      # the last target lies beyond the input
    bi, uni = train(True), train(False)
    assert bi > 0.9, bi
    assert uni < 0.4, uni
