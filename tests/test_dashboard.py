"""Dashboard: one call lays out the views of a real Trainer on one shared frame clock."""

import asyncio
import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets.data import spirals
from widgets.training.metrics import accuracy
from widgets.training.trainer import Trainer
from widgets.views.dashboard import Dashboard


def make_trainer(verbose: bool = False) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = spirals(300, sd=0.05, seed=2)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device=None, verbose=verbose)
    return trainer, x, y


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_layout_classes_and_one_shared_clock():
    trainer, x, y = make_trainer()
    dashboard = Dashboard(trainer, x, y)
    assert [type(v).__name__ for v in dashboard.views] == ["TrainerControls", "LossCurve", "DecisionBoundary", "ModuleInspector"]
    assert {id(view.clock) for view in dashboard.views} == {id(dashboard.clock)}
    assert "lt-dashboard" in dashboard.widget._dom_classes
    controls_row, plots_row, inspector_row = dashboard.widget.children
    assert controls_row is dashboard.controls.widget and inspector_row is dashboard.inspector.widget
    assert list(plots_row.children) == [dashboard.loss_curve.widget, dashboard.boundary.widget]
    without_points = Dashboard(make_trainer()[0], inspector=False)
    assert without_points.boundary is None and without_points.inspector is None and len(without_points.views) == 2


def test_repr_is_stable_and_displays_as_a_widget():
    first, second = Dashboard(make_trainer()[0]), Dashboard(*make_trainer())
    assert repr(first) == repr(second) == "Dashboard()"
    data, _ = first._repr_mimebundle_()
    assert data["text/plain"] == "Dashboard()"
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == first.widget.model_id


def test_every_frame_is_charged_to_the_shared_clock_within_its_budget():
    trainer, x, y = make_trainer()
    dashboard = Dashboard(trainer, x, y)
    clock = dashboard.clock
    before = {type(v).__name__: v.frames_drawn for v in dashboard.views[1:]}
    assert clock.frames == 0 and clock.spent == 0.0  # building the views cost the training budget nothing
    first_curve = dashboard.loss_curve.frame.png
    costs = []
    charge = clock.charge
    clock.charge = lambda seconds: (costs.append(seconds), charge(seconds))
    at_steps = []
    started = time.perf_counter()
    trainer.on("step", lambda record: at_steps.append((time.perf_counter() - started, clock.spent)))
    trainer.fit(30)
    elapsed, spent = at_steps[-1]
    # while steps run: at most the burst, plus `budget` of the time, plus one tick that may overdraw
    # (the views draw together in a tick: at most one frame each)
    one_tick = sum(sorted(costs)[-len(dashboard.views):])
    assert spent <= clock.burst + clock.budget * elapsed + one_tick
    after = {type(v).__name__: v.frames_drawn for v in dashboard.views[1:]}  # the plots; the status line is text
    assert sum(after.values()) - sum(before.values()) == clock.frames
    assert all(after[name] > before[name] for name in ("LossCurve", "DecisionBoundary", "ModuleInspector"))
    assert dashboard.loss_curve.frame.png != first_curve
    assert dashboard.controls.status_text().startswith(f"epoch 30 · step {trainer.global_step} ·")


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


def test_live_while_playing_and_clickable_from_another_thread():
    trainer, x, y = make_trainer()

    async def scenario() -> None:
        dashboard = Dashboard(trainer, x, y)
        first_boundary = dashboard.boundary.frame.png
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
        assert dashboard.boundary.frame.png != first_boundary
        assert f"step {trainer.global_step} ·" in dashboard.controls.status.value
        threading.Thread(target=dashboard.controls.reset_button.click).start()
        while trainer.global_step:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        for view in dashboard.views[1:]:
            assert np.array_equal(pixels(view.snapshot().data), initial[type(view).__name__]), type(view).__name__
        assert dashboard.controls.status_text() == "epoch 0 · step 0 · loss — · lr 0.3 · 0 steps/s · idle"

    asyncio.run(scenario())


def test_a_panel_drawn_again_alone_matches_the_whole_figure_drawn_again():
    torch.manual_seed(0)
    x, y = spirals(300, sd=0.05, seed=2)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.3),
                      DataLoader(TensorDataset(x[:200], y[:200]), batch_size=32),
                      valid_loader=DataLoader(TensorDataset(x[200:], y[200:]), batch_size=100),
                      metrics={"acc": accuracy}, verbose=False)
    dashboard = Dashboard(trainer, x, y)
    trainer.fit(3)
    assert len(dashboard.loss_curve.frame.figure.axes) == 2  # the loss, and the metric beside it
    for view in (dashboard.loss_curve, dashboard.inspector):
        frame = view.frame
        for ax in frame.figure.axes:
            low, high = ax.get_xlim()
            ax.set_xlim(low, high + 2 * (high - low))  # new tick labels in this panel only
            frame.draw_background([ax])
            alone = pixels(frame.blit())
            frame.draw_background()
            assert np.array_equal(alone, pixels(frame.blit())), f"{type(view).__name__}: a panel's cell misses some of its pixels"
    dashboard.close()


def test_bad_input_leaves_the_trainer_untouched():
    with pytest.raises(TypeError, match="Dashboard expects a Trainer, got Sequential"):
        Dashboard(nn.Sequential())
    trainer, x, y = make_trainer(verbose=True)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        Dashboard(trainer, torch.randn(10, 3), torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="need x"):
        Dashboard(trainer, y=y)
    events = ("step", "epoch", "state", "reset", "backward")
    assert all(trainer.listeners(event) == [] for event in events), "a refused Dashboard left a view subscribed"
