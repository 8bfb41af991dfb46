"""Which numpy Generator a random helper draws from."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._state import State


def numpy_rng(generator: Any = None) -> np.random.Generator:
    """The numpy Generator behind ``generator``.

    ``None`` means the package generator (the one ``tg.manual_seed`` resets), read
    at call time; a ``numpy.random.Generator`` is used as it is; any other object
    (such as a ``tg.Generator``) must carry its numpy Generator as ``_rng``.
    """
    if generator is None:
        return State.rng
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "_rng", None)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"expected a generator (an object with a numpy Generator as `_rng`, or a "
                    f"numpy.random.Generator), got {type(generator).__name__}")
