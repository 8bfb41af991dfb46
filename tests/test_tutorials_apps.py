"""Tutorials 09-13 (the applications): each runs as a quick script and as a notebook, and its claim holds.

Each tutorial states its claim in its last text cell in terms of the numbers on
its RESULT line; the check functions below are those claims.
"""
from __future__ import annotations

import pytest

from tutorial_helpers import notebook_results, script_results


def check_09(r: dict) -> None:
    # the LSTM's held-out accuracy beats the bag-of-words baseline by at least 0.10
    assert r["lstm_acc"] >= r["bow_acc"] + 0.10, r


CLAIMS = {
    "09_sentiment.py": check_09,
}


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_script_quick(name):
    CLAIMS[name](script_results(name))


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_notebook_quick(name):
    CLAIMS[name](notebook_results(name))
