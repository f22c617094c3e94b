"""The package's shape: a training side that knows nothing of views, lazy public names, no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import widgets

PACKAGE = Path(widgets.__file__).resolve().parent
DRAWING = ("ipywidgets", "matplotlib", "IPython")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports at its top level or inside functions, relative imports resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            # `from . import cells` imports the module widgets.views.cells
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def test_training_modules_import_no_drawing_code():
    for name, path in MODULES.items():
        if not name.startswith("widgets.training"):
            continue
        bad = sorted(m for m in imported_modules(path)
                     if m.split(".")[0] in DRAWING or m.startswith("widgets.views"))
        assert not bad, f"{name} imports {bad}: the training side must not know the views"


@pytest.mark.slow
def test_the_public_training_names_load_no_drawing_code_in_a_fresh_process():
    probe = ("import sys\nfrom widgets import Trainer, History, NonFiniteLossError, accuracy\n"
             "import widgets.training, widgets.data\n"
             f"print(sorted(m for m in {DRAWING!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing the trainer loaded {result.stdout.strip()}"


@pytest.mark.slow
def test_a_view_name_loads_its_module_on_first_use():
    probe = ("import sys, widgets\nprint('ipywidgets' in sys.modules)\nwidgets.LossCurve\n"
             "print('ipywidgets' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_every_public_name_resolves_and_is_listed():
    for name in widgets.__all__:
        assert getattr(widgets, name) is not None, name
    assert {"Trainer", "History", "View", "Dashboard", "NonFiniteLossError"} <= set(widgets.__all__)
    assert set(widgets.__all__) <= set(dir(widgets))
    with pytest.raises(AttributeError, match="no attribute 'Trainr'"):
        widgets.Trainr  # noqa: B018


def test_no_import_cycles_between_modules():
    graph = {name: {m for m in imported_modules(path) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    # a package's __init__ re-exports its modules; only cycles among modules themselves count
    graph = {name: {m for m in targets if MODULES[m].name != "__init__.py"} for name,
             targets in graph.items()}
    done, active = set(), []

    def visit(name: str) -> None:
        if name in active:
            cycle = active[active.index(name):] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        active.append(name)
        for target in sorted(graph[name]):
            visit(target)
        active.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
