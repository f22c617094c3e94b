"""Back to students and the LMS: LMS download layouts, due dates, HTML feedback, LMS CSV files, nbgrader's
gradebook."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from classroom import main
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

pytestmark = [needs_nbgrader, pytest.mark.slow]

CHECK = "assert 'y' in globals(), 'store y'\nassert y == 2, f'y should be 2, got {y}'"
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("results")
    cells = [*exercise_cells(1, "y = 2", CHECK),
             *exercise_cells(2, "z = 3", "assert z == 3, 'z should be 3'")]
    write_lesson(tmp / "course", "01_probe.ipynb", cells)
    build(tmp / "course", tmp / "build")
    copy, subs = tmp / "build" / "students" / "01_probe.ipynb", tmp / "submitted"
    both, one = {"Exercise 1": "y = 2", "Exercise 2": "z = 3"}, {"Exercise 1": "y = 2", "Exercise 2": "z = 0"}
    answer(copy, both, subs / "ada" / "01_probe.ipynb")
    (subs / "ada" / "timestamp.txt").write_text("2026-11-30T10:00:00+00:00")
    answer(copy, one, subs / "Grace Hopper_4242_assignsubmission_file_" / "01_probe.ipynb")
    (subs / "Grace Hopper_4242_assignsubmission_file_" / "timestamp.txt").write_text(
        "2026-12-02T09:00:00+00:00"
    )
    answer(copy, both, subs / "lovelaceada_late_777_888_01_probe-1.ipynb")
    scores = grade(tmp / "build", subs, tmp / "results", timeout=60, jobs=2, due={"01_probe": DUE})
    return tmp, scores


def test_lms_layouts_are_read_and_late_work_is_flagged(graded):
    _, scores = graded
    rows = [(s.student, s.exercise, s.points, s.late) for s in scores]
    assert rows == [("Grace-Hopper", "Exercise 1", 1, True), ("Grace-Hopper", "Exercise 2", 0, True),
                    ("ada", "Exercise 1", 1, False), ("ada", "Exercise 2", 1, False),
                    ("lovelaceada", "Exercise 1", 1, True), ("lovelaceada", "Exercise 2", 1, True)]


def test_each_student_gets_an_html_page_of_feedback(graded):
    tmp, _ = graded
    page = (tmp / "results" / "feedback" / "Grace-Hopper" / "01_probe.html").read_text()
    assert "Feedback: 01_probe" in page and "1 / 2 points (handed in late)" in page
    assert "AssertionError: z should be 3" in page
    assert sorted(p.name for p in (tmp / "results" / "feedback").iterdir()) == ["Grace-Hopper", "ada",
                                                                                "lovelaceada"]


def test_the_lms_files_hold_one_row_per_student_and_a_column_per_exercise(graded):
    tmp, _ = graded
    with (tmp / "results" / "lms" / "canvas.csv").open() as handle:
        canvas = list(csv.reader(handle))
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_probe: Exercise 1",
              "01_probe: Exercise 2"]
    assert canvas[0] == header
    assert canvas[1] == ["Points Possible", "", "", "", "", "1", "1"]
    assert canvas[2:] == [["Grace-Hopper", "4242", "", "Grace-Hopper", "", "1", "0"],
                          ["ada", "", "", "ada", "", "1", "1"],
                          ["lovelaceada", "777", "", "lovelaceada", "", "1", "1"]]
    with (tmp / "results" / "lms" / "moodle.csv").open() as handle:
        moodle = list(csv.DictReader(handle))
    assert [(row["username"], row["total"], row["late"]) for row in moodle] == [
        ("Grace-Hopper", "1", "yes"), ("ada", "2", ""), ("lovelaceada", "2", "yes")]


def test_the_gradebook_is_kept_for_nbgraders_own_export(graded):
    tmp, _ = graded
    root = tmp / "results" / "gradebook"
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    subprocess.run([sys.executable, "-m", "nbgrader", "export", f"--CourseDirectory.root={root}",
                    "--log-level=ERROR",
                    f"--CsvExportPlugin.to={tmp / 'export.csv'}"], cwd=root, check=True, env=env,
                    capture_output=True)
    with (tmp / "export.csv").open() as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert {student: float(row["score"]) for student, row in exported.items()} == {"Grace-Hopper": 1.0,
                                                                                   "ada": 2.0,
                                                                                   "lovelaceada": 2.0}
    assert exported["Grace-Hopper"]["duedate"].startswith("2026-12-01 23:59:00")
    assert exported["Grace-Hopper"]["timestamp"].startswith("2026-12-02 09:00:00")


def test_the_command_line_takes_jobs_and_due_dates(graded, capsys):
    tmp, _ = graded
    code = main(["grade", str(tmp / "build"), str(tmp / "submitted"), str(tmp / "cli"), "--jobs", "2",
                 "--due", "2026-12-01T23:59+00:00", "--timeout", "60"])
    assert code == 0
    out = capsys.readouterr().out
    assert "ada: 2 / 2" in out and "Grace-Hopper: 1 / 2 (late)" in out
    assert main(["grade", str(tmp / "build"), str(tmp / "submitted"), str(tmp / "cli2"), "--due",
                 "tomorrow"]) == 2
    assert "expected [LESSON=]DATETIME in ISO 8601" in capsys.readouterr().err
