"""DecisionBoundary: colours after training, misclassified marks, stored epochs and the slider, modes, bad input."""

import gc

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.views.boundary import DecisionBoundary
from widgets.data import spirals
from widgets.views.clock import FrameClock
from widgets.views.frame import live_figure_count
from frames import decode


class FrozenTime:
    """A clock that never moves: frames cost nothing, step frames come once, epoch frames always."""

    def __call__(self) -> float:
        return 0.0


def mlp(inputs: int = 2, outputs: int = 2, hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


def spiral_trainer(n: int = 240, batch_size: int = 40) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = spirals(n, seed=2)
    model = mlp()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02), loader,
                      device="cpu", verbose=False)
    return trainer, x, y


def pixel(boundary: DecisionBoundary, point) -> np.ndarray:
    image = decode(boundary.frame.png)
    x_px, y_px = boundary._ax.transData.transform(point)
    return image[image.shape[0] - int(round(y_px)), int(round(x_px))]


def test_trained_boundary_colours_the_classes_apart():
    trainer, x, y = spiral_trainer()
    boundary = DecisionBoundary(trainer, x, y)  # the real clock: a few frames, then the final one
    trainer.fit(60)
    assert not boundary.stale and boundary.shown.label == "epoch 60"
    with torch.no_grad():
        p1 = torch.softmax(trainer.model(x), dim=1)[:, 1]
    accuracy = ((p1 > 0.5).long() == y).float().mean().item()
    assert accuracy > 0.8  # the model learned something worth looking at
    boundary.points_toggle.value = False  # the field alone, no markers over the pixels
    surest_0 = x[y == 0][p1[y == 0].argmin()].tolist()
    surest_1 = x[y == 1][p1[y == 1].argmax()].tolist()
    red_0, _, blue_0 = pixel(boundary, surest_0)
    red_1, _, blue_1 = pixel(boundary, surest_1)
    assert blue_0 > red_0 + 40 and red_1 > blue_1 + 40  # class 0 blue, class 1 red
    boundary.points_toggle.value = True
    marked = pixel(boundary, surest_1)
    assert not np.array_equal(marked, [red_1, _, blue_1])  # the point's marker is drawn over the field
    boundary.close()


def test_misclassified_points_are_marked():
    torch.manual_seed(1)
    x, y = spirals(100, seed=3)
    model = mlp()
    boundary = DecisionBoundary(model, x, y, x_valid=x[:30], y_valid=y[:30])
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    wrong = (predicted != y).numpy()
    train_marks, valid_marks = boundary._miss_lines
    assert len(train_marks.get_xdata()) == wrong.sum() > 0
    assert len(valid_marks.get_xdata()) == wrong[:30].sum()
    np.testing.assert_allclose(sorted(train_marks.get_xdata()), sorted(x[wrong, 0].numpy()), rtol=1e-6)


def test_slider_shows_stored_epochs_and_is_disabled_while_running():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, clock=FrameClock(time_fn=FrozenTime()))
    seen_while_running = []
    trainer.on("step", lambda record: seen_while_running.append(boundary.slider.disabled))
    trainer.fit(6)
    assert all(seen_while_running) and seen_while_running
    assert sorted(boundary.stored) == [1, 2, 3, 4, 5, 6]
    assert not boundary.slider.disabled
    assert (boundary.slider.min, boundary.slider.max, boundary.slider.value) == (1, 6, 6)
    boundary.slider.value = 2
    assert boundary.shown is boundary.stored[2]
    frame_2 = boundary.frame.png
    boundary.slider.value = 5
    assert boundary.shown is boundary.stored[5] and boundary.frame.png != frame_2
    boundary.slider.value = 2
    assert boundary.frame.png == frame_2  # the same stored epoch gives the same frame
    assert boundary._label.get_text() == "epoch 2"
    # the stored grids are small uint8 arrays, not images
    assert boundary.stored[2].codes.dtype == np.uint8 and boundary.stored[2].codes.shape == (100, 100)
    trainer.fit(1)  # training again shows the live model, not the chosen epoch
    assert boundary.shown is boundary.stored[7]


class FinalFramesOnly(FrameClock):
    """The tightest budget: no frame while training, only the final ones (paused, stopped, slider)."""

    def permit(self, owner: object, kind: str = "step") -> bool:
        return kind == "final" and super().permit(owner, kind)


def grid_codes(boundary: DecisionBoundary, model: nn.Module) -> np.ndarray:
    """p(class 1) over the boundary's grid as uint8 codes, computed here from the model alone."""
    side = boundary.resolution
    gx = torch.linspace(boundary.bounds[0], boundary.bounds[1], side)
    gy = torch.linspace(boundary.bounds[2], boundary.bounds[3], side)
    rows, cols = torch.meshgrid(gy, gx, indexing="ij")
    with torch.no_grad():
        p1 = torch.softmax(model(torch.stack([cols, rows], dim=-1).reshape(-1, 2)), dim=1)[:, 1]
    return (p1 * 255).round().to(torch.uint8).reshape(side, side).numpy()


