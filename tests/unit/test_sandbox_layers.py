"""The sandbox's modules import each other only downward: no cycle, not even under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import salesloft_async.sandbox as sandbox_pkg

PACKAGE = Path(sandbox_pkg.__file__).parent


def _sibling_imports(path: Path) -> set[str]:
    """Siblings named by `from .x import`, `from . import x` or an absolute import."""
    found: set[str] = set()
    absolute = "salesloft_async.sandbox"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1 or node.module == absolute:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and (name := node.module or "").startswith(absolute + "."):
                found.add(name.removeprefix(absolute + ".").split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(absolute + "."):
                    found.add(alias.name.removeprefix(absolute + ".").split(".")[0])
    return found


def test_every_spelling_of_a_sibling_import_is_seen(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from .a import x\nfrom . import b\nfrom salesloft_async.sandbox.c import y\n"
        "from salesloft_async.sandbox import d\nimport salesloft_async.sandbox.e\n"
        "from ..spec import Operation\n"
    )
    assert _sibling_imports(module) == {"a", "b", "c", "d", "e"}


def test_sandbox_modules_form_no_import_cycle() -> None:
    graph = {p.stem: _sibling_imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", f"import cycle: {' -> '.join((*trail, name))}"
        state[name] = "open"
        for dep in sorted(graph.get(name, ())):
            visit(dep, (*trail, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(graph):
        visit(name, ())
    # the four that once imported each other now stack: writes < relations < bulk < api < server
    assert order.index("writes") < order.index("relations") < order.index("bulk")
    assert order.index("bulk") < order.index("api") < order.index("server")
