"""GradientFlow: per-layer gradient norms recorded on "backward", sent to the page as new rows only, never
changing training.

What the page draws from these rows is tested in tests/browser/test_picture_gradients.py.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from frames import FakeTime, decode
from matplotlib import colormaps
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import GradientFlow, Trainer
from widgets.data import spirals
from widgets.views.gradient_flow_data import GradNorms, layer_colours, layer_groups
from widgets.views.gradient_flow_still import still_boxes
from widgets.views.pacer import Pacer

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


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def colour_rows(image: np.ndarray, box: tuple[int, int, int, int], colour: str,
                tolerance: int = 14) -> np.ndarray:
    """Row numbers (0 at the top) of the pixels inside `box` within `tolerance` of `colour`."""
    left, top, right, bottom = box
    inside = image[top + 2 : bottom - 2, left + 2 : right - 2]
    rows, _ = np.nonzero(np.abs(inside - rgb(colour)).max(axis=2) <= tolerance)
    return rows + top + 2


def sent_messages(view: GradientFlow) -> list[tuple[list[dict], list[int]]]:
    """Every message the view's picture sends from now on: (the change descriptions, each buffer's bytes)."""
    messages = []
    send = view.picture.send

    def spy() -> bool:
        described, buffers = view.picture.changes()
        sent = send()
        if sent:
            messages.append((described, [len(buffer) for buffer in buffers]))
        return sent

    view.picture.send = spy
    return messages


def torch_norms(model: nn.Sequential, by_layer: list[list[nn.Parameter]]) -> list[float]:
    """Each layer's gradient norm as torch computes it: the 2-norm of all its parameters' gradients
    together."""
    return [
        float(torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in params]))) for params in by_layer
    ]


def test_the_norms_are_torchs_own_and_the_still_shows_vanishing_gradients_in_the_layers_colours():
    model = sigmoid_stack()
    trainer = trainer_of(model)
    view = GradientFlow(trainer)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    expected = []
    trainer.on("backward",
               lambda payload: expected.append(torch_norms(model, [list(m.parameters()) for m in linears])))
    trainer.fit(2)
    norms = view.norms
    assert view.layers[0] == "0 Linear" and view.layers[-1] == "16 Linear" and norms.shape == (16, 9)
    assert np.array_equal(view.steps, np.arange(1, 17))
    assert np.allclose(norms, np.array(expected), rtol=1e-5, atol=0)
    # the first layer's gradient orders of magnitude below the last's
    assert np.all(norms[:, 0] < 1e-3 * norms[:, -1])

    image = decode(view.snapshot().data)
    assert image.shape[:2] == (view.picture.height, view.picture.width)
    box, key = still_boxes((view.picture.width, view.picture.height), view.layers)
    first = colour_rows(image, box, view.colours[view.layers[0]])
    last = colour_rows(image, box, view.colours[view.layers[-1]])
    assert len(first) >= 20 and len(last) >= 20
    assert np.median(first) > np.median(last) + 50  # lower on the picture, by far
    strip = image[key[1] + 2 : key[3] - 2, (key[0] + key[2]) // 2]
    assert np.abs(strip[0] - rgb(view.colours[view.layers[0]])).max() <= 3  # the key: input layer on top
    assert np.abs(strip[-1] - rgb(view.colours[view.layers[-1]])).max() <= 3
    view.close()


def test_each_round_sends_only_the_new_rows_float64_steps_and_float32_norms():
    now = FakeTime()
    trainer = trainer_of(sigmoid_stack(3))
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.05))
    view = GradientFlow(trainer, pacer=Pacer(fps=10, pause=0, time_fn=now))
    messages = sent_messages(view)
    trainer.fit(2)  # 16 steps of 50 ms: a round every other step, and the final one when training stops
    layers = len(view.layers)
    assert 5 <= len(messages) <= 10, "throttled to the pacer: far fewer messages than steps"
    rows = 0
    for described, sizes in messages:
        by_name = {change["name"]: (change, size) for change, size in zip(described, sizes)}
        assert set(by_name) == {"step", "norms"}
        (step, step_bytes), (norm, norm_bytes) = by_name["step"], by_name["norms"]
        assert step["op"] == norm["op"] == "extend" and step["start"] == norm["start"] == rows
        assert step["dtype"] == "float64" and norm["dtype"] == "float32"
        new = step["shape"][0]
        assert 1 <= new <= 3 and norm["shape"] == [new, layers]
        assert (step_bytes, norm_bytes) == (8 * new, 4 * layers * new)
        rows += new
    assert rows == 16, "every row travels once"
    steps, norms = view.picture.channel("step"), view.picture.channel("norms")
    assert np.array_equal(steps, view.steps) and np.allclose(norms, view.norms.astype(np.float32))
    # stored when training stopped: what a page opened later shows
    assert view.picture.data["norms"]["shape"] == [16, layers]
    assert view.picture.options == {"layers": view.layers, "colours": list(view.colours.values()),
                                    "label": "gradient norm"}


def test_one_line_per_layer_in_a_sequential_colour_scale_and_per_parameter_on_request():
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    trainer = trainer_of(model)
    view = GradientFlow(trainer)
    by_parameter = GradientFlow(trainer, by="parameter")
    trainer.fit(1)
    assert view.layers == ["0 Linear", "2 Linear", "4 Linear"] and np.all(view.norms > 0)
    brightness = [rgb(colour).sum() for colour in view.colours.values()]
    # dark input to light output
    assert brightness == sorted(brightness) and len(set(view.colours.values())) == 3
    assert by_parameter.layers == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    weight, bias = by_parameter.norms[:, 0], by_parameter.norms[:, 1]
    assert np.allclose(view.norms[:, 0], np.sqrt(weight**2 + bias**2), rtol=1e-5)
    assert by_parameter.picture.options["layers"] == by_parameter.layers


def test_layer_colours_follow_viridis_from_dark_to_light_green():
    colours = layer_colours(12)
    reference = np.round(colormaps["viridis"](0.85 * np.arange(12) / 11)[:, :3] * 255)
    assert np.abs(np.array([rgb(c) for c in colours]) - reference).max() <= 6
    assert layer_colours(1) == ["#440154"]
    with pytest.raises(ValueError, match="layers must be an int of at least 1, got 0"):
        layer_colours(0)


def test_close_unsubscribes_and_training_goes_on_without_the_view():
    trainer = trainer_of(sigmoid_stack(3))
    before = {event: trainer.listeners(event) for event in EVENTS}
    view = GradientFlow(trainer)
    trainer.run_epoch()
    view.close()
    assert {event: trainer.listeners(event) for event in EVENTS} == before
    sent = view.picture.messages_sent
    trainer.step()
    assert len(view.steps) == 8 and view.picture.messages_sent == sent


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
    """A frozen first layer, a layer the forward pass never uses, and a layer whose gradient is exactly
    zero."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = nn.Linear(2, 8).requires_grad_(False)
        self.unused = nn.Linear(8, 8)
        self.zeroed = nn.Linear(8, 2)
        self.out = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.frozen(x))
        return self.out(hidden) + 0.0 * self.zeroed(hidden)


