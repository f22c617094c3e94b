"""What a grading run writes: for students, for the teacher, for the LMS, and nbgrader's gradebook.

RESULTS/
  scores.csv                       one row per student, lesson, exercise (notes students may see)
  autograded/<student>/NN.ipynb    the graded notebooks (hidden checks' code and messages left out)
  feedback/<student>/NN.html       the same as a page to send back, with a table of points at the top
  lms/canvas.csv, lms/moodle.csv   one row per student, a column per exercise, for the LMS gradebook
  teacher/report.csv               every score with the hidden checks' messages (teacher only)
  teacher/flags.csv                suspicious code and what the grader put back, per notebook
  teacher/intake.csv               every file: graded, placed under another name, or skipped and why
  teacher/run.txt                  how the run separated submissions, and its times
  gradebook/                       an nbgrader course folder with the grades, for nbgrader's own tools
"""

from __future__ import annotations

import csv
import html
import shutil
import statistics
import warnings
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from classroom_build import GRADEBOOK, Lesson
from classroom_grade import AUTOGRADED, SCORES, Score, write_scores
from classroom_intake import Intake
from classroom_run import Outcome
from classroom_source import Graded

FEEDBACK = "feedback"
TEACHER = "teacher"
LMS = "lms"


def write_results(out: Path, build_dir: Path, lessons: list[Lesson], intake: Intake, outcomes: list[Outcome],
                  scores: list[Score], sandbox_line: str, due: dict[str, datetime] | None = None) -> None:
    """Write every file of a grading run into ``out`` (an empty folder)."""
    write_scores(out / SCORES, scores)
    graded = {(o.student, o.lesson): o for o in outcomes if o.graded is not None}
    for (student, lesson), outcome in graded.items():
        folder = out / AUTOGRADED / student
        folder.mkdir(parents=True, exist_ok=True)
        # graded holds only outcomes with a notebook
        (folder / f"{lesson}.ipynb").write_text(outcome.graded or "")
    write_feedback(out / FEEDBACK, scores, graded)
    (out / TEACHER).mkdir()
    write_teacher_report(out / TEACHER / "report.csv", scores, outcomes)
    write_flags(out / TEACHER / "flags.csv", outcomes)
    write_intake(out / TEACHER / "intake.csv", intake)
    write_run(out / TEACHER / "run.txt", outcomes, sandbox_line)
    (out / LMS).mkdir()
    write_lms(out / LMS, lessons, intake, scores)
    write_gradebook(out / GRADEBOOK, build_dir, lessons, intake, outcomes, scores, due or {})


def write_feedback(folder: Path, scores: list[Score], graded: dict[tuple[str, str], Outcome]) -> None:
    """One HTML page per graded notebook: a table of points and notes, then the graded notebook."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    for (student, lesson), outcome in graded.items():
        mine = [s for s in scores if s.student == student and s.lesson == lesson]
        rows = "\n".join(
            f"| {s.exercise} | {s.points:g} / {s.max:g} | {html.escape(s.note).replace('|', '/')} |"
            for s in mine
        )
        late = " (handed in late)" if any(s.late for s in mine) else ""
        summary = (
            f"# Feedback: {lesson}\n\n**{student}**: {sum(s.points for s in mine):g} / "
            f"{sum(s.max for s in mine):g} points{late}\n\n| exercise | points | note |\n| --- | --- | --- "
            f"|\n{rows}\n"
        )
        notebook = nbformat.reads(outcome.graded, as_version=4)
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(summary))
        body, _ = exporter.from_notebook_node(notebook)
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / f"{lesson}.html").write_text(body)


def write_teacher_report(path: Path, scores: list[Score], outcomes: list[Outcome]) -> None:
    """Every score with the teacher's note (a hidden check's message) beside the student's."""
    by_key = {(o.student, o.lesson): o for o in outcomes}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["student", "lesson", "exercise", "points", "max", "late", "note", "teacher_note", "flags"]
        )
        for s in scores:
            outcome = by_key.get((s.student, s.lesson))
            result = outcome.results.get(Graded(s.exercise, 1).grade_id) if outcome is not None else None
            teacher = result.teacher_note if result is not None else ""
            flags = len(outcome.flags) if outcome is not None else 0
            writer.writerow(
                [
                    s.student,
                    s.lesson,
                    s.exercise,
                    f"{s.points:g}",
                    f"{s.max:g}",
                    "yes" if s.late else "",
                    s.note,
                    teacher,
                    flags,
                ]
            )


