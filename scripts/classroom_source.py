"""The course's exercise pattern, read strictly and written in nbgrader's source format.

A lesson marks each exercise with three cells in a row (see course/README.md):
a markdown cell starting ``**Exercise N.**``, a code cell whose first line is
``# Your turn`` (the reference solution) and a code cell whose first line is
``# Check`` (the asserts). A teacher may add hidden checks: code cells whose
first line is ``# Hidden check``, placed right after an exercise's ``# Check``
cell. ``# Check (2 points)`` on the first line weighs an exercise; the default
is one point.

``to_nbgrader_source`` turns a lesson into what ``nbgrader generate_assignment``
reads: the solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, the
check as an autograded cell worth the exercise's points, and the hidden checks
moved into that cell between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import nbformat

TASK_MARKER = "**Exercise"
SOLUTION_MARKER = "# Your turn"
CHECK_MARKER = "# Check"
HIDDEN_MARKER = "# Hidden check"
CHECK_LINE = re.compile(r"^# Check(?:\s*\((\d+) points?\))?\s*$")
ASSERT_LINE = re.compile(r"^\s*assert\b", re.MULTILINE)


class PatternError(ValueError):
    """A lesson breaks the exercise pattern; the message names the lesson and the cell index."""


@dataclass(frozen=True)
class Graded:
    """What grading knows of an exercise: its title, its points and its nbgrader cell ids."""

    title: str
    points: int

    @property
    def grade_id(self) -> str:
        """nbgrader's id of the exercise's autograded check cell, e.g. ``exercise-2-check``."""
        return self._slug() + "-check"

    @property
    def answer_id(self) -> str:
        """nbgrader's id of the exercise's solution cell, e.g. ``exercise-2-answer``."""
        return self._slug() + "-answer"

    def _slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass(frozen=True)
class Exercise(Graded):
    """One exercise where it sits in the instructor's notebook: the indices of its cells."""

    task_index: int
    solution_index: int
    check_index: int
    hidden_indices: tuple[int, ...]


def first_line(cell: nbformat.NotebookNode) -> str:
    return cell.source.split("\n", 1)[0].rstrip()


def body(cell: nbformat.NotebookNode) -> str:
    """The cell's source without its marker line."""
    return cell.source.split("\n", 1)[1] if "\n" in cell.source else ""


def find_exercises(notebook: nbformat.NotebookNode, name: str) -> list[Exercise]:
    """Every exercise of ``notebook`` (called ``name`` in messages), read strictly.

    Raises PatternError naming the first cell that breaks the pattern: a task not
    followed by its solution and check, a solution or check cell outside an
    exercise (a stray solution would reach the student copy), a check without an
    assert, a hidden check not right after a check, two exercises with one title.
    """
    cells = notebook.cells
    exercises: list[Exercise] = []
    claimed: set[int] = set()

    def fail(index: int, message: str) -> PatternError:
        return PatternError(f"{name}, cell {index}: {message}")

    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown" or not cell.source.lstrip().startswith(TASK_MARKER):
            continue
        title = cell.source.lstrip().split("**")[1].strip(" .")
        for offset, marker in ((1, SOLUTION_MARKER), (2, CHECK_MARKER)):
            at = index + offset
            if at >= len(cells) or cells[at].cell_type != "code" or not cells[at].source.startswith(marker):
                raise fail(
                    at, f"{title} (task in cell {index}) needs a code cell starting with {marker!r} here"
                )
        check_line = first_line(cells[index + 2])
        weight = CHECK_LINE.match(check_line)
        if weight is None:
            raise fail(
                index + 2,
                f"the first line of a check must be '# Check' or '# Check (N points)', got {check_line!r}",
            )
        if not ASSERT_LINE.search(cells[index + 2].source):
            raise fail(index + 2, f"the check of {title} contains no assert")
        hidden: list[int] = []
        while index + 3 + len(hidden) < len(cells) and cells[index + 3 + len(hidden)].source.startswith(
            HIDDEN_MARKER
        ):
            at = index + 3 + len(hidden)
            if cells[at].cell_type != "code":
                raise fail(at, f"a hidden check must be a code cell, got a {cells[at].cell_type} cell")
            hidden.append(at)
        exercise = Exercise(title, int(weight.group(1) or 1), index, index + 1, index + 2, tuple(hidden))
        if any(existing.grade_id == exercise.grade_id for existing in exercises):
            raise fail(index, f"a second exercise titled {title!r}; number them apart")
        exercises.append(exercise)
        claimed.update({exercise.solution_index, exercise.check_index, *hidden})

    for index, cell in enumerate(cells):
        if index in claimed or cell.cell_type != "code":
            continue
        for marker, what in (
            (SOLUTION_MARKER, "a solution"),
            (CHECK_MARKER, "a check"),
            (HIDDEN_MARKER, "a hidden check"),
        ):
            if cell.source.startswith(marker):
                place = (
                    "right after a check"
                    if marker == HIDDEN_MARKER
                    else f"right after an {TASK_MARKER}...** task cell"
                )
                raise fail(index, f"{what} cell ({marker!r}) outside an exercise; it belongs {place}")
    return exercises


def nbgrader_metadata(grade_id: str, *, solution: bool, points: int = 0) -> dict:
    """nbgrader's cell metadata (schema 3) for a solution cell or an autograded check."""
    meta = {
        "grade_id": grade_id,
        "schema_version": 3,
        "solution": solution,
        "grade": not solution,
        "locked": not solution,
    }
    if not solution:
        meta["points"] = points
    return meta


def to_nbgrader_source(
    notebook: nbformat.NotebookNode, name: str
) -> tuple[nbformat.NotebookNode, list[Exercise]]:
    """A copy of the lesson in nbgrader's source format, and its exercises.

    Outputs and stored widget state are dropped (they hold what the solutions
    printed); the instructor's notebook is not changed.
    """
    exercises = find_exercises(notebook, name)
    source = copy.deepcopy(notebook)
    source.metadata.pop("widgets", None)
    for cell in source.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    for exercise in exercises:
        solution = source.cells[exercise.solution_index]
        solution.source = f"{SOLUTION_MARKER}\n### BEGIN SOLUTION\n{body(solution)}\n### END SOLUTION"
        solution.metadata.pop("jupyter", None)  # the placeholder is shown, not collapsed
        solution.metadata["nbgrader"] = nbgrader_metadata(exercise.answer_id, solution=True)
        check = source.cells[exercise.check_index]
        if exercise.hidden_indices:
            hidden = "\n".join(source.cells[i].source for i in exercise.hidden_indices)
            check.source = f"{check.source}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"
        check.metadata["nbgrader"] = nbgrader_metadata(
            exercise.grade_id, solution=False, points=exercise.points
        )
    dropped = {i for exercise in exercises for i in exercise.hidden_indices}
    source.cells = [cell for i, cell in enumerate(source.cells) if i not in dropped]
    return source, exercises
