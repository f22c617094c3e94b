"""ModuleInspector following a real Trainer: update sizes, throttled parameter copies, reset."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import widgets.views.inspect as inspect_module
from widgets.data import spirals
from widgets.training.trainer import Trainer
from widgets.views.clock import FrameClock
from widgets.views.inspect import ModuleInspector


class ManualTime:
    """A clock's time source that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_trainer(lr: float = 0.2, momentum: float = 0.0) -> Trainer:
    torch.manual_seed(0)
    x, y = spirals(256, sd=0.05, seed=3)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device=None, verbose=False)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_update_size_is_the_norm_of_the_optimizer_step():
    trainer = make_trainer(lr=0.2)
    inspector = ModuleInspector(trainer, clock=FrameClock(time_fn=ManualTime()))  # frames cost nothing: every step draws
    assert inspector.update_step is None and "not measured yet" in inspector.stats_html
    trainer.step()
    assert inspector.update_step == 1
    stats = inspector.stats()
    for name, param in trainer.model.named_parameters():
        grad = param.grad.detach().numpy().astype(np.float64)
        # plain SGD: the step moved each parameter by lr * grad exactly
        assert stats[name].update == pytest.approx(0.2 * np.linalg.norm(grad), rel=1e-4)
        assert stats[name].grad_norm == pytest.approx(np.linalg.norm(grad), rel=1e-5)
        values = param.detach().numpy().astype(np.float64)
        assert stats[name].mean == pytest.approx(values.mean(), abs=1e-6)
        assert stats[name].std == pytest.approx(values.std(ddof=1), rel=1e-4)
    assert "optimizer step 1" in inspector.stats_html


def test_update_size_with_momentum_matches_an_independent_copy():
    trainer = make_trainer(lr=0.1, momentum=0.9)
    time_source = ManualTime()  # a frame is due at every step, however fast the steps are
    inspector = ModuleInspector(trainer, clock=FrameClock(max_fps=1000, budget=1.0, burst=10.0, time_fn=time_source))
    for _ in range(3):
        time_source.now += 0.01
        trainer.step()
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    time_source.now += 0.01
    trainer.step()
    assert inspector.update_step == 4
    for name, param in trainer.model.named_parameters():
        expected = (param.detach() - before[name]).double().norm().item()
        assert inspector.stats()[name].update == pytest.approx(expected, rel=1e-4)


def test_parameters_are_copied_only_when_a_frame_is_due(monkeypatch):
    copies = []
    real_copy = inspect_module.copy_parameters
    monkeypatch.setattr(inspect_module, "copy_parameters", lambda model: copies.append(1) or real_copy(model))
    time_source = ManualTime()
    trainer = make_trainer()
    inspector = ModuleInspector(trainer, clock=FrameClock(max_fps=10, budget=1.0, time_fn=time_source))
    trainer.fit(2)  # 16 steps while time stands still: one tick, one copy
    assert len(copies) == 1 and inspector.update_step == 1
    time_source.now += 0.15
    trainer.fit(1)
    assert len(copies) == 2 and inspector.update_step == 17


def test_histogram_moves_with_training_and_reset_restores_the_first_frame():
    trainer = make_trainer(lr=0.5)
    inspector = ModuleInspector(trainer, clock=FrameClock(max_fps=1000, budget=1.0, burst=10.0))
    initial_png = inspector.snapshot().data
    initial = pixels(initial_png)
    trainer.run_epoch()
    trainer.run_epoch()
    trained = pixels(inspector.snapshot().data)
    assert np.abs(trained - initial).sum() > 0
    right = slice(initial.shape[1] // 2, None)
    assert np.abs(trained[:, right] - initial[:, right]).sum() > 0  # the gradient panel filled in
    trainer.reset()
    assert inspector.update_step is None
    assert all(s.grad_norm is None for s in inspector.stats().values())
    assert np.array_equal(pixels(inspector.snapshot().data), initial)


def test_unsubscribes_on_close():
    trainer = make_trainer()
    inspector = ModuleInspector(trainer)
    inspector.close()
    trainer.step()
    assert inspector.update_step is None and list(trainer.callback_errors) == []
