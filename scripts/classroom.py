"""Student copies of the course and their grading, with nbgrader (see docs/classroom.md).

    python scripts/classroom.py build OUT_DIR [--course course] [--force]
    python scripts/classroom.py grade OUT_DIR SUBMISSIONS RESULTS [--timeout 300] [--force]

``build`` writes OUT_DIR/students/ (the copies to hand out: no solutions, no
hidden checks, no outputs) and the gradebook that grading needs. ``grade`` runs
every SUBMISSIONS/<student>/NN_name.ipynb through nbgrader's autograder and
writes RESULTS/scores.csv (student, lesson, exercise, points, max, note) and the
graded notebooks in RESULTS/autograded/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from classroom_build import STUDENTS, build
from classroom_grade import SCORES, grade

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the student copies and the gradebook of every lesson")
    make.add_argument("out_dir", type=Path, help="folder to create (it must not exist, unless --force)")
    make.add_argument("--course", type=Path, default=REPO_ROOT / "course", help="the instructor's lessons (default: course/)")
    make.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    mark = commands.add_parser("grade", help="grade submitted notebooks; write scores.csv")
    mark.add_argument("build_dir", type=Path, help="a folder written by `build`")
    mark.add_argument("submissions", type=Path, help="one folder per student holding NN_name.ipynb files")
    mark.add_argument("results", type=Path, help="folder to create for scores.csv and the graded notebooks")
    mark.add_argument("--timeout", type=float, default=300.0, help="seconds per notebook (default 300)")
    mark.add_argument("--force", action="store_true", help="replace RESULTS if it exists")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "build":
            lessons = build(args.course, args.out_dir, force=args.force)
            count = sum(len(lesson.exercises) for lesson in lessons)
            print(f"{len(lessons)} lessons, {count} exercises: student copies in {args.out_dir / STUDENTS}")
        else:
            scores = grade(args.build_dir, args.submissions, args.results, force=args.force, timeout=args.timeout)
            for student in dict.fromkeys(score.student for score in scores):
                mine = [score for score in scores if score.student == student]
                print(f"{student}: {sum(s.points for s in mine):g} / {sum(s.max for s in mine):g}")
            print(f"scores in {args.results / SCORES}")
    except (OSError, ValueError) as error:  # PatternError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"took {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
