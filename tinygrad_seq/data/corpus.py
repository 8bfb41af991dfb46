"""The corpus, the character vocabulary and the parallel streams of truncated BPTT."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

VAL_FRACTION = 0.05
DEFAULT_SOURCE = "pydoc_data.topics"


class DataError(ValueError):
    """A text that cannot be used for training, sampling or evaluation; the message is one line."""


def default_corpus() -> str:
    """The text of Python's documentation topics (``pydoc_data.topics``), bundled with CPython.

    The topics dict's values joined in sorted key order: about 465 KB and ~100 distinct characters.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise DataError("this Python has no pydoc_data.topics module (the default corpus); "
                        "give a UTF-8 text file with --data PATH") from None
    return "".join(topics[k] for k in sorted(topics))


def load_text(path: str | os.PathLike | None) -> tuple[str, str]:
    """``(text, source)``: the UTF-8 text file at ``path``, or the default corpus when ``path`` is None.

    Raises ``DataError`` for a missing file, a directory, an empty file or bytes that are not UTF-8
    (naming the offset, line and column of the first bad byte).
    """
    if path is None:
        return default_corpus(), DEFAULT_SOURCE
    path = os.fspath(path)
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a text file")
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or e}") from None
    if not raw:
        raise DataError(f"{path}: the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataError(f"{path}: not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start} "
                        f"(line {line}, column {col}) is invalid") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        raise DataError(f"{path}: the file is empty")
    return text, path


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """``(train, val)``: the validation split is the last ``val_fraction`` of the text (at least 2 chars)."""
    n_val = max(2, int(round(len(text) * val_fraction)))
    return text[:-n_val], text[-n_val:]


def min_text_length(batch: int, seq_len: int, val_fraction: float = VAL_FRACTION) -> int:
    """The shortest text whose training split fills one batch: ``batch`` streams of ``seq_len + 1`` chars."""
    need_train = batch * seq_len + 1
    n = need_train + 2
    while len(split_text("x" * n, val_fraction)[0]) < need_train:
        n += 1
    while n > need_train + 2 and len(split_text("x" * (n - 1), val_fraction)[0]) >= need_train:
        n -= 1
    return n


class CharVocab:
    """The characters of a text, sorted: ``encode`` text -> int array, ``decode`` ints -> text.

    ``stoi`` maps character -> index, ``itos`` is the list of characters.  ``to_array()`` /
    ``from_array()`` store it as an int array of code points (for checkpoints).
    """

    def __init__(self, chars: Iterable[str]):
        self.itos: list[str] = sorted(set(chars))
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}
        self._lookup = np.full(max((ord(c) for c in self.itos), default=0) + 1, -1, np.int64)
        for i, c in enumerate(self.itos):
            self._lookup[ord(c)] = i

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls(text)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, ch: str) -> bool:
        return ch in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharVocab) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters)"

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def encode(self, text: str) -> np.ndarray:
        """Text -> int64 indices; raises ``DataError`` naming any characters not in the vocabulary."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        ok = codes < len(self._lookup)
        idx = np.full(codes.shape, -1, np.int64)
        idx[ok] = self._lookup[codes[ok]]
        if (idx < 0).any():
            raise DataError(f"characters not in the vocabulary: {describe_chars(self.unknown(text))}")
        return idx

    def decode(self, indices: Iterable[int]) -> str:
        """The text for a sequence of indices."""
        return "".join(self.itos[int(i)] for i in indices)

    def to_array(self) -> np.ndarray:
        """The vocabulary as an int64 array of code points (for saving in a checkpoint)."""
        return np.array([ord(c) for c in self.itos], dtype=np.int64)

    @classmethod
    def from_array(cls, codes: np.ndarray) -> "CharVocab":
        return cls(chr(int(c)) for c in np.asarray(codes).reshape(-1))


def describe_chars(chars: list[str], limit: int = 10) -> str:
    """``['é', '\\t']`` -> ``"'é' (U+00E9), '\\t' (U+0009)"`` (first ``limit``, then a count)."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


class Streams:
    """A sequence of token ids laid out as ``batch`` parallel streams, read ``seq_len`` steps at a time.

    Stream ``b`` is the ``b``-th contiguous slice of the ids, so the hidden state carried from one
    chunk to the next (detached in between: truncated BPTT) belongs to the same stretch of text.
    ``next_batch()`` returns time-major ``(x, y, wrapped)``: inputs and next-token targets of shape
    ``(seq_len, batch)``, and whether the streams just wrapped round to their beginnings (a new
    epoch; the carried state should then be reset).  ``position()`` / ``restore(...)`` save and
    restore where reading is, for exact resumption.
    """

    def __init__(self, ids: np.ndarray, batch: int, seq_len: int):
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.batch, self.seq_len = batch, seq_len
        self.stream_len = (len(ids) - 1) // batch
        if self.stream_len < seq_len:
            raise DataError(f"the text is too short for one batch: {len(ids)} characters, but batch {batch} x "
                            f"seq-len {seq_len} needs at least {batch * seq_len + 1}")
        n = self.stream_len * batch
        self.inputs = ids[:n].reshape(batch, self.stream_len).T.copy()          # (stream_len, batch)
        self.targets = ids[1:n + 1].reshape(batch, self.stream_len).T.copy()
        self.chunks_per_epoch = self.stream_len // seq_len
        self.pos, self.epoch = 0, 0

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The next (inputs, targets) window of every stream, and whether the streams wrapped around."""
        wrapped = False
        if self.pos + self.seq_len > self.stream_len:
            self.pos, self.epoch, wrapped = 0, self.epoch + 1, True
        s = slice(self.pos, self.pos + self.seq_len)
        self.pos += self.seq_len
        return self.inputs[s], self.targets[s], wrapped

    def chunks(self, seq_len: int | None = None) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        """Every chunk once, in order, from the beginning (for evaluation); the last may be shorter."""
        T = seq_len or self.seq_len
        for start in range(0, self.stream_len, T):
            yield self.inputs[start:start + T], self.targets[start:start + T]

    def position(self) -> dict:
        """Where the streams are (for a checkpoint): ``{"pos": ..., "epoch": ...}``."""
        return {"pos": self.pos, "epoch": self.epoch}

    def restore(self, position: dict) -> None:
        """Go back to a ``position()``; a position outside the streams raises ``DataError``."""
        pos, epoch = int(position["pos"]), int(position["epoch"])
        if not 0 <= pos <= self.stream_len:
            raise DataError(f"saved data position {pos} is outside the streams (length {self.stream_len})")
        self.pos, self.epoch = pos, epoch
