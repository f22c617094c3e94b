"""Running a cell again in JupyterLab replaces its live view instead of leaving the old one drawing.

The notebook makes a LossCurve in one cell and keeps every curve that cell made
in a list. The test runs the notebook, runs that cell a second time as a
learner does (click, Ctrl+Enter), trains, and asks the kernel which curves are
still open and how many listen to the trainer.
"""

from __future__ import annotations

import pytest
from lab_page import NotebookPage
from notebook_files import write_notebook

SETUP = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from widgets import LossCurve, Trainer
from widgets.data import spirals

torch.manual_seed(0)
x, y = spirals(200, sd=0.05, seed=0)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.3),
                  DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), verbose=False)
made = []
'''

SHOW = "made.append(LossCurve(trainer))\nmade[-1]"
CHECK = '''_ = trainer.fit(2)
print("open", [curve.widget.comm is not None for curve in made], "listening", len(trainer.listeners("step")),
      "frames", [curve.picture.messages_sent for curve in made])'''
SHOW_INDEX, CHECK_INDEX = 2, 3


@pytest.mark.browser
def test_running_a_cell_again_closes_its_earlier_view(lab_app, lab_server):
    relpath = "rerun/rerun_view.ipynb"
    write_notebook(lab_server.root / relpath, ["#md # A cell run twice", SETUP, SHOW, CHECK])
    notebook = NotebookPage(lab_app, relpath)
    try:
        notebook.open()
        notebook.run_all()
        notebook.wait_widgets_rendered()
        first_text, _ = notebook.run_cell(CHECK_INDEX)
        assert "open [True] listening 1" in first_text, first_text

        notebook.run_cell(SHOW_INDEX)  # the learner runs the view's cell again
        notebook.wait_widgets_rendered()
        text, _ = notebook.run_cell(CHECK_INDEX)
        assert "open [False, True] listening 1" in text, text
        frames_before = [int(n) for n in first_text.split("frames [")[1].rstrip("]\n ").split(",")]
        frames_after = [int(n) for n in text.split("frames [")[1].rstrip("]\n ").split(",")]
        assert frames_after[0] == frames_before[0], "the closed curve kept sending"
        assert frames_after[1] >= 1
        assert notebook.page.locator(".lt-loss-curve").count() == 1
        assert notebook.error_outputs() == []
        assert notebook.page_errors == []
    finally:
        notebook.close()
