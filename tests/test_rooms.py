"""The rooms' one-way imports (docs/architecture.md, "The code"): the HTTP service (`app/`) and embedded
mode (`embedded/`) never import the operator's commands (`commands/`), and embedded mode never imports
the HTTP service, so the image and the Lambda functions carry no tool and the tools can move freely."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> dict[str, set[str]]:
    """Each module of `package` (as a path) and the top-level packages it imports, at any depth."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("app", {"commands"}),
    ("embedded", {"commands", "app"}),
])
def test_room_imports_run_one_way(package: str, forbidden: set[str]) -> None:
    modules = imported_packages(package)
    assert modules, f"{package}/ has no modules"
    wrong = {module: sorted(names & forbidden) for module, names in modules.items() if names & forbidden}
    assert wrong == {}, f"{package}/ imports {sorted(forbidden)}: {wrong}"
