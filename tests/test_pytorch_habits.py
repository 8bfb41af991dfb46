"""PyTorch habits carry over: idioms compared with numpy and with PyTorch's documented behaviour,
and a recurrent training program written for PyTorch that runs with only the import changed."""
import numpy as np
import pytest

import tinygrad_seq as torch            # the point: PyTorch code, this import

A = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, 4.0]], dtype=np.float32)


def T(a=A):
    return torch.tensor(a)


# (name, tinygrad_seq expression, expected value computed with numpy or written from PyTorch's docs)
IDIOMS = [
    ("size()", lambda: T().size(), (2, 3)),
    ("size(dim)", lambda: T().size(1), 3),
    ("size(-1)", lambda: T().size(-1), 3),
    ("numel", lambda: T().numel(), 6),
    ("dim", lambda: T().dim(), 2),
    ("max() value", lambda: T().max().item(), 4.0),
    ("max(dim) values", lambda: T().max(dim=1).values.tolist(), [3.0, 4.0]),
    ("max(dim) indices (first of ties)", lambda: T().max(dim=1).indices.tolist(), [0, 1]),
    ("max(dim) unpacks", lambda: [t.tolist() for t in T().max(1)], [[3.0, 4.0], [0, 1]]),
    ("min(dim, keepdim)", lambda: T().min(dim=0, keepdim=True).values.shape, (1, 3)),
    ("torch.max(x, dim)", lambda: torch.max(T(), 1)[1].tolist(), [0, 1]),
    ("Tensor([ints]) is float32", lambda: torch.Tensor([0, 1]).dtype, np.float32),
    ("tensor([ints]) is int64", lambda: torch.tensor([0, 1]).dtype, np.int64),
    ("LongTensor", lambda: torch.LongTensor([1, 2]).dtype, np.int64),
    ("FloatTensor(2, 3)", lambda: torch.FloatTensor(2, 3).shape, (2, 3)),
    ("float(one element)", lambda: float(torch.tensor([[2.5]])), 2.5),
    ("int(one element)", lambda: int(torch.tensor([7])), 7),
    ("0-d int as an index", lambda: "abc"[torch.tensor(2)], "c"),
    ("dtype names", lambda: (torch.float32, torch.long, torch.double, torch.bool),
     (np.float32, np.int64, np.float64, np.bool_)),
    (".long() .int() .bool()", lambda: (T().long().dtype, T().int().dtype, T().bool().dtype),
     (np.int64, np.int32, np.bool_)),
    (".type(dtype), .type()", lambda: (T().type(torch.float64).dtype, T().type()), (np.float64, "float32")),
    (".type_as", lambda: T().type_as(torch.zeros(1, dtype=torch.float64)).dtype, np.float64),
    ("topk values", lambda: T().topk(2, dim=1).values.tolist(), [[3.0, 2.0], [4.0, 4.0]]),
    ("topk indices", lambda: T().topk(1).indices.tolist(), [[0], [1]]),
    ("sort descending", lambda: T().sort(dim=1, descending=True).values.tolist(), [[3.0, 2.0, -1.0], [4.0, 4.0, 0.5]]),
    ("argsort", lambda: T().argsort(dim=1).tolist(), np.argsort(A, axis=1, kind="stable").tolist()),
    ("gather", lambda: T().gather(1, torch.tensor([[2, 0], [1, 1]])).tolist(), [[2.0, 3.0], [4.0, 4.0]]),
    ("masked_fill", lambda: T().masked_fill(T() > 2, 0.0).tolist(), np.where(A > 2, 0, A).tolist()),
    ("where", lambda: torch.where(T() > 2, T(), torch.zeros(2, 3)).tolist(), np.where(A > 2, A, 0).tolist()),
    ("cumsum", lambda: T().cumsum(1).tolist(), np.cumsum(A, 1).tolist()),
    ("repeat", lambda: torch.tensor([1, 2]).repeat(2, 2).tolist(), [[1, 2, 1, 2], [1, 2, 1, 2]]),
    ("narrow", lambda: T().narrow(1, 1, 2).tolist(), A[:, 1:3].tolist()),
    ("t()", lambda: T().t().shape, (3, 2)),
    ("contiguous / clone", lambda: (T().contiguous().shape, T().clone().tolist()), ((2, 3), A.tolist())),
    ("new_zeros / new_ones / new_full / new_tensor",
     lambda: (T().new_zeros(2).tolist(), T().new_ones((1, 2)).tolist(), T().new_full((2,), 7).tolist(),
              T().new_tensor([1, 2]).dtype), ([0, 0], [[1, 1]], [7, 7], np.float32)),
    ("add(alpha)", lambda: T().add(T(), alpha=2).tolist(), (3 * A).tolist()),
    ("sub / mul / div / pow", lambda: (T().sub(1).tolist(), T().mul(2).tolist(), T().div(2).tolist(), T().pow(2).tolist()),
     ((A - 1).tolist(), (A * 2).tolist(), (A / 2).tolist(), (A ** 2).tolist())),
    ("std (Bessel)", lambda: round(T().std().item(), 5), round(float(np.std(A, ddof=1)), 5)),
    ("std(unbiased=False)", lambda: round(T().std(unbiased=False).item(), 5), round(float(np.std(A)), 5)),
    ("norm", lambda: round(T().norm().item(), 5), round(float(np.linalg.norm(A)), 5)),
    ("norm(p=1, dim)", lambda: T().norm(p=1, dim=1).tolist(), np.abs(A).sum(1).tolist()),
    ("eq / ne / lt / le / gt / ge", lambda: [f(T(), 2.0).tolist() for f in (torch.Tensor.eq, torch.Tensor.ne,
     torch.Tensor.lt, torch.Tensor.le, torch.Tensor.gt, torch.Tensor.ge)],
     [(A == 2).tolist(), (A != 2).tolist(), (A < 2).tolist(), (A <= 2).tolist(), (A > 2).tolist(), (A >= 2).tolist()]),
    ("all / any", lambda: ((T() > -2).all().item(), (T() > 3).any(dim=1).tolist()), (True, [False, True])),
    ("empty", lambda: torch.empty(2, 3).shape, (2, 3)),
    ("bmm / mm", lambda: (torch.bmm(torch.ones(2, 3, 4), torch.ones(2, 4, 5)).shape, torch.mm(T(), T().t()).shape),
     ((2, 3, 5), (2, 2))),
    ("linspace", lambda: torch.linspace(0, 1, 5).tolist(), [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("randperm", lambda: sorted(torch.randperm(5).tolist()), [0, 1, 2, 3, 4]),
    ("sin / cos", lambda: (torch.sin(torch.tensor(0.0)).item(), torch.cos(torch.tensor(0.0)).item()), (0.0, 1.0)),
    ("tril / triu", lambda: (torch.tril(torch.ones(2, 2)).tolist(), torch.triu(torch.ones(2, 2), 1).tolist()),
     ([[1, 0], [1, 1]], [[0, 1], [0, 0]])),
    ("einsum", lambda: torch.einsum("ij,jk->ik", T(), T().t()).tolist(), (A @ A.T).tolist()),
    ("einsum batch", lambda: torch.einsum("bij,bjk->bik", torch.ones(2, 3, 4), torch.ones(2, 4, 5)).shape, (2, 3, 5)),
    ("from_numpy shares memory", lambda: (lambda a: (torch.from_numpy(a).add_(1), a.tolist())[1])(np.zeros(2)),
     [1.0, 1.0]),
    ("is_tensor / allclose", lambda: (torch.is_tensor(T()), torch.allclose(T(), T() + 1e-9)), (True, True)),
    ("set_grad_enabled", lambda: (lambda x: (torch.set_grad_enabled(False), (x * 2).requires_grad,
                                             torch.set_grad_enabled(True))[1])(torch.ones(1, requires_grad=True)),
     False),
    ("unsqueeze_", lambda: (lambda t: (t.unsqueeze_(0), t.shape)[1])(torch.zeros(3)), (1, 3)),
    ("t[i][j] += 1", lambda: (lambda t: (t[1].__setitem__(0, t[1][0] + 1), t.tolist())[1])(torch.zeros(2, 2)),
     [[0, 0], [1, 0]]),
    ("mask assignment", lambda: (lambda t: (t.__setitem__(t > 2, -1.0), t.tolist())[1])(T()),
     np.where(A > 2, -1, A).tolist()),
    ("multinomial", lambda: torch.multinomial(torch.tensor([0.0, 1.0, 0.0]), 3, replacement=True).tolist(), [1, 1, 1]),
    ("Generator", lambda: torch.randn(3, generator=torch.Generator().manual_seed(5)).tolist() ==
     torch.randn(3, generator=torch.Generator().manual_seed(5)).tolist(), True),
    ("device", lambda: (str(T().device), T().to("cpu").shape, T().cpu().shape, torch.cuda.is_available(),
                        torch.zeros(1, device="cpu").shape), ("cpu", (2, 3), (2, 3), False, (1,))),
]


@pytest.mark.parametrize("name,expr,expected", IDIOMS, ids=[i[0] for i in IDIOMS])
def test_pytorch_idiom(name, expr, expected):
    got = expr()
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


def test_grad_mode_context_managers_and_decorators():
    x = torch.ones(1, requires_grad=True)
    with torch.inference_mode():
        assert not (x * 2).requires_grad
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with torch.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @torch.no_grad()
    def f(t):
        return t * 2
    assert (x * 2).requires_grad and not f(x).requires_grad and torch.is_grad_enabled()


def test_cuda_is_refused_in_one_clear_line():
    for bad in (lambda: torch.zeros(2, device="cuda"), lambda: torch.ones(2).to("cuda"),
                lambda: torch.ones(2).cuda(), lambda: torch.nn.Linear(2, 2).to("cuda:0"),
                lambda: torch.set_default_device("cuda")):
        with pytest.raises(RuntimeError, match="computes on the CPU with numpy"):
            bad()


def test_autograd_grad_and_backward_functions():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, -1.0], requires_grad=True)
    y = (x * w).sum() + (x * x).sum()
    gx, gw = torch.autograd.grad(y, [x, w], retain_graph=True)
    assert gx.tolist() == [5.0, 3.0] and gw.tolist() == [1.0, 2.0] and x.grad is None   # .grad untouched
    torch.autograd.backward([y], [torch.tensor(2.0)])
    assert x.grad.tolist() == [10.0, 6.0]
    x.grad = None
    (x * x).sum().backward(create_graph=True)             # higher order: .grad has a graph of its own
    assert x.grad.tolist() == [2.0, 4.0] and x.grad.grad_fn is not None
    z = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        torch.autograd.grad((x * 2).sum(), [z])
    assert torch.autograd.grad((x * 2).sum(), [z], allow_unused=True) == (None,)


