"""Hidden checks stay out of the student copy and count at grading; edited checks are put back."""

from __future__ import annotations

import nbformat
import pytest
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

HIDDEN = "assert result == [1, 2, 3], f'result should hold the numbers in order, got {result}'  # hidden-3f9c"

pytestmark = [needs_nbgrader, pytest.mark.slow]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hidden")
    cells = [
        nbformat.v4.new_code_cell("numbers = [3, 1, 2]"),
        *exercise_cells(
            1,
            "result = sorted(numbers)",
            "assert 'result' in globals(), 'store the sorted numbers in result'\n"
            "assert len(result) == 3, f'result should hold 3 numbers, got {len(result)}'",
            hidden=[HIDDEN],
        ),
        nbformat.v4.new_markdown_cell("**Exercise 2.** Double them."),
        nbformat.v4.new_code_cell(
            "# Your turn\ndoubled = [2 * n for n in numbers]", metadata={"jupyter": {"source_hidden": True}}
        ),
        nbformat.v4.new_code_cell(
            "# Check (2 points)\nassert 'doubled' in globals(), 'store the doubled numbers in doubled'\n"
            "assert doubled == [6, 2, 4], f'doubled should be [6, 2, 4], got "
            "{doubled}'"
        ),
    ]
    write_lesson(tmp / "course", "01_probe.ipynb", cells)
    build(tmp / "course", tmp / "build")
    copy = tmp / "build" / "students" / "01_probe.ipynb"
    answers = {
        "good": {"Exercise 1": "result = sorted(numbers)",
                 "Exercise 2": "doubled = [2 * n for n in numbers]"},
        "sly": {"Exercise 1": "result = list(numbers)", "Exercise 2": "doubled = [6, 2, 4]"},
    }
    for student, code in answers.items():
        answer(copy, code, tmp / "submitted" / student / "01_probe.ipynb")
    cheat = nbformat.read(answer(copy, {"Exercise 1": "result = []", "Exercise 2": "doubled = []"},
                                 tmp / "submitted" / "cheat" / "01_probe.ipynb"), as_version=4)
    for cell in cheat.cells:
        if cell.source.startswith("# Check"):
            cell.source = "# Check\npass"
    nbformat.write(cheat, tmp / "submitted" / "cheat" / "01_probe.ipynb")
    scores = grade(tmp / "build", tmp / "submitted", tmp / "results", timeout=60)
    return copy, {(s.student, s.exercise): s for s in scores}, tmp / "results"


@pytest.mark.slow
def test_the_hidden_check_is_absent_from_the_student_copy(graded):
    copy, _, _ = graded
    text = nbformat.read(copy, as_version=4)
    sources = "\n".join(cell.source for cell in text.cells)
    assert "hidden-3f9c" not in copy.read_text() and "# Hidden check" not in sources
    assert "result should hold 3 numbers" in sources


def test_the_hidden_check_counts_at_grading(graded):
    _, scores, _ = graded
    assert (scores["good", "Exercise 1"].points, scores["good", "Exercise 1"].max) == (1, 1)
    assert (scores["good", "Exercise 2"].points, scores["good", "Exercise 2"].max) == (2, 2)
    sly = scores["sly", "Exercise 1"]
    assert (sly.points, sly.note) == (0, "a hidden check failed (the teacher sees which)")
    assert scores["sly", "Exercise 2"].points == 2
    report = (graded[2] / "teacher" / "report.csv").read_text()
    assert "hidden check: AssertionError: result should hold the numbers in order, got [3, 1, 2]" in report


def test_a_check_edited_by_the_student_is_put_back(graded):
    _, scores, _ = graded
    assert [scores["cheat", title].points for title in ("Exercise 1", "Exercise 2")] == [0, 0]
    assert scores["cheat", "Exercise 2"].note == "AssertionError: doubled should be [6, 2, 4], got []"
