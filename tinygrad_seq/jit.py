"""Capture and replay: ``tg.jit(fn)`` runs a function's ops again without the Python around them.

    step = tg.jit(lambda x, y: loss_fn(model(x), y))   # opt-in, for a function called many times
    loss = step(x, y)              # calls 1 and 2: eager, each recording the flat list of ops it ran
    loss.backward()                # the graph is the engine's own: backward, hooks on leaves, optimizers as usual
    loss = step(x2, y2)            # later calls with the same guard key: the recorded ops, replayed

    @tg.jit                        # or the whole step: forward and loss.backward() replayed together
    def forward_backward(x, y):
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    opt.zero_grad(); loss = forward_backward(x, y); opt.step()      # zero_grad and step outside the function

A speed trick in its own module, like ``lazygrad.py`` and ``_gc.py``: nothing in the engine knows about it
except one switch, ``State.capture``, which ``Node.apply`` serves through ``autograd.watch_forward``, and
``autograd.backward``, ``autograd.grad`` and the ``.grad`` setter tell about themselves.

**What is recorded.**  While ``fn`` runs eagerly, every op ``Node.apply`` runs is noted: its class, its
keyword constants, whether it recorded a node (``needs_input_grad``), and where each input came from:

* ``("op", k)``   the output of the k-th recorded op of this call;
* ``("arg", i)``  the i-th Tensor argument of the call;
* ``("ref", t)``  a tensor that outlives the call (a parameter, a module's buffer): read when replayed;
* ``("const", a)``  a tensor made during the call by no recorded op (``zeros`` for an initial state, a mask):
  its value, which must be the same in every call.

Which tensors outlive the call and which are made afresh is told apart by running ``fn`` eagerly twice:
the same object twice is a ``ref``, two objects are a ``const`` and must hold the same bits (a random
mask made outside the ops does not, nor does anything computed from an argument's values outside the
ops: such a function stays eager).  The second run must also record the same ops with the same
constants, else the function's control flow depends on the data and it stays eager for that key.

**What a replay does.**  The flat list, in order, compiled once into one straight-line Python function
(``_Plan``; its text is ``plan.source``): for each op its ``forward`` on the arrays and, when it recorded a
node in the capture, the node's fields exactly as ``Node.apply`` sets them.  Only the returned tensors
become Tensor objects.  The graph is the one eager mode would have built (same node classes, same inputs,
same order), so ``backward()`` is the engine's own generic backward and every gradient is bit for bit
eager's.

**Random numbers.**  An op that draws (``Node.draws``: ``ops.Dropout``) draws again when replayed, from
the default generator, in the same order as eager mode: the same masks for the same seed.  The capture
checks that the generator moves only inside such ops, and there by the op's own draw (its forward run
again from the state the previous op left must give the same output and state).  A function that draws
outside the ops (``tg.randn``, a mask made by hand, ``manual_seed``) stays eager, so that the generator
moves on exactly as it would.

**loss.backward() inside.**  When ``fn`` calls ``backward()`` once, on a scalar its own ops made, with no
other argument, the capture also notes the pass: the nodes in ``topological_order``.  A replay then runs
that pass too, in the same order with the same ``lazygrad.GradientSums`` (a gradient read by one node only
is a local variable), and accumulates into the leaves' ``.grad`` with ``autograd.accumulate_leaf`` (hooks on
leaves run): the same sums in the same order, the same bits.  The nodes that pass frees are made once and
reused by every replay: the call's own backward frees them before it returns, so no tensor outside can
reach one whose saved arrays are still there (a returned loss's graph is freed and walkable, as eagerly).
Eager instead, with the reason, when the pass is any other (``retain_graph``, ``create_graph``,
``inputs=``, a given gradient, two passes, ``autograd.grad``), when it reaches ops recorded before the call
(a state carried over without ``detach()``), when ops run after it, or when ``.grad`` is set inside
(``zero_grad()`` belongs outside: a replay would not run it).

**Guard key** of a call: grad mode, and per argument its shape, dtype and ``requires_grad`` (a Tensor) or
its value (anything hashable).  Each replay also checks that every ``ref`` tensor still has the shape, dtype
and ``requires_grad`` it had, and is still a leaf or still not one.  A new key captures again.

**Integer and boolean arguments** (characters, targets, masks) change from call to call in a training loop.
Where only ops read them (``embedding`` and ``nll_loss``/``cross_entropy`` of (N, C) take their indices as
an input, and check them, inside the op), a replay with other values computes what eager mode does.  Where
a function turns them into an op's constants (``x[idx]``, ``one_hot``), the two captures, which ran with
other values, differ: such a function is then keyed by those values too (a capture per distinct batch, as
if the values were part of the key).  An integer argument whose values were the same in both captures has
shown nothing, so a plan keeps those values and a call with others also goes to keying by values.

**Eager, always**, when anomaly mode or a forward-mode level is on at the call, or when the capture saw
what a replay cannot repeat: random numbers drawn outside the ops, an in-place change (``State.epoch`` moved), hooks or ``retain_grad`` on a
recorded node, anomaly or forward mode switched on inside, a Tensor among an op's constants, outputs that
are not tensors made by the recorded ops or arguments, keyword arguments, unhashable ones or tensors inside
another argument (pass an LSTM's ``(h, c)`` as two arguments).  The reason is
kept in ``.reasons`` (key -> text).  The key also holds the ``training`` flag of every module ``fn`` can see (``fn`` itself, a bound
method's module, modules in its closure, in the globals its code names, module arguments), so
``model.eval()``/``.train()`` captures again.  What the guard cannot see, other Python state that
changes the op list (a global flag, a module reached only through another function) or a parameter
replaced by another object
(``lin.weight = Parameter(...)``; changing one in place, as optimizers and ``load_state_dict`` do, is
fine) needs ``.reset()``, as with any tracing jit; and
values read outside the ops (a float argument's ``x.item()`` in an ``if``, ``x.numpy()``, a parameter's
array wrapped in a new tensor) are baked in if they happened to be the same in the two captured calls.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import lazygrad
from ._gc import full_gc_deferred
from ._state import State
from .autograd import FREED, accumulate_leaf, topological_order
from .tensor import Node, Tensor, _fill, _new

__all__ = ["jit"]

_ndarray = np.ndarray
MAX_KEYS = 32            # captures kept per jitted function
_FRAME_WORDS = 2112      # a replay's frame is at least this many words: more than a 16 KB frame chunk (see _Plan)


class _Recorder:
    """The op list of one eager run: called by ``autograd.watch_forward`` after every op."""

    def __init__(self, args: tuple):
        self.arg_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.ops: list = []           # (cls, params, sources, needs)
        self.out_index: dict = {}     # id(output tensor) -> k
        self.keep: list = []          # every tensor seen, so that no id is reused while recording
        self.nodes: list = []
        self.bad: str | None = None
        self.backward: tuple | None = None    # (root op, seed, op order, ops recorded before it) of loss.backward()
        self.rng, self.drawn = State.rng, State.rng.bit_generator.state      # the generator, as the last op left it

    def __call__(self, node: Node, inputs: tuple, t: Tensor, recorded: bool, params: dict) -> None:
        if State.anomaly or State.dual:
            self.bad = "anomaly mode or forward mode was switched on inside the function"
        sources = []
        for x in inputs:
            k = self.out_index.get(id(x))
            if k is not None:
                sources.append(("op", k))
            elif id(x) in self.arg_index:
                sources.append(("arg", self.arg_index[id(x)]))
            else:
                sources.append(("tensor", x))      # ref or const: told apart by comparing two captures
            self.keep.append(x)
        if any(isinstance(v, Tensor) for v in _leaves(params)):
            self.bad = f"op '{node.name}' has a Tensor among its constants"
        if State.rng is not self.rng or State.rng.bit_generator.state != self.drawn:
            self.bad = self.bad or _drew_alone(node, inputs, t, params, self.rng, self.drawn)
            self.rng, self.drawn = State.rng, State.rng.bit_generator.state
        self.out_index[id(t)] = len(self.ops)
        self.keep.append(t)
        self.nodes.append(node if recorded else None)
        self.ops.append((type(node), params, sources, node.needs_input_grad if recorded else None,
                         (t.array.shape, t.array.dtype)))

    def saw_backward(self, outputs: Any, gradient: Any, retain_graph: Any, create_graph: bool, inputs: Any) -> None:
        """``autograd.backward`` was called inside the function: note the pass a replay will run (one
        ``loss.backward()`` on an output of this call, with nothing else), or why a replay cannot repeat it."""
        if type(outputs) in (list, tuple) and len(outputs) == 1:
            outputs = outputs[0]
        root = outputs if isinstance(outputs, Tensor) else None
        if self.backward is not None or self.bad:
            self.bad = self.bad or "backward() ran twice"
        elif root is None or gradient is not None or retain_graph or create_graph or inputs is not None:
            self.bad = "a backward() other than loss.backward() (gradient, retain_graph, create_graph or inputs)"
        elif id(root) not in self.out_index or self.nodes[self.out_index[id(root)]] is None:
            self.bad = "backward() from a tensor this call's ops did not record"
        else:
            index = {id(n): k for k, n in enumerate(self.nodes) if n is not None}
            order = [index.get(id(n)) for n in topological_order([root.grad_fn])]
            if None in order:
                self.bad = "backward() reaches ops recorded before the call"
            elif any(n.hooks is not None for n in topological_order([root.grad_fn])):
                self.bad = "a hook or retain_grad on a recorded node"
            else:
                self.backward = (order[0], np.ones_like(root.array), order, len(self.ops))

    def side_effect(self, what: str) -> None:
        """Something a replay would not do again happened inside the function."""
        self.bad = self.bad or what


def _drew_alone(node: Node, inputs: tuple, t: Tensor, params: dict, rng: Any, before: dict) -> str | None:
    """The generator moved while an op ran: None if the op draws (``Node.draws``) and its draw alone moved it, that
    is, if its forward run again from the state the previous op left gives the same output and the same state
    (then a replay, running the op again, draws what eager mode draws); else why a replay cannot repeat it."""
    why = "it draws random numbers outside the ops (a replay would not draw them again)"
    if not type(node).draws or State.rng is not rng:
        return why
    after, again = State.rng.bit_generator.state, np.random.Generator(type(rng.bit_generator)())
    again.bit_generator.state = before
    State.rng = again
    try:
        rerun = _new(type(node))
        rerun.needs_input_grad, rerun.saved = node.needs_input_grad, None
        out = np.asarray(rerun.forward(*[x.array for x in inputs], **params))
    finally:
        State.rng = rng
    same = again.bit_generator.state == after and out.dtype == t.array.dtype and out.tobytes() == t.array.tobytes()
    return None if same else why


def _leaves(x: Any):
    if isinstance(x, dict):
        for v in x.values():
            yield from _leaves(v)
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


def _same(a: Any, b: Any) -> bool:
    """Two op constants are the same: equal Python values, or arrays with the same dtype, shape and bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, _ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    try:
        return bool(a == b)
    except Exception:                # noqa: BLE001  (an object with an odd __eq__: not the same)
        return False


