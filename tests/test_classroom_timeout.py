"""A notebook that runs past the per-notebook timeout is stopped and scores zero."""

from __future__ import annotations

import time

import nbformat
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

pytestmark = needs_nbgrader


def test_a_notebook_past_its_timeout_is_stopped_and_scored_zero(tmp_path):
    check = "assert 'y' in globals(), 'store y'\nassert y == 2, f'y should be 2, got {y}'"
    write_lesson(tmp_path / "course", "01_probe.ipynb", [nbformat.v4.new_code_cell("x = 1"), *exercise_cells(1, "y = 2", check)])
    build(tmp_path / "course", tmp_path / "build")
    copy = tmp_path / "build" / "students" / "01_probe.ipynb"
    answer(copy, {"Exercise 1": "while True:\n    pass"}, tmp_path / "submitted" / "loops" / "01_probe.ipynb")
    start = time.monotonic()
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=5)
    assert time.monotonic() - start < 15
    assert [(s.student, s.exercise, s.points, s.max, s.note) for s in scores] == [
        ("loops", "Exercise 1", 0, 1, "timed out after 5 s")]
    rows = (tmp_path / "results" / "scores.csv").read_text().splitlines()
    assert rows[1] == "loops,01_probe,Exercise 1,0,1,timed out after 5 s"
