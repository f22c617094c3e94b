"""LossCurve: the rows it sends while a real Trainer trains, hand feeding, its stills and GIFs, bad input.

The page's side (what it paints from those rows) is tested in tests/browser/test_picture_curve.py;
the numbers behind the still's lines in test_curve_data.py.
"""

import asyncio

import numpy as np
import pytest
import torch
from frames import decode
from IPython.core.formatters import DisplayFormatter
from pictures import Outbox, hand_pacer, stored
from small_trainers import small_trainer

from widgets import Trainer
from widgets.training.history import History
from widgets.views.loss_curve import MIN_SIZE, LossCurve
from widgets.views.pacer import Pacer

TRAIN_BLUE = np.array([0x1F, 0x77, 0xB4])


def make_trainer(batches: int = 8, batch_size: int = 16, metrics: bool = True, valid: bool = True) -> Trainer:
    return small_trainer(n=batches * batch_size, sd=0.0, data_seed=1, batch_size=batch_size, optimizer="adam",
                         lr=0.01, valid="train" if valid else None, valid_batch_size=64, metrics=metrics,
                         device="cpu")


def _near(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 40) -> np.ndarray:
    return np.abs(pixels[..., :3] - colour).sum(axis=-1) < tolerance


# --- following a trainer ------------------------------------------------------------------------

def test_a_finished_run_is_stored_whole_with_its_epochs_and_metrics():
    trainer = make_trainer()
    curve = LossCurve(trainer)
    trainer.fit(3)
    steps = trainer.history.step_column("step")
    assert np.array_equal(stored(curve.picture, "step"), steps)
    assert np.allclose(stored(curve.picture, "loss"), trainer.history.step_column("loss"), rtol=1e-6)
    assert np.array_equal(stored(curve.picture, "epoch:epoch"), [1, 2, 3])
    assert np.allclose(stored(curve.picture, "epoch:valid_acc"), trainer.history.epoch_column("valid_acc"))
    options = curve.picture.options
    assert [m["key"] for m in options["metrics"]] == ["train_acc", "valid_acc"]
    assert options["valid"] is True and options["steps_per_epoch"] == 8
    curve.close()


def test_only_new_rows_travel_and_a_burst_of_steps_is_one_message(monkeypatch):
    trainer = make_trainer()
    pacer, clock = hand_pacer(fps=10)
    curve = LossCurve(trainer, pacer=pacer)
    outbox = Outbox(curve.picture, monkeypatch)
    trainer.fit(1)  # 8 steps in one instant of the hand clock: one round, then the final send
    rounds = outbox.data_messages()
    assert len(rounds) == 2, [content for content, _ in rounds]
    outbox.clear()
    clock.t += 1.0
    trainer.step()  # one step: a round is due, and only that step's row travels
    steps = [c for c in outbox.changes() if c["name"] in ("step", "loss")]
    assert {(c["name"], c["op"], c["start"], c["shape"][0]) for c in steps} == {("step", "extend", 8, 1),
                                                                                 ("loss", "extend", 8, 1)}
    assert sum(c["bytes"] for c in steps) == 4 + 4
    curve.close()


def test_a_reset_sends_the_curve_whole_and_empty(monkeypatch):
    trainer = make_trainer()
    curve = LossCurve(trainer)
    trainer.fit(1)
    outbox = Outbox(curve.picture, monkeypatch)
    trainer.reset()
    ops = {c["name"]: (c["op"], c["shape"][0]) for c in outbox.changes()}
    assert ops["step"] == ("set", 0) and ops["loss"] == ("set", 0)
    assert len(stored(curve.picture, "step")) == 0
    curve.close()


def test_a_paused_play_stores_its_last_step():
    trainer = make_trainer()
    curve = LossCurve(trainer)

    async def play_then_pause():
        task = trainer.play()
        while trainer.global_step < 20:
            await asyncio.sleep(0.001)
        trainer.pause()
        await task

    asyncio.run(play_then_pause())
    assert trainer.state == "paused"
    assert stored(curve.picture, "step")[-1] == trainer.global_step
    curve.close()


