"""pytest in a fresh interpreter, run the way a user's project runs it.

Installed ``pytest11`` plugins (ours among them) load as they would there, nothing of this suite's
configuration applies, and nothing is written back to the directory but what the tests write.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def fresh_env() -> dict[str, str]:
    """This environment, minus what would stop plugins loading, plus no bytecode written."""
    out = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    out["PYTHONDONTWRITEBYTECODE"] = "1"
    return out


def run_pytest(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``pytest -q ARGS`` over `cwd`, its output captured (no cache, no hypothesis plugin);
    `env` is added to the fresh environment."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**fresh_env(), **(env or {})},
        timeout=timeout,
    )
