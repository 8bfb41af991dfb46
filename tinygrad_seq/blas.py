"""How many threads numpy's BLAS uses while tinygrad_seq runs its own workloads.

A training step here is hundreds of small matrix products.  With several BLAS threads each product
is split across cores, and on a busy machine the threads spin and wait for each other: lesson 10 of
the tutorials took 946 s with the default environment on a loaded 2-core machine and 25.8 s with one
thread, with identical results.  So wherever the package runs a workload (``tinygrad-seq train``,
``sample``, ``eval``, ``bench``, the tutorial runner, a tutorial run as a script or in a notebook)
it uses one BLAS thread, unless you say otherwise:

    TINYGRAD_SEQ_BLAS_THREADS=4 tinygrad-seq train ...     # four threads
    TINYGRAD_SEQ_BLAS_THREADS=default python tutorials/05_lstm_gates.py   # leave BLAS as it is

    from tinygrad_seq.blas import blas_threads
    with blas_threads(2):                                   # in your own code, for one block
        ...

With ``threadpoolctl`` installed (``pip install "tinygrad-seq[threads]"``) the limit works for
OpenBLAS, MKL and BLIS alike; without it, OpenBLAS is asked directly through its C API, and failing
that ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` are set.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

__all__ = ["ENV", "package_threads", "set_blas_threads", "get_blas_threads", "blas_threads", "use_package_threads"]

ENV = "TINYGRAD_SEQ_BLAS_THREADS"
_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def package_threads() -> int | None:
    """The thread count the package uses: ``$TINYGRAD_SEQ_BLAS_THREADS`` (a whole number of at least 1),
    or ``None`` when it says ``default`` or ``0`` (leave BLAS alone); 1 when unset or unreadable."""
    raw = os.environ.get(ENV, "").strip().lower()
    if raw in ("default", "0", "none"):
        return None
    try:
        return max(1, int(raw)) if raw else 1
    except ValueError:
        return 1


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def _openblas_functions() -> tuple | None:
    """OpenBLAS's (get, set) thread-count C functions in this process, found in the loaded libraries."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line.split()[-1]}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get, put in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                         ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                         ("openblas_get_num_threads", "openblas_set_num_threads")):
            if hasattr(lib, get) and hasattr(lib, put):
                return getattr(lib, get), getattr(lib, put)
    return None


def get_blas_threads() -> int | None:
    """The BLAS thread count now in force (``None`` when it cannot be read)."""
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [i["num_threads"] for i in tpc.threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    fns = _openblas_functions()
    return int(fns[0]()) if fns else None


def set_blas_threads(n: int) -> int | None:
    """Ask numpy's BLAS to use ``n`` threads; returns the previous count (``None`` if it cannot be set).

    Through ``threadpoolctl`` when installed (OpenBLAS, MKL, BLIS), else OpenBLAS's own C API; when
    neither can act, the ``*_NUM_THREADS`` environment variables are set (unless already set), which
    child processes and a BLAS loaded later will read.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"set_blas_threads: n must be at least 1, got {n}")
    prev = get_blas_threads()
    tpc = _threadpoolctl()
    if tpc is not None:
        tpc.threadpool_limits(limits=n, user_api="blas")
        return prev
    fns = _openblas_functions()
    if fns is None:
        for var in _ENV_VARS:
            os.environ.setdefault(var, str(n))
        return None
    fns[1](n)
    return prev


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[int | None]:
    """``with blas_threads(1): ...`` runs the block with ``n`` BLAS threads and restores the count after
    (``None``: leave it alone).  Yields the count in force."""
    if n is None:
        yield get_blas_threads()
        return
    prev = set_blas_threads(n)
    try:
        yield n
    finally:
        if prev:
            set_blas_threads(prev)


def use_package_threads() -> int | None:
    """Set the package's thread count (``package_threads()``) for the rest of the process; returns it."""
    n = package_threads()
    if n is not None:
        set_blas_threads(n)
    return n
