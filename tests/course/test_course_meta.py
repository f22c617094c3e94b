"""Checks over every course notebook: metadata, stored outputs, and the conventions in course/README.md."""

from __future__ import annotations

import ast
import builtins
import re
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from course_notebooks import (
    COURSE_DIR,
    EXERCISE_MARKER,
    LESSON_NAME,
    code_cells,
    find_exercises,
    lesson_files,
)

LESSON_COUNT = 13  # 00 .. 12
# Lessons announced in 00's list and written in parallel: listed there before their notebook exists.
HEADER_LABELS = ("What you will learn", "What you need first", "Time")
TITLE = re.compile(r"^# (\d\d) · (.+)$", re.MULTILINE)
MINUTES = re.compile(r"\b(\d+)(?:\s*[-–]\s*(\d+))?\s*min(?:utes?)?\b")
LIST_ROW = re.compile(r"^\|\s*\*\*(\d\d) · (.+?)\*\*\s*\|(?:.*\|)?([^|\n]*)\|\s*$", re.MULTILINE)
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


def lesson_header(source: str) -> dict[str, str]:
    """The title cell's parts: "title" (after '# NN · ') and each of HEADER_LABELS found, by label."""
    header = {}
    title = TITLE.search(source)
    if title:
        header["title"] = title.group(2).strip()
    for label in HEADER_LABELS:
        found = re.search(rf"^(?:[-*]\s+)?\*\*{label}:?\*\*:?[ \t]*(.*)$", source, re.MULTILINE)
        if found:
            header[label] = found.group(1).strip()
    return header


def minutes(text: str) -> tuple[int, int] | None:
    """The minutes a text states: (20, 20) for 'about 20 minutes', (20, 30) for '20–30 min'; None if none."""
    found = MINUTES.search(text)
    if not found:
        return None
    low = int(found.group(1))
    return low, int(found.group(2) or low)


def header_problems(number: int, source: str) -> list[str]:
    """What a lesson's title cell lacks: the three lines, minutes in Time, earlier lessons in What you
    need first."""
    header = lesson_header(source)
    problems = []
    for label in HEADER_LABELS:
        if not header.get(label):
            hint = {"Time": "about how many minutes"}.get(label, "one short line")
            problems.append(f"it needs a line '**{label}:** ...' ({hint})")
    if header.get("Time") and minutes(header["Time"]) is None:
        problems.append(f"the Time line should give minutes ('about 30 minutes'), got {header['Time']!r}")
    needs = header.get("What you need first")
    if needs and number > 0:
        named = re.findall(r"\b\d\d\b", needs)
        later = [name for name in named if int(name) >= number]
        if not named:
            problems.append(
                "What you need first should name the earlier lessons it builds on by number (01, 02, ...)"
            )
        elif later:
            problems.append(f"What you need first should name earlier lessons only, got {', '.join(later)}")
    return problems


class ListRow(NamedTuple):
    """One lesson in 00's list: its number, its title, the minutes it states."""

    number: int
    title: str
    minutes: tuple[int, int] | None


def lesson_list(notebook) -> list[ListRow]:
    """The rows '| **NN · Title** | ... | time |' of the start notebook's markdown, in order (time: the
    last column)."""
    rows = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for found in LIST_ROW.finditer(cell.source):
                rows.append(ListRow(int(found.group(1)), found.group(2).strip(), minutes(found.group(3))))
    return rows


def list_problems(rows: list[ListRow], headers: dict[int, dict[str, str]]) -> list[str]:
    """How 00's list differs from the lessons: each lesson once, in order, by its title and with its time."""
    numbers = [row.number for row in rows]
    problems = []
    if numbers != sorted(set(numbers)):
        problems.append(
            "lessons must be listed once each, in order: " + ", ".join(f"{n:02d}" for n in numbers)
        )
    problems += [
        f"lesson {n:02d} is missing from the list" for n in sorted(headers) if n > 0 and n not in numbers
    ]
    for row in rows:
        header = headers.get(row.number)
        if row.minutes is None:
            problems.append(
                f"{row.number:02d} is listed without its time (a last column such as 'about 30 minutes')"
            )
        if header is None:
            problems.append(f"{row.number:02d} is listed but there is no such lesson")
            continue
        if row.title != header.get("title"):
            problems.append(
                f"{row.number:02d} is listed as {row.title!r}, the lesson's title is {header.get('title')!r}"
            )
        stated = minutes(header.get("Time", ""))
        if row.minutes is not None and row.minutes != stated:
            problems.append(f"{row.number:02d} is listed with {describe_minutes(row.minutes)}, "
                            f"the lesson says {describe_minutes(stated)}")
    return problems


def describe_minutes(span: tuple[int, int] | None) -> str:
    if span is None:
        return "no time"
    low, high = span
    return f"{low} minutes" if low == high else f"{low}-{high} minutes"


LESSONS = lesson_files()


def test_lessons_are_numbered_contiguously_from_00():
    numbers = [int(LESSON_NAME.match(path.name).group(1)) for path in LESSONS]
    assert numbers == list(range(len(numbers))), (
        f"lessons must be numbered 00, 01, ... without gaps or repeats; found {[p.name for p in LESSONS]}"
    )


