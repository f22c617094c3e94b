"""FilterGrid: a convolution's kernels as colour codes sent to the page when they change, a still picture, bad
input.

What the page paints from these codes is tested in tests/browser/test_picture_mosaic.py.
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

from widgets import FilterGrid, Trainer
from widgets.views.filters import WEIGHTS_BUDGET
from widgets.views.kernel_mosaic import (
    GAP_COLOUR,
    NOT_FINITE,
    colour_codes,
    hex_rgb,
    paint_mosaic,
    plan_mosaic,
    signed_palette,
)
from widgets.views.pacer import Pacer

EVENTS = ("step", "epoch", "state", "reset", "backward")
GAP = np.array(hex_rgb(GAP_COLOUR))
SIGNED = colormaps["RdBu_r"]


def small_cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 5), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 2))


def trainer_of(model: nn.Module, seed: int = 0, lr: float = 1e-2) -> Trainer:
    torch.manual_seed(seed)
    x = torch.randn(128, 1, 12, 12)
    # brighter left half or not
    y = (x[:, 0, :, :6].mean(dim=(1, 2)) > x[:, 0, :, 6:].mean(dim=(1, 2))).long()
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr),
                   DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), device="cpu", verbose=False)


def sent_messages(view: FilterGrid) -> list[dict[str, tuple[dict, int]]]:
    """Every message the view's picture sends from now on: {channel: (its change description, its bytes)}."""
    messages = []
    send = view.picture.send

    def spy() -> bool:
        described, buffers = view.picture.changes()
        sent = send()
        if sent:
            messages.append({change["name"]: (change, len(buffer)) for change,
                             buffer in zip(described, buffers)})
        return sent

    view.picture.send = spy
    return messages


def is_gap(pixels: np.ndarray) -> np.ndarray:
    return np.abs(pixels - GAP).max(axis=-1) <= 2


