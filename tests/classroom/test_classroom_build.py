"""Student copies: every lesson builds, no copy holds a reference solution, bad input is named."""

from __future__ import annotations

import nbformat
import pytest
from classroom import main
from classroom_build import build, read_manifest
from classroom_files import fresh_folder
from classroom_grade import find_submissions
from classroom_helpers import COURSE_DIR, exercise_cells, needs_nbgrader, write_lesson
from classroom_source import PatternError, body, find_exercises


@pytest.fixture(scope="module")
def course_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "out"
    build(COURSE_DIR, out)
    return out


def all_text(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells) + "\n" + nbformat.writes(notebook)


def solution_lines(notebook, exercise) -> list[str]:
    """The solution's code lines that appear nowhere else in the instructor's notebook."""
    elsewhere = "\n".join(c.source for i, c in enumerate(notebook.cells) if i != exercise.solution_index)
    lines = [line.strip() for line in body(notebook.cells[exercise.solution_index]).splitlines()]
    return [line for line in lines if line and not line.startswith("#") and line not in elsewhere]


@needs_nbgrader
@pytest.mark.slow
def test_no_student_copy_holds_a_reference_solution(course_build):
    lessons = sorted(COURSE_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert [lesson.name for lesson in read_manifest(course_build)] == [path.stem for path in lessons]
    checked = 0
    for path in lessons:
        reference = nbformat.read(path, as_version=4)
        copy = nbformat.read(course_build / "students" / path.name, as_version=4)
        text = all_text(copy)
        for exercise in find_exercises(reference, path.name):
            assert body(reference.cells[exercise.solution_index]).strip() not in text, (
                path.name,
                exercise.title,
            )
            for line in solution_lines(reference, exercise):
                assert line not in text, f"{path.name} {exercise.title}: the copy holds {line!r}"
                checked += 1
            assert reference.cells[exercise.check_index].source in text, (
                f"{path.name}: the check of {exercise.title}"
            )
        assert all(not cell.get("outputs") for cell in copy.cells), f"{path.name}: the copy keeps outputs"
        assert "widgets" not in copy.metadata, f"{path.name}: the copy keeps the stored widget state"
    assert checked > 50, f"only {checked} solution lines were looked for"


@needs_nbgrader
@pytest.mark.slow
def test_the_teachers_notebooks_are_not_changed(course_build):
    for path in COURSE_DIR.glob("[0-9][0-9]_*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        assert not any("nbgrader" in cell.metadata for cell in notebook.cells), path.name


@needs_nbgrader
@pytest.mark.slow
def test_an_existing_folder_needs_force_and_is_replaced_whole(tmp_path):
    course = tmp_path / "course"
    write_lesson(course, "01_probe.ipynb", exercise_cells(1, "y = 2", "assert 'y' in globals(), 'store y'"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="--force"):
        build(course, out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    build(course, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["gradebook", "manifest.json", "students"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_broken_lesson_writes_nothing(tmp_path):
    course = tmp_path / "course"
    write_lesson(course, "01_good.ipynb", exercise_cells(1, "y = 2", "assert 'y' in globals(), 'store y'"))
    cells = [nbformat.v4.new_code_cell("x = 1"), *exercise_cells(1, "y = 2", "print(y)")]
    write_lesson(course, "02_bad.ipynb", cells)
    with pytest.raises(PatternError,
                       match=r"02_bad.ipynb, cell 3: the check of Exercise 1 contains no assert"):
        build(course, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]


def test_a_failure_inside_the_folder_leaves_the_old_one(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="midway"), fresh_folder(out, force=True) as work:
        (work / "half.txt").write_text("half")
        raise RuntimeError("midway")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def pattern_error(cells) -> str:
    notebook = nbformat.v4.new_notebook(cells=cells)
    with pytest.raises(PatternError) as caught:
        find_exercises(notebook, "03_x.ipynb")
    return str(caught.value)


def test_each_break_of_the_pattern_is_named_with_its_cell():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    ok = exercise_cells(1, "y = 2", "assert y == 2, 'y'")
    assert pattern_error([md("**Exercise 1.** Do."), code("y = 2"), code("# Check\nassert y, 'y'")]) == (
        "03_x.ipynb, cell 1: Exercise 1 (task in cell 0) needs a code cell starting with '# Your turn' here")
    assert pattern_error([md("**Exercise 1.** Do."), code("# Your turn\ny = 2")]) == (
        "03_x.ipynb, cell 2: Exercise 1 (task in cell 0) needs a code cell starting with '# Check' here")
    assert pattern_error([code("x = 1"), code("# Your turn\ny = 2")]).startswith(
        "03_x.ipynb, cell 1: a solution cell ('# Your turn') outside an exercise")
    assert pattern_error([*ok, code("z = 1"), code("# Hidden check\nassert y, 'y'")]).startswith(
        "03_x.ipynb, cell 4: a hidden check cell ('# Hidden check') outside an exercise; it belongs right "
        "after a check")
    again = exercise_cells(1, "y = 2", "assert y == 2, 'y'")
    assert (
        pattern_error([*ok, *again])
        == "03_x.ipynb, cell 3: a second exercise titled 'Exercise 1'; number them apart"
    )
    weighed = [md("**Exercise 1.** Do."), code("# Your turn\ny = 2"),
               code("# Check (two points)\nassert y, 'y'")]
    assert pattern_error(weighed) == ("03_x.ipynb, cell 2: the first line of a check must be '# Check' or "
                                      "'# Check (N points)', got '# Check (two points)'")


def test_points_and_hidden_checks_are_read_from_the_cells():
    cells = [*exercise_cells(1, "y = 2", "assert y, 'y'",
                             hidden=["assert y == 2, 'two'", "assert y > 0, 'pos'"]),
             nbformat.v4.new_markdown_cell("**Exercise 2.** More."),
             nbformat.v4.new_code_cell("# Your turn\nz = 3"),
             nbformat.v4.new_code_cell("# Check (3 points)\nassert z, 'z'")]
    first, second = find_exercises(nbformat.v4.new_notebook(cells=cells), "04_x.ipynb")
    assert (first.points, first.hidden_indices, first.grade_id) == (1, (3, 4), "exercise-1-check")
    assert (second.title, second.points, second.check_index) == ("Exercise 2", 3, 7)


@needs_nbgrader
@pytest.mark.slow
def test_missing_folders_and_bad_submissions_get_clear_errors(tmp_path, course_build):
    with pytest.raises(FileNotFoundError, match="course folder not found"):
        build(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="not a build folder"):
        read_manifest(tmp_path)
    lessons = read_manifest(course_build)
    with pytest.raises(FileNotFoundError, match="submissions folder not found"):
        find_submissions(tmp_path / "missing", lessons)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no submissions in"):
        find_submissions(tmp_path / "empty", lessons)
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    (tmp_path / "subs" / "ada" / "99_unknown.ipynb").write_text("{}")
    (tmp_path / "subs" / "01_autograd_linear_model.ipynb").write_text("{}")
    intake = find_submissions(tmp_path / "subs", lessons)
    assert intake.submissions == {"ada": {}}
    assert [(s.path.name, s.reason) for s in intake.skipped] == [
        ("01_autograd_linear_model.ipynb",
         "lies directly in the submissions folder and is not named like a Canvas or "
                                           "Moodle download; put it in a folder named after the student"),
        ("99_unknown.ipynb",
         "'99_unknown.ipynb' matches no lesson of this build (expected a name like 00_start_here.ipynb)")]


def test_the_command_line_reports_errors_without_a_traceback(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    assert main(["build", str(tmp_path / "out")]) == 2
    assert (
        capsys.readouterr().err == f"error: {tmp_path / 'out'} already exists; pass --force to replace it\n"
    )
    assert main(["grade", str(tmp_path / "out"), str(tmp_path), str(tmp_path / "results")]) == 2
    assert "is not a build folder" in capsys.readouterr().err


@needs_nbgrader
@pytest.mark.slow
def test_the_student_repository_holds_only_the_copies_and_how_to_hand_in(tmp_path):
    course = tmp_path / "course"
    write_lesson(course, "01_probe.ipynb",
                 exercise_cells(1, "y = 2  # solution-4d1", "assert 'y' in globals(), 'store y'"))
    (course / "picture.gif").write_bytes(b"GIF89a")
    (course / "notes.md").write_text("teacher only")
    assert main(["build", str(tmp_path / "out"), "--course", str(course), "--student-repo"]) == 0
    repo = tmp_path / "out" / "student-repo"
    assert sorted(p.name for p in repo.iterdir()) == [".gitignore", "01_probe.ipynb", "README.md",
                                                      "picture.gif"]
    assert "solution-4d1" not in (repo / "01_probe.ipynb").read_text()
    assert "upload the `.ipynb` file" in (repo / "README.md").read_text()
