"""Fair grading: output on stderr costs nothing, a broken file gets a reason, a misnamed file is placed or
reported."""

from __future__ import annotations

import csv

import nbformat
import pytest
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

pytestmark = [needs_nbgrader, pytest.mark.slow]

CHECK = "assert 'y' in globals(), 'store y'\nassert y == 2, f'y should be 2, got {y}'"
NOISY = ("import sys, warnings\nwarnings.warn('this API is deprecated')\n"
         "print('a note on stderr', file=sys.stderr)\ny = 2")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fair")
    write_lesson(tmp / "course", "01_probe.ipynb",
                 [nbformat.v4.new_code_cell("x = 1"), *exercise_cells(1, "y = 2", CHECK)])
    write_lesson(tmp / "course", "02_other.ipynb",
                 [*exercise_cells(1, "w = 1", "assert w == 1, 'w should be 1'")])
    build(tmp / "course", tmp / "build")
    copy, subs = tmp / "build" / "students" / "01_probe.ipynb", tmp / "submitted"
    answer(copy, {"Exercise 1": NOISY}, subs / "noisy" / "01_probe.ipynb")
    (subs / "broken").mkdir(parents=True)
    (subs / "broken" / "01_probe.ipynb").write_text("print('this is a Python file, not a notebook')\n")
    answer(copy, {"Exercise 1": "y = 2"}, subs / "renamed" / "01_probe (1).ipynb")
    answer(copy, {"Exercise 1": "y = 2"}, subs / "renamed" / "homework.ipynb")
    answer(copy, {"Exercise 1": "y = 2"}, subs / "loose.ipynb")
    answer(tmp / "build" / "students" / "02_other.ipynb", {"Exercise 1": "w = 1"},
           subs / "other" / "02_other.ipynb")
    scores = grade(tmp / "build", subs, tmp / "results", timeout=60)
    return tmp / "results", {(s.student, s.lesson, s.exercise): s for s in scores}


def test_warnings_and_stderr_in_a_correct_answer_cost_nothing(graded):
    _, scores = graded
    assert (scores["noisy", "01_probe", "Exercise 1"].points,
            scores["noisy", "01_probe", "Exercise 1"].note) == (1, "")


def test_a_file_that_is_not_json_gets_a_note_saying_why(graded):
    _, scores = graded
    assert scores["broken", "01_probe", "Exercise 1"].points == 0
    assert scores["broken", "01_probe", "Exercise 1"].note == (
        "the file is not a notebook: it is not JSON (Expecting value at line 1, column 1); was it saved from "
        "Jupyter, or renamed from another file?")


def test_a_misnamed_file_is_placed_and_what_cannot_be_placed_is_reported(graded):
    folder, scores = graded
    assert scores["renamed", "01_probe", "Exercise 1"].points == 1
    assert scores["other", "01_probe", "Exercise 1"].note == "not submitted"
    assert scores["other", "02_other", "Exercise 1"].points == 1
    with (folder / "teacher" / "intake.csv").open() as handle:
        rows = [(row["file"].rsplit("/", 1)[-1], row["action"]) for row in csv.DictReader(handle)]
    assert ("01_probe (1).ipynb", "graded, placed by its name") in rows
    assert ("homework.ipynb", "skipped") in rows and ("loose.ipynb", "skipped") in rows
