"""Isolation: each notebook runs alone, under limits, seeing neither the answers nor the others' work."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from classroom_build import build
from classroom_grade import grade, read_scores
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson
from classroom_sandbox import bwrap_works

pytestmark = [needs_nbgrader, pytest.mark.slow]

CHECK = "assert 'y' in globals(), 'store y'\nassert y == 2, f'y should be 2, got {y}'"
SOLUTIONS_READER = """import json, pathlib
y = None
for place in ["../../../source/01_probe/01_probe.ipynb", "../source/01_probe/01_probe.ipynb", {course!r},
              {source!r}]:
    path = pathlib.Path(place)
    if path.is_file():
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            if text.startswith("# Your turn"):
                exec(text.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
"""
VANDAL = """import os, pathlib, shutil
y = 0
for place in ["../../gradebook.db", "../gradebook.db", "../../../gradebook.db", {db!r}]:
    if os.path.exists(place):
        os.remove(place)
for place in ["..", "../..", {results_parent!r}]:
    for other in pathlib.Path(place).glob("*"):
        if other.is_dir() and other.name != "work":
            shutil.rmtree(other, ignore_errors=True)
"""
SQUATTER = """import os
y = 0
for place in ["../../submitted/zoe/01_probe", "../submitted/zoe/01_probe", {results!r},
              {results!r} + "/scores.csv",
              {results_parent!r} + "/submitted/zoe/01_probe"]:
    try:
        os.makedirs(place)
    except OSError:
        pass
"""


def lesson(tmp_path: Path) -> Path:
    write_lesson(tmp_path / "course", "01_probe.ipynb",
                 [nbformat.v4.new_code_cell("x = 1"), *exercise_cells(1, "y = 2", CHECK)])
    build(tmp_path / "course", tmp_path / "build")
    return tmp_path / "build" / "students" / "01_probe.ipynb"


def hand_in(copy: Path, folder: Path, students: dict[str, str]) -> None:
    for student, code in students.items():
        answer(copy, {"Exercise 1": code}, folder / student / "01_probe.ipynb")


def attacks(tmp_path: Path) -> dict[str, str]:
    source = str(tmp_path / "build" / "gradebook" / "source" / "01_probe" / "01_probe.ipynb")
    return {
        "ada": "y = 2",
        "reader": SOLUTIONS_READER.format(course=str(tmp_path / "course" / "01_probe.ipynb"), source=source),
        "vandal": VANDAL.format(db=str(tmp_path / "build" / "gradebook" / "gradebook.db"),
                                results_parent=str(tmp_path)),
        "squatter": SQUATTER.format(results=str(tmp_path / "results"), results_parent=str(tmp_path)),
        "zoe": "y = 2",
    }


@pytest.mark.skipif(not bwrap_works(),
                    reason="the bubblewrap sandbox (Debian package bubblewrap) is not usable here")
def test_in_the_sandbox_no_student_reads_the_answers_or_changes_another_score(tmp_path):
    copy = lesson(tmp_path)
    hand_in(copy, tmp_path / "submitted", attacks(tmp_path))
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=60,
                   sandbox="bwrap", jobs=2)
    assert {s.student: s.points for s in scores} == {"ada": 1, "reader": 0, "vandal": 0, "squatter": 0,
                                                     "zoe": 1}
    assert read_scores(tmp_path / "results" / "scores.csv") == scores
    assert (tmp_path / "build" / "gradebook" / "gradebook.db").is_file()
    # the build grades again, with the same result
    again = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "again", timeout=60, sandbox="bwrap",
                  jobs=2)
    assert again == scores


def test_without_the_sandbox_relative_paths_lead_to_nothing_of_the_others(tmp_path):
    copy = lesson(tmp_path)
    relative_only = {student: code.replace(str(tmp_path), "/nonexistent") for student,
                     code in attacks(tmp_path).items()}
    hand_in(copy, tmp_path / "submitted", relative_only)
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=60,
                   sandbox="none")
    assert {s.student: s.points for s in scores} == {"ada": 1, "reader": 0, "vandal": 0, "squatter": 0,
                                                     "zoe": 1}
    assert "no file system sandbox" in (tmp_path / "results" / "teacher" / "run.txt").read_text()
    flags = (tmp_path / "results" / "teacher" / "flags.csv").read_text().splitlines()
    assert "reader,01_probe,cell 2: reads files or runs commands (read_text)" in flags
    assert not [line for line in flags if line.startswith(("ada,", "zoe,"))]


def test_a_memory_hog_fails_its_own_cell_only(tmp_path):
    copy = lesson(tmp_path)
    hand_in(copy, tmp_path / "submitted", {"hog": "big = bytearray(8 * 2**30)\ny = 2", "ada": "y = 2"})
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=60)
    assert {s.student: s.points for s in scores} == {"ada": 1, "hog": 0}
    graded = nbformat.read(tmp_path / "results" / "autograded" / "hog" / "01_probe.ipynb", as_version=4)
    assert graded.cells[2].outputs[0]["ename"] == "MemoryError"


def test_the_cpu_limit_stops_a_busy_process():
    script = Path(__file__).resolve().parents[2] / "scripts" / "classroom_sandbox.py"
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(script), "512", "1", "--", sys.executable, "-c",
                           "while True: pass"],
                          capture_output=True, timeout=60)
    assert done.returncode < 0 and time.monotonic() - start < 20