@pytest.mark.parametrize(("epochs", "keep", "expected"), [
    (6, 8, [1, 2, 3, 4, 5, 6]),  # fewer epochs than `keep`: every one
    (32, 8, [4, 8, 12, 16, 20, 24, 28, 32]),  # thinned to every 4th: `keep` of them, the last included
])
def test_every_epoch_is_stored_even_when_the_clock_allows_no_drawing(epochs, keep, expected):
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=12, keep=keep, clock=FinalFramesOnly())
    grids = {}
    trainer.on("epoch", lambda record: grids.__setitem__(record["epoch"], grid_codes(boundary, trainer.model)))
    drawn = boundary.frames_drawn
    trainer.fit(epochs)
    assert boundary.frames_drawn - drawn == 1  # no epoch was drawn, only the final frame
    assert sorted(boundary.stored) == expected and len(expected) == min(epochs, keep)
    assert not boundary.slider.disabled
    assert (boundary.slider.min, boundary.slider.max) == (expected[0], epochs)
    assert boundary.shown is boundary.stored[epochs]  # the final frame is the last epoch's stored grid
    for epoch in reversed(expected):
        boundary.slider.value = epoch
        shown = boundary.shown
        assert shown is boundary.stored[epoch] and boundary._label.get_text() == f"epoch {epoch}"
        assert np.array_equal(shown.codes, grids[epoch])  # the grid of the model as it was at that epoch's end
        assert np.array_equal(np.asarray(boundary._field.get_array()), boundary._lut[grids[epoch]])
    assert not np.array_equal(boundary.stored[expected[0]].codes, boundary.stored[epochs].codes)
    assert trainer.model.training and torch.is_grad_enabled()
    boundary.close()


def test_hand_loop_updates_store_epochs_thinned_evenly():
    torch.manual_seed(2)
    x, y = spirals(60, seed=4)
    model = mlp(hidden=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    gc.collect()
    figures = live_figure_count()
    boundary = DecisionBoundary(model, x, y, resolution=20, keep=4)
    grids = {}
    for epoch in range(1, 21):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        boundary.update(epoch=epoch)
        grids[epoch] = grid_codes(boundary, model)
        assert len(boundary.stored) <= 4 and epoch in boundary.stored
    kept = sorted(boundary.stored)
    assert kept[-1] == 20 and len(kept) >= 3
    gaps = np.diff(kept[:-1])
    assert len(set(gaps)) == 1 and kept[-1] - kept[-2] <= gaps[0]  # evenly spaced, plus the newest
    assert boundary.stored[20].codes.shape == (20, 20)
    assert all(np.array_equal(boundary.stored[epoch].codes, grids[epoch]) for epoch in kept)
    assert live_figure_count() == figures + 1  # one figure, however many frames
    boundary.slider.value = kept[0]
    assert boundary.shown is boundary.stored[kept[0]]
    boundary.close()
    gc.collect()
    assert live_figure_count() == figures


def test_modes_and_grad_state_are_restored():
    torch.manual_seed(3)
    x, y = spirals(40, seed=5)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2))
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    boundary = DecisionBoundary(model, x, y, resolution=10)
    boundary.update()
    assert model.training and not model[1].training and model[3].training
    assert torch.is_grad_enabled()
    with torch.no_grad():
        boundary.update()
        assert not torch.is_grad_enabled()
    model.eval()
    boundary.update()
    assert not any(module.training for module in model.modules())
    # the grid goes through the model in eval mode: dropout off, so two evaluations agree
    model.train()
    assert np.array_equal(boundary.evaluate().codes, boundary.evaluate().codes)


