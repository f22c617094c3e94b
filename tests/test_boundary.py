"""DecisionBoundary: colours after training, misclassified marks, stored epochs and the slider, modes, randomness,
the regression case, layout, bad input."""

import gc

import numpy as np
import pytest
import torch
from frames import decode
from matplotlib.text import Text
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spirals
from widgets.views.boundary import MIN_FIGSIZE, DecisionBoundary
from widgets.views.clock import FrameClock
from widgets.views.dashboard import Dashboard
from widgets.views.frame import live_figure_count
from widgets.views.style import class_colours


class FrozenTime:
    """A clock that never moves: frames cost nothing, step frames come once, epoch frames always."""

    def __call__(self) -> float:
        return 0.0


def mlp(inputs: int = 2, outputs: int = 2, hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


def spiral_trainer(n: int = 240, batch_size: int = 40, make_model=mlp) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = spirals(n, seed=2)
    model = make_model()
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.02), loader,
                      device="cpu", verbose=False)
    return trainer, x, y


def pixel(boundary: DecisionBoundary, point) -> np.ndarray:
    """The RGB pixel of the boundary's PNG at a data point."""
    image = decode(boundary.frame.png)
    axes = boundary.frame.figure.axes[0]
    x_px, y_px = axes.transData.transform(point)
    return image[image.shape[0] - int(round(y_px)), int(round(x_px))]


def p1_codes(boundary: DecisionBoundary, model: nn.Module, side: int) -> np.ndarray:
    """p(class 1) over a side x side grid of the boundary's box as uint8 codes, computed here from the model alone."""
    gx = torch.linspace(boundary.bounds[0], boundary.bounds[1], side)
    gy = torch.linspace(boundary.bounds[2], boundary.bounds[3], side)
    rows, cols = torch.meshgrid(gy, gx, indexing="ij")
    with torch.no_grad():
        p1 = torch.softmax(model(torch.stack([cols, rows], dim=-1).reshape(-1, 2)), dim=1)[:, 1]
    return (p1 * 255).round().to(torch.uint8).reshape(side, side).numpy()


def close_to(codes: np.ndarray, expected: np.ndarray) -> bool:
    """Equal up to one code: the view codes p1 as sigmoid(o1 - o0), softmax's p1 up to rounding."""
    return codes.shape == expected.shape and int(np.abs(codes.astype(int) - expected.astype(int)).max()) <= 1


def test_trained_boundary_colours_the_classes_apart():
    trainer, x, y = spiral_trainer()
    boundary = DecisionBoundary(trainer, x, y)  # the real clock: a few frames, then the final one
    trainer.fit(60)
    assert not boundary.stale and boundary.shown.label == "epoch 60" and boundary.caption == "epoch 60"
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
    marked = boundary.misclassified
    assert marked.shape == (130,) and wrong.sum() > 0
    assert np.array_equal(marked[:100], wrong) and np.array_equal(marked[100:], wrong[:30])
    # a cross is drawn over a wrong point: its centre turns dark, and clears when the points are hidden
    isolated = [i for i in np.flatnonzero(wrong) if np.sort(torch.cdist(x[i:i + 1], x)[0].numpy())[1] > 0.05]
    point = x[isolated[0]].tolist()
    assert pixel(boundary, point).sum() < 200
    boundary.points_toggle.value = False
    assert pixel(boundary, point).sum() > 300


def test_the_slider_follows_the_live_epoch_until_the_learner_moves_it():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, clock=FrameClock(time_fn=FrozenTime()))
    seen = []
    trainer.on("epoch", lambda record: seen.append((record["epoch"], boundary.slider.value, boundary.caption)))
    trainer.fit(6)
    assert seen == [(e, e, f"epoch {e}") for e in range(1, 7)]  # while running: at the epoch the plot shows
    assert boundary.epochs == [1, 2, 3, 4, 5, 6]
    assert not boundary.slider.disabled
    assert (boundary.slider.min, boundary.slider.max, boundary.slider.value) == (1, 6, 6)
    boundary.slider.value = 2
    assert boundary.shown is boundary.stored[2] and boundary.caption == "epoch 2"
    frame_2 = boundary.frame.png
    boundary.slider.value = 5
    assert boundary.shown is boundary.stored[5] and boundary.frame.png != frame_2
    boundary.slider.value = 2
    assert boundary.frame.png == frame_2  # the same stored epoch gives the same frame
    # the stored grids are small uint8 arrays, not images
    assert boundary.stored[2].codes.dtype == np.uint8 and boundary.stored[2].codes.shape == (100, 100)
    trainer.fit(1)  # training again shows the live model, not the chosen epoch
    assert boundary.shown is boundary.stored[7] and boundary.slider.value == 7

    moved = []

    def learner_moves_it(record: dict) -> None:
        if record["epoch"] == 9:
            boundary.slider.value = 3  # as a click during play() would
        moved.append((boundary.slider.value, boundary.caption))

    trainer.on("epoch", learner_moves_it)
    trainer.fit(3)
    assert moved == [(8, "epoch 8"), (3, "epoch 3"), (3, "epoch 3")]  # it stays where the learner put it
    assert boundary.shown is boundary.stored[3] and boundary.slider.max == 10
    boundary.slider.value = 10  # the right end follows the live model again
    assert boundary.shown is boundary.stored[10] and boundary.caption == "epoch 10"