class _Plan:
    """A verified op list, compiled into one straight-line Python function: what ``jit`` replays.

    The function has one line per op (``v7 = f7(v3, r2.array, **p7)``) and, for an op that records a node,
    the lines that fill in the node's fields as ``Node.apply`` would; an intermediate array is deleted after
    its last reader (a replay holds no more memory than eager mode).  Where the captured call also ran
    ``loss.backward()``, the function then runs the backward pass over the recorded order, and the nodes that
    pass frees are made once, when the plan is made, and reused by every replay (nothing outside can hold one
    whose saved arrays are still there: the call's own backward freed them before it returned).
    """

    def __init__(self, ops: list, refs: list, outputs: Any, backward: tuple | None = None):
        self.ops, self.refs, self.outputs, self.backward = ops, refs, outputs, backward
        self.fixed: list = []         # (argument, bytes): integer values both captures had (see jit.__call__)
        returned: set = set()
        _rebuild(outputs, lambda spec: returned.add(spec[1]) if spec[0] == "op" else None)
        last = {}                     # op -> the last op reading its output
        for k, (_, _, sources, _, _) in enumerate(ops):
            for kind, ref in sources:
                if kind == "op":
                    last[ref] = k
        drops: list = [[] for _ in ops]
        for j in range(len(ops)):
            if j not in returned:
                drops[last.get(j, j)].append(j)
        reached = set(backward[2]) if backward is not None else set()
        env: dict = {"_new": _new, "_ndarray": _ndarray, "_asarray": np.asarray, "State": State}
        code = ["def replay(args):", "    epoch = State.epoch"]
        for i in range(max((ref for _, _, sources, _, _ in ops for kind, ref in sources if kind == "arg"),
                           default=-1) + 1):
            code.append(f"    a{i} = args[{i}]")
        self.nodes: list = [None] * len(ops)
        for k, (cls, params, sources, needs, (shape, dtype)) in enumerate(ops):
            arrays, parents = [], []
            for j, (kind, ref) in enumerate(sources):
                if kind == "op":
                    arrays.append(f"v{ref}")
                    parents.append(f"n{ref}")
                elif kind == "const":
                    env[f"c{k}_{j}"] = ref
                    arrays.append(f"c{k}_{j}")
                    parents.append("None")
                else:
                    name = f"a{ref}" if kind == "arg" else f"r{k}_{j}"
                    if kind == "ref":
                        env[name] = ref
                    arrays.append(f"{name}.array")
                    parents.append(f"({name}.grad_fn or {name})")
            call = ", ".join(arrays) + (f", **p{k}" if params else "")
            env[f"p{k}"] = params
            if k in reached:          # made once: this call's backward frees it before anything outside can hold it
                node = _new(cls)
                node.needs_input_grad, node.saved, node.hooks, node.epoch = needs, None, None, 0
                node.shape, node.dtype = shape, dtype          # (the same in both captures, as every op's)
                self.nodes[k] = env[f"n{k}"] = node
                env[f"f{k}"] = node.forward
                code.append(f"    v{k} = f{k}({call})")
            else:
                env[f"C{k}"], env[f"N{k}"] = cls, needs
                code += [f"    n{k} = _new(C{k})", f"    n{k}.needs_input_grad = N{k}", f"    n{k}.saved = None",
                         f"    v{k} = n{k}.forward({call})"]
            if shape == ():                              # numpy returns a scalar for a 0-d result: keep arrays
                code.append(f"    if type(v{k}) is not _ndarray: v{k} = _asarray(v{k})")
            if needs is not None:
                inputs = ", ".join(p if n else "None" for p, n in zip(parents, needs))
                fields = []
                if k not in reached or any(kind == "arg" for kind, _ in sources):
                    fields.append(f"n{k}.inputs = ({inputs},)")
                if k not in reached:
                    fields += [f"n{k}.hooks = None", f"n{k}.epoch = epoch", f"n{k}.shape = v{k}.shape",
                               f"n{k}.dtype = v{k}.dtype"]
                code += ["    " + f for f in fields]
            if drops[k]:
                code.append("    del " + ", ".join(f"v{j}" for j in drops[k]))
        if backward is not None:
            root, seed, order = backward
            env.update(_sums=lazygrad.GradientSums, _dense=lazygrad.dense, _accumulate=accumulate_leaf,
                       _FREED=FREED, _seed=seed, _order=[self.nodes[k] for k in order])
            for k in order:                 # a reached node's inputs that never change: set once
                cls, params, sources, needs, _ = ops[k]
                if not any(kind == "arg" for kind, _ in sources):
                    self.nodes[k].inputs = tuple(
                        (self.nodes[ref] if kind == "op" else ref) if n else None
                        for (kind, ref), n in zip(sources, needs))
            code += ["    sums = _sums()", *self._backward_code(root, order, env)]
        kept = sorted({spec[1] for spec in _specs(outputs) if spec[0] == "op"})
        code.append("    return {" + ", ".join(f"{j}: (v{j}, {'None' if ops[j][3] is None else f'n{j}'})"
                                          for j in kept) + "}")
        self.source = "\n".join(code)
        exec(compile(self.source, "<tg.jit replay>", "exec"), env)    # noqa: S102  (our own generated source)
        c = env["replay"].__code__
        if c.co_nlocals + c.co_stacksize < _FRAME_WORDS:
            # Speed: CPython 3.11+ keeps frames in 16 KB chunks.  A frame of thousands of locals that just fits in
            # the chunk it is called from leaves no room for the calls it makes, and each of those then maps a new
            # chunk and unmaps it on return (medium: 463 mmap/munmap pairs a step, about 6% of it).  Unused names
            # (never run: ``if False``) make the frame too large for any 16 KB chunk, so it gets a chunk of its
            # own with room to spare, mapped once per replay.
            pad = " = ".join(f"_pad{i}" for i in range(_FRAME_WORDS - c.co_nlocals - c.co_stacksize))
            code.insert(1, f"    if False: {pad} = None")
            self.source = "\n".join(code)
            exec(compile(self.source, "<tg.jit replay>", "exec"), env)    # noqa: S102
        self.replay = env["replay"]

    def _backward_code(self, root: int, order: list, env: dict) -> list:
        """The lines of the backward pass: for each node in the recorded order, its summed gradient, its VJP, and
        each input's contribution.  A node read by one node only gets its gradient in a local variable; every
        other sum goes through ``GradientSums`` in the order eager mode adds them (same sums, same bits)."""
        ops, nodes = self.ops, self.nodes
        readers: dict = {}
        for k in order:
            for (kind, ref), n in zip(ops[k][2], ops[k][3]):
                if n and kind == "op":
                    readers[ref] = readers.get(ref, 0) + 1
        code = [f"    g{root} = _seed.copy()"]
        for k in order:
            cls, _, sources, needs, _ = ops[k]
            env[f"b{k}"] = nodes[k].backward
            local = readers.get(k, 0) <= 1
            code.append(f"    g = g{k}" if local else f"    g = sums.pop(n{k})")
            if local:
                code.append(f"    del g{k}")           # (a gradient lives no longer than in eager mode's loop)
            if not cls.takes_lazy:
                code.append("    if type(g) is not _ndarray: g = _dense(g)")
            code.append(f"    r = b{k}(g)")
            for j, ((kind, ref), n) in enumerate(zip(sources, needs)):
                if not n:
                    continue
                if kind == "op" and readers[ref] == 1:
                    code.append(f"    g{ref} = r[{j}]")
                else:
                    key = f"n{ref}" if kind == "op" else f"a{ref}" if kind == "arg" else f"r{k}_{j}"
                    code.append(f"    sums.add({key}, r[{j}])")
            code.append(f"    if n{k}.saved is not None: n{k}.saved = None; n{k}.epoch = _FREED")
        code += ["    for leaf in list(sums):", "        _accumulate(leaf, sums.pop_owned(leaf))"]
        return code

    running = False

    def run(self, args: tuple) -> Any:
        self.running = True
        try:
            with full_gc_deferred():
                made = self.replay(args)
        except BaseException:
            for node in self.nodes:          # a replay stopped half way: nothing of it stays saved
                if node is not None:
                    node.saved = None
                    node.epoch = FREED
            raise
        finally:
            self.running = False
        tensors: dict = {}

        def build(spec: Any) -> Any:
            kind, ref = spec
            if kind == "op":
                if ref not in tensors:
                    value, node = made[ref]
                    tensors[ref] = _fill(_new(Tensor), value, node is not None, node)
                return tensors[ref]
            if kind == "arg":
                return args[ref]
            return None
        return _rebuild(self.outputs, build)