def test_every_lesson_of_the_course_exists():
    numbers = sorted(int(LESSON_NAME.match(path.name).group(1)) for path in LESSONS)
    missing = [f"{n:02d}" for n in range(LESSON_COUNT) if n not in numbers]
    assert not missing, f"expected lessons 00..{LESSON_COUNT - 1:02d} in {COURSE_DIR}; missing {missing}"


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
    assert not unrun, (
        f"code cells {unrun} (0-based among code cells) have no execution count: run the notebook"
    )
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


def test_title_cell_says_what_it_teaches_needs_and_takes(notebook_path):
    number = int(notebook_path.name[:2])
    first = nbformat.read(notebook_path, as_version=4).cells[0]
    problems = header_problems(number, first.source)
    assert not problems, f"{notebook_path.name}, title cell: " + "; ".join(problems)


def test_start_here_lists_the_lessons_with_their_titles_and_times():
    start = COURSE_DIR / "00_start_here.ipynb"
    assert start.exists(), "course/00_start_here.ipynb is missing"
    rows = lesson_list(nbformat.read(start, as_version=4))
    headers = {
        int(path.name[:2]): lesson_header(nbformat.read(path, as_version=4).cells[0].source)
        for path in LESSONS
    }
    problems = list_problems(rows, headers)
    assert not problems, "00_start_here's list of lessons: " + "; ".join(problems)


def test_header_and_list_checks_catch_what_they_forbid():
    good = ("# 03 · Data\n\nIntro.\n\n- **What you will learn:** datasets\n"
            "- **What you need first:** lessons 01 and 02\n- **Time:** about 30 minutes\n")
    assert header_problems(3, good) == []
    assert lesson_header(good)["Time"] == "about 30 minutes"
    assert minutes("about 30 minutes") == (30, 30) and minutes("20–30 min") == (20, 30)
    assert minutes("soon") is None and minutes("5 minibatches") is None
    assert header_problems(3, good.replace("- **Time:** about 30 minutes\n", "")) == [
        "it needs a line '**Time:** ...' (about how many minutes)"]
    assert header_problems(3, good.replace("about 30 minutes", "a while")) == [
        "the Time line should give minutes ('about 30 minutes'), got 'a while'"]
    assert header_problems(3, good.replace("lessons 01 and 02", "lesson 04")) == [
        "What you need first should name earlier lessons only, got 04"]
    assert header_problems(3, good.replace("lessons 01 and 02", "some Python")) == [
        "What you need first should name the earlier lessons it builds on by number (01, 02, ...)"]
    assert header_problems(0, good.replace("# 03", "# 00").replace("lessons 01 and 02", "some Python")) == []

    table = ("## The lessons\n\n| lesson | what you learn | time |\n| --- | --- | --- |\n"
             "| **01 · One** | a | about 20 minutes |\n| **02 · Two** | b | about 30 minutes |\n"
             "| **09 · Later** | c | about 40 minutes |\n")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(table)]
    rows = lesson_list(notebook)
    assert [(row.number, row.title, row.minutes) for row in rows] == [
        (1, "One", (20, 20)), (2, "Two", (30, 30)), (9, "Later", (40, 40))]
    headers = {1: {"title": "One", "Time": "about 20 minutes"},
               2: {"title": "Two", "Time": "about 30 minutes"},
               9: {"title": "Later", "Time": "about 40 minutes"}}
    assert list_problems(rows, headers) == []
    assert list_problems(rows, {**headers, 2: {"title": "Two", "Time": "about 25 minutes"}}) == [
        "02 is listed with 30 minutes, the lesson says 25 minutes"]
    assert list_problems(rows, {**headers, 2: {"title": "Second", "Time": "about 30 minutes"}}) == [
        "02 is listed as 'Two', the lesson's title is 'Second'"]
    assert list_problems(rows, {**headers, 3: {"title": "Three", "Time": "about 9 minutes"}}) == [
        "lesson 03 is missing from the list"]
    assert list_problems(rows[:1] + rows[:1],
                         {1: headers[1]}) == ["lessons must be listed once each, in order: 01, 01"]
    assert list_problems([rows[0]._replace(minutes=None)], {1: headers[1]}) == [
        "01 is listed without its time (a last column such as 'about 30 minutes')"]
    stray = lesson_list(notebook)
    stray[2] = stray[2]._replace(number=13)
    assert list_problems(stray, headers) == [
        "lesson 09 is missing from the list", "13 is listed but there is no such lesson"]


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
    assert "set_threads(1)" in first and "torch.set_num_threads" not in first, (
        "the first code cell must call set_threads(1) (from widgets import set_threads)"
    )
    assert "torch.manual_seed(" in first, "the first code cell must seed torch"


def test_at_least_two_exercises_each_with_solution_and_check(notebook):
    exercises = find_exercises(notebook)
    assert len(exercises) >= 2, (
        f"a lesson needs at least two exercises ({EXERCISE_MARKER} ...), found {len(exercises)}"
    )
    for exercise in exercises:
        assert not exercise.problems, f"exercise at cell {exercise.index}: " + "; ".join(exercise.problems)


def test_every_solution_cell_follows_its_task(notebook):
    """A "# Your turn" cell comes right after a markdown cell that starts with the task's marker."""
    cells = notebook.cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and cell.source.startswith("# Your turn"):
            before = cells[index - 1] if index else None
            assert (
                before is not None
                and before.cell_type == "markdown"
                and before.source.startswith(EXERCISE_MARKER)
            ), (
                f"cell {index} ('# Your turn') must follow a markdown cell starting with {EXERCISE_MARKER} "
                "N.**; split the task from the text before it"
            )


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
