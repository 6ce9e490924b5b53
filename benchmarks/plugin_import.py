"""What the pytest plugin costs a project that installs the package but never uses its fixtures.

Claim: loading the plugin adds about a millisecond or two to pytest's start, and no sandbox,
client or aiohttp import.  Every measurement runs in a fresh interpreter, as pytest would:

* the plugin module's own import time (``python -X importtime``, cumulative, with pytest and
  pytest-asyncio already imported, as they are when pytest loads plugins);
* the wall time of ``pytest -q`` on a one-test project, with the plugin loaded and with
  ``-p no:salesloft_sandbox``.

    .venv/bin/python benchmarks/plugin_import.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT = "import pytest, pytest_asyncio; import salesloft_async.testing"


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    out["PYTHONDONTWRITEBYTECODE"] = "1"
    return out


def plugin_import_ms() -> float:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT],
        capture_output=True,
        text=True,
        env=env(),
        check=True,
    ).stderr
    match = re.search(r"\|\s*(\d+) \| salesloft_async\.testing$", err, re.M)
    assert match, err[-500:]
    return int(match.group(1)) / 1000


def pytest_run_ms(project: Path, *extra: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=project,
        capture_output=True,
        env=env(),
        check=True,
    )
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
        loaded, blocked = "plugin loaded", "-p no:salesloft_sandbox"
        rows: dict[str, list[float]] = {"import": [], loaded: [], blocked: []}
        for _ in range(args.repeat):  # interleaved, so a busy machine weighs on both alike
            rows["import"].append(plugin_import_ms())
            rows[loaded].append(pytest_run_ms(project))
            rows[blocked].append(pytest_run_ms(project, "-p", "no:salesloft_sandbox"))
    names = {
        "import": "import salesloft_async.testing (cumulative)",
        loaded: "pytest -q, one plain test, plugin loaded",
        blocked: "pytest -q, one plain test, -p no:salesloft_sandbox",
    }
    print(f"| measure ({args.repeat} fresh interpreters each) | best | median |")
    print("| --- | ---: | ---: |")
    for key, values in rows.items():
        print(f"| {names[key]} | {min(values):.1f} ms | {statistics.median(values):.1f} ms |")


if __name__ == "__main__":
    main()
