"""A stored lesson opened in JupyterLab without running it: each live view shows its last picture.

The notebook is copied as the repository stores it, outputs and saved widget
state included, and no cell is run. JupyterLab draws each live view from the
state saved with the notebook (the picture's data trait), so the loss curve's
canvas shows the curve as the lesson's run ended and the decision boundary
its field, in their colours.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from lab_page import NotebookPage
from notebook_files import REPO

LESSON = REPO / "course" / "04_spirals_mlp.ipynb"  # a hand-fed LossCurve and DecisionBoundary, trained in the lesson

JS_CANVAS_PIXELS = """(el) => {
    const canvas = el.querySelector('canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from(data.filter((_, i) => i % 4 !== 3));
}"""


def _pixels(notebook: NotebookPage, picture) -> np.ndarray:
    return np.asarray(notebook.page.evaluate(JS_CANVAS_PIXELS, picture.element_handle()), dtype=int).reshape(-1, 3)


@pytest.mark.browser
def test_a_stored_lesson_shows_each_view_s_last_picture_without_running(lab_app, lab_server, screenshot_dir):
    relpath = f"stored/{LESSON.name}"
    target = lab_server.root / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(LESSON, target)
    notebook = NotebookPage(lab_app, relpath)
    try:
        notebook.open()
        page = notebook.page
        curve = page.locator(".lt-loss-curve-picture").first
        boundary = page.locator(".lt-boundary-picture").first
        curve.wait_for(timeout=30_000)
        boundary.wait_for(timeout=30_000)
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        curve_pixels, boundary_pixels = _pixels(notebook, curve), _pixels(notebook, boundary)
        blue = (np.abs(curve_pixels - [0x1F, 0x77, 0xB4]).sum(axis=1) < 60).sum()
        assert blue > 300, f"the stored loss curve shows {blue} pixels of its line"
        reddish = (boundary_pixels[:, 0] > boundary_pixels[:, 2] + 40).sum()
        bluish = (boundary_pixels[:, 2] > boundary_pixels[:, 0] + 40).sum()
        assert reddish > 2000 and bluish > 2000, "the stored boundary shows its field in both class colours"
        shot = notebook.screenshot(screenshot_dir / "stored_lesson.png", target=curve)
        print(f"\n[stored] {LESSON.name}: curve line {blue} px, field {reddish} red and {bluish} blue px; {shot}")
        assert notebook.page_errors == [] and notebook.console_errors == []
    finally:
        notebook.close()
