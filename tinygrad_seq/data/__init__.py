"""Text data for character-level language models.

    from tinygrad_seq.data import load_text, split_text, CharVocab, Streams
    text, source = load_text(None)          # Python's bundled documentation topics (no download)
    train_text, val_text = split_text(text) # the last 5 % is held out for validation
    vocab = CharVocab.from_text(text)
    streams = Streams(vocab.encode(train_text), batch=32, seq_len=64)
    x, y, wrapped = streams.next_batch()    # (64, 32) inputs and next-character targets

Every problem with the input raises ``DataError`` with one clear line.
"""
from .corpus import (DataError, load_text, default_corpus, split_text, CharVocab, Streams,  # noqa: F401
                     min_text_length, VAL_FRACTION)

__all__ = ["DataError", "load_text", "default_corpus", "split_text", "CharVocab", "Streams",
           "min_text_length", "VAL_FRACTION"]
