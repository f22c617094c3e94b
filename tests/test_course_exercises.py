"""Every exercise of every lesson really checks the learner's answer.

Each lesson runs top to bottom in one kernel with the course's environment. At
each exercise the learner's cell is first left empty: the check must then fail
with an AssertionError whose message says what is missing (never a NameError,
never a pass). Then the reference solution runs and the same check must pass.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from course_notebooks import COURSE_DIR, find_exercises, lesson_files
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SCRIPT = COURSE_DIR.parent / "scripts" / "execute_course.py"
CELL_TIMEOUT = 600


def course_kernel_environment():
    """The environment scripts/execute_course.py stores the outputs with."""
    spec = importlib.util.spec_from_file_location("execute_course", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.kernel_environment()


def run_cell(client: NotebookClient, notebook, index: int, source: str | None = None) -> CellExecutionError | None:
    """Run cell ``index`` (with ``source`` in place of its own, if given); return its error, if any."""
    cell = notebook.cells[index].copy()
    if source is not None:
        cell.source = source
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as error:
        return error
    return None


def exercise_problems(path: Path) -> list[str]:
    """What is wrong with the exercises of the notebook at ``path``; empty when every one really checks."""
    notebook = nbformat.read(path, as_version=4)
    exercises = {exercise.index: exercise for exercise in find_exercises(notebook)}
    problems = [f"{e.title}: {'; '.join(e.problems)}" for e in exercises.values() if e.problems]
    if problems:
        return problems
    solution_cells = {e.solution_index for e in exercises.values()}
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with course_kernel_environment(), client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            if index in solution_cells:
                exercise = exercises[index - 1]
                empty = run_cell(client, notebook, exercise.check_index)
                if empty is None:
                    problems.append(f"{exercise.title}: its check passes with the learner's cell left empty")
                elif empty.ename != "AssertionError":
                    problems.append(f"{exercise.title}: with the learner's cell empty its check fails with "
                                    f"{empty.ename}: {empty.evalue}, not an AssertionError")
                elif not empty.evalue.strip():
                    problems.append(f"{exercise.title}: with the learner's cell empty its check fails "
                                    "with an AssertionError that has no message")
            error = run_cell(client, notebook, index)
            if error is not None:
                where = f"cell {index}"
                if index - 1 in exercises:
                    where = f"{exercises[index - 1].title}: its reference solution"
                if index - 2 in exercises:
                    where = f"{exercises[index - 2].title}: its check, after the reference solution,"
                problems.append(f"{where} fails with {error.ename}: {error.evalue}")
                break
    return problems


LESSONS = lesson_files()


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_every_exercise_rejects_an_empty_answer_and_accepts_the_solution(path):
    problems = exercise_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def exercise(number: int, solution: str, check: str) -> list:
    hidden = {"jupyter": {"source_hidden": True}}
    return [
        nbformat.v4.new_markdown_cell(f"**Exercise {number}.** A task."),
        nbformat.v4.new_code_cell("# Your turn\n" + solution, metadata=hidden),
        nbformat.v4.new_code_cell("# Check\n" + check),
    ]


@pytest.mark.slow
def test_the_exercise_runner_names_every_kind_of_weak_check(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 3"),
        *exercise(1, "y = 2 * x", "assert 'y' in globals(), 'store 2 * x in y'\nassert y == 6, f'y should be 6, got {y}'"),
        *exercise(2, "z = x", "print('no assert here')\nassert True, 'always'"),
        *exercise(3, "w = x + 1", "assert w == 4, 'w should be x + 1'"),
        *exercise(4, "v = x", "assert 'v' in globals()"),
        *exercise(5, "u = x / 0", "assert 'u' in globals(), 'store u'\nassert u == 1, 'u should be 1'"),
        nbformat.v4.new_code_cell("after = 1"),
    ]
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    problems = exercise_problems(path)
    assert problems == [
        "Exercise 2: its check passes with the learner's cell left empty",
        "Exercise 3: with the learner's cell empty its check fails with NameError: name 'w' is not defined, "
        "not an AssertionError",
        "Exercise 4: with the learner's cell empty its check fails with an AssertionError that has no message",
        "Exercise 5: its reference solution fails with ZeroDivisionError: division by zero",
    ], problems


@pytest.mark.slow
def test_the_exercise_runner_reports_a_check_that_rejects_the_solution(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = exercise(1, "y = 5", "assert 'y' in globals(), 'store y'\nassert y == 6, f'y should be 6, got {y}'")
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    assert exercise_problems(path) == [
        "Exercise 1: its check, after the reference solution, fails with AssertionError: y should be 6, got 5"
    ]
