"""What the classroom tests share: small lessons, course lessons, filled-in student copies.

The scripts are importable in tests through pyproject's pytest ``pythonpath``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from classroom_source import Graded, body, find_exercises

COURSE_DIR = Path(__file__).resolve().parent.parent / "course"

# pyproject installs nbgrader (classroom extra) only where it runs: Python 3.11 and newer
needs_nbgrader = pytest.mark.skipif(sys.version_info < (3, 11), reason="nbgrader 0.9 needs Python 3.11")

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def exercise_cells(number: int, solution: str, check: str, hidden: list[str] = ()) -> list:
    """The three cells of an exercise in the course's pattern, and any hidden checks after them."""
    return [
        nbformat.v4.new_markdown_cell(f"**Exercise {number}.** A task."),
        nbformat.v4.new_code_cell("# Your turn\n" + solution, metadata={"jupyter": {"source_hidden": True}}),
        nbformat.v4.new_code_cell("# Check\n" + check),
        *(nbformat.v4.new_code_cell("# Hidden check\n" + text) for text in hidden),
    ]


def write_lesson(folder: Path, name: str, cells: list) -> Path:
    """A lesson notebook ``folder/name`` holding ``cells``, with the course's kernelspec."""
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


def copy_lessons(prefixes: list[str], folder: Path) -> Path:
    """A course folder holding the course's lessons whose names start with ``prefixes``."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in prefixes:
        for path in COURSE_DIR.glob(f"{prefix}_*.ipynb"):
            shutil.copyfile(path, folder / path.name)
    return folder


def answer(copy_path: Path, answers: dict[str, str], out_path: Path) -> Path:
    """Write the student copy at ``copy_path`` to ``out_path`` with ``{exercise title: code}`` typed in."""
    notebook = nbformat.read(copy_path, as_version=4)
    exercises = {Graded(title, 1).answer_id: title for title in answers}
    for cell in notebook.cells:
        title = exercises.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if title is not None:
            cell.source = "# Your turn\n" + answers[title]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out_path)
    return out_path


def reference_answers(lesson: Path) -> dict[str, str]:
    """``{exercise title: reference solution}`` of an instructor's lesson."""
    notebook = nbformat.read(lesson, as_version=4)
    return {e.title: body(notebook.cells[e.solution_index]) for e in find_exercises(notebook, lesson.name)}
