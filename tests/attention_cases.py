"""The attention test cases, in plain numpy (no tinygrad_seq, no torch), shared by the test and by the script
that computed the reference numbers with PyTorch 2.13 (``tests/attention_reference.py`` holds its output).

Each case names a module (or ``sdpa``), its constructor arguments, its inputs' shapes and the forward
keyword arguments (masks as literal arrays).  ``arrays(case, keys_and_shapes, dtype)`` draws every
parameter (in state_dict order), every input and the loss weights from one seeded RandomState, so both
frameworks start from the same numbers.  The loss is sum(output * R) (+ sum(weights * R2) when attention
weights are returned).
"""
import numpy as np

T, F = True, False
NEG = float("-inf")

KPM = [[F, F, F, T, T], [F, T, F, F, F]]                                  # (N=2, S=5): True = padding
KPM_FLOAT = [[0.0, -1.5, 0.0, NEG, 0.3], [0.0, 0.0, 0.7, 0.0, NEG]]
MASK_BOOL = [[F, T, F, F, T], [F, F, T, F, F], [T, F, F, F, F]]           # (L=3, S=5): True = not allowed
MASK_FLOAT = [[0.0, -0.5, NEG, 0.2, 0.0], [1.0, 0.0, 0.0, NEG, 0.0], [0.0, 0.0, 0.0, 0.0, -2.0]]
MASK_DEAD_ROW = [[F, F, T, F, F], [T, T, T, T, T], [F, F, F, F, T]]       # query 1 may attend to nothing


def causal(n, s=None):
    s = n if s is None else s
    return np.triu(np.full((n, s), NEG), 1).tolist()


MHA = "MultiheadAttention"
SA = {"key": "query", "value": "query"}                                  # self-attention: the same tensor

