"""torch.nn.modules.transformer: the Transformer family."""
from ..attention import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: F401
                         TransformerEncoder, TransformerEncoderLayer)
