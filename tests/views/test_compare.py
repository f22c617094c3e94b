"""Compare: what it sends for each run while real Trainers train, its stills and GIFs, bad input.

The page's side (what js/compare.js paints from those rows) is tested in
tests/browser/test_picture_compare.py.
"""

import asyncio
import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch
from frames import decode
from IPython.core.formatters import DisplayFormatter
from matplotlib.colors import to_rgb
from pictures import Outbox, hand_pacer, stored
from small_trainers import small_trainer

from widgets import Compare, Trainer
from widgets.views.compare import MIN_SIZE, run_hex
from widgets.views.pacer import Pacer
from widgets.views.style import run_colours

EVENTS = ("step", "epoch", "state", "reset", "backward")


def run(lr: float = 0.05, batch_size: int = 32, metrics: bool = True, valid: bool = True,
        seed: int = 0) -> Trainer:
    return small_trainer(n=128, held_out=64, data_seed=seed, seed=seed, optimizer="adam", lr=lr,
                         batch_size=batch_size, valid="held_out" if valid else None, valid_batch_size=64,
                         metrics=metrics, device="cpu")


def changed(outbox: Outbox) -> dict[str, tuple[str, int, int]]:
    """{channel: (op, start, rows)} over every message the outbox saw."""
    return {c["name"]: (c["op"], c["start"], c["shape"][0]) for c in outbox.changes()}


def near(pixels: np.ndarray, colour: str, tolerance: int = 30) -> np.ndarray:
    return np.abs(pixels - np.round(np.array(to_rgb(colour)) * 255)).max(axis=-1) <= tolerance


# --- what travels ----------------------------------------------------------------------------------

def test_each_run_is_stored_under_its_own_channels_with_its_name_colour_and_panels():
    runs = {"slow": run(0.003), "fast": run(0.05, valid=False, seed=1)}
    view = Compare(runs)
    runs["slow"].fit(2)
    runs["fast"].fit(3)
    for key, trainer in zip(("run0", "run1"), runs.values(), strict=True):
        history = trainer.history
        assert np.array_equal(stored(view.picture, f"{key}:step"), history.step_column("step"))
        assert np.allclose(stored(view.picture, f"{key}:loss"), history.step_column("loss"), rtol=1e-6)
        assert stored(view.picture, f"{key}:epoch:epoch").tolist() == list(range(1, len(history.epochs) + 1))
        assert np.allclose(stored(view.picture, f"{key}:epoch:train_acc"), history.epoch_column("train_acc"))
    assert np.allclose(stored(view.picture, "run0:epoch:valid_loss"),
                       runs["slow"].history.epoch_column("valid_loss"))
    assert "run1:epoch:valid_loss" not in view.picture.data
    assert stored(view.picture, "run0:step").dtype == np.int32 and stored(view.picture,
                                                                          "run0:loss").dtype == np.float32
    options = view.picture.options
    assert [(r["name"], r["key"], r["colour"], r["valid"],
             r["steps_per_epoch"]) for r in options["runs"]] == [
        ("slow", "run0", run_colours(2)[0], True, 4), ("fast", "run1", run_colours(2)[1], False, 4)]
    assert options["panels"] == view.panels == ["loss", "acc"] and options["smoothing"] == 0.9
    view.close()


def test_every_row_travels_once_and_a_round_carries_only_new_rows(monkeypatch):
    first, second = run(), run(seed=1)  # 4 steps an epoch
    pacer, clock = hand_pacer(fps=10)
    view = Compare({"first": first, "second": second}, pacer=pacer)
    outbox = Outbox(view.picture, monkeypatch)

    async def both() -> None:  # interleaved steps, all in one instant of the hand clock
        await asyncio.gather(first.play(1), second.play(1))

    asyncio.run(both())
    assert len(outbox.data_messages()) <= 3  # one round, then a send as each run stopped
    for name in ("run0:step", "run0:loss", "run1:step", "run1:loss"):
        parts = [(c["start"], c["shape"][0]) for c in outbox.changes() if c["name"] == name]
        assert parts[0][0] == 0 and sum(rows for _, rows in parts) == 4, (name, parts)
        assert all(start + rows == after for (start, rows), (after, _) in zip(parts, parts[1:])), (
            name,
            parts,
        )
    outbox.clear()
    clock.t += 1.0
    first.step()  # a round is due: only that step's row travels, nothing of the other run
    assert changed(outbox) == {"run0:step": ("extend", 4, 1), "run0:loss": ("extend", 4, 1)}
    assert sum(c["bytes"] for c in outbox.changes()) == 4 + 4
    view.close()


