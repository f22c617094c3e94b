"""LossCurve: live frames from a real Trainer, hand feeding, what the frame shows (colours, layout, axes), bad input.

The numbers behind the lines (decimation, smoothing, axis ends) are tested in test_curve_data.py.
"""

import asyncio
import gc
import math

import numpy as np
import pytest
import torch
from frames import FakeTime, decode
from IPython.core.formatters import DisplayFormatter
from matplotlib.text import Text
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spirals
from widgets.training.history import STEP_COLUMNS, History
from widgets.training.metrics import accuracy
from widgets.views.clock import FrameClock
from widgets.views.frame import live_figure_count
from widgets.views.loss_curve import DEFAULT_FIGSIZE, MIN_FIGSIZE, LossCurve
from widgets.views.style import SPLIT_COLOURS, STEP_ALPHA


def make_trainer(batches: int = 8, batch_size: int = 16, metrics: bool = True, valid: bool = True) -> Trainer:
    torch.manual_seed(0)
    x, y = spirals(batches * batch_size, seed=1)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    valid_loader = DataLoader(TensorDataset(x, y), batch_size=64) if valid else None
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    return Trainer(
        model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01), loader,
        valid_loader=valid_loader, metrics={"acc": accuracy} if metrics else None, device="cpu", verbose=False,
    )


# --- live frames from a real trainer ---------------------------------------------------------

def test_frames_follow_training_and_the_final_frame_is_current():
    trainer = make_trainer()
    curve = LossCurve(trainer, clock=FrameClock(time_fn=FakeTime()))  # frames: each epoch's (and a final one)
    empty = curve.frame.png
    trainer.fit(1)
    after_one = curve.frame.png
    assert after_one != empty
    trainer.fit(3)
    assert curve.frame.png != after_one
    assert not curve.stale
    final = curve.frame.png
    curve.redraw()  # drawing the same data again gives the same frame: the last one was current
    assert curve.frame.png == final
    # the metric panel is there and shows the accuracy the trainer logged
    assert curve.metric_limits == (0.0, 1.0) and {"train_acc", "valid_acc"} <= set(curve.series)
    _, ys = curve.series["valid_acc"]
    assert len(ys) == 4 and ys[-1] == pytest.approx(trainer.history.epochs[-1]["valid_acc"])
    curve.close()


def test_a_burst_of_steps_is_throttled_to_the_clock():
    now = FakeTime()
    trainer = make_trainer(batches=1000, batch_size=2, metrics=False, valid=False)
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.001))  # each step "takes" 1 ms
    curve = LossCurve(trainer, clock=FrameClock(max_fps=10, time_fn=now))
    drawn_before = curve.frames_drawn
    trainer.fit(1)  # 1,000 steps in one epoch: one second on the fake clock
    drawn = curve.frames_drawn - drawn_before
    # at most one frame per 0.1 s tick (11 ticks in [0, 1 s]), the epoch's frame and a final one
    assert 5 <= drawn <= 11 + 2
    assert not curve.stale and len(curve.history) == 1000
    assert curve.series["step_loss"][0][-1] == 1000


def test_frames_follow_play_and_a_pause_draws_the_final_frame():
    now = FakeTime()
    trainer = make_trainer(metrics=False, valid=False)
    trainer.on("step", lambda record: setattr(now, "t", now.t + 0.03))
    curve = LossCurve(trainer, clock=FrameClock(max_fps=10, time_fn=now))

    async def play_then_pause() -> None:
        task = trainer.play()
        while trainer.global_step < 13:
            await asyncio.sleep(0)
        trainer.pause()
        await task

    drawn_before = curve.frames_drawn
    asyncio.run(play_then_pause())
    assert trainer.state == "paused"
    assert curve.frames_drawn - drawn_before >= 3  # live frames on the clock while playing
    assert not curve.stale and curve.series["step_loss"][0][-1] == trainer.global_step


def test_reset_clears_the_curve():
    trainer = make_trainer(metrics=False)
    curve = LossCurve(trainer)
    trainer.fit(1)
    trainer.reset()
    assert len(curve.series["step_loss"][0]) == 0 and len(curve.series["train_loss"][0]) == 0 and not curve.stale
    trainer.fit(1)
    assert curve.series["step_loss"][0][-1] == trainer.global_step


