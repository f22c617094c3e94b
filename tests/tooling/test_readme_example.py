"""The README's ten-line example runs as written: it trains and builds a Dashboard."""

import asyncio
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_blocks() -> list[str]:
    """The README's Python examples, in order: the ten-line trainer, then the Playground."""
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


@pytest.mark.slow
def test_readme_example_trains_and_shows_a_dashboard():
    example = python_blocks()[0]
    assert "trainer.play(" in example

    async def run_in_a_loop():
        # as in a notebook: the code runs while an event loop is running
        namespace = {}
        exec(compile(example, "README.md example", "exec"), namespace)
        trainer = namespace["trainer"]
        assert trainer.is_playing
        for _ in range(6000):
            if not trainer.is_playing:
                break
            await asyncio.sleep(0.01)
        return namespace

    namespace = asyncio.run(run_in_a_loop())
    trainer = namespace["trainer"]
    import widgets

    assert isinstance(namespace["dashboard"], widgets.Dashboard)
    assert trainer.epoch == 50 and trainer.global_step == 50 * 7
    epochs = trainer.history.epochs
    assert epochs[-1]["train_loss"] < 0.8 * epochs[0]["train_loss"]
    assert epochs[-1]["valid_acc"] > 0.7, epochs[-1]


def test_readme_playground_example_builds_the_experiment_it_names():
    (block,) = [block for block in python_blocks() if "Playground(" in block]
    namespace: dict = {}
    exec(compile(block, "README.md Playground example", "exec"), namespace)
    pg = namespace["pg"]
    import widgets

    assert isinstance(pg, widgets.Playground)
    assert pg.config["dataset"] == "spiral" and pg.config["hidden"] == [8, 8]
    assert pg.config["features"] == ["x1", "x2", "sin(x1)", "sin(x2)"]
    pg.trainer.fit(1, verbose=False)
    assert pg.trainer.epoch == 1 and "Trainer(" in pg.code()
    pg.close()


def test_readme_hand_loop_example_shows_a_curve_its_history_feeds():
    (block,) = [block for block in python_blocks() if "History()" in block]
    namespace: dict = {}
    exec(compile(block, "README.md hand-loop example", "exec"), namespace)
    history = namespace["history"]
    from widgets import LossCurve

    # the block's curve is its cell's last line, not kept in a name: one more
    view = LossCurve(history=history)
    for loss in (1.0, 0.5, 0.25):
        history.log(loss)
    history.end_epoch(valid_loss=0.3)
    view.flush()
    steps, losses = view.series["step_loss"]
    assert list(steps) == [1, 2, 3] and list(losses) == [1.0, 0.5, 0.25]
    assert list(view.series["valid_loss"][1]) == [0.3]
    view.close()
