"""Imports flow one way (DESIGN.md): a module never imports a package above its own layer, and
no private name crosses a package boundary. Read with ``ast``, so nothing is executed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ganscope

ROOT = Path(ganscope.__file__).resolve().parent

# Lower layers first. A module may import its own package and any package of a lower or equal
# layer number... except equal-layer siblings, which must not import each other either way.
LAYERS: dict[str, int] = {
    "errors": 0,
    "registry": 0,
    "progress": 0,
    "devices": 0,
    "settings": 0,  # how a settings dataclass documents and checks its fields
    "io": 1,
    "metrics": 1,
    "checkpoint": 1,
    "zoo": 1,  # the catalogue only: folders and JSON
    "spectrum": 2,
    "layers": 2,
    "generators": 3,
    "detectors": 3,
    "report": 4,
    "antialias": 5,
    "dissect": 5,
    "seeing": 6,
    "paint": 6,
    "study": 7,
    "cli": 8,
    "__main__": 9,
    "__init__": 9,
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, []


def _violations() -> tuple[list[str], list[str]]:
    upward, private = [], []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        pkg = rel.parts[0].removesuffix(".py")
        for line, module, names in _imports(path):
            parts = module.split(".")
            if parts[0] != "ganscope" or len(parts) < 2 or parts[1] == pkg:
                continue
            target = parts[1]
            where = f"{rel}:{line}"
            if pkg == "metrics" and target not in ("errors", "registry", "progress", "io"):
                upward.append(f"{where}: metrics imports {module} (metrics are pure numbers)")
            elif LAYERS.get(target, 0) > LAYERS.get(pkg, 0):
                upward.append(f"{where}: {pkg} (layer {LAYERS.get(pkg)}) imports {module}")
            elif LAYERS.get(target) == LAYERS.get(pkg) and LAYERS.get(pkg, 0) >= 2:
                upward.append(f"{where}: sibling packages {pkg} and {target} import each other")
            private += [f"{where}: {module}.{n}" for n in names if n.startswith("_")]
            if any(p.startswith("_") and p != "__init__" for p in parts[2:]):
                private.append(f"{where}: private module {module}")
    return upward, private


def test_every_package_has_a_layer():
    packages = {p.name.removesuffix(".py") for p in ROOT.iterdir()}
    packages = {p for p in packages if not p.startswith(".") and p != "__pycache__"}
    packages -= {"assets", "py.typed"}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS"


def test_imports_flow_one_way():
    upward, _ = _violations()
    assert not upward, "imports against the flow:\n" + "\n".join(upward)


def test_no_private_names_across_packages():
    _, private = _violations()
    assert not private, "private names imported across packages:\n" + "\n".join(private)


@pytest.mark.parametrize(
    ("pkg", "target", "ok"),
    [("cli", "study", True), ("io", "generators", False), ("detectors", "generators", False)],
)
def test_the_rule_itself(pkg, target, ok):
    """The checker can fail: a lower layer importing a higher one is reported."""
    up = LAYERS[target] > LAYERS[pkg]
    same = LAYERS[target] == LAYERS[pkg] and LAYERS[pkg] >= 2
    assert (not up and not same) == ok
