"""Variable-length sequence batches: padding and PyTorch's ``PackedSequence``.

A packed batch stores only the real time steps, time-major: first step 0 of
every sequence (longest first), then step 1 of every sequence that is at
least 2 long, and so on.  ``batch_sizes[t]`` says how many sequences are still
running at step t.  For sequences ``abc`` and ``xy`` the data is ``a x b y c``
with ``batch_sizes = [2, 2, 1]``.

Packing and unpacking are gathers (one advanced-indexing op each, plus a
``cat`` for the padding value), so gradients flow through them.  ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` accept a ``PackedSequence`` and return one.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from ...functions import cat, pad, stack
from ..._args import bool_arg, int_arg
from ...tensor import ShapeError, Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A packed batch of variable-length sequences (a named tuple, as in PyTorch).

    Attributes:
        data (Tensor): the packed steps, shape (sum of lengths, *), time-major.
        batch_sizes (Tensor): int64, shape (max length,); how many sequences run at each step.
        sorted_indices (Tensor, optional): int64; ``sorted_indices[i]`` is the original batch
            position of the i-th longest sequence (None when the batch was already sorted).
        unsorted_indices (Tensor, optional): the inverse permutation, which restores the
            original order.

    Build one with ``pack_padded_sequence`` or ``pack_sequence``, not by hand.
    """

    def __new__(cls, data: Any, batch_sizes: Any = None, sorted_indices: Any = None,
                unsorted_indices: Any = None) -> "PackedSequence":
        if batch_sizes is None:                     # PackedSequence((data, batch_sizes, ...))
            data, batch_sizes, *rest = data
            rest += [None] * (2 - len(rest))
            sorted_indices, unsorted_indices = rest[0], rest[1]
        sorted_indices = _int_tensor(sorted_indices)
        unsorted_indices = _int_tensor(unsorted_indices)
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        data = data if isinstance(data, Tensor) else Tensor(data)
        return super().__new__(cls, data, _int_tensor(batch_sizes), sorted_indices, unsorted_indices)

    def to(self, dtype: Any) -> "PackedSequence":
        """The same packing with ``data`` cast to ``dtype``."""
        return self._replace(data=self.data.astype(dtype))

    def float(self) -> "PackedSequence":
        """The same packing with float32 ``data``."""
        return self.to(np.float32)

    def double(self) -> "PackedSequence":
        """The same packing with float64 ``data``."""
        return self.to(np.float64)


def _int_tensor(x: Any) -> Tensor | None:
    if x is None:
        return None
    arr = np.asarray(x.array if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"expected integer indices or sizes, got dtype {arr.dtype}")
    return Tensor._wrap(arr.astype(np.int64).reshape(-1))


def _np(x: Any) -> np.ndarray | None:
    return None if x is None else np.asarray(x.array if isinstance(x, Tensor) else x)


