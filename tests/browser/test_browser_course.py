"""Every lesson in `course/`, run top to bottom in JupyterLab with "Run All".

Each lesson runs from a fresh copy (no stored outputs) in the server's
throw-away root, never from the repository file. After the run: no error
output, every widget rendered and every image in our views loaded, no page or
console error, and no request to any host but 127.0.0.1. One screenshot per
lesson goes to `artifacts/screenshots/`. While one lesson is checked, the
next one already runs in a second tab (`lesson_runner.py`).

Every decision boundary whose epoch slider is live is walked: its first and
last epochs show different pictures, and going back shows the same pixels again
(the spirals lesson must have one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from boundary_checks import walk_epoch_slider
from lab_page import LabApp, NotebookPage
from lesson_runner import LessonRunner
from notebook_files import REPO

COURSE = REPO / "course"
LESSONS = sorted(COURSE.glob("*.ipynb"))
SPIRALS_LESSON = "04_spirals_mlp"  # trains with a DecisionBoundary kept per epoch


@pytest.fixture(scope="session")
def course_copy(lab_server) -> Path:
    """The course folder's other files (helpers, pictures) copied beside the lessons' copies."""
    target = lab_server.root / "main" / "course"
    for item in COURSE.iterdir():
        if item.name.startswith(".") or item.name == "__pycache__" or item.suffix == ".ipynb":
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)
    return target


@pytest.fixture(scope="session")
def lesson_runner(request, lab_app, lab_browser, lab_server, course_copy):
    """Runs the selected lessons in order, each one starting while the previous one is checked."""
    selected = [item.callspec.params["lesson"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_lesson_runs_in_jupyterlab"]

    def second_tab() -> LabApp:
        app = LabApp(lab_browser, lab_server, workspace="lessons-ahead")
        app.boot()
        return app

    runner = LessonRunner(lab_app, second_tab, selected, course_copy, "main/course")
    try:
        yield runner
    finally:
        runner.close()


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs_in_jupyterlab(lesson, lab_app, lesson_runner, screenshot_dir):
    notebook = lesson_runner.take(lesson)
    try:
        notebook.page.bring_to_front()
        notebook.wait_run_all(timeout_ms=180_000)
        assert notebook.error_outputs() == []
        assert notebook.expected_errors_missing() == [], "cells tagged raises-exception did not raise"
        assert notebook.unexecuted_cells() == []
        notebook.wait_widgets_rendered()
        views = notebook.our_classes()
        walked = _walk_boundaries(notebook, lesson.stem)
        if lesson.stem == SPIRALS_LESSON:
            assert walked, f"{lesson.stem} shows no decision boundary with a live epoch slider"
        shot = notebook.screenshot(screenshot_dir / f"{lesson.stem}.png", whole_notebook=True)
        print(f"\n[{lesson.stem}] views: {views or 'none'}; screenshot: {shot}")
        print(f"[{lesson.stem}] " + ", ".join(f"{name} {t:.1f} s" for name, t in notebook.timings.items())
              + f"; {len(notebook.requested_urls)} requests")
        assert notebook.page_errors == [], notebook.page_errors
        assert notebook.console_errors == [], notebook.console_errors
        assert notebook.foreign_requests() == []
    finally:
        lesson_runner.release(notebook)


def _walk_boundaries(notebook: NotebookPage, name: str) -> int:
    """Walk the epoch slider of every boundary whose slider is enabled; return how many."""
    boundaries = notebook.page.locator(".lt-boundary:has(input.lt-boundary-epoch:not([disabled]))")
    for index in range(boundaries.count()):
        frames = walk_epoch_slider(notebook, boundaries.nth(index))
        print(f"\n[{name}] boundary {index}: epochs {frames.first_epoch}..{frames.last_epoch}")
        assert frames.first_digest != frames.last_digest, "the first and the last epoch show the same image"
        assert frames.first_again_digest == frames.first_digest, (
            "going back to the first epoch shows another image"
        )
        assert frames.last_again_digest == frames.last_digest, (
            "going back to the last epoch shows another image"
        )
    return boundaries.count()