def test_an_epoch_sends_one_row_per_key_and_a_new_key_whole(monkeypatch):
    trainer = run(valid=False)
    view = Compare({"only": trainer}, pacer=Pacer(fps=0.001))
    trainer.fit(1)
    outbox = Outbox(view.picture, monkeypatch)
    trainer.history.log_epoch({"epoch": 2, "step": 8, "train_loss": 0.5, "train_acc": 0.7, "lr": 0.01,
                               "time": 1.0})
    view.update()
    ops = changed(outbox)
    assert {name: op for name, op in ops.items() if name != "run0:epoch:lr"} == {
        f"run0:epoch:{key}": ("extend", 1, 1) for key in ("epoch", "step", "train_loss", "train_acc")}
    assert ops["run0:epoch:lr"] == ("set", 0, 2)  # a key first seen now: the whole column, NaN before
    assert (
        np.isnan(view.picture.channel("run0:epoch:lr")[0])
        and view.picture.channel("run0:epoch:lr")[1] == 0.01
    )
    assert "run0:epoch:time" not in ops
    view.close()


def test_a_cleared_run_is_sent_whole_and_the_other_runs_not_at_all(monkeypatch):
    kept, cleared = run(), run(seed=1)
    view = Compare({"kept": kept, "cleared": cleared})
    kept.fit(1)
    cleared.fit(1)
    outbox = Outbox(view.picture, monkeypatch)
    cleared.reset()
    ops = changed(outbox)
    assert ops["run1:step"] == ("set", 0, 0) and ops["run1:loss"] == ("set", 0, 0)
    assert not any(name.startswith("run0:") for name in ops)
    assert len(stored(view.picture, "run1:step")) == 0 and len(stored(view.picture, "run0:step")) == 4
    outbox.clear()
    cleared.fit(1)  # training again: the rows of the new run from the start
    first = next(c for c in outbox.changes() if c["name"] == "run1:step")
    assert (first["op"], first["start"]) == ("extend", 0)
    assert np.array_equal(stored(view.picture, "run1:step"), cleared.history.step_column("step"))
    view.close()


def test_a_loaded_or_thinned_history_is_sent_whole(monkeypatch):
    trainer, other = run(), run(seed=1)
    other.fit(2)
    view = Compare({"run": trainer}, pacer=Pacer(fps=0.001))
    trainer.fit(1)
    outbox = Outbox(view.picture, monkeypatch)
    trainer.history.load_state_dict(other.history.state_dict())
    view.update()
    ops = changed(outbox)
    assert ops["run0:step"] == ("set", 0, 8) and ops["run0:epoch:epoch"] == ("set", 0, 2)
    assert np.allclose(view.picture.channel("run0:loss"), other.history.step_column("loss"), rtol=1e-6)

    history = trainer.history
    history.max_rows = 1024  # the next row past 1,024 thins the older half
    for step in range(9, 1025):
        history.log_step(step, 1.0)
    view.update()
    outbox.clear()
    history.log_step(1025, 1.0)
    view.update()
    assert changed(outbox)["run0:step"][0] == "set"
    assert np.array_equal(view.picture.channel("run0:step"), history.step_column("step"))
    view.close()


def test_a_round_sends_only_the_new_rows_of_four_runs_of_a_million_steps(monkeypatch):
    runs = {f"run {k}": run(seed=k, valid=False, metrics=False) for k in range(4)}
    steps = torch.arange(1, 1_000_001)
    for k, trainer in enumerate(runs.values()):
        columns = {"step": steps, "epoch": torch.zeros_like(steps), "loss": 1.0 / steps + k,
                   "lr": torch.full((len(steps),), 0.1), "time": torch.zeros(len(steps))}
        trainer.history.load_state_dict({"columns": columns, "epochs": []})
    view = Compare(runs, pacer=Pacer(fps=0.001))
    outbox = Outbox(view.picture, monkeypatch)
    for k, trainer in enumerate(runs.values()):
        for step in range(1_000_001, 1_000_051):
            trainer.history.log_step(step, 1e-6 + k)
    view.update()
    assert len(outbox.data_messages()) == 1
    sizes = {c["name"]: (c["op"], c["start"], c["bytes"]) for c in outbox.changes()}
    assert sizes == {f"run{k}:{name}": ("extend", 1_000_000, 50 * size)
                     for k in range(4) for name, size in (("step", 4), ("loss", 4))}
    view.close()


# --- following the runs ------------------------------------------------------------------------------

