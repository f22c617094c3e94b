"""Which public functions of ``widgets/`` the fast tier never runs.

Run the fast tier under coverage, then this script::

    .venv/bin/python -m coverage run --source=widgets -m pytest -q
    .venv/bin/python tests/tooling/fast_tier_coverage.py

A function counts as run when a line of its body ran in the test process (code
that only ever runs in a child process does not count). Public means every
top-level function and class whose name has no leading underscore, and the
methods of those classes without one (``__init__`` and ``__call__`` included).
A class without methods counts as run once its module is imported; a method with
nothing to run (a docstring, ``pass``, ``...``, ``raise NotImplementedError``: a
hook for subclasses) is left out. The script
prints each one missed, by module, and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "widgets"
KEPT_DUNDERS = ("__init__", "__call__")


def public_functions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """``(qualified name, node)`` for every public top-level function and class and their public methods."""
    found: list[tuple[str, ast.AST]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            methods = [
                item for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (not item.name.startswith("_") or item.name in KEPT_DUNDERS)
            ]
            found.append((node.name, node))
            found.extend((f"{node.name}.{method.name}", method) for method in methods)
    return found


def body_lines(node: ast.AST) -> set[int]:
    """The lines of a function's body after its docstring (a class: of its methods' bodies)."""
    if isinstance(node, ast.ClassDef):
        methods = [item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return set().union(*(body_lines(method) for method in methods)) if methods else set()
    body = [statement for statement in node.body if not nothing_to_run(statement)]
    return set(range(body[0].lineno, node.end_lineno + 1)) if body else set()


def nothing_to_run(statement: ast.stmt) -> bool:
    """A docstring, ``pass``, ``...`` or ``raise NotImplementedError``: what a hook for subclasses holds."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return True
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        target = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return False


def missed(data: coverage.CoverageData) -> dict[str, list[str]]:
    """Module path -> the public functions none of whose body lines ran."""
    result: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        ran = set(data.lines(str(path)) or ())
        tree = ast.parse(path.read_text())
        names = []
        for name, node in public_functions(tree):
            lines = body_lines(node)
            if lines and not lines & ran:
                names.append(name)
        if names:
            result[str(path.relative_to(ROOT))] = names
    return result


def main() -> int:
    cov = coverage.Coverage()  # .coverage in the current folder, or $COVERAGE_FILE
    cov.load()
    misses = missed(cov.get_data())
    for module, names in misses.items():
        print(f"{module}: {', '.join(names)}")
    total = sum(len(names) for names in misses.values())
    print(f"{total} public functions the fast tier never runs" if total else "every public function runs")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