def invert_permutation(permutation: Any) -> Tensor | None:
    """The inverse of a permutation of 0..n-1 (int64): ``out[permutation[i]] = i``."""
    if permutation is None:
        return None
    perm = _np(permutation).astype(np.int64).reshape(-1)
    if not np.array_equal(np.sort(perm), np.arange(perm.size)):
        raise ValueError(f"invert_permutation: expected a permutation of 0..{perm.size - 1}, got {perm.tolist()}"[:200])
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return Tensor._wrap(out)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack a list of variable-length tensors into one padded tensor.

    Args:
        sequences (list of Tensor): B tensors of shapes (L_i, *), with the same trailing shape.
        batch_first (bool): output (B, T, *) if True, else (T, B, *); T = max L_i.
        padding_value (float): value for the padded positions.
        padding_side (str): "right" (default) pads after each sequence, "left" before it.

    Returns:
        Tensor of shape (T, B, *) or (B, T, *).  Differentiable in every input.
    """
    bool_arg("pad_sequence", "batch_first", batch_first)
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    seqs = [_as_tensor(s) for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != trailing:
            raise ShapeError(f"pad_sequence: every sequence must have shape (L, *{trailing}), "
                             f"sequence {i} has shape {s.shape}")
    T = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = T - s.shape[0]
        widths = [(extra, 0) if padding_side == "left" else (0, extra)] + [(0, 0)] * (s.ndim - 1)
        padded.append(pad(s, widths, padding_value) if extra else s)
    return stack(padded, 0 if batch_first else 1)


def _check_lengths(name: str, lengths: Any, B: int, T: int) -> np.ndarray:
    lens = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths).reshape(-1)
    if lens.size and lens.dtype.kind not in "iu":
        if lens.dtype.kind == "f" and np.all(lens == np.round(lens)):
            lens = lens.astype(np.int64)
        else:
            raise TypeError(f"{name}: lengths must be integers, got {lens.dtype}")
    lens = lens.astype(np.int64)
    if lens.shape != (B,):
        raise ShapeError(f"{name}: expected {B} lengths (one per sequence), got {lens.size}")
    if (lens <= 0).any():
        raise RuntimeError(f"{name}: Length of all samples has to be greater than 0, but found an element "
                           f"in 'lengths' that is <= 0 (lengths {lens.tolist()})")
    if (lens > T).any():
        raise ValueError(f"{name}: lengths {lens.tolist()} exceed the padded sequence length {T}")
    return lens


def _pack_sorted(input: Tensor, lens: np.ndarray, sorted_idx: np.ndarray,  # noqa: A002
                 batch_first: bool) -> tuple[Tensor, np.ndarray]:
    """Gather the packed data of ``input`` (padded, original batch order) in ``sorted_idx`` order."""
    sorted_lens = lens[sorted_idx]
    if (np.diff(sorted_lens) > 0).any():
        raise ValueError(f"pack: sorted_indices {sorted_idx.tolist()} do not order lengths {lens.tolist()} "
                         "decreasingly")
    T = int(sorted_lens[0])
    batch_sizes = (sorted_lens[None, :] > np.arange(T)[:, None]).sum(axis=1).astype(np.int64)
    t_idx = np.repeat(np.arange(T), batch_sizes)
    b_idx = sorted_idx[np.concatenate([np.arange(n) for n in batch_sizes])]
    data = input[b_idx, t_idx] if batch_first else input[t_idx, b_idx]
    return data, batch_sizes


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences.

    Args:
        input (Tensor): padded batch of shape (T, B, *), or (B, T, *) with ``batch_first``.
        lengths (Tensor or list of int): the B sequence lengths, each in [1, T].
        batch_first (bool): whether ``input`` is (B, T, *).
        enforce_sorted (bool): if True, ``lengths`` must be sorted decreasingly (a
            RuntimeError otherwise) and ``sorted_indices`` is None; if False the
            sequences are sorted by length here (stably) and the permutation is kept.

    Returns:
        PackedSequence whose ``data`` has shape (sum(lengths), *).  Gradients flow back to ``input``.
    """
    input = _as_tensor(input)  # noqa: A001
    if input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: expected a padded batch of at least 2 dimensions, "
                         f"got shape {input.shape}")
    B, T = (input.shape[0], input.shape[1]) if batch_first else (input.shape[1], input.shape[0])
    lens = _check_lengths("pack_padded_sequence", lengths, B, T)
    if enforce_sorted:
        if (np.diff(lens) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX exportability.")
        sorted_idx = None
    else:
        sorted_idx = np.argsort(-lens, kind="stable").astype(np.int64)
    data, batch_sizes = _pack_sorted(input, lens, np.arange(B) if sorted_idx is None else sorted_idx, batch_first)
    return PackedSequence(data, batch_sizes, sorted_idx, None)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length tensors (shapes (L_i, *)) directly.

    Equivalent to ``pack_padded_sequence(pad_sequence(sequences), [len(s) for s in sequences],
    enforce_sorted=enforce_sorted)``; with ``enforce_sorted=True`` the sequences
    must be in decreasing order of length.
    """
    seqs = [_as_tensor(s) for s in sequences]
    lengths = [s.shape[0] if s.ndim else 0 for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def _packed_parts(sequence: PackedSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(batch_sizes, sorted_idx, lengths in sorted order, lengths in original order)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"expected a PackedSequence, got {type(sequence).__name__}")
    bs = _np(sequence.batch_sizes).astype(np.int64)
    B = int(bs[0]) if bs.size else 0
    sorted_idx = np.arange(B) if sequence.sorted_indices is None else _np(sequence.sorted_indices).astype(np.int64)
    sorted_lens = (bs[None, :] > np.arange(B)[:, None]).sum(axis=1).astype(np.int64)
    lens = np.empty_like(sorted_lens)
    lens[sorted_idx] = sorted_lens
    return bs, sorted_idx, sorted_lens, lens


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Unpack a ``PackedSequence`` into a padded batch; the inverse of ``pack_padded_sequence``.

    Args:
        sequence (PackedSequence): the batch to pad.
        batch_first (bool): output (B, T, *) if True, else (T, B, *).
        padding_value (float): value for the padded positions.
        total_length (int, optional): pad to this length T instead of the longest
            sequence's (ValueError if it is shorter than that).

    Returns:
        (padded, lengths): the padded Tensor with the batch in its original order
        (before any sorting by ``enforce_sorted=False``), and the lengths as an
        int64 Tensor in that order.  Gradients flow back to ``sequence.data``.
    """
    bs, sorted_idx, _, lens = _packed_parts(sequence)
    data = sequence.data
    max_len = bs.size
    T = max_len if total_length is None else int_arg("pad_packed_sequence", "total_length", total_length)
    if T < max_len:
        raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                         f"but got total_length={total_length} and max sequence length being {max_len}")
    B = int(bs[0]) if bs.size else 0
    N = data.shape[0]
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]]).astype(np.int64)
    rank = np.empty(B, dtype=np.int64)
    rank[sorted_idx] = np.arange(B)                  # position of each original sequence in the sorted batch
    t = np.arange(T)[:, None]
    valid = t < lens[None, :]                        # (T, B)
    idx = np.where(valid, offsets[np.minimum(t, max_len - 1)] + rank[None, :], N)
    pad_row = Tensor._wrap(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype))
    source = cat([data, pad_row], 0)
    padded = source[idx.T] if batch_first else source[idx]
    return padded, Tensor._wrap(lens.copy())


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into a list of its B sequences, of shapes (L_i, *)."""
    padded = _as_tensor(padded_sequences)
    B, T = (padded.shape[0], padded.shape[1]) if batch_first else (padded.shape[1], padded.shape[0])
    lens = _check_lengths("unpad_sequence", lengths, B, T)
    return [padded[b, :n] if batch_first else padded[:n, b] for b, n in enumerate(lens.tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Split a ``PackedSequence`` into the list of its sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def _run_packed(module: Any, packed: PackedSequence, hx: Any) -> tuple:
    """RNN/LSTM/GRU on a ``PackedSequence``: unpack, run with ``lengths=``, repack the output.

    ``hx`` and the returned final state are in the original batch order, which is
    what PyTorch gives (it permutes h0 by ``sorted_indices`` and h_n back by
    ``unsorted_indices`` around its sorted computation).
    """
    bf = module.batch_first
    padded, lengths = pad_packed_sequence(packed, batch_first=bf)
    out, state = module.forward(padded, hx, lengths=lengths)
    _, sorted_idx, _, lens = _packed_parts(packed)
    data, batch_sizes = _pack_sorted(out, lens, sorted_idx, bf)
    return PackedSequence(data, batch_sizes, packed.sorted_indices, packed.unsorted_indices), state
