"""Which notebook belongs to which student and lesson, from the layouts teachers actually download.

Accepted, all at once in one SUBMISSIONS folder:

- one folder per student (``ada/01_autograd_linear_model.ipynb``), notebooks at
  any depth inside it (nbgrader's ``ada/01_x/01_x.ipynb`` works too);
- Moodle's "Download all submissions", in folders
  (``Ada Lovelace_123456_assignsubmission_file_/01_x.ipynb``) or flat
  (``Ada Lovelace_123456_assignsubmission_file_01_x.ipynb``);
- Canvas's "Download Submissions" (flat: ``lovelaceada_4321_98765_01_x.ipynb``,
  with ``_late_`` after the name when Canvas counted it late).

A file name is matched to a lesson as handed out, or with the suffixes that
downloads and browsers add (``01_x (1).ipynb``, ``01_x-2.ipynb``), or by its
lesson number (``01_``) when exactly one lesson has it. A file that cannot be
placed, or an older second file for the same lesson, is skipped and reported;
it never stops the run. The submission time is ``timestamp.txt`` beside the
notebook or in the student's folder (nbgrader's convention, ISO 8601) when
there is one, else the file's modification time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

STUDENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_(?P<file>.*)$")
CANVAS = re.compile(r"^(?P<name>[^_]+)(?P<late>_late|_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+\.ipynb)$")
COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|-\d+|\s+copy|\s*-\s*Copy)+$", re.IGNORECASE)


@dataclass(frozen=True)
class Submission:
    """One notebook placed: whose, which lesson, where, when handed in, and any LMS id or late mark."""

    student: str
    lesson: str
    path: Path
    submitted_at: datetime
    lms_id: str = ""
    marked_late: bool = False


@dataclass(frozen=True)
class Skipped:
    """A file intake could not place, and why."""

    path: Path
    reason: str


@dataclass
class Intake:
    """``submissions[student][lesson]``, the skipped files, and the files placed under another name."""

    submissions: dict[str, dict[str, Submission]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    renamed: list[Submission] = field(default_factory=list)


def slug(name: str) -> str:
    """A student id made of letters, digits and ``. _ @ -`` from an LMS's full name."""
    text = re.sub(r"[^A-Za-z0-9._@-]+", "-", name.strip()).strip("-._@")
    return text or "student"


def match_lesson(filename: str, lessons: list[str]) -> tuple[str | None, bool]:
    """(lesson, renamed) for a notebook file name; (None, False) when no lesson fits."""
    if not filename.endswith(".ipynb"):
        return None, False
    stem = filename[: -len(".ipynb")]
    if stem in lessons:
        return stem, False
    bare = COPY_SUFFIX.sub("", stem).strip()
    if bare in lessons:
        return bare, True
    number = re.match(r"^(\d\d)(?:[_ .-]|$)", bare)
    if number:
        same = [lesson for lesson in lessons if lesson.startswith(number.group(1) + "_")]
        if len(same) == 1:
            return same[0], True
    return None, False


def submission_time(path: Path, student_folder: Path | None) -> datetime:
    """When ``path`` was handed in: a ``timestamp.txt`` beside it or in the student's folder, else its
    mtime (UTC)."""
    for folder in (path.parent, student_folder):
        stamp = folder / "timestamp.txt" if folder is not None else None
        if stamp is not None and stamp.is_file():
            try:
                when = datetime.fromisoformat(stamp.read_text().strip().replace(" UTC", "+00:00"))
            except ValueError:
                continue
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def notebooks_in(folder: Path) -> list[Path]:
    """Every notebook under ``folder``, leaving out hidden folders (Jupyter's checkpoints among them)."""
    return sorted(p for p in folder.rglob("*.ipynb")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_submissions(submissions_dir: Path, lessons: list[str]) -> Intake:
    """Place every notebook in ``submissions_dir``; raise only when the folder is missing or holds nothing
    to grade."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"submissions folder not found: {submissions_dir}")
    intake = Intake()
    for entry in sorted(submissions_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            moodle = MOODLE.match(entry.name)
            student = slug(moodle.group("name")) if moodle else entry.name
            lms_id = moodle.group("id") if moodle else ""
            if not moodle and not STUDENT_NAME.match(entry.name):
                student = slug(entry.name)
            intake.submissions.setdefault(student, {})
            for path in notebooks_in(entry):
                place(intake, path, path.name, student, lms_id, False, lessons, entry)
        elif entry.suffix == ".ipynb":
            canvas, moodle = CANVAS.match(entry.name), MOODLE.match(entry.name)
            if moodle:
                place(
                    intake,
                    entry,
                    moodle.group("file"),
                    slug(moodle.group("name")),
                    moodle.group("id"),
                    False,
                    lessons,
                    None,
                )
            elif canvas:
                place(
                    intake,
                    entry,
                    canvas.group("file"),
                    canvas.group("name"),
                    canvas.group("id"),
                    bool(canvas.group("late")),
                    lessons,
                    None,
                )
            else:
                intake.skipped.append(
                    Skipped(
                        entry,
                        "lies directly in the submissions folder and is not named like a Canvas "
                        "or Moodle download; put it in a folder named after the student",
                    )
                )
    if not intake.submissions and not intake.skipped:
        raise ValueError(f"no submissions in {submissions_dir}; expected SUBMISSIONS/<student>/NN_name.ipynb "
                         "or a Canvas or Moodle download")
    return intake


def place(
    intake: Intake,
    path: Path,
    filename: str,
    student: str,
    lms_id: str,
    late: bool,
    lessons: list[str],
    student_folder: Path | None,
) -> None:
    """Add one notebook to ``intake`` (or to its skipped files, saying why)."""
    lesson, renamed = match_lesson(filename, lessons)
    if lesson is None:
        intake.skipped.append(
            Skipped(
                path,
                f"{filename!r} matches no lesson of this build (expected a name like {lessons[0]}.ipynb)",
            )
        )
        return
    new = Submission(student, lesson, path, submission_time(path, student_folder), lms_id, late)
    mine = intake.submissions.setdefault(student, {})
    old = mine.get(lesson)
    if old is not None:
        keep, drop = (
            (new, old)
            if (not renamed, new.submitted_at) > (old not in intake.renamed, old.submitted_at)
            else (old, new)
        )
        intake.skipped.append(
            Skipped(drop.path, f"a second file for {student}'s {lesson}; graded {keep.path.name} instead")
        )
        if keep is old:
            return
        if old in intake.renamed:
            intake.renamed.remove(old)
    mine[lesson] = new
    if renamed:
        intake.renamed.append(new)
