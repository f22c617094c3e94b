"""play/pause on asyncio, pause from other threads, reset while playing, Ctrl-C during fit."""

import asyncio
import signal
import threading

import pytest
import torch
from small_trainers import small_trainer

from widgets.training.trainer import NonFiniteLossError


def make_trainer(seed=0, n=96, batch_size=16):
    return small_trainer(problem="xor", n=n, held_out=32, valid="held_out", data_seed=seed, seed=seed,
                         dropout=0.2,
                         optimizer="adam", lr=0.01, batch_size=batch_size, metrics=True, device="cpu")


def weights(trainer):
    return [p.detach().clone() for p in trainer.model.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def reference():
    """Weights and losses after 3 uninterrupted epochs (6 steps each)."""
    trainer = make_trainer()
    trainer.fit(3)
    return weights(trainer), trainer.history.step_column("loss").tolist()


def test_play_without_a_running_loop_says_to_use_fit():
    trainer = make_trainer()
    with pytest.raises(RuntimeError,
                       match=r"play\(\) needs a running asyncio event loop.*use trainer.fit\(epochs\)"):
        trainer.play()
    assert trainer.state == "idle" and trainer.global_step == 0


def test_play_for_some_epochs_gives_the_same_numbers_as_fit(reference):
    trainer = make_trainer()
    states = []
    trainer.on("state", lambda payload: states.append(payload["state"]))

    async def main():
        task = trainer.play(epochs=3)
        assert trainer.is_playing and trainer.state == "running"
        assert trainer.play() is task
        await task
        return task

    task = asyncio.run(main())
    assert task.done() and task.exception() is None
    assert trainer.epoch == 3 and trainer.global_step == 18 and not trainer.is_playing
    assert states == ["running", "idle"]
    assert same(weights(trainer), reference[0])
    assert trainer.history.step_column("loss").tolist() == reference[1]


def test_play_yields_to_the_loop_between_steps():
    trainer = make_trainer()
    ticks = []

    async def ticker():
        while True:
            ticks.append(trainer.global_step)
            await asyncio.sleep(0)

    async def main():
        other = asyncio.get_running_loop().create_task(ticker())
        await trainer.play(epochs=1)
        other.cancel()

    asyncio.run(main())
    assert len(set(ticks)) >= 6  # the other task ran between every pair of steps


def test_play_from_mid_epoch_counts_one_more_epoch():
    trainer = make_trainer()
    for _ in range(4):
        trainer.step()

    async def main():
        await trainer.play(epochs=1)

    asyncio.run(main())
    assert trainer.epoch == 1 and trainer.global_step == 6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pausing_at_random_steps_changes_nothing(reference, seed):
    pause_at = set(torch.randperm(17, generator=torch.Generator().manual_seed(seed))[:4].add(1).tolist())
    trainer = make_trainer()
    trainer.on("step", lambda record: trainer.pause() if record["step"] in pause_at else None)
    stops = []

    async def main():
        while trainer.epoch < 3:
            await trainer.play(epochs=3 - trainer.epoch)
            stops.append((trainer.global_step, trainer.state))

    asyncio.run(main())
    assert [step for step, state in stops[:-1]] == sorted(pause_at)
    assert all(state == "paused" for _, state in stops[:-1]) and stops[-1] == (18, "idle")
    assert same(weights(trainer), reference[0])
    assert trainer.history.step_column("loss").tolist() == reference[1]


def test_pause_from_another_thread_stops_play_at_a_step_boundary(reference):
    trainer = make_trainer()
    reached = threading.Event()
    trainer.on("step", lambda record: reached.set() if record["step"] == 5 else None)

    def pauser():
        reached.wait(10)
        trainer.pause()

    async def main():
        thread = threading.Thread(target=pauser)
        thread.start()
        await trainer.play()  # until paused
        thread.join()
        assert trainer.state == "paused" and 5 <= trainer.global_step < 18
        assert len(trainer.history) == trainer.global_step
        await trainer.play(epochs=3 - trainer.epoch)

    asyncio.run(main())
    assert same(weights(trainer), reference[0])


def test_pause_from_another_thread_stops_a_blocking_fit(reference):
    trainer = make_trainer()
    reached = threading.Event()
    release = threading.Event()

    def on_step(record):
        if record["step"] == 4:
            reached.set()
            release.wait(10)  # hold the step until the other thread has paused

    trainer.on("step", on_step)

    def pauser():
        reached.wait(10)
        trainer.pause()
        release.set()

    thread = threading.Thread(target=pauser)
    thread.start()
    trainer.fit(3)
    thread.join()
    assert trainer.global_step == 4 and trainer.state == "paused" and trainer.epoch == 0
    trainer.fit(3 - trainer.epoch)
    assert trainer.state == "idle" and same(weights(trainer), reference[0])


def test_reset_while_playing_stops_the_task_first():
    trainer = make_trainer()
    initial = weights(trainer)
    resets = []
    trainer.on("reset", resets.append)

    async def main():
        task = trainer.play()
        while trainer.global_step < 3:
            await asyncio.sleep(0)
        trainer.reset()
        assert not trainer.is_playing and trainer.state == "idle"
        await task
        return task

    task = asyncio.run(main())
    assert task.exception() is None and resets == [{}]
    assert trainer.global_step == 0 and len(trainer.history) == 0 and trainer.state == "idle"
    assert same(weights(trainer), initial)


def test_reset_from_another_thread_while_playing():
    trainer = make_trainer()
    initial = weights(trainer)
    reached = threading.Event()
    trainer.on("step", lambda record: reached.set() if record["step"] == 3 else None)

    async def main():
        task = trainer.play()
        thread = threading.Thread(target=lambda: (reached.wait(10), trainer.reset()))
        thread.start()
        await task
        thread.join()

    asyncio.run(main())
    assert trainer.global_step == 0 and trainer.state == "idle" and same(weights(trainer), initial)


def test_an_error_in_play_is_reported_by_the_task():
    trainer = make_trainer()
    trainer.set_lr(1e6)
    trainer.model[0].weight.data.fill_(1e38)  # the loss overflows on the first step

    async def main():
        task = trainer.play(epochs=1)
        with pytest.warns(RuntimeWarning,
                          match=r"Trainer.play\(\) stopped: NonFiniteLossError: the training loss became"):
            try:
                await task
            except NonFiniteLossError:
                pass
            await asyncio.sleep(0)

    asyncio.run(main())
    assert isinstance(trainer.last_error, NonFiniteLossError)
    assert trainer.state == "error" and trainer.global_step == 0 and not trainer.is_playing


def test_cancelling_the_task_pauses_at_a_step_boundary():
    trainer = make_trainer()

    async def main():
        task = trainer.play()
        while trainer.global_step < 2:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert trainer.state == "paused" and len(trainer.history) == trainer.global_step


def test_keyboard_interrupt_before_the_optimizer_step_rolls_back(reference):
    trainer = make_trainer()

    def interrupt(payload):
        if payload["step"] == 8 and not interrupted:
            interrupted.append(1)
            raise KeyboardInterrupt

    interrupted = []
    trainer.on("backward", interrupt)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(3)
    assert trainer.global_step == 7 and len(trainer.history) == 7 and trainer.state == "paused"
    trainer.fit(3 - trainer.epoch)
    assert same(weights(trainer), reference[0])
    assert trainer.history.step_column("loss").tolist() == reference[1]


def test_keyboard_interrupt_after_the_optimizer_step_keeps_the_step(reference):
    trainer = make_trainer()
    trainer.on("step",
               lambda record: (_ for _ in ()).throw(KeyboardInterrupt) if record["step"] == 6 else None)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(3)
    # the step was complete; its epoch closes at the start of the next step
    assert trainer.global_step == 6 and trainer.epoch == 0 and trainer.state == "paused"
    trainer.fit(3 - trainer.epoch)
    assert trainer.epoch == 3 and same(weights(trainer), reference[0])
    assert [record["step"] for record in trainer.history.epochs] == [6, 12, 18]


def test_ctrl_c_during_a_step_lands_at_the_step_boundary(reference):
    trainer = make_trainer()
    trainer.on("backward",
               lambda payload: signal.raise_signal(signal.SIGINT) if payload["step"] == 9 else None)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(3)
    assert signal.getsignal(signal.SIGINT) is handler
    assert trainer.global_step == 9 and len(trainer.history) == 9 and trainer.state == "paused"
    trainer.fit(3 - trainer.epoch)
    assert same(weights(trainer), reference[0])


def test_set_lr_from_another_thread_during_fit_takes_effect_from_a_later_step():
    trainer = make_trainer()
    reached = threading.Event()
    changed = threading.Event()

    def on_step(record):
        if record["step"] == 3:
            reached.set()
            changed.wait(10)  # the step in progress holds the lock; the new lr waits for the next step

    trainer.on("step", on_step)

    def changer():
        reached.wait(10)
        trainer.set_lr(0.001)
        changed.set()

    thread = threading.Thread(target=changer)
    thread.start()
    trainer.fit(1)
    thread.join()
    lrs = trainer.history.step_column("lr").tolist()
    assert lrs == [0.01] * 3 + [0.001] * 3
    assert trainer.lr == 0.001 and all(group["lr"] == 0.001 for group in trainer.optimizer.param_groups)


def test_keyboard_interrupt_during_run_epoch_leaves_a_step_boundary(reference):
    trainer = make_trainer()
    fired = []
    trainer.on("backward", lambda payload: (fired.append(1), (_ for _ in ()).throw(KeyboardInterrupt))
               if payload["step"] == 3 and not fired else None)
    with pytest.raises(KeyboardInterrupt):
        trainer.run_epoch()
    assert trainer.global_step == 2 and trainer.state == "paused"
    assert trainer.run_epoch()["step"] == 6
    trainer.fit(2)
    assert same(weights(trainer), reference[0])


def test_counters_and_history_are_read_only():
    trainer = make_trainer()
    for name in ("global_step", "epoch", "history", "model", "optimizer", "lr"):
        with pytest.raises(AttributeError):
            setattr(trainer, name, None)
