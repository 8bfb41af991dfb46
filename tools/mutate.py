"""A small mutation check: plant curated, plausible bugs one at a time and see whether the tests notice.

Run from the repository root (no install, no dependency beyond pytest and hypothesis):

    python tools/mutate.py              # every mutant, prints killed/survived and the score
    python tools/mutate.py --list       # the mutants, one a line
    python tools/mutate.py gru-swap-update-gate adam-no-bias-correction    # only these
    python tools/mutate.py --jobs 2     # two mutants at a time (each in its own copy)

Each mutant is (id, file, original snippet, replacement, what bug it plants,
tests to run).  The repository's ``tinygrad_seq/``, ``tests/`` and config files
are copied to a temporary directory; the working tree is never modified.  The
unmutated copy must pass the chosen tests first (the baseline).  Then, for each
mutant, its file in the copy gets the one replacement and the tests run with
``python -m pytest -x -q -p no:cacheprovider``: a failure (or a timeout) kills
the mutant, a pass means it survived.  The file is restored before the next one.

The check is honest about code changes: before anything runs, every original
snippet must occur exactly once in its file, or the script stops with exit code 2
naming the stale mutants (update the snippet, or the mutant, with the code).

A mutant that no test can kill because it changes no behaviour (an equivalent
mutant) stays in the list with ``equivalent=`` saying why; it is not run or
scored unless named by id.  Every other survivor needs a test that kills it.

Exit code: 0 if every mutant was killed, 1 if any survived, 2 on a stale or
broken setup.  Hypothesis runs with the reproducible ``ci`` profile.
The slow learning tests (tests/test_learning.py) and the notebook runs
(tests/test_tutorials.py) are not used.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIGHER = ("tests/test_higher_order.py", "tests/test_forward_ad.py", "tests/test_functional.py",
          "tests/test_recurrent_higher_order.py")

# the tests each source file is checked by, fastest and most direct first (-x stops at the first failure)
ENGINE = ("tests/test_tensor.py", "tests/test_ops.py", "tests/test_inplace.py")
OPS = ("tests/test_ops.py", "tests/test_tensor.py")
CELLS = ("tests/test_recurrent.py", "tests/test_nn.py", "tests/test_packing.py")
LOSSES = ("tests/test_losses.py", "tests/test_nn.py")      # nn.Embedding calls F.embedding
OPTIM = ("tests/test_optim.py", "tests/test_module_api.py",   # zero_grad and clipping are tested in both
         "tests/test_pytorch_semantics_optim.py")


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    original: str
    replacement: str
    bug: str
    tests: tuple
    equivalent: str = ""        # why no test can tell it apart; such mutants are listed, not scored


def M(id: str, file: str, original: str, replacement: str, bug: str, tests: tuple | None = None,  # noqa: A002
      equivalent: str = "") -> Mutant:
    default = {"tinygrad_seq/tensor.py": ENGINE, "tinygrad_seq/ops.py": OPS,
               "tinygrad_seq/nn/recurrent.py": CELLS, "tinygrad_seq/nn/functional.py": LOSSES,
               "tinygrad_seq/lazygrad.py": ENGINE, "tinygrad_seq/autograd/__init__.py": ENGINE,
               "tinygrad_seq/nn/utils/clip_grad.py": OPTIM}.get(file, OPTIM)
    return Mutant(id, file, original, replacement, bug, tuple(tests or default), equivalent)


T, O, R, F, U = ("tinygrad_seq/tensor.py", "tinygrad_seq/ops.py", "tinygrad_seq/nn/recurrent.py",
                 "tinygrad_seq/nn/functional.py", "tinygrad_seq/nn/utils/clip_grad.py")
LG = "tinygrad_seq/lazygrad.py"
OPT, SCHED = "tinygrad_seq/optim/optimizers.py", "tinygrad_seq/optim/lr_scheduler.py"

MUTANTS = [
    # --- the engine: accumulation, laziness, dtypes -------------------------------------------
    M("accumulate-overwrites", LG, "            prev += g\n", "            prev[...] = g\n",
      "gradient accumulation overwrites instead of adding (a tensor read twice)"),
    M("leaf-grad-overwrites", "tinygrad_seq/autograd/__init__.py", "    old = leaf._grad\n    if old is None:\n",
      "    old = None\n    if old is None:\n", "a second backward() replaces .grad instead of accumulating"),
    M("scatter-overwrites", LG, "            buf[index] += value", "            buf[index] = value",
      "overlapping slice gradients overwrite each other"),
    M("productsum-keeps-last", LG, "out = np.dot(np.concatenate(self.lhs).T, np.concatenate(self.rhs))",
      "out = np.dot(self.lhs[-1].T, self.rhs[-1])", "a weight used at several steps keeps only the last step's gradient"),
    M("lazy-merge-overwrites", LG, "            prev.merge(g)", "            self.sums[key] = g",
      "merging lazy gradients drops the earlier ones"),
    M("lift-float64", T, "        dt = like.array.dtype\n", "        dt = np.dtype(np.float64)\n",
      "Python numbers promote float32 tensors to float64"),
    M("leaf-grad-dtype-unchecked", "tinygrad_seq/autograd/__init__.py", "    if g.dtype != leaf.array.dtype:", "    if False:",
      "a leaf's gradient may come back in another dtype than the leaf"),
    M("grad-aliases-caller", LG, "        return g if key in self.owned else np.array(g)",
      "        return g", ".grad aliases an array the caller passed to backward()"),
    # --- ops: the VJPs ------------------------------------------------------------------------
    M("sub-vjp-sign", O, "            return g, (-g if self.needs_input_grad[1] else None)",
      "            return g, (g if self.needs_input_grad[1] else None)", "wrong sign in the VJP of a - b"),
    M("div-vjp-sign", O, "unbroadcast(-ga * (a / b), b.shape)", "unbroadcast(ga * (a / b), b.shape)",
      "wrong sign in the VJP of a / b with respect to b"),
    M("mul-vjp-wrong-factor", O, "unbroadcast(g * a, b.shape)", "unbroadcast(g * b, b.shape)",
      "d(a b)/db uses b instead of a"),
    M("matmul-untransposed", O, "da = g.reshape(-1, g.shape[-1]) @ b2.T", "da = g.reshape(-1, g.shape[-1]) @ b2",
      "transposed operand in the matmul VJP (invisible in shape when b is square, as W_hh is)"),
    M("matmul-batched-untransposed", O, "da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)",
      "da = unbroadcast(g @ b2, a2.shape)", "transposed operand in the batched matmul VJP"),
    M("tanh-vjp-plus", O, "        d = xp.subtract(1, d, out=d)", "        d = np.add(1, d, out=d)",
      "tanh' = 1 + y^2 instead of 1 - y^2"),
    M("sigmoid-vjp-missing-y", O, "        d *= y\n        d *= g", "        d *= g",
      "sigmoid' = 1 - y instead of y (1 - y)"),
    M("log-vjp-times", O, "        return (g / self.saved,)", "        return (g * self.saved,)",
      "log' = x instead of 1 / x"),
    M("pow-exponent-vjp", O, "gb = unbroadcast(g * xp.where(pos, y, 0) * xp.log(xp.where(pos, a, 1)), b.shape)",
      "gb = unbroadcast(g * xp.log(xp.where(pos, a, 1)), b.shape)", "d(a^b)/db forgets the factor a^b"),
    M("softplus-vjp-sign", O, "        return (g * xp.sigmoid(self.saved),)", "        return (g * xp.sigmoid(-self.saved),)",
      "softplus' = sigmoid(-x)"),
    M("unbroadcast-mean", O, "        g = g.sum(axis=stretched, keepdims=True)", "        g = g.mean(axis=stretched, keepdims=True)",
      "broadcast size-1 axes average instead of summing their gradients"),
    M("mean-vjp-n-minus-1", O, "_regrow(g, shape, axes, keep) / max(n, 1)", "_regrow(g, shape, axes, keep) / max(n - 1, 1)",
      "mean's VJP divides by n - 1"),
    M("var-vjp-factor", O, "(np.float64(2) / denom).astype(d.dtype) * d", "(np.float64(1) / denom).astype(d.dtype) * d", "var's VJP loses the factor 2"),
    M("logsumexp-vjp", O, "        return (_regrow(g, p.shape, axes, keep) * p,)",
      "        return (_regrow(g, p.shape, axes, keep) * (1 - p),)", "logsumexp's VJP is not softmax"),
    M("bce-grad-unclamped", O, "gp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)", "gp = g * (p - y) / (p * (1 - p))",
      "BCE's gradient divides by p (1 - p) unclamped: inf/nan at p = 0 or 1 (PyTorch clamps at 1e-12)",
      ("tests/test_extremes.py", "tests/test_losses.py")),
    M("getitem-repeated-overwrite", O, "    np.add.at(out, index, g)", "    out[index] = g",
      "repeated indices do not accumulate (x[[0, 0]])"),
    M("max-ties-full-gradient", O, "return (hit * (g / hit.sum(axis=axes, keepdims=True)),)", "return (hit * g,)",
      "max/min send the full gradient to every tied element"),
    M("maximum-ties-to-one-side", O, "wa = self.wins(a, b) + 0.5 * (a == b)\n        return (unbroadcast",
      "wa = self.wins(a, b) + 1.0 * (a == b)\n        return (unbroadcast",
      "maximum/minimum give a tie's whole gradient to the first input"),
    M("relu-grad-at-zero", O, "        return (g * (self.saved > 0),)", "        return (g * (self.saved >= 0),)",
      "relu passes the gradient at exactly 0 (PyTorch: relu'(0) = 0)"),
    M("abs-grad-at-zero", O, "        return (g * xp.sign(self.saved),)", "        return (g * xp.where(self.saved >= 0, 1.0, -1.0),)",
      "abs'(0) = 1 instead of PyTorch's 0"),
    M("cast-vjp-keeps-dtype", O, "        return (xp.astype(g, self.ctx),)", "        return (g,)",
      "a cast's VJP leaves the gradient in the cast-to dtype"),
    # --- recurrent cells and layers -----------------------------------------------------------
    M("gru-swap-update-gate", R, "    return n + z * (h - n)", "    return h + z * (n - h)",
      "GRU update with the gate's roles swapped: h + z (n - h)"),
    M("gru-reset-on-whole-sum", R, "    n = (xn + r * hn).tanh()", "    n = (r * (xn + hn)).tanh()",
      "GRU reset gate applied to the input part too"),
    M("gru-b-hn-outside-reset", R, "    return xw + (b_ih + b_hh if kind.b_hh_in_projection else b_ih)",
      "    return xw + (b_ih + b_hh)",
      "GRU adds b_hh to the input projection as well (b_hn ends up outside r)"),
    M("lstm-swap-input-forget", R, "    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()",
      "    c_new = i.sigmoid() * c + f.sigmoid() * g.tanh()", "LSTM input and forget gates swapped"),
    M("lstm-gate-order", R, "    i, f, g, o = (xw + h @ w_hh_t).chunk(4, -1)",
      "    i, f, o, g = (xw + h @ w_hh_t).chunk(4, -1)", "LSTM gate order i, f, o, g instead of PyTorch's i, f, g, o"),
    M("rnn-relu-ignored", R, "(rnn_step(xw, s[0], w, Tensor.relu),)", "(rnn_step(xw, s[0], w, Tensor.tanh),)",
      "nonlinearity='relu' runs tanh"),
    M("reverse-runs-forward", R, "for t in (range(T) if direction == 0 else range(T - 1, -1, -1)):",
      "for t in range(T):", "the reverse direction of a bidirectional layer reads the sequence forwards"),
    M("lengths-state-not-held", R, "state = tuple(where(m, n, s) for n, s in zip(new, state))", "state = new",
      "past a sequence's end its RNN/GRU state keeps updating"),
    M("dropout-after-last-layer", R, "if self.dropout and self.training and layer < self.num_layers - 1:",
      "if self.dropout and self.training:", "inter-layer dropout also applied to the last layer's output"),
    M("reference-gru-no-direct-path", "tinygrad_seq/reference.py", "        dh_next = dh * z + dha[t] @ W_hh",
      "        dh_next = dha[t] @ W_hh", "the hand-derived GRU BPTT forgets the z h path (the reference is checked too)",
      ("tests/test_recurrent.py",)),
    # --- losses -------------------------------------------------------------------------------
    M("ce-label-smoothing-mix", F, "    return nll * (1 - label_smoothing) + smooth * label_smoothing",
      "    return nll + smooth * label_smoothing", "label smoothing adds the uniform term without down-weighting"),
    M("nll-mean-counts-ignored", F, "picked.sum() / max(int(valid.sum()), 1)", "picked.sum() / picked.shape[0]",
      "mean nll divides by all targets, ignored ones included"),
    M("bce-pos-weight", F, "        L = 1 + (w - 1) * y", "        L = w * y",
      "pos_weight form drops the negatives' log-sigmoid term"),
    M("mse-is-l1", F, "    return _reduce(d * d, reduction)", "    return _reduce(d.abs(), reduction)",
      "mse computes |d|"),
    M("ctc-skips-repeats", F, "skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])",
      "skip[:, 2:] = ext[:, 2:] != blank", "CTC may skip the blank between two equal labels"),
    M("ctc-mean-no-length", F, "return (loss / Tensor._wrap(np.maximum(tg_len, 1).astype(dtype))).mean()",
      "return loss.mean()", "CTC 'mean' does not divide by target lengths"),
    M("embedding-padding-gets-grad", "tinygrad_seq/ops.py",
      "        if pad is None:\n            return (xp.add_at(shape, indices, g), None)",
      "        if True:\n            return (xp.add_at(shape, indices, g), None)",
      "the padding row of an embedding receives gradient", ("tests/test_nn.py", "tests/test_op_params.py")),
    # --- optimizers, schedulers, clipping -------------------------------------------------------
    M("adam-no-bias-correction", OPT, "        p.array -= (lr / (1 - b1 ** t)) * m / denom",
      "        p.array -= lr * m / denom", "Adam without the first moment's bias correction"),
    M("adam-no-v-bias-correction", OPT, "denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps",
      "denom = np.sqrt(v) + eps", "Adam without the second moment's bias correction"),
    M("adamw-coupled", OPT, "                p.array *= 1 - lr * wd", "                grad = grad + wd * p.array",
      "AdamW decays through the gradient (plain Adam L2)"),
    M("amsgrad-ignored", OPT, '            v = state["max_exp_avg_sq"]', "            pass",
      "amsgrad keeps the maximum but does not use it"),
    M("zero-grad-keeps-values", "tinygrad_seq/functions.py",
      "                p.grad.zero_()", "                pass",
      "zero_grad(set_to_none=False) leaves the old gradients"),
    M("sgd-nesterov-ignored", OPT, 'grad = grad + mu * buf if group["nesterov"] else buf', "grad = buf",
      "nesterov=True does plain momentum"),
    M("sgd-dampening-ignored", OPT, '                buf += (1 - group["dampening"]) * grad', "                buf += grad",
      "SGD momentum ignores dampening"),
    M("rmsprop-centered-ignored", OPT, "            avg = np.sqrt(v - m * m) + eps", "            avg = np.sqrt(v) + eps",
      "centered RMSprop does not subtract the mean's square"),
    M("adagrad-lr-decay-off-by-one", OPT, '(1 + (state["step"] - 1) * group["lr_decay"])',
      '(1 + state["step"] * group["lr_decay"])', "Adagrad decays the learning rate from the first step"),
    M("steplr-off-by-one", SCHED, "self.last_epoch % self.step_size != 0",
      "(self.last_epoch + 1) % self.step_size != 0", "StepLR decays one epoch early"),
    M("steplr-not-chainable", SCHED, """            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)""",
      """            return self._get_closed_form_lr()
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)""",
      "StepLR sets its closed form, overriding a hand-set lr and other schedulers",
      ("tests/test_pytorch_semantics_optim.py",)),
    M("plateau-cooldown-ignored", SCHED, "            self.cooldown_counter = self.cooldown\n",
      "            self.cooldown_counter = 0\n", "ReduceLROnPlateau forgets its cooldown after a reduction",
      ("tests/test_pytorch_semantics_optim.py",)),
    M("state-dict-copies", "tinygrad_seq/nn/module.py", "out[k] = v if keep_vars else v.detach()",
      "out[k] = v if keep_vars else v.clone()", "state_dict() values are copies, not sharing the parameters' memory",
      ("tests/test_pytorch_semantics_nn.py", "tests/test_nn.py")),
    M("backward-hook-return-ignored", "tinygrad_seq/nn/module.py",
      "            res, replaced = tuple(out), True\n        self.grad_outputs = None",
      "            res, replaced = tuple(out), False\n        self.grad_outputs = None",
      "the grad_input a full backward hook returns is ignored", ("tests/test_pytorch_semantics_nn.py",)),
    M("lstm-projection-truncates", R, "return (h_new if w_hr_t is None else h_new @ w_hr_t), c_new",
      "return (h_new if w_hr_t is None else h_new[..., :w_hr_t.shape[1]]), c_new",
      "LSTM(proj_size=) keeps the first features instead of projecting", ("tests/test_pytorch_semantics_nn.py",)),
    M("clip-norm-always-2", U, "    norm_type = float(norm_type)\n    total", "    norm_type = 2.0\n    total",
      "clip_grad_norm_ computes the 2-norm whatever norm_type says"),
    M("clip-per-parameter-inf", U, "    total = _vector_norm(np.array([_vector_norm(p.grad.array, norm_type) for p in params]), norm_type)",
      "    total = sum(_vector_norm(p.grad.array, norm_type) for p in params)",
      "clip_grad_norm_ adds the per-parameter norms instead of taking their norm"),
    M("clip-to-float64", U, "            p.grad = Tensor._wrap(g * g.dtype.type(scale))",
      "            p.grad = Tensor._wrap(g * np.float64(scale))", "clipping turns float32 gradients into float64"),
    M("clip-no-epsilon", U, "    scale = max_norm / (total + 1e-6)", "    scale = max_norm / total",
      "clip coefficient without PyTorch's 1e-6"),
    # --- the engine after the rewrite: in-place changes, the stale-graph check, 0-d results ------------
    M("stale-check-never-runs", "tinygrad_seq/autograd/__init__.py",
      "        if node.epoch != epoch:                 # changed in place, or freed, since it was recorded",
      "        if False:", "backward never checks for saved arrays changed in place (a stale graph goes unnoticed)",
      ("tests/test_inplace.py", "tests/test_tensor.py")),
    M("stale-check-ignores-epoch", "tinygrad_seq/autograd/__init__.py", "if entry is not None and entry[0]() is buf and entry[1] > node.epoch:",
      "if entry is not None and entry[0]() is buf:",
      "a change made before the node was recorded also counts as stale (an optimizer step, then forward, raises)",
      ("tests/test_inplace.py", "tests/test_optim.py")),
    M("inplace-direct-not-marked", "tinygrad_seq/_inplace.py", "        mark_modified(self)\n        return self\n\n    def _inplace_binary",
      "        return self\n\n    def _inplace_binary",
      "an in-place op on the direct path (no_grad, or no gradient flowing) is not marked modified",
      ("tests/test_inplace.py", "tests/test_tensor.py")),
    M("apply-0d-not-array", T,
      "        if type(out) is not _ndarray:            # numpy returns scalars for 0-d results: keep arrays\n"
      "            out = np.asarray(out)\n", "",
      "a 0-d result (x.sum()) keeps numpy's scalar instead of a 0-d ndarray"),
    M("max-dim-splits-ties", T, "values = self.gather(d, Tensor._wrap(idx)) if self.ndim else self",
      "values = op.apply(self, axis=(d,), keepdims=True) if self.ndim else self",
      "max(dim) splits a tie's gradient (amax's rule) instead of sending it all to the returned index",
      ("tests/test_ops.py", "tests/test_tensor.py")),
    M("logsoftmax-vjp-no-sum", O, "        return (g - xp.exp(y) * xp.sum(g, axis=axis, keepdims=True),)",
      "        return (g - xp.exp(y),)", "log_softmax's VJP drops the sum(g) factor (right only when g sums to 1)",
      ("tests/test_ops.py", "tests/test_losses.py", "tests/test_tensor.py")),
    M("softmax-vjp-no-sum", O, "        return (y * (g - xp.sum(g * y, axis=axis, keepdims=True)),)",
      "        return (y * g,)", "softmax's VJP forgets the - sum(g y) term (the diagonal of the Jacobian only)"),
    M("gradcheck-reaches-always", "tinygrad_seq/gradcheck.py", "    wanted = {id(t) for t in tensors}\n",
      "    return True\n", "gradcheck passes a function whose output reads none of the checked tensors",
      ("tests/test_inplace.py", "tests/test_ops.py")),
    # --- higher order and forward mode (issue 21) ---------------------------------------------------
    M("jvp-div-sign", O, "            return (ta - tb * (a / b)) / b", "            return (ta + tb * (a / b)) / b",
      "the JVP of a / b adds the divisor's term instead of subtracting it", HIGHER),
    M("recorded-output-constant", "tinygrad_seq/autograd/__init__.py",
      'node if what == "out" else node.inputs[what]', 'None if what == "out" else node.inputs[what]',
      "a recorded VJP reads the op's saved output as a constant: second-order terms through it vanish", HIGHER),
    M("recorded-sums-overwrite", "tinygrad_seq/autograd/__init__.py",
      "        self[key] = g if prev is None else prev + g", "        self[key] = g",
      "a recorded backward keeps only the last contribution to a gradient", HIGHER),
    M("derived-softmax-constant", O, "        return derived(Softmax, self.inputs, self.saved, ctx=self.ctx[0], saved=self.saved)",
      "        return self.saved", "logsumexp's recorded VJP treats softmax(x) as a constant", HIGHER),
    M("dual-inplace-tangent-stale", "tinygrad_seq/_inplace.py", "            fw.set_tangent(t, tangent)\n",
      "", "an in-place op leaves the tangent as it was", HIGHER),
    M("forward-over-reverse-lost", "tinygrad_seq/autograd/__init__.py",
      "                forward_ad.set_tangent(t, forward_ad.tangent_of_source(src))", "                pass",
      "a recorded backward in a dual level drops the tangents of the saved values", HIGHER),
    # --- equivalent mutants: kept to show the rule, never scored ----------------------------------
    M("unbroadcast-no-shortcut", O, "    if g.shape == shape:\n        return g\n", "",
      "unbroadcast without its early return for equal shapes",
      equivalent="the general path sums over no axes when the shapes already match and returns g unchanged: "
                 "only slower, no value or dtype differs"),
    M("stale-check-every-node", "tinygrad_seq/autograd/__init__.py",
      "        if node.epoch != epoch:                 # changed in place, or freed, since it was recorded",
      "        if True:", "backward checks every node's saved arrays, not only nodes older than the last in-place change",
      ("tests/test_inplace.py", "tests/test_tensor.py"),
      equivalent="_check_saved itself raises only for a buffer changed after the node's epoch, and no change can "
                 "be later than the current epoch, so for an up-to-date node it never raises: only slower"),
]


# ---------------------------------------------------------------------------
# Blind round (issue 25): bugs written from the package code alone, before its tests or the list above
# were read (tools/blind_mutants.txt is that list as written).  Ids start with "b-".  Patterns are short
# so they are easy to re-anchor when the engine moves; the engine files are tensor.py, ops.py, _state.py, _args.py,
# autograd.py and lazygrad.py.  Each runs the tests of its area (files that do not exist are skipped).
# ---------------------------------------------------------------------------
NEW = ("tests/test_autograd_options.py",)                  # the new tests first: -x stops at the first failure
AUTOGRAD = (*NEW, "tests/test_tensor.py", "tests/test_inplace.py", "tests/test_bad_input.py")
ENGINE_B = (*NEW, "tests/test_op_params.py", *ENGINE)      # tensor.py holds norm, dims, unsqueeze, ...
OPS_B = ("tests/test_op_params.py", *OPS, "tests/test_losses.py")
CELLS_B = ("tests/test_recurrent_states.py", *CELLS)
LOSSES_B = ("tests/test_op_params.py", *LOSSES)
OPTIM_STALE = (*NEW, *OPTIM, "tests/test_inplace.py")
MAIN_JOB = ("tests/test_main_job.py", "tests/test_cli.py", "tests/test_charlm.py")
SERIAL = ("tests/test_main_job.py", "tests/test_module_api.py", "tests/test_charlm.py", "tests/test_bad_input.py")
CORPUS = ("tests/test_main_job.py", "tests/test_data.py", "tests/test_charlm.py")
MODULE = ("tests/test_module_api.py", "tests/test_nn.py")

BLIND = [
    M('b-backward-leaf-output-ignores-inputs', "tinygrad_seq/autograd/__init__.py",
      'if o.grad_fn is None and (only is None or o in only):',
      'if o.grad_fn is None:',
      'backward(inputs=) still accumulates into a leaf output that is not in inputs', AUTOGRAD),
    M('b-grad-retain-graph-always', "tinygrad_seq/autograd/__init__.py",
      '[s for _, s in graph], bool(retain_graph), capture=capture)',
      '[s for _, s in graph], True, capture=capture)',
      'autograd.grad never frees the graph (retain_graph ignored)', AUTOGRAD),
    M('b-backward-retain-graph-always', "tinygrad_seq/autograd/__init__.py",
      '[s for _, s in graph], bool(retain_graph), capture=only)',
      '[s for _, s in graph], True, capture=only)',
      'backward never frees the graph (retain_graph ignored)', AUTOGRAD),
    M('b-grad-allow-unused-inverted', "tinygrad_seq/autograd/__init__.py",
      'if g is None and not allow_unused:',
      'if g is None and allow_unused:',
      'allow_unused flag inverted', AUTOGRAD),
    M('b-backward-leaf-seed-ignored', "tinygrad_seq/autograd/__init__.py",
      'accumulate_leaf(o, s if create_graph else s.copy())',
      'accumulate_leaf(o, np.ones_like(s))',
      "a leaf output's gradient is 1, not the given grad_tensors", AUTOGRAD),
    M('b-grad-touches-leaf-grads', "tinygrad_seq/autograd/__init__.py",
      '        if capture is None:\n            accumulate_leaf(leaf, g)\n        elif leaf in capture:\n            capture[leaf] = g\n',
      '        if capture is not None and leaf in capture:\n            capture[leaf] = g\n        accumulate_leaf(leaf, g)\n',
      "autograd.grad also accumulates into every leaf's .grad", ENGINE_B),
    M('b-backward-inputs-not-limiting', "tinygrad_seq/autograd/__init__.py",
      'bool(retain_graph), capture=only)',
      'bool(retain_graph), capture=None)',
      "backward(inputs=...) fills every leaf's .grad", AUTOGRAD),
    M('b-grad-nonleaf-after-hooks', "tinygrad_seq/autograd/__init__.py",
      '        self.before_hooks = self._reaching_another_target() if self.wanted else ()\n',
      '        self.before_hooks = ()\n',
      "autograd.grad w.r.t. a non-leaf returns its gradient after the tensor's hooks even with another wanted "
      "tensor below it (then PyTorch returns it before them); re-anchored from tensor.py's capture-then-hooks "
      "order to autograd.Observer's choice of the nodes captured before their hooks", ENGINE_B),
    M('b-stale-off-by-one', "tinygrad_seq/autograd/__init__.py",
      'entry[1] > node.epoch:',
      'entry[1] > node.epoch + 1:',
      'a change made right after a node was recorded is not seen as stale', ENGINE_B),
    M('b-stale-view-one-level', "tinygrad_seq/_state.py",
      '    while isinstance(a.base, np.ndarray):\n        a = a.base',
      '    if isinstance(a.base, np.ndarray):\n        a = a.base',
      'a view of a view is not traced to its buffer', ENGINE_B,
      equivalent="numpy collapses chains of views: a view's .base is the array that owns the memory (or a "
                 "non-ndarray owner such as as_strided's DummyArray), never another view, so one step up reaches "
                 "the same buffer as the loop (checked for slices of slices, transposes, broadcast_to, reshape, "
                 "expand_dims and as_strided)"),
    M('b-inplace-operand-grad-ignored', "tinygrad_seq/_inplace.py",
      'if State.grad_enabled and (self.requires_grad or (isinstance(operand, _t.Tensor) and operand.requires_grad)):',
      'if State.grad_enabled and self.requires_grad:',
      'an in-place op whose operand requires grad is not recorded', ENGINE_B),
    M('b-setitem-operand-dropped', "tinygrad_seq/_indexing.py",
      'lambda a: a.__setitem__(index, v.array), v)',
      'lambda a: a.__setitem__(index, v.array))',
      'x[i] = w (w requires grad, x not) is not recorded', ENGINE_B),
    M('b-copy-operand-dropped', "tinygrad_seq/_inplace.py",
      'np.copyto(a, s.array, casting="unsafe"), s)',
      'np.copyto(a, s.array, casting="unsafe"))',
      'x.copy_(w) with w requiring grad is not recorded', ENGINE_B),
    M('b-retain-grad-no-accumulate', "tinygrad_seq/autograd/__init__.py",
      't._grad = Tensor._wrap(g.copy() if t._grad is None else t._grad.array + g)',
      't._grad = Tensor._wrap(g.copy())',
      'a retained non-leaf grad is overwritten, not accumulated, by a second backward', ENGINE_B),
    M('b-norm-p-missing-abs', "tinygrad_seq/tensor.py",
      'return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)',
      'return (self ** p).sum(dim, keepdim) ** (1.0 / p)',
      'general p-norm without |x|', ENGINE_B),
    M('b-norm-p-root-2', "tinygrad_seq/tensor.py",
      '(self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)',
      '(self.abs() ** p).sum(dim, keepdim) ** (1.0 / 2)',
      'general p-norm takes the square root', ENGINE_B),
    M('b-dim-npint-negative', "tinygrad_seq/_args.py",
      'return int(d) % n if ndim else 0',
      'return int(d) if ndim else 0',
      'a negative numpy-integer dim is not normalised', ENGINE_B),
    M('b-unsqueeze-negative', "tinygrad_seq/tensor.py",
      'd = dim_arg(dim, self.ndim + 1, "unsqueeze")',
      'd = dim_arg(dim, self.ndim, "unsqueeze") if dim >= 0 else self.ndim + dim',
      'unsqueeze(-1) inserts before the last axis', ENGINE_B),
    M('b-sub-broadcast-sign', "tinygrad_seq/ops.py",
      '(unbroadcast(-g, sb) if',
      '(unbroadcast(g, sb) if',
      "sub's second gradient loses its sign when broadcasting", OPS_B),
    M('b-maximum-tie-full', "tinygrad_seq/ops.py",
      'wa = self.wins(a, b) + 0.5 * (a == b)\n        return (unbroadcast',
      'wa = self.wins(a, b) + 1.0 * (a == b)\n        return (unbroadcast',
      'maximum/minimum give the full gradient to a on ties', OPS_B),
    M('b-clip-bound-exclusive', "tinygrad_seq/ops.py",
      'g = g * (x >= lo)',
      'g = g * (x > lo)',
      "clamp's gradient is 0 on the lower bound", OPS_B),
    M('b-max-ties-not-split', "tinygrad_seq/ops.py",
      'return (hit * (g / hit.sum(axis=axes, keepdims=True)),)',
      'return (hit * g,)',
      'max/min reduction gives every tied element the whole gradient', OPS_B),
    M('b-mean-first-axis-only', "tinygrad_seq/ops.py",
      '        for a in axes:\n            n *= shape[a]\n        return (xp.broadcast_to(_regrow(g, shape, axes, keep) / max(n, 1), shape),)',
      '        n = shape[axes[0]] if axes else 1\n        return (xp.broadcast_to(_regrow(g, shape, axes, keep) / max(n, 1), shape),)',
      "mean over several dims divides the gradient by the first dim's size only", OPS_B),
    M('b-var-correction-ignored', "tinygrad_seq/ops.py",
      'denom = max(n - correction, 0)',
      'denom = max(n - 1, 0)',
      "var always uses Bessel's correction", OPS_B),
    M('b-logsoftmax-axis-last', "tinygrad_seq/ops.py",
      'return (g - xp.exp(y) * xp.sum(g, axis=axis, keepdims=True),)',
      'return (g - xp.exp(y) * xp.sum(g, axis=-1, keepdims=True),)',
      'log_softmax VJP sums over the last axis whatever dim is', OPS_B),
    M('b-softmax-axis-last', "tinygrad_seq/ops.py",
      'return (y * (g - xp.sum(g * y, axis=axis, keepdims=True)),)',
      'return (y * (g - xp.sum(g * y, axis=-1, keepdims=True)),)',
      'softmax VJP sums over the last axis whatever dim is', OPS_B),
    M('b-cumsum-flip-all', "tinygrad_seq/ops.py",
      'xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)',
      'xp.flip(xp.cumsum(xp.flip(g), axis=axis))',
      'cumsum VJP flips every axis', OPS_B,
      equivalent="a cumulative sum along one axis treats every other axis independently, so reversing the other "
                 "axes before it and again after it changes nothing: flip(cumsum(flip(g), a)) equals "
                 "flip(cumsum(flip(g, a), a), a) for every g"),
    M('b-productsum-single-transposed', "tinygrad_seq/lazygrad.py",
      'out = np.dot(self.lhs[0].T, self.rhs[0])',
      'out = np.dot(self.rhs[0].T, self.lhs[0])',
      "a single gathered factor's product in the wrong order (reshape hides it)", ENGINE_B),
    M('b-mean-divides-by-size', "tinygrad_seq/ops.py",
      'return total / (x.size // total.size)',
      'return total / x.size',
      "the fast mean divides by every element, not by the reduced ones", OPS_B),
    M('b-linear-dw-factors-swapped', "tinygrad_seq/ops.py",
      'dw = xp.product_sum(w.shape, g2, x.reshape(-1, x.shape[-1])) if need[1] else None',
      'dw = xp.product_sum(w.shape, x.reshape(-1, x.shape[-1]), g2) if need[1] else None',
      "linear's weight gradient as x^T g, reshaped to W's shape (right only for square, symmetric cases)", OPS_B),
    M("nll-op-grad-not-averaged", "tinygrad_seq/ops.py",
      "return (xp.put_unique(shape, index, -xp.broadcast_to(g / n, index[0].shape)), None)",
      "return (xp.put_unique(shape, index, -xp.broadcast_to(g, index[0].shape)), None)",
      "nll_loss's one-op VJP forgets the 1/N of the mean", OPS_B),
    M("nll-op-sum-for-mean", "tinygrad_seq/ops.py", "return total / max(count, 1) if mean else total",
      "return total", "nll_loss's one op returns the sum where the mean was asked for", OPS_B),
    M("nll-op-wrong-rows", "tinygrad_seq/ops.py", "        rows = np.arange(n)\n",
      "        rows = np.zeros(n, int)\n", "nll_loss's one op picks every target from the first row", OPS_B),
    M("nll-op-mean-counts-ignored", "tinygrad_seq/ops.py", "count, picked = int(valid.sum()), ",
      "count, picked = n, ", "nll_loss's mean divides by every target, the ignored ones too",
      ("tests/test_losses.py", "tests/test_ops.py", "tests/test_pytorch_semantics_nn.py")),
    M("nll-op-negative-targets-wrap", "tinygrad_seq/ops.py", "if counted.size and (counted.min() < 0 or ",
      "if counted.size and (", "a negative target picks a class from the end instead of raising",
      ("tests/test_losses.py", "tests/test_pytorch_semantics_nn.py", "tests/test_bad_input.py")),
    M("nll-target-baked", "tinygrad_seq/nn/functional.py",
      "    if isinstance(given, Tensor) and given.array.dtype.kind in \"iu\":\n"
      "        return given if given.array.dtype == np.int64 else _ops.Cast.apply(given, dtype=np.dtype(np.int64))\n",
      "",
      "targets and characters become constants of their ops: a training loop in tg.jit captures every batch",
      ("tests/test_jit.py", "tests/test_charlm.py")),
    M("index-cast-outside-ops", "tinygrad_seq/nn/functional.py",
      "else _ops.Cast.apply(given, dtype=np.dtype(np.int64))", "else Tensor._wrap(arr)",
      "int32 characters or targets become constants of their ops: a training loop in tg.jit captures every batch",
      ("tests/test_jit.py",)),
    M("dropout-op-unscaled", "tinygrad_seq/ops.py", "mask = ((State.rng.random(x.shape) >= p) / (1 - p)).astype(x.dtype)",
      "mask = (State.rng.random(x.shape) >= p).astype(x.dtype)", "dropout does not scale the kept values by 1/(1-p)",
      ("tests/test_ops.py",)),
    M("dropout-op-grad-unmasked", "tinygrad_seq/ops.py", "        return (g * self.saved,)\n\n    def jvp(self, t):\n"
      "        return self.backward(t)[0]      # elementwise: the same product as the VJP\n\n\nclass Softplus",
      "        return (g,)\n\n    def jvp(self, t):\n"
      "        return self.backward(t)[0]      # elementwise: the same product as the VJP\n\n\nclass Softplus",
      "dropout's gradient reaches the dropped elements", ("tests/test_ops.py",)),
    M("embedding-op-negative-wrap", "tinygrad_seq/ops.py", "if indices.size and (indices.min() < 0 or indices.max() >= n):",
      "if indices.size and indices.max() >= n:", "a negative index picks a row from the end instead of raising",
      ("tests/test_nn.py", "tests/test_pytorch_semantics_nn.py", "tests/test_bad_input.py")),
    M('b-linear-db-last-row', "tinygrad_seq/ops.py",
      'return dx, dw, (g2.sum(axis=0) if need[2] else None)',
      'return dx, dw, (g2[-1] if need[2] else None)',
      "linear's bias gradient from the last row only (right for one row)", OPS_B),
    M('b-sums-second-add-drops', "tinygrad_seq/lazygrad.py",
      'self[key] = np.add(prev, g)       # the sum in a fresh buffer',
      'self[key] = np.array(prev)       # the sum in a fresh buffer',
      "a key's second contribution of the same shape and dtype is dropped", ENGINE_B),
    M('b-sums-second-add-in-place', "tinygrad_seq/lazygrad.py",
      'self[key] = np.add(prev, g)       # the sum in a fresh buffer',
      'self[key] = np.add(prev, g, out=prev)       # the sum in a fresh buffer',
      "a key's second contribution is added into the first one's array, which a VJP may share", ENGINE_B),
    M('b-productsum-permute-no-swap', "tinygrad_seq/lazygrad.py",
      'out.shape, out.lhs, out.rhs = self.shape[::-1], list(self.rhs), list(self.lhs)',
      'out.shape, out.lhs, out.rhs = self.shape[::-1], list(self.lhs), list(self.rhs)',
      "the transpose of a lazy weight gradient keeps its factors in order (reshape hides it for square W)",
      ("tests/test_autograd_options.py", *ENGINE_B)),
    M('b-productsum-permute-any-axes', "tinygrad_seq/lazygrad.py",
      'if len(self.shape) == 2 and tuple(a % 2 for a in axes) == (1, 0):',
      'if len(self.shape) == 2:',
      "permute((0, 1)) of a lazy weight gradient swaps its factors anyway", ("tests/test_autograd_options.py", *ENGINE_B)),
    M('b-tiling-no-cover-check', "tinygrad_seq/lazygrad.py",
      '    if pos != shape[axis]:\n        return None\n',
      '',
      'slices that do not cover the axis are concatenated as if they did', ENGINE_B),
    M('b-tiling-overlap', "tinygrad_seq/lazygrad.py",
      'if ax != axis or start != pos:',
      'if ax != axis:',
      'overlapping or gapped slices are concatenated', ENGINE_B),
    M('b-gradsum-no-copy', "tinygrad_seq/lazygrad.py",
      'prev = prev.dense() if type(prev) in _LAZY else np.array(prev)',
      'prev = prev.dense() if type(prev) in _LAZY else prev',
      'the running sum adds into an array a VJP did not own', ENGINE_B),
    M('b-pop-owned-alias', "tinygrad_seq/lazygrad.py",
      'return g if key in self.owned else np.array(g)',
      'return g',
      "a leaf's .grad may alias the caller's grad_tensors / a VJP's input", ENGINE_B),
    M('b-embedding-negative-padding-idx', "tinygrad_seq/nn/functional.py",
      'padding_idx=None if padding_idx is None else int(padding_idx) % n)',
      'padding_idx=None if padding_idx is None else int(padding_idx))',
      'a negative padding_idx is not normalised', LOSSES_B),
    M('b-ce-smoothing-axis-last', "tinygrad_seq/nn/functional.py",
      'smooth = -logp.mean(axis=axis) * valid',
      'smooth = -logp.mean(axis=-1) * valid',
      'label smoothing averages over the last axis for (N, C, d) logits', LOSSES_B),
    M('b-layernorm-eps-outside', "tinygrad_seq/nn/functional.py",
      '        var = x.var(axis=axes, keepdims=True, correction=0) + eps\n'
      '        if not eps:                   # a constant row has no spread: NaN as in PyTorch, without computing 0/0\n'
      '            var = where(var.array == 0, np.array(np.nan, var.dtype), var)\n'
      '        y = (x - mean) / var.sqrt()\n',
      '        var = x.var(axis=axes, keepdims=True, correction=0)\n'
      '        if not eps:                   # a constant row has no spread: NaN as in PyTorch, without computing 0/0\n'
      '            var = where(var.array == 0, np.array(np.nan, var.dtype), var)\n'
      '        y = (x - mean) / (var.sqrt() + eps)\n',
      'eps added outside the square root', LOSSES_B),
    M('b-bce-pos-weight-L', "tinygrad_seq/nn/functional.py",
      'L = 1 + (w - 1) * y',
      'L = 1 + w * y',
      'pos_weight factor off by y', LOSSES_B),
    M('b-rnn-state-direction-major', "tinygrad_seq/nn/recurrent.py",
      'state = tuple(s[layer * D + direction] for s in states)',
      'state = tuple(s[direction * self.num_layers + layer] for s in states)',
      'h0/c0 read direction-major instead of layer-major', CELLS_B),
    M('b-rnn-h0-c0-swapped', "tinygrad_seq/nn/recurrent.py",
      'for label, s, want in zip(kind.states, given, wants):',
      'for label, s, want in zip(kind.states, reversed(given), wants):',
      'LSTM (h0, c0) read as (c0, h0)', CELLS_B),
    M('b-rnn-bidir-cat-reversed', "tinygrad_seq/nn/recurrent.py",
      'layer_input = outputs[0] if D == 1 else cat(outputs, 2)',
      'layer_input = outputs[0] if D == 1 else cat(outputs[::-1], 2)',
      'bidirectional output has the reverse direction first', CELLS_B),
    M('b-rnn-dropout-last-layer', "tinygrad_seq/nn/recurrent.py",
      'if self.dropout and self.training and layer < self.num_layers - 1:',
      'if self.dropout and self.training and layer < self.num_layers:',
      'dropout also after the last layer', CELLS_B),
    M('b-gru-z-swapped', "tinygrad_seq/nn/recurrent.py",
      'return n + z * (h - n)',
      'return h + z * (n - h)',
      "GRU update gate's roles swapped", CELLS_B),
    M('b-pad-packed-rank', "tinygrad_seq/nn/utils/rnn.py",
      'rank[sorted_idx] = np.arange(B)',
      'rank[:] = sorted_idx',
      'pad_packed_sequence uses the permutation instead of its inverse', CELLS_B),
    M('b-clip-sum-of-norms', "tinygrad_seq/nn/utils/clip_grad.py",
      'total = _vector_norm(np.array([_vector_norm(p.grad.array, norm_type) for p in params]), norm_type)',
      'total = float(sum(_vector_norm(p.grad.array, norm_type) for p in params))',
      'clip_grad_norm_ adds the per-parameter norms', OPTIM),
    M('b-clip-scales-up', "tinygrad_seq/nn/utils/clip_grad.py",
      '    if scale < 1:',
      '    if scale != 1:',
      'clip_grad_norm_ also scales small gradients up', OPTIM),
    M('b-sgd-first-step-dampened', "tinygrad_seq/optim/optimizers.py",
      'buf = state["momentum_buffer"] = grad.copy()',
      'buf = state["momentum_buffer"] = (1 - group["dampening"]) * grad',
      'SGD dampens the first momentum buffer', OPTIM),
    M('b-amsgrad-unused', "tinygrad_seq/optim/optimizers.py",
      '            v = state["max_exp_avg_sq"]\n',
      '            pass\n',
      "amsgrad's running max is computed but not used", OPTIM),
    M('b-rmsprop-centered-sign', "tinygrad_seq/optim/optimizers.py",
      'avg = np.sqrt(v - m * m) + eps',
      'avg = np.sqrt(v + m * m) + eps',
      'centered RMSprop adds the squared mean', OPTIM),
    M('b-adagrad-lr-decay-off-by-one', "tinygrad_seq/optim/optimizers.py",
      '(1 + (state["step"] - 1) * group["lr_decay"])',
      '(1 + state["step"] * group["lr_decay"])',
      'Adagrad decays the learning rate from the first step', OPTIM),
    M('b-adagrad-initial-acc-ignored', "tinygrad_seq/optim/optimizers.py",
      'state["sum"] = np.full_like(p.array, group["initial_accumulator_value"])',
      'state["sum"] = np.zeros_like(p.array)',
      'initial_accumulator_value ignored', OPTIM),
    M('b-cosine-eta-min-missing', "tinygrad_seq/optim/lr_scheduler.py",
      '(1 + math.cos(math.pi * (e - 1) / T)) * (g["lr"] - self.eta_min)',
      '(1 + math.cos(math.pi * (e - 1) / T)) * g["lr"]',
      'CosineAnnealingLR ignores eta_min in the amplitude (re-anchored to the chainable form every step uses)',
      OPTIM),
    M('b-steplr-off-by-one', "tinygrad_seq/optim/lr_scheduler.py",
      'base_lr * self.gamma ** (self.last_epoch // self.step_size)',
      'base_lr * self.gamma ** ((self.last_epoch + 1) // self.step_size)',
      "StepLR's closed form (step(epoch)) decays one epoch early (the chainable form's twin is steplr-off-by-one)",
      OPTIM),
    M('b-optim-step-not-marked', "tinygrad_seq/optim/optimizer.py",
      '                mark_modified(p)\n',
      '',
      'an optimizer step is not seen by the stale-graph check', OPTIM_STALE),
    M('b-bpc-constant', "tinygrad_seq/train.py",
      'LN2 = math.log(2)',
      'LN2 = math.log2(math.e)',
      'bits per character divides by log2(e) instead of ln 2', MAIN_JOB),
    M('b-eval-last-char-unscored', "tinygrad_seq/train.py",
      'mask = (t >= lo) & (t < lo + L) & (pos + 1 <= n)',
      'mask = (t >= lo) & (t < lo + L) & (pos + 1 < n)',
      'evaluate skips the last prediction', MAIN_JOB),
    M('b-best-every-eval', "tinygrad_seq/train.py",
      '    if is_best:\n        save_checkpoint(run.best_path, snap)\n',
      '    save_checkpoint(run.best_path, snap)\n',
      'best.npz rewritten at every evaluation', MAIN_JOB),
    M('b-best-final-always', "tinygrad_seq/train.py",
      '            evaluate_and_save(run, reporter)\n        else:\n',
      '            run.best_bpc, run.best_step = evaluate_and_save(run, reporter), run.step\n'
      '            save_checkpoint(run.best_path, run.snapshot())\n        else:\n',
      'the final evaluation always overwrites best.npz (train() now ends with the same evaluate_and_save as '
      'every evaluation, so the bug is planted after that call)', MAIN_JOB),
    M('b-train-bpc-nats', "tinygrad_seq/train.py",
      'train_bpc=[v / LN2 for v in hist["train_loss"]]',
      'train_bpc=[v for v in hist["train_loss"]]',
      "the result's train bpc is in nats", MAIN_JOB),
    M('b-resume-best-forgotten', "tinygrad_seq/train.py",
      'self.best_bpc, self.best_step = float(st["best_bpc"]), int(st["best_step"])',
      'self.best_step = int(st["best_step"])',
      'resume forgets the best bpc so far (a worse model overwrites best.npz)', MAIN_JOB),
    M('b-evaluate-mode-not-restored', "tinygrad_seq/train.py",
      'dtype=np.float64))\n    finally:\n        model.train(was_training)',
      'dtype=np.float64))\n    finally:\n        model.eval()',
      'evaluate leaves the model in eval mode', MAIN_JOB),
    M('b-load-dtype-not-restored', "tinygrad_seq/train.py",
      '    finally:\n        set_default_dtype(prev)\n',
      '    finally:\n        pass\n',
      "load_checkpoint leaves the checkpoint's dtype as the default", MAIN_JOB),
    M('b-check-exit-zero', "tinygrad_seq/cli.py",
      'return 1 if failures else 0',
      'return 0',
      'tinygrad-seq check exits 0 when a row fails', MAIN_JOB),
    M('b-decode-tuple-as-list', "tinygrad_seq/serialization.py",
      'return tuple(_decode(v, arrays, memo) for v in obj["__tuple__"])',
      'return list(_decode(v, arrays, memo) for v in obj["__tuple__"])',
      'a saved tuple loads as a list', SERIAL),
    M('b-streams-wrap-early', "tinygrad_seq/data/corpus.py",
      'if self.pos + self.seq_len > self.stream_len:',
      'if self.pos + self.seq_len >= self.stream_len:',
      'the last full chunk of every epoch is skipped', CORPUS),
    M('b-streams-epoch-not-restored', "tinygrad_seq/data/corpus.py",
      'self.pos, self.epoch = pos, epoch',
      'self.pos = pos',
      'restore forgets the epoch', CORPUS),
    M('b-state-dict-alias', "tinygrad_seq/nn/module.py",
      'out[k] = v if keep_vars else v.detach()',
      'out[k] = v',
      'state_dict values are the live Parameters themselves (keep_vars ignored: they require grad).  Replaces '
      '"state_dict values alias the live parameters": since state_dict returns detached tensors sharing memory, '
      "as PyTorch's do, that aliasing is the intended behaviour", ("tests/test_pytorch_semantics_nn.py", *MODULE)),
]
MUTANTS += BLIND

# --- tg.jit (capture and replay): each must change what a replay returns or computes ---------------------
J, JT = "tinygrad_seq/jit.py", ("tests/test_jit.py",)
MUTANTS += [
    M("jit-guard-ignores-dtype", J, '("T", arr.shape, arr.dtype.str,', '("T", arr.shape,',
      "the guard key forgets the arguments' dtype: a float32 plan replays float64 calls", JT),
    M("jit-shared-values-unguarded", J, "        if isinstance(plan, _Plan) and plan.fixed and not all(",
      "        if False and not all(", "integer values both captures shared are baked into the plan", JT),
    M("jit-never-keyed-by-value", J, "        if isinstance(plan, str) and not by_value and first.values != rec.values:",
      "        if False:", "a function that bakes its integer arguments into constants never replays", JT),
    M("jit-consts-unchecked", J, "elif rb.requires_grad or ra.requires_grad or not _same(ra.array, rb.array):",
      "elif rb.requires_grad or ra.requires_grad:", "a tensor made outside the ops is baked in without comparing "
      "its two captures", JT),
    M("jit-replay-drops-parents", J, 'inputs = ", ".join(p if n else "None" for p, n in zip(parents, needs))',
      'inputs = ", ".join(p if n else "None" for p, n in zip(parents[::-1], needs))',
      "a replayed node's inputs in the wrong order", JT),
    M("jit-refs-unchecked", J, "if all(t.array.shape == s and t.array.dtype == d and t.requires_grad == r and "
      "(t.grad_fn is None) == f\n                   for t, s, d, r, f in plan.refs):", "if True:",
      "a parameter of another dtype replays the old plan", JT),
    # the whole step (loss.backward() inside) replayed
    M("jit-bw-one-reader-overwrites", J, 'if kind == "op" and readers[ref] == 1:', 'if kind == "op":',
      "a gradient read by several nodes is kept in a local variable: the last contribution overwrites the others", JT),
    M("jit-bw-not-freed", J, '            code.append(f"    if n{k}.saved is not None: n{k}.saved = None; n{k}.epoch = _FREED")\n',
      "", "a replayed backward does not free the saved arrays (a second backward would not raise; memory held)", JT),
    M("jit-bw-stale-argument-parent", J, 'if k not in reached or any(kind == "arg" for kind, _ in sources):',
      "if k not in reached:", "a reused node keeps the first call's argument as its input: the gradient of a new "
      "argument goes to the old tensor", JT),
    M("jit-bw-gradients-held", J, '                code.append(f"    del g{k}")', "                pass",
      "a replay keeps every gradient alive until it returns (peak memory twice eager's)", JT),
    M("jit-bw-reentered", J, "                if not plan.running:", "                if True:",
      "a hook calling the jitted function inside a replay reuses the running plan", JT),
    M("jit-bw-ops-after-backward", J, "        if why is None and rec.backward is not None and rec.backward[3] != len(rec.ops):",
      "        if False:", "ops after backward() are replayed before it", JT),
    M("jit-bw-grad-set-unseen", "tinygrad_seq/tensor.py",
      '            State.capture.side_effect(".grad set inside the function (call zero_grad() outside it)")',
      "            pass", "zero_grad() inside a captured step is silently skipped by every replay", JT),
    M("jit-frame-unpadded", J, "_FRAME_WORDS = 2112 ", "_FRAME_WORDS = 0 ",
      "a replay frame may just fit a 16 KB frame chunk (every call it makes maps and unmaps one)", JT),
    M("jit-bw-other-backward", J, "        elif root is None or gradient is not None or retain_graph or create_graph or "
      "inputs is not None:", "        elif root is None:", "backward(retain_graph / create_graph / inputs / gradient) "
      "inside is replayed as a plain loss.backward()", JT),
    M("jit-ignores-epoch", J, "        if why is None and State.epoch != epoch:\n",
      "        if False:\n", "in-place changes inside the function are replayed as if they were not there", JT),
    M("jit-ignores-generator", J,
      "        if why is None and (State.rng is not rec.rng or State.rng.bit_generator.state != rec.drawn):\n",
      "        if False:\n", "random numbers drawn after the last op of a captured call are not drawn again", JT),
    M("jit-draw-unverified", J, "    same = again.bit_generator.state == after and ", "    same = True or ",
      "a draw outside the ops just before a dropout is taken for the dropout's own (not drawn when replayed)", JT),
    M("jit-draws-anywhere", J, "            self.bad = self.bad or _drew_alone(node, inputs, t, params, self.rng, self.drawn)\n",
      "", "any op may move the generator during a capture (draws outside the ops are not drawn again)", JT),
    M("train-never-replays", "tinygrad_seq/train.py", "step_fn = jitted_forward_backward(model) if replay else None",
      "step_fn = None", "the main job's steps run eagerly (slower)", ("tests/test_charlm.py",)),
]


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------

def check_snippets(mutants: list[Mutant]) -> list[str]:
    """Every original snippet must occur exactly once in its file; returns the problems."""
    problems = []
    for m in mutants:
        path = ROOT / m.file
        if not path.exists():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        n = path.read_text().count(m.original)
        if n != 1:
            problems.append(f"{m.id}: its original snippet occurs {n} times in {m.file} (expected once): "
                            f"{m.original.strip()[:70]!r}")
        if m.original == m.replacement:
            problems.append(f"{m.id}: the replacement equals the original")
    ids = [m.id for m in MUTANTS]
    problems += [f"duplicate mutant id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


def make_copy() -> Path:
    dst = Path(tempfile.mkdtemp(prefix="tgs-mutate-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in ("tinygrad_seq", "tests"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dst / name)
    return dst


def run_tests(copy: Path, tests: tuple, timeout: float) -> tuple[bool, str]:
    """True if the tests pass in ``copy``; the last line of pytest's output."""
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="ci")
    tests = tuple(t for t in tests if (copy / t).exists())     # a selection may name a test file not written yet
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        r = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s"
    lines = [ln for ln in r.stdout.strip().splitlines() if ln.strip()]
    return r.returncode == 0, (lines[-1] if lines else r.stderr.strip()[-200:])


