"""Finding the course's lessons and the exercises in them (shared by the course tests)."""

from __future__ import annotations

import importlib.util
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from nbclient import NotebookClient

COURSE_DIR = Path(__file__).resolve().parents[2] / "course"
LESSON_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
EXERCISE_MARKER = "**Exercise"
SOLUTION_MARKER = "# Your turn"
CHECK_MARKER = "# Check"
HIDDEN_CHECK_MARKER = "# Hidden check"
SCRIPT = COURSE_DIR.parent / "scripts" / "execute_course.py"
CELL_TIMEOUT = 600


def lesson_files(course_dir: Path = COURSE_DIR) -> list[Path]:
    """The numbered lesson notebooks in course/, sorted by name."""
    return sorted(path for path in course_dir.glob("*.ipynb") if LESSON_NAME.match(path.name))


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@dataclass
class Exercise:
    """One exercise: the index of its task cell, its number as the task states it, what breaks the pattern."""

    index: int
    title: str
    problems: list[str] = field(default_factory=list)

    @property
    def solution_index(self) -> int:
        return self.index + 1

    @property
    def check_index(self) -> int:
        return self.index + 2


def find_exercises(notebook) -> list[Exercise]:
    """Every exercise found by the course's exercise pattern.

    An exercise is a markdown cell starting with ``**Exercise``, followed
    directly by a code cell starting with ``# Your turn`` (the reference
    solution, collapsed) and then a code cell starting with ``# Check`` that
    contains an ``assert``. ``problems`` is empty when the exercise follows it.
    """
    exercises = []
    cells = notebook.cells
    for index, cell in enumerate(cells):
        text = cell.source.lstrip()
        if cell.cell_type != "markdown" or not text.startswith(EXERCISE_MARKER):
            continue
        exercise = Exercise(index, text.split("**")[1].strip(" ."))
        solution = cells[index + 1] if index + 1 < len(cells) else None
        check = cells[index + 2] if index + 2 < len(cells) else None
        if (
            solution is None
            or solution.cell_type != "code"
            or not solution.source.startswith(SOLUTION_MARKER)
        ):
            exercise.problems.append(
                f"the cell after it must be a code cell starting with {SOLUTION_MARKER!r}"
            )
        elif not solution.metadata.get("jupyter", {}).get("source_hidden"):
            exercise.problems.append(
                "its solution cell must be collapsed (metadata jupyter.source_hidden = true)"
            )
        if check is None or check.cell_type != "code" or not check.source.startswith(CHECK_MARKER):
            exercise.problems.append(
                f"the second cell after it must be a code cell starting with {CHECK_MARKER!r}"
            )
        elif not re.search(r"^\s*assert\b", check.source, re.MULTILINE):
            exercise.problems.append("its check cell must contain an assert")
        exercises.append(exercise)
    return exercises


def course_kernel_environment() -> AbstractContextManager[None]:
    """The environment scripts/execute_course.py stores the outputs with, as a context manager."""
    spec = importlib.util.spec_from_file_location("execute_course", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.kernel_environment()


def lesson_client(notebook, path: Path) -> NotebookClient:
    """A client that runs ``notebook`` cell by cell in a python3 kernel started in the notebook's folder."""
    return NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                          resources={"metadata": {"path": str(path.parent)}})
