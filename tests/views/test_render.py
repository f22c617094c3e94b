"""The drawing core: the clock's throttling and budget, the frame's blitting and PNG, the view base."""

import io

import ipywidgets as ipw
import numpy as np
import pytest
from frames import FakeTime, decode
from PIL import Image
from small_trainers import small_trainer

from widgets import Trainer
from widgets.views.axes import covers, nice_ceiling, nice_limits
from widgets.views.base import View
from widgets.views.clock import FrameClock
from widgets.views.png import png_bytes


def test_clock_caps_frame_rate_over_a_burst():
    now = FakeTime()
    clock = FrameClock(max_fps=10, time_fn=now)
    owner = object.__new__(type("Owner", (), {}))
    granted = 0
    for _ in range(1000):  # 1,000 steps of 1 ms: one second
        now.t += 0.001
        granted += clock.permit(owner)
    assert 9 <= granted <= 11


def test_clock_budget_limits_drawing_share():
    now = FakeTime()
    clock = FrameClock(max_fps=1000, budget=0.04, burst=0.1, time_fn=now)
    owner = type("Owner", (), {})()
    for _ in range(10_000):  # 10 s of training in 1 ms steps
        now.t += 0.001
        if clock.permit(owner):
            now.t += 0.01  # the frame takes 10 ms
            clock.charge(0.01)
    # the share of time spent drawing stays near the budget (the burst allows a small start-up excess)
    assert clock.spent <= 0.04 * now.t + 0.1 + 0.01
    assert clock.frames >= 30  # and the budget is used, not starved


def test_shared_clock_lets_every_view_draw_in_a_tick():
    now = FakeTime()
    clock = FrameClock(max_fps=10, time_fn=now)
    a, b = type("A", (), {})(), type("B", (), {})()
    now.t = 1.0
    assert clock.permit(a) and clock.permit(b)
    assert not clock.permit(a) and not clock.permit(b)  # each once per tick
    now.t += 0.05
    assert not clock.permit(a)
    now.t += 0.06
    assert clock.permit(b) and clock.permit(a)


def test_floor_keeps_views_alive_when_frames_overspend_the_budget():
    now = FakeTime()
    floored = FrameClock(max_fps=10, budget=0.02, burst=0.0, time_fn=now, min_fps=1.0)
    starved = FrameClock(max_fps=10, budget=0.02, burst=0.0, time_fn=now, min_fps=0)
    a, b = type("A", (), {})(), type("B", (), {})()
    granted = {id(floored): 0, id(starved): 0}
    for _ in range(10_000):  # 10 s of 1 ms steps, every frame costing 300 ms of drawing
        now.t += 0.001
        for clock, owner in ((floored, a), (starved, b)):
            if clock.permit(owner):
                granted[id(clock)] += 1
                clock.charge(0.3)
    # without the floor the debt of 300 ms frames at a 2 % budget allows one frame in 15 s
    assert granted[id(starved)] == 1
    # with it a frame comes about once a second, and never faster than the floor's pace once in debt
    assert 9 <= granted[id(floored)] <= 11


def test_a_round_is_paid_for_before_it_is_drawn_and_priced_by_the_first_frames():
    now = FakeTime()
    clock = FrameClock(max_fps=10, budget=0.04, burst=0.1, time_fn=now, min_fps=0)
    view = type("V", (), {})()
    clock.note_free_frame(0.05)  # the views' first frames, drawn as they were built, cost 50 ms
    assert clock.frames == 0 and clock.spent == 0.0  # not charged
    now.t = 0.5
    assert not clock.permit(view)  # a fresh clock has no credit: 0.5 s earned 20 ms of the 50 a round costs
    now.t = 1.3
    assert clock.permit(view)  # 52 ms earned
    clock.charge(0.06)  # this round cost 60 ms: credit -8 ms, and the next round is priced at 60
    now.t += 1.0
    assert not clock.permit(view)  # 32 ms of credit
    now.t += 0.8
    assert clock.permit(view)  # 64 ms


def test_time_spent_idle_before_a_run_buys_its_first_frames():
    now = FakeTime()
    clock = FrameClock(max_fps=10, budget=0.04, burst=0.1, time_fn=now)
    clock.note_free_frame(0.08)
    now.t = 30.0  # the learner built the views, read, then pressed Play
    assert clock.permit(type("V", (), {})())  # the saved burst covers the first round at once


def test_floor_must_lie_between_zero_and_max_fps():
    with pytest.raises(ValueError, match="min_fps must be a number from 0 to max_fps"):
        FrameClock(max_fps=10, min_fps=20)
    with pytest.raises(ValueError, match="min_fps"):
        FrameClock(min_fps=-1)


def test_a_slow_first_view_does_not_shut_the_others_out_of_the_round():
    now = FakeTime()
    clock = FrameClock(max_fps=10, budget=1.0, burst=1.0, time_fn=now)
    first, second = type("A", (), {})(), type("B", (), {})()
    now.t = 1.0
    assert clock.permit(first)
    now.t += 0.25  # the first view's frame took 250 ms, longer than a tick
    clock.charge(0.25)
    assert clock.permit(second)  # still the same round
    assert not clock.permit(first)


