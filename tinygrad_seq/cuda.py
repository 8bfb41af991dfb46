"""``tg.cuda``: there is no GPU here; tinygrad_seq computes on the CPU with numpy."""


def is_available() -> bool:
    """Always False: tinygrad_seq runs on the CPU."""
    return False


def device_count() -> int:
    """Always 0: there are no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored (there is no CUDA generator); ``tg.manual_seed`` seeds everything."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored (there is no CUDA generator)."""
