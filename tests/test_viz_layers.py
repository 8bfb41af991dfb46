"""The graph view collapses repeated layers (a Transformer's, any stack of alike modules) as it collapses time steps.

Every expected count is the N the test built; every expected number of hidden
ops is counted on a single layer built alone, by walking ``next_functions``.
"""
import io
import re
import warnings

import pytest
from hypothesis import given, settings, strategies as st
from rich.console import Console

import tinygrad_seq as tg
from tinygrad_seq import nn, viz
from tinygrad_seq.tensor import AccumulateGrad

D, HEADS, FF, S, T, B = 8, 2, 16, 5, 3, 2          # source and target lengths differ: the shapes tell the stacks apart


def wide(view, width=2000):
    """The view as plain text, wide enough that no line wraps (or as ``print`` shows it on a terminal that wide)."""
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(view)
    return buf.getvalue()


HEAD = re.compile(r"(\w+) \(([\d, ]*)\) #\d+  × (\d+) (layers|steps)")


def collapsed(text):
    """[(shape of the block's output, count, unit)] for every collapsed chain, in drawing order."""
    return [(tuple(int(v) for v in shape.split(", ")), int(k), unit) for _, shape, k, unit in HEAD.findall(text)]


def hidden(text, unit="layers"):
    """The ops of the upper blocks, left out (the head line draws the top block's last op: 1 fewer than theirs)."""
    return [int(k) + 1 for k in re.findall(rf"\((\d+) ops of the other {unit} not drawn", text)]


