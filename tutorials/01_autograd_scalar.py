# %% [markdown]
# # 1. Autograd from one scalar
#
# Everything later in these tutorials (backpropagation through time, LSTMs,
# vanishing gradients) is the chain rule applied many times. This lesson applies
# it once, by hand, to a tiny expression, and then asks the engine for the same
# numbers.
#
# Run it three ways: `python tutorials/01_autograd_scalar.py` (straight through),
# `--step` (cell by cell, Enter runs the next one, `q` quits), or open it as a
# notebook in Jupyter or VS Code.

# %%
from tinygrad_seq.tutorial import quick, result, step_through
step_through()

# %%
import math

import numpy as np

import tinygrad_seq as tg

QUICK = quick()

# %% [markdown]
# ## A neuron and its loss
#
# One input $x$, one weight $w$, one bias $b$, a sigmoid, and a squared error
# against the target $t$:
#
# $$z = w x + b, \qquad y = \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad L = (y - t)^2$$
#
# The chain rule multiplies the local derivatives along the path from $L$ back
# to each input:
#
# $$\frac{\partial L}{\partial w} = \frac{\partial L}{\partial y}\,\frac{\partial y}{\partial z}\,\frac{\partial z}{\partial w}
#   = 2(y - t)\cdot \sigma(z)\,(1 - \sigma(z)) \cdot x$$
#
# and the same with $\partial z / \partial b = 1$ and $\partial z / \partial x = w$.
# First by hand, with plain Python floats:

# %%
x, w, b, t = 2.0, -0.5, 0.3, 1.0

z = w * x + b
y = 1 / (1 + math.exp(-z))
L = (y - t) ** 2

dL_dy = 2 * (y - t)
dy_dz = y * (1 - y)
hand = {"w": dL_dy * dy_dz * x, "b": dL_dy * dy_dz * 1.0, "x": dL_dy * dy_dz * w}
print(f"z = {z:.6f}   y = {y:.6f}   L = {L:.6f}")
print("by hand:", {k: round(v, 8) for k, v in hand.items()})

# %% [markdown]
# ## The same numbers from `backward()`
#
# Now the same expression on tensors that record how they were computed
# (`requires_grad=True`). `L.backward()` walks the recorded graph from $L$ back
# to the leaves, multiplying by each node's local derivative, and leaves
# $\partial L/\partial(\text{leaf})$ in each leaf's `.grad`. We use float64 so the
# comparison is exact up to rounding.

# %%
def leaf(v):
    return tg.tensor(v, dtype=np.float64, requires_grad=True)


xt, wt, bt = leaf(x), leaf(w), leaf(b)
Lt = ((wt * xt + bt).sigmoid() - t) ** 2
Lt.backward()

auto = {"w": wt.grad.item(), "b": bt.grad.item(), "x": xt.grad.item()}
hand_vs_backward = max(abs(hand[k] - auto[k]) for k in hand)
print("backward():", {k: round(v, 8) for k, v in auto.items()})
print(f"largest difference, hand vs backward(): {hand_vs_backward:.3g}")

# %% [markdown]
# ## The graph that `backward()` walks
#
# Every tensor computed from tensors that require grad keeps `grad_fn`, the node
# (op) that made it. As in PyTorch, a node lists what feeds it in
# `grad_fn.next_functions`, pairs `(function, 0)` where the function is another
# node, an `AccumulateGrad` whose `.variable` is a leaf tensor (where that
# leaf's gradient is collected), or `None` for an input that needs no gradient.
# Printing the graph from $L$ down shows the expression read backwards: the
# order in which `backward()` meets the ops. Like PyTorch, `backward()` frees
# the graph it has walked, so we record the expression once more.

# %%
names = {id(xt): "x", id(wt): "w", id(bt): "b"}


def show(fn, depth=0):
    pad = "    " * depth
    if fn is None:
        print(pad + "(a constant: no gradient needed)")
    elif hasattr(fn, "variable"):
        leaf_tensor = fn.variable
        print(pad + f"{fn.name}: leaf {names.get(id(leaf_tensor), '?')} = {leaf_tensor.item():g}")
    else:
        print(pad + fn.name)
        for parent, _ in fn.next_functions:
            show(parent, depth + 1)


graph = ((wt * xt + bt).sigmoid() - t) ** 2
show(graph.grad_fn)

# %% [markdown]
# ## The loop inside `backward()`
#
# `backward()` is not magic: it is one loop. The engine (function `backward_pass`
# in `tinygrad_seq/autograd/__init__.py`, which `Tensor.backward()` and `tg.autograd.grad` call) puts the nodes in
# *topological order*, every node before
# the nodes that feed it, so that when the loop reaches a node, all the
# gradients flowing into it have already been added up. Then, for each node:
# take its summed gradient $g$, call the node's own backward rule (its local
# derivatives times $g$, the vector-Jacobian product) and add each result onto
# the node that fed it. Here are those lines of the engine, read from its real
# source (the optional extras — hooks, anomaly checks, the stale-graph check,
# lazily summed gradients — are left out of this excerpt; the full function is
# printed by `inspect.getsource(backward_pass)`):

# %%
import inspect

from tinygrad_seq.autograd import backward_pass    # the loop that Tensor.backward() and autograd.grad() run

