"""Code in a submission that a teacher should look at: what could game the checks or read other files.

``suspicious_code`` reads the code a student wrote (every code cell that is not
in the student copy as handed out), after IPython's own syntax (``!cmd``,
``%magic``) is turned into Python, and names each cell that

- touches IPython's input or AST transformers, events, magics or the kernel's
  namespace machinery (``get_ipython()``-level tricks);
- assigns to an attribute of a library module (``math.isclose = ...``,
  ``torch.allclose = ...``) or calls ``setattr`` on one;
- rebinds the name of a builtin (``abs = ...``, ``def len(...)``);
- defines ``__eq__`` (an object equal to everything passes ``==`` asserts);
- reads or lists files (``open``, ``read_text``, ``os.listdir``, ``glob``, ...)
  or runs shell commands;
- reaches into the interpreter (``gc``, ``ctypes``, ``inspect``, ``sys.modules``,
  ``__builtins__``, ``__closure__``).

Flags are hints for a human; they change no score.
"""

from __future__ import annotations

import ast
import builtins

import nbformat

LIBRARIES = {"math", "cmath", "operator", "numpy", "np", "torch", "nn", "F", "builtins", "random", "numbers"}
IPYTHON_NAMES = {
    "input_transformers_cleanup",
    "input_transformers_post",
    "input_transformer_manager",
    "ast_transformers",
    "register_magic_function",
    "register_magics",
    "events",
    "user_expressions",
    "run_cell",
    "transform_cell",
    "user_ns",
    "user_global_ns",
}
FILE_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "listdir",
    "scandir",
    "walk",
    "glob",
    "rglob",
    "iterdir",
    "system",
    "getoutput",
    "popen",
    "Popen",
    "check_output",
    "loadtxt",
    "read_csv",
}
INTROSPECTION = {"gc", "ctypes", "inspect", "importlib", "subprocess"}
INTERPRETER_ATTRS = {
    "modules",
    "__builtins__",
    "__closure__",
    "__globals__",
    "__code__",
    "f_globals",
    "f_back",
    "__subclasses__",
}


def python_source(cell_source: str) -> str:
    """A cell's code with IPython's syntax (``!cmd``, ``%magic``) turned into the Python it runs."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return cell_source
    try:
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # IPython rejects some broken cells; the plain text is still worth scanning
        return cell_source


def module_root(node: ast.AST) -> str | None:
    """``torch`` for ``torch.nn.functional.relu``; None when the chain does not start with a name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def findings(tree: ast.AST) -> list[str]:
    """What one cell's syntax tree does that a teacher should see, each said once, in order of appearance."""
    found: list[str] = []

    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in IPYTHON_NAMES:
            add(f"uses IPython's {node.attr}")
        if isinstance(node, ast.Attribute) and node.attr in INTERPRETER_ATTRS:
            add(f"reaches into the interpreter ({dotted(node) or node.attr})")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and module_root(target) in LIBRARIES:
                    add(f"reassigns the library function {dotted(target)}")
                if (
                    isinstance(target, ast.Name)
                    and hasattr(builtins, target.id)
                    and not target.id.startswith("_")
                ):
                    add(f"redefines the builtin {target.id!r}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if hasattr(builtins, node.name) and not node.name.startswith("_"):
                add(f"redefines the builtin {node.name!r}")
            if node.name == "__eq__":
                add("defines __eq__ (an object equal to anything passes == asserts)")
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "setattr" and node.args and module_root(node.args[0]) in LIBRARIES:
                add(f"calls setattr on the library module {dotted(node.args[0])}")
            if name in FILE_CALLS:
                add(f"reads files or runs commands ({name})")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
            for name in names:
                if name.split(".")[0] in INTROSPECTION:
                    add(f"imports {name}")
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "get_ipython"):
            add(f"uses {node.id}")
    return found


def suspicious_code(notebook: nbformat.NotebookNode, released: frozenset[str]) -> list[str]:
    """``["cell 4: reassigns the library function math.isclose", ...]`` for the student's own code in
    ``notebook``."""
    flags = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code" or cell.source in released:
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except SyntaxError:
            continue
        flags += [f"cell {index}: {finding}" for finding in findings(tree)]
    return flags
