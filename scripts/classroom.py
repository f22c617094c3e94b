"""Student copies of the course and their grading, with nbgrader (see docs/classroom.md).

    python scripts/classroom.py build OUT_DIR [--course course] [--student-repo] [--force]
    python scripts/classroom.py grade OUT_DIR SUBMISSIONS RESULTS [--timeout 300] [--cell-timeout 60]
        [--jobs N] [--sandbox auto|bwrap|none] [--memory MIB] [--due [LESSON=]DATETIME ...] [--force]

``build`` writes OUT_DIR/students/ (the copies to hand out: no solutions, no
hidden checks, no outputs) and the gradebook that grading needs. ``grade`` runs
every submitted notebook (one folder per student, or a Canvas or Moodle
download) in a kernel of its own and writes RESULTS/scores.csv, the graded
notebooks, HTML feedback, the LMS's CSV files, a report for the teacher and an
nbgrader gradebook (see docs/classroom.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from classroom_build import STUDENT_REPO, STUDENTS, build, read_manifest
from classroom_grade import SCORES, grade
from classroom_sandbox import SANDBOXES, Limits

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the student copies and the gradebook of every lesson")
    make.add_argument("out_dir", type=Path, help="folder to create (it must not exist, unless --force)")
    make.add_argument(
        "--course",
        type=Path,
        default=REPO_ROOT / "course",
        help="the instructor's lessons (default: course/)",
    )
    make.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    make.add_argument(
        "--student-repo",
        action="store_true",
        help="also write OUT_DIR/student-repo/, a folder to push as the students' git repository",
    )
    mark = commands.add_parser("grade", help="grade submitted notebooks; write scores.csv")
    mark.add_argument("build_dir", type=Path, help="a folder written by `build`")
    mark.add_argument("submissions", type=Path, help="one folder per student holding NN_name.ipynb files")
    mark.add_argument("results", type=Path, help="folder to create for scores.csv and the graded notebooks")
    mark.add_argument("--timeout", type=float, default=300.0, help="seconds per notebook (default 300)")
    mark.add_argument(
        "--cell-timeout", type=float, default=None, help="seconds per cell (default 60, at most --timeout)"
    )
    mark.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    mark.add_argument(
        "--sandbox",
        choices=SANDBOXES,
        default="auto",
        help="bwrap when it works (auto), or require or skip it",
    )
    mark.add_argument(
        "--memory", type=int, default=3072, help="MiB of data memory per kernel process (default 3072)"
    )
    mark.add_argument(
        "--due",
        action="append",
        default=[],
        metavar="[LESSON=]DATETIME",
        help="due date, ISO 8601 with a time zone (2026-12-01T23:59+01:00); for all lessons or one",
    )
    mark.add_argument("--force", action="store_true", help="replace RESULTS if it exists")
    return parser.parse_args(argv)


def parse_due(values: list[str], lessons: list[str]) -> dict[str, datetime]:
    """``{lesson: due}`` from ``--due`` values (``DATETIME`` for every lesson, ``LESSON=DATETIME`` for
    one)."""
    due: dict[str, datetime] = {}
    for value in values:
        lesson, _, when = value.rpartition("=") if "=" in value else ("", "", value)
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(
                f"--due {value!r}: expected [LESSON=]DATETIME in ISO 8601, e.g. 2026-12-01T23:59+00:00"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(f"--due {value!r}: give a time zone, e.g. 2026-12-01T23:59+00:00")
        for name in [lesson] if lesson else lessons:
            due[name] = moment
    return due


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "build":
            lessons = build(args.course, args.out_dir, force=args.force, student_repo=args.student_repo)
            count = sum(len(lesson.exercises) for lesson in lessons)
            print(f"{len(lessons)} lessons, {count} exercises: student copies in {args.out_dir / STUDENTS}")
            if args.student_repo:
                print(f"students' repository folder: {args.out_dir / STUDENT_REPO} (see docs/teaching.md)")
        else:
            due = parse_due(args.due, [lesson.name for lesson in read_manifest(args.build_dir)])
            limits = Limits(memory_mib=args.memory, cpu_seconds=int(args.timeout) + 60)
            scores = grade(
                args.build_dir,
                args.submissions,
                args.results,
                force=args.force,
                timeout=args.timeout,
                cell_timeout=args.cell_timeout,
                jobs=args.jobs,
                sandbox=args.sandbox,
                limits=limits,
                due=due,
            )
            for student in dict.fromkeys(score.student for score in scores):
                mine = [score for score in scores if score.student == student]
                late = " (late)" if any(s.late for s in mine) else ""
                print(f"{student}: {sum(s.points for s in mine):g} / {sum(s.max for s in mine):g}{late}")
            print(f"scores in {args.results / SCORES}")
    except (OSError, ValueError, RuntimeError) as error:  # PatternError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"took {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
