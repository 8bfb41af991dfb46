"""``tinygrad-seq bench``: one LSTM language-model training step, timed against hand-derived BPTT
(and, as config ``transformer``, one ``TransformerEncoderLayer`` training step against PyTorch's).

Workload: ``nn.LSTM`` over the sequence, a ``Linear`` head on every step, mean
cross-entropy, ``backward()``, an SGD update (once eagerly, once with forward and backward in ``tg.jit``).  Rows run interleaved (A B, B A, ...)
after warm-up; each row reports its median, its ratio to the hand-derived
row, peak traced memory of one step, and the achieved GFLOP/s of the matmuls.
PyTorch rows appear only when ``torch`` can be imported (it is never a dependency: set
``$TINYGRAD_SEQ_TORCH_PYTHON`` to a Python that has it), with the same thread count.  They
run in a separate, persistent process (``TorchWorker``), so that PyTorch's threads never share
a process with our rows; that process times one step of a PyTorch row each time it is asked,
and the rounds alternate our rows and its rows, so every ratio to a PyTorch row compares
medians taken in the same minutes (a slow spell of the machine lands on both sides).
"""
from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import nn, optim, reference

CONFIGS = {  # (B, T, I, H)
    "small": (1, 32, 16, 32),
    "medium": (32, 64, 64, 256),
    "large": (64, 128, 128, 512),
}
VOCAB = 64
JIT_ROW = "tinygrad_seq, step in tg.jit"     # forward and loss.backward() captured and replayed by tg.jit
CHARLM = dict(B=32, T=64, H=256, layers=2, vocab=100)
CHARRNN = dict(T=10, hidden=128, letters=59, categories=18)   # PyTorch's char-RNN generation tutorial
TORCH_PYTHON = "TINYGRAD_SEQ_TORCH_PYTHON"     # a Python that can import torch, for the PyTorch rows (default: ours)
TRANSFORMER = dict(B=32, T=64, d_model=256, nhead=8, dim_feedforward=1024)


def lstm_flops(B: int, T: int, I: int, H: int, V: int) -> float:
    """Matmul FLOPs of one training step (backward costs about twice the forward)."""
    fwd = 2 * T * B * (I * 4 * H + H * 4 * H + H * V)
    return 3.0 * fwd


# ---------------------------------------------------------------------------
# the rows: each is a factory returning a zero-argument "one training step"
# ---------------------------------------------------------------------------

