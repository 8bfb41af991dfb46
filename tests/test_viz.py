"""See inside: REPL views, the graph as a tree and as DOT, gradient flow through time, summaries, anomalies."""
import inspect
import io
import re
import shutil

import numpy as np
import pytest
from rich.console import Console

import tinygrad_seq as tg
from tinygrad_seq import charts, nn, viz
from tinygrad_seq.nn.recurrent import lstm_step
from tinygrad_seq.tensor import AccumulateGrad, Node


def render(obj, width=100):
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False).print(obj)
    return buf.getvalue()


def lineno():
    return inspect.currentframe().f_back.f_lineno


# -- REPL ------------------------------------------------------------------------------------------

def test_repr_is_pytorch_like_and_large_tensors_are_shortened_as_numpy_does():
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert repr(a) == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert repr(a * 2).endswith("grad_fn=<mul>)")
    big = repr(tg.arange(5000, dtype=tg.float32))
    assert "..." in big and len(big) < 200 and big.startswith("tensor([0.") and "4.999e+03])" in big
    assert str(a) == repr(a)                        # print stays plain text


def test_the_graph_can_be_walked_by_hand_through_next_functions():
    w = tg.randn(3, 4, requires_grad=True)
    x = tg.randn(2, 3)
    y = (x @ w).tanh()
    assert y.grad_fn.name == "tanh" and y.grad_fn.shape == (2, 4)
    (mm, _), = y.grad_fn.next_functions
    assert mm.name == "matmul" and (2, 3) in mm.saved_shapes and (3, 4) in mm.saved_shapes
    fns = [f for f, _ in mm.next_functions]
    assert fns[0] is None and isinstance(fns[1], AccumulateGrad) and fns[1].variable is w


def test_rich_print_of_tensor_and_module_is_rich_and_print_stays_plain():
    t = tg.randn(3, 4, requires_grad=True)
    out = render(t)
    assert "tensor (3, 4) float32" in out and "requires_grad=True" in out and "mean" in out
    assert "grad_fn=<matmul>" in render(t @ tg.randn(4, 2))
    m = nn.LSTM(4, 8, num_layers=2)
    out = render(m)
    assert "LSTM(4, 8, num_layers=2)" in out and "weight_hh_l1 (32, 8) float32" in out
    assert f"{m.num_parameters():,} params" in out
    assert "\x1b" not in render(m) and repr(m).startswith("LSTM(")


# -- the graph as a tree ---------------------------------------------------------------------------

def lstm_loss(T=100, layers=2, seed=0):
    tg.manual_seed(seed)
    m = nn.LSTM(8, 16, num_layers=layers)
    out, _ = m(tg.randn(T, 1, 8))
    return m, out[-1].sum()


