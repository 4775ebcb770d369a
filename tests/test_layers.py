"""The import layers hold: the README's layer list is the rule, and every import in the package
(top-level, lazy inside a function, or under TYPE_CHECKING) obeys it, with no module cycle.

A unit is a folder under ``machcreator/`` or a top-level module. A unit may import its own modules
and the units of lower layers; units on one line of the list (``a | b``) are independent and may
not import each other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "python_backend" / "machcreator"
#: the README block that states the layers, lowest first
LAYER_BLOCK = re.compile(r"<!-- layers -->\s*```text\n(.*?)```", re.S)


def readme_layers() -> list[list[str]]:
    """The layers written in the README, lowest first: each a list of independent units."""
    match = LAYER_BLOCK.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no <!-- layers --> block"
    return [[unit.strip() for unit in line.split("|")] for line in match.group(1).splitlines() if line.strip()]


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (absolute and relative)."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                origin = node.module or ""
                if node.level:
                    origin = ".".join(base[:len(base) - node.level + 1] + ([origin] if origin else []))
                found = [f"{origin}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in found:
                while target not in modules and "." in target:  # a name imported from a module
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def unit_of(module: str) -> str:
    """The layer unit of a module: its folder, or the top-level module itself (``__init__`` for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(graph: dict[str, set[str]], layers: list[list[str]]) -> list[str]:
    """Every import of a unit from its own layer's siblings or from a higher layer."""
    level = {unit: i for i, line in enumerate(layers) for unit in line}
    bad = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = unit_of(module), unit_of(target)
            if a != b and level[b] >= level[a]:
                bad.append(f"{module} -> {target} ({a} is not above {b})")
    return bad


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_every_unit_has_one_layer():
    layers = readme_layers()
    named = [unit for line in layers for unit in line]
    assert len(named) == len(set(named)), "a unit is named twice in the README's layers"
    units = {unit_of(m) for m in package_imports()}
    assert units == set(named), f"missing from the README: {units - set(named)}; not in the package: {set(named) - units}"


def test_no_upward_import():
    assert upward_imports(package_imports(), readme_layers()) == []


def test_no_module_cycle():
    assert module_cycles(package_imports()) == []


def test_the_root_package_imports_nothing_of_its_own():
    # everyone may read machcreator.__version__, so the root must stay free of imports
    assert package_imports()["machcreator"] == set()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small package of the same shape: core < body < pipeline."""
    root = tmp_path / "machcreator"
    for rel, text in {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/maths.py": "import numpy\n",
        "body/__init__.py": "",
        "body/shape.py": "from machcreator.core.maths import x\nfrom . import eyes\n",
        "body/eyes.py": "def f():\n    from ..core import maths\n",
        "pipeline.py": "from machcreator.body.shape import y\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_check_reads_relative_and_lazy_imports(tree: Path):
    graph = package_imports(tree)
    assert graph["machcreator.body.shape"] == {"machcreator.core.maths", "machcreator.body.eyes"}
    assert graph["machcreator.body.eyes"] == {"machcreator.core.maths"}
    assert upward_imports(graph, [["__init__", "core"], ["body"], ["pipeline"]]) == []


def test_the_check_fails_on_an_upward_import_and_a_cycle(tree: Path):
    (tree / "core" / "maths.py").write_text("def f():\n    from machcreator.body import shape\n")
    (tree / "body" / "eyes.py").write_text("from machcreator.body.shape import z\n")
    graph = package_imports(tree)
    assert upward_imports(graph, [["__init__", "core"], ["body"], ["pipeline"]]) == [
        "machcreator.core.maths -> machcreator.body.shape (core is not above body)"]
    # siblings on one line are independent
    assert upward_imports(graph, [["__init__", "core", "body"], ["pipeline"]]) != []
    # shape -> maths (-> shape) and eyes -> shape -> eyes: one component of three
    assert module_cycles(graph) == [["machcreator.body.eyes", "machcreator.body.shape", "machcreator.core.maths"]]
