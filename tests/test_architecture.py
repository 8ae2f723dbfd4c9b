"""The package's layout and import graph (docs/architecture.md, "Source map" and "Import
direction"): one subpackage per pipeline stage, imports that flow down the stages and never up,
no import circles, and no module longer than a reader can hold.

Every `import` in every module of src/locflow counts, including the ones inside functions:
a function-level import hides a circle from Python's import machinery but not from a reader,
who still cannot understand one module without the other. A new circle or an upward import
fails these tests and names the modules involved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "locflow"

STAGES = (
    "foundation",  # locflow (the version), errors, runtime: every stage uses them
    "data",
    "homology",
    "models",
    "training",
    "prediction",
    "evaluation",  # predicts, then scores
    "demo",  # runs every stage
    "interface",  # cli, versions: the commands over the library
)
"""The stages in import order: a module imports only modules of its own stage or earlier."""

# Top-level modules, which belong to no stage subpackage.
TOP_LEVEL = {
    "locflow": "foundation",
    "locflow.errors": "foundation",
    "locflow.runtime": "foundation",
    "locflow.versions": "interface",
}
# The subpackages that are not a stage of their own.
SUBPACKAGES = {"cli": "interface"}
MAX_LINES = 600


def module_files(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (subpackages included)."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..y import z
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target in modules:
                found.add(target)
            # `from locflow import runtime` imports the module locflow.runtime
            found.update(
                f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules
            )
    found.discard(name)
    return found


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, set[str]]:
    modules = module_files(src, package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def one_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete circle through a component, for the failure message: a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return component


def stage_of(module: str) -> str:
    """The stage a module belongs to: its subpackage's, or the table's for top-level ones."""
    parts = module.split(".")
    if len(parts) > 1 and (parts[1] in STAGES or parts[1] in SUBPACKAGES):
        return SUBPACKAGES.get(parts[1], parts[1])
    if module not in TOP_LEVEL:
        raise KeyError(f"{module}: a top-level module in no stage (add it to TOP_LEVEL)")
    return TOP_LEVEL[module]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module of a later stage than the importer's, as 'a (stage) -> b'."""
    rank = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(
        f"{a} ({stage_of(a)}) -> {b} ({stage_of(b)})"
        for a, targets in graph.items()
        for b in targets
        if rank[stage_of(b)] > rank[stage_of(a)]
    )


def test_imports_flow_down_the_stages():
    """data <- homology <- models <- training <- prediction <- evaluation <- demo <- cli."""
    upward = upward_imports(import_graph())
    assert not upward, "imports up the stages in src/locflow:\n" + "\n".join(upward)


def test_the_layering_check_finds_an_upward_import():
    graph = {
        "locflow.data.tables": {"locflow.errors"},
        "locflow.models.head": {"locflow.data.tables", "locflow.training.loop"},
        "locflow.training.loop": {"locflow.models.head"},
        "locflow.runtime": {"locflow.cli.app"},
        "locflow.cli.app": set(),
    }
    assert upward_imports(graph) == [
        "locflow.models.head (models) -> locflow.training.loop (training)",
        "locflow.runtime (foundation) -> locflow.cli.app (interface)",
    ]
    with pytest.raises(KeyError, match="in no stage"):
        stage_of("locflow.helpers")


def test_each_stage_is_a_package_that_says_what_it_owns():
    """One subpackage per stage, whose __init__ is a docstring and nothing else: the modules
    are imported from where they live (no re-exports to keep two names for one thing)."""
    for stage in [s for s in STAGES if (SRC / PACKAGE / s).is_dir()] + list(SUBPACKAGES):
        init = SRC / PACKAGE / stage / "__init__.py"
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init}: no docstring saying what the package owns"
        if stage not in SUBPACKAGES:  # cli exposes app and main for the console script
            assert len(tree.body) == 1, f"{init}: holds more than its docstring"
    present = {p.name for p in (SRC / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    assert present - {"default_model"} == set(STAGES[1:-1]) | set(SUBPACKAGES)


def test_no_module_is_longer_than_600_lines():
    long = {
        str(path.relative_to(SRC)): n
        for path in module_files().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them along a seam): {long}"


def test_the_package_has_no_import_circles():
    graph = import_graph()
    assert len(graph) > 20, "found too few modules: is SRC right?"
    circles = [f"{', '.join(c)} (e.g. {' -> '.join(one_circle(graph, c))})" for c in cycles(graph)]
    assert not circles, "import circles in src/locflow:\n" + "\n".join(circles)


def test_shared_vocabulary_imports_nothing_heavy():
    """classes, files and tables sit at the bottom: every step imports them, they import no step;
    errors imports nothing of locflow, runtime only errors."""
    graph = import_graph()
    assert graph["locflow.data.classes"] == set()
    assert graph["locflow.data.files"] <= {"locflow.errors"}
    assert graph["locflow.data.tables"] <= {
        "locflow.data.classes",
        "locflow.data.files",
        "locflow.errors",
    }
    assert graph["locflow.errors"] == set()
    assert graph["locflow.runtime"] <= {"locflow.errors"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a.py": "from p import b\n", "b.py": "def f():\n    from p.a import x\n"},
            [["p.a", "p.b"]],
        ),
        (
            {"a.py": "from . import b\n", "b.py": "import p.c\n", "c.py": "from .a import y\n"},
            [["p.a", "p.b", "p.c"]],
        ),
        ({"a.py": "from p import b\n", "b.py": "import os\n"}, []),
        (
            {
                "a.py": "from p.sub import m\n",
                "sub/__init__.py": "",
                "sub/m.py": "from ..a import z\n",
            },
            [["p.a", "p.sub.m"]],
        ),
    ],
)
def test_the_check_finds_circles(tmp_path, files, expected):
    """The check can fail: circles through module- and function-level, absolute and relative
    imports, and through a subpackage, are all found; an acyclic package passes."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "__init__.py").write_text("")
    for rel, text in files.items():
        (tmp_path / "p" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "p" / rel).write_text(text)
    assert cycles(import_graph(tmp_path, "p")) == expected
