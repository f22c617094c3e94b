"""Intake: which file is whose and which lesson, for per-student folders and Canvas and Moodle downloads."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from classroom_intake import match_lesson, read_submissions

LESSONS = ["01_autograd_linear_model", "02_modules"]


def touch(path, when: float | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    if when is not None:
        os.utime(path, (when, when))
    return path


@pytest.mark.parametrize(("name", "expected"), [
    ("01_autograd_linear_model.ipynb", ("01_autograd_linear_model", False)),
    ("01_autograd_linear_model (1).ipynb", ("01_autograd_linear_model", True)),
    ("01_autograd_linear_model-2.ipynb", ("01_autograd_linear_model", True)),
    ("01_autograd_linear_model - Copy.ipynb", ("01_autograd_linear_model", True)),
    ("01_my_answers.ipynb", ("01_autograd_linear_model", True)),
    ("homework.ipynb", (None, False)),
    ("03_data.ipynb", (None, False)),
    ("02_modules.py", (None, False)),
])
def test_file_names_are_matched_to_lessons(name, expected):
    assert match_lesson(name, LESSONS) == expected


def test_folders_canvas_and_moodle_names_are_read_side_by_side(tmp_path):
    touch(tmp_path / "ada" / "01_autograd_linear_model.ipynb")
    touch(tmp_path / "ada" / "02_modules" / "02_modules.ipynb")
    touch(tmp_path / "ada" / ".ipynb_checkpoints" / "02_modules-checkpoint.ipynb")
    touch(tmp_path / "Grace Hopper_4242_assignsubmission_file_" / "02_modules.ipynb")
    touch(tmp_path / "Alan Turing_77_assignsubmission_file_01_autograd_linear_model.ipynb")
    touch(tmp_path / "lovelaceada_late_777_888_02_modules-1.ipynb")
    intake = read_submissions(tmp_path, LESSONS)
    placed = {(s.student, lesson, s.lms_id, s.marked_late) for student in intake.submissions.values()
              for lesson, s in student.items()}
    assert placed == {("ada", "01_autograd_linear_model", "", False), ("ada", "02_modules", "", False),
                      ("Grace-Hopper", "02_modules", "4242", False),
                      ("Alan-Turing", "01_autograd_linear_model", "77", False),
                      ("lovelaceada", "02_modules", "777", True)}
    assert intake.skipped == []


def test_a_second_file_for_a_lesson_is_skipped_keeping_the_newer_and_the_exact_name(tmp_path):
    touch(tmp_path / "ada" / "01_autograd_linear_model (1).ipynb", when=2_000_000_000)
    touch(tmp_path / "ada" / "01_autograd_linear_model.ipynb", when=1_000_000_000)
    touch(tmp_path / "bob" / "02_modules (1).ipynb", when=1_000_000_000)
    touch(tmp_path / "bob" / "02_modules (2).ipynb", when=2_000_000_000)
    intake = read_submissions(tmp_path, LESSONS)
    assert intake.submissions["ada"]["01_autograd_linear_model"].path.name == "01_autograd_linear_model.ipynb"
    assert intake.submissions["bob"]["02_modules"].path.name == "02_modules (2).ipynb"
    assert sorted(s.path.name for s in intake.skipped) == ["01_autograd_linear_model (1).ipynb",
                                                           "02_modules (1).ipynb"]
    assert all("a second file for" in s.reason for s in intake.skipped)


def test_the_hand_in_time_comes_from_timestamp_txt_or_the_file(tmp_path):
    touch(tmp_path / "ada" / "01_autograd_linear_model.ipynb")
    (tmp_path / "ada" / "timestamp.txt").write_text("2026-12-02 09:30:00 UTC")
    touch(tmp_path / "bob" / "01_autograd_linear_model.ipynb", when=1_800_000_000)
    intake = read_submissions(tmp_path, LESSONS)
    when = {student: lessons["01_autograd_linear_model"].submitted_at for student,
            lessons in intake.submissions.items()}
    assert when == {"ada": datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc),
                    "bob": datetime.fromtimestamp(1_800_000_000, timezone.utc)}


def test_a_missing_or_empty_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="submissions folder not found"):
        read_submissions(tmp_path / "nowhere", LESSONS)
    with pytest.raises(ValueError, match="no submissions in"):
        read_submissions(tmp_path, LESSONS)
