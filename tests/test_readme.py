"""Every Python block in the README runs on its own, as shown (PyTorch blocks only where torch is installed)."""
import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path, monkeypatch):
    if re.search(r"^import torch$", code, flags=re.M) and importlib.util.find_spec("torch") is None:
        pytest.skip("needs PyTorch, which is never a dependency")
    monkeypatch.chdir(tmp_path)                        # blocks that save checkpoints write here
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