class FinalFramesOnly(FrameClock):
    """The tightest budget: no frame while training, only the final ones (paused, stopped, slider)."""

    def __init__(self) -> None:
        super().__init__()
        self.work: list[float] = []  # seconds of work charged without a frame

    def permit(self, owner: object, kind: str = "step") -> bool:
        return kind == "final" and super().permit(owner, kind)

    def charge_work(self, seconds: float) -> None:
        self.work.append(seconds)
        super().charge_work(seconds)


def count_model_calls(model: nn.Module) -> list[int]:
    """A one-element counter of the model's calls in inference mode (the view's calls, not training's)."""
    calls = [0]
    model.register_forward_pre_hook(lambda module, args: calls.__setitem__(0, calls[0] + torch.is_inference_mode_enabled()))
    return calls


@pytest.mark.parametrize(("epochs", "keep", "expected", "captured"), [
    (6, 8, [1, 2, 3, 4, 5, 6], 6),  # fewer epochs than `keep`: every one
    # a run of known length: strided from its start, first and last included (the last, off the stride, by the final frame)
    (32, 8, [1, 5, 10, 15, 20, 25, 30, 32], 7),
])
def test_spread_epochs_are_kept_even_when_the_clock_allows_no_drawing(epochs, keep, expected, captured):
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    clock = FinalFramesOnly()
    boundary = DecisionBoundary(trainer, x, y, resolution=24, keep=keep, clock=clock)
    grids = {}
    trainer.on("epoch", lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 24)))
    calls = count_model_calls(trainer.model)
    drawn = boundary.frames_drawn
    trainer.fit(epochs)
    assert boundary.frames_drawn - drawn == 1  # no epoch was drawn, only the final frame
    assert boundary.epochs == expected
    # kept epochs cost a copy of the weights, charged to the clock; only the final frame ran the model
    assert calls[0] == 1
    assert len(clock.work) == captured and clock.frames == 1 and clock.spent >= sum(clock.work)
    assert not trainer.callback_errors
    assert not boundary.slider.disabled
    assert (boundary.slider.min, boundary.slider.max) == (1, epochs)
    assert boundary.shown is boundary.stored[epochs]  # the final frame is kept as the last epoch's
    assert close_to(boundary.stored[epochs].codes, p1_codes(boundary, trainer.model, 24))
    for epoch in reversed(expected[:-1]):
        boundary.slider.value = epoch
        shown = boundary.shown
        assert shown is boundary.stored[epoch] and boundary.caption == f"epoch {epoch}"
        assert shown.codes.shape == (24, 24)  # evaluated when shown, at the view's resolution
        assert close_to(shown.codes, grids[epoch])  # the grid of the model as it was at that epoch's end
        assert np.array_equal(boundary.field_image, boundary.palette[shown.codes])
    assert calls[0] == len(expected)  # each kept epoch was evaluated once, when first shown
    boundary.slider.value = expected[0]
    assert calls[0] == len(expected)
    assert not np.array_equal(boundary.stored[expected[0]].codes, boundary.stored[expected[-2]].codes)
    assert trainer.model.training and torch.is_grad_enabled()
    boundary.close()


