"""The README's "Testing your code" examples run as the pytest modules they say they are.

Each ```python block of that section starts with ``# pytest``: it is a test module, not a script.
They run here in a fresh pytest, from a directory with no configuration of ours (strict asyncio
mode, no conftest), the way a user's project would run them after pasting.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.fresh_pytest import run_pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def section_blocks(title: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_testing_examples_pass_under_pytest(tmp_path: Path) -> None:
    blocks = section_blocks("Testing your code")
    assert len(blocks) == 3  # the fixtures, the mocks, fault injection
    tests = 0
    for n, block in enumerate(blocks):
        assert block.startswith("# pytest\n"), block[:80]
        (tmp_path / f"test_readme_{n}.py").write_text(block, encoding="utf-8")
        tests += len(re.findall(r"^async def test_|^def test_", block, re.M))
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{tests} passed" in result.stdout, result.stdout[-3000:]
