"""Seconds to grade: one notebook of each early lesson, and a class of students with parallel jobs.

1. Lessons 00 to 03 with their reference solutions typed into the student
   copies: each is graded alone (``grade`` with one student) ``--rounds`` times,
   interleaved; the median wall seconds per notebook is printed, with the part
   spent in the notebook's own kernel run (``teacher/run.txt``).
2. ``--students`` fake students of lesson 01 (full, partial and blank answers
   in turn) graded in one run with ``--jobs``; the total wall seconds are printed.

Figures only, no asserts on time. On a shared machine, the other work counts
against every figure; say so beside them.

    python tests/benchmarks/bench_grading.py [--rounds 3] [--students 60] [--jobs 2]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classroom_build import build
from classroom_grade import grade
from classroom_helpers import answer, copy_lessons, reference_answers

EARLY = ["00", "01", "02", "03"]
CLASS_LESSON = "01"


def kernel_seconds(results: Path) -> float:
    """The median seconds per notebook a run's ``teacher/run.txt`` reports."""
    text = (results / "teacher" / "run.txt").read_text()
    return float(re.search(r"median seconds per notebook: ([0-9.]+)", text).group(1))


def per_notebook(work: Path, rounds: int) -> dict[str, tuple[float, float]]:
    """``{lesson: (median wall s of grade(), median kernel-run s)}`` for one reference submission of each
    early lesson."""
    course = copy_lessons(EARLY, work / "course")
    lessons = build(course, work / "build")
    walls: dict[str, list[float]] = {lesson.name: [] for lesson in lessons}
    runs: dict[str, list[float]] = {lesson.name: [] for lesson in lessons}
    for lesson in lessons:
        answer(work / "build" / "students" / lesson.notebook, reference_answers(course / lesson.notebook),
               work / "single" / lesson.name / "ada" / lesson.notebook)
    for round_index in range(rounds):
        for lesson in lessons:
            results = work / f"single-results-{lesson.name}-{round_index}"
            start = time.perf_counter()
            scores = grade(work / "build", work / "single" / lesson.name, results)
            walls[lesson.name].append(time.perf_counter() - start)
            runs[lesson.name].append(kernel_seconds(results))
            if any(s.points != s.max for s in scores):
                raise RuntimeError(f"{lesson.name}: the reference solutions lost points: {scores}")
    return {name: (statistics.median(walls[name]), statistics.median(runs[name])) for name in walls}


def whole_class(work: Path, students: int, jobs: int) -> tuple[float, int]:
    """Wall seconds to grade ``students`` fake submissions of lesson 01 with ``jobs`` workers, and the
    points given."""
    course = copy_lessons([CLASS_LESSON], work / "class-course")
    (lesson,) = build(course, work / "class-build")
    full = reference_answers(course / lesson.notebook)
    kinds = [full, {title: code for index, (title, code) in enumerate(full.items()) if index == 0}, {}]
    for number in range(students):
        answer(work / "class-build" / "students" / lesson.notebook, kinds[number % len(kinds)],
               work / "class" / f"student{number:03d}" / lesson.notebook)
    start = time.perf_counter()
    scores = grade(work / "class-build", work / "class", work / "class-results", jobs=jobs)
    return time.perf_counter() - start, int(sum(s.points for s in scores))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="gradings of each early lesson (default 3)")
    parser.add_argument("--students", type=int, default=60,
                        help="students in the class run (default 60; 0 skips it)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs in the class run (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as folder:
        work = Path(folder)
        print("lesson | median s per notebook (grade()) | median s in the kernel run")
        for name, (wall, run) in per_notebook(work, args.rounds).items():
            print(f"{name} | {wall:.1f} | {run:.1f}")
        if args.students:
            seconds, points = whole_class(work, args.students, args.jobs)
            print(f"{args.students} students of lesson {CLASS_LESSON}, --jobs {args.jobs}: {seconds:.0f} s "
                  f"({seconds / args.students:.1f} s per student, {points} points given)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
