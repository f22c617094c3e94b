"""TrainerControls driving a real Trainer: clicks simulated on the loop thread and from other threads."""

import asyncio
import threading
import time
import warnings

import pytest
import torch
from small_trainers import small_trainer
from torch import nn

from widgets.training.trainer import Trainer
from widgets.views.clock import FrameClock
from widgets.views.controls import STATUS_FORMAT, STATUS_FPS, TrainerControls

BATCHES_PER_EPOCH = 13  # 400 points in batches of 32


def make_trainer(lr: float = 0.1) -> Trainer:
    return small_trainer(n=400, data_seed=1, lr=lr, device=None)


def from_thread(action) -> None:
    """Run `action` on a fresh thread, as ipykernel 7.0-7.3 may deliver a click."""
    errors = []

    def run() -> None:
        try:
            action()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.001)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def css_classes(widget) -> list:
    """The CSS classes the browser gets for `widget` (ipywidgets' wire state)."""
    return widget.get_state()["_dom_classes"]


def parse_status(text: str) -> dict:
    parts = text.split(" · ")
    return {
        "epoch": int(parts[0].split()[1]),
        "step": int(parts[1].split()[1]),
        "loss": parts[2].split()[1],
        "lr": float(parts[3].split()[1]),
        "rate": float(parts[4].split()[0].replace(",", "")),
        "state": parts[5],
    }


def test_status_line_is_machine_readable():
    trainer = make_trainer()
    controls = TrainerControls(trainer)
    assert parse_status(controls.status_text()) == {"epoch": 0, "step": 0, "loss": "—", "lr": 0.1,
                                                    "rate": 0.0, "state": "idle"}
    assert STATUS_FORMAT.count("·") == 5
    controls.step_button.click()
    status = parse_status(controls.status.value)
    assert status["step"] == 1 and float(status["loss"]) == pytest.approx(trainer.last_loss, abs=1e-4)


def test_a_page_with_losses_of_its_own_leaves_the_last_batch_loss_out():
    trainer = make_trainer()
    controls = TrainerControls(trainer, show_loss=False)
    controls.step_button.click()
    text = controls.status_text()
    assert "loss" not in text and text.startswith("epoch 0 · step 1 · lr 0.1 · ")
    with pytest.raises(TypeError, match="show_loss must be True or False"):
        TrainerControls(trainer, show_loss="no")
    controls.close()


def test_buttons_without_a_loop_run_at_once():
    trainer = make_trainer()
    controls = TrainerControls(trainer)
    controls.step_button.click()
    controls.step_button.click()
    assert trainer.global_step == 2
    controls.epoch_button.click()
    assert trainer.epoch == 1 and trainer.global_step == BATCHES_PER_EPOCH
    controls.reset_button.click()
    assert (trainer.global_step, trainer.epoch) == (0, 0)
    controls.play_button.value = True  # no loop in a script: play() refuses, the toggle flips back
    assert controls.play_button.value is False
    assert "fit(" in controls.message.value and "fit(" in controls.last_error


def test_pause_from_another_thread_stops_within_one_step():
    trainer = make_trainer()

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        controls.play_button.value = True
        await wait_for(lambda: trainer.global_step >= 30)
        assert trainer.is_playing and controls.play_button.value is True
        assert controls.play_button.description == "Pause"
        pressed_at = []
        def press_pause():
            controls.play_button.value = False
            pressed_at.append(trainer.global_step)

        thread = threading.Thread(target=press_pause)
        thread.start()
        await wait_for(lambda: not trainer.is_playing)
        thread.join()
        await settle()
        assert trainer.global_step - pressed_at[0] <= 1
        assert trainer.state == "paused"
        assert controls.play_button.value is False and controls.play_button.description == "Play"
        assert parse_status(controls.status.value)["state"] == "paused"
        assert parse_status(controls.status.value)["step"] == trainer.global_step

    asyncio.run(scenario())


def test_step_while_playing_pauses_then_takes_exactly_one_step():
    trainer = make_trainer()
    stopped_at = []
    trainer.on("state",
               lambda change: stopped_at.append(trainer.global_step) if change["state"] == "paused" else None)

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        controls.play_button.value = True
        await wait_for(lambda: trainer.global_step >= 20)
        from_thread(controls.step_button.click)
        await wait_for(lambda: not trainer.is_playing and trainer.global_step == stopped_at[0] + 1)
        await asyncio.sleep(0.05)
        assert trainer.global_step == stopped_at[0] + 1
        assert controls.play_button.value is False
        from_thread(controls.step_button.click)  # paused: one more, no play involved
        await wait_for(lambda: trainer.global_step == stopped_at[0] + 2)

    asyncio.run(scenario())