def runs(mask: np.ndarray) -> int:
    """Number of runs of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    return int(np.count_nonzero(padded[1:] & ~padded[:-1]))


def counted_grid(view: FilterGrid) -> tuple[int, int]:
    """(rows, columns) of cells in the still: runs of lines that are not all gap colour, inside the grid
    box."""
    left, top, right, bottom = view.grid_box
    grid = decode(view.snapshot().data)[top:bottom, left:right]
    assert (
        is_gap(grid[0]).all()
        and is_gap(grid[-1]).all()
        and is_gap(grid[:, 0]).all()
        and is_gap(grid[:, -1]).all()
    )
    return runs(~is_gap(grid).all(axis=1)), runs(~is_gap(grid).all(axis=0))


def test_the_still_has_one_cell_per_kernel():
    trainer = trainer_of(small_cnn())
    first = FilterGrid(trainer)  # 8 filters of one input channel: one row of 8
    second = FilterGrid(trainer, "2")  # 4 output x 8 input channels: a row per output channel
    wrapped = FilterGrid(trainer, trainer.model[0], columns=3)
    assert first.layer_name == "0" and first.cells == 8 and counted_grid(first) == (1, 8)
    assert second.layer_name == "2" and second.cells == 32 and counted_grid(second) == (4, 8)
    assert counted_grid(wrapped) == (3, 3)  # 8 cells in rows of 3: the last slot stays empty
    assert second.kernels.shape == (4, 8, 5, 5)
    image = decode(first.snapshot().data)
    assert image.shape[:2] == (first.picture.height, first.picture.width)  # the still is the page's size
    for view in (first, second, wrapped):
        view.close()


def test_the_still_colours_cells_by_the_sign_and_size_of_the_weights():
    model = small_cnn()
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[0] = 0.5  # strongly positive
        model[0].weight[1] = -0.5  # strongly negative
        model[0].weight[3] = 0.1  # weakly positive
    trainer = trainer_of(model)
    view = FilterGrid(trainer)
    kernel_view = FilterGrid(trainer, scale="kernel")

    def centre_colour(grid: FilterGrid, cell: int) -> np.ndarray:
        top, left = grid.layout.origin(cell)
        height, width = grid.layout.cell_size
        image = decode(grid.snapshot().data)
        return image[grid.grid_box[1] + top + height // 2, grid.grid_box[0] + left + width // 2]

    def near(colour: np.ndarray, position: float) -> bool:
        return bool(np.abs(colour - np.round(np.array(SIGNED(position)[:3]) * 255)).max() <= 4)

    assert near(centre_colour(view, 0), 1.0) and near(centre_colour(view, 1),
                                                      0.0) and near(centre_colour(view, 2), 0.5)
    assert near(centre_colour(view, 3), 0.6)  # 0.1 on a scale up to 0.5
    assert np.all(view.limits == 0.5)
    # on its own scale the weak kernel is as red as the strong one
    assert near(centre_colour(kernel_view, 3), 1.0)
    assert kernel_view.limits[0] == 0.5 and kernel_view.limits[3] == pytest.approx(0.1)
    assert kernel_view.limits[2] == 1.0  # an all-zero kernel: a limit of 1, drawn white-ish
    view.close()
    kernel_view.close()


def test_a_message_carries_codes_limits_step_and_weights_only_when_the_weights_changed():
    trainer = trainer_of(small_cnn())
    view = FilterGrid(trainer, pacer=Pacer(fps=0.001))  # sends only when told to, or when training stops
    # the palette went with the first message, and is stored
    assert view.picture.data["palette"]["shape"] == [256, 3]
    messages = sent_messages(view)
    view.update()
    assert messages == [], "weights unchanged: nothing to send"
    trainer.step()  # training stopped after one step: the changed weights go
    (message,) = messages
    assert {name: change["op"] for name, (change, _) in message.items()} == {
        "codes": "set", "limits": "set", "step": "set", "weights": "set"}
    sizes = {name: size for name, (_, size) in message.items()}
    assert sizes == {"codes": 72, "limits": 8 * 4, "step": 8,
                     "weights": 72 * 4}, "8 filters of 3 x 3: 400 bytes"
    assert message["codes"][0]["dtype"] == "uint8" and message["codes"][0]["shape"] == [8, 3, 3]
    weights = trainer.model[0].weight.detach().numpy()
    assert np.array_equal(view.picture.channel("weights").reshape(weights.shape), weights)
    codes, limits = colour_codes(weights.reshape(8, 3, 3))
    assert np.array_equal(view.picture.channel("codes"),
                          codes) and np.allclose(view.picture.channel("limits"), limits)
    assert view.picture.channel("step")[0] == 1 and np.array_equal(view.kernels, weights)
    assert view.picture.data["codes"]["shape"] == [8, 3, 3]  # stored when training stopped


def test_weights_past_the_budget_are_not_sent_the_page_reads_them_from_the_colours():
    model = nn.Sequential(nn.Conv2d(32, 32, 5), nn.Flatten(), nn.Linear(32 * 8 * 8, 2))
    trainer = trainer_of(nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), *model))
    view = FilterGrid(trainer, "2")
    assert WEIGHTS_BUDGET < 32 * 32 * 25
    assert view.picture.channel("weights") is None and view.picture.channel("codes").shape == (1024, 5, 5)
    assert view.picture.options["cells"] == 1024 and view.picture.options["in_channels"] == 32


def test_rounds_follow_training_on_the_pacer_and_close_unsubscribes():
    now = FakeTime()
    trainer = trainer_of(small_cnn())
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.05))
    before = {event: trainer.listeners(event) for event in EVENTS}
    view = FilterGrid(trainer, pacer=Pacer(fps=10, pause=0, time_fn=now))
    messages = sent_messages(view)
    for _ in range(3):
        trainer.run_epoch()  # 8 steps of 50 ms
    # throttled: about every second step, and once when each epoch's run stopped
    assert 3 <= len(messages) < 24
    assert all(set(message) == {"codes", "limits", "step", "weights"} for message in messages)
    steps = [message["step"][0]["shape"] for message in messages]
    assert steps == [[1]] * len(messages)
    # the last round is up to date
    assert np.array_equal(view.kernels, trainer.model[0].weight.detach().numpy())
    view.close()
    assert {event: trainer.listeners(event) for event in EVENTS} == before
    trainer.step()  # training goes on without the view
    assert len(messages) < 24 and not np.array_equal(view.kernels, trainer.model[0].weight.detach().numpy())


def test_a_reset_sends_the_initial_filters():
    trainer = trainer_of(small_cnn())
    view = FilterGrid(trainer)
    initial = view.kernels
    trainer.fit(2)
    assert not np.array_equal(view.kernels, initial)
    trainer.reset()
    assert np.array_equal(view.kernels, initial) and view.picture.channel("step")[0] == 0
    view.close()


def test_a_recording_keeps_one_still_per_epoch():
    trainer = trainer_of(small_cnn())
    view = FilterGrid(trainer)
    view.start_recording()
    trainer.fit(2)
    view.stop_recording()
    pictures = [decode(png) for png in view.recorded_pngs()]
    assert len(pictures) == 3 and all((a != b).any() for a, b in zip(pictures, pictures[1:]))
    assert view.recording.nbytes == 3 * (72 + 8 * 8), "a frame keeps 72 codes and 8 float64 limits"


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
    (lambda: trainer_of(nn.Sequential(nn.Flatten(), nn.Linear(144, 2))), {}, ValueError,
     r"nn\.Conv2d layer; .*Linear"),
    (lambda: trainer_of(small_cnn()), {"layer": "7"}, ValueError, r"no layer named '7'; .*\['0', '2'\]"),
    (lambda: trainer_of(small_cnn()), {"layer": "5"}, TypeError, "layer '5' is a Linear"),
    (lambda: trainer_of(small_cnn()), {"layer": nn.Conv2d(1, 2, 3)}, ValueError,
     "not a module of the trainer's model"),
    (lambda: trainer_of(small_cnn()), {"layer": 0}, TypeError, "got int"),
    (lambda: trainer_of(small_cnn()), {"scale": "global"}, ValueError, r"scale must be one of .*'global'"),
    (lambda: trainer_of(small_cnn()), {"columns": 0}, ValueError,
     "columns must be None or an int of at least 1"),
    (lambda: trainer_of(small_cnn()), {"cell_pixels": True}, ValueError, "cell_pixels must be an int"),
    (lambda: trainer_of(small_cnn()), {"pacer": 10}, TypeError,
     "pacer must be a widgets.views.Pacer or None, got int"),
    (lambda: trainer_of(Wide()), {}, ValueError, "2,048 kernels .* at most 1,024"),
])
def test_bad_input_is_refused_before_anything_is_subscribed(make, arguments, error, message):
    target = make()
    before = {event: target.listeners(event) for event in EVENTS} if isinstance(target, Trainer) else None
    with pytest.raises(error, match=message):
        FilterGrid(target, **arguments)
    if before is not None:
        assert {event: target.listeners(event) for event in EVENTS} == before


def test_colour_codes_put_zero_in_the_middle_and_mark_non_finite_weights():
    kernels = np.array([[[-2.0, 0.0, 1.0]], [[np.nan, np.inf, 0.5]]])
    codes, limits = colour_codes(kernels)
    assert codes.dtype == np.uint8 and codes.tolist() == [[[0, 127, 190]], [[NOT_FINITE, NOT_FINITE, 159]]]
    assert limits.tolist() == [2.0, 2.0]
    codes, limits = colour_codes(kernels, "kernel")
    assert codes[1].tolist() == [[NOT_FINITE, NOT_FINITE, 254]] and limits.tolist() == [2.0, 0.5]
    with pytest.raises(ValueError, match=r"scale must be one of \('layer', 'kernel'\), got 'all'"):
        colour_codes(kernels, "all")
    with pytest.raises(ValueError, match=r"expected kernels of shape \[cells, kh, kw\] .* got \[3\]"):
        colour_codes(np.zeros(3))


def test_the_palette_is_matplotlibs_signed_scale_and_the_mosaic_lays_out_cells():
    palette = signed_palette()
    reference = np.round(SIGNED(np.linspace(0, 1, 255))[:, :3] * 255)
    assert palette.shape == (256, 3) and np.abs(palette[:255] - reference).max() <= 3
    assert tuple(palette[NOT_FINITE]) == (0x22, 0x22, 0x22)
    layout = plan_mosaic(3, 2, (3, 3), cell_pixels=12, gap=2)
    assert (layout.rows, layout.columns, layout.zoom, layout.cell_size) == (3, 2, 4, (12, 12))
    assert layout.size == (3 * 14 + 2, 2 * 14 + 2) and layout.origin(5) == (2 + 2 * 14, 2 + 14)
    kernels = np.zeros((6, 3, 3))
    kernels[5, 1, 1] = np.nan
    grey = np.tile(np.arange(256, dtype=np.uint8)[:, None], (1, 3))  # grey ramp: the code is the colour
    codes, limits = colour_codes(kernels, "layer")
    mosaic = paint_mosaic(codes, layout, grey, (1, 2, 3))
    assert mosaic.shape == (*layout.size, 3) and np.all(limits == 1.0)
    top, left = layout.origin(5)
    assert tuple(mosaic[top + 5, left + 5]) == (255, 255, 255)  # the NaN weight: code 255
    assert tuple(mosaic[top, left]) == (127, 127, 127)  # a zero weight: the middle code
    assert tuple(mosaic[0, 0]) == (1, 2, 3) and tuple(mosaic[top - 1, left]) == (1, 2, 3)  # frame and gaps


@pytest.mark.slow
def test_training_with_the_view_loads_no_matplotlib_until_a_still_is_asked_for():
    script = """
import sys, torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from widgets import FilterGrid, Trainer
model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
data = TensorDataset(torch.randn(32, 1, 6, 6), torch.randint(0, 2, (32,)))
trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  DataLoader(data, batch_size=8), verbose=False)
grid = FilterGrid(trainer)
trainer.fit(1)
print("matplotlib" in sys.modules, end=" ")
grid.snapshot_png()
print("matplotlib" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
