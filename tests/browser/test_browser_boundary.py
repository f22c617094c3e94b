"""A DecisionBoundary after training: its epoch slider goes back to earlier frames.

The notebook trains the spiral MLP for a few epochs with a boundary following
the trainer. At the slider's first and last positions the pictures differ (the
model learned), and going back to a position shows that epoch's picture again,
pixel for pixel, drawn in the page from the epochs it was sent.
"""

from __future__ import annotations

import pytest
from boundary_checks import walk_epoch_slider
from lab_page import NotebookPage
from notebook_files import spiral_trainer_setup, write_notebook

SETUP = spiral_trainer_setup("DecisionBoundary", points=300, seed=1)

SHOW = "boundary = DecisionBoundary(trainer, x, y, resolution=60)\nboundary"
TRAIN = "_ = trainer.fit(8)"
CHECK = 'print(f"kept epochs {boundary.epochs}")'


@pytest.mark.browser
def test_boundary_slider_brings_back_epochs(lab_app, lab_server, screenshot_dir):
    relpath = "boundary/boundary_epochs.ipynb"
    write_notebook(lab_server.root / relpath,
                   ["#md # Decision boundary through the epochs", SETUP, SHOW, TRAIN, CHECK])
    notebook = NotebookPage(lab_app, relpath)
    try:
        notebook.open()
        notebook.run_all()
        assert notebook.error_outputs() == []
        notebook.wait_widgets_rendered()
        boundary = notebook.page.locator(".lt-boundary")
        frames = walk_epoch_slider(notebook, boundary)
        shot = notebook.screenshot(screenshot_dir / "boundary_epochs.png", target=boundary)
        print(f"\n[boundary] epochs {frames.first_epoch}..{frames.last_epoch}; screenshot: {shot}")
        assert frames.first_digest != frames.last_digest, "the first and the last epoch show the same image"
        assert frames.first_again_digest == frames.first_digest, (
            "going back to the first epoch shows another image"
        )
        assert frames.last_again_digest == frames.last_digest, (
            "going back to the last epoch shows another image"
        )
        assert notebook.page_errors == [] and notebook.console_errors == []
        assert notebook.foreign_requests() == []
    finally:
        notebook.close()