def test_frozen_layers_are_left_out_and_zero_norms_lie_on_the_still_axis_floor():
    trainer = trainer_of(PartlyUsed())
    view = GradientFlow(trainer)
    trainer.fit(1)
    assert view.layers == ["unused Linear", "zeroed Linear", "out Linear"]
    norms = view.norms
    assert np.isnan(norms[:, 0]).all() and (norms[:, 1] == 0).all() and (norms[:, 2] > 0).all()
    sent = view.picture.channel("norms")
    # the page gets the gap and the zero as they are
    assert np.isnan(sent[:, 0]).all() and (sent[:, 1] == 0).all()
    image = decode(view.snapshot().data)
    box, _ = still_boxes((view.picture.width, view.picture.height), view.layers)
    left, top, right, bottom = box
    zeroed = colour_rows(image, (left, top, right, bottom + 4), view.colours["zeroed Linear"], tolerance=30)
    out = colour_rows(image, box, view.colours["out Linear"])
    assert len(zeroed) >= 20 and abs(np.median(zeroed) - bottom) <= 1  # along the bottom edge
    assert len(out) >= 20 and np.median(out) < bottom - 20


def test_a_reset_sends_the_empty_set_and_a_step_recorded_again_replaces_its_row():
    trainer = trainer_of(sigmoid_stack(2))
    view = GradientFlow(trainer, every=2)
    trainer.fit(1)
    assert list(view.steps) == [1, 2, 4, 6, 8]
    messages = sent_messages(view)
    trainer.reset()
    assert len(view.steps) == 0 and view.norms.shape == (0, 3)
    described = {change["name"]: change for change in messages[-1][0]}
    assert described["step"]["op"] == "set" and described["step"]["shape"] == [0]
    assert described["norms"]["shape"] == [0, 3] and view.picture.data["step"]["shape"] == [0]

    names, parameters, groups = layer_groups(sigmoid_stack(2))
    recorder = GradNorms([p for _, p in parameters], groups, capacity=1)
    for step in (1, 2, 3):
        recorder.record(step)
    first, steps, _ = recorder.new_rows()
    assert first == 0 and list(steps) == [1, 2, 3]
    recorder.record(3)  # step 3 failed after its backward pass and ran again
    recorder.record(4)
    first, steps, norms = recorder.new_rows()
    # no gradient yet: every layer a gap
    assert first == 2 and list(steps) == [3, 4] and np.isnan(norms).all()
    assert recorder.new_rows()[0] == 4


