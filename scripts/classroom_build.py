"""Build the student copies of every lesson with nbgrader, keeping the gradebook for grading.

The build folder holds:

- ``students/NN_name.ipynb``: the copies to hand out (solutions replaced by a
  placeholder, hidden checks and every output removed);
- ``gradebook/``: nbgrader's course folder (the converted lessons in ``source/``
  and ``gradebook.db``, which holds the checks and hidden checks grading restores);
- ``manifest.json``: the lessons, their exercises and points.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from classroom_files import fresh_folder
from classroom_source import Graded, body, to_nbgrader_source
from execute_course import kernel_environment

if TYPE_CHECKING:
    from nbgrader.converters import GenerateAssignment
    from traitlets.config import Config

LESSON_GLOB = "[0-9][0-9]_*.ipynb"
STUDENTS = "students"
GRADEBOOK = "gradebook"
MANIFEST = "manifest.json"
STUDENT_REPO = "student-repo"
ASSET_SUFFIXES = (".gif", ".png", ".jpg", ".jpeg", ".svg")
STUDENT_README = """# {title}

The lessons of this course, without their solutions. Open a lesson in Jupyter, work
through it from the top, and write your answers in the cells that start with
`# Your turn`; the `# Check` cell below each one tells you whether it is right.

Handing in: save the notebook (File > Save), download it (File > Download) and
upload the `.ipynb` file, under its own name (for example `01_autograd_linear_model.ipynb`),
where your teacher asked (the course's LMS assignment). Do not rename it, and
hand in the notebook, not a PDF or a copy of its text.

Getting the teacher's updates: clicking the course link again pulls new lessons
and fixes without overwriting what you changed.
"""
# What a learner finds in place of the reference solution. No `raise`: the
# course's checks already fail with a message that says what is missing.
PLACEHOLDER = "# Write your answer here, then run the check below."


@dataclass(frozen=True)
class Lesson:
    """One lesson of a build: its name (the notebook's stem) and its exercises."""

    name: str
    exercises: list[Graded]

    @property
    def notebook(self) -> str:
        return self.name + ".ipynb"


def lesson_paths(course_dir: Path) -> list[Path]:
    """The numbered lessons in ``course_dir``; a clear error when there are none."""
    course_dir = Path(course_dir)
    if not course_dir.is_dir():
        raise FileNotFoundError(f"course folder not found: {course_dir}")
    paths = sorted(course_dir.glob(LESSON_GLOB))
    if not paths:
        raise FileNotFoundError(f"no lesson notebooks ({LESSON_GLOB}) in {course_dir}")
    return paths


def nbgrader_config(root: Path) -> Config:
    """The traitlets config every nbgrader step of this tool runs with."""
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.ClearSolutions.code_stub = {"python": PLACEHOLDER}
    return config


def generate_assignments(root: Path, names: list[str]) -> None:
    """Run nbgrader's generate_assignment on each lesson in ``root/source``; output lands in
    ``root/release``."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    config = nbgrader_config(root)
    # nbgrader creates its database by running `alembic` from PATH: kernel_environment
    # puts this interpreter's bin folder first, where pip installed it.
    with kernel_environment():
        for name in names:
            generate_one(GenerateAssignment(coursedir=CourseDirectory(config=config), config=config), name)


def generate_one(app: GenerateAssignment, name: str) -> None:
    app.coursedir.assignment_id = name
    app.log.setLevel(logging.WARNING)
    app.force = True
    app.create_assignment = True
    app.start()


def check_no_solution_left(copy: nbformat.NotebookNode, lesson: Lesson) -> None:
    """Raise if a solution cell of the student copy holds anything but the placeholder."""
    for exercise in lesson.exercises:
        cells = [
            c for c in copy.cells if c.metadata.get("nbgrader", {}).get("grade_id") == exercise.answer_id
        ]
        if not cells:
            raise RuntimeError(
                f"{lesson.notebook}: the student copy lacks the answer cell of {exercise.title}"
            )
        cell = cells[0]
        if body(cell).strip() != PLACEHOLDER:
            raise RuntimeError(
                f"{lesson.notebook}: the student copy of {exercise.title} still holds code: {cell.source!r}"
            )


def build(course_dir: Path, out_dir: Path, force: bool = False, student_repo: bool = False,
          title: str = "livetorch course") -> list[Lesson]:
    """Write the student copies and the gradebook of every lesson in ``course_dir`` to ``out_dir``.

    With ``student_repo``, also ``out_dir/student-repo/``: the copies, the images
    the lessons show, a README on handing in and a .gitignore, ready to be made
    a git repository of its own for nbgitpuller. Every lesson is read and checked
    against the exercise pattern before anything is written; ``out_dir`` appears
    whole or not at all.
    """
    sources = {}
    lessons = []
    for path in lesson_paths(course_dir):
        source, exercises = to_nbgrader_source(nbformat.read(path, as_version=4), path.name)
        sources[path.stem] = source
        lessons.append(Lesson(path.stem, list(exercises)))
    with fresh_folder(out_dir, force) as work:
        root = work / GRADEBOOK
        for name, source in sources.items():
            (root / "source" / name).mkdir(parents=True)
            nbformat.write(source, root / "source" / name / (name + ".ipynb"))
        generate_assignments(root, list(sources))
        (work / STUDENTS).mkdir()
        for lesson in lessons:
            released = root / "release" / lesson.name / lesson.notebook
            check_no_solution_left(nbformat.read(released, as_version=4), lesson)
            shutil.copyfile(released, work / STUDENTS / lesson.notebook)
        shutil.rmtree(root / "release")
        write_manifest(work / MANIFEST, lessons)
        if student_repo:
            write_student_repo(work / STUDENT_REPO, work / STUDENTS, Path(course_dir), title)
    return lessons


def write_student_repo(folder: Path, copies: Path, course_dir: Path, title: str) -> None:
    """A folder to push as the students' repository: only the copies, their images, a README and a
    .gitignore."""
    folder.mkdir()
    for path in sorted(copies.glob(LESSON_GLOB)):
        shutil.copyfile(path, folder / path.name)
    for path in sorted(course_dir.iterdir()):
        if path.suffix.lower() in ASSET_SUFFIXES and path.is_file():
            shutil.copyfile(path, folder / path.name)
    (folder / "README.md").write_text(STUDENT_README.format(title=title))
    (folder / ".gitignore").write_text(".ipynb_checkpoints/\ndata/\n__pycache__/\n")


def write_manifest(path: Path, lessons: list[Lesson]) -> None:
    entries = {
        lesson.name: [{"title": e.title, "points": e.points} for e in lesson.exercises] for lesson in lessons
    }
    path.write_text(json.dumps({"lessons": entries}, indent=1) + "\n")


def read_manifest(build_dir: Path) -> list[Lesson]:
    """The lessons of a build folder; a clear error when ``build_dir`` is not one."""
    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise FileNotFoundError(f"build folder not found: {build_dir}")
    manifest = build_dir / MANIFEST
    if not manifest.is_file() or not (build_dir / GRADEBOOK / "gradebook.db").is_file():
        raise FileNotFoundError(
            f"{build_dir} is not a build folder: it lacks {MANIFEST} or {GRADEBOOK}/gradebook.db "
            "(make one with `python scripts/classroom.py build OUT_DIR`)"
        )
    entries = json.loads(manifest.read_text())["lessons"]
    return [
        Lesson(name, [Graded(e["title"], e["points"]) for e in exercises])
        for name, exercises in entries.items()
    ]