def run_mutant(copy: Path, m: Mutant, timeout: float) -> tuple[bool, str, float]:
    """(killed, pytest's summary, seconds); the copy's file is restored afterwards."""
    path = copy / m.file
    original = path.read_text()
    path.write_text(original.replace(m.original, m.replacement, 1))
    t0 = time.perf_counter()
    try:
        passed, summary = run_tests(copy, m.tests, timeout)
    finally:
        path.write_text(original)
    return not passed, summary, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="*", help="run only these mutants (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--blind", action="store_true", help="only the blind round's mutants (ids b-...)")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="mutants run at a time, each in its own copy")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant before it counts as killed")
    args = ap.parse_args(argv)

    problems = check_snippets(MUTANTS)
    if problems:
        print("mutate.py: stale mutants (the code changed; update them):", *problems, sep="\n  ", file=sys.stderr)
        return 2
    if args.list:
        for m in MUTANTS:
            print(f"{m.id:30s} {m.file:34s} {m.bug}" + (f"  [equivalent: {m.equivalent}]" if m.equivalent else ""))
        return 0
    chosen = [m for m in (BLIND if args.blind else MUTANTS) if not m.equivalent]
    if args.ids:
        known = {m.id: m for m in MUTANTS}
        unknown = [i for i in args.ids if i not in known]
        if unknown:
            print(f"mutate.py: unknown mutant ids {unknown}; see --list", file=sys.stderr)
            return 2
        chosen = [known[i] for i in args.ids]

    start = time.perf_counter()
    jobs = max(1, min(args.jobs, len(chosen)))
    copies = [make_copy() for _ in range(jobs)]
    try:
        baseline = sorted({t for m in chosen for t in m.tests})
        ok, summary = run_tests(copies[0], tuple(baseline), args.timeout * 3)
        if not ok:
            print(f"mutate.py: the unmutated tests fail, nothing to measure: {summary}", file=sys.stderr)
            return 2
        print(f"baseline: {' '.join(baseline)}: {summary}", flush=True)
        results: dict[str, tuple[bool, str, float]] = {}
        free: queue.Queue = queue.Queue()
        for c in copies:
            free.put(c)
        lock = threading.Lock()

        def work(m: Mutant) -> None:
            copy = free.get()
            try:
                res = run_mutant(copy, m, args.timeout)
            finally:
                free.put(copy)
            with lock:
                results[m.id] = res
                killed, summ, secs = res
                print(f"{'killed  ' if killed else 'SURVIVED'} {m.id:30s} {secs:5.1f}s  {summ}", flush=True)

        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(work, chosen))
    finally:
        for c in copies:
            shutil.rmtree(c, ignore_errors=True)

    scored = [m for m in chosen if not m.equivalent]
    killed = [m for m in scored if results[m.id][0]]
    survived = [m for m in scored if not results[m.id][0]]
    n_eq = sum(1 for m in MUTANTS if m.equivalent)
    score = f"{len(killed)}/{len(scored)} killed ({100 * len(killed) / len(scored):.0f}%)" if scored else "nothing scored"
    print(f"\nmutation score: {score} in {time.perf_counter() - start:.0f}s"
          + (f"; {n_eq} equivalent mutant(s) not scored (see --list)" if n_eq else ""))
    for m in survived:
        print(f"  survived: {m.id} ({m.file}): {m.bug}")
    for m in chosen:
        if m.equivalent:
            print(f"  equivalent ({'killed: not equivalent after all?' if results[m.id][0] else 'survived, as expected'}): "
                  f"{m.id}: {m.equivalent}")
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
