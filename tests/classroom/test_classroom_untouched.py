"""Grading real lessons: a student copy handed in untouched scores zero on every exercise, without a crash."""

from __future__ import annotations

import shutil

import pytest
from classroom_build import build
from classroom_grade import grade, read_scores
from classroom_helpers import copy_lessons, needs_nbgrader

LESSONS = ["00", "01"]

pytestmark = needs_nbgrader


@pytest.mark.slow
def test_an_untouched_copy_scores_zero_on_every_exercise(tmp_path):
    lessons = build(copy_lessons(LESSONS, tmp_path / "course"), tmp_path / "build")
    (tmp_path / "submitted" / "bob").mkdir(parents=True)
    for lesson in lessons:
        shutil.copyfile(tmp_path / "build" / "students" / lesson.notebook,
                        tmp_path / "submitted" / "bob" / lesson.notebook)
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results")
    assert len(scores) == sum(len(lesson.exercises) for lesson in lessons) >= 4
    assert all(s.points == 0 and s.max == 1 for s in scores), scores
    # the course's checks say what is missing: the note carries it to the teacher
    assert all(
        s.note.startswith("AssertionError: ") and len(s.note) > len("AssertionError: ") + 5 for s in scores
    ), scores
    assert read_scores(tmp_path / "results" / "scores.csv") == scores