@pytest.mark.slow
def test_a_recording_keeps_one_still_per_epoch():
    trainer = trainer_of(sigmoid_stack(2))
    view = GradientFlow(trainer)
    view.start_recording()
    trainer.fit(2)
    view.stop_recording()
    pictures = [decode(png) for png in view.recorded_pngs()]
    assert len(pictures) == 3 and all((a != b).any() for a, b in zip(pictures, pictures[1:]))


def test_bad_input_is_refused_before_anything_is_subscribed():
    trainer = trainer_of(sigmoid_stack(2))
    with pytest.raises(TypeError, match="GradientFlow expects a Trainer, got Sequential"):
        GradientFlow(trainer.model)
    with pytest.raises(ValueError, match="every must be a positive int"):
        GradientFlow(trainer, every=0)
    with pytest.raises(ValueError, match=r"by must be one of \('module', 'parameter'\), got 'layer'"):
        GradientFlow(trainer, by="layer")
    with pytest.raises(ValueError, match=r"size must be at least \(360, 200\) pixels .* got \(300, 200\)"):
        GradientFlow(trainer, size=(300, 200))
    with pytest.raises(TypeError, match="size must be \\(width, height\\) in pixels, got 640"):
        GradientFlow(trainer, size=640)
    with pytest.raises(TypeError, match="pacer must be a widgets.views.Pacer or None, got int"):
        GradientFlow(trainer, pacer=10)
    with pytest.raises(ValueError, match="no trainable parameters"):
        GradientFlow(trainer_of(nn.Sequential(nn.Linear(2, 2).requires_grad_(False))))
    assert all(trainer.listeners(event) == [] for event in EVENTS)  # refused before subscribing


@pytest.mark.slow
def test_training_with_the_view_loads_no_matplotlib_until_a_still_is_asked_for():
    script = """
import sys, torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from widgets import GradientFlow, Trainer
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  DataLoader(TensorDataset(torch.randn(64, 2), torch.randint(0, 2, (64,))), batch_size=16),
                  verbose=False)
flow = GradientFlow(trainer)
trainer.fit(1)
print("matplotlib" in sys.modules, end=" ")
flow.snapshot_png()
print("matplotlib" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