CASES = [
    # scaled_dot_product_attention: q (N, H, L, E), k (N, H, S, E), v (N, H, S, Ev); attn_mask True = attend
    dict(name="sdpa_plain", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                     ("value", (2, 2, 5, 3))]),
    dict(name="sdpa_bool_mask", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                         ("value", (2, 2, 5, 3))],
         kwargs={"attn_mask": ("bool", [[T, F, T, T, F], [F, F, F, T, T], [T, T, T, T, T]])}),
    dict(name="sdpa_float_mask", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                          ("value", (2, 2, 5, 3))],
         kwargs={"attn_mask": ("float", MASK_FLOAT)}),
    dict(name="sdpa_causal", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                      ("value", (2, 2, 5, 3))], kwargs={"is_causal": True}),
    dict(name="sdpa_scale", module="sdpa", inputs=[("query", (2, 3, 4)), ("key", (2, 5, 4)), ("value", (2, 5, 3))],
         kwargs={"scale": 0.3}),
    dict(name="sdpa_dead_row", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                        ("value", (2, 2, 5, 3))],
         kwargs={"attn_mask": ("bool", (~np.array(MASK_DEAD_ROW)).tolist())}),
    dict(name="sdpa_dead_row_float", module="sdpa", inputs=[("query", (2, 2, 3, 4)), ("key", (2, 2, 5, 4)),
                                                              ("value", (2, 2, 5, 3))],
         kwargs={"attn_mask": ("float", np.where(MASK_DEAD_ROW, NEG, 0.0).tolist())}),
    dict(name="sdpa_gqa", module="sdpa", inputs=[("query", (2, 4, 3, 4)), ("key", (2, 2, 5, 4)),
                                                   ("value", (2, 2, 5, 3))], kwargs={"enable_gqa": True}),
    # MultiheadAttention: (L=3, N=2, E=4), keys (S=5, N=2, .)
    dict(name="mha_self", module=MHA, ctor=dict(embed_dim=4, num_heads=2), inputs=[("query", (3, 2, 4))], same=SA),
    dict(name="mha_cross", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))]),
    dict(name="mha_kv_same", module=MHA, ctor=dict(embed_dim=4, num_heads=1),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4))], same={"value": "key"}),
    dict(name="mha_kdim_vdim", module=MHA, ctor=dict(embed_dim=4, num_heads=2, kdim=3, vdim=5),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 3)), ("value", (5, 2, 5))]),
    dict(name="mha_no_bias", module=MHA, ctor=dict(embed_dim=4, num_heads=2, bias=False),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))]),
    dict(name="mha_bias_kv", module=MHA, ctor=dict(embed_dim=4, num_heads=2, add_bias_kv=True),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"key_padding_mask": ("bool", KPM), "attn_mask": ("bool", MASK_BOOL)}),
    dict(name="mha_zero_attn", module=MHA, ctor=dict(embed_dim=4, num_heads=2, add_zero_attn=True),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"key_padding_mask": ("bool", KPM)}),
    dict(name="mha_bias_kv_zero_attn_nw", module=MHA,
         ctor=dict(embed_dim=4, num_heads=2, add_bias_kv=True, add_zero_attn=True),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"attn_mask": ("float", MASK_FLOAT), "need_weights": False}),
    dict(name="mha_kpm_bool", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"key_padding_mask": ("bool", KPM)}),
    dict(name="mha_kpm_float_mask_float", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"key_padding_mask": ("float", KPM_FLOAT), "attn_mask": ("float", MASK_FLOAT)}),
    dict(name="mha_mask_bool_per_head", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"attn_mask": ("bool", [MASK_BOOL, MASK_DEAD_ROW[:1] + MASK_BOOL[1:], MASK_BOOL[::-1],
                                         [[F] * 5] * 3])}),
    dict(name="mha_no_weights", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"key_padding_mask": ("bool", KPM), "attn_mask": ("float", MASK_FLOAT), "need_weights": False}),
    dict(name="mha_per_head_weights", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"attn_mask": ("bool", MASK_BOOL), "average_attn_weights": False}),
    dict(name="mha_batch_first", module=MHA, ctor=dict(embed_dim=4, num_heads=2, batch_first=True),
         inputs=[("query", (2, 3, 4)), ("key", (2, 5, 4)), ("value", (2, 5, 4))],
         kwargs={"key_padding_mask": ("bool", KPM)}),
    dict(name="mha_unbatched", module=MHA, ctor=dict(embed_dim=4, num_heads=2, batch_first=True),
         inputs=[("query", (3, 4)), ("key", (5, 4)), ("value", (5, 4))],
         kwargs={"key_padding_mask": ("bool", KPM[0]), "average_attn_weights": False}),
    dict(name="mha_causal_hint", module=MHA, ctor=dict(embed_dim=4, num_heads=2), inputs=[("query", (4, 2, 4))],
         same=SA, kwargs={"attn_mask": ("float", causal(4)), "is_causal": True, "need_weights": False}),
    dict(name="mha_causal_hint_wrong_mask", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4))], same=SA,
         kwargs={"attn_mask": ("bool", [[F, F, T], [F, F, F], [T, F, F]]), "is_causal": True,
                 "need_weights": False}),
    dict(name="mha_dead_row_no_weights", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"attn_mask": ("bool", MASK_DEAD_ROW), "need_weights": False}),
    dict(name="mha_dead_row_weights", module=MHA, ctor=dict(embed_dim=4, num_heads=2),
         inputs=[("query", (3, 2, 4)), ("key", (5, 2, 4)), ("value", (5, 2, 4))],
         kwargs={"attn_mask": ("bool", MASK_DEAD_ROW)}, backward=False),
    # the Transformer family: d_model 4, 2 heads, feed-forward 6, dropout 0
    dict(name="enc_layer", module="TransformerEncoderLayer",
         ctor=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0), inputs=[("src", (3, 2, 4))],
         kwargs={"src_key_padding_mask": ("bool", [[F, F, T], [F, F, F]])}),
    dict(name="enc_layer_norm_first_gelu", module="TransformerEncoderLayer",
         ctor=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0, norm_first=True, activation="gelu",
                   layer_norm_eps=1e-3), inputs=[("src", (3, 2, 4))], kwargs={"src_mask": ("float", causal(3))}),
    dict(name="enc_layer_callable_no_bias_bf", module="TransformerEncoderLayer",
         ctor=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0, activation="TANH", bias=False,
                   batch_first=True), inputs=[("src", (2, 3, 4))],
         kwargs={"src_mask": ("bool", [[F, T, T], [F, F, T], [F, F, F]]), "is_causal": True}),
    dict(name="encoder_norm", module="TransformerEncoder",
         ctor=dict(layer=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0), num_layers=2, norm=True),
         inputs=[("src", (3, 2, 4))],
         kwargs={"mask": ("float", causal(3)), "src_key_padding_mask": ("bool", [[F, F, F], [F, F, T]])}),
    dict(name="decoder_layer", module="TransformerDecoderLayer",
         ctor=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0), inputs=[("tgt", (3, 2, 4)),
                                                                              ("memory", (5, 2, 4))],
         kwargs={"tgt_mask": ("float", causal(3)), "memory_key_padding_mask": ("bool", KPM)}),
    dict(name="decoder_layer_norm_first", module="TransformerDecoderLayer",
         ctor=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0, norm_first=True, batch_first=True),
         inputs=[("tgt", (2, 3, 4)), ("memory", (2, 5, 4))],
         kwargs={"tgt_key_padding_mask": ("bool", [[F, F, T], [F, F, F]]), "memory_mask": ("bool", MASK_BOOL)}),
    dict(name="decoder_norm", module="TransformerDecoder",
         ctor=dict(layer=dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0), num_layers=2, norm=True),
         inputs=[("tgt", (3, 2, 4)), ("memory", (5, 2, 4))], kwargs={"tgt_mask": ("float", causal(3))}),
    dict(name="transformer", module="Transformer",
         ctor=dict(d_model=4, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=6, dropout=0.0),
         inputs=[("src", (5, 2, 4)), ("tgt", (3, 2, 4))],
         kwargs={"tgt_mask": ("float", causal(3)), "src_key_padding_mask": ("bool", KPM),
                 "memory_key_padding_mask": ("bool", KPM)}),
    dict(name="transformer_unbatched_gelu_bf", module="Transformer",
         ctor=dict(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=6, dropout=0.0,
                   activation="gelu", batch_first=True, norm_first=True),
         inputs=[("src", (5, 4)), ("tgt", (3, 4))], kwargs={"tgt_mask": ("float", causal(3)),
                                                           "tgt_is_causal": True}),
]


def mask_array(spec):
    kind, values = spec
    return np.array(values, dtype=bool) if kind == "bool" else np.array(values, dtype=np.float64)


def arrays(case, param_shapes, dtype, seed=0):
    """(params in state_dict order, inputs by name, loss weights): the same numbers for both frameworks."""
    rng = np.random.RandomState(seed + sum(map(ord, case["name"])))
    params = [rng.uniform(-0.8, 0.8, shape).astype(dtype) for shape in param_shapes]
    inputs = {name: rng.standard_normal(shape).astype(dtype) for name, shape in case["inputs"]}
    return params, inputs, rng