def test_figure_count_stays_constant_over_a_long_run():
    gc.collect()
    before = live_figure_count()
    curve = LossCurve(clock=FrameClock(time_fn=FakeTime()))  # frames only where the test draws them
    assert live_figure_count() == before + 1
    rng = np.random.default_rng(6)
    for step in range(1, 1001):
        curve.log(step, float(rng.random()))
        if step % 50 == 0:
            curve.log_epoch(step // 50, train_loss=0.5, valid_loss=0.6, valid_acc=0.7)  # draws the epoch's frame
    curve.log_toggle.value = True
    curve.x_toggle.value = "epochs"
    gc.collect()
    assert live_figure_count() == before + 1
    curve.close()
    del curve
    gc.collect()
    assert live_figure_count() == before


# --- hand feeding ---------------------------------------------------------------------------

def test_fed_by_hand_with_tensors_and_epochs_and_flush():
    now = FakeTime()
    curve = LossCurve(clock=FrameClock(time_fn=now))
    for step in range(1, 51):
        curve.log(step, torch.tensor(2.0 / step))
    assert curve.stale  # the fake clock never moved: only the first frame of the tick was drawn
    curve.flush()
    assert not curve.stale
    assert list(curve.series["step_loss"][0]) == list(range(1, 51))
    curve.log_epoch(1, train_loss=torch.tensor(0.5), acc=0.9)
    assert curve.history.epochs[-1] == {"epoch": 1, "step": 50, "train_loss": 0.5, "acc": 0.9}
    assert "acc" in curve.series and curve.metric_limits is not None
    curve.clear()
    assert len(curve.history) == 0 and len(curve.series["step_loss"][0]) == 0


def test_log_scale_and_epoch_axis_toggles_redraw():
    curve = LossCurve()
    for step in range(1, 201):
        curve.log(step, 10.0 ** (-step / 50), epoch=(step - 1) // 50 + 1)
        if step % 50 == 0:
            curve.log_epoch(step // 50, train_loss=10.0 ** (-step / 50))
    curve.flush()
    linear = curve.frame.png
    curve.log_toggle.value = True
    assert curve.loss_scale == "log" and curve.frame.png != linear
    low, high = curve.loss_limits
    assert 0 < low <= 1e-4 and high >= 1.0
    curve.x_toggle.value = "epochs"
    assert curve.frame.figure.axes[0].get_xlabel() == "epoch"
    assert curve.series["step_loss"][0][-1] == pytest.approx(4.0)
    assert 4.0 <= curve.x_limits[1] <= 5.0
    curve.log_toggle.value = False
    assert curve.loss_scale == "linear" and curve.loss_limits[0] == 0.0


def test_the_first_losses_choose_the_scale_and_limits_only_grow():
    curve = LossCurve(clock=FrameClock(time_fn=FakeTime()))
    for step in range(1, 21):
        curve.log(step, 0.002 + 0.0001 * step)  # a tiny loss, far below the empty curve's 0..1
    curve.flush()
    low, high = curve.loss_limits
    assert low <= 0.0021 and 0.004 <= high <= 0.01
    curve.log(21, 3.0)
    curve.flush()
    assert curve.loss_limits[1] >= 3.0
    curve.log(22, 0.001)
    curve.flush()
    assert curve.loss_limits[1] >= 3.0  # every logged point stays in view


# --- what the frame shows: one visual language ----------------------------------------------------

def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def panel_pixels(curve: LossCurve, index: int) -> np.ndarray:
    """The decoded pixels inside one panel's axes (0: loss, 1: metrics), as (n, 3)."""
    image = decode(curve.snapshot().data)
    box = curve.frame.figure.axes[index].bbox  # display pixels, origin at the bottom left
    height = image.shape[0]
    top, bottom = height - int(box.y1) + 2, height - int(box.y0) - 2
    return image[top:bottom, int(box.x0) + 2 : int(box.x1) - 2].reshape(-1, 3)


def count_near(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 12) -> int:
    return int((np.abs(pixels - colour).max(axis=1) <= tolerance).sum())


def filled_history(steps: int, per_epoch: int = 100, scale: float = 1.0) -> History:
    """A history of `steps` noisy decaying losses (times `scale`) with an epoch record every `per_epoch` steps."""
    rng = np.random.default_rng(0)
    step = np.arange(1, steps + 1)
    loss = scale * (np.exp(-5 * step / steps) + 0.1 * rng.random(steps))
    columns = {"step": step, "epoch": (step - 1) // per_epoch + 1, "loss": loss, "lr": np.full(steps, 0.01), "time": step * 1e-3}
    epochs = []
    for e in range(1, steps // per_epoch + 1):
        train_loss = scale * math.exp(-5 * e * per_epoch / steps)
        epochs.append({"epoch": e, "step": e * per_epoch, "train_loss": train_loss, "valid_loss": 1.1 * train_loss,
                       "train_acc": 1 - 0.5 / e, "valid_acc": 0.9 - 0.5 / e})
    history = History()
    history.load_state_dict({"columns": {name: torch.as_tensor(np.asarray(columns[name], dtype=dtype))
                                         for name, dtype in STEP_COLUMNS.items()}, "epochs": epochs})
    return history


def test_train_and_validation_have_their_split_colours_in_both_panels():
    train, valid = rgb(SPLIT_COLOURS["train"]), rgb(SPLIT_COLOURS["valid"])
    assert np.abs(train - valid).max() > 60  # told apart at a glance
    trainer = make_trainer()
    curve = LossCurve(trainer)
    trainer.fit(4)
    for panel in (0, 1):  # the loss panel and the metric panel alike
        pixels = panel_pixels(curve, panel)
        assert count_near(pixels, train) >= 10, f"panel {panel} lacks the train colour"
        assert count_near(pixels, valid) >= 10, f"panel {panel} lacks the validation colour"


def test_the_step_loss_is_faint_and_its_smoothed_line_solid_in_the_train_colour():
    train = rgb(SPLIT_COLOURS["train"])
    faint = np.round(STEP_ALPHA * train + (1 - STEP_ALPHA) * 255)  # the train colour at STEP_ALPHA over white
    curve = LossCurve(smoothing=0.95)
    for step in range(1, 301):
        curve.log(step, 1.0 + 0.5 * (-1) ** step)  # the raw line zigzags; the smoothed one runs near 1.0
    curve.flush()
    pixels = panel_pixels(curve, 0)
    assert count_near(pixels, faint, tolerance=10) >= 200
    assert count_near(pixels, train) >= 50


def texts_outside_the_canvas(curve: LossCurve) -> tuple[list[str], int]:
    """The shown texts that stick out of the canvas, and how many were checked.

    Titles, axis labels, offsets, the tick labels within the limits, the legend and its texts.
    """
    figure = curve.frame.figure
    renderer = figure.canvas.get_renderer()
    texts: list = []
    for ax in figure.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            for minor in (False, True):
                locs, labels = axis.get_ticklocs(minor=minor), axis.get_ticklabels(minor=minor)
                texts += [label for loc, label in zip(locs, labels, strict=True) if low <= loc <= high]
    for legend in figure.legends:
        texts += [legend, *legend.get_texts()]
    shown = [t for t in texts if t.get_visible() and (not isinstance(t, Text) or t.get_text())]
    canvas = figure.bbox
    outside = []
    for artist in shown:
        box = artist.get_window_extent(renderer)
        if box.x0 < canvas.x0 - 0.5 or box.y0 < canvas.y0 - 0.5 or box.x1 > canvas.x1 + 0.5 or box.y1 > canvas.y1 + 0.5:
            name = artist.get_text() if isinstance(artist, Text) else type(artist).__name__
            outside.append(f"{name!r} at {box.extents.round(1)}")
    return outside, len(shown)


def trained_curve(figsize: tuple[float, float]) -> LossCurve:
    trainer = make_trainer()
    curve = LossCurve(trainer, figsize=figsize)
    trainer.fit(3)
    return curve


def million_steps_on_a_log_axis(figsize: tuple[float, float]) -> LossCurve:
    curve = LossCurve(history=filled_history(1_000_000, per_epoch=10_000), log_scale=True, figsize=figsize)
    curve.flush()
    return curve


def large_losses_and_several_metrics_by_epoch(figsize: tuple[float, float]) -> LossCurve:
    curve = LossCurve(x_axis="epochs", figsize=figsize)
    for step in range(1, 301):
        curve.log(step, 2.5e6 / step, epoch=(step - 1) // 30 + 1)
        if step % 30 == 0:
            curve.log_epoch(step // 30, train_loss=2e6 / step, valid_loss=3e6 / step,
                            train_acc=0.5 + step / 1000, valid_acc=0.4 + step / 1000, mae=-1500.0 + step)
    curve.flush()
    return curve


@pytest.mark.parametrize("figsize", [MIN_FIGSIZE, (4.6, 2.6), DEFAULT_FIGSIZE], ids=["smallest", "lesson-07", "default"])
@pytest.mark.parametrize("make", [trained_curve, million_steps_on_a_log_axis, large_losses_and_several_metrics_by_epoch])
def test_no_text_is_cut_and_the_legend_covers_no_data(figsize, make):
    curve = make(figsize)
    outside, checked = texts_outside_the_canvas(curve)
    assert checked >= 15 and not outside, f"cut at {figsize}: {outside}"
    renderer = curve.frame.figure.canvas.get_renderer()
    (legend,) = curve.frame.figure.legends
    for ax in curve.frame.figure.axes:  # the legend sits beside the axes, never over them
        assert not legend.get_window_extent(renderer).overlaps(ax.bbox)
    curve.close()


def test_the_x_axis_ends_close_to_the_data_and_grows_in_steps():
    trainer = make_trainer()
    curve = LossCurve(trainer)
    trainer.fit(44)  # 352 steps: the axis used to run to 500
    low, high = curve.x_limits
    assert low == 0 and high >= 352 and (high - 352) / high <= 0.25
    by_hand = LossCurve(clock=FrameClock(time_fn=FakeTime()))
    ends = []
    frames = np.unique(np.geomspace(1, 5000, 120).astype(int))
    step = 0
    for last in frames:
        while step < last:
            step += 1
            by_hand.log(step, 1.0 / step, epoch=(step - 1) // 250 + 1)
            if step % 250 == 0:
                by_hand.log_epoch(step // 250, train_loss=1.0 / step)
        by_hand.flush()
        ends.append(by_hand.x_limits[1])
        assert step <= ends[-1] and (ends[-1] - step) / ends[-1] <= 0.25, f"{step} steps on an axis to {ends[-1]}"
    assert np.all(np.diff(ends) >= 0)  # limits only grow ...
    assert len(set(ends)) <= 14 * np.log10(5000) + 1  # ... in steps, so the background is redrawn rarely
    by_hand.x_toggle.value = "epochs"  # 20 epochs
    assert 20 <= by_hand.x_limits[1] <= 20 / 0.75


def test_a_figure_smaller_than_the_minimum_is_refused():
    gc.collect()
    figures = live_figure_count()
    for small in [(MIN_FIGSIZE[0] - 0.1, MIN_FIGSIZE[1]), (MIN_FIGSIZE[0], MIN_FIGSIZE[1] - 0.1), (3.0, 3.0)]:
        with pytest.raises(ValueError, match=r"figsize must be at least \(4.0, 2.4\)"):
            LossCurve(figsize=small)
    with pytest.raises(TypeError, match="figsize must be"):
        LossCurve(figsize="large")
    gc.collect()
    assert live_figure_count() == figures  # refused before any figure was made
    assert LossCurve(figsize=MIN_FIGSIZE).frame.figure.get_size_inches().tolist() == list(MIN_FIGSIZE)


def test_repr_is_stable_and_css_class_set():
    assert repr(LossCurve()) == "LossCurve()" == repr(LossCurve(make_trainer()))
    curve = LossCurve()
    assert "lt-loss-curve" in curve.widget.get_state()["_dom_classes"]  # the state ipywidgets sends to the browser
    data, _ = DisplayFormatter().format(curve)  # what IPython shows for the curve
    assert data["text/plain"] == "LossCurve()"


def test_bad_input_is_refused_before_anything_changes():
    gc.collect()
    figures = live_figure_count()
    with pytest.raises(TypeError, match="Trainer"):
        LossCurve(object())
    with pytest.raises(ValueError, match="smoothing"):
        LossCurve(smoothing=1.0)
    with pytest.raises(ValueError, match="x_axis"):
        LossCurve(x_axis="time")
    with pytest.raises(TypeError, match="clock must be a FrameClock"):
        LossCurve(clock="fast")
    with pytest.raises(TypeError, match="history must be"):
        LossCurve(history=[1, 2])
    gc.collect()
    assert live_figure_count() == figures  # refused before any figure was made
    curve = LossCurve()
    curve.log(5, 1.0)
    with pytest.raises(ValueError, match="steps must increase"):
        curve.log(5, 0.5)
    with pytest.raises(TypeError, match="loss must be a number"):
        curve.log(6, "0.5")
    with pytest.raises(TypeError, match="loss must be a number"):
        curve.log(6, torch.ones(3))
    with pytest.raises(TypeError, match="epoch"):
        curve.log_epoch(0, train_loss=1.0)
    with pytest.raises(TypeError, match="acc must be a number"):
        curve.log_epoch(1, acc=[0.5])
    assert len(curve.history) == 1 and curve.history.epochs == []
    trainer = make_trainer()
    followed = LossCurve(trainer)
    with pytest.raises(RuntimeError, match="follows a trainer"):
        followed.log(1, 0.5)
    assert len(trainer.history) == 0
