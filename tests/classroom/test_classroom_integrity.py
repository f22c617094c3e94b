"""Integrity: checks run against the original builtins and libraries; hidden checks stay with the teacher."""

from __future__ import annotations

import csv

import nbformat
import pytest
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, exercise_cells, needs_nbgrader, write_lesson

pytestmark = [needs_nbgrader, pytest.mark.slow]

HIDDEN_MESSAGE = "hidden-msg-5b2: d must be negative"
HIDDEN_CODE = f"assert d < 0, {HIDDEN_MESSAGE!r}  # hidden-code-7e1"
HONEST = {"Exercise 1": "d = -2.5", "Exercise 2": "r = 0.1 + 0.2",
          "Exercise 3": "t = torch.tensor([1.0, 2.0])"}
STUDENTS = {
    "honest": HONEST,
    "hider": {**HONEST, "Exercise 1": "d = 2.5"},
    "builtin": {**HONEST, "Exercise 1": "abs = lambda value: 0\nd = -99"},
    "patcher": {**HONEST, "Exercise 2": "math.isclose = lambda *args, **kwargs: True\nr = 5",
                "Exercise 3": "torch.allclose = lambda *args, **kwargs: True\nt = torch.zeros(2)"},
    "transformer": {"Exercise 1": "get_ipython().input_transformers_cleanup.append(lambda lines: "
    "['pass\\n'])",
                    "Exercise 2": "", "Exercise 3": ""},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("integrity")
    cells = [nbformat.v4.new_code_cell("import math\nimport torch"),
             *exercise_cells(1, "d = -2.5",
                             "assert abs(abs(d) - 2.5) < 1e-9, f'the size of d should be 2.5, got {d}'",
                             hidden=[HIDDEN_CODE]),
             *exercise_cells(2, "r = 0.1 + 0.2", "assert math.isclose(r, 0.3), f'r should be 0.3, got {r}'"),
             *exercise_cells(3, "t = torch.tensor([1.0, 2.0])",
                             "assert torch.allclose(t, torch.tensor([1.0, 2.0])), 't'")]
    write_lesson(tmp / "course", "02_probe.ipynb", cells)
    build(tmp / "course", tmp / "build")
    for student, code in STUDENTS.items():
        answer(tmp / "build" / "students" / "02_probe.ipynb", code,
               tmp / "submitted" / student / "02_probe.ipynb")
    scores = grade(tmp / "build", tmp / "submitted", tmp / "results", timeout=120, jobs=2)
    return tmp / "results", {(s.student, s.exercise): s for s in scores}


def points(scores, student: str) -> list[float]:
    return [scores[student, f"Exercise {n}"].points for n in (1, 2, 3)]


def test_an_input_transformer_cannot_turn_the_checks_off(results):
    _, scores = results
    assert points(scores, "honest") == [1, 1, 1]
    assert points(scores, "transformer") == [0, 0, 0]


def test_a_redefined_builtin_does_not_reach_the_check(results):
    _, scores = results
    assert points(scores, "builtin") == [0, 1, 1]
    assert scores["builtin", "Exercise 1"].note == "AssertionError: the size of d should be 2.5, got -99"


def test_patched_library_functions_are_put_back_before_the_check(results):
    _, scores = results
    assert points(scores, "patcher") == [1, 0, 0]
    assert scores["patcher", "Exercise 2"].note == "AssertionError: r should be 0.3, got 5"


def test_hidden_checks_reach_the_teacher_only(results):
    folder, scores = results
    assert points(scores, "hider") == [0, 1, 1]
    assert scores["hider", "Exercise 1"].note == "a hidden check failed (the teacher sees which)"
    for path in folder.rglob("*"):
        if path.is_file() and "teacher" not in path.parts and "gradebook" not in path.parts:
            text = path.read_text(errors="replace")
            assert "hidden-msg-5b2" not in text and "hidden-code-7e1" not in text, path
    with (folder / "teacher" / "report.csv").open() as handle:
        rows = {(row["student"], row["exercise"]): row for row in csv.DictReader(handle)}
    assert rows["hider", "Exercise 1"]["teacher_note"] == f"hidden check: AssertionError: {HIDDEN_MESSAGE}"


def test_suspicious_code_is_flagged_for_the_teacher(results):
    folder, _ = results
    with (folder / "teacher" / "flags.csv").open() as handle:
        flags = {(row["student"], row["flag"]) for row in csv.DictReader(handle)}
    assert ("transformer", "cell 2: uses IPython's input_transformers_cleanup") in flags
    assert ("builtin", "cell 2: redefines the builtin 'abs'") in flags
    assert ("patcher", "cell 5: reassigns the library function math.isclose") in flags
    assert ("patcher", "Exercise 2: math.isclose was reassigned") in flags
    assert ("patcher", "Exercise 3: torch.allclose was reassigned") in flags
    assert not [flag for student, flag in flags if student in ("honest", "hider")]