def test_more_classes_and_a_single_output():
    torch.manual_seed(4)
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    x = torch.cat([c + 0.3 * torch.randn(30, 2) for c in centres])
    y = torch.arange(3).repeat_interleave(30)
    model = mlp(outputs=3, hidden=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    boundary = DecisionBoundary(model, x, y, resolution=40)
    codes = boundary.shown.codes
    assert codes.shape == (2, 40, 40)
    for cls, (cx, cy) in enumerate(centres.tolist()):
        col = int(round((cx - boundary.bounds[0]) / (boundary.bounds[1] - boundary.bounds[0]) * 39))
        row = int(round((cy - boundary.bounds[2]) / (boundary.bounds[3] - boundary.bounds[2]) * 39))
        assert codes[0, row, col] == cls and codes[1, row, col] > 128  # the right class, confidently

    logit = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        logit[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        logit[0].bias.zero_()
    line_x = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    single = DecisionBoundary(logit, line_x, torch.tensor([0.0, 1.0, 1.0, 1.0]), resolution=21)
    assert single.outputs == 1
    assert list(single.shown.predicted) == [0, 1, 0, 1]
    assert len(single._miss_lines[0].get_xdata()) == 1  # the point at x = -1 labelled 1
    assert single.shown.codes[10, 0] < 127 < single.shown.codes[10, 20]  # the value grows left to right


def test_a_model_ending_in_softmax_is_read_as_probabilities():
    torch.manual_seed(5)
    x, y = spirals(50, seed=7)
    logits = mlp(hidden=8)
    with_softmax = nn.Sequential(logits, nn.Softmax(dim=1))
    from_logits = DecisionBoundary(logits, x, y, resolution=12).shown.codes
    from_probabilities = DecisionBoundary(with_softmax, x, y, resolution=12).shown.codes
    assert np.array_equal(from_logits, from_probabilities)


def test_redraws_on_the_clock_while_training():
    trainer, x, y = spiral_trainer(n=160, batch_size=20)  # 8 steps per epoch
    now = [0.0]
    trainer.on("step", lambda record: now.__setitem__(0, now[0] + 0.05))  # 50 ms a step: 0.4 s epochs
    boundary = DecisionBoundary(trainer, x, y, resolution=16, clock=FrameClock(max_fps=10, budget=1.0, time_fn=lambda: now[0]))
    drawn = boundary.frames_drawn
    trainer.fit(2)
    # 16 steps over 0.8 s of the fake clock: a frame per 0.1 s tick (every second step) and the epoch frames
    assert 8 <= boundary.frames_drawn - drawn <= 8 + 2 + 1
    assert sorted(boundary.stored) == [1, 2] and not boundary.stale


def test_short_epochs_draw_only_their_epoch_frames():
    trainer, x, y = spiral_trainer(n=160, batch_size=20)  # 8 steps per epoch
    now = [0.0]
    trainer.on("step", lambda record: now.__setitem__(0, now[0] + 0.001))  # 8 ms epochs: faster than the clock
    boundary = DecisionBoundary(trainer, x, y, resolution=16, clock=FrameClock(max_fps=10, budget=1.0, time_fn=lambda: now[0]))
    drawn = boundary.frames_drawn
    trainer.fit(5)
    # the first epoch's first step opens a tick; after that only epoch frames, each one kept for the slider
    assert boundary.frames_drawn - drawn == 1 + 5
    assert sorted(boundary.stored) == [1, 2, 3, 4, 5]


def test_a_double_precision_model_gets_a_double_grid():
    x, y = spirals(30, seed=8)
    model = mlp(hidden=4).double()
    boundary = DecisionBoundary(model, x, y, resolution=6)
    assert boundary._inputs.dtype == torch.float64 and boundary.shown.codes.shape == (6, 6)


def test_repr_css_and_display():
    x, y = spirals(20, seed=6)
    boundary = DecisionBoundary(mlp(hidden=4), x, y, resolution=8)
    assert repr(boundary) == "DecisionBoundary()"
    assert "lt-boundary" in boundary.widget._dom_classes
    assert boundary._repr_mimebundle_()[0]["text/plain"] == "DecisionBoundary()"
    snapshot = boundary.snapshot()
    assert snapshot.data.startswith(b"\x89PNG")


def test_bad_input_is_refused_and_nothing_is_left_behind():
    trainer, x, y = spiral_trainer(n=40, batch_size=20)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    gc.collect()
    figures = live_figure_count()
    three_inputs = mlp(inputs=3)
    with pytest.raises(ValueError, match=r"2 input features.*expects 3 input features"):
        DecisionBoundary(three_inputs, x, y)
    with pytest.raises(ValueError, match=r"x must be \[N, 2\].*\[40, 3\]"):
        DecisionBoundary(trainer, torch.zeros(40, 3), y)
    with pytest.raises(ValueError, match="y has 39 labels but x has 40 points"):
        DecisionBoundary(trainer, x, y[:39])
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        DecisionBoundary(trainer.model, x.to("meta"), y)
    with pytest.raises(ValueError, match="class 2 but the model has 2 outputs"):
        DecisionBoundary(trainer, x, torch.full((40,), 2))
    with pytest.raises(ValueError, match="whole class numbers"):
        DecisionBoundary(trainer, x, torch.full((40,), 0.5))
    with pytest.raises(ValueError, match="x_valid and y_valid go together"):
        DecisionBoundary(trainer, x, y, x_valid=x)
    with pytest.raises(ValueError, match="resolution"):
        DecisionBoundary(trainer, x, y, resolution=1)
    with pytest.raises(TypeError, match="nn.Module or a Trainer"):
        DecisionBoundary("model", x, y)
    with pytest.raises(TypeError, match="clock must be a FrameClock"):
        DecisionBoundary(trainer, x, y, clock=10)
    gc.collect()
    assert live_figure_count() == figures
    assert all(torch.equal(v, weights[k]) for k, v in trainer.model.state_dict().items())
    assert len(trainer.history) == 0 and trainer.model.training
    trainer.fit(1)  # nothing subscribed by the failed views: training runs and nothing fails
    assert not trainer.callback_errors
