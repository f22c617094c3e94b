"""LossCurve: decimation, smoothing, live frames from a real Trainer, hand feeding, bad input."""

import asyncio
import gc
import io

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spirals
from widgets.views.loss_curve import Decimator, LossCurve, StepSeries, decimate
from widgets.training.metrics import accuracy
from widgets.views.clock import FrameClock
from widgets.views.frame import live_figure_count
from frames import FakeTime, decode


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


# --- decimation -------------------------------------------------------------------------

def test_decimation_keeps_ends_and_extremes_and_bounds_size():
    rng = np.random.default_rng(3)
    y = rng.normal(size=100_003).cumsum()
    rows = decimate(y, 200)
    assert rows[0] == 0 and rows[-1] == len(y) - 1
    assert y.argmin() in rows and y.argmax() in rows
    assert len(rows) <= 2 * 200 + 4
    assert np.all(np.diff(rows) > 0)
    # every run's extremes survive: the decimated min/max over any run equals the data's
    per_run = 1 << int(np.ceil(np.log2(len(y) / 200)))
    for start in range(0, len(y) - per_run, 37 * per_run):
        chosen = rows[(rows >= start) & (rows < start + per_run)]
        assert y[chosen].min() == y[start : start + per_run].min()
        assert y[chosen].max() == y[start : start + per_run].max()


def test_decimation_skips_non_finite_values_and_returns_short_input_whole():
    y = np.linspace(1.0, 2.0, 5000)
    y[1234] = np.nan
    y[2345] = np.inf
    y[3000] = -5.0
    rows = decimate(y, 50)
    assert 1234 not in rows and 2345 not in rows and 3000 in rows
    assert list(decimate(np.arange(10.0), 50)) == list(range(10))
    with pytest.raises(ValueError, match="at least one run"):
        decimate(y, 0)


def test_incremental_decimation_equals_a_fresh_one():
    rng = np.random.default_rng(4)
    y = rng.normal(size=60_000)
    decimator = Decimator()
    for end in (900, 5_000, 5_001, 17_777, 40_000, 60_000):
        assert np.array_equal(decimator.rows(y[:end], 150), decimate(y[:end], 150))
    # a replaced column (cleared and refilled) is detected
    z = rng.normal(size=60_000)
    assert np.array_equal(decimator.rows(z, 150), decimate(z, 150))


def test_smoothing_matches_the_debiased_moving_average_incrementally():
    rng = np.random.default_rng(5)
    values = rng.random(3000) + np.linspace(2, 0, 3000)
    values[10] = np.nan
    series = StepSeries(0.95)
    series.update(values[:1000])
    smoothed = series.update(values)
    state, weight, expected = 0.0, 0, []
    for value in values:
        if np.isfinite(value):
            state = 0.95 * state + 0.05 * value
            weight += 1
        else:  # a missing value repeats the previous loss
            state = 0.95 * state + 0.05 * values[9]
            weight += 1
        expected.append(state / (1 - 0.95**weight))
    np.testing.assert_allclose(smoothed, expected, rtol=1e-9)
    assert series.low == np.nanmin(values) and series.high == np.nanmax(values)


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
    assert curve._metric_ax is not None and {"train_acc", "valid_acc"} <= set(curve._metric_lines)
    ys = curve._metric_lines["valid_acc"].get_ydata()
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
    assert curve._raw.get_xdata()[-1] == 1000


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
    assert not curve.stale and curve._raw.get_xdata()[-1] == trainer.global_step


def test_reset_clears_the_curve():
    trainer = make_trainer(metrics=False)
    curve = LossCurve(trainer)
    trainer.fit(1)
    trainer.reset()
    assert len(curve._raw.get_xdata()) == 0 and not curve.stale
    trainer.fit(1)
    assert curve._raw.get_xdata()[-1] == trainer.global_step


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
    assert list(curve._raw.get_xdata()) == list(range(1, 51))
    curve.log_epoch(1, train_loss=torch.tensor(0.5), acc=0.9)
    assert curve.history.epochs[-1] == {"epoch": 1, "step": 50, "train_loss": 0.5, "acc": 0.9}
    assert "acc" in curve._metric_lines
    curve.clear()
    assert len(curve.history) == 0 and len(curve._raw.get_xdata()) == 0


def test_log_scale_and_epoch_axis_toggles_redraw():
    curve = LossCurve()
    for step in range(1, 201):
        curve.log(step, 10.0 ** (-step / 50), epoch=(step - 1) // 50 + 1)
        if step % 50 == 0:
            curve.log_epoch(step // 50, train_loss=10.0 ** (-step / 50))
    curve.flush()
    linear = curve.frame.png
    curve.log_toggle.value = True
    assert curve._loss_ax.get_yscale() == "log" and curve.frame.png != linear
    low, high = curve._loss_ax.get_ylim()
    assert low <= 1e-4 and high >= 1.0
    curve.x_toggle.value = "epochs"
    assert curve._loss_ax.get_xlabel() == "epoch"
    assert curve._raw.get_xdata()[-1] == pytest.approx(4.0)
    assert curve._loss_ax.get_xlim()[1] >= 4.0


def test_the_first_losses_choose_the_scale_and_limits_only_grow():
    curve = LossCurve(clock=FrameClock(time_fn=FakeTime()))
    for step in range(1, 21):
        curve.log(step, 0.002 + 0.0001 * step)  # a tiny loss, far below the empty curve's 0..1
    curve.flush()
    low, high = curve._loss_ax.get_ylim()
    assert low <= 0.0021 and 0.004 <= high <= 0.01
    curve.log(21, 3.0)
    curve.flush()
    assert curve._loss_ax.get_ylim()[1] >= 3.0
    curve.log(22, 0.001)
    curve.flush()
    assert curve._loss_ax.get_ylim()[1] >= 3.0  # every logged point stays in view


def test_steps_draw_in_the_smoothed_colour_on_the_image():
    curve = LossCurve(smoothing=0.0)
    for step in range(1, 101):
        curve.log(step, 1.0)  # a flat line at 1.0
    curve.flush()
    image = decode(curve.snapshot().data)
    ax = curve._loss_ax
    x_px, y_px = ax.transData.transform((50, 1.0))
    row = image.shape[0] - int(round(y_px))
    col = int(round(x_px))
    patch = image[row - 2 : row + 3, col - 1 : col + 2].reshape(-1, 3)
    blue = (patch[:, 2] > patch[:, 0] + 60).any()  # matplotlib's C0 is blue
    assert blue


def test_repr_is_stable_and_css_class_set():
    assert repr(LossCurve()) == "LossCurve()" == repr(LossCurve(make_trainer()))
    curve = LossCurve()
    assert "lt-loss-curve" in curve.widget._dom_classes
    data, _ = curve._repr_mimebundle_()
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
