"""Notebooks for the browser tests: fresh copies of lessons, and notebooks written from cells."""

from __future__ import annotations

from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def fresh_copy(source: Path, target: Path) -> Path:
    """Copy a notebook with its outputs, execution counts and saved widget state removed.

    A copy with no execution counts lets the test see each cell run, and no
    saved widget state means every widget on the page comes from this run.
    The kernelspec is set so JupyterLab never asks which kernel to use.
    """
    notebook = nbformat.read(str(source), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    return target


def write_notebook(target: Path, cells: list[str]) -> Path:
    """Write a notebook whose cells are `cells` (a cell starting with '#md ' is markdown)."""
    notebook = nbformat.v4.new_notebook()
    for source in cells:
        if source.startswith("#md "):
            notebook.cells.append(nbformat.v4.new_markdown_cell(source[4:]))
        else:
            notebook.cells.append(nbformat.v4.new_code_cell(source.strip("\n")))
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(target))
    return target


def spiral_trainer_setup(view: str, points: int, seed: int) -> str:
    """A notebook cell that builds a small spiral MLP `trainer` (Adam, batches of 32) and imports `view`.

    It leaves `x`, `y` (the spiral points) and `trainer` for the cells after it.
    """
    return f"""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from widgets import {view}, Trainer
from widgets.data import spirals

torch.set_num_threads(1)
torch.manual_seed(0)
x, y = spirals({points}, cycles=1, sd=0.05, seed={seed})
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02), loader,
                  verbose=False)
"""
