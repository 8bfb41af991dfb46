"""``torch.onnx`` for programs that import it: ONNX export is out of scope here, and says so when called."""
from __future__ import annotations

from typing import Any


def export(model: Any, args: Any, f: Any, *more: Any, **kwargs: Any) -> None:
    """Refused in one line: tinygrad_seq has no ONNX exporter (save weights with ``tg.save(model.state_dict(), path)``)."""
    raise NotImplementedError("onnx.export: tinygrad_seq cannot export ONNX; save the weights with "
                              "tg.save(model.state_dict(), path) and load them into PyTorch to export from there")
