"""Deferring the cyclic garbage collector's full passes while a large graph is built or walked.

Python's collector scans young objects often; what survives moves to older
generations, and a *full* collection, which re-scans every old object, runs
each time the old generation has grown by a quarter.  A graph growing one op
at a time (an unrolled RNN: hundreds of thousands of nodes) keeps setting that
off: about five extra scans of the whole graph, by then far out of cache,
which made a 10,000-step RNN grow faster than linearly in T.  Neither building
nor walking a graph creates reference cycles, so nothing is lost by waiting:
inside ``full_gc_deferred()`` only the cheap young collections run, and the
deferred full one comes later, usually after ``backward`` has freed the graph.
Reference counting frees everything as usual.

Use it as a context manager or as a decorator.  Blocks may nest or overlap
(threads): the first one in defers, the last one out restores the thresholds.
"""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Any

__all__ = ["full_gc_deferred"]


class _Deferral:
    lock = threading.RLock()
    depth = 0
    saved: tuple = ()


class full_gc_deferred(contextlib.ContextDecorator):
    """``with full_gc_deferred():`` or ``@full_gc_deferred()``: no full collections inside."""

    def __enter__(self) -> None:
        with _Deferral.lock:
            if _Deferral.depth == 0:
                _Deferral.saved = gc.get_threshold()
                gc.set_threshold(_Deferral.saved[0], _Deferral.saved[1], 1 << 30)
            _Deferral.depth += 1

    def __exit__(self, *exc: Any) -> None:
        with _Deferral.lock:
            _Deferral.depth -= 1
            if _Deferral.depth == 0:
                gc.set_threshold(*_Deferral.saved)