def test_epoch_button_finishes_the_current_epoch_and_stays_live():
    trainer = make_trainer()

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        for _ in range(5):
            controls.step_button.click()
        assert (trainer.epoch, trainer.global_step) == (0, 5)
        from_thread(controls.epoch_button.click)
        await wait_for(lambda: trainer.is_playing)  # the epoch runs as a play task: buttons stay live
        assert controls.play_button.value is True
        await wait_for(lambda: not trainer.is_playing)
        await settle()
        assert (trainer.epoch, trainer.global_step) == (1, BATCHES_PER_EPOCH)
        assert trainer.state == "idle" and controls.play_button.value is False
        controls.epoch_button.click()  # on the loop thread this time
        await wait_for(lambda: trainer.epoch == 2)
        assert trainer.global_step == 2 * BATCHES_PER_EPOCH

    asyncio.run(scenario())


def test_reset_while_playing_brings_everything_back():
    trainer = make_trainer()
    initial_weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        initial_status = controls.status.value
        controls.play_button.value = True
        await wait_for(lambda: trainer.epoch >= 2)
        from_thread(controls.reset_button.click)
        await wait_for(lambda: trainer.global_step == 0 and not trainer.is_playing)
        await settle()
        assert (trainer.epoch, trainer.state) == (0, "idle")
        assert controls.status.value == initial_status
        assert controls.play_button.value is False
        for key, value in trainer.model.state_dict().items():
            assert torch.equal(value, initial_weights[key])

    asyncio.run(scenario())


def test_lr_slider_sets_the_trainer_lr_from_any_thread():
    trainer = make_trainer(lr=0.1)

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        assert controls.lr_slider.value == pytest.approx(0.1)
        controls.play_button.value = True
        await wait_for(lambda: trainer.global_step >= 5)
        from_thread(lambda: setattr(controls.lr_slider, "value", 0.01))
        assert trainer.lr == pytest.approx(0.01)
        await wait_for(lambda: "lr 0.01 " in controls.status.value)
        step_seen = trainer.global_step
        await wait_for(lambda: trainer.global_step >= step_seen + 2)
        assert trainer.history.step_column("lr")[-1] == pytest.approx(0.01)
        controls.play_button.value = False
        await wait_for(lambda: not trainer.is_playing)

    asyncio.run(scenario())
    trainer.set_lr(0.5)  # set elsewhere: the slider follows on the next status update
    controls = TrainerControls(trainer)
    trainer.step()
    assert controls.lr_slider.value == pytest.approx(0.5) and trainer.lr == pytest.approx(0.5)


def test_a_failing_run_flips_the_toggle_back():
    trainer = make_trainer()
    with torch.no_grad():
        trainer.model[0].weight.fill_(float("nan"))

    async def scenario() -> None:
        controls = TrainerControls(trainer)
        controls.play_button.value = True
        await wait_for(lambda: not trainer.is_playing)
        await settle()
        assert controls.play_button.value is False
        assert trainer.state == "error" and parse_status(controls.status.value)["state"] == "error"
        assert controls.last_error

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        asyncio.run(scenario())


def test_bad_input_and_repr():
    with pytest.raises(TypeError, match="TrainerControls expects a Trainer.*got Sequential"):
        TrainerControls(nn.Sequential())
    first, second = TrainerControls(make_trainer()), TrainerControls(make_trainer(lr=0.3))
    assert repr(first) == repr(second) == "TrainerControls()"
    inner = (first.play_button, first.step_button, first.epoch_button, first.reset_button, first.lr_slider,
             first.status)
    classes = {c for w in inner for c in css_classes(w)}
    assert {"lt-play", "lt-step", "lt-epoch", "lt-reset", "lt-lr", "lt-status"} <= classes
    assert "lt-controls" in css_classes(first.widget)


def test_status_keeps_its_own_rate_and_leaves_the_clock_to_the_plots():
    now = [0.0]
    clock = FrameClock(max_fps=10, budget=0.01, burst=0.0, time_fn=lambda: now[0], min_fps=0)
    trainer = make_trainer()
    # each step takes 20 ms of clock time
    trainer.on("step", lambda record: now.__setitem__(0, 0.02 * record["step"]))
    controls = TrainerControls(trainer, clock=clock)
    clock.charge(5.0)  # the plots have overspent and no floor applies: no plot may draw for minutes
    frames, spent = clock.frames, clock.spent
    shown = []
    trainer.on("step", lambda record: shown.append(parse_status(controls.status.value)["step"]))
    trainer.fit(3)  # 39 steps in 0.78 s of clock time
    # STATUS_FPS = 4: a new status at step 1, then once 0.25 s have passed (steps 14 and 27)
    assert 1.0 / STATUS_FPS == 0.25 and sorted(set(shown)) == [1, 14, 27]
    assert controls.draw_seconds > 0
    assert (clock.frames, clock.spent) == (frames, spent)  # the status line took nothing from the plots
    assert parse_status(controls.status.value)["step"] == 39  # the run's end updates it at once