def write_flags(path: Path, outcomes: list[Outcome]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lesson", "flag"])
        for outcome in sorted(outcomes, key=lambda o: (o.student, o.lesson)):
            for flag in dict.fromkeys(outcome.flags):
                writer.writerow([outcome.student, outcome.lesson, flag])


def write_intake(path: Path, intake: Intake) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "student", "lesson", "action", "reason"])
        for student, notebooks in sorted(intake.submissions.items()):
            for lesson, submission in sorted(notebooks.items()):
                action = "graded, placed by its name" if submission in intake.renamed else "graded"
                writer.writerow([submission.path, student, lesson, action, ""])
        for skipped in intake.skipped:
            writer.writerow([skipped.path, "", "", "skipped", skipped.reason])


def write_run(path: Path, outcomes: list[Outcome], sandbox_line: str) -> None:
    seconds = [o.seconds for o in outcomes if o.seconds > 0]
    median = f"{statistics.median(seconds):.1f}" if seconds else "-"
    path.write_text(
        f"isolation: {sandbox_line}\nnotebooks graded: {len(seconds)}\nmedian seconds per notebook: "
        f"{median}\n"
    )


def write_lms(folder: Path, lessons: list[Lesson], intake: Intake, scores: list[Score]) -> None:
    """``canvas.csv`` (Canvas's gradebook import layout) and ``moodle.csv`` (Moodle's CSV grade import): a
    row per student."""
    columns = [(lesson.name, e.title, float(e.points)) for lesson in lessons for e in lesson.exercises
               if any(s.lesson == lesson.name for s in scores)]
    points = {(s.student, s.lesson, s.exercise): s.points for s in scores}
    students = sorted({s.student for s in scores})
    ids = {
        student: next((sub.lms_id for sub in intake.submissions.get(student, {}).values() if sub.lms_id), "")
        for student in students
    }
    late = {s.student: s.late or False for s in scores if s.late}
    names = [f"{lesson}: {title}" for lesson, title, _ in columns]
    with (folder / "canvas.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names])
        writer.writerow(["Points Possible", "", "", "", "", *(f"{p:g}" for _, _, p in columns)])
        for student in students:
            writer.writerow(
                [
                    student,
                    ids[student],
                    "",
                    student,
                    "",
                    *(f"{points.get((student, lesson, title), 0):g}" for lesson, title, _ in columns),
                ]
            )
    with (folder / "moodle.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "lms_id", *names, "total", "late"])
        for student in students:
            row = [points.get((student, lesson, title), 0) for lesson, title, _ in columns]
            writer.writerow([student, ids[student], *(f"{p:g}" for p in row), f"{sum(row):g}",
                             "yes" if late.get(student) else ""])


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without a time zone, as nbgrader stores times."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def write_gradebook(
    folder: Path,
    build_dir: Path,
    lessons: list[Lesson],
    intake: Intake,
    outcomes: list[Outcome],
    scores: list[Score],
    due: dict[str, datetime],
) -> None:
    """An nbgrader course folder: the build's gradebook with every submission, graded notebook, score and
    due date."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    shutil.copytree(Path(build_dir) / GRADEBOOK, folder)
    graded = {(o.student, o.lesson): o for o in outcomes}
    # nbgrader's own submission code makes SQLAlchemy warn about its autoflush; the rows are written all the
    # same
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        warnings.simplefilter("ignore", SAWarning)
        for lesson, moment in due.items():
            gradebook.update_or_create_assignment(lesson, duedate=naive_utc(moment))
        for student, notebooks in intake.submissions.items():
            gradebook.update_or_create_student(student)
            for lesson, submission in notebooks.items():
                target = folder / "submitted" / student / lesson
                target.mkdir(parents=True)
                shutil.copyfile(submission.path, target / f"{lesson}.ipynb")
                (target / "timestamp.txt").write_text(submission.submitted_at.isoformat())
                outcome = graded.get((student, lesson))
                if outcome is not None and outcome.graded is not None:
                    (folder / AUTOGRADED / student / lesson).mkdir(parents=True)
                    (folder / AUTOGRADED / student / lesson / f"{lesson}.ipynb").write_text(outcome.graded)
                gradebook.update_or_create_submission(
                    lesson, student, timestamp=naive_utc(submission.submitted_at)
                )
                by_title = {
                    s.exercise: s.points for s in scores if s.student == student and s.lesson == lesson
                }
                for exercise in next(entry for entry in lessons if entry.name == lesson).exercises:
                    entry = gradebook.find_grade(exercise.grade_id, lesson, lesson, student)
                    entry.auto_score = by_title.get(exercise.title, 0.0)
        gradebook.db.commit()
