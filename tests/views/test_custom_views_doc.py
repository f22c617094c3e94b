"""docs/custom-views.md: its code runs as written, and its example view sends one row per step through the
pacer."""

import re
from pathlib import Path

import numpy as np
import pytest
from frames import decode
from pictures import hand_pacer
from small_trainers import small_trainer

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "custom-views.md"
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


def test_the_example_imports_only_public_names():
    example = next(block for block in python_blocks() if "class WeightNorms(LiveView)" in block)
    imports = [line for line in example.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import numpy as np", "import torch", "from widgets import LiveView, Trainer",
                       "from widgets.views import Picture"]
    assert not re.search(r"\._[a-z]",
                         example), "the example must use only public names of the base and the picture"


@pytest.mark.slow
def test_every_block_of_the_guide_runs():
    namespace = run_guide()  # the last block is the guide's own headless test, and runs it
    assert namespace["norms"].closed and namespace["trainer"].global_step == 2 * STEPS_PER_EPOCH


@pytest.mark.slow
def test_the_example_view_sends_each_step_once_and_its_still_draws_a_line_per_layer():
    WeightNorms = run_guide()["WeightNorms"]
    pacer, clock = hand_pacer(fps=10)
    trainer = small_trainer(seed=1, n=256, hidden=(16, 16), lr=0.5, device=None)
    # before the view: a step takes 50 ms
    trainer.on("step", lambda record: setattr(clock, "t", clock.t + 0.05))
    view = WeightNorms(trainer, pacer=pacer)
    assert repr(view) == "WeightNorms()" and "lt-weight-norms" in view.widget.get_state()["_dom_classes"]
    trainer.fit(3)
    steps = 3 * STEPS_PER_EPOCH
    stored = view.picture.data["norms"]
    rows = np.frombuffer(stored["buffer"], dtype=np.float32).reshape(stored["shape"])
    assert rows.shape == (steps, 3)
    weights = [p for name, p in trainer.model.named_parameters() if name.endswith("weight")]
    assert np.allclose(rows[-1], [float(w.detach().norm()) for w in weights], rtol=1e-6)
    assert 3 < pacer.rounds < steps  # a round every second step of 50 ms at 10 rounds a second
    still = decode(view.snapshot_png())
    # matplotlib's first three line colours, each drawn long enough to be a line and not a legend entry
    for colour in ([31, 119, 180], [255, 127, 14], [44, 160, 44]):
        assert (np.abs(still - colour).max(axis=2) <= 8).sum() > 100
    view.close()
    trainer.step()
    assert list(trainer.callback_errors) == []