def ops_below(t):
    """How many ops recorded the graph below ``t``, counted through next_functions (not the view)."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(fn for fn, _ in n.next_functions if fn is not None and not isinstance(fn, AccumulateGrad))
    return len(seen)


def quiet(build):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # enable_nested_tensor / norm_first notices
        return build()


def ops_per_layer(layer, *inputs, **kw):
    """Ops of one layer run alone on inputs that require grad (so none of its ops is left out), its sum not counted."""
    leaves = [x.detach().requires_grad_() for x in inputs]
    return ops_below(layer(*leaves, **kw).sum()) - 1


def seq(n, batch_first):
    return (B, n, D) if batch_first else (n, B, D)


@settings(max_examples=10, deadline=None)
@given(n_enc=st.integers(2, 4), n_dec=st.integers(2, 4), norm_first=st.booleans(), batch_first=st.booleans(),
       causal=st.booleans())
def test_a_transformers_encoder_and_decoder_layers_collapse_separately_with_their_own_counts(
        n_enc, n_dec, norm_first, batch_first, causal):
    tg.manual_seed(0)
    model = quiet(lambda: nn.Transformer(D, HEADS, n_enc, n_dec, FF, dropout=0.0, norm_first=norm_first,
                                         batch_first=batch_first))
    src, tgt = tg.randn(*seq(S, batch_first)), tg.randn(*seq(T, batch_first))
    mask = nn.Transformer.generate_square_subsequent_mask(T) if causal else None
    view = viz.graph(model(src, tgt, tgt_mask=mask).sum(), model=model)
    text = wide(view)
    assert sorted(collapsed(text)) == sorted([(seq(S, batch_first), n_enc, "layers"),
                                              (seq(T, batch_first), n_dec, "layers")])
    lines = text.splitlines()                            # the memory every decoder layer reads: under the decoder's
    shared = [i for i, line in enumerate(lines) if "read by every layer:" in line]     # head, the encoder in it
    enc = str(seq(S, batch_first))
    (enc_head,) = [i for i, line in enumerate(lines) if f"× {n_enc} layers" in line and enc in line]
    assert len(shared) == 1 and shared[0] < enc_head
    narrow = wide(view, 80)                              # and at 80 columns each count stays on one line
    assert f"× {n_enc} layers" in narrow and f"× {n_dec} layers" in narrow
    enc_ops = ops_per_layer(model.encoder.layers[0], src)
    dec_ops = ops_per_layer(model.decoder.layers[0], tgt, tg.randn(*seq(S, batch_first)), tgt_mask=mask)
    assert sorted(hidden(text)) == sorted([(n_enc - 1) * enc_ops, (n_dec - 1) * dec_ops])
    for stack, n in (("encoder", n_enc), ("decoder", n_dec)):     # the lowest layer drawn, the others counted
        assert f"{stack}.layers.0.linear1.weight" in text and f"{stack}.layers.{n - 1}." not in text
    assert "encoder.norm.weight" in text and "decoder.norm.weight" in text


@settings(max_examples=16, deadline=None)
@given(decoder=st.booleans(), n=st.integers(2, 6), final_norm=st.booleans(), norm_first=st.booleans(),
       batch_first=st.booleans(), given_as=st.sampled_from(["constant", "leaf", "embedding"]))
def test_an_encoder_or_decoder_alone_collapses_to_n_layers_whatever_its_input_and_options(
        decoder, n, final_norm, norm_first, batch_first, given_as):
    tg.manual_seed(1)
    kind = nn.TransformerDecoderLayer if decoder else nn.TransformerEncoderLayer
    stack = nn.TransformerDecoder if decoder else nn.TransformerEncoder
    layer = kind(D, HEADS, FF, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    model = quiet(lambda: stack(layer, n, norm=nn.LayerNorm(D) if final_norm else None))
    x = tg.randn(*seq(T, batch_first))
    if given_as == "leaf":
        x.requires_grad_()                               # the lowest layer reads a leaf
    elif given_as == "embedding":                        # ... or an op (y_0) that is not a layer
        x = nn.Embedding(11, D)(tg.randint(0, 11, seq(T, batch_first)[:2])) * 2.0
    memory = tg.randn(*seq(S, batch_first), requires_grad=True)
    out = model(x, memory) if decoder else model(x)
    text = wide(viz.graph(out.sum(), model=model))
    assert collapsed(text) == [(seq(T, batch_first), n, "layers")]
    extra = (memory,) if decoder else ()
    assert hidden(text) == [(n - 1) * ops_per_layer(model.layers[0], x, *extra)]
    assert "layers.0.linear2.weight" in text and f"layers.{n - 1}." not in text
    assert ("norm.weight" in text.replace("layers.0.norm", "")) == final_norm


@pytest.mark.parametrize("n", [2, 3, 6])
def test_any_stack_of_alike_modules_collapses_and_a_stack_of_lstm_layers_keeps_its_steps(n):
    tg.manual_seed(0)
    mlp = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(n)])
    x = tg.randn(3, 4)
    text = wide(viz.graph(mlp(x).sum(), model=mlp))
    assert collapsed(text) == [((3, 4), n, "layers")] and hidden(text) == [(n - 1) * ops_per_layer(mlp[0], x)]
    assert "0.0.weight" in text and f"{n - 1}.0.weight" not in text
    lstm = nn.LSTM(4, 4, num_layers=n)                   # input size = hidden size: the layers are alike
    out, _ = lstm(tg.randn(7, 1, 4))
    text = wide(viz.graph(out.sum(), model=lstm))
    assert collapsed(text) == [((7, 1, 4), n, "layers")] and "× 7 steps like" in text
    assert "weight_hh_l0" in text and f"weight_hh_l{n - 1}" not in text


def test_unlike_neighbours_are_not_a_stack_and_time_steps_stay_steps():
    tg.manual_seed(0)
    widths = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 4), nn.Tanh())   # alike ops, not alike shapes
    assert collapsed(wide(viz.graph(widths(tg.randn(3, 4)).sum()))) == []
    two = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Sigmoid())   # tanh(x) is not in the graph:
    assert collapsed(wide(viz.graph(two(tg.randn(3, 4, requires_grad=True)).sum()))) == []  # x is read as it is
    for cls, T_ in [(nn.RNN, 9), (nn.GRU, 12)]:
        m = cls(3, 5)
        out, h = m(tg.randn(T_, 2, 3))
        chain = wide(viz.graph(h.sum(), model=m))        # h_T <- h_T-1 <- ...: the steps that read a step
        assert collapsed(chain) == [((2, 5), T_ - 1, "steps")] and "layers" not in chain
        runs = wide(viz.graph(out.sum(), model=m))
        assert f"× {T_ - 1} steps like #" in runs and "layers" not in runs
