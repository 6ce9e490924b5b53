"""Every ```python block of the README runs as pasted, against a real sandbox.

The README's examples are written for the sandbox its "The sandbox" section starts with
``salesloft-async sandbox --port 8787 --api-key ak_sandbox``.  Here each block runs as a script in
its own process against a fresh sandbox on a free port: only that URL and that key are replaced.
Blocks that use OAuth read the sandbox's test client from ``SALESLOFT_CLIENT_ID`` and
``SALESLOFT_CLIENT_SECRET``, as the README tells a reader to set them.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis_support import redis_or_skip

from .test_export_cli import sandbox_in_thread

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8787"
README_KEY = "ak_sandbox"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks() -> list[tuple[int, str]]:
    """(line number, code) of every python block that is a script.

    Blocks that start with ``# pytest`` are test modules ("Testing your code"):
    test_readme_testing.py runs those under pytest.
    """
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in BLOCK.finditer(text)
        if not m.group(1).startswith("# pytest\n")
    ]


def test_the_readme_has_its_examples() -> None:
    found = blocks()
    assert len(found) >= 8
    for line, code in found:
        assert "asyncio.run(main())" in code, f"README.md:{line} is not a complete script"


def test_every_python_block_is_run_by_one_of_the_readme_tests() -> None:
    """No block escapes both tests: a ```py fence, or a `# pytest` block outside "Testing your
    code" (which test_readme_testing.py alone runs), would be shown to readers and never run."""
    text = README.read_text(encoding="utf-8")
    fences = re.findall(r"^```(\S+)", text, re.MULTILINE)
    assert set(fences) <= {"python", "sh"}, fences
    start = text.index("\n## Testing your code\n")
    end = text.index("\n## ", start + 1)
    tested = [m for m in BLOCK.finditer(text) if m.group(1).startswith("# pytest\n")]
    assert all(start < m.start() < end for m in tested), "a # pytest block outside its section"
    assert len(blocks()) + len(tested) == fences.count("python")


@pytest.mark.parametrize(("line", "code"), blocks(), ids=[f"line-{n}" for n, _ in blocks()])
async def test_a_readme_block_runs_as_pasted(line: int, code: str, tmp_path: Path) -> None:
    redis = await redis_or_skip() if "redis" in code else None
    key = f"ak_{secrets.token_hex(16)}"
    try:
        with sandbox_in_thread(people=500, api_key=key) as sb:
            script = tmp_path / "block.py"
            script.write_text(code.replace(README_URL, sb.url).replace(README_KEY, key))
            env = {
                "PATH": "/usr/bin:/bin",
                "SALESLOFT_CLIENT_ID": sb.oauth_client.client_id,
                "SALESLOFT_CLIENT_SECRET": sb.oauth_client.client_secret,
            }
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, str(script)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
    finally:
        if redis is not None:  # the block's team 1 keys
            keys = [k async for k in redis.scan_iter(match="salesloft:{1}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    assert result.returncode == 0, f"README.md:{line}\n{result.stderr}"