@pytest.mark.slow
def test_a_round_costs_the_new_rows_only_at_a_million_steps(monkeypatch):
    history = History()
    for step in range(1, 1_000_001):
        history.log_step(step, 1.0 / step)
    curve = LossCurve(history=history, pacer=Pacer(fps=0.001))
    curve.log(1_000_001, 1e-6)  # the pacer's first round; the next is 1,000 s away
    outbox = Outbox(curve.picture, monkeypatch)
    for step in range(1_000_002, 1_000_102):
        curve.log(step, 1e-6)
    curve.update()
    sizes = {c["name"]: c["bytes"] for c in outbox.changes()}
    assert sizes == {"step": 100 * 4, "loss": 100 * 4}


# --- fed by hand -----------------------------------------------------------------------------------

def test_fed_by_hand_with_tensors_and_epochs():
    curve = LossCurve()
    for step in range(1, 21):
        curve.log(step, torch.tensor(1.0 / step))
    curve.log_epoch(1, train_loss=torch.tensor(0.2), valid_loss=0.3, acc=0.8)
    curve.flush()
    assert np.allclose(stored(curve.picture, "loss"), 1.0 / np.arange(1, 21), rtol=1e-6)
    assert stored(curve.picture, "epoch:step").tolist() == [20.0]
    assert stored(curve.picture, "epoch:valid_loss").tolist() == pytest.approx([0.3])
    lines = curve.series
    assert set(lines) >= {"step_loss", "smoothed_loss", "train_loss", "valid_loss", "acc"}
    assert lines["train_loss"][0].tolist() == [20.0]
    curve.x_axis = "epochs"
    assert curve.series["train_loss"][0].tolist() == [1.0]
    curve.clear()
    assert len(curve.history) == 0 and len(stored(curve.picture, "step")) == 0


def test_the_smoothed_line_is_the_debiased_moving_average():
    curve = LossCurve(smoothing=0.5)
    for step, loss in enumerate([4.0, 2.0, 1.0], start=1):
        curve.log(step, loss)
    _, smoothed = curve.series["smoothed_loss"]
    # state: 2, then 0.5*2 + 0.5*2 = 2, then 0.5*2 + 0.5*1 = 1.5; debiased by 1 - 0.5**k
    assert smoothed.tolist() == pytest.approx([4.0, 2.0 / 0.75, 1.5 / 0.875])


# --- stills ------------------------------------------------------------------------------------------

