"""Grade a folder of submitted notebooks with nbgrader's autograder, one score per exercise.

Submissions are laid out one folder per student, holding that student's lesson
notebooks under their original names: ``SUBMISSIONS/ada/01_autograd_linear_model.ipynb``.
Each notebook runs in its own ``nbgrader autograde`` process, in a kernel with
the course's environment (one OpenMP thread, the offline MNIST sample), and is
stopped after a per-notebook timeout. nbgrader first puts back the checks and
hidden checks the build recorded, so a learner who edited a check gains nothing.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from classroom_build import GRADEBOOK, Lesson, read_manifest
from classroom_files import check_output_folder, fresh_folder
from execute_course import kernel_environment

STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
SCORES = "scores.csv"
AUTOGRADED = "autograded"
COLUMNS = ("student", "lesson", "exercise", "points", "max", "note")


@dataclass(frozen=True)
class Score:
    """One exercise of one student's lesson: points earned, points possible, and why points were lost."""

    student: str
    lesson: str
    exercise: str
    points: float
    max: float
    note: str = ""


def find_submissions(submissions_dir: Path, lessons: list[Lesson]) -> dict[str, dict[str, Path]]:
    """``{student: {lesson name: notebook path}}``; a clear error for a layout grading cannot read."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {submissions_dir}")
    known = {lesson.notebook: lesson.name for lesson in lessons}
    found: dict[str, dict[str, Path]] = {}
    for entry in sorted(submissions_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            if entry.suffix == ".ipynb":
                raise ValueError(f"{entry} lies directly in the submissions folder; put each student's "
                                 "notebooks in a folder named after the student")
            continue
        if not STUDENT_NAME.match(entry.name):
            raise ValueError(f"student folder {entry.name!r}: expected letters, digits and . _ @ - only")
        found[entry.name] = {}
        for notebook in sorted(entry.glob("*.ipynb")):
            if notebook.name not in known:
                raise ValueError(f"{notebook}: not a lesson of this build; expected one of {', '.join(sorted(known))}")
            found[entry.name][known[notebook.name]] = notebook
    if not found:
        raise ValueError(f"no student folders in {submissions_dir}; expected SUBMISSIONS/<student>/NN_name.ipynb")
    return found


def autograde(root: Path, lesson: str, student: str, timeout: float) -> str:
    """Run ``nbgrader autograde`` on one notebook; return "" or what went wrong.

    The process (and with it the kernel, which exits when its parent dies) is
    killed once ``timeout`` seconds have passed.
    """
    command = [sys.executable, "-m", "nbgrader", "autograde", lesson, f"--student={student}", "--force",
               f"--CourseDirectory.root={root}", f"--Execute.timeout={int(timeout)}", "--log-level=WARN"]
    with kernel_environment():
        process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"timed out after {timeout:g} s"
    if process.returncode != 0:
        lines = [line for line in output.splitlines() if line.strip()]
        return "nbgrader could not grade it: " + (lines[-1] if lines else f"exit status {process.returncode}")
    return ""


def check_errors(notebook_path: Path) -> dict[str, str]:
    """``{grade_id: "Error: message"}`` for each autograded cell that failed in the graded notebook."""
    if not notebook_path.is_file():
        return {}
    errors = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if grade_id and output.get("output_type") == "error":
                errors[grade_id] = f"{output['ename']}: {output['evalue']}"[:300]
    return errors


def grade_ids(notebook_path: Path) -> set[str]:
    """The nbgrader cell ids in a submitted notebook; empty when it cannot be read."""
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except (OSError, ValueError):
        return set()
    return {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells} - {None}


def lesson_scores(root: Path, lesson: Lesson, student: str, problem: str) -> list[Score]:
    """The scores nbgrader recorded for one notebook, with the error of each failed check as its note."""
    from nbgrader.api import Gradebook, MissingEntry

    errors = check_errors(root / AUTOGRADED / student / lesson.name / lesson.notebook)
    submitted = grade_ids(root / "submitted" / student / lesson.name / lesson.notebook)
    scores = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for exercise in lesson.exercises:
            points, note = 0.0, problem
            if problem:
                pass
            elif exercise.grade_id not in submitted:
                note = "its check cell is missing from the submitted notebook (not a student copy of this build?)"
            else:
                try:
                    points = gradebook.find_grade(exercise.grade_id, lesson.name, lesson.name, student).score
                    note = errors.get(exercise.grade_id, "")
                except MissingEntry:
                    note = "nbgrader recorded no grade for it"
            scores.append(Score(student, lesson.name, exercise.title, float(points), float(exercise.points), note))
    return scores


def grade(build_dir: Path, submissions_dir: Path, results_dir: Path, force: bool = False,
          timeout: float = 300.0) -> list[Score]:
    """Grade every submitted notebook; write ``scores.csv`` and the graded notebooks to ``results_dir``.

    Inputs are checked before anything runs. Grading works on a copy of the
    build's gradebook, so the build stays as it was and can grade again.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    lessons = read_manifest(build_dir)
    submissions = find_submissions(submissions_dir, lessons)
    check_output_folder(Path(results_dir).absolute(), force)
    scores: list[Score] = []
    with tempfile.TemporaryDirectory(prefix=".classroom-grade.", dir=Path(results_dir).absolute().parent) as scratch, \
            fresh_folder(results_dir, force) as out:
        root = Path(scratch) / GRADEBOOK
        shutil.copytree(Path(build_dir) / GRADEBOOK, root)
        # A lesson nobody handed in gets no rows; one some handed in gets a row for everyone.
        handed_in = [lesson for lesson in lessons if any(lesson.name in notebooks for notebooks in submissions.values())]
        for student, notebooks in submissions.items():
            for lesson in handed_in:
                if lesson.name not in notebooks:
                    scores += lesson_scores(root, lesson, student, "not submitted")
                    continue
                target = root / "submitted" / student / lesson.name
                target.mkdir(parents=True)
                shutil.copyfile(notebooks[lesson.name], target / lesson.notebook)
                scores += lesson_scores(root, lesson, student, autograde(root, lesson.name, student, timeout))
                graded = root / AUTOGRADED / student / lesson.name / lesson.notebook
                if graded.is_file():
                    (out / AUTOGRADED / student).mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(graded, out / AUTOGRADED / student / lesson.notebook)
        write_scores(out / SCORES, scores)
    return scores


def write_scores(path: Path, scores: list[Score]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for s in scores:
            writer.writerow([s.student, s.lesson, s.exercise, f"{s.points:g}", f"{s.max:g}", s.note])


def read_scores(path: Path) -> list[Score]:
    """The scores a grading run wrote to ``path`` (a scores.csv)."""
    with Path(path).open(newline="") as handle:
        return [Score(row["student"], row["lesson"], row["exercise"], float(row["points"]), float(row["max"]), row["note"])
                for row in csv.DictReader(handle)]