class Uncopyable(nn.Module):
    """A network holding a generator: deepcopy refuses it, so its epochs cannot be kept as weights."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()
        self.source = (n for n in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("make_model", [Uncopyable, lambda: mlp(hidden=512)], ids=["uncopyable", "too large to keep"])
def test_epochs_of_a_model_that_cannot_be_kept_as_weights_are_evaluated_when_kept(make_model, monkeypatch):
    from widgets.views import model_replica

    monkeypatch.setattr(model_replica, "MAX_KEPT_BYTES", 8 * 2**20)  # 64 copies of mlp(hidden=512)'s 1 MiB pass it
    trainer, x, y = spiral_trainer(n=80, batch_size=40, make_model=make_model)
    clock = FinalFramesOnly()
    boundary = DecisionBoundary(trainer, x, y, resolution=24, stored_resolution=12, clock=clock)
    grids = {}
    trainer.on("epoch", lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 12)))
    calls = count_model_calls(trainer.model)
    trainer.fit(4)
    assert boundary.epochs == [1, 2, 3, 4]
    assert calls[0] == 5  # every epoch evaluated when kept, and epoch 4 again at full resolution by the final frame
    assert not trainer.callback_errors
    for epoch in (1, 2, 3):
        boundary.slider.value = epoch
        assert boundary.shown.codes.shape == (12, 12) and close_to(boundary.shown.codes, grids[epoch])
    assert calls[0] == 5
    boundary.close()


def test_a_kept_epoch_runs_with_the_modules_it_was_trained_with():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=24, clock=FinalFramesOnly())
    trainer.fit(2)
    relu_grid = p1_codes(boundary, trainer.model, 24)
    trainer.fit(1)  # epoch 3, kept as weights
    trainer.model[1] = nn.Tanh()  # the learner swaps an activation; the weights keep their names and shapes
    tanh_before = p1_codes(boundary, trainer.model, 24)
    trainer.fit(2)
    boundary.slider.value = 2
    assert close_to(boundary.shown.codes, relu_grid)
    boundary.slider.value = 4
    assert boundary.caption == "epoch 4" and not trainer.callback_errors
    boundary.slider.value = 3
    assert not close_to(boundary.shown.codes, tanh_before)  # epoch 3 ran with ReLU, as it was trained
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
        grids[epoch] = p1_codes(boundary, model, 20)
        assert len(boundary.epochs) <= 4 and epoch in boundary.epochs and boundary.slider.value == epoch
    kept = boundary.epochs
    assert kept[0] == 1 and kept[-1] == 20 and len(kept) >= 3  # the first and the newest
    gaps = np.diff(kept[1:-1])
    assert len(set(gaps)) <= 1 and kept[-1] - kept[-2] <= kept[1]  # evenly spaced in between
    assert boundary.stored[20].codes.shape == (20, 20)
    assert all(close_to(boundary.stored[epoch].codes, grids[epoch]) for epoch in kept)
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


class NoisyNet(nn.Module):
    """Draws random numbers in every call, eval mode included (dropout forced on, noise added)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.dropout(torch.relu(self.hidden(x)), 0.5, training=True)
        return self.out(hidden + 0.01 * torch.randn_like(hidden))


def test_a_view_never_changes_a_training_run():
    def train(with_view: bool) -> dict[str, torch.Tensor]:
        trainer, x, y = spiral_trainer(n=80, batch_size=20, make_model=NoisyNet)
        if with_view:
            boundary = DecisionBoundary(trainer, x, y, resolution=16, clock=FrameClock(time_fn=FrozenTime()))
        trainer.fit(4)
        if with_view:
            assert boundary.epochs == [1, 2, 3, 4] and boundary.frames_drawn > 4  # the view did call the model
        return trainer.model.state_dict()

    without, with_view = train(False), train(True)
    assert all(torch.equal(without[name], with_view[name]) for name in without)


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
    assert single.outputs == 1 and not single.regression
    assert list(single.shown.predicted) == [0, 1, 0, 1]
    assert single.misclassified.tolist() == [False, False, True, False]  # the point at x = -1 labelled 1
    assert single.shown.codes[10, 0] < 127 < single.shown.codes[10, 20]  # the value grows left to right