def _specs(spec: Any):
    kind, ref = spec
    if kind in ("tuple", "list"):
        for s in ref:
            yield from _specs(s)
    else:
        yield spec


def _rebuild(spec: Any, build: Callable) -> Any:
    kind, ref = spec
    if kind in ("tuple", "list"):
        items = [_rebuild(s, build) for s in ref]
        return tuple(items) if kind == "tuple" else items
    return build(spec)


def _output_spec(out: Any, rec: _Recorder) -> Any:
    """Where each returned tensor comes from, or None if a replay could not return it."""
    if out is None:
        return ("none", None)
    if isinstance(out, Tensor):
        if id(out) in rec.out_index:
            return ("op", rec.out_index[id(out)])
        if id(out) in rec.arg_index:
            return ("arg", rec.arg_index[id(out)])
        return None
    if isinstance(out, (tuple, list)) and type(out) in (tuple, list):
        specs = [_output_spec(o, rec) for o in out]
        if any(s is None for s in specs):
            return None
        return ("tuple" if type(out) is tuple else "list", specs)
    return None


class jit:
    """``tg.jit(fn)`` (or ``@tg.jit``): ``fn``'s ops captured on its first calls and replayed on later ones.

    ``fn`` takes positional arguments and returns a Tensor, or a (nested) tuple or list of Tensors (or None).
    Returns exactly what eager ``fn`` returns, the graph included: see this module's docstring for what it
    records, when it replays, and when it stays eager.  ``.replays``, ``.captures`` and ``.eager_calls`` count
    the calls; ``.reasons`` says why a key stays eager; ``.reset()`` forgets every capture.
    """

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.reset()

    def reset(self) -> None:
        """Forget every capture (for a change the guard cannot see, such as a global flag)."""
        self.plans: dict = {}       # key -> _Recorder (first capture) | _Plan | None (stays eager) | _BY_VALUE
        self.reasons: dict = {}
        self.replays = self.captures = self.eager_calls = 0

    def _modes(self, args: tuple) -> tuple:
        """The ``training`` flag of every module ``fn`` can see: ``fn`` itself, the module of a bound method,
        modules in its closure, in the globals its code names, and module arguments (``model.eval()`` or
        ``.train()`` changes the op list without changing any tensor, so it is part of the key)."""
        fn = self.fn
        seen = [fn, getattr(fn, "__self__", None), *args]
        seen += [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if c.cell_contents is not None]
        code, env = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
        if code is not None and env is not None:
            seen += [env.get(name) for name in code.co_names]
        flags: list = []
        for obj in seen:
            if isinstance(getattr(obj, "training", None), bool) and callable(getattr(obj, "modules", None)):
                flags.append(tuple(m.training for m in obj.modules()))
        return tuple(flags)

    def _key(self, args: tuple) -> Any:
        parts: list = [State.grad_enabled, self._modes(args)]
        for a in args:
            if isinstance(a, Tensor):
                arr = a.array
                parts.append(("T", arr.shape, arr.dtype.str, a.requires_grad, a.grad_fn is None))
            else:
                if any(isinstance(v, Tensor) for v in _leaves(a)):
                    raise TypeError("a Tensor inside another argument")     # (a tuple state): stays eager
                hash(a)
                parts.append(("v", type(a), a))
        return tuple(parts)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or State.watch:
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        try:
            key = self._key(args)
        except TypeError:
            self.eager_calls += 1
            return self.fn(*args)
        plan = self.plans.get(key, False)
        if isinstance(plan, _Plan) and plan.fixed and not all(args[i].array.tobytes() == b for i, b in plan.fixed):
            plan = self.plans[key] = _BY_VALUE     # values the two captures shared changed: nothing shows it is safe
        by_value = plan is _BY_VALUE
        if by_value:
            key = (key, _values(args))
            plan = self.plans.get(key, False)
        if plan is False and len(self.plans) >= MAX_KEYS:
            self.eager_calls += 1            # too many different keys: this function does not repeat itself
            return self.fn(*args)
        if isinstance(plan, _Plan):
            if all(t.array.shape == s and t.array.dtype == d and t.requires_grad == r and (t.grad_fn is None) == f
                   for t, s, d, r, f in plan.refs):
                if not plan.running:          # (a leaf's hook calling the function again: eager inside)
                    self.replays += 1
                    return plan.run(args)
                self.eager_calls += 1
                return self.fn(*args)
            plan = False                 # a parameter changed shape, dtype or requires_grad: capture again
        if plan is None:
            self.eager_calls += 1
            return self.fn(*args)
        return self._capture(key, args, plan or None, by_value)

    def _capture(self, key: Any, args: tuple, first: _Recorder | None, by_value: bool) -> Any:
        self.captures += 1
        rec = _Recorder(args)
        rec.values = _values(args)
        epoch = State.epoch
        State.capture = rec
        State.watch = True
        try:
            out = self.fn(*args)
        finally:
            State.capture = None
            State.watch = State.anomaly or State.dual
        why = rec.bad
        if why is None and (State.rng is not rec.rng or State.rng.bit_generator.state != rec.drawn):
            why = "it draws random numbers outside the ops (a replay would not draw them again)"
        if why is None and State.epoch != epoch:
            why = "an in-place change during the call"
        if why is None and any(n is not None and n.hooks is not None for n in rec.nodes):
            why = "a hook or retain_grad on a recorded node"
        if why is None and rec.backward is not None and rec.backward[3] != len(rec.ops):
            why = "ops ran after backward()"
        spec = _output_spec(out, rec) if why is None else None
        if why is None and spec is None:
            why = "it returns something other than tensors made by its ops or arguments"
        if why is not None:
            self.plans[key] = None
            self.reasons[key] = why
            return out
        rec.spec = spec
        if first is None:
            self.plans[key] = rec
            return out
        plan = _verify(first, rec)
        if isinstance(plan, str) and not by_value and first.values != rec.values:
            # other integer values, other ops or constants: the values are read outside the ops; key by them
            self.plans[key] = _BY_VALUE
            self.plans[(key, rec.values)] = rec           # (this call: the first capture of its values)
        elif isinstance(plan, str):
            self.plans[key] = None
            self.reasons[key] = plan
        else:
            plan.fixed = [] if by_value else [(i, b) for i, (a, b) in enumerate(zip(first.values, rec.values))
                                              if b is not None and a == b]
            self.plans[key] = plan
        return out