def _whole_step_in_jit(forward: Callable) -> Any:
    """``forward(x, y)`` (a loss) and its ``loss.backward()`` as one function in ``tg.jit``: both replayed."""
    @tg.jit
    def forward_backward(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        loss = forward(x, y)
        loss.backward()
        return loss
    return forward_backward


def _tg_step(B: int, T: int, I: int, H: int, dtype: Any, jit: bool = False) -> Callable[[], float]:
    tg.manual_seed(0)
    tg.set_default_dtype(dtype)
    try:
        lstm, head = nn.LSTM(I, H), nn.Linear(H, VOCAB)
    finally:
        tg.set_default_dtype(np.float32)
    opt = optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=0.1)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((T, B, I)).astype(dtype))
    y = tg.tensor(rng.integers(0, VOCAB, T * B))

    def forward(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        out, _ = lstm(x)
        return nn.functional.cross_entropy(head(out).reshape(T * B, VOCAB), y)

    def step() -> float:
        loss = forward(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    if not jit:
        return step

    forward_backward = _whole_step_in_jit(forward)

    def jitted_step() -> float:
        opt.zero_grad()
        loss = forward_backward(x, y)
        opt.step()
        return loss.item()
    return jitted_step


def _reference_step(B: int, T: int, I: int, H: int, dtype: Any) -> Callable[[], float]:
    rng = np.random.default_rng(0)
    k = 1 / np.sqrt(H)
    P = {"weight_ih": rng.uniform(-k, k, (4 * H, I)), "weight_hh": rng.uniform(-k, k, (4 * H, H)),
         "bias_ih": rng.uniform(-k, k, 4 * H), "bias_hh": rng.uniform(-k, k, 4 * H),
         "V": rng.uniform(-k, k, (VOCAB, H)), "c": rng.uniform(-k, k, VOCAB)}
    P = {n: v.astype(dtype) for n, v in P.items()}
    x = rng.standard_normal((T, B, I)).astype(dtype)
    y = rng.integers(0, VOCAB, (T, B))

    def step() -> float:
        loss, grads = reference.lstm_bptt(x, y, P["weight_ih"], P["weight_hh"], P["bias_ih"], P["bias_hh"],
                                          P["V"], P["c"])
        for n, g in grads.items():
            P[n] -= dtype(0.1) * g
        return loss
    return step


def _torch_rows(B: int, T: int, I: int, H: int, dtype: Any) -> dict[str, Callable[[], float]]:
    try:
        import torch
    except ImportError:
        return {}
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(I, H).to(tdt), torch.nn.Linear(H, VOCAB).to(tdt)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.1)
    x = torch.randn(T, B, I, dtype=tdt)
    y = torch.randint(0, VOCAB, (T * B,))

    def fused() -> float:
        out, _ = lstm(x)
        loss = torch.nn.functional.cross_entropy(head(out).reshape(T * B, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    b = lstm.bias_ih_l0, lstm.bias_hh_l0

    def primitives() -> float:
        xw = x @ w_ih.T + (b[0] + b[1])
        h = torch.zeros(B, H, dtype=tdt)
        c = torch.zeros(B, H, dtype=tdt)
        hs = []
        for t in range(T):
            i, f, g, o = (xw[t] + h @ w_hh.T).chunk(4, 1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
            hs.append(h)
        loss = torch.nn.functional.cross_entropy(head(torch.stack(hs)).reshape(T * B, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return {"pytorch nn.LSTM (fused)": fused, "pytorch cell from primitives": primitives}


def _interleaved(rows: dict[str, Callable[[], float]], reps: int,
                 worker: TorchWorker | None = None) -> dict[str, list[float]]:
    """Time every row ``reps`` times, interleaved, rotating the order each round (A B C, B C A, C A B, ...)
    so that no row always runs right after the same neighbour (PyTorch's worker threads, for one,
    keep spinning for a moment after its step and would slow whichever row came next).

    The rows of ``worker`` (PyTorch's, in their own process) take their turns in the same rounds, each
    timed inside that process (so the pipe between the processes is not counted).  A row with fewer
    than ``reps`` times (the worker died) is left out of the result."""
    remote = list(worker.rows) if worker is not None else []
    names = list(rows) + remote
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(reps):
        for k in names[r % len(names):] + names[:r % len(names)]:
            if k in rows:
                t0 = time.perf_counter()
                rows[k]()
                times[k].append(time.perf_counter() - t0)
            else:
                seconds = worker.run(k)
                if seconds is not None:
                    times[k].append(seconds)
    return {k: ts for k, ts in times.items() if len(ts) == reps}


def _warm_up(rows: dict[str, Callable[[], float]], n: int) -> None:
    for step in rows.values():
        for _ in range(n):
            step()


def _peak_memory(step: Callable[[], float]) -> float:
    """Peak bytes traced by tracemalloc during one step (numpy reports its buffers to it)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def run_config(name: str, B: int, T: int, I: int, H: int, reps: int, dtype: Any) -> dict:
    """Time one configuration's rows (tinygrad_seq, hand-derived BPTT, PyTorch's when importable) interleaved;
    returns ``{"config", "B", "T", "I", "H", ..., "rows": {row: {"median_ms", "ratio", "gflops", "peak_mb"}}}``.

    Every row's ``ratio``, PyTorch's included, is its median over the hand-derived row's median of the
    same rounds (PyTorch's steps run in ``TorchWorker``'s process, in turn with ours); ``peak_mb`` is
    None for PyTorch's rows."""
    rows = {"tinygrad_seq": _tg_step(B, T, I, H, dtype),
            JIT_ROW: _tg_step(B, T, I, H, dtype, True),
            "hand-derived BPTT (numpy)": _reference_step(B, T, I, H, dtype)}
    with TorchWorker("config", [B, T, I, H, np.dtype(dtype).name], warmup=2) as worker:
        _warm_up(rows, 2)
        times = _interleaved(rows, reps, worker)
    flops = lstm_flops(B, T, I, H, VOCAB)
    ref = statistics.median(times["hand-derived BPTT (numpy)"])
    result = {"config": name, "B": B, "T": T, "I": I, "H": H, "vocab": VOCAB, "dtype": np.dtype(dtype).name,
              "reps": reps, "torch": any(k not in rows for k in times), "rows": {}}
    for k, ts in times.items():
        med = statistics.median(ts)
        result["rows"][k] = {"median_ms": med * 1e3, "ratio": med / ref, "gflops": flops / med / 1e9,
                             "peak_mb": _peak_memory(rows[k]) if k in rows else None}
    return result


# ---------------------------------------------------------------------------
# PyTorch's rows: one persistent process, asked for one timed step at a time
# ---------------------------------------------------------------------------

class TorchWorker:
    """PyTorch's rows of one benchmark, in a process of their own, run one step at a time on request.

    Starts ``$TINYGRAD_SEQ_TORCH_PYTHON`` (else this Python) on ``_serve``, asks it to build and
    warm up the PyTorch steps of ``kind`` (see ``_torch_steps``), and then, for ``run(row)``, to
    time one step of ``row``.  The protocol is one JSON object per line each way:

        {"build": kind, "args": [...], "warmup": n}  ->  {"rows": [row, ...]}   ([] without torch)
        {"run": row}                                 ->  {"seconds": s}         (perf_counter in the worker)
        {"quit": true}                               ->  (the worker exits)

    ``rows`` is empty when the process cannot start or cannot import torch; ``run`` returns None once
    the process is gone.  Use it in a ``with`` block: leaving the block stops the process."""

    def __init__(self, kind: str, args: list, warmup: int = 1) -> None:
        python = os.environ.get(TORCH_PYTHON) or sys.executable
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ,
                   PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
        self.rows: list[str] = []
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [python, "-c", "from tinygrad_seq import bench; bench._serve()"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        except OSError:
            self._proc = None
            return
        reply = self._ask({"build": kind, "args": args, "warmup": warmup}) or {}
        self.rows = [str(k) for k in reply.get("rows", [])]
        if not self.rows:
            self.close()

    def _ask(self, request: dict) -> dict | None:
        if self._proc is None:
            return None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            reply = json.loads(self._proc.stdout.readline())      # "" (the worker died) is a ValueError too
        except (OSError, ValueError):
            self.close()
            return None
        return reply if isinstance(reply, dict) else None

    def run(self, row: str) -> float | None:
        """Seconds of one step of ``row``, timed inside the worker; None when the worker is gone."""
        reply = self._ask({"run": row})
        return float(reply["seconds"]) if reply and "seconds" in reply else None

    def close(self) -> None:
        """Ask the worker to quit and wait for it (killed if it does not within 10 s)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.write(json.dumps({"quit": True}) + "\n")
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> TorchWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(requests: Any = None, replies: Any = None) -> None:
    """The worker's loop (``TorchWorker``'s process): answer one JSON request per line until "quit" or
    end of input.  Replies go to the real standard output; anything else printed there goes to stderr."""
    if replies is None:
        replies = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    steps: dict[str, Callable[[], float]] = {}
    for line in requests if requests is not None else sys.stdin:
        request = json.loads(line)
        if "build" in request:
            steps = _torch_steps(request["build"], request["args"])
            _warm_up(steps, request.get("warmup", 1))
            reply: dict = {"rows": list(steps)}
        elif "run" in request:
            step = steps[request["run"]]
            t0 = time.perf_counter()
            step()
            reply = {"seconds": time.perf_counter() - t0}
        else:
            break
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def _torch_steps(kind: str, args: list) -> dict[str, Callable[[], float]]:
    """In the worker: PyTorch's rows of ``kind`` (``config`` with args [B, T, I, H, dtype], ``charlm``,
    ``charrnn``, ``transformer``) with the package's thread count, or {} when torch cannot be imported."""
    try:
        import torch
    except ImportError:
        return {}
    from .blas import package_threads
    if package_threads():                # the same thread count as our rows (one by default)
        torch.set_num_threads(package_threads())
    if kind == "config":
        B, T, I, H, dtype = args
        return _torch_rows(B, T, I, H, np.dtype(dtype).type)
    if kind == "charrnn":
        return {"pytorch eager": _charrnn_step(torch)}
    if kind == "transformer":
        return {"pytorch nn.TransformerEncoderLayer": _transformer_step(torch)}
    if kind == "charlm":
        return {"pytorch nn.LSTM (fused)": _torch_charlm()}
    raise ValueError(f"unknown benchmark kind {kind!r}")


def run_charlm(reps: int) -> dict:
    """Characters per second of a 2-layer LSTM char-LM step with Adam, and of PyTorch's ``nn.LSTM`` step
    when torch is importable (timed in ``TorchWorker``'s process, in the same interleaved rounds)."""
    c = CHARLM
    B, T, H, L, V = c["B"], c["T"], c["H"], c["layers"], c["vocab"]
    tg.manual_seed(0)
    emb, lstm, head = nn.Embedding(V, H), nn.LSTM(H, H, num_layers=L), nn.Linear(H, V)
    params = [p for m in (emb, lstm, head) for p in m.parameters()]
    opt = optim.Adam(params, lr=2e-3)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, V, (T + 1, B))

    x, y = tg.tensor(idx[:-1]), tg.tensor(idx[1:].reshape(-1))

    def forward(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        out, _ = lstm(emb(x))
        return nn.functional.cross_entropy(head(out).reshape(T * B, V), y)

    forward_backward = _whole_step_in_jit(forward)

    def ours() -> float:
        loss = forward(x, y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        return loss.item()

    def jitted() -> float:
        opt.zero_grad()
        loss = forward_backward(x, y)
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        return loss.item()
    with TorchWorker("charlm", [], warmup=1) as worker:
        _warm_up({"jit": jitted}, 2)
        ours()
        times = _interleaved({"tinygrad_seq": ours, JIT_ROW: jitted}, reps, worker)
    rows = {k: statistics.median(ts) for k, ts in times.items()}
    return {"config": "charlm", **c, "rows": {k: {"median_ms": med * 1e3, "chars_per_s": B * T / med}
                                              for k, med in rows.items()}}


def _torch_charlm() -> Callable[[], float]:
    """The same char-LM step in PyTorch (run only inside the torch worker process)."""
    import torch
    c = CHARLM
    B, T, H, L, V = c["B"], c["T"], c["H"], c["layers"], c["vocab"]
    idx = np.random.default_rng(0).integers(0, V, (T + 1, B))
    torch.manual_seed(0)
    t_emb, t_lstm, t_head = torch.nn.Embedding(V, H), torch.nn.LSTM(H, H, num_layers=L), torch.nn.Linear(H, V)
    t_params = [p for m in (t_emb, t_lstm, t_head) for p in m.parameters()]
    t_opt = torch.optim.Adam(t_params, lr=2e-3)
    t_idx = torch.from_numpy(idx)

    def theirs() -> float:
        out, _ = t_lstm(t_emb(t_idx[:-1]))
        loss = torch.nn.functional.cross_entropy(t_head(out).reshape(T * B, V), t_idx[1:].reshape(-1))
        t_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(t_params, 5.0)
        t_opt.step()
        return loss.item()
    return theirs


def _transformer_step(lib: Any) -> Callable[[], float]:
    """One training step of a ``TransformerEncoderLayer`` (dropout 0.1, causal mask, MSE to a random target,
    SGD), written once for ``lib`` = tinygrad_seq or torch: the same program in both."""
    c = TRANSFORMER
    B, T, d = c["B"], c["T"], c["d_model"]
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(d, c["nhead"], c["dim_feedforward"])
    opt = lib.optim.SGD(layer.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((T, B, d)).astype(np.float32))
    y = lib.from_numpy(rng.standard_normal((T, B, d)).astype(np.float32))
    mask = lib.nn.Transformer.generate_square_subsequent_mask(T)

    def step() -> float:
        loss = lib.nn.functional.mse_loss(layer(x, src_mask=mask, is_causal=True), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def _charrnn_step(lib: Any) -> Callable[[], float]:
    """One training step of PyTorch's tutorial "Generating Names with a Character-Level RNN", written once
    for ``lib`` = tinygrad_seq or torch (the tutorial's code with its imports renamed): batch 1, hidden 128,
    one ``rnn(category, input[i], hidden)`` call per character (two ``cat``, three ``Linear``, dropout,
    log-softmax, NLL), ``backward()``, and the tutorial's hand-written SGD update."""
    c = CHARRNN
    T, hidden, n_letters, n_categories = c["T"], c["hidden"], c["letters"], c["categories"]
    nn = lib.nn

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = lib.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = lib.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return lib.zeros(1, self.hidden_size)

    lib.manual_seed(0)
    rnn = RNN(n_letters, hidden, n_letters)
    criterion = nn.NLLLoss()
    rng = np.random.default_rng(0)
    letters = rng.integers(0, n_letters, T + 1)
    category = lib.from_numpy(np.eye(n_categories, dtype=np.float32)[[3]])
    input_line_tensor = lib.from_numpy(np.eye(n_letters, dtype=np.float32)[letters[:-1]][:, None, :])
    target_line_tensor = lib.from_numpy(letters[1:, None].astype(np.int64))
    learning_rate = 0.0005

    def train() -> float:
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = 0
        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category, input_line_tensor[i], hidden)
            loss += criterion(output, target_line_tensor[i])
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return loss.item() / input_line_tensor.size(0)
    return train


def _against_pytorch(kind: str, step: Callable[[], float], theirs: str, reps: int, warmup: int,
                     settings: dict) -> dict:
    """Our ``step`` and PyTorch's row ``theirs`` of ``kind``, in the same interleaved rounds; ``x_pytorch`` is a
    row's median over PyTorch's median (PyTorch's step runs in ``TorchWorker``'s process)."""
    ours = {"tinygrad_seq": step}
    with TorchWorker(kind, [], warmup=warmup) as worker:
        _warm_up(ours, warmup)
        rows = {k: statistics.median(ts) for k, ts in _interleaved(ours, reps, worker).items()}
    ref = rows.get(theirs)
    return {"config": kind, **settings, "torch": ref is not None,
            "rows": {k: {"median_ms": med * 1e3, "x_pytorch": med / ref if ref else None} for k, med in rows.items()}}


def run_charrnn(reps: int) -> dict:
    """Time of one char-RNN tutorial training step (``_charrnn_step``), ours and PyTorch eager's."""
    return _against_pytorch("charrnn", _charrnn_step(tg), "pytorch eager", reps, 2, CHARRNN)


def run_transformer(reps: int) -> dict:
    """One TransformerEncoderLayer training step, ours and PyTorch's when importable."""
    return _against_pytorch("transformer", _transformer_step(tg), "pytorch nn.TransformerEncoderLayer", reps, 1,
                            TRANSFORMER)


def run_scaling(dtype: Any, lengths: tuple = (100, 1000, 10000), B: int = 4, I: int = 16, H: int = 32,
                reps: int = 5) -> dict:
    """Time and peak memory of one training step as T grows, ours and the hand-derived BPTT's
    (both should grow linearly).  All lengths and both rows run interleaved, so a slow spell of
    the machine does not land on one length only; medians of ``reps``."""
    rows: dict[str, Callable[[], float]] = {}
    for T in lengths:
        rows[f"tinygrad_seq {T}"] = _tg_step(B, T, I, H, dtype)
        rows[f"hand-derived {T}"] = _reference_step(B, T, I, H, dtype)
    for step in rows.values():          # warm-up
        step()
    times = _interleaved(rows, reps)
    out = {}
    for T in lengths:
        ours, ref = rows[f"tinygrad_seq {T}"], rows[f"hand-derived {T}"]
        out[T] = {"seconds": statistics.median(times[f"tinygrad_seq {T}"]), "peak_mb": _peak_memory(ours),
                  "reference_seconds": statistics.median(times[f"hand-derived {T}"]),
                  "reference_peak_mb": _peak_memory(ref)}
    return {"config": "scaling", "B": B, "I": I, "H": H, "reps": reps, "rows": out}


def run_memory_stability(steps: int = 1000) -> dict:
    """Traced memory held after 10 and after ``steps`` training steps, and peak memory of
    sampling 1,000 vs 10,000 steps under no_grad: both should stay flat."""
    step = _tg_step(*CONFIGS["small"], dtype=np.float32)
    gc.collect()
    tracemalloc.start()
    for _ in range(10):
        step()
    gc.collect()
    after_10 = tracemalloc.get_traced_memory()[0]
    for _ in range(steps - 10):
        step()
    gc.collect()
    after_n = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    tg.manual_seed(0)
    lstm = nn.LSTM(16, 32)
    x = tg.randn(1, 1, 16)

    def sample(n: int) -> float:
        gc.collect()
        tracemalloc.start()
        state = None
        with tg.no_grad():
            for _ in range(n):
                _, state = lstm(x, state)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak / 1e6
    return {"config": "memory", "steps": steps, "held_after_10_mb": after_10 / 1e6,
            "held_after_n_mb": after_n / 1e6, "sample_1000_peak_mb": sample(1000), "sample_10000_peak_mb": sample(10000)}


TARGET_CONFIGS = ["small", "medium", "large", "charlm", "charrnn"]


def targets(results: list[dict]) -> dict:
    """Issue 23's targets, read off the results of ``TARGET_CONFIGS``: {target: (measured, limit, "<=" or ">=")};
    measured is None when its row is missing (PyTorch not importable); limit None for a row shown for comparison."""
    by = {r["config"]: r for r in results}
    hand = "hand-derived BPTT (numpy)"

    def ratio(name: str, row: str) -> float | None:
        return by[name]["rows"][row]["ratio"] if name in by else None
    out: dict = {}
    for name, limit in (("small", 2.5), ("medium", 1.05), ("large", 1.05)):
        # the target: the step as tg.jit replays it (opt-in capture and replay); the eager step for comparison
        out[f"{name} step in tg.jit / hand-derived"] = (ratio(name, JIT_ROW), limit, "<=")
        out[f"{name} step eagerly / hand-derived (no target)"] = (ratio(name, "tinygrad_seq"), None, "")
    lm = by.get("charlm", {}).get("rows", {})
    theirs = lm.get("pytorch nn.LSTM (fused)")
    out["char-LM chars/s in tg.jit / PyTorch nn.LSTM's"] = (
        lm[JIT_ROW]["chars_per_s"] / theirs["chars_per_s"] if theirs and JIT_ROW in lm else None, 0.75, ">=")
    out["char-LM chars/s eagerly / PyTorch nn.LSTM's (no target)"] = (
        lm["tinygrad_seq"]["chars_per_s"] / theirs["chars_per_s"] if theirs else None, None, "")
    out["char-RNN tutorial step / PyTorch eager"] = (
        by["charrnn"]["rows"]["tinygrad_seq"]["x_pytorch"] if "charrnn" in by else None, 1.3, "<=")
    med = by.get("medium", {}).get("rows", {})
    out["medium step peak traced memory / hand-derived"] = (
        med["tinygrad_seq"]["peak_mb"] / med[hand]["peak_mb"] if med else None, 1.3, "<=")
    return out


def _pytorch_table(r: dict, title: str, ms_format: str) -> Any:
    """A rich table of one result made by ``_against_pytorch``: median ms and the ratio to PyTorch per row."""
    from rich.table import Table
    t = Table(title=title)
    for col in ("row", "median ms", "x PyTorch"):
        t.add_column(col, justify="right")
    for k, row in r["rows"].items():
        t.add_row(k, format(row["median_ms"], ms_format), f"{row['x_pytorch']:.2f}" if row["x_pytorch"] else "n/a")
    return t


def print_results(results: list[dict]) -> None:
    """Print one table per configuration (median ms, ratio to hand-derived BPTT, GFLOP/s, peak memory)."""
    from rich.console import Console
    from rich.table import Table
    console = Console()
    for r in results:
        if r["config"] == "scaling":
            t = Table(title=f"scaling in T (B={r['B']}, I={r['I']}, H={r['H']}), median of {r['reps']}, "
                            "lengths interleaved; hand = hand-derived BPTT; x = over the previous T")
            for col in ("T", "ours s", "x", "ours MB", "x", "hand s", "x", "hand MB", "x"):
                t.add_column(col, justify="right")
            prev = None
            for T, row in r["rows"].items():
                cells = [str(T)]
                for key, fmt in (("seconds", ".3f"), ("peak_mb", ".1f"), ("reference_seconds", ".3f"),
                                 ("reference_peak_mb", ".1f")):
                    cells += [format(row[key], fmt), f"{row[key] / prev[key]:.2f}x" if prev else ""]
                t.add_row(*cells)
                prev = row
        elif r["config"] == "memory":
            t = Table(title="memory stability (small config)")
            for col in ("measure", "MB"):
                t.add_column(col, justify="right")
            t.add_row("held after 10 training steps", f"{r['held_after_10_mb']:.3f}")
            t.add_row(f"held after {r['steps']} training steps", f"{r['held_after_n_mb']:.3f}")
            t.add_row("peak, sampling 1,000 steps under no_grad", f"{r['sample_1000_peak_mb']:.3f}")
            t.add_row("peak, sampling 10,000 steps under no_grad", f"{r['sample_10000_peak_mb']:.3f}")
        elif r["config"] == "transformer":
            t = _pytorch_table(r, f"TransformerEncoderLayer training step: d_model={r['d_model']}, nhead={r['nhead']}, "
                                  f"feed-forward {r['dim_feedforward']}, B={r['B']}, T={r['T']}, causal, SGD", ".1f")
        elif r["config"] == "targets":
            t = Table(title="issue 23's targets (one BLAS/torch thread per row; ratios from the tables above)")
            for col in ("target", "measured", "limit", ""):
                t.add_column(col, justify="right")
            for k, (value, limit, how) in r["rows"].items():
                ok = None if value is None or limit is None else (value <= limit if how == "<=" else value >= limit)
                t.add_row(k, "n/a" if value is None else f"{value:.2f}", "" if limit is None else f"{how} {limit}",
                          "" if limit is None else "n/a" if ok is None else "PASS" if ok else "FAIL")
        elif r["config"] == "charrnn":
            t = _pytorch_table(r, f"char-RNN tutorial step (PyTorch's 'generating names'): batch 1, hidden "
                                  f"{r['hidden']}, {r['T']} characters, one call per character", ".2f")
        elif r["config"] == "charlm":
            t = Table(title=f"char-LM step: 2-layer LSTM H={r['H']}, B={r['B']}, T={r['T']}, vocab {r['vocab']}, Adam")
            for col in ("row", "median ms", "chars/s"):
                t.add_column(col, justify="right")
            for k, row in r["rows"].items():
                t.add_row(k, f"{row['median_ms']:.1f}", f"{row['chars_per_s']:,.0f}")
        else:
            t = Table(title=f"{r['config']}: B={r['B']} T={r['T']} I={r['I']} H={r['H']} vocab={r['vocab']} "
                            f"{r['dtype']}, median of {r['reps']}")
            for col in ("row", "median ms", "x hand-derived", "GFLOP/s", "peak MB"):
                t.add_column(col, justify="right")
            for k, row in r["rows"].items():
                peak = f"{row['peak_mb']:.1f}" if row["peak_mb"] is not None else "n/a"
                t.add_row(k, f"{row['median_ms']:.2f}", f"{row['ratio']:.2f}", f"{row['gflops']:.1f}", peak)
        console.print(t)
    if any(r.get("torch") is False for r in results):
        console.print("torch is not importable: the PyTorch rows are skipped (it is never a dependency)")


def main(configs: list[str], reps: int, dtype: str, json_path: str | None, scaling: bool,
         show_targets: bool = False) -> int:
    """Run the named configurations (``small``, ``medium``, ``large``, ``charlm``), print the tables and,
    with ``json_path``, write the results as JSON; returns the exit code.  The BLAS thread count is the
    package's (one unless ``$TINYGRAD_SEQ_BLAS_THREADS`` says otherwise; see ``tinygrad_seq.blas``)."""
    from .blas import use_package_threads
    use_package_threads()
    dt = np.dtype(dtype).type
    results = []
    if show_targets:
        configs = list(dict.fromkeys([*configs, *TARGET_CONFIGS]))
    for name in configs:
        if name == "charrnn":
            results.append(run_charrnn(max(15, 3 * reps)))     # a step of milliseconds: more rounds, same cost
        elif name == "charlm":
            results.append(run_charlm(max(3, reps // 2)))
        elif name == "transformer":
            results.append(run_transformer(max(3, reps // 2)))
        else:
            results.append(run_config(name, *CONFIGS[name], reps=reps, dtype=dt))
    if scaling:
        results.append(run_scaling(dt))
        results.append(run_memory_stability())
    if show_targets:
        results.append({"config": "targets", "rows": targets(results)})
    print_results(results)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2, default=str)
    return 0
