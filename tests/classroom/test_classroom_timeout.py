"""Nothing hangs: a stuck cell is stopped, its kernel's whole process group killed, earlier points and outputs
kept."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

pytestmark = [needs_nbgrader, pytest.mark.slow]

FIRST = "assert 'y' in globals(), 'store y'\nassert y == 2, f'y should be 2, got {y}'"
SECOND = "assert 'z' in globals(), 'store z'\nassert z == 3, f'z should be 3, got {z}'"


def two_exercises(tmp_path: Path) -> Path:
    cells = [nbformat.v4.new_code_cell("x = 1"), *exercise_cells(1, "y = 2", FIRST),
             *exercise_cells(2, "z = 3", SECOND)]
    write_lesson(tmp_path / "course", "01_probe.ipynb", cells)
    build(tmp_path / "course", tmp_path / "build")
    return tmp_path / "build" / "students" / "01_probe.ipynb"


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


def test_a_hanging_c_call_is_killed_with_its_process_group(tmp_path, monkeypatch):
    copy = two_exercises(tmp_path)
    # this grading's scratch folder, which its kernel's command line names (other tests may grade meanwhile)
    scratches = []
    make_folder = tempfile.TemporaryDirectory

    def recorded_folder(*args, **kwargs):
        folder = make_folder(*args, **kwargs)
        scratches.append(folder.name)
        return folder

    monkeypatch.setattr(tempfile, "TemporaryDirectory", recorded_folder)
    marker = f"marker-{uuid.uuid4().hex}"
    stuck = (f"import subprocess\nchild = subprocess.Popen(['/bin/sh', '-c', 'sleep 300 # {marker}'])\n"
             "z = sum(range(10**18))")
    answer(copy, {"Exercise 1": "y = 2\nprint('first answer ran')", "Exercise 2": stuck},
           tmp_path / "submitted" / "stuck" / "01_probe.ipynb")
    start = time.monotonic()
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=60,
                   cell_timeout=4)
    assert time.monotonic() - start < 45
    assert [(s.exercise, s.points) for s in scores] == [("Exercise 1", 1), ("Exercise 2", 0)]
    assert scores[1].note == (
        "not graded: cell 5 (the answer to Exercise 2) was still running after 4 s (the limit per cell); "
        "the notebook stopped there"
    )
    assert scratches and all("classroom-grade-" in name for name in scratches)
    assert processes_mentioning(marker) == [] and [processes_mentioning(name) for name in scratches] == [
        [] for _ in scratches]
    graded = nbformat.read(tmp_path / "results" / "autograded" / "stuck" / "01_probe.ipynb", as_version=4)
    assert graded.cells[2].outputs[0]["text"] == "first answer ran\n"
    assert "Passed" in graded.cells[3].outputs[0]["text"]


def test_an_endless_loop_past_the_notebook_limit_keeps_the_points_earned(tmp_path):
    copy = two_exercises(tmp_path)
    endless = {"Exercise 1": "y = 2", "Exercise 2": "while True:\n    pass"}
    answer(copy, endless, tmp_path / "submitted" / "loops" / "01_probe.ipynb")
    start = time.monotonic()
    scores = grade(tmp_path / "build", tmp_path / "submitted", tmp_path / "results", timeout=5)
    assert time.monotonic() - start < 30
    assert [(s.student, s.exercise, s.points, s.max) for s in scores] == [("loops", "Exercise 1", 1, 1),
                                                                         ("loops", "Exercise 2", 0, 1)]
    note = "not graded: timed out after 5 s: the notebook stopped at cell 5 (the answer to Exercise 2)"
    assert scores[1].note == note
    rows = (tmp_path / "results" / "scores.csv").read_text().splitlines()
    assert rows[2] == f"loops,01_probe,Exercise 2,0,1,,{note}"
