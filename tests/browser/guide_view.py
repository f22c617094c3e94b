"""Builds the guide's WeightNorms view on a small trainer for the page test (not a test file of its own)."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spirals

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "custom-views.md"


def guide_view():
    """(WeightNorms view, its trainer): the guide's first two python blocks run, then a view on a fresh
    trainer."""
    blocks = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)
    namespace: dict = {}
    for block in blocks[:2]:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    torch.manual_seed(1)
    x, y = spirals(256, sd=0.05, seed=2)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
                      DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), device=None,
                      verbose=False)
    return namespace["WeightNorms"](trainer), trainer