def test_a_one_output_model_fitted_to_values_shows_them():
    torch.manual_seed(6)
    x = torch.rand(120, 2) * 4 - 2
    target = x[:, 0] * 2.0  # a plane rising left to right
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    loader = DataLoader(TensorDataset(x, target[:, None]), batch_size=30, shuffle=True)
    trainer = Trainer(model, nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=0.05), loader, verbose=False)
    trainer.fit(40)
    boundary = DecisionBoundary(trainer, x, target)  # float targets for 1 output: a regression, not refused
    assert boundary.regression and boundary.shown.predicted.dtype.kind == "f"
    assert not boundary.misclassified.any()  # no classes, nothing to cross out
    assert boundary.caption.startswith("epoch 40") and "±" in boundary.caption
    low, high = x[:, 0].argmin().item(), x[:, 0].argmax().item()
    red_low, _, blue_low = pixel(boundary, x[low].tolist())
    red_high, _, blue_high = pixel(boundary, x[high].tolist())
    assert blue_low > red_low + 60 and red_high > blue_high + 60  # points coloured by their value: low blue, high red
    boundary.points_toggle.value = False
    field_low, field_high = pixel(boundary, [-1.8, 0.0]), pixel(boundary, [1.8, 0.0])
    assert field_low[2] > field_low[0] and field_high[0] > field_high[2]  # and so is the field under them


def test_a_model_ending_in_softmax_is_read_as_probabilities():
    torch.manual_seed(5)
    x, y = spirals(50, seed=7)
    logits = mlp(hidden=8)
    with_softmax = nn.Sequential(logits, nn.Softmax(dim=1))
    from_logits = DecisionBoundary(logits, x, y, resolution=12).shown.codes
    from_probabilities = DecisionBoundary(with_softmax, x, y, resolution=12).shown.codes
    assert close_to(from_logits, from_probabilities)


def test_redraws_on_the_clock_while_training():
    trainer, x, y = spiral_trainer(n=160, batch_size=20)  # 8 steps per epoch
    now = [0.0]
    trainer.on("step", lambda record: now.__setitem__(0, now[0] + 0.05))  # 50 ms a step: 0.4 s epochs
    boundary = DecisionBoundary(trainer, x, y, resolution=16, clock=FrameClock(max_fps=10, budget=1.0, time_fn=lambda: now[0]))
    drawn = boundary.frames_drawn
    trainer.fit(2)
    # 16 steps over 0.8 s of the fake clock: a frame per 0.1 s tick (every second step) and the epoch frames
    assert 8 <= boundary.frames_drawn - drawn <= 8 + 2 + 1
    assert boundary.epochs == [1, 2] and not boundary.stale


def test_short_epochs_draw_only_their_epoch_frames():
    trainer, x, y = spiral_trainer(n=160, batch_size=20)  # 8 steps per epoch
    now = [0.0]
    trainer.on("step", lambda record: now.__setitem__(0, now[0] + 0.001))  # 8 ms epochs: faster than the clock
    boundary = DecisionBoundary(trainer, x, y, resolution=16, clock=FrameClock(max_fps=10, budget=1.0, time_fn=lambda: now[0]))
    drawn = boundary.frames_drawn
    trainer.fit(5)
    # the first epoch's first step opens a tick; after that only epoch frames, each one kept for the slider
    assert boundary.frames_drawn - drawn == 1 + 5
    assert boundary.epochs == [1, 2, 3, 4, 5]


def test_a_double_precision_model_gets_a_double_grid():
    x, y = spirals(30, seed=8)
    model = mlp(hidden=4).double()
    dtypes = []
    model.register_forward_pre_hook(lambda module, args: dtypes.append(args[0].dtype))
    boundary = DecisionBoundary(model, x, y, resolution=6)
    assert dtypes and set(dtypes) == {torch.float64} and boundary.shown.codes.shape == (6, 6)


def test_repr_css_and_display():
    x, y = spirals(20, seed=6)
    boundary = DecisionBoundary(mlp(hidden=4), x, y, resolution=8)
    assert repr(boundary) == "DecisionBoundary()"
    assert "lt-boundary" in boundary.widget.get_state()["_dom_classes"]
    assert "lt-boundary-slider" in boundary.slider.get_state()["_dom_classes"]
    assert boundary._repr_mimebundle_()[0]["text/plain"] == "DecisionBoundary()"
    snapshot = boundary.snapshot()
    assert snapshot.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("classes", [2, 3])
