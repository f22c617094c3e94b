"""Every lesson runs top to bottom with its exercises left blank.

A learner may skip an exercise, or hand in a lesson with some left undone. The
lesson must still run: with every ``# Your turn`` cell empty, the only cells
that fail are the checks (each with an AssertionError that says what is
missing), and every later teaching cell builds what it needs itself or takes it
from a given cell, never from a solution.

Each exercise is also solved on its own: at its check, with every earlier
exercise still blank, the reference solution and the check run in a copy of
the learner's namespace (so the solution leaves nothing behind for later
cells) and the check must pass. A learner who solves only that exercise gets
its point.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from course_notebooks import (
    HIDDEN_CHECK_MARKER,
    course_kernel_environment,
    find_exercises,
    lesson_client,
    lesson_files,
    run_cell,
)

# Runs a solution and its check in a shallow copy of the kernel's globals: names the solution
# defines vanish afterwards, so later cells still see a learner who left the exercise blank.
ALONE = """\
_alone_namespace = dict(globals())
try:
    exec(compile({solution!r}, "<reference solution>", "exec"), _alone_namespace)
    exec(compile({check!r}, "<check>", "exec"), _alone_namespace)
finally:
    del _alone_namespace
"""


def blank_run_problems(path: Path) -> list[str]:
    """What goes wrong when the notebook at ``path`` runs with every exercise blank; empty when nothing does."""
    notebook = nbformat.read(path, as_version=4)
    exercises = find_exercises(notebook)
    problems = [f"{e.title}: {'; '.join(e.problems)}" for e in exercises if e.problems]
    if problems:
        return problems
    solutions = {e.solution_index: e for e in exercises}
    checks = {e.check_index: e for e in exercises}
    client = lesson_client(notebook, path)
    with course_kernel_environment(), client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or index in solutions:
                continue
            error = run_cell(client, notebook, index)
            if index in checks:
                exercise = checks[index]
                if error is None:
                    problems.append(f"{exercise.title}: its check passes with every exercise blank")
                elif error.ename != "AssertionError" or not error.evalue.strip():
                    problems.append(f"{exercise.title}: with every exercise blank its check fails with "
                                    f"{error.ename}: {error.evalue!r}, not an AssertionError that says what is missing")
                solution = notebook.cells[exercise.solution_index].source
                alone = run_cell(client, notebook, index, ALONE.format(solution=solution, check=cell.source))
                if alone is not None:
                    problems.append(f"{exercise.title}: solved with the earlier exercises blank, its check fails "
                                    f"with {alone.ename}: {alone.evalue}")
            elif cell.source.startswith(HIDDEN_CHECK_MARKER):
                if error is not None and error.ename != "AssertionError":
                    problems.append(f"cell {index} (a hidden check) fails with {error.ename}: {error.evalue}")
            elif error is not None:
                problems.append(f"cell {index} fails with the exercises blank: {error.ename}: {error.evalue}")
    return problems


LESSONS = lesson_files()


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs_with_every_exercise_blank_and_each_exercise_alone_scores(path):
    problems = blank_run_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def exercise(number: int, solution: str, check: str) -> list:
    hidden = {"jupyter": {"source_hidden": True}}
    return [
        nbformat.v4.new_markdown_cell(f"**Exercise {number}.** A task."),
        nbformat.v4.new_code_cell("# Your turn\n" + solution, metadata=hidden),
        nbformat.v4.new_code_cell("# Check\n" + check),
    ]


@pytest.mark.slow
def test_the_blank_runner_names_cells_that_lean_on_a_solution(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 3\nbox = []"),
        *exercise(1, "y = 2 * x", "assert 'y' in globals(), 'store 2 * x in y'\nassert y == 6, f'y should be 6, got {y}'"),
        nbformat.v4.new_code_cell("z = y + 1"),
        *exercise(2, "w = y + 1", "assert 'w' in globals(), 'store y + 1 in w'\nassert w == 7, 'w should be 7'"),
        *exercise(3, "box.append(1)", "assert len(box) <= 1, 'box grew twice'"),
        *exercise(4, "v = x", "assert 'v' in globals(), 'store x in v'\nassert v == 3, 'v should be x'"),
        nbformat.v4.new_code_cell("u = v"),
        nbformat.v4.new_code_cell("t = 1"),
    ]
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    assert blank_run_problems(path) == [
        "cell 4 fails with the exercises blank: NameError: name 'y' is not defined",
        "Exercise 2: solved with the earlier exercises blank, its check fails with NameError: name 'y' is not defined",
        "Exercise 3: its check passes with every exercise blank",
        "cell 14 fails with the exercises blank: NameError: name 'v' is not defined",
    ]
