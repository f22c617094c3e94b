"""A stored lesson opened in JupyterLab without running it: each live view shows its last picture.

The notebook is copied as the repository stores it, outputs and saved widget
state included, and no cell is run. A notebook JupyterLab has not been told
to trust shows only safe outputs, so each live view appears as the still that
the course's runner stored beside its widget: the loss curve as the lesson's
run ended, and the decision boundary with its field in both class colours.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from lab_page import NotebookPage
from notebook_files import REPO

# a hand-fed LossCurve and DecisionBoundary, trained in the lesson
LESSON = REPO / "course" / "04_spirals_mlp.ipynb"

JS_IMAGE_PIXELS = """async (img) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    return Array.from(data.filter((_, i) => i % 4 !== 3));
}"""


@pytest.mark.browser
def test_a_stored_lesson_shows_each_view_s_last_picture_without_running(lab_app, lab_server, screenshot_dir):
    relpath = f"stored/{LESSON.name}"
    target = lab_server.root / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(LESSON, target)
    notebook = NotebookPage(lab_app, relpath)
    try:
        notebook.open()
        images = notebook.page.locator(".jp-OutputArea-output.jp-RenderedImage img")
        images.first.wait_for(timeout=30_000)
        curve_line, field = 0, (0, 0)
        for index in range(images.count()):
            pixels = np.asarray(notebook.page.evaluate(JS_IMAGE_PIXELS, images.nth(index).element_handle()),
                                dtype=int).reshape(-1, 3)
            curve_line = max(curve_line, int((np.abs(pixels - [0x1F, 0x77, 0xB4]).sum(axis=1) < 60).sum()))
            reddish = int((pixels[:, 0] > pixels[:, 2] + 40).sum())
            bluish = int((pixels[:, 2] > pixels[:, 0] + 40).sum())
            field = max(field, (min(reddish, bluish), max(reddish, bluish)))
        shot = notebook.screenshot(screenshot_dir / "stored_lesson.png")
        print(
            f"\n[stored] {LESSON.name}: {images.count()} stills; curve line {curve_line} px, field {field} "
            f"px; {shot}"
        )
        assert curve_line > 300, "no stored still shows the trained loss curve"
        assert field[0] > 2000, "no stored still shows the boundary's field in both class colours"
        assert notebook.page_errors == [] and notebook.console_errors == []
    finally:
        notebook.close()
