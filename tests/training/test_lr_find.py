"""lr_find: the range test trains copies only and leaves the trainer bitwise as it was; its curve, suggestion
and plot."""

import math
import random

import numpy as np
import pytest
import torch
from frames import decode
from IPython.core.formatters import DisplayFormatter
from matplotlib.colors import to_rgb
from small_trainers import small_trainer
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from widgets import Trainer, lr_find
from widgets.data import spirals
from widgets.training.lr_range import steepest_descent
from widgets.views.style import MARK_COLOUR, split_colour


class NoisySpirals(Dataset):
    """Spiral points jittered by numpy's global generator on every read: augmentation that draws outside
    torch."""

    def __init__(self) -> None:
        self.x, self.y = spirals(192, sd=0.05, seed=3)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        jitter = torch.from_numpy(np.random.normal(0.0, 0.01, size=2).astype(np.float32))
        return self.x[index] + jitter, self.y[index]


def twin(kind: str) -> Trainer:
    """A trainer built from the same seeds each time, so two of them train identically."""
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2))
    if kind == "global generators, Adam, numpy augmentation":
        loader = DataLoader(NoisySpirals(), batch_size=16, shuffle=True)
        return Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01), loader,
                       device="cpu", verbose=False)
    x, y = spirals(192, sd=0.05, seed=3)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device="cpu", verbose=False,
                   scheduler=torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.5),
                   scheduler_every="step")


KINDS = ["global generators, Adam, numpy augmentation", "loader generator, SGD momentum, step schedule"]


def train_run(kind: str, sweep: bool, before: int = 5, after: int = 20) -> tuple[Trainer, dict]:
    trainer = twin(kind)
    for _ in range(before):  # mid-epoch: 12 batches an epoch
        trainer.step()
    fired = []
    for event in ("step", "epoch", "state", "reset", "backward"):
        trainer.on(event, lambda payload, event=event: fired.append(event))
    seen = {}
    if sweep:
        result = lr_find(trainer, start=1e-4, end=10.0, steps=30)
        seen = {"result": result, "fired": list(fired), "steps": trainer.global_step,
                "rows": len(trainer.history),
                "lr": trainer.lr, "state": trainer.state}
    for _ in range(after):  # through the epoch's end and into the next
        trainer.step()
    seen["random"] = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    return trainer, seen


@pytest.mark.parametrize("kind", KINDS)
def test_training_after_lr_find_is_bitwise_that_of_a_twin_that_never_ran_it(kind):
    swept, seen = train_run(kind, sweep=True)
    plain, plain_seen = train_run(kind, sweep=False)
    assert len(seen["result"].lrs) >= 2 and seen["fired"] == []  # it swept, and the trainer emitted nothing
    assert (seen["steps"], seen["rows"], seen["state"]) == (5, 5, "idle")
    for (name, mine), theirs in zip(
        swept.model.state_dict().items(), plain.model.state_dict().values(), strict=True
    ):
        assert torch.equal(mine, theirs), name
    mine, theirs = swept.optimizer.state_dict(), plain.optimizer.state_dict()
    assert mine["param_groups"] == theirs["param_groups"]
    for index, state in mine["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(theirs["state"][index][key])), (
                index,
                key,
            )
    assert np.array_equal(swept.history.step_column("loss"), plain.history.step_column("loss"))
    assert swept.history.epochs[0]["train_loss"] == plain.history.epochs[0]["train_loss"]
    assert (swept.global_step, swept.epoch, swept.batch_in_epoch, swept.lr) == \
        (plain.global_step, plain.epoch, plain.batch_in_epoch, plain.lr)
    torch_state, numpy_keys, python_state = seen["random"]
    assert torch.equal(torch_state, plain_seen["random"][0])
    assert np.array_equal(numpy_keys, plain_seen["random"][1]) and python_state == plain_seen["random"][2]


def spiral_trainer() -> Trainer:
    return small_trainer(seed=1, n=512, data_seed=1, hidden=(64, 64), optimizer="adam", lr=0.01, device="cpu")


def test_on_the_spirals_the_loss_falls_then_rises_and_the_suggestion_lies_in_the_range():
    result = lr_find(spiral_trainer(), start=1e-5, end=10.0, steps=100)
    smoothed = result.smoothed
    lowest = int(np.argmin(smoothed))
    assert 0 < lowest < len(smoothed) - 1
    assert smoothed[lowest] < 0.9 * smoothed[0]  # it falls ...
    assert smoothed[-1] > 1.5 * smoothed[lowest]  # ... then rises
    assert result.suggestion is not None and 1e-5 <= result.suggestion <= 10.0
    assert result.suggestion <= result.best_lr == result.lrs[lowest]
    assert np.all(np.diff(np.log(result.lrs)) > 0) and result.lrs[0] == 1e-5
    assert len(result.lrs) == len(result.losses) == len(smoothed)
    if len(result.lrs) < 100:
        assert "passed 4 times its lowest" in result.stopped or "the loss became" in result.stopped
    assert math.isclose(result.lrs[1] / result.lrs[0], 10 ** (6 / 99))


def test_a_loss_that_only_rises_gives_no_suggestion_and_the_steepest_span_is_found():
    lrs = np.geomspace(1e-5, 1.0, 60)
    assert steepest_descent(lrs, np.linspace(1.0, 2.0, 60)) is None
    falling = 1.0 / (1.0 + np.exp(4 * (np.log10(lrs) + 2)))  # falls fastest at lr 1e-2
    falling[-10:] += np.linspace(0.0, 1.0, 10)  # then rises
    suggestion = steepest_descent(lrs, falling)
    assert 10**-2.3 <= suggestion <= 10**-1.7


def test_the_plot_is_a_png_with_the_curve_and_the_mark():
    result = lr_find(spiral_trainer(), start=1e-4, end=100.0, steps=60)
    data, _ = DisplayFormatter().format(result)  # what a notebook shows for the last line of a cell
    assert data["image/png"] == result.png == result._repr_png_()
    pixels = decode(result.png).reshape(-1, 3)
    for colour, least in ((split_colour("train"), 100), (MARK_COLOUR, 20)):
        rgb = np.round(np.array(to_rgb(colour)) * 255)
        assert (np.abs(pixels - rgb).max(axis=1) <= 12).sum() >= least, colour
    assert data["text/plain"].startswith("LRFindResult(steps=")


def test_bad_arguments_and_a_running_trainer_are_refused_and_nothing_changes():
    trainer = spiral_trainer()
    trainer.step()
    weights = [p.clone() for p in trainer.model.parameters()]
    for kwargs, message in [({"start": 0.0}, "start must be a positive"),
                            ({"end": -1.0}, "end must be a positive"),
                            ({"start": 1.0, "end": 0.1}, "end must be larger than start"),
                            ({"steps": 1}, "steps must be an int of at least 2"),
                            ({"steps": 2.5}, "steps must be an int")]:
        with pytest.raises(ValueError, match=message):
            lr_find(trainer, **kwargs)
    with pytest.raises(TypeError, match="lr_find expects a Trainer, got Sequential"):
        lr_find(trainer.model)
    refused = []

    def sweep_inside_a_step(record: dict) -> None:
        try:
            lr_find(trainer)
        except RuntimeError as error:
            refused.append(str(error))

    handle = trainer.on("step", sweep_inside_a_step)
    trainer.step()
    handle.remove()
    assert len(refused) == 1 and "cannot run while the trainer trains" in refused[0]
    assert trainer.global_step == 2 and len(trainer.history) == 2
    # the one step trained
    assert not all(torch.equal(a, b) for a, b in zip(weights, trainer.model.parameters()))