def test_the_tree_of_a_two_layer_lstm_over_100_steps_collapses_its_steps_onto_one_screen(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")                  # a 100 x 50 screen
    m, loss = lstm_loss()
    view = viz.graph(loss, model=m)
    text = str(view)
    lines = text.splitlines()
    assert len(lines) <= 50
    assert text.count("× 100 steps") == 2                 # one collapsed block per layer
    assert "each reading the one before" in text
    for shape in ["(100, 1, 64)", "(100, 1, 16)", "(1, 64)", "(1, 16)", "(16, 64)"]:
        assert shape in text
    for name in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l1", "weight_hh_l1"]:
        assert name in text
    assert "float32" in lines[0] and f"{view.num_ops} ops" in lines[0]
    assert "|g|" not in text
    loss.backward()                                       # hooks recorded the norms; shown when rendered
    assert len(str(view).splitlines()) <= 50
    after = render(view, width=200)
    assert "sum () |g| 1" in after and re.search(r"weight_hh_l0 \(64, 16\) \|g\| \d", after)
    top = [n for n in view.edges if n.name == "stack" and n.shape == (100, 1, 16)]
    assert len(top) == 2 and all(n in view.norms for n in top)


def test_expand_draws_every_step_and_a_chain_of_steps_is_counted():
    tg.manual_seed(0)
    m = nn.RNN(4, 8)
    out, h = m(tg.randn(5, 1, 4))
    full = str(viz.graph(out.sum(), model=m, expand=True))
    assert "×" not in full and full.count("── tanh (1, 8)") == 5
    short = str(viz.graph(out.sum(), model=m))
    assert "× 4 steps like #" in short          # steps 1..4 read the step before; step 0 reads no h (zeros)
    assert len(short.splitlines()) < len(full.splitlines())
    out, h = m(tg.randn(20, 1, 4))
    chain = str(viz.graph(h.sum(), params={"W": m.weight_hh_l0}))   # h_T reads h_T-1 reads ...: a chain
    assert "× 19 steps, each reading the one below" in chain       # 19 steps read a previous one (h_0 does not)
    assert "W (8, 8)" in chain and len(chain.splitlines()) < 25


def test_leaves_are_named_by_model_params_dict_or_their_own_name():
    lin = nn.Linear(3, 2)
    y = lin(tg.randn(4, 3)).sum()
    assert "weight (2, 3)" in str(viz.graph(y))                    # Parameter._name
    assert "head.weight (2, 3)" in str(viz.graph(y, params={"head.weight": lin.weight}))
    a = tg.randn(2, requires_grad=True)
    assert "leaf (2,)" in str(viz.graph((a * a).sum()))


# -- DOT -------------------------------------------------------------------------------------------

def count_by_walking(t):
    """Ops, leaves and edges of the graph below t, counted through next_functions only."""
    seen, leaves, edges, stack = set(), set(), 0, [t.grad_fn]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        for fn, _ in n.next_functions:
            if fn is None:
                continue
            edges += 1
            if isinstance(fn, AccumulateGrad):
                leaves.add(id(fn.variable))
            else:
                stack.append(fn)
    return len(seen), len(leaves), edges


def test_dot_source_parses_and_has_one_node_per_op_and_leaf_and_one_edge_per_input():
    m, loss = lstm_loss(T=6)
    dot = viz.to_dot(loss, model=m)
    lines = dot.strip().splitlines()
    assert lines[0].startswith("digraph") and lines[-1] == "}"
    nodes = re.findall(r"^  (n\d+) \[shape=(box|ellipse)", dot, re.M)
    edges = re.findall(r"^  (n\d+) -> (n\d+) \[label=\"\(([\d, ]*)\)\"\];$", dot, re.M)
    ops, leaves, n_edges = count_by_walking(loss)
    assert sum(s == "box" for _, s in nodes) == ops
    assert sum(s == "ellipse" for _, s in nodes) == leaves == 8
    assert len(edges) == n_edges
    declared = {n for n, _ in nodes}
    assert len(declared) == len(nodes) and all(a in declared and b in declared for a, b, _ in edges)
    assert dot.count("{") == dot.count("}") == 1
    assert 'label="weight_hh_l1\\n(64, 16)"' in dot


def test_save_graph_renders_with_dot_or_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    m, loss = lstm_loss(T=3, layers=1)
    if shutil.which("dot"):
        path = viz.save_graph(loss, str(tmp_path / "g.svg"), model=m)
        assert open(path).read().lstrip().startswith(("<?xml", "<svg"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = viz.save_graph(loss, str(tmp_path / "g.svg"), model=m)
    assert path.endswith("g.dot") and open(path).read() == viz.to_dot(loss, model=m)
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "apt-get install graphviz" in said[0]


# -- gradient flow through time --------------------------------------------------------------------

def test_gradient_flow_norms_equal_norms_of_retained_grads_of_a_hand_unrolled_rnn_and_lstm():
    tg.manual_seed(1)
    x = tg.randn(12, 3, 5)
    for layer in (nn.RNN(5, 7), nn.LSTM(5, 7)):
        flow = viz.gradient_flow(layer, x)
        w_ih, w_hh, b_ih, b_hh = layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0
        xw = x @ w_ih.T + b_ih + b_hh
        h = c = tg.zeros(3, 7)
        hs = []
        for t in range(12):
            if isinstance(layer, nn.LSTM):
                h, c = lstm_step(xw[t], h, c, w_hh.T)
            else:
                h = (xw[t] + h @ w_hh.T).tanh()
            h.retain_grad()
            hs.append(h)
        hs[-1].sum().backward()
        by_hand = [np.linalg.norm(h.grad.numpy()) for h in hs]
        np.testing.assert_allclose(flow.norms, by_hand, rtol=1e-5)
        assert flow.norms[-1] == pytest.approx(np.sqrt(3 * 7))          # dL/dh_T = ones


def test_over_50_steps_the_tanh_rnn_gradient_vanishes_orders_of_magnitude_more_than_the_lstms():
    tg.manual_seed(0)
    x = tg.randn(50, 4, 8) * 4                      # inputs large enough to saturate tanh units
    flows = viz.compare_gradient_flow({"rnn": nn.RNN(8, 32), "lstm": nn.LSTM(8, 32)}, x, draw=False)
    rnn, lstm = flows["rnn"].norms, flows["lstm"].norms
    assert rnn[-1] == pytest.approx(lstm[-1])       # same loss, same gradient at h_T
    assert rnn[1] < 1e-3 * lstm[1]                  # dL/dh_1: orders of magnitude apart
    assert all(b > a for a, b in zip(rnn, rnn[1:]))  # and the RNN's shrinks at every step back


def test_compare_gradient_flow_draws_one_chart_with_labelled_axes_and_a_png(tmp_path, capsys):
    tg.manual_seed(0)
    x = tg.randn(10, 2, 3)
    png = str(tmp_path / "flow.png")
    flows = viz.compare_gradient_flow({"rnn": nn.RNN(3, 4), "lstm": nn.LSTM(3, 4), "gru": nn.GRU(3, 4)}, x, png=png)
    assert set(flows) == {"rnn", "lstm", "gru"} and all(len(f.norms) == 10 for f in flows.values())
    chart = capsys.readouterr().out
    assert "time step t" in chart and "|dL/dh_t| (log scale)" in chart and "● rnn" in chart and "+ gru" in chart
    if charts.have_matplotlib():
        assert open(png, "rb").read(4) == b"\x89PNG"
    assert "time step t" in str(flows["gru"])


def test_gradient_flow_handles_batch_first_and_a_custom_loss():
    tg.manual_seed(0)
    layer = nn.GRU(3, 4, batch_first=True)
    flow = viz.gradient_flow(layer, tg.randn(2, 6, 3), loss_fn=lambda out: (out ** 2).mean())
    assert len(flow.norms) == 6 and all(n > 0 for n in flow.norms)


# -- per-parameter gradients -----------------------------------------------------------------------

def test_grad_table_flags_exploding_and_vanishing_gradients():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3))
    model[2].weight.requires_grad_(False)
    x = tg.randn(4, 3)
    loss = (model[0](x) * 1e6).sum() + (model[1](x) * 1e-9).sum()
    loss.backward()
    table = viz.grad_table(model, explode=1e3, vanish=1e-6)
    assert set(table.flagged("exploding")) == {"0.weight", "0.bias"}
    assert set(table.flagged("vanishing")) == {"1.weight", "1.bias"}
    assert table.flagged("frozen") == ["2.weight"] and table.flagged("no grad") == ["2.bias"]
    norms = {name: n for name, _, n, _ in table.rows}
    assert norms["0.bias"] == pytest.approx(np.linalg.norm(model[0].bias.grad.numpy()))
    assert "exploding" in str(table) and "vanishing" in str(table)


# -- summary ---------------------------------------------------------------------------------------

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2)
        self.head = nn.Linear(16, 5)

    def forward(self, idx):
        out, _ = self.lstm(self.emb(idx))
        return self.head(out)


