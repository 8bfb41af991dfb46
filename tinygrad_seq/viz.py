"""See inside: the computation graph as a tree and as DOT, gradient flow through time, model summaries.

    import tinygrad_seq as tg, rich
    view = tg.viz.graph(loss, model=model)   # hooks attached now, norms recorded in backward
    loss.backward()
    rich.print(view)                          # op tree, shapes, dtypes, parameter names, |grad|
    print(tg.viz.to_dot(view))                # Graphviz source; tg.viz.save_graph(view, "g.svg")
    tg.viz.compare_gradient_flow({"rnn": nn.RNN(8, 32), "lstm": nn.LSTM(8, 32)}, x)
    tg.nn.summary(model, x)                   # Keras-like table from a real forward run
    tg.viz.grad_table(model)                  # per-parameter |grad|, exploding/vanishing flagged

Everything here reads the graph through the engine's public API only
(``grad_fn``, ``node.inputs``, ``node.name/shape/dtype``, ``node.register_hook``,
``retain_grad``), so the engine stays short.  Each view is an object with
``__rich__`` (``rich.print`` draws it in colour) and ``__str__`` (``print``
gives the same as plain text).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
from . import charts
from .nn.module import Module
from .tensor import Node, Tensor, no_grad

__all__ = ["graph", "GraphView", "to_dot", "save_graph", "gradient_flow", "input_gradient_flow",
           "compare_gradient_flow", "GradientFlow", "grad_table", "summary"]


# rich is imported when a view is drawn, not by ``import tinygrad_seq`` (it takes a while to import)

def _text(*parts: Any, style: str = "") -> Any:
    """``rich.text.Text.assemble``: parts are strings, (string, style) pairs or Texts."""
    from rich.text import Text
    return Text.assemble(*parts, style=style)


def _plain(renderable: Any, width: int | None = None) -> str:
    """Render a rich renderable to plain text (what ``print`` shows), as wide as the terminal (80 when unknown)."""
    from rich.console import Console

    from .progress import terminal_width
    buf = io.StringIO()
    Console(file=buf, width=width or terminal_width(), force_terminal=False, color_system=None).print(renderable)
    return buf.getvalue().rstrip("\n")


class _View:
    """A view: ``rich.print(v)`` draws it, ``print(v)`` / ``str(v)`` is plain text."""

    def __rich__(self) -> Any:
        raise NotImplementedError

    def __str__(self) -> str:
        return _plain(self.__rich__())

    def __repr__(self) -> str:
        return str(self)


def _shape(shape: tuple) -> str:
    return str(tuple(shape))


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


# ---------------------------------------------------------------------------
# the graph: a snapshot of the edges, and structural signatures
# ---------------------------------------------------------------------------

def _snapshot(root: Node) -> dict:
    """{node: its inputs} for every node below ``root`` (iterative; backward frees only the saved arrays)."""
    edges: dict = {}
    stack = [root]
    while stack:
        n = stack.pop()
        if n in edges:
            continue
        edges[n] = n.inputs
        stack.extend(p for p in edges[n] if isinstance(p, Node) and p not in edges)
    return edges


def _fanout(edges: dict) -> dict:
    """How many times each node or leaf is read (a node read more than once is 'shared')."""
    count: dict = {}
    for ins in edges.values():
        for p in ins:
            if p is not None:
                count[id(p)] = count.get(id(p), 0) + 1
    return count


def structural_signatures(edges: dict, depth: int = 3) -> dict:
    """{node: int}: equal ints for nodes whose subgraphs have the same structure to ``depth`` levels.

    Level 0 is a node's op name, shape and dtype; level d adds its inputs'
    level d-1 signatures (a leaf counts by its shape, a missing input as None).
    The steps of an unrolled RNN are equal to any depth short of the whole
    unrolled history, so a few levels are what tells "one more step of the
    same loop" from "something else"; computed level by level, no recursion.
    """
    ids: dict = {}
    sig = {n: ids.setdefault((n.name, n.shape, n.dtype), len(ids)) for n in edges}
    for _ in range(depth):
        sig = {n: ids.setdefault((n.name, n.shape, n.dtype, tuple(
            None if p is None else sig[p] if isinstance(p, Node) else ("leaf", tuple(p.shape)) for p in ins)),
            len(ids)) for n, ins in edges.items()}
    return sig


def _depth(edges: dict, root: Node) -> int:
    """The number of ops on the longest path from ``root`` down to a leaf (iterative)."""
    depth: dict = {}
    stack = [(root, False)]
    while stack:
        n, inputs_done = stack.pop()
        if inputs_done:
            depth[n] = 1 + max((depth[p] for p in edges[n] if isinstance(p, Node)), default=0)
        elif n not in depth:
            stack.append((n, True))
            stack.extend((p, False) for p in edges[n] if isinstance(p, Node) and p not in depth)
    return depth[root]


def _leaf_names(model: Module | None, params: dict | None) -> dict:
    named = dict(model.named_parameters()) if model is not None else {}
    named.update(params or {})
    return {id(p): name for name, p in named.items()}


# ---------------------------------------------------------------------------
# repeated blocks: the layers of a stack, the steps of a loop
# ---------------------------------------------------------------------------

_NOTHING = object()


def _alike(a: Any, b: Any) -> bool:
    return a.name == b.name and a.shape == b.shape and a.dtype == b.dtype


class _Repeats:
    """The blocks of a graph that repeat one below the other: ``y_N = f_N(y_N-1)``, ..., ``y_1 = f_1(y_0)``.

    A block is the part of the graph between two of them: the ops ``y_i``
    dominates (every path from the root to them passes through ``y_i``) down
    to ``y_i-1``, which the block reads as its input.  What a block reads from
    outside (a Transformer decoder layer's ``memory``, read by every layer)
    stays outside it.  Two blocks repeat when walked side by side they have the
    same ops, shapes and wiring, read the same outside nodes and leaves of the
    same shapes; the walk also finds where the next block starts (what it reads
    where the first reads ``y_i-1``).  The lowest block may read a leaf or
    nothing there (the model's input).  Blocks that read only the same
    parameters are the steps of a loop; blocks with parameters of their own
    are layers (they may share others: a decoder's memory given as a leaf).

    Where to look: ``y_i`` and ``y_i-1`` sit one above the other in the
    dominator tree with the same structural signature, a few such nodes apart
    (a Transformer decoder layer holds three add & norms).  Each such pair
    starts a try, and the stack covering the most ops wins (on a tie, the one
    with the fewest ops per block).  Nothing here knows about layers or cells.
    """

    MAX_PERIOD = 8     # nodes of y_i's signature between y_i and y_i-1, at most
    BRANCHES = 3       # of those at each level, the ones over the largest subgraphs are tried

    def __init__(self, edges: dict, root: Node):
        self.edges = edges
        self.readers: dict = {n: [] for n in edges}
        for n, ins in edges.items():
            for p in ins:
                if isinstance(p, Node):
                    self.readers[p].append(n)
        self._dominator_tree(root)
        found, hidden = [], set()     # hidden: ops of the blocks above the lowest, drawn only as a count
        for c in self.preorder:
            if c in hidden or not self.below[c]:
                continue
            best, level = None, [c]
            for _ in range(self.MAX_PERIOD):
                level = sorted((d for x in level for d in self.below[x]), key=self.size, reverse=True)[:self.BRANCHES]
                for d in level:
                    stack = self._stack(c, d)
                    if stack and (best is None or len(stack[0]) * stack[1] > len(best[0]) * best[1]):
                        best = stack
            if best:
                found.append(best)
                for block in best[3][:-1]:
                    hidden |= block
        # Two stacks may overlap (a final LayerNorm over a Transformer's last LayerNorm repeats it once): the one
        # covering more ops wins; a smaller one stays only inside the lowest block of a larger one (drawn in full).
        self.stacks: dict = {}        # y_N -> ([y_N, ..., y_1], "layers" or "steps", [what every layer reads])
        hidden = set()
        for tops, _, unit, blocks, outside in sorted(found, key=lambda s: len(s[0]) * s[1], reverse=True):
            if not any(block & hidden for block in blocks):
                self.stacks[tops[0]] = (tops, unit, outside)
                for block in blocks[:-1]:
                    hidden |= block

    def size(self, n: Node) -> int:
        """How many ops ``n`` dominates (itself included)."""
        return self.tout[n] - self.tin[n]

    def dominates(self, a: Node, n: Node) -> bool:
        return self.tin[a] <= self.tin[n] < self.tout[a]

    def _dominator_tree(self, root: Node) -> None:
        """Immediate dominators, preorder numbers, and ``below[n]``: the ops of ``n``'s signature that ``n`` is
        the nearest such dominator of."""
        order, seen, stack = [], {root}, [(root, iter(self.edges[root]))]
        while stack:                                     # postorder of a depth-first walk
            n, rest = stack[-1]
            for p in rest:
                if isinstance(p, Node) and p not in seen:
                    seen.add(p)
                    stack.append((p, iter(self.edges[p])))
                    break
            else:
                stack.pop()
                order.append(n)
        order.reverse()                                  # every op after all its readers: one pass suffices
        index = {n: i for i, n in enumerate(order)}
        idom = {root: root}
        for n in order[1:]:
            a = None
            for b in self.readers[n]:                    # the nearest common dominator of n's readers
                while a is not None and a is not b:
                    while index[a] > index[b]:
                        a = idom[a]
                    while index[b] > index[a]:
                        b = idom[b]
                a = b
            idom[n] = a
        self.idom = idom
        children: dict = {n: [] for n in order}
        for n in order[1:]:
            children[idom[n]].append(n)
        sig = structural_signatures(self.edges, 1)
        self.tin: dict = {}
        self.tout: dict = {}
        self.preorder: list = []
        self.below: dict = {n: [] for n in order}
        up: dict = {}
        last: dict = {}                                  # signature -> the nearest dominator with it, going down
        walk = [(root, False)]
        while walk:
            n, leaving = walk.pop()
            if leaving:
                self.tout[n] = len(self.preorder)
                last[sig[n]] = up[n]
                continue
            self.tin[n] = len(self.preorder)
            self.preorder.append(n)
            up[n] = last.get(sig[n])
            if up[n] is not None:
                self.below[up[n]].append(n)
            last[sig[n]] = n
            walk.append((n, True))
            walk.extend((ch, False) for ch in reversed(children[n]))

    def _stack(self, c: Node, d: Node) -> tuple | None:
        """The block from ``c`` down to ``d`` and the blocks below repeating it: (their tops, ops per block,
        "layers" or "steps", the ops of each block), or None when not even the next one repeats it."""
        path, x = set(), d
        while x is not c:
            x = self.idom[x]
            path.add(x)
        kinds: dict = {}
        pure: dict = {}

        def only_input(p: Node) -> bool:
            """Whether ``p`` is computed in the block from its input alone (no parameters, nothing outside)."""
            if p not in pure:
                seen, todo, ok = {p}, [p], True
                while todo and ok:
                    for q in self.edges[todo.pop()]:
                        k = kind(q)
                        if k in ("leaf", "outside"):
                            ok = False
                        elif k == "in" and q not in seen:
                            seen.add(q)
                            todo.append(q)
                pure[p] = ok
            return pure[p]

        def kind(p: Any) -> str:
            """How the block from c to d reads ``p``."""
            if p is None:
                return "none"
            if not isinstance(p, Node):
                return "leaf"
            if p is d:
                return "input"
            k = kinds.get(p)
            if k is None:
                k = "in"
                if not self.dominates(c, p) or self.dominates(d, p):
                    k = "outside"
                elif p not in path and self.idom[p] in path and any(self.dominates(d, r) for r in self.readers[p]):
                    k = "outside"                        # read by the blocks below too: shared, not part of one
                kinds[p] = k
            return k

        first = self._match(c, kind, only_input, d, set())
        if first is None:
            return None
        block, nxt, ops, own, outside = first
        if ops & block:
            return None
        tops, blocks, taken = [c, d], [block, ops], block | ops
        while isinstance(nxt, Node):
            found = self._match(c, kind, only_input, nxt, taken)
            if found is None:
                break
            tops.append(nxt)
            blocks.append(found[2])
            taken |= found[2]
            nxt = found[1]
            outside = [o for o in outside if o in found[4]]
        if not own:                                      # the steps of a loop: counted from the first that reads
            if not isinstance(nxt, Node):                # a step (the one reading the initial state is drawn in
                tops.pop()                               # full, under the earliest counted)
                blocks[-2:] = [blocks[-2] | blocks[-1]]
            return (tops, len(block), "steps", blocks, []) if len(tops) >= 3 else None
        return tops, len(block), "layers", blocks, outside

    def _match(self, c: Node, kind: Callable, only_input: Callable, top: Node, taken: set) -> tuple | None:
        """Walk the block from ``c`` and the one from ``top`` side by side: (the first block's ops, what the
        second reads as its input, its ops, whether it reads leaves of its own, the ops outside both read), or None."""
        if not _alike(c, top) or top in taken:
            return None
        pair, ops, stack = {c: top}, {top}, [c]
        nxt, own, constant, outside = _NOTHING, False, False, {}
        while stack:
            n = stack.pop()
            ins, ins2 = self.edges[n], self.edges[pair[n]]
            if len(ins) != len(ins2):
                return None
            for p, q in zip(ins, ins2):
                k = kind(p)
                if k == "none":
                    ok = q is None
                elif k == "leaf":
                    ok = q is not None and not isinstance(q, Node) and q.shape == p.shape and q.dtype == p.dtype
                    own = own or q is not p
                elif k == "input":
                    if nxt is _NOTHING:
                        nxt = q
                    ok = q is nxt and (q is None or (q.shape == p.shape and q.dtype == p.dtype))
                elif k == "outside":
                    ok = q is p or (isinstance(q, Node) and _alike(p, q) and not self.dominates(top, q))
                    if q is p:
                        outside[p] = None
                elif p in pair:
                    ok = pair[p] is q
                elif q is None:                          # the lowest block, its input a constant: what is
                    ok = constant = only_input(p)        # computed from the input alone was not recorded
                else:
                    ok = (isinstance(q, Node) and _alike(p, q) and q not in ops and q not in taken
                          and self.dominates(top, q))
                    if ok:
                        pair[p] = q
                        ops.add(q)
                        stack.append(p)
                if not ok:
                    return None
        if constant and nxt is _NOTHING:
            nxt = None
        if (constant and nxt is not None) or (isinstance(nxt, Node) and nxt in ops):
            return None
        return set(pair), nxt, ops, own, list(outside)


# ---------------------------------------------------------------------------
# the tree view, with repeated structure collapsed
# ---------------------------------------------------------------------------

class GraphView(_View):
    """The graph below a tensor, drawn as a tree (see ``graph``)."""

    def __init__(self, t: Tensor, model: Module | None = None, params: dict | None = None, expand: bool = False,
                 depth: int = 3):
        if t.grad_fn is None:
            raise ValueError("graph: this tensor has no grad_fn (a leaf, or computed without gradients)")
        self.root, self.expand, self.depth = t.grad_fn, expand, depth
        self.edges = _snapshot(self.root)
        self.fanout = _fanout(self.edges)
        self.sig = structural_signatures(self.edges, depth)
        if expand and _depth(self.edges, self.root) > 250:
            raise ValueError(f"graph(expand=True): this graph is {_depth(self.edges, self.root)} ops deep, too deep "
                             "to draw as a tree; draw it collapsed (the default) or use to_dot / save_graph")
        self.names = _leaf_names(model, params)
        self._repeats: _Repeats | None = None  # the repeated blocks, found when first drawn
        self._stacks: dict = {}               # y_N -> ([y_N, ..., y_1], "layers" or "steps", what all read)
        self.norms: dict = {}                 # node -> |dL/d output|, filled in by hooks during backward
        self.handles = [n.register_hook(self._recorder(n)) for n in self.edges]

    def _recorder(self, n: Node) -> Callable:
        def record(g: Tensor) -> None:
            self.norms[n] = _norm(g.numpy())
        return record

    def remove_hooks(self) -> None:
        """Take away the gradient hooks this view put on the graph's nodes."""
        for h in self.handles:
            h.remove()

    @property
    def num_ops(self) -> int:
        return len(self.edges)

    # -- labels: "op (shape)", the dtype when it is not the root's, |grad| after backward
    def _leaf_label(self, leaf: Tensor, norm: bool = True) -> Any:
        name = self.names.get(id(leaf)) or getattr(leaf, "_name", None) or "leaf"
        label = _text((name, "bold green"), f" {_shape(leaf.shape)}{self._dtype(leaf.dtype)}")
        if norm and leaf.grad is not None:
            label.append(f" |g| {_norm(leaf.grad.numpy()):.3g}", "magenta")
        return label

    def _node_label(self, n: Node, ref: str = "", norm: bool = True) -> Any:
        label = _text((n.name, "bold cyan"), f" {_shape(n.shape)}{self._dtype(n.dtype)}")
        if ref:
            label.append(f" {ref}", "yellow")
        if norm and n in self.norms:
            label.append(f" |g| {self.norms[n]:.3g}", "magenta")
        return label

    def _dtype(self, dtype: Any) -> str:
        return "" if dtype == self.root.dtype else f" {dtype}"

    # -- building the tree -----------------------------------------------------
    def __rich__(self) -> Any:
        self._ids: dict = {}          # drawn node -> "#k" (if shared), "in #k × n" (collapsed away) or ""
        self._count = 0
        if self._repeats is None and not self.expand:
            self._repeats = _Repeats(self.edges, self.root)
            self._stacks = self._repeats.stacks
        from rich.tree import Tree
        tree = Tree(_text(("graph", "bold"), f" of a {self.root.dtype} tensor {_shape(self.root.shape)}: "
                          f"{self.num_ops} op{'' if self.num_ops == 1 else 's'}" + ("" if self.expand else ", repeats collapsed")))
        self._add(tree, self.root)
        return tree

    def _tag(self, n: Node, always: bool = False) -> str:
        """Nodes read more than once (or heading a collapsed block) get "#k" when first drawn, for references."""
        if (always or self.fanout.get(id(n), 0) > 1) and n not in self._ids:
            self._count += 1
            self._ids[n] = f"#{self._count}"
            return self._ids[n]
        return ""

    def _ref(self, n: Node, norm: bool = True) -> Any:
        return _text("↑ ", self._node_label(n, self._ids[n], norm), style="dim")

    def _add(self, parent: Tree, n: Node, always_tag: bool = False) -> None:
        """Draw node ``n`` under ``parent``: a reference if drawn before, else its label and its inputs.

        A chain of one-input ops goes on one line (``sigmoid ← getitem ← ...``)
        until an op with several inputs, a shared op, a leaf or a reference.
        """
        if n in self._ids:
            parent.add(self._ref(n))
            return
        if n in self._stacks:
            self._draw_chain(parent, *self._stacks[n])
            return
        chain = [] if self.expand else self._chain(n)
        if len(chain) >= 3:
            self._draw_chain(parent, chain)
            return
        label = self._node_label(n, self._tag(n, always_tag))
        self._ids.setdefault(n, "")                     # drawn (only shared nodes need a tag to refer to)
        inputs = [p for p in self.edges[n] if p is not None]
        while len(inputs) == 1 and not self.expand:
            p = inputs[0]
            if isinstance(p, Node) and p not in self._ids and (self.fanout.get(id(p), 0) > 1 or p in self._stacks):
                break                                   # a shared op or a stack, first time: its own line
            label.append(" ← ")
            if not isinstance(p, Node):
                label.append_text(self._leaf_label(p))
            elif p in self._ids:
                label.append_text(self._ref(p, norm=False))
            else:
                label.append_text(self._node_label(p, norm=False))
                self._ids[p] = ""
                inputs = [q for q in self.edges[p] if q is not None]
                continue
            inputs = []
        branch = parent.add(label)
        for group in self._runs(inputs):
            first = group[0]
            if not isinstance(first, Node):
                for leaf in group:
                    branch.add(self._leaf_label(leaf))
                continue
            if len(group) < 3:                          # two alike are drawn, not counted
                for p in group:
                    self._add(branch, p)
                continue
            self._add(branch, first, always_tag=True)
            self._collapse(branch, group)

    # -- collapsing repeats: chains (h_T <- h_T-1 <- ...) and runs of siblings (the steps a stack reads)
    def _below(self, start: Node, want: Callable, levels: int) -> Node | None:
        """The nearest node below ``start`` (at most ``levels`` down, not through drawn ones) with ``want(node)``."""
        frontier = [start]
        for _ in range(levels):
            nxt = []
            for p in (p for n in frontier for p in self.edges[n] if isinstance(p, Node)):
                if want(p):
                    return p
                if p not in self._ids:
                    nxt.append(p)
            frontier = nxt
        return None

    def _chain(self, n: Node) -> list:
        """``n`` and the nodes of equal structure it reads, each from the one before: a loop unrolled.

        Only links the repeated blocks cannot see (``n`` does not dominate the next one, which something
        else reads too): a block ``n`` dominates is a repeat only if ``_Repeats`` found it one.
        """
        chain = [n]
        while True:
            s = self.sig[chain[-1]]
            nxt = self._below(chain[-1], lambda p: self.sig[p] == s and p not in self._ids
                              and not self._repeats.dominates(chain[-1], p), 2 * self.depth + 2)
            if nxt is None or nxt in chain:
                return chain
            chain.append(nxt)

    def _draw_chain(self, parent: Tree, chain: list, unit: str = "steps", outside: list = ()) -> None:
        """Draw a chain of k equal blocks as one line "× k steps" (or layers) and, under it, the earliest block
        (after what every layer reads from outside: a decoder's memory, drawn here rather than deep inside)."""
        head = self._node_label(chain[0], self._tag(chain[0], always=True))
        ref = self._ids[chain[0]]
        how = ", each reading the one below; the earliest:" if unit == "steps" else ", one above the other; the lowest:"
        head.append_text(_text((f"  × {len(chain)} {unit}", "bold yellow"), how))
        branch = parent.add(head)
        if outside:
            shared = branch.add(_text("read by every layer:", style="dim"))
            for node in outside:
                self._add(shared, node)
        self._add(branch, chain[-1])
        ops = self._mark([p for p in self.edges[chain[0]] if isinstance(p, Node)], f"in {ref} × {len(chain)}")
        branch.add(_text(f"({ops} ops of the other {unit} not drawn; expand=True draws them)", style="dim"))

    def _runs(self, inputs: list) -> Iterator[list]:
        """Consecutive inputs of equal structure (and all new, or all drawn before) as one group."""
        group: list = []
        for p in inputs:
            if group and (self.expand or self._key(p) != self._key(group[0])):
                yield group
                group = []
            group.append(p)
        if group:
            yield group

    def _key(self, p: Any) -> Any:
        if not isinstance(p, Node):
            return ("leaf", id(p))
        return (self.sig[p], p in self._ids)

    def _collapse(self, branch: Tree, group: list) -> None:
        """Draw the rest of a run of equal blocks (the steps of an unrolled loop) as one labelled line."""
        first, rest = group[0], group[1:]
        if rest[0] in self._ids:                       # references to blocks drawn before
            branch.add(_text(f"↑ … and {len(rest)} more like it", style="dim"))
            return
        ref = self._ids[first]
        recurrent = self._below(rest[0], lambda p: p is first, 2 * self.depth + 2) is not None
        ops = self._mark(rest, f"in {ref} × {len(group)}")
        branch.add(_text((f"× {len(group)} steps", "bold yellow"), f" like {ref} above"
                         + (", each reading the one before" if recurrent else "")
                         + f" ({ops} ops not drawn: expand=True)"))

    def _mark(self, starts: list, label: str) -> int:
        """Label every node only reachable through skipped blocks, so later references name the block."""
        stack, count = list(starts), 0
        while stack:
            n = stack.pop()
            if n in self._ids:
                continue
            self._ids[n] = label
            count += 1
            stack.extend(p for p in self.edges[n] if isinstance(p, Node) and p not in self._ids)
        return count


def graph(t: Tensor, model: Module | None = None, params: dict | None = None, expand: bool = False,
          depth: int = 3) -> GraphView:
    """The graph that produced ``t`` as a rich Tree: ops, output shapes, dtypes, parameter names.

    Build it before ``backward()`` to see gradients: it hooks every node, and
    once backward has run each line also shows the gradient norm there
    (rendering happens when printed).  Built after ``backward()`` it draws the
    same graph (backward frees only the saved arrays), with the leaves' ``|grad|``.  Leaves are named by ``model``'s parameter names (or ``params``,
    a ``{name: tensor}`` dict; a Parameter's own ``_name`` otherwise).  Nodes
    read more than once get a ``#k`` tag when first drawn and are referenced
    (``↑ #k``) after.  Runs of inputs with equal structure (the steps of an
    unrolled RNN: see ``structural_signatures``) are drawn once and counted,
    and so are blocks stacked one on another ("× N layers" when each has
    parameters of its own, "× k steps" when they share them: see
    ``_Repeats``), unless ``expand=True``; ``depth`` is how many levels must agree.
    """
    return GraphView(t, model, params, expand, depth)


# ---------------------------------------------------------------------------
# Graphviz DOT
# ---------------------------------------------------------------------------

def to_dot(t: Tensor | GraphView, model: Module | None = None, params: dict | None = None) -> str:
    """Graphviz DOT source of the graph below ``t``: ops as boxes, leaf tensors as ellipses, shapes on edges.

    ``t`` may also be a ``GraphView`` (its snapshot outlives ``backward()``).
    """
    if isinstance(t, GraphView):
        edges, names = t.edges, {**_leaf_names(model, params), **t.names}
    elif t.grad_fn is None:
        raise ValueError("to_dot: this tensor has no grad_fn (a leaf, or computed without gradients)")
    else:
        edges, names = _snapshot(t.grad_fn), _leaf_names(model, params)
    ids: dict = {}

    def ident(x: Any) -> str:
        return ids.setdefault(id(x), f"n{len(ids)}")

    lines = ["digraph graph_of_tensor {", "  rankdir=BT;", '  node [fontname="Helvetica", fontsize=10];']
    leaves: dict = {}
    for n, ins in edges.items():
        lines.append(f'  {ident(n)} [shape=box, label="{n.name}\\n{_shape(n.shape)} {n.dtype}"];')
        for p in ins:
            if p is None:
                continue
            if not isinstance(p, Node):
                leaves[id(p)] = p
            lines.append(f'  {ident(p)} -> {ident(n)} [label="{_shape(p.shape)}"];')
    for leaf in leaves.values():
        name = names.get(id(leaf)) or getattr(leaf, "_name", None) or "leaf"
        lines.append(f'  {ident(leaf)} [shape=ellipse, style=filled, fillcolor="#d8f0d8", '
                     f'label="{name}\\n{_shape(leaf.shape)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_graph(t: Tensor | GraphView, path: str = "graph.svg", model: Module | None = None,
               params: dict | None = None) -> str:
    """Render the graph with Graphviz's ``dot`` (format from the extension); without it, write the .dot source.

    Returns the path written.
    """
    src = to_dot(t, model, params)
    fmt = path.rsplit(".", 1)[-1] if "." in path else "svg"
    if fmt == "dot" or shutil.which("dot") is None:
        out = path if fmt == "dot" else path.rsplit(".", 1)[0] + ".dot"
        with open(out, "w") as f:
            f.write(src)
        if fmt != "dot":
            print(f"save_graph: Graphviz's `dot` is not installed (apt-get install graphviz); wrote {out} instead")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src_path = os.path.join(tmp, "graph.dot")
        with open(src_path, "w") as f:
            f.write(src)
        subprocess.run(["dot", f"-T{fmt}", src_path, "-o", path], check=True)
    return path


# ---------------------------------------------------------------------------
# gradient flow through time
# ---------------------------------------------------------------------------

class GradientFlow(_View):
    """``norms[t]`` = |dL/dh_t| for each time step t of a recurrent layer's output (|dL/dx_t| with ``what="x"``)."""

    def __init__(self, name: str, norms: list[float], what: str = "h"):
        self.name, self.norms, self.what = name, norms, what

    def chart(self, **kw: Any) -> str:
        """The terminal chart (log scale, labelled axes), as plain text."""
        return _flow_chart({self.name: self.norms}, what=self.what, **kw)

    def plot(self, png: str | None = None) -> str | None:
        """Print the chart; with matplotlib, also save ``png`` (returns the path written)."""
        print(self.chart())
        return charts.save_png({self.name: self.norms}, png, title="gradient flow through time",
                               xlabel="time step t", ylabel="|dL/dh_t|", logy=True) if png else None

    def __rich__(self) -> Any:
        return _text(self.chart())


def _flow_chart(series: dict, what: str = "h", **kw: Any) -> str:
    kw.setdefault("title", f"gradient flow through time: |dL/d{what}_t| (loss on the last step)")
    return charts.line_chart(series, xlabel="time step t", ylabel=f"|dL/d{what}_t|", logy=True, **kw)


def _step_nodes(out: Tensor, steps: int) -> list:
    """The nodes of the per-step states h_t: the inputs of the ``stack`` that builds the layer's output.

    Searched for from the output down through a few views (transpose, squeeze;
    for a bidirectional layer the ``cat`` takes the forward direction first).
    """
    frontier = [out.grad_fn]
    for _ in range(4):
        nxt = []
        for n in frontier:
            if n.name == "stack" and len(n.inputs) == steps:
                return list(n.inputs)
            nxt.extend(p for p in n.inputs if isinstance(p, Node))
        frontier = nxt
    raise ValueError("gradient_flow: could not find the per-step outputs (a 'stack' of the steps) below the output")


def gradient_flow(layer: Module, x: Tensor, loss_fn: Callable | None = None, name: str | None = None) -> GradientFlow:
    """Run ``layer(x)`` and return |dL/dh_t| for every step t of its output (the last layer's h_t).

    dL/dh_t is the whole gradient reaching h_t: through the output at step t
    and through every later step (the recurrence).  It is read by a hook on
    the node of each h_t (the tensors the layer stacks into its output), so
    the cells need no special code.  ``loss_fn(output)`` defaults to the sum of
    the last step's output: the loss depends on h_T only, and the norms show
    how much of its gradient survives going back T - t steps (vanishing or
    exploding gradients).  The layer's parameters get gradients as usual.
    """
    out = layer(x)
    out = out[0] if isinstance(out, tuple) else out
    batch_first = getattr(layer, "batch_first", False) and out.ndim == 3
    steps = out.shape[1] if batch_first else out.shape[0]
    nodes = _step_nodes(out, steps)
    norms = [0.0] * steps
    for t, n in enumerate(nodes):
        def record(g: Tensor, t: int = t) -> None:
            norms[t] = _norm(g.numpy())
        n.register_hook(record)
    if loss_fn is None:
        loss = (out[:, -1] if batch_first else out[-1]).sum()
    else:
        loss = loss_fn(out)
    loss.backward()
    return GradientFlow(name or type(layer).__name__, norms)


def input_gradient_flow(model: Callable, x: Tensor, loss_fn: Callable | None = None, name: str | None = None,
                        batch_first: bool = False) -> GradientFlow:
    """Run ``model(x)`` and return |dL/dx_t|: how much gradient reaches each input position t.

    Works for any sequence model (recurrent, attention, ...): it reads the gradient of a
    fresh copy of ``x``.  The default loss is the sum of the last position's output, so the
    curve shows how strongly the last output still depends on each earlier input.
    """
    xin = x.detach().requires_grad_()
    out = model(xin)
    out = out[0] if isinstance(out, tuple) else out
    loss = loss_fn(out) if loss_fn is not None else (out[:, -1] if batch_first else out[-1]).sum()
    loss.backward()
    g = xin.grad.numpy()
    g = np.moveaxis(g, 1, 0) if batch_first else g
    return GradientFlow(name or type(model).__name__, [_norm(g[t]) for t in range(g.shape[0])], what="x")


def compare_gradient_flow(layers: dict, x: Tensor, loss_fn: Callable | None = None, png: str | None = None,
                          draw: bool = True, wrt: str = "state") -> dict:
    """``gradient_flow`` for each layer on the same input and loss; draws them in one chart (log scale).

    ``wrt="input"`` compares ``input_gradient_flow`` instead (|dL/dx_t|, any model, attention
    included).  Returns ``{name: GradientFlow}``.  With ``draw``, prints the terminal chart
    and, with matplotlib installed, saves ``png`` (if given).
    """
    if wrt not in ("state", "input"):
        raise ValueError(f"compare_gradient_flow: wrt must be 'state' or 'input', got {wrt!r}")
    flow = gradient_flow if wrt == "state" else input_gradient_flow
    flows = {name: flow(layer, x, loss_fn, name) for name, layer in layers.items()}
    what = "h" if wrt == "state" else "x"
    if draw:
        series = {name: f.norms for name, f in flows.items()}
        print(_flow_chart(series, what=what))
        if png:
            charts.save_png(series, png, title="gradient flow through time", xlabel="time step t",
                            ylabel=f"|dL/d{what}_t|", logy=True)
    return flows


# ---------------------------------------------------------------------------
# per-parameter gradients
# ---------------------------------------------------------------------------

class GradTable(_View):
    """Rows ``(name, shape, grad norm or None, status)``; rendered as a rich Table."""

    def __init__(self, rows: list):
        self.rows = rows

    def flagged(self, status: str) -> list[str]:
        """The names of the parameters with this status ("exploding", "vanishing", "no grad", "frozen")."""
        return [r[0] for r in self.rows if r[3] == status]

    def __rich__(self) -> Any:
        from rich.table import Table
        table = Table(title="gradient norms per parameter")
        for col, just in (("parameter", "left"), ("shape", "left"), ("|grad|", "right"), ("", "left")):
            table.add_column(col, justify=just)
        style = {"exploding": "bold red", "vanishing": "bold yellow", "no grad": "dim", "frozen": "dim"}
        for name, shape, norm, status in self.rows:
            table.add_row(name, _shape(shape), "-" if norm is None else f"{norm:.3g}",
                          _text((status, style.get(status, "green"))))
        return table


def grad_table(model: Module, explode: float = 1e3, vanish: float = 1e-6) -> GradTable:
    """Each parameter's gradient norm after backward: 'exploding' above ``explode``, 'vanishing' below ``vanish``."""
    rows = []
    for name, p in model.named_parameters():
        norm = None if p.grad is None else _norm(p.grad.numpy())
        status = ("frozen" if not p.requires_grad else "no grad" if norm is None else "exploding" if not norm <= explode
                  else "vanishing" if norm < vanish else "ok")
        rows.append((name, tuple(p.shape), norm, status))
    return GradTable(rows)


# ---------------------------------------------------------------------------
# model summary (Keras's model.summary())
# ---------------------------------------------------------------------------

@contextmanager
def _forward_outputs(model: Module) -> Iterator[dict]:
    """Record each submodule's first output and its number of calls in a forward run: {name: [output, calls]}.

    Wraps each module's ``forward`` in an instance attribute, removed on exit.
    (The one place to switch to ``register_forward_hook`` once Module has it.)
    """
    outputs: dict = {}
    modules = list(model.named_modules())
    for name, m in modules:
        def wrapper(*args: Any, _f: Callable = m.forward, _name: str = name, **kwargs: Any) -> Any:
            out = _f(*args, **kwargs)
            outputs.setdefault(_name, [out, 0])[1] += 1
            return out
        object.__setattr__(m, "forward", wrapper)
    try:
        yield outputs
    finally:
        for _, m in modules:
            m.__dict__.pop("forward", None)


def _out_shape(out: Any) -> str:
    if isinstance(out, Tensor):
        return _shape(out.shape)
    if isinstance(out, (tuple, list)):
        return "(" + ", ".join(_out_shape(o) for o in out) + ("," if len(out) == 1 else "") + ")"
    return "-" if out is None else type(out).__name__


class Summary(_View):
    """Rows ``(name, type, output shape, own parameter count)``, totals, trainable and frozen counts."""

    def __init__(self, rows: list, total: int, trainable: int):
        self.rows, self.total, self.trainable = rows, total, trainable

    @property
    def frozen(self) -> int:
        return self.total - self.trainable

    def __rich__(self) -> Any:
        from rich.table import Table
        table = Table(title="model summary", caption=f"Total params: {self.total:,}   Trainable: {self.trainable:,}"
                      f"   Frozen: {self.frozen:,}", caption_justify="left")
        table.add_column("layer (type)")
        table.add_column("output shape")
        table.add_column("params", justify="right")
        for name, kind, shape, count in self.rows:
            depth = name.count(".") + 1 if name else 0
            table.add_row("  " * depth + (f"{name.rsplit('.', 1)[-1]} ({kind})" if name else kind), shape,
                          f"{count:,}")
        return table


def summary(model: Module, *example_inputs: Any, **kwargs: Any) -> Summary:
    """Keras-style summary: every submodule, its output shape from a real forward run (no gradients), its own
    parameter count, and the totals, trainable and frozen (``requires_grad=False``)."""
    with no_grad(), _forward_outputs(model) as outputs:
        model(*example_inputs, **kwargs)
    rows = []
    for name, m in model.named_modules():
        out, calls = outputs.get(name, (None, 0))
        shape = "(not called)" if not calls else _out_shape(out) + (f" × {calls} calls" if calls > 1 else "")
        rows.append((name, type(m).__name__, shape, sum(p.numel() for p in m._parameters.values())))
    params = list(model.parameters())
    return Summary(rows, sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad))


# ---------------------------------------------------------------------------
# rich.print(tensor) and rich.print(module)
# ---------------------------------------------------------------------------

def tensor_rich(t: Tensor) -> Any:
    """A panel: the values as ``repr`` shows them, shape and dtype on top, grad_fn below, and min/mean/max."""
    body = np.array2string(t.numpy(), separator=", ", threshold=1000, edgeitems=3)
    title = f"tensor {_shape(t.shape)} {t.dtype}"
    if t.grad_fn is not None:
        sub = f"grad_fn=<{t.grad_fn.name}>"
    else:
        sub = "requires_grad=True" if t.requires_grad else ""
    text = _text(body)
    a = t.numpy()
    if a.size > 1 and a.dtype.kind == "f" and np.isfinite(a).all():
        text.append(f"\nmin {a.min():.4g}  mean {a.mean():.4g}  max {a.max():.4g}", "dim")
    from rich.panel import Panel
    return Panel(text, title=title, subtitle=sub or None, expand=False)


def module_rich(m: Module, name: str = "") -> Any:
    """A tree of submodules, each with its parameter count and its own parameters' shapes (frozen marked)."""
    from rich.tree import Tree
    count = sum(p.numel() for p in m.parameters())
    tree = Tree(_text((f"({name}) " if name else "", "dim"), (type(m).__name__, "bold cyan"),
                      f"({m.extra_repr()})", (f"  {count:,} param{'' if count == 1 else 's'}", "magenta")))
    for pname, p in m._parameters.items():
        tree.add(_text((pname, "green"), f" {_shape(p.shape)} {p.dtype}",
                       ("" if p.requires_grad else "  frozen", "yellow")))
    for cname, child in m._modules.items():
        tree.add(module_rich(child, cname))
    return tree
