"""GradientFlow: per-layer gradient norms recorded on "backward", drawn live on a log axis, never changing training."""

import numpy as np
import pytest
import torch
from frames import FakeTime, decode
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import GradientFlow, Trainer
from widgets.data import spirals
from widgets.views.clock import FrameClock
from widgets.views.gradient_flow_data import GradNorms, layer_groups

EVENTS = ("step", "epoch", "state", "reset", "backward")


def trainer_of(model: nn.Module, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    x, y = spirals(256, sd=0.05, seed=seed)
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
                   DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), device="cpu", verbose=False)


def sigmoid_stack(depth: int = 8) -> nn.Sequential:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for index in range(depth):
        layers += [nn.Linear(2 if index == 0 else 32, 32), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(32, 2))


def colour_rows(image: np.ndarray, box: tuple[int, int, int, int], colour: tuple[float, ...]) -> np.ndarray:
    """Row numbers (0 at the top) of the pixels inside `box` within a small distance of `colour`."""
    left, top, right, bottom = box
    inside = image[top + 2 : bottom - 2, left + 2 : right - 2]
    target = np.round(np.array(colour) * 255)
    rows, _ = np.nonzero(np.abs(inside - target).max(axis=2) <= 14)
    return rows + top + 2


def test_a_deep_sigmoid_stack_shows_vanishing_gradients_in_the_data_and_in_the_pixels():
    trainer = trainer_of(sigmoid_stack())
    view = GradientFlow(trainer)
    trainer.fit(2)
    norms = view.norms
    assert view.layers[0] == "0 Linear" and view.layers[-1] == "16 Linear" and norms.shape == (16, 9)
    assert np.array_equal(view.steps, np.arange(1, 17))
    assert np.all(norms[:, 0] < 1e-3 * norms[:, -1])  # the first layer's gradient orders of magnitude below the last's
    image = decode(view.snapshot().data)
    first = colour_rows(image, view.plot_box, view.colours[view.layers[0]])
    last = colour_rows(image, view.plot_box, view.colours[view.layers[-1]])
    assert len(first) >= 20 and len(last) >= 20
    assert np.median(first) > np.median(last) + 50  # lower on the picture, by far
    low, high = view.y_limits
    assert low <= norms.min() and norms.max() <= high and np.log10(high / low) >= 5
    view.close()


def test_one_line_per_layer_in_a_sequential_colour_scale_and_per_parameter_on_request():
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    trainer = trainer_of(model)
    view = GradientFlow(trainer)
    by_parameter = GradientFlow(trainer, by="parameter")
    trainer.fit(1)
    assert list(view.series) == ["0 Linear", "2 Linear", "4 Linear"]
    assert all(len(x) == 8 and np.all(y > 0) for x, y in view.series.values())
    brightness = [sum(colour) for colour in view.colours.values()]
    assert brightness == sorted(brightness) and len(set(view.colours.values())) == 3  # dark input to light output
    assert by_parameter.layers == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    weight, bias = by_parameter.norms[:, 0], by_parameter.norms[:, 1]
    assert np.allclose(view.norms[:, 0], np.sqrt(weight**2 + bias**2), rtol=1e-5)


def test_frames_follow_training_on_the_clock_and_close_unsubscribes():
    now = FakeTime()
    trainer = trainer_of(sigmoid_stack(3))
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.05))
    before = {event: trainer.listeners(event) for event in EVENTS}
    view = GradientFlow(trainer, clock=FrameClock(max_fps=10, budget=1.0, time_fn=now))
    empty = view.frame.png
    frames = [empty]
    for _ in range(3):
        trainer.run_epoch()
        frames.append(view.frame.png)
    assert 3 <= view.frames_drawn - 1 < 24  # throttled: about every second step, plus the epochs' frames
    assert len(set(frames)) == 4  # every epoch changed the picture
    assert not view.stale
    view.close()
    assert {event: trainer.listeners(event) for event in EVENTS} == before  # only the test's own clock left
    trainer.step()  # training goes on without the view
    assert len(view.steps) == 24


def weights_and_losses(with_view: bool) -> tuple[list[torch.Tensor], np.ndarray]:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
    trainer = trainer_of(model, seed=4)
    view = GradientFlow(trainer) if with_view else None
    trainer.fit(3)
    if view is not None:
        view.snapshot()
    return [p.detach().clone() for p in model.parameters()], trainer.history.step_column("loss").copy()


def test_the_view_does_not_change_training():
    watched, watched_losses = weights_and_losses(True)
    plain, plain_losses = weights_and_losses(False)
    assert all(torch.equal(a, b) for a, b in zip(watched, plain, strict=True))
    assert np.array_equal(watched_losses, plain_losses)


class PartlyUsed(nn.Module):
    """A frozen first layer, a layer the forward pass never uses, and a layer whose gradient is exactly zero."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = nn.Linear(2, 8).requires_grad_(False)
        self.unused = nn.Linear(8, 8)
        self.zeroed = nn.Linear(8, 2)
        self.out = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.frozen(x))
        return self.out(hidden) + 0.0 * self.zeroed(hidden)


def test_frozen_layers_are_left_out_none_gradients_leave_gaps_and_zero_norms_sit_on_the_floor():
    trainer = trainer_of(PartlyUsed())
    view = GradientFlow(trainer)
    trainer.fit(1)
    assert view.layers == ["unused Linear", "zeroed Linear", "out Linear"]
    norms = view.norms
    assert np.isnan(norms[:, 0]).all() and (norms[:, 1] == 0).all() and (norms[:, 2] > 0).all()
    series = view.series
    assert np.isnan(series["unused Linear"][1]).all()
    assert np.all(series["zeroed Linear"][1] == view.y_limits[0])
    assert view.y_limits[0] <= norms[:, 2].min()


def test_a_reset_clears_the_norms_and_a_step_recorded_again_replaces_its_row():
    trainer = trainer_of(sigmoid_stack(2))
    view = GradientFlow(trainer, every=2)
    trainer.fit(1)
    assert list(view.steps) == [1, 2, 4, 6, 8]
    trainer.reset()
    assert len(view.steps) == 0 and view.norms.shape == (0, 3)
    names, parameters, groups = layer_groups(sigmoid_stack(2))
    recorder = GradNorms([p for _, p in parameters], groups, capacity=1)
    for step in (1, 2, 3, 3, 4):  # step 3 failed after its backward pass and ran again
        recorder.record(step)
    steps, norms = recorder.columns()
    assert list(steps) == [1, 2, 3, 4] and np.isnan(norms).all()  # no gradient yet: every layer a gap


def test_bad_input_is_refused():
    trainer = trainer_of(sigmoid_stack(2))
    with pytest.raises(TypeError, match="GradientFlow expects a Trainer, got Sequential"):
        GradientFlow(trainer.model)
    with pytest.raises(ValueError, match="every must be a positive int"):
        GradientFlow(trainer, every=0)
    with pytest.raises(ValueError, match=r"by must be one of \('module', 'parameter'\), got 'layer'"):
        GradientFlow(trainer, by="layer")
    with pytest.raises(ValueError, match=r"figsize must be at least \(4.0, 2.4\)"):
        GradientFlow(trainer, figsize=(3.0, 2.0))
    with pytest.raises(ValueError, match="no trainable parameters"):
        layer_groups(nn.Linear(2, 2).requires_grad_(False))
    assert all(trainer.listeners(event) == [] for event in EVENTS)  # refused before subscribing