_BY_VALUE = "keyed by the values of its integer arguments"      # a plans entry: look up (key, _values(args))


def _values(args: tuple) -> tuple:
    """The bytes of every integer or boolean tensor argument (None for other arguments)."""
    return tuple(a.array.tobytes() if isinstance(a, Tensor) and a.array.dtype.kind in "biu" else None for a in args)


def _verify(a: _Recorder, b: _Recorder) -> _Plan | str:
    """Two captures of one key: the plan if they ran the same ops on the same constants, else why not."""
    if len(a.ops) != len(b.ops):
        return f"the op list changed between two calls ({len(a.ops)} ops, then {len(b.ops)})"
    if not _same_spec(a.spec, b.spec):
        return "the outputs changed between two calls"
    if (a.backward is None) != (b.backward is None) or (a.backward is not None and (
            a.backward[0] != b.backward[0] or a.backward[2] != b.backward[2] or not _same(a.backward[1], b.backward[1]))):
        return "the backward pass changed between two calls"
    ops, refs, seen = [], [], set()
    for k, ((ca, pa, sa, na, za), (cb, pb, sb, nb, zb)) in enumerate(zip(a.ops, b.ops)):
        if ca is not cb or na != nb or za[0] != zb[0] or za[1] != zb[1] or len(sa) != len(sb) or not _same(pa, pb):
            return f"op {k} ('{cb.name}') changed between two calls"
        sources = []
        for (ka, ra), (kb, rb) in zip(sa, sb):
            if ka != kb or (ka != "tensor" and ra != rb):
                return f"op {k} ('{cb.name}') read other inputs in two calls"
            if kb != "tensor":
                sources.append((kb, rb))
            elif ra is rb:                          # the same object in both calls: read it when replaying
                sources.append(("ref", rb))
                if id(rb) not in seen:
                    seen.add(id(rb))
                    refs.append((rb, rb.array.shape, rb.array.dtype, rb.requires_grad, rb.grad_fn is None))
            elif rb.requires_grad or ra.requires_grad or not _same(ra.array, rb.array):
                return f"op {k} ('{cb.name}') read a tensor made outside the recorded ops whose value changed"
            else:
                sources.append(("const", rb.array.copy()))
        ops.append((cb, _frozen(pb), tuple(sources), nb, zb))
    return _Plan(ops, refs, b.spec, b.backward[:3] if b.backward is not None else None)


def _same_spec(a: Any, b: Any) -> bool:
    return a == b


def _frozen(params: dict) -> dict:
    """The op's constants with every array copied (nothing outside the plan can change them)."""
    def copy(v: Any) -> Any:
        if isinstance(v, _ndarray):
            return v.copy()
        if type(v) in (tuple, list):
            return type(v)(copy(x) for x in v)
        if isinstance(v, dict):
            return {k: copy(x) for k, x in v.items()}
        return v
    return {k: copy(v) for k, v in params.items()}
