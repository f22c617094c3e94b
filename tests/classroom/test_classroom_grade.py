"""Grading real lessons: the reference solutions typed into the student copies score full marks."""

from __future__ import annotations

import pytest
from classroom_build import build
from classroom_grade import grade, read_scores
from classroom_helpers import answer, copy_lessons, needs_nbgrader, reference_answers

LESSONS = ["00", "01"]

pytestmark = needs_nbgrader


@pytest.mark.slow
def test_the_reference_solutions_score_full_marks(tmp_path):
    course = copy_lessons(LESSONS, tmp_path / "course")
    lessons = build(course, tmp_path / "build")
    for lesson in lessons:
        answer(tmp_path / "build" / "students" / lesson.notebook, reference_answers(course / lesson.notebook),
               tmp_path / "submitted" / "ada" / lesson.notebook)
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results")
    expected = [(lesson.name, exercise.title) for lesson in lessons for exercise in lesson.exercises]
    assert [(s.lesson, s.exercise) for s in scores] == expected
    assert len(expected) >= 4
    assert [(s.student, s.points, s.max, s.note) for s in scores] == [("ada", 1.0, 1.0, "")] * len(expected)
    assert read_scores(tmp_path / "results" / "scores.csv") == scores
    graded = sorted(p.name for p in (tmp_path / "results" / "autograded" / "ada").iterdir())
    assert graded == [lesson.notebook for lesson in lessons]