def test_the_still_shows_the_loss_in_the_train_colour_and_follows_the_page_options():
    trainer = make_trainer(metrics=False, valid=False)
    curve = LossCurve(trainer)
    empty = decode(curve.snapshot_png())
    assert (
        not _near(empty, TRAIN_BLUE)[:, : empty.shape[1] // 2].any() or _near(empty, TRAIN_BLUE).sum() < 200
    )
    trainer.fit(4)
    linear = decode(curve.snapshot_png())
    assert _near(linear, TRAIN_BLUE).sum() > 300, "the smoothed loss line in the training colour"
    assert linear.shape[:2] == (curve.picture.height, curve.picture.width)
    curve.picture.log_scale = True  # as the page's toggle sets it
    assert curve.log_scale is True
    assert not np.array_equal(decode(curve.snapshot_png()), linear)
    curve.close()


def test_display_shows_the_widget_with_a_stable_text_and_a_still():
    curve = LossCurve()
    data, _ = DisplayFormatter().format(curve)
    assert data["text/plain"] == "LossCurve()"
    assert "application/vnd.jupyter.widget-view+json" in data and "image/png" in data
    assert repr(LossCurve(make_trainer())) == "LossCurve()"
    assert "lt-loss-curve" in curve.widget.get_state()["_dom_classes"]


@pytest.mark.slow
def test_a_recording_keeps_a_frame_per_epoch_whatever_the_send_rate(tmp_path):
    from PIL import Image

    trainer = make_trainer(batches=2)
    curve = LossCurve(trainer, pacer=Pacer(fps=0.001))  # sends almost never
    curve.start_recording(max_frames=50)
    trainer.fit(12)
    assert curve.frames_recorded == 13  # the first frame and one per epoch
    path = curve.save_gif(tmp_path / "run.gif")
    with Image.open(path) as gif:
        assert gif.n_frames >= 13
    curve.close()


# --- bad input ----------------------------------------------------------------------------------------

def test_bad_input_is_refused_before_anything_changes():
    with pytest.raises(TypeError, match="Trainer"):
        LossCurve(object())
    with pytest.raises(ValueError, match="smoothing"):
        LossCurve(smoothing=1.0)
    with pytest.raises(ValueError, match="x_axis"):
        LossCurve(x_axis="time")
    with pytest.raises(TypeError, match="pacer must be a widgets.views.Pacer"):
        LossCurve(pacer="fast")
    with pytest.raises(TypeError, match="history must be"):
        LossCurve(history=[1, 2])
    with pytest.raises(ValueError, match=r"size must be at least \(320, 190\)"):
        LossCurve(size=(MIN_SIZE[0] - 1, MIN_SIZE[1]))
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
    with pytest.raises(ValueError, match="x_axis"):
        curve.x_axis = "time"
    assert len(curve.history) == 1 and curve.history.epochs == [] and curve.x_axis == "steps"
    trainer = make_trainer()
    followed = LossCurve(trainer)
    with pytest.raises(RuntimeError, match="follows a trainer"):
        followed.log(1, 0.5)
    assert len(trainer.history) == 0


def test_a_hand_written_loop_feeding_a_history_draws_live_and_ends_on_its_last_row(monkeypatch):
    async def cell() -> tuple[LossCurve, Outbox, int]:
        history = History()
        pacer, clock = hand_pacer(fps=10)
        curve = LossCurve(history=history, pacer=pacer)  # made in the cell, as a learner makes it
        outbox = Outbox(curve.picture, monkeypatch)
        torch.manual_seed(0)
        w = torch.zeros(2, requires_grad=True)
        x, y = torch.randn(64, 2), torch.randn(64)
        optimizer = torch.optim.SGD([w], lr=0.1)
        for _ in range(3):  # the textbook loop, with two extra lines
            for batch in range(10):
                clock.t += 0.04  # a step takes 40 ms: the pacer's round comes every third step
                rows = slice(batch * 6, batch * 6 + 6)
                loss = ((x[rows] @ w - y[rows]) ** 2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                history.log(loss)
            history.end_epoch(valid_loss=((x @ w - y) ** 2).mean())
            rounds = len(outbox.data_messages())
        return curve, outbox, rounds

    async def run() -> tuple[LossCurve, Outbox, int]:
        curve, outbox, rounds = await cell()
        await asyncio.sleep(0)  # the cell ended: the kernel's loop runs what was queued
        return curve, outbox, rounds

    curve, outbox, rounds_while_training = asyncio.run(run())
    assert 8 <= rounds_while_training <= 12  # live: a round every 120 ms of the loop's 1.2 s
    assert len(outbox.data_messages()) == rounds_while_training + 1  # and once more when the cell ended
    assert stored(curve.picture, "step")[-1] == 30 and len(stored(curve.picture, "epoch:valid_loss")) == 3
    assert np.isclose(curve.series["step_loss"][1][-1], curve.history.step_column("loss")[-1])
    curve.close()


def test_the_options_read_back_and_a_bad_one_changes_nothing():
    curve = LossCurve(smoothing=0.5)
    curve.log_scale = True
    curve.smoothing = 0.25
    assert curve.log_scale is True and curve.smoothing == 0.25
    with pytest.raises(ValueError, match=r"smoothing must be a number in \[0, 1\), got 1"):
        curve.smoothing = 1
    with pytest.raises(TypeError, match="log_scale must be True or False, got str"):
        curve.log_scale = "yes"
    assert curve.log_scale is True and curve.smoothing == 0.25
    curve.close()