def test_summary_counts_and_output_shapes_come_from_the_parameters_and_a_real_forward():
    m = Tagger()
    m.emb.weight.requires_grad_(False)
    idx = tg.randint(0, 50, (12, 3))
    s = tg.nn.summary(m, idx)
    sizes = [p.numel() for p in m.parameters()]
    assert s.total == sum(sizes) == sum(count for *_, count in s.rows)
    assert s.frozen == 400 and s.trainable == s.total - 400
    rows = {name: (kind, shape) for name, kind, shape, _ in s.rows}
    emb = m.emb(idx)
    out, (h, c) = m.lstm(emb)
    assert rows["emb"] == ("Embedding", str(emb.shape))
    assert rows["lstm"] == ("LSTM", f"({out.shape}, ({h.shape}, {c.shape}))")
    assert rows["head"][1] == rows[""][1] == str(m(idx).shape)
    assert all("forward" not in mod.__dict__ for mod in m.modules())   # the capture left nothing behind
    text = str(m.summary(idx))
    assert "Total params: 4,325" in text and "Frozen: 400" in text and "lstm (LSTM)" in text


# -- anomalies (the engine's detect_anomaly; tested here because it is one of the views) -----------

def test_anomaly_errors_name_the_op_and_the_line_for_log_of_zero_in_forward():
    x = tg.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(tg.AnomalyError) as e, tg.detect_anomaly(), np.errstate(all="ignore"):
        line = lineno() + 1
        x.log().sum().backward()
    assert "'log'" in str(e.value) and "forward" in str(e.value) and f"test_viz.py:{line}" in str(e.value)


