"""docs/custom-views.md: its code runs as written, and its example view draws through the clock."""

import re
from pathlib import Path

import numpy as np
import torch
from frames import FakeTime, decode
from matplotlib.colors import to_rgb
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import FrameClock, Trainer
from widgets.data import spirals

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "custom-views.md"
STEPS_PER_EPOCH = 8  # 256 points in batches of 32


def python_blocks() -> list[str]:
    """The guide's ```python blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)


def run_guide() -> dict:
    """Run every python block of the guide in one namespace, as a notebook would run its cells."""
    namespace: dict = {"__name__": "custom_views_guide"}
    for block in python_blocks():
        exec(compile(block, str(GUIDE), "exec"), namespace)
    return namespace


def small_trainer() -> Trainer:
    torch.manual_seed(1)
    x, y = spirals(256, sd=0.05, seed=2)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device=None, verbose=False)


def test_the_example_imports_only_public_names():
    example = next(block for block in python_blocks() if "class WeightNorms(View)" in block)
    imports = [line for line in example.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import torch", "from widgets import Frame, FrameClock, Trainer, View"]
    assert not re.search(r"\._[a-z]", example), "the example must use only public names of the base and the frame"


def test_every_block_of_the_guide_runs():
    namespace = run_guide()  # the last block is the guide's own headless test, and runs it
    assert namespace["norms"].closed and namespace["trainer"].global_step == 2 * STEPS_PER_EPOCH


def test_the_example_view_draws_one_line_per_layer_through_the_clock():
    WeightNorms = run_guide()["WeightNorms"]
    time = FakeTime()
    clock = FrameClock(max_fps=10, budget=1.0, time_fn=time)
    trainer = small_trainer()
    trainer.on("step", lambda record: setattr(time, "t", time.t + 0.05))  # before the view: a step takes 50 ms
    view = WeightNorms(trainer, clock=clock)
    assert repr(view) == "WeightNorms()" and "lt-weight-norms" in view.widget.get_state()["_dom_classes"]
    start = decode(view.snapshot().data)
    trainer.fit(3)
    end = decode(view.snapshot().data)

    steps = 3 * STEPS_PER_EPOCH
    assert view.frames_drawn == clock.frames + 1  # every frame went through the clock, but the first
    assert 3 < clock.frames < steps  # throttled: a step frame every second step, an epoch frame each epoch
    assert start.shape == end.shape and np.abs(end - start).sum() > 0

    # one line per weight matrix, each in its own colour, long enough to be a line and not a legend entry
    assert len(view.lines) == 3
    colours = [np.round(np.array(to_rgb(line.get_color())) * 255).astype(int) for line in view.lines]
    assert len({tuple(c) for c in colours}) == 3
    for colour in colours:
        assert (np.abs(end - colour).max(axis=2) <= 8).sum() > 150
    assert all(len(line.get_xdata()) == steps + 1 for line in view.lines)  # the start and every step
    view.close()
    trainer.step()
    assert view.frames_drawn == clock.frames + 1 and list(trainer.callback_errors) == []
