"""utils.data: datasets, samplers, collation rules, DataLoader batching and seeded shuffling, random_split."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq.nn.utils.rnn import pad_sequence
from tinygrad_seq.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                                     SequentialSampler, Subset, TensorDataset, default_collate, random_split)


def xy(n=10):
    return TensorDataset(tg.arange(n * 2).reshape(n, 2).float(), tg.arange(n))


def test_tensor_dataset():
    ds = xy()
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(tg.zeros(3, 2), tg.zeros(4))


def test_sequential_batches_and_drop_last():
    dl = DataLoader(xy(), batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list) and batches[0][0].shape == (4, 2) and batches[0][0].dtype == np.float32
    assert batches[0][1].dtype == np.int64
    dl = DataLoader(xy(), batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_seeded_and_a_permutation():
    tg.manual_seed(5)
    first = [i for _, y in DataLoader(xy(), batch_size=3, shuffle=True) for i in y.tolist()]
    tg.manual_seed(5)
    again = [i for _, y in DataLoader(xy(), batch_size=3, shuffle=True) for i in y.tolist()]
    assert first == again and sorted(first) == list(range(10)) and first != list(range(10))
    assert first == np.random.default_rng(5).permutation(10).tolist()    # draws from the package generator
    tg.manual_seed(5)
    dl = DataLoader(xy(), batch_size=10, shuffle=True)
    e1, e2 = next(iter(dl))[1].tolist(), next(iter(dl))[1].tolist()
    assert e1 != e2                                                      # a new order every epoch


class Gen:
    """The shape of a tg.Generator: manual_seed and a numpy Generator in _rng."""

    def __init__(self):
        self._rng = np.random.default_rng()

    def manual_seed(self, seed):
        self._rng = np.random.default_rng(seed)
        return self


def test_generator_object_drives_the_shuffle():
    orders = []
    for seed in (1, 2):
        tg.manual_seed(seed)                           # the package generator must not matter
        dl = DataLoader(xy(), batch_size=5, shuffle=True, generator=Gen().manual_seed(11))
        orders.append([i for _, y in dl for i in y.tolist()])
    assert orders[0] == orders[1] == np.random.default_rng(11).permutation(10).tolist()


def test_default_collate_dtype_rules():
    out = default_collate([1, 2, 3])
    assert out.dtype == np.int64 and out.tolist() == [1, 2, 3]
    out = default_collate([0.5, 1.5])
    assert out.dtype == np.float64                     # PyTorch: torch.tensor(batch, dtype=torch.float64)
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    arrs = default_collate([np.zeros((2, 3), np.float64), np.ones((2, 3), np.float64)])
    assert arrs.shape == (2, 2, 3) and arrs.dtype == np.float64
    ts = default_collate([tg.zeros(3), tg.ones(3)])
    assert ts.shape == (2, 3) and ts.dtype == np.float32
    assert default_collate(["a", "b"]) == ["a", "b"]
    d = default_collate([{"x": 1, "y": [1.0, 2]}, {"x": 2, "y": [3.0, 4]}])
    assert d["x"].tolist() == [1, 2] and d["y"][0].tolist() == [1.0, 3.0] and d["y"][1].tolist() == [2, 4]
    t = default_collate([(1, "a"), (2, "b")])
    assert isinstance(t, list) and t[0].tolist() == [1, 2] and t[1] == ["a", "b"]
    P = namedtuple("P", "a b")
    p = default_collate([P(1, 2.0), P(3, 4.0)])
    assert isinstance(p, P) and p.a.tolist() == [1, 3]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError):
        default_collate([None, None])


def test_custom_collate_pads_variable_length_sequences():
    class Seqs(Dataset):
        def __init__(self):
            self.items = [np.arange(n, dtype=np.float32) for n in (3, 1, 2, 4)]

        def __getitem__(self, i):
            return tg.Tensor(self.items[i])

        def __len__(self):
            return len(self.items)

    def collate(batch):
        return pad_sequence(batch, batch_first=True), tg.tensor([len(s) for s in batch])

    (x, lens), (x2, lens2) = list(DataLoader(Seqs(), batch_size=2, collate_fn=collate))
    assert x.tolist() == [[0, 1, 2], [0, 0, 0]] and lens.tolist() == [3, 1]
    assert x2.shape == (2, 4) and lens2.tolist() == [2, 4]


def test_no_batching_converts_samples():
    class Arr(Dataset):
        def __getitem__(self, i):
            return np.full(2, i, dtype=np.int32)

        def __len__(self):
            return 3

    items = list(DataLoader(Arr(), batch_size=None))
    assert len(items) == 3 and isinstance(items[1], tg.Tensor) and items[1].tolist() == [1, 1]
    with pytest.raises(ValueError):
        DataLoader(Arr(), batch_size=None, drop_last=True)


def test_loader_argument_conflicts():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(xy(), sampler=SequentialSampler(range(10)), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(xy(), batch_size=2, batch_sampler=[[0, 1]])
    dl = DataLoader(xy(), batch_sampler=[[0, 1], [5, 9, 2]])
    assert [y.tolist() for _, y in dl] == [[0, 1], [5, 9, 2]] and len(dl) == 2


def test_batch_and_random_samplers():
    # PyTorch's documented BatchSampler example
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    with pytest.raises(ValueError):
        BatchSampler(range(10), 0, False)
    s = RandomSampler(range(4), num_samples=10, generator=Gen().manual_seed(0))
    idx = list(s)
    assert len(idx) == len(s) == 10 and sorted(idx[:4]) == [0, 1, 2, 3] and sorted(idx[4:8]) == [0, 1, 2, 3]
    r = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=Gen().manual_seed(0)))
    assert len(r) == 50 and set(r) <= {0, 1, 2}


def test_random_split_sizes_fractions_and_disjointness():
    tg.manual_seed(0)
    a, b = random_split(range(10), [3, 7])
    assert len(a) == 3 and len(b) == 7
    assert sorted(list(a) + list(b)) == list(range(10))
    # fractions: floor(11 * f) = 5, 3, 2, and the one left over goes to the first split
    parts = random_split(range(11), [0.5, 0.3, 0.2], generator=Gen().manual_seed(1))
    assert [len(p) for p in parts] == [6, 3, 2]
    seen = [i for p in parts for i in p]
    assert sorted(seen) == list(range(11))
    again = random_split(range(11), [0.5, 0.3, 0.2], generator=Gen().manual_seed(1))
    assert [list(p) for p in parts] == [list(p) for p in again]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    sub = random_split(xy(), [4, 6])[0]
    assert isinstance(sub, Subset) and len(DataLoader(sub, batch_size=3)) == 2


def test_subset_concat_and_iterable_dataset():
    sub = Subset(list("abcdef"), [4, 0, 2])
    assert [sub[i] for i in range(3)] == ["e", "a", "c"]
    cat = ConcatDataset([list("ab"), list("xyz")])
    assert len(cat) == 5 and [cat[i] for i in range(5)] == list("abxyz") and cat[-1] == "z"

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    dl = DataLoader(Stream(), batch_size=3)
    assert [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6]] and len(dl) == 3
    with pytest.raises(ValueError):
        DataLoader(Stream(), shuffle=True)