def test_state_dict_lists_tied_weights_under_every_name():
    class TiedLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.Embedding(5, 3)
            self.decoder = torch.nn.Linear(3, 5)
            self.decoder.weight = self.encoder.weight
    sd = TiedLM().state_dict()
    assert set(sd) == {"encoder.weight", "decoder.weight", "decoder.bias"}
    np.testing.assert_array_equal(sd["encoder.weight"], sd["decoder.weight"])
    assert len(list(TiedLM().parameters())) == 2


# ---------------------------------------------------------------------------
# a recurrent program written for PyTorch (word-level LM style, on characters),
# run here with only the import changed: it must train
# ---------------------------------------------------------------------------

PROGRAM_TEXT = ("the quick brown fox jumps over the lazy dog. " * 40)


class CharRNN(torch.nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 16)
        self.rnn = torch.nn.LSTM(16, hidden, batch_first=True)
        self.drop = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(hidden, vocab)
        self.init_weights()

    def init_weights(self):
        torch.nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        torch.nn.init.zeros_(self.head.bias)
        torch.nn.init.xavier_uniform_(self.head.weight)

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.embed(x), hidden)
        return self.head(self.drop(out)), hidden


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def test_a_pytorch_style_training_program_runs_with_only_the_import_changed():
    torch.manual_seed(0)
    chars = sorted(set(PROGRAM_TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in PROGRAM_TEXT], dtype=torch.long)
    batch, bptt = 4, 16
    nbatch = data.size(0) // batch
    streams = data.narrow(0, 0, nbatch * batch).view(batch, -1).contiguous()      # (B, N): B parallel streams

    # a DataLoader over windows, with a seeded generator
    windows = torch.stack([streams[:, i:i + bptt + 1] for i in range(0, streams.size(1) - bptt - 1, bptt)])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(windows), batch_size=1, shuffle=False)

    model = CharRNN(len(chars), 32)
    criterion = torch.nn.CrossEntropyLoss()
    lr = 4.0
    losses = []
    for epoch in range(4):
        model.train()
        hidden = None
        total = 0.0
        for (window,) in loader:
            window = window.squeeze(0)
            inputs, targets = window[:, :-1], window[:, 1:]
            hidden = repackage_hidden(hidden) if hidden is not None else None
            model.zero_grad()
            output, hidden = model(inputs, hidden)
            loss = criterion(output.reshape(-1, len(chars)), targets.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25 * 20)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)                  # the classic manual SGD update
            total += loss.item()
        losses.append(total / len(loader))
    assert losses[-1] < 0.6 * losses[0], losses

    # packed variable-length batch through the same model's LSTM
    seqs = [streams[0, :7], streams[1, :5], streams[2, :3]]
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(model.embed(padded), torch.tensor([7, 5, 3]),
                                                     batch_first=True, enforce_sorted=True)
    out, (h, c) = model.rnn(packed)
    unpacked, lengths = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    assert unpacked.size() == (3, 7, 32) and lengths.tolist() == [7, 5, 3] and h.size() == (1, 3, 32)

    # sampling with top-k and multinomial, no graph
    model.eval()
    with torch.no_grad():
        x = torch.tensor([[stoi["t"]]])
        hidden, text = None, []
        for _ in range(40):
            logits, hidden = model(x, hidden)
            probs = torch.softmax(logits[0, -1] / 0.8, dim=-1)
            top = torch.topk(probs, 5)
            choice = torch.multinomial(top.values / top.values.sum(), 1)
            idx = top.indices[choice]
            text.append(chars[idx.item()])
            x = idx.view(1, 1)
    assert len(text) == 40 and set(text) <= set(chars)