source = inspect.getsource(backward_pass).splitlines()
start = next(k for k, line in enumerate(source) if "for node in topological_order(" in line)
stop = next(k for k, line in enumerate(source) if "sums.add(parent, gp)" in line)
optional = ("epoch", "check_saved", "lazy", "watching", "observer", "else:")
excerpt = [line for line in source[start:stop + 1] if not any(word in line for word in optional)]
excerpt = [line.replace("    grads_in = node.backward", "grads_in = node.backward", 1) for line in excerpt]
print("\n".join(excerpt))
loop_lines = len(excerpt)

# %% [markdown]
# The same loop on the lesson's example, by hand. The graph is a list of nodes,
# each with its inputs and its *local* derivatives (the derivative of the node
# with respect to each input, at the forward values), written in the order the
# forward pass made them. Walking it backwards is a topological order: $L$
# first, the leaves $w, x, b$ last. A gradient `grad[name]` is complete when
# its node is reached, because every node that uses it came later in the
# forward pass and so earlier in the walk.

# %%
graph_by_hand = {}                         # name -> (inputs, local derivatives d(name)/d(input))
z1 = w * x
graph_by_hand["z1"] = (["w", "x"], [x, w])           # z1 = w * x
z = z1 + b
graph_by_hand["z"] = (["z1", "b"], [1.0, 1.0])       # z = z1 + b
y = 1 / (1 + math.exp(-z))
graph_by_hand["y"] = (["z"], [y * (1 - y)])          # y = sigmoid(z)
d = y - t
graph_by_hand["d"] = (["y"], [1.0])                  # d = y - t
L = d ** 2
graph_by_hand["L"] = (["d"], [2 * d])                # L = d ** 2

grad = {"L": 1.0}                                    # dL/dL = 1: the seed
for name in reversed(list(graph_by_hand)):           # L, d, y, z, z1: each after all of its users
    inputs, local = graph_by_hand[name]
    for parent, derivative in zip(inputs, local):    # the node's backward rule: local derivative * g ...
        grad[parent] = grad.get(parent, 0.0) + derivative * grad[name]   # ... added onto its input
print({k: round(grad[k], 8) for k in ("w", "b", "x")})
graph_vs_backward = max(abs(grad[k] - auto[k]) for k in ("w", "b", "x"))
print(f"largest difference, hand-built graph vs backward(): {graph_vs_backward:.3g}")

# %% [markdown]
# Line for line: `order` is our `reversed(list(graph_by_hand))`, `sums` our
# `grad` dictionary, `node.backward(g)` our `derivative * grad[name]` for every
# input at once, and `sums.add(parent, gp)` our `grad[parent] = grad.get(...) + ...`.
# Each leaf's sum ends in its `.grad`.
#
# ## `gradcheck`: the check to run on any new op
#
# A derivative can also be estimated without any calculus, by the central
# difference $\frac{f(v + \epsilon) - f(v - \epsilon)}{2\epsilon}$. `tg.gradcheck`
# does this for every input element (in float64) and compares it with what
# `backward()` says; it returns `True` or raises with the place that disagrees.
# Here on a vector version of our neuron, then a finite difference by hand for $w$.

# %%
rng = np.random.default_rng(0)
n = 3 if QUICK else 8
inputs = [tg.tensor(rng.normal(size=s), dtype=np.float64, requires_grad=True) for s in [(n, 4), (4,), ()]]
ok = tg.gradcheck(lambda X, W, B: ((X @ W + B).sigmoid() - 1.0) ** 2, inputs)
print("gradcheck:", ok)

eps = 1e-6
f = lambda wv: (1 / (1 + math.exp(-(wv * x + b))) - t) ** 2  # noqa: E731
numeric_w = (f(w + eps) - f(w - eps)) / (2 * eps)
print(f"dL/dw: central difference {numeric_w:.10f}, backward {auto['w']:.10f}")

# %% [markdown]
# ## A value used twice: gradients add up
#
# If $v$ feeds the expression along two paths, the chain rule sums the two
# contributions. For $q = v \cdot v + v$:
#
# $$\frac{dq}{dv} = \underbrace{v}_{\text{via the first factor}} + \underbrace{v}_{\text{via the second}} + \underbrace{1}_{\text{via } +v} = 2v + 1$$
#
# The engine does this by *accumulating*: each path adds its share into the
# same gradient. The same accumulation is why you call `zero_grad()` between
# training steps: a second `backward()` adds onto the `.grad` already there.

# %%
v = leaf(3.0)
q = v * v + v
q.backward()
twice = v.grad.item()
print(f"dq/dv from backward(): {twice}   2v + 1 = {2 * v.item() + 1}")

q2 = v * v + v          # the same expression again, without clearing v.grad
q2.backward()
print(f"after a second backward() without zeroing: {v.grad.item()}  (twice {twice})")

# %% [markdown]
# The hand-derived gradient and the engine's agree to the printed difference,
# `gradcheck` passes, and the gradient of a value used on several paths is the
# sum over the paths. The machine-readable summary:

# %%
result(hand_vs_backward=hand_vs_backward, graph_vs_backward=graph_vs_backward, loop_lines=loop_lines,
       gradcheck=int(ok), twice_grad=twice,
       twice_expected=2 * v.item() + 1, accumulated=v.grad.item())