def test_anomaly_errors_name_the_op_and_the_line_for_a_nan_born_in_backward_of_sqrt_at_zero():
    x = tg.tensor([4.0, 0.0], requires_grad=True)
    with pytest.raises(tg.AnomalyError) as e, tg.detect_anomaly(), np.errstate(all="ignore"):
        line = lineno() + 1
        y = x.sqrt()
        (y * tg.tensor([1.0, 0.0])).sum().backward()          # 0 / (2 sqrt 0) = nan in sqrt's VJP
    msg = str(e.value)
    assert "'sqrt'" in msg and "nan" in msg and f"test_viz.py:{line}" in msg


# -- every view renders without a terminal ---------------------------------------------------------

def test_every_renderable_renders_without_a_terminal():
    m, loss = lstm_loss(T=4, layers=1)
    view = viz.graph(loss, model=m)
    loss.backward()
    flow = viz.gradient_flow(nn.RNN(2, 3), tg.randn(5, 1, 2))
    views = [tg.randn(2, 3), m, view, viz.grad_table(m), tg.nn.summary(m, tg.randn(4, 1, 8)), flow]
    for v in views:
        for width in (60, 120):
            out = render(v, width)
            assert out.strip() and "\x1b" not in out
        assert "\x1b" not in str(v)


def test_one_gradient_flow_plots_itself(tmp_path, capsys):
    tg.manual_seed(0)
    flow = viz.gradient_flow(nn.LSTM(3, 4), tg.randn(8, 2, 3))
    png = flow.plot(str(tmp_path / "lstm.png"))
    out = capsys.readouterr().out
    assert "time step t" in out and "|dL/dh_t| (log scale)" in out
    assert (png is not None) == charts.have_matplotlib()


def test_save_graph_calls_the_dot_program_with_the_format_of_the_extension(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"                 # stands in for Graphviz: records its arguments and input
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"; cp "$2" "$(dirname "$0")/input"; '
                    'echo "<svg/>" > "$4"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    m, loss = lstm_loss(T=3, layers=1)
    view = viz.graph(loss, model=m)
    loss.backward()
    out = tmp_path / "g.svg"
    assert viz.save_graph(view, str(out)) == str(out) and out.read_text() == "<svg/>\n"
    args = (bin_dir / "args").read_text().split()
    assert args[0] == "-Tsvg" and args[2] == "-o" and args[3] == str(out)
    assert (bin_dir / "input").read_text() == viz.to_dot(view)


def test_summary_counts_calls_of_a_module_used_on_every_step():
    class PerStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.unused = nn.RNNCell(3, 4), nn.Linear(2, 2)

        def forward(self, x):
            h = None
            for t in range(x.shape[0]):
                h = self.cell(x[t], h)
            return h

    s = viz.summary(PerStep(), tg.randn(5, 2, 3))
    rows = {name: shape for name, _, shape, _ in s.rows}
    assert rows["cell"] == "(2, 4) × 5 calls" and rows["unused"] == "(not called)" and rows[""] == "(2, 4)"


def test_expanding_a_graph_too_deep_for_a_tree_says_so():
    m = nn.RNN(2, 3)
    out, h = m(tg.randn(400, 1, 2))
    assert len(str(viz.graph(h.sum())).splitlines()) < 20          # collapsed: a chain of 399 steps
    with pytest.raises(ValueError, match=r"graph\(expand=True\): this graph is \d+ ops deep"):
        viz.graph(h.sum(), expand=True)
