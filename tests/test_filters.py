"""FilterGrid: a convolution's kernels as a grid of small pictures, drawn live on the clock, never changing training."""

import numpy as np
import pytest
import torch
from frames import FakeTime, decode
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import FilterGrid, Trainer
from widgets.views.clock import FrameClock
from widgets.views.frame import live_figure_count
from widgets.views.kernel_mosaic import plan_mosaic, render_mosaic
from widgets.views.style import GRID_GAP_COLOUR, SIGNED_COLOURMAP

EVENTS = ("step", "epoch", "state", "reset", "backward")
GAP = np.round(np.array(to_rgb(GRID_GAP_COLOUR)) * 255)


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 5), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 2))


def trainer_of(model: nn.Module, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    x = torch.randn(128, 1, 12, 12)
    y = (x[:, 0, :, :6].mean(dim=(1, 2)) > x[:, 0, :, 6:].mean(dim=(1, 2))).long()  # brighter left half or not
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-2),
                   DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), device="cpu", verbose=False)


def is_gap(pixels: np.ndarray) -> np.ndarray:
    return np.abs(pixels - GAP).max(axis=-1) <= 2


def runs(mask: np.ndarray) -> int:
    """Number of runs of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    return int(np.count_nonzero(padded[1:] & ~padded[:-1]))


def counted_grid(view: FilterGrid) -> tuple[int, int]:
    """(rows, columns) of cells in the picture: runs of lines that are not all gap colour, inside the grid box."""
    left, top, right, bottom = view.grid_box
    grid = decode(view.snapshot().data)[top:bottom, left:right]
    assert is_gap(grid[0]).all() and is_gap(grid[-1]).all() and is_gap(grid[:, 0]).all() and is_gap(grid[:, -1]).all()
    return runs(~is_gap(grid).all(axis=1)), runs(~is_gap(grid).all(axis=0))


def test_the_grid_has_one_cell_per_kernel_in_the_picture():
    trainer = trainer_of(small_cnn())
    first = FilterGrid(trainer)  # 8 filters of one input channel: one row of 8
    second = FilterGrid(trainer, "2")  # 4 output x 8 input channels: a row per output channel
    wrapped = FilterGrid(trainer, trainer.model[0], columns=3)
    assert first.layer_name == "0" and first.cells == 8 and counted_grid(first) == (1, 8)
    assert second.layer_name == "2" and second.cells == 32 and counted_grid(second) == (4, 8)
    assert counted_grid(wrapped) == (3, 3)  # 8 cells in rows of 3: the last slot stays empty
    assert second.kernels.shape == (4, 8, 5, 5)
    for view in (first, second, wrapped):
        view.close()


def test_cells_are_coloured_by_the_sign_and_size_of_the_weights():
    model = small_cnn()
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[0] = 0.5  # strongly positive
        model[0].weight[1] = -0.5  # strongly negative
        model[0].weight[3] = 0.1  # weakly positive
    trainer = trainer_of(model)
    view = FilterGrid(trainer)
    kernel_view = FilterGrid(trainer, scale="kernel")
    scale = colormaps[SIGNED_COLOURMAP]

    def centre_colour(grid: FilterGrid, cell: int) -> np.ndarray:
        top, left = grid.layout.origin(cell)
        height, width = grid.layout.cell_size
        image = decode(grid.snapshot().data)
        return image[grid.grid_box[1] + top + height // 2, grid.grid_box[0] + left + width // 2]

    def near(colour: np.ndarray, position: float) -> bool:
        return bool(np.abs(colour - np.round(np.array(scale(position)[:3]) * 255)).max() <= 3)

    assert near(centre_colour(view, 0), 1.0) and near(centre_colour(view, 1), 0.0) and near(centre_colour(view, 2), 0.5)
    assert near(centre_colour(view, 3), 0.6)  # 0.1 on a scale up to 0.5
    assert np.all(view.limits == 0.5)
    assert near(centre_colour(kernel_view, 3), 1.0)  # on its own scale the weak kernel is as red as the strong one
    assert kernel_view.limits[0] == 0.5 and kernel_view.limits[3] == pytest.approx(0.1)
    assert kernel_view.limits[2] == 1.0  # an all-zero kernel: a limit of 1, drawn white-ish
    view.close()
    kernel_view.close()


def test_frames_follow_training_on_the_clock_and_close_unsubscribes():
    now = FakeTime()
    trainer = trainer_of(small_cnn())
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.05))
    before = {event: trainer.listeners(event) for event in EVENTS}
    figures = live_figure_count()
    view = FilterGrid(trainer, clock=FrameClock(max_fps=10, budget=1.0, time_fn=now))
    frames = [view.frame.png]
    for _ in range(3):
        trainer.run_epoch()  # 8 steps of 50 ms
        frames.append(view.frame.png)
    assert 3 <= view.frames_drawn - 1 < 24  # throttled: about every second step, plus the epochs' frames
    assert len(set(frames)) == 4  # every epoch changed the picture
    pictures = [decode(png) for png in frames]
    assert all((a != b).any() for a, b in zip(pictures, pictures[1:]))
    assert np.array_equal(view.kernels, trainer.model[0].weight.detach().numpy())  # the last frame is up to date
    view.close()
    assert {event: trainer.listeners(event) for event in EVENTS} == before
    assert live_figure_count() == figures
    trainer.step()  # training goes on without the view
    assert view.frames_drawn - 1 < 24


def test_a_reset_redraws_the_initial_filters():
    trainer = trainer_of(small_cnn())
    view = FilterGrid(trainer)
    initial = view.kernels
    trainer.fit(2)
    assert not np.array_equal(view.kernels, initial)
    trainer.reset()
    assert np.array_equal(view.kernels, initial)
    view.close()


def test_the_view_does_not_change_training():
    outcomes = []
    for with_view in (True, False):
        torch.manual_seed(4)
        trainer = trainer_of(small_cnn(), seed=4)
        view = FilterGrid(trainer, scale="kernel") if with_view else None
        trainer.fit(2)
        if view is not None:
            view.snapshot()
            view.close()
        outcomes.append(([t.clone() for t in trainer.model.state_dict().values()],
                         trainer.history.step_column("loss").copy()))
    (watched, watched_losses), (plain, plain_losses) = outcomes
    assert all(torch.equal(a, b) for a, b in zip(watched, plain, strict=True))
    assert np.array_equal(watched_losses, plain_losses)


class Wide(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(64, 32, 1)
        self.head = nn.Linear(4, 2)


@pytest.mark.parametrize(("make", "arguments", "error", "message"), [
    (lambda: nn.Linear(4, 2), {}, TypeError, "expects a Trainer, got Linear"),
    (lambda: trainer_of(nn.Sequential(nn.Flatten(), nn.Linear(144, 2))), {}, ValueError, r"nn\.Conv2d layer; .*Linear"),
    (lambda: trainer_of(small_cnn()), {"layer": "7"}, ValueError, r"no layer named '7'; .*\['0', '2'\]"),
    (lambda: trainer_of(small_cnn()), {"layer": "5"}, TypeError, "layer '5' is a Linear"),
    (lambda: trainer_of(small_cnn()), {"layer": nn.Conv2d(1, 2, 3)}, ValueError, "not a module of the trainer's model"),
    (lambda: trainer_of(small_cnn()), {"layer": 0}, TypeError, "got int"),
    (lambda: trainer_of(small_cnn()), {"scale": "global"}, ValueError, r"scale must be one of .*'global'"),
    (lambda: trainer_of(small_cnn()), {"columns": 0}, ValueError, "columns must be None or an int of at least 1"),
    (lambda: trainer_of(small_cnn()), {"cell_pixels": True}, ValueError, "cell_pixels must be an int"),
    (lambda: trainer_of(small_cnn()), {"clock": 10}, TypeError, "clock must be a FrameClock"),
    (lambda: trainer_of(Wide()), {}, ValueError, "2,048 kernels .* at most 1,024"),
])
def test_bad_input_is_refused_before_anything_is_subscribed(make, arguments, error, message):
    target = make()
    before = {event: target.listeners(event) for event in EVENTS} if isinstance(target, Trainer) else None
    figures = live_figure_count()
    with pytest.raises(error, match=message):
        FilterGrid(target, **arguments)
    if before is not None:
        assert {event: target.listeners(event) for event in EVENTS} == before
    assert live_figure_count() == figures


def test_the_mosaic_lays_out_cells_and_marks_non_finite_weights():
    layout = plan_mosaic(3, 2, (3, 3), cell_pixels=12, gap=2)
    assert (layout.rows, layout.columns, layout.zoom, layout.cell_size) == (3, 2, 4, (12, 12))
    assert layout.size == (3 * 14 + 2, 2 * 14 + 2) and layout.origin(5) == (2 + 2 * 14, 2 + 14)
    kernels = np.zeros((6, 3, 3))
    kernels[5, 1, 1] = np.nan
    lut = np.tile(np.arange(256, dtype=np.uint8)[:, None], (1, 3))  # grey ramp: the code is the colour
    mosaic, limits = render_mosaic(kernels, layout, lut, (1, 2, 3), (250, 0, 0))
    assert mosaic.shape == (*layout.size, 3) and np.all(limits == 1.0)
    top, left = layout.origin(5)
    assert tuple(mosaic[top + 5, left + 5]) == (250, 0, 0)  # the NaN weight
    assert tuple(mosaic[top, left]) == (128, 128, 128)  # a zero weight: the middle of the table
    assert tuple(mosaic[0, 0]) == (1, 2, 3) and tuple(mosaic[top - 1, left]) == (1, 2, 3)  # frame and gaps
    with pytest.raises(ValueError, match=r"expected kernels of shape \[6, 3, 3\], got \[5, 3, 3\]"):
        render_mosaic(kernels[:5], layout, lut, (1, 2, 3), (250, 0, 0))