def test_interleaved_runs_are_stored_whole_when_they_stop_and_close_unsubscribes():
    short, long = run(batch_size=64), run(batch_size=16, seed=1)  # 2 and 8 steps an epoch
    ticks = itertools.count()  # every look at the clock is a second later: a round at every step
    view = Compare({"short": short, "long": long}, pacer=Pacer(time_fn=lambda: float(next(ticks))))

    async def both() -> None:  # two play tasks on one loop: their steps interleave
        await asyncio.gather(short.play(3), long.play(3))

    asyncio.run(both())
    assert short.global_step == 6 and long.global_step == 24
    assert stored(view.picture, "run0:step")[-1] == 6 and stored(view.picture, "run1:step")[-1] == 24
    assert view.pacer.rounds >= 2  # live while they trained
    view.close()
    for trainer in (short, long):
        assert all(trainer.listeners(event) == [] for event in EVENTS)


def test_a_paused_run_stores_its_last_step():
    trainer = run(batch_size=8)
    view = Compare({"paused": trainer})

    async def play_then_pause():
        task = trainer.play()
        while trainer.global_step < 20:
            await asyncio.sleep(0.001)
        trainer.pause()
        await task

    asyncio.run(play_then_pause())
    assert trainer.state == "paused"
    assert stored(view.picture, "run0:step")[-1] == trainer.global_step
    view.close()


def test_a_run_added_live_joins_the_plot_and_the_panels_shrink_to_the_shared_metrics():
    first, second = run(), run(0.02, metrics=False, valid=False, seed=1)
    view = Compare({"first": first})
    first.fit(1)
    assert view.panels == ["loss", "acc"]
    added = []
    handle = first.on("step",
                      lambda record: added.append(view.add("second",
                                                           second)) if record["step"] == 6 else None)
    first.fit(1)  # added while the first run trains
    handle.remove()
    assert added == [None] and list(view.runs) == ["first", "second"]
    assert view.panels == ["loss"] and view.picture.options["panels"] == ["loss"]
    second.fit(2)
    assert [r["name"] for r in view.picture.options["runs"]] == ["first", "second"]
    assert view.colours == dict(zip(["first", "second"], run_colours(2), strict=True))
    assert len(stored(view.picture, "run1:step")) == 8
    series = view.series
    assert ("second", "loss", "valid") not in series and len(series[("second", "loss", "train")][0]) == 8
    view.close()


def test_series_follow_the_options_switched_in_the_page():
    trainer = run(batch_size=16)  # 8 steps an epoch
    view = Compare({"only": trainer}, metrics=[])
    trainer.fit(2)
    x, _ = view.series[("only", "loss", "train")]
    assert x[-1] == pytest.approx(2.0) and view.x_axis == "epochs"
    view.picture.x_axis = "steps"  # as the page's select sets it
    assert view.x_axis == "steps" and view.series[("only", "loss", "train")][0][-1] == 16
    assert view.series[("only", "loss", "valid")][0].tolist() == [8.0, 16.0]
    view.log_scale = True
    assert view.picture.log_scale is True
    view.close()


# --- stills -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_still_shows_each_run_in_its_colour_and_follows_the_log_option():
    runs = {"slow": run(0.003), "fast": run(0.05, seed=1), "big batches": run(0.02, batch_size=64, seed=2)}
    view = Compare(runs)
    empty = decode(view.snapshot_png())
    for trainer in runs.values():
        trainer.fit(3)
    linear = decode(view.snapshot_png())
    assert linear.shape[:2] == (view.picture.height, view.picture.width)
    plot = linear[:, : int(0.8 * linear.shape[1])]  # left of the legend
    for name, colour in view.colours.items():
        assert near(plot, colour).sum() >= 80, f"{name} missing from the panels"
        assert near(empty[:, : int(0.8 * empty.shape[1])], colour).sum() < 10
    view.picture.log_scale = True
    assert not np.array_equal(decode(view.snapshot_png()), linear)
    view.close()


def test_the_colours_are_the_shared_run_colours():
    for runs in (0, 1, 3, 8, 9, 20, 25):
        assert run_hex(runs) == run_colours(runs)


@pytest.mark.slow
def test_a_recording_keeps_a_frame_per_epoch(tmp_path):
    from PIL import Image

    first, second = run(batch_size=64), run(batch_size=64, seed=1)
    view = Compare({"first": first, "second": second}, pacer=Pacer(fps=0.001))
    view.start_recording(max_frames=50)
    first.fit(3)
    second.fit(2)
    assert view.frames_recorded == 6  # the first frame and one per epoch of either run
    path = view.save_gif(tmp_path / "runs.gif")
    with Image.open(path) as gif:
        assert gif.n_frames >= 5
    view.close()


def test_display_shows_the_widget_with_a_stable_text_and_a_still():
    view = Compare({"a": run()})
    data, _ = DisplayFormatter().format(view)
    assert data["text/plain"] == "Compare()"
    assert "application/vnd.jupyter.widget-view+json" in data and "image/png" in data
    assert "lt-compare" in view.widget.get_state()["_dom_classes"]
    view.close()


