"""Dashboard: one call lays out the views of a real Trainer, sending on one shared pacer."""

import asyncio
import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from small_trainers import small_trainer, training_points
from torch import nn

from widgets.training.trainer import Trainer
from widgets.views.dashboard import Dashboard


def make_trainer(verbose: bool = False) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    trainer = small_trainer(n=300, hidden=(32, 32), lr=0.3, device=None, verbose=verbose)
    return (trainer, *training_points(trainer))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_layout_classes_and_one_shared_pacer():
    trainer, x, y = make_trainer()
    dashboard = Dashboard(trainer, x, y)
    assert [type(v).__name__ for v in dashboard.views] == ["TrainerControls", "LossCurve", "DecisionBoundary",
                                                           "ModuleInspector"]
    assert {id(view.pacer) for view in dashboard.pictures} == {id(dashboard.pacer)}
    assert "lt-dashboard" in dashboard.widget._dom_classes
    controls_row, plots_row, inspector_row = dashboard.widget.children
    assert controls_row is dashboard.controls.widget and inspector_row is dashboard.inspector.widget
    assert list(plots_row.children) == [dashboard.loss_curve.widget, dashboard.boundary.widget]
    without_points = Dashboard(make_trainer()[0], inspector=False)
    assert (
        without_points.boundary is None
        and without_points.inspector is None
        and len(without_points.views) == 2
    )


def test_repr_is_stable_and_displays_as_a_widget_with_its_still():
    first, second = Dashboard(make_trainer()[0]), Dashboard(*make_trainer())
    assert repr(first) == repr(second) == "Dashboard()"
    data, _ = first._repr_mimebundle_()
    assert data["text/plain"] == "Dashboard()"
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == first.widget.model_id
    assert data["image/png"]  # what a viewer without JavaScript shows


def test_the_pictures_send_in_the_same_rounds_and_the_last_step_is_stored(monkeypatch):
    from pictures import HandClock, Outbox, stored

    trainer, x, y = make_trainer()
    dashboard = Dashboard(trainer, x, y, fps=10)
    clock = HandClock()
    # the Dashboard's own pacer on a hand clock: a step takes 40 ms, so a round comes every third step
    monkeypatch.setattr(dashboard.pacer, "time_fn", clock)
    def next_step(record: dict) -> None:
        dashboard.boundary.settle()  # the worker's field of this round is sent before the next step
        clock.t += 0.04

    trainer.on("step", next_step)
    outboxes = {type(view).__name__: Outbox(view.picture, monkeypatch) for view in dashboard.pictures}
    trainer.fit(2)  # 20 steps
    dashboard.boundary.settle()  # the boundary's fields come from the views' worker
    counts = {name: len(box.data_messages()) for name, box in outboxes.items()}
    rounds = dashboard.pacer.rounds
    assert 5 <= rounds <= 8, rounds
    for name in ("LossCurve", "ModuleInspector"):
        assert rounds <= counts[name] <= rounds + 1, counts  # every round, then the final send
    fields = [message for message, _ in outboxes["DecisionBoundary"].data_messages()
              if "field" in {change["name"] for change in message["changes"]}]
    assert rounds <= len(fields) <= rounds + 1, counts  # a field every round, then the final one
    last, _ = outboxes["DecisionBoundary"].data_messages()[-1]
    assert {change["name"]: change["shape"] for change in last["changes"]}["field"] == [100, 100]
    assert stored(dashboard.loss_curve.picture, "step")[-1] == trainer.global_step == 20
    assert stored(dashboard.boundary.picture, "live")[0] == 2  # the final field, of epoch 2, is stored
    dashboard.close()


@pytest.mark.slow
def test_snapshot_composes_the_plots_and_reset_restores_them():
    trainer, x, y = make_trainer()
    dashboard = Dashboard(trainer, x, y)
    initial = pixels(dashboard.snapshot().data)
    curve = pixels(dashboard.loss_curve.snapshot().data)
    boundary = pixels(dashboard.boundary.snapshot().data)
    histogram = pixels(dashboard.inspector.snapshot().data)
    assert initial.shape[1] == max(curve.shape[1] + 8 + boundary.shape[1], histogram.shape[1])
    assert initial.shape[0] == max(curve.shape[0], boundary.shape[0]) + 8 + histogram.shape[0]
    trainer.fit(3)
    trained = pixels(dashboard.snapshot().data)
    assert np.abs(trained - initial).sum() > 0
    trainer.reset()
    assert np.array_equal(pixels(dashboard.inspector.snapshot().data), histogram)
    assert np.array_equal(pixels(dashboard.boundary.snapshot().data), boundary)
    assert np.array_equal(pixels(dashboard.loss_curve.snapshot().data), curve)
    assert dashboard.controls.status_text().startswith("epoch 0 · step 0 · loss — ·")


@pytest.mark.slow
def test_live_while_playing_and_clickable_from_another_thread():
    trainer, x, y = make_trainer()

    async def scenario() -> None:
        dashboard = Dashboard(trainer, x, y)
        first_boundary = dashboard.boundary.snapshot_png()
        initial = {type(v).__name__: pixels(v.snapshot().data) for v in dashboard.views[1:]}
        thread = threading.Thread(target=lambda: setattr(dashboard.controls.play_button, "value", True))
        thread.start()
        thread.join()
        deadline = time.monotonic() + 20
        while trainer.epoch < 4:
            assert time.monotonic() < deadline, "training did not progress"
            await asyncio.sleep(0.005)
        threading.Thread(target=lambda: setattr(dashboard.controls.play_button, "value", False)).start()
        while trainer.is_playing:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        assert trainer.state == "paused" and dashboard.controls.play_button.value is False
        assert dashboard.boundary.snapshot_png() != first_boundary
        assert f"step {trainer.global_step} ·" in dashboard.controls.status.value
        threading.Thread(target=dashboard.controls.reset_button.click).start()
        while trainer.global_step:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        for view in dashboard.views[1:]:
            assert np.array_equal(pixels(view.snapshot().data),
                                  initial[type(view).__name__]), type(view).__name__
        assert dashboard.controls.status_text() == "epoch 0 · step 0 · loss — · lr 0.3 · 0 steps/s · idle"

    asyncio.run(scenario())


def test_bad_input_leaves_the_trainer_untouched():
    with pytest.raises(TypeError, match="Dashboard expects a Trainer, got Sequential"):
        Dashboard(nn.Sequential())
    trainer, x, y = make_trainer(verbose=True)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        Dashboard(trainer, torch.randn(10, 3), torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="need x"):
        Dashboard(trainer, y=y)
    events = ("step", "epoch", "state", "reset", "backward")
    assert all(trainer.listeners(event) == [] for event in events), (
        "a refused Dashboard left a view subscribed"
    )
