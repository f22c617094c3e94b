"""Grade a folder of submitted notebooks, one score per exercise, each notebook apart from the others.

Submissions are read by ``classroom_intake`` (one folder per student, or a
Canvas or Moodle download). Each notebook is graded by ``classroom_run`` in a
kernel of its own (``classroom_sandbox``), ``jobs`` at a time. The checks and
hidden checks come from the build, so a learner who edited a check gains
nothing. Whatever a notebook does, the run goes on: its problems become notes.
The results folder gets the scores, the graded notebooks and HTML feedback for
students, a report for the teacher, a CSV for the LMS and an nbgrader gradebook
(see ``classroom_report``).
"""

from __future__ import annotations

import csv
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path

import nbformat
from classroom_build import GRADEBOOK, STUDENTS, Lesson, read_manifest
from classroom_files import check_output_folder, fresh_folder
from classroom_intake import Intake, read_submissions
from classroom_run import Check, Job, Outcome, Result, grade_notebook, split_check
from classroom_sandbox import Limits, choose_sandbox, describe

from widgets.data import find_offline_mnist  # plain files: loads no torch

SCORES = "scores.csv"
AUTOGRADED = "autograded"
COLUMNS = ("student", "lesson", "exercise", "points", "max", "late", "note")
PRELOAD = ("math", "cmath", "operator", "numpy", "torch", "torch.nn", "torch.nn.functional", "torch.testing")


@dataclass(frozen=True)
class Score:
    """One exercise of one student's lesson: points earned, points possible, lateness, and why points were
    lost."""

    student: str
    lesson: str
    exercise: str
    points: float
    max: float
    note: str = ""
    late: bool = False


@dataclass(frozen=True)
class Settings:
    """How a run grades: seconds per notebook and per cell, parallel jobs, the sandbox and its limits, due
    dates."""

    timeout: float = 300.0
    cell_timeout: float = 60.0
    jobs: int = 1
    sandbox: str = "auto"
    limits: Limits | None = None
    due: dict[str, datetime] | None = None

    def check(self) -> None:
        """Raise ValueError for settings a run cannot use."""
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if not 0 < self.cell_timeout <= self.timeout:
            raise ValueError(
                f"the cell timeout must be positive and at most the notebook's {self.timeout:g} s, "
                f"got {self.cell_timeout}"
            )
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs must be a whole number of at least 1, got {self.jobs!r}")
        for lesson, when in (self.due or {}).items():
            if when.tzinfo is None:
                raise ValueError(
                    f"the due date of {lesson} needs a time zone (e.g. 2026-12-01T23:59+00:00), got {when}"
                )


def load_checks(build_dir: Path, lesson: Lesson) -> tuple[Check, ...]:
    """The lesson's checks (visible and hidden code) from the build's nbgrader source notebook."""
    source = nbformat.read(
        Path(build_dir) / GRADEBOOK / "source" / lesson.name / lesson.notebook, as_version=4
    )
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in source.cells}
    checks = []
    for exercise in lesson.exercises:
        if exercise.grade_id not in cells:
            raise FileNotFoundError(
                f"the build's source of {lesson.name} lacks the check of {exercise.title}; rebuild it"
            )
        visible, hidden = split_check(cells[exercise.grade_id].source)
        checks.append(
            Check(
                exercise.grade_id, exercise.answer_id, exercise.title, float(exercise.points), visible, hidden
            )
        )
    return tuple(checks)


def released_code(build_dir: Path, lesson: Lesson) -> frozenset[str]:
    """The code cells of the student copy as handed out (what the student did not write)."""
    notebook = nbformat.read(Path(build_dir) / STUDENTS / lesson.notebook, as_version=4)
    return frozenset(cell.source for cell in notebook.cells if cell.cell_type == "code")


def preload_for(build_dir: Path, lesson: Lesson) -> tuple[str, ...]:
    """The watched libraries the lesson imports: the guard takes their originals before student code runs."""
    text = (Path(build_dir) / GRADEBOOK / "source" / lesson.name / lesson.notebook).read_text()
    return tuple(
        name
        for name in PRELOAD
        if re.search(rf"\bimport {re.escape(name)}\b|\bfrom {re.escape(name)} import\b", text)
        or name in ("math", "cmath", "operator")
    )


def find_submissions(submissions_dir: Path, lessons: list[Lesson]) -> Intake:
    """The submissions for ``lessons`` (see ``classroom_intake``); skipped files are reported, not raised."""
    return read_submissions(submissions_dir, [lesson.name for lesson in lessons])


def make_jobs(build_dir: Path, intake: Intake, lessons: list[Lesson], settings: Settings, scratch: Path,
              sandbox: str) -> list[Job]:
    """One Job per submitted notebook, each with a scratch folder of its own."""
    mnist = find_offline_mnist()
    readable = (mnist.resolve(),) if mnist is not None else ()
    environment = (("LIVETORCH_MNIST_DIR", str(mnist.resolve())),) if mnist is not None else ()
    limits = settings.limits or Limits(cpu_seconds=int(settings.timeout) + 60)
    by_name = {lesson.name: lesson for lesson in lessons}
    prepared = {
        name: (
            load_checks(build_dir, lesson),
            released_code(build_dir, lesson),
            preload_for(build_dir, lesson),
        )
        for name, lesson in by_name.items()
    }
    jobs = []
    for student, notebooks in intake.submissions.items():
        for lesson, submission in notebooks.items():
            checks, released, preload = prepared[lesson]
            folder = Path(tempfile.mkdtemp(prefix="job-", dir=scratch))
            jobs.append(
                Job(
                    student,
                    lesson,
                    submission.path,
                    checks,
                    released,
                    preload,
                    folder,
                    settings.timeout,
                    settings.cell_timeout,
                    limits,
                    sandbox,
                    readable,
                    environment,
                )
            )
    return jobs