@pytest.mark.slow
def test_importing_compare_loads_no_matplotlib():
    code = "import sys, widgets.views.compare; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- bad input ------------------------------------------------------------------------------------------

def test_bad_input_is_refused_with_a_clear_message_before_anything_changes():
    trainer, other = run(), run(seed=1)
    cases = [
        (([trainer],), {}, TypeError, "Compare expects a dict of run name -> Trainer or History, got list"),
        (({},), {}, ValueError, "needs at least one run"),
        (({"a": trainer.model},), {}, TypeError, "run 'a' must be a Trainer or a History, got Sequential"),
        (({1: trainer},), {}, TypeError, "run names must be non-empty strings, got 1"),
        (({"a": trainer, "b": trainer},), {}, ValueError, "runs 'a' and 'b' are the same run"),
        (({"a": trainer},), {"metrics": ["f1"]}, ValueError, "metric 'f1' is not a metric of run"),
        (({"a": trainer},), {"metrics": "acc"}, TypeError, "metrics must be a list of metric names"),
        (({"a": trainer},), {"x_axis": "time"}, ValueError, "x_axis must be one of"),
        (({"a": trainer},), {"log_scale": "yes"}, TypeError, "log_scale must be True or False, got str"),
        (({"a": trainer},), {"smoothing": 1.0}, ValueError,
         r"smoothing must be a number in \[0, 1\), got 1.0"),
        (({"a": trainer},), {"pacer": "fast"}, TypeError, "pacer must be a widgets.views.Pacer"),
        (({"a": trainer},), {"size": (MIN_SIZE[0] - 1, 300)}, ValueError,
         r"size must be at least \(400, 200\)"),
        (({"a": trainer},), {"size": "big"}, TypeError,
         r"size must be \(width, height\) in pixels, got 'big'"),
    ]
    for args, kwargs, kind, message in cases:
        with pytest.raises(kind, match=message):
            Compare(*args, **kwargs)
    assert all(trainer.listeners(event) == [] for event in EVENTS)
    view = Compare({"a": trainer}, metrics=["acc"])
    with pytest.raises(ValueError, match="a run named 'a' is already compared"):
        view.add("a", other)
    with pytest.raises(TypeError, match="run 'b' must be a Trainer or a History"):
        view.add("b", None)
    with pytest.raises(ValueError, match="runs 'a' and 'b' are the same run"):
        view.add("b", trainer)
    with pytest.raises(ValueError, match=r"metric 'acc' is not a metric of run\(s\) \['b'\]"):
        view.add("b", run(metrics=False))
    with pytest.raises(ValueError, match="x_axis must be one of"):
        view.x_axis = "time"
    assert list(view.runs) == ["a"] and other.listeners("step") == [] and view.x_axis == "epochs"
    assert [r["name"] for r in view.picture.options["runs"]] == ["a"]
    assert repr(view) == "Compare()"
    view.close()


def test_runs_of_hand_written_loops_are_compared_live_from_their_histories(monkeypatch):
    from widgets.training.history import History

    pacer, clock = hand_pacer(fps=10)
    runs = {"lr 0.1": History(), "lr 0.01": History()}
    view = Compare(runs, pacer=pacer)
    outbox = Outbox(view.picture, monkeypatch)
    assert view.panels == ["loss"] and view.runs == runs
    for lr, history in zip((0.1, 0.01), runs.values()):
        w = torch.zeros(())
        for _epoch in range(2):
            for _ in range(5):
                clock.t += 0.05
                loss = (w - 1.0) ** 2
                w = w + lr * 2 * (1.0 - w)
                history.log(float(loss))
            history.end_epoch(valid_loss=float((w - 1.0) ** 2), valid_acc=float(w))
    view.flush()
    assert len(outbox.data_messages()) >= 8  # rounds came while both loops ran
    assert view.panels == ["loss", "acc"]  # a metric appears once both loops logged it
    assert stored(view.picture,
                  "run1:step")[-1] == 10 and len(stored(view.picture, "run0:epoch:valid_acc")) == 2
    series = view.series
    assert series[("lr 0.1", "acc", "valid")][1][-1] > series[("lr 0.01", "acc", "valid")][1][-1]
    view.close()


def test_each_run_is_named_with_a_colour_of_its_own_in_the_runs_order():
    view = Compare({"slow": run(0.003), "fast": run(0.05, valid=False, seed=1)})
    colours = view.colours
    assert list(colours) == ["slow", "fast"]
    assert np.allclose([to_rgb(colour) for colour in colours.values()], [to_rgb(c) for c in run_colours(2)],
                       atol=1 / 255)
    assert len(set(colours.values())) == 2
    view.close()