def test_text_stays_inside_the_image_at_the_smallest_size(classes):
    x = torch.tensor([[-10.5, -200.0], [10.5, 200.0], [0.0, 0.0]])
    boundary = DecisionBoundary(mlp(outputs=classes, hidden=4), x, torch.tensor([0, 1, classes - 1]), resolution=8,
                                figsize=MIN_FIGSIZE)
    boundary.update(epoch=123)  # with a caption
    figure = boundary.frame.figure
    axes = figure.axes[0]
    renderer = boundary.frame.canvas.get_renderer()
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text() and t.axes is axes
             and t not in axes.get_xticklabels() + axes.get_yticklabels()]
    assert {t.get_text() for t in texts} >= {boundary.caption, axes.get_title()}
    boxes = [t.get_window_extent(renderer) for t in texts]
    boxes += [axes.xaxis.get_tightbbox(renderer), axes.yaxis.get_tightbbox(renderer)]  # the tick labels drawn
    width, height = boundary.frame.canvas.get_width_height()
    for box in boxes:
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, box
    with pytest.raises(ValueError, match=r"figsize must be at least \(3.0, 3.0\)"):
        DecisionBoundary(mlp(hidden=4), x, torch.tensor([0, 1, 1]), figsize=(2.9, 4.0))


def test_class_colours_come_from_the_shared_style():
    x = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0]])
    for classes in (2, 3):
        model = nn.Linear(2, classes)  # classifies the three points right: no cross over them
        with torch.no_grad():
            model.weight.copy_(torch.tensor([[-1.0, -1.0], [1.0, 0.5], [1.0, -1.0]])[:classes])
            model.bias.zero_()
        labels = [0, 1, classes - 1]
        boundary = DecisionBoundary(model, x, torch.tensor(labels), resolution=8)
        assert boundary.class_colours == class_colours(classes) and not boundary.misclassified.any()
        for point, cls in zip(x.tolist(), labels):
            expected = np.round(np.array(class_colours(classes)[cls]) * 255)
            assert np.abs(pixel(boundary, point) - expected).max() <= 12  # the point's centre, in its class colour


def test_in_a_dashboard_the_slider_reads_the_epoch_the_plot_shows():
    trainer, x, y = spiral_trainer(n=120, batch_size=40)
    dashboard = Dashboard(trainer, x, y, inspector=False)
    boundary = dashboard.boundary
    shown = []
    trainer.on("step", lambda record: shown.append((boundary.caption, boundary.slider.value)))
    trainer.fit(20)
    shown.append((boundary.caption, boundary.slider.value))
    at_epochs = [(caption, value) for caption, value in shown if caption.startswith("epoch ")]
    assert at_epochs and all(int(caption.split()[1].rstrip(",")) == value for caption, value in at_epochs)
    assert shown[-1] == ("epoch 20", 20)
    assert boundary.epochs[0] == 1 and boundary.epochs[-1] == 20


def test_a_long_fast_run_keeps_at_least_fifty_spread_epochs():
    torch.manual_seed(0)
    x, y = spirals(64, seed=9)
    model = mlp(hidden=8)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=64), verbose=False)
    dashboard = Dashboard(trainer, x, y, inspector=False)
    trainer.fit(150)
    epochs = dashboard.boundary.epochs
    assert len(epochs) >= 50 and epochs[0] == 1 and epochs[-1] == 150
    assert max(np.diff(epochs)) <= 150 // 50  # spread evenly over the whole run
    assert dashboard.boundary.slider.value == 150


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
    with pytest.raises(ValueError, match="stored_resolution must be an int from 2 to 50"):
        DecisionBoundary(trainer, x, y, resolution=50, stored_resolution=60)
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


class PairNet(nn.Module):
    """A model whose forward takes a tuple (x1, x2), not one [N, 2] tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        first, second = pair
        return self.layer(torch.stack([first, second], dim=1))


def test_refusals_say_what_really_failed():
    x, y = spirals(20, seed=1)
    with pytest.raises(ValueError) as refused:
        DecisionBoundary(PairNet(), x, y)
    message = str(refused.value)
    assert "takes 2 input features" in message and "expects" not in message  # no contradiction
    assert "ValueError: not enough values to unpack" in message and "a tuple" in message
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    conv = r"its first layer is Conv2d\(1, 4, kernel_size=\(3, 3\).*\), which does not take \[N, 2\]"
    with pytest.raises(ValueError, match=conv):
        DecisionBoundary(cnn, x, y)


def test_lazy_layers_are_refused_without_drawing_random_numbers():
    x, y = spirals(20, seed=1)
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 2))
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match=r"0 \(LazyLinear\) is not initialized yet: run the model once"):
        DecisionBoundary(model, x, y)
    assert torch.equal(torch.get_rng_state(), state)
    assert model[0].has_uninitialized_params()  # the view initialized nothing
    model(x)
    assert DecisionBoundary(model, x, y, resolution=8).shown is not None  # once it ran, it is welcome