def run_jobs(jobs: list[Job], workers: int) -> list[Outcome]:
    """Grade every job, ``workers`` at a time; a job whose grading itself fails becomes an Outcome with a
    note."""
    def failed(job: Job, error: BaseException) -> Outcome:
        note = f"grading failed: {type(error).__name__}: {error}"[:300]
        return Outcome(job.student, job.lesson, {check.grade_id: Result(0.0, note) for check in job.checks})

    outcomes = []
    if workers == 1:
        for job in jobs:
            try:
                outcomes.append(grade_notebook(job))
            except Exception as error:  # one notebook must never stop the class's run
                outcomes.append(failed(job, error))
        return outcomes
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(grade_notebook, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                outcomes.append(future.result())
            except Exception as error:
                outcomes.append(failed(futures[future], error))
    return outcomes


def to_scores(
    lessons: list[Lesson], intake: Intake, outcomes: list[Outcome], due: dict[str, datetime]
) -> list[Score]:
    """One Score per student, handed-in lesson and exercise, in the order of students and lessons."""
    by_key = {(o.student, o.lesson): o for o in outcomes}
    handed_in = [
        lesson for lesson in lessons if any(lesson.name in mine for mine in intake.submissions.values())
    ]
    scores = []
    for student in sorted(intake.submissions):
        for lesson in handed_in:
            submission = intake.submissions[student].get(lesson.name)
            outcome = by_key.get((student, lesson.name))
            late = submission is not None and (
                submission.marked_late or (lesson.name in due and submission.submitted_at > due[lesson.name])
            )
            for exercise in lesson.exercises:
                if outcome is None:
                    result = Result(0.0, "not submitted")
                else:
                    result = outcome.results.get(
                        exercise.grade_id, Result(0.0, "nbgrader recorded no grade for it")
                    )
                scores.append(
                    Score(
                        student,
                        lesson.name,
                        exercise.title,
                        result.points,
                        float(exercise.points),
                        result.note,
                        late,
                    )
                )
    return scores


def grade(
    build_dir: Path,
    submissions_dir: Path,
    results_dir: Path,
    force: bool = False,
    timeout: float = 300.0,
    cell_timeout: float | None = None,
    jobs: int = 1,
    sandbox: str = "auto",
    limits: Limits | None = None,
    due: dict[str, datetime] | None = None,
) -> list[Score]:
    """Grade every submitted notebook; write the scores, feedback, teacher's report and gradebook to
    ``results_dir``.

    ``cell_timeout`` defaults to 60 s, or ``timeout`` when that is shorter. Inputs
    are checked before anything runs. The build is only read, so it can grade again.
    """
    from classroom_report import write_results

    cell_timeout = min(60.0, timeout) if cell_timeout is None else cell_timeout
    settings = Settings(timeout, cell_timeout, jobs, sandbox, limits, dict(due or {}))
    settings.check()
    lessons = read_manifest(build_dir)
    unknown = set(settings.due or {}) - {lesson.name for lesson in lessons}
    if unknown:
        raise ValueError(f"due dates for lessons not in the build: {', '.join(sorted(unknown))}")
    intake = find_submissions(submissions_dir, lessons)
    check_output_folder(Path(results_dir).absolute(), force)
    chosen = choose_sandbox(sandbox)
    with (
        tempfile.TemporaryDirectory(prefix="classroom-grade-") as scratch,
        fresh_folder(results_dir, force) as out,
    ):
        all_jobs = make_jobs(build_dir, intake, lessons, settings, Path(scratch), chosen)
        outcomes = run_jobs(all_jobs, settings.jobs)
        scores = to_scores(lessons, intake, outcomes, settings.due or {})
        limits_used = all_jobs[0].limits if all_jobs else Limits()
        write_results(
            out, build_dir, lessons, intake, outcomes, scores, describe(chosen, limits_used), settings.due
        )
    return scores


def write_scores(path: Path, scores: list[Score]) -> None:
    """``scores.csv``: one row per student, lesson and exercise, with the note students may see."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for s in scores:
            writer.writerow(
                [
                    s.student,
                    s.lesson,
                    s.exercise,
                    f"{s.points:g}",
                    f"{s.max:g}",
                    "yes" if s.late else "",
                    s.note,
                ]
            )


def read_scores(path: Path) -> list[Score]:
    """The scores a grading run wrote to ``path`` (a scores.csv)."""
    with Path(path).open(newline="") as handle:
        return [
            Score(
                row["student"],
                row["lesson"],
                row["exercise"],
                float(row["points"]),
                float(row["max"]),
                row["note"],
                row["late"] == "yes",
            )
            for row in csv.DictReader(handle)
        ]
