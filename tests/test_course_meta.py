"""Checks over every course notebook: metadata, stored outputs, and the conventions in course/README.md."""

from __future__ import annotations

import ast
import builtins
import re
import sys
from pathlib import Path

import nbformat
import pytest
from course_notebooks import COURSE_DIR, EXERCISE_MARKER, LESSON_NAME, code_cells, find_exercises, lesson_files

LESSON_COUNT = 9  # 00 .. 08
IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
IPYWIDGETS_AS_WIDGETS = re.compile(r"^\s*import\s+ipywidgets\s+as\s+widgets\b", re.MULTILINE)
FORBIDDEN_CALLS = ("clear_output(", "display_id", "update_display(")
IMPORT_LINE = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\b)", re.MULTILINE)
GLOBAL_STATEMENT = re.compile(r"^\s*(global|nonlocal)\s+\w", re.MULTILINE)
# A variable named like a standard module or a builtin hides the real one for the rest of the
# notebook (`copy = ...` and later `copy.deepcopy` fails; `numbers`, `input`, `sum` ...).
SHADOWED_NAMES = frozenset(sys.stdlib_module_names) | frozenset(dir(builtins))
ALLOWED_NAMES = frozenset({"_"})


def assigned_names(source: str) -> set[str]:
    """Names a cell binds: assignment and loop targets, functions, classes, `with ... as`, `import ... as`."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names - ALLOWED_NAMES


def stored_text(output) -> str:
    """Everything nbval would compare in one output, as one string."""
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    return "\n".join(str(data[key]) for key in ("text/plain", "text/html") if key in data)


LESSONS = lesson_files()


def test_lessons_are_numbered_contiguously_from_00():
    numbers = [int(LESSON_NAME.match(path.name).group(1)) for path in LESSONS]
    assert numbers == list(range(len(numbers))), (
        f"lessons must be numbered 00, 01, ... without gaps or repeats; found {[p.name for p in LESSONS]}"
    )


def test_all_nine_lessons_exist():
    numbers = sorted(int(LESSON_NAME.match(path.name).group(1)) for path in LESSONS)
    missing = [f"{n:02d}" for n in range(LESSON_COUNT) if n not in numbers]
    assert not missing, f"expected lessons 00..08 in {COURSE_DIR}; missing {missing}"


def test_lesson_finder_sees_only_lesson_names():
    assert LESSON_NAME.match("04_spirals_mlp.ipynb")
    for name in ("4_spirals.ipynb", "04-spirals.ipynb", "04_Spirals.ipynb", "04_spirals.py", "README.md"):
        assert not LESSON_NAME.match(name), name


@pytest.fixture(params=LESSONS, ids=[path.stem for path in LESSONS])
def notebook_path(request) -> Path:
    return request.param


@pytest.fixture
def notebook(notebook_path):
    return nbformat.read(notebook_path, as_version=4)


def test_notebook_is_valid_nbformat(notebook):
    nbformat.validate(notebook)


def test_kernelspec_and_language_info(notebook):
    kernelspec = notebook.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"kernelspec name must be 'python3', got {kernelspec!r}"
    assert kernelspec.get("language") == "python", f"kernelspec language must be 'python', got {kernelspec!r}"
    assert kernelspec.get("display_name"), "kernelspec needs a display_name"
    assert notebook.metadata.get("language_info", {}).get("name") == "python", (
        "language_info is missing: store outputs with scripts/execute_course.py"
    )


def test_stored_outputs_come_from_one_top_to_bottom_run(notebook):
    counts = [cell.get("execution_count") for cell in code_cells(notebook)]
    assert counts, "a lesson needs code cells"
    unrun = [i for i, count in enumerate(counts) if count is None]
    assert not unrun, f"code cells {unrun} (0-based among code cells) have no execution count: run the notebook"
    assert counts == list(range(1, len(counts) + 1)), (
        f"execution counts must be 1..{len(counts)} in order (one run in a fresh kernel), got {counts}"
    )
    assert all("outputs" in cell for cell in code_cells(notebook))
    assert any(cell.outputs for cell in code_cells(notebook)), "no code cell has a stored output"


def test_no_errors_stored_except_tagged_cells(notebook):
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if tagged:
            assert errors, f"cell {index} is tagged raises-exception but stored no error"
        else:
            assert not errors, f"cell {index} stored an error: {errors[0].ename}: {errors[0].evalue}"


def test_no_cell_ends_with_semicolon(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        assert not cell.source.rstrip().endswith(";"), (
            f"code cell {index} ends with ';': nbval does not suppress its output; assign to _ instead"
        )


def test_no_ipywidgets_imported_as_widgets(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        assert not IPYWIDGETS_AS_WIDGETS.search(cell.source), (
            f"code cell {index}: write `import ipywidgets as ipw`; `widgets` is this package"
        )


def test_no_output_replacing_calls(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        for call in FORBIDDEN_CALLS:
            assert call not in cell.source, f"code cell {index} uses {call!r}, which nbval cannot compare"


def test_no_raw_widget_reprs_in_compared_outputs(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        if cell.source.startswith(IGNORE_MARKER):
            continue
        for output in cell.outputs:
            text = stored_text(output)
            assert "value=b'" not in text, f"code cell {index} stores a raw widget repr with its value"


def test_first_cell_is_the_numbered_title(notebook_path):
    notebook = nbformat.read(notebook_path, as_version=4)
    number = notebook_path.name[:2]
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {number} · "), (
        f"the first cell must be a markdown title starting with '# {number} · ', got {first.source[:40]!r}"
    )


def test_start_here_lists_every_lesson():
    start = COURSE_DIR / "00_start_here.ipynb"
    assert start.exists(), "course/00_start_here.ipynb is missing"
    text = "\n".join(cell.source for cell in nbformat.read(start, as_version=4).cells if cell.cell_type == "markdown")
    missing = [path.name for path in LESSONS[1:] if f"**{path.name[:2]} · " not in text]
    assert not missing, f"00_start_here's list of lessons should name each lesson as '**NN · Title**'; missing {missing}"


def test_every_import_is_in_the_first_code_cell(notebook):
    for index, cell in enumerate(code_cells(notebook)[1:], start=1):
        found = IMPORT_LINE.search(cell.source)
        assert not found, (
            f"code cell {index} imports ({found.group(0).strip()!r}): a lesson imports everything "
            "in its first code cell, so a learner sees at once what it needs"
        )


def test_no_global_statements(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        found = GLOBAL_STATEMENT.search(cell.source)
        assert not found, f"code cell {index} uses {found.group(0).strip()!r}: return the value instead"


def test_no_variable_shadows_a_standard_name(notebook):
    for index, cell in enumerate(code_cells(notebook)):
        shadowed = sorted(assigned_names(cell.source) & SHADOWED_NAMES)
        assert not shadowed, f"code cell {index} assigns to {shadowed}, hiding the standard module or builtin"


def test_style_checks_catch_what_they_forbid():
    cells = ["import torch", "x = 1\nfrom widgets import Trainer", "def f():\n    global step",
             "copy = model\nfor time in range(3):\n    pass", "copy_diff = 1\nif a == b:\n    f(\n  input=2)"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    assert [bool(IMPORT_LINE.search(source)) for source in cells] == [True, True, False, False, False]
    assert [bool(GLOBAL_STATEMENT.search(source)) for source in cells] == [False, False, True, False, False]
    with pytest.raises(AssertionError, match=r"code cell 3 assigns to \['copy', 'time'\]"):
        test_no_variable_shadows_a_standard_name(notebook)


def test_first_code_cell_fixes_threads_and_seed(notebook):
    first = code_cells(notebook)[0].source
    assert "torch.set_num_threads(1)" in first, "the first code cell must call torch.set_num_threads(1)"
    assert "torch.manual_seed(" in first, "the first code cell must seed torch"


def test_at_least_two_exercises_each_with_solution_and_check(notebook):
    exercises = find_exercises(notebook)
    assert len(exercises) >= 2, f"a lesson needs at least two exercises ({EXERCISE_MARKER} ...), found {len(exercises)}"
    for exercise in exercises:
        assert not exercise.problems, f"exercise at cell {exercise.index}: " + "; ".join(exercise.problems)


def test_exercise_finder_rejects_a_check_without_assert():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("**Exercise 1.** Double x."),
        nbformat.v4.new_code_cell("# Your turn\ny = 2 * x", metadata={"jupyter": {"source_hidden": True}}),
        nbformat.v4.new_code_cell("# Check\nprint(y)"),
        nbformat.v4.new_markdown_cell("**Exercise 2.** Halve x."),
        nbformat.v4.new_code_cell("# Your turn\nz = x / 2"),
        nbformat.v4.new_code_cell("# Check\nassert z == x / 2, 'z should be x / 2'"),
    ]
    first, second = find_exercises(notebook)
    assert first.problems == ["its check cell must contain an assert"]
    assert second.problems == ["its solution cell must be collapsed (metadata jupyter.source_hidden = true)"]
