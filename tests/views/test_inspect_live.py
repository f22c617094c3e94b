"""ModuleInspector following a real Trainer: rounds on the pacer, update sizes, parameter copies, stops,
reset, threads."""

import asyncio
import threading

import numpy as np
import pytest
import torch
from small_trainers import small_trainer

import widgets.views.inspect as inspect_module
from tests.frames import FakeTime
from widgets.training.trainer import Trainer
from widgets.views.inspect import ModuleInspector
from widgets.views.pacer import Pacer


class Ticking:
    """A time source that moves a second at every look: every round of a pacer on it is due."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def make_trainer(lr: float = 0.2, momentum: float = 0.0) -> Trainer:
    return small_trainer(n=256, data_seed=3, hidden=(64, 64), lr=lr, momentum=momentum, device=None)


def every_step() -> Pacer:
    return Pacer(fps=120, pause=0, time_fn=Ticking())


def numpy_counts(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    return np.histogram(values.detach().numpy().astype(np.float32).ravel(), bins=edges)[0].astype(np.float32)


def stored(inspector: ModuleInspector, name: str) -> np.ndarray:
    return np.frombuffer(inspector.picture.data[name]["buffer"], np.float32)


def test_update_size_is_the_norm_of_the_optimizer_step():
    trainer = make_trainer(lr=0.2)
    inspector = ModuleInspector(trainer, pacer=every_step())
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
    assert f"{stats['2.weight'].update:.4g}" in inspector.stats_html


def test_update_size_with_momentum_matches_an_independent_copy():
    trainer = make_trainer(lr=0.1, momentum=0.9)
    inspector = ModuleInspector(trainer, pacer=every_step())
    for _ in range(3):
        trainer.step()
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.step()
    assert inspector.update_step == 4
    for name, param in trainer.model.named_parameters():
        expected = (param.detach() - before[name]).double().norm().item()
        assert inspector.stats()[name].update == pytest.approx(expected, rel=1e-4)


def test_parameters_are_copied_only_when_a_round_with_the_table_is_due(monkeypatch):
    copies = []
    real_copy = inspect_module.copy_parameters
    monkeypatch.setattr(inspect_module, "copy_parameters", lambda model: copies.append(1) or real_copy(model))
    now = FakeTime()
    trainer = make_trainer()
    # its table drawn at t = 0
    inspector = ModuleInspector(trainer, pacer=Pacer(fps=10, pause=0, time_fn=now))
    now.t = 0.6
    trainer.fit(2)  # 16 steps while time stands still: one round, one copy
    assert len(copies) == 1 and inspector.update_step == 1
    now.t += 0.3  # a round is due (10 a second), the table is not (2 a second): no copy
    trainer.fit(1)
    assert len(copies) == 1 and inspector.update_step == 1
    now.t += 0.6  # the table last drawn as the run stopped, 0.6 s ago: due again
    trainer.fit(1)
    assert len(copies) == 2 and inspector.update_step == 25


def test_each_round_sends_the_live_histogram_in_a_few_hundred_bytes():
    trainer = make_trainer(lr=0.5)
    inspector = ModuleInspector(trainer, pacer=every_step(), parameter="2.weight")
    picture = inspector.picture
    weight = trainer.model[2].weight
    sizes, matches = [], []

    def after_the_round(record: dict) -> None:  # subscribed after the inspector: its round has run
        sizes.append(picture.bytes_sent)
        matches.append(all(np.array_equal(picture.channel(f"{panel}:counts"),
                                          numpy_counts(tensor, picture.channel(f"{panel}:edges")))
                           for panel, tensor in (("values", weight), ("gradient", weight.grad))))

    trainer.on("step", after_the_round)
    sent = picture.messages_sent
    trainer.fit(1)
    assert picture.messages_sent - sent >= trainer.steps_per_epoch, "a message at every due round"
    assert len(matches) == trainer.steps_per_epoch and all(matches), (
        "the counts of the tensors as they were then"
    )
    per_round = np.diff(sizes)
    assert per_round.max() <= 2 * (41 + 40) * 4, "edges and counts of two panels at most"
    assert np.median(per_round) == 2 * 40 * 4, "mostly new counts only: the limits move in steps"


@pytest.mark.slow
def test_a_recording_keeps_a_still_per_epoch():
    trainer = make_trainer(lr=0.5)
    inspector = ModuleInspector(trainer)
    inspector.start_recording()
    trainer.fit(3)
    pngs = inspector.recorded_pngs()
    assert len(pngs) == 1 + 3 + 1, "the first, one per epoch, and the state now"
    assert pngs[0] != pngs[1] and pngs[-2] == pngs[-1]


def test_a_stopped_run_sends_and_stores_its_final_state():
    now = FakeTime()
    trainer = make_trainer()
    # time stands still: no rounds
    inspector = ModuleInspector(trainer, pacer=Pacer(fps=10, pause=0, time_fn=now))
    first = stored(inspector, "values:counts").copy()
    trainer.fit(2)
    weight = trainer.model[0].weight
    edges = stored(inspector, "values:edges")
    assert np.array_equal(stored(inspector, "values:counts"), numpy_counts(weight, edges))
    assert not np.array_equal(stored(inspector, "values:counts"), first)
    assert np.array_equal(stored(inspector, "gradient:counts"),
                          numpy_counts(weight.grad, stored(inspector, "gradient:edges")))
    assert not inspector.picture.pending, "everything was sent"
    stats = inspector.stats()["0.weight"]
    assert stats.mean == pytest.approx(float(weight.detach().double().mean()), abs=1e-6)


def test_play_and_pause_leave_the_final_state_shown():
    trainer = make_trainer()
    inspector = ModuleInspector(trainer, pacer=Pacer(fps=10, pause=0, time_fn=FakeTime()))

    async def play_then_pause() -> None:
        task = trainer.play()
        while trainer.global_step < 13:
            await asyncio.sleep(0)
        trainer.pause()
        await task

    asyncio.run(play_then_pause())
    assert trainer.state == "paused"
    weight = trainer.model[0].weight
    assert np.array_equal(stored(inspector, "values:counts"),
                          numpy_counts(weight, stored(inspector, "values:edges")))


def test_reset_brings_back_the_first_picture():
    trainer = make_trainer(lr=0.5)
    inspector = ModuleInspector(trainer, pacer=every_step())
    initial_png = inspector.snapshot_png()
    initial = {name: stored(inspector, name).copy() for name in inspector.picture.data}
    trainer.run_epoch()
    trainer.run_epoch()
    assert inspector.snapshot_png() != initial_png
    assert len(inspector.picture.channel("gradient:counts")) == 40
    trainer.reset()
    assert inspector.update_step is None and "not measured yet" in inspector.stats_html
    assert all(s.grad_norm is None for s in inspector.stats().values())
    assert inspector.picture.options["notes"]["gradient"] == "no gradient yet", (
        "the gradients are of weights now gone"
    )
    assert {name: stored(inspector, name) for name in inspector.picture.data}.keys() == initial.keys()
    for name, values in initial.items():
        assert np.array_equal(stored(inspector, name), values), name
    assert inspector.snapshot_png() == initial_png


def test_a_choice_made_on_another_thread_is_shown_on_the_kernels_loop():
    trainer = make_trainer()
    ran_on = []

    async def scenario() -> None:
        inspector = ModuleInspector(trainer)  # made on the loop, as in a notebook
        real_send = inspector.picture.send
        inspector.picture.send = lambda: ran_on.append(threading.get_ident()) or real_send()
        dropdown = next(
            c for c in inspector.widget.children if "lt-inspector-choice" in c.get_state()["_dom_classes"]
        )
        # a comm message on a subshell
        worker = threading.Thread(target=lambda: setattr(dropdown, "value", "2.weight"))
        worker.start()
        worker.join()
        assert ran_on == [], "not on the thread the message came on"
        await asyncio.sleep(0.01)
        assert inspector.picture.options["name"] == "2.weight"

    asyncio.run(scenario())
    assert ran_on and set(ran_on) == {threading.get_ident()}


def test_unsubscribes_on_close():
    trainer = make_trainer()
    listeners = {event: len(trainer.listeners(event)) for event in ("step", "backward", "state")}
    inspector = ModuleInspector(trainer)
    inspector.close()
    trainer.step()
    assert inspector.update_step is None and list(trainer.callback_errors) == []
    assert {event: len(trainer.listeners(event)) for event in listeners} == listeners


def test_a_bad_argument_leaves_the_trainer_untouched():
    trainer = make_trainer()
    listeners = {event: len(trainer.listeners(event)) for event in ("step", "backward", "state", "reset")}
    for bad in ({"pacer": "fast"}, {"size": (10, 10)}, {"parameter": "9.weight"}):
        with pytest.raises((TypeError, ValueError)):
            ModuleInspector(trainer, **bad)
    assert {event: len(trainer.listeners(event)) for event in listeners} == listeners
    trainer.step()
    assert list(trainer.callback_errors) == []