def test_epoch_frames_skip_the_rate_cap_but_not_the_budget_and_final_always_draws():
    now = FakeTime()
    clock = FrameClock(max_fps=10, budget=0.05, burst=0.0, time_fn=now)
    view = type("V", (), {})()
    now.t = 1.0
    assert clock.permit(view)
    clock.charge(0.5)  # an expensive frame: credit now negative
    assert not clock.permit(view, "epoch")
    now.t += 0.001
    assert clock.permit(view, "final")
    now.t += 20.0  # credit has come back
    assert clock.permit(view)
    assert clock.permit(view, "epoch")  # same tick, the rate cap is skipped


def test_clock_rejects_bad_settings_and_kinds():
    with pytest.raises(ValueError, match="max_fps"):
        FrameClock(max_fps=0)
    with pytest.raises(ValueError, match="budget"):
        FrameClock(budget=1.5)
    with pytest.raises(TypeError, match="time_fn"):
        FrameClock(time_fn=3)
    with pytest.raises(ValueError, match="frame kind"):
        FrameClock().permit(object(), "sometimes")


class Dot(View):
    """A minimal view: the last value as a one-pixel-high bar of 10 pixels, green up to the value."""

    def __init__(self, clock=None):
        self.value = 0.0
        self.image = ipw.Image(format="png")
        super().__init__(ipw.VBox([self.image]), "dot", clock)

    def draw(self):
        self.image.value = self.snapshot_png()

    def snapshot_png(self):
        bar = np.zeros((1, 10, 3), dtype=np.uint8)
        bar[0, : int(round(self.value)), 1] = 200
        return png_bytes(bar)


def test_view_repr_css_and_display_bundle():
    view = Dot()
    assert repr(view) == "Dot()" and repr(Dot()) == repr(view)
    assert "lt-dot" in view.widget._dom_classes
    data, _ = view._repr_mimebundle_()
    assert data["text/plain"] == "Dot()"
    assert "application/vnd.jupyter.widget-view+json" in data


def tiny_trainer(steps: int) -> Trainer:
    """One point a step, ``steps`` steps an epoch, a linear model."""
    return small_trainer(problem="xor", n=steps, hidden=(), lr=0.01, batch_size=1, shuffle=False)


def test_view_throttles_steps_and_draws_the_final_frame():
    now = FakeTime()
    view = Dot(clock=FrameClock(max_fps=10, time_fn=now))
    trainer = tiny_trainer(1000)

    def advance(record):  # subscribed before the view: each step takes 1 ms of the fake clock
        now.t += 0.001
        view.value = record["step"] / 100

    trainer.on("step", advance)
    view.follow(trainer)
    at_last_step = {}
    trainer.on("step", lambda record: at_last_step.update(frames=view.frames_drawn, stale=view.stale))
    trainer.fit(1)
    assert at_last_step["frames"] <= 1 + 11  # the first frame, then at most 10 a second of the fake clock
    assert at_last_step["stale"]  # the last steps were not drawn yet
    assert view.frames_drawn == at_last_step["frames"] + 1 and not view.stale  # the final frame as fit ends
    # the final frame shows the last value: the bar is full (10 of 10)
    img = decode(view.snapshot().data)
    assert (img[0, :, 1] == 200).all()
    listening = {event: len(trainer.listeners(event)) for event in ("step", "epoch", "state", "reset")}
    view.unfollow()
    assert {event: len(trainer.listeners(event)) for event in listening} == {
        "step": listening["step"] - 1, "epoch": 0, "state": 0, "reset": 0}


def test_follow_rejects_a_non_trainer():
    with pytest.raises(TypeError, match="Trainer"):
        Dot().follow(42)


def test_png_bytes_round_trip_the_pixels_and_refuse_other_arrays():
    rgb = np.random.default_rng(0).integers(0, 256, (60, 100, 3), dtype=np.uint8)
    png = png_bytes(rgb)
    assert np.array_equal(decode(png), rgb)
    assert Image.open(io.BytesIO(png)).size == (100, 60)
    with pytest.raises(ValueError, match=r"uint8 array \[height, width, 3\], got float64"):
        png_bytes(rgb.astype(float))


def test_nice_limits_round_outwards_and_hold_while_data_stays_inside():
    assert nice_ceiling(101) == 200 and nice_ceiling(0.3) == 0.5 and nice_ceiling(1000) == 1000
    low, high = nice_limits(0.13, 2.37)
    assert low <= 0.13 and high >= 2.37 and (low, high) == nice_limits(0.2, 2.3)
    assert nice_limits(0.003, 40, log=True) == (0.001, 100)
    assert covers((0.0, 2.5), 0.1, 2.4) and not covers((0.0, 2.5), 0.1, 2.6) and not covers(None, 0, 1)
    with pytest.raises(ValueError, match="positive lower"):
        nice_limits(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="finite"):
        nice_limits(float("nan"), 1.0)
