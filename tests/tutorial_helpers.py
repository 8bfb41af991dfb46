"""Running tutorials from the tests: as a script (subprocess) and as a Jupyter notebook.

Both ways run in quick mode and return the values of the tutorial's ``RESULT`` line.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tinygrad_seq.tutorial import parse_result

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"


def env(quick: bool = False, cache: str | os.PathLike | None = None) -> dict:
    """The environment for a tutorial subprocess or notebook kernel: this checkout importable, no display,
    one BLAS thread, optionally quick; the results lessons leave for later lessons go to ``cache`` (a folder),
    or nowhere by default (``TINYGRAD_SEQ_CACHE=off``: each lesson computes everything itself, whatever ran before).

    One thread: on a shared, busy machine OpenBLAS's worker threads make the tutorials' small matmuls
    ~20x slower (measured: 64x64 @ 64x192 took 2 ms with threads vs 0.09 ms with one).
    """
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [e.get("PYTHONPATH")] if p])
    e["MPLBACKEND"] = "Agg"
    e["OPENBLAS_NUM_THREADS"] = "1"
    e["OMP_NUM_THREADS"] = "1"
    e.pop("TINYGRAD_SEQ_QUICK", None)
    e["TINYGRAD_SEQ_CACHE"] = "off" if cache is None else str(cache)
    if quick:
        e["TINYGRAD_SEQ_QUICK"] = "1"
    return e


def run_script(name: str, *args: str, stdin: str | None = None, timeout: float = 120,
               cache: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """``python tutorials/<name> <args>`` from the tutorials folder, output captured as text."""
    return subprocess.run([sys.executable, str(TUTORIALS / name), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=TUTORIALS, env=env(cache=cache))


def script_results(name: str, *args: str, timeout: float = 120, cache: str | os.PathLike | None = None) -> dict:
    """Run a tutorial with ``--quick`` (plus ``args``); assert it exits 0; return its RESULT values."""
    proc = run_script(name, "--quick", *args, timeout=timeout, cache=cache)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return parse_result(proc.stdout)


def notebook_results(name: str, timeout: float = 300, cache: str | os.PathLike | None = None) -> dict:
    """Convert a tutorial with jupytext, execute it with nbclient on an ipykernel kernel in quick mode.

    Returns the RESULT values printed by its cells, plus ``_images``: how many image outputs (SVG or PNG
    displays, e.g. the model diagrams) the cells produced. A cell that raises fails the test.
    """
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(TUTORIALS / name)
    saved = dict(os.environ)
    os.environ.update(env(quick=True, cache=cache))
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")
    results = parse_result(text)
    results["_images"] = sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
                             if out.get("output_type") in ("display_data", "execute_result")
                             and any(k.startswith("image/") for k in out.get("data", {})))
    return results
