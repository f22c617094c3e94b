"""Callbacks on the trainer's events: EarlyStopping, a learning-rate scheduler, a user's own callback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import EarlyStopping, Trainer, accuracy

SETUP = textwrap.dedent("""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from widgets import Trainer

    torch.set_num_threads(1)

    def build(every="step", callbacks=(), valid=True, lr=0.05):
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(1)
        x = torch.randn(120, 2, generator=generator)
        y = (x[:, 0] * x[:, 1] > 0).long()
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        if every == "step":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=60)
        else:
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=16, shuffle=True)
        valid_loader = DataLoader(TensorDataset(x[90:], y[90:]), batch_size=30) if valid else None
        return Trainer(model, nn.CrossEntropyLoss(), optimizer, train, valid_loader, device="cpu",
                       verbose=False, scheduler=scheduler, scheduler_every=every, callbacks=list(callbacks))
""")
namespace: dict = {}
exec(SETUP, namespace)
build = namespace["build"]


def weights(trainer):
    return [t.detach().clone() for t in trainer.model.state_dict().values()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------------- schedulers


def test_an_epoch_schedule_steps_after_each_epoch_and_the_step_records_show_it():
    trainer = build(every="epoch")
    trainer.fit(5)
    per_epoch = [
        trainer.history.step_column("lr")[trainer.history.step_column("epoch") == e][0] for e in range(1, 6)
    ]
    assert per_epoch == pytest.approx([0.05, 0.05, 0.025, 0.025, 0.0125])


def test_a_step_schedule_steps_after_every_optimizer_step():
    trainer = build(every="step")
    trainer.fit(3)
    rates = trainer.history.step_column("lr")
    assert len(set(rates.tolist())) == len(rates) == 18, "OneCycleLR changes the rate on every step"
    assert (rates[1:] > rates[:-1]).all(), "the first 18 of OneCycleLR's 60 steps ramp the rate up"
    assert rates[0] == pytest.approx(0.2 / 25) and rates[-1] < 0.2 + 1e-12


@pytest.mark.parametrize("every", ["step", "epoch"])
@pytest.mark.slow
def test_a_scheduled_run_resumes_bitwise_from_a_mid_epoch_checkpoint_in_a_new_process(tmp_path, every):
    reference = build(every)
    reference.fit(4)
    expected = weights(reference)
    trainer = build(every)
    for _ in range(9):  # mid-epoch 2
        trainer.step()
    path = tmp_path / "checkpoint.pt"
    torch.save(trainer.state_dict(), path)
    script = tmp_path / "resume.py"
    out = tmp_path / "out.pt"
    script.write_text(SETUP + textwrap.dedent(f'''
        trainer = build({every!r})
        trainer.load_state_dict(torch.load({str(path)!r}, weights_only=True))
        trainer.fit(4 - trainer.epoch)
        torch.save({{"weights": list(trainer.model.state_dict().values()),
                     "lr": trainer.history.step_column("lr").tolist()}}, {str(out)!r})
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = torch.load(out, weights_only=True)
    assert same(result["weights"], expected)
    assert result["lr"] == reference.history.step_column("lr").tolist()


def test_without_its_schedule_a_checkpoint_would_resume_differently():
    """Guard for the test above: the schedule's state matters to the weights."""
    reference = build("step")
    reference.fit(2)
    trainer = build("step")
    for _ in range(9):
        trainer.step()
    checkpoint = trainer.state_dict()
    checkpoint["scheduler"] = build("step").scheduler.state_dict()  # a schedule rewound to its start
    other = build("step")
    other.load_state_dict(checkpoint)
    other.fit(2 - other.epoch)
    assert not same(weights(other), weights(reference))


def test_reset_rewinds_the_schedule():
    trainer = build("epoch")
    trainer.fit(3)
    first = (weights(trainer), trainer.history.step_column("lr").tolist())
    trainer.reset()
    assert trainer.lr == 0.05
    trainer.fit(3)
    assert same(weights(trainer), first[0]) and trainer.history.step_column("lr").tolist() == first[1]


def test_a_slider_rate_holds_until_the_schedules_next_step():
    trainer = build("epoch")  # StepLR(step_size=2, gamma=0.5) from 0.05
    trainer.step()
    trainer.set_lr(0.3)
    trainer.run_epoch()
    assert trainer.history.step_column("lr")[1:].tolist() == [0.3] * 5, (
        "the learner's rate is used for the rest of the epoch"
    )
    trainer.run_epoch()  # the schedule's step at the end of epoch 2 halves the rate it finds
    assert trainer.lr == pytest.approx(0.15)


def test_reduce_on_plateau_watches_the_validation_loss():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    data = DataLoader(TensorDataset(torch.randn(32, 2), torch.randint(0, 2, (32,))), batch_size=8)
    seen = []
    plateau_step = plateau.step
    plateau.step = lambda metric: (seen.append(metric), plateau_step(metric))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, data, valid_loader=data, verbose=False,
                      scheduler=plateau)
    trainer.fit(3)
    assert seen == [record["valid_loss"] for record in trainer.history.epochs]


def test_bad_schedules_are_refused_before_anything_changes():
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    data = DataLoader(TensorDataset(torch.randn(8, 2), torch.zeros(8, dtype=torch.long)), batch_size=4)
    before = weights_of(model)
    cases = [
        (dict(scheduler="StepLR"), TypeError, "scheduler must be a torch.optim.lr_scheduler object"),
        (dict(scheduler=torch.optim.lr_scheduler.StepLR(other, 1)), ValueError, "made for another optimizer"),
        (dict(scheduler_every="batch"), ValueError,
         r"scheduler_every must be one of \('epoch', 'step'\), got 'batch'"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            Trainer(model, nn.CrossEntropyLoss(), optimizer, data, **kwargs)
    assert same(weights_of(model), before) and optimizer.param_groups[0]["lr"] == 0.1


def weights_of(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def test_a_checkpoint_without_the_schedule_is_refused():
    plain = build("epoch")
    checkpoint = plain.state_dict()
    checkpoint["scheduler"] = None
    trainer = build("epoch")
    trainer.step()
    before = weights(trainer)
    with pytest.raises(ValueError,
                       match="the checkpoint has no learning-rate scheduler, but this trainer has one"):
        trainer.load_state_dict(checkpoint)
    assert same(weights(trainer), before) and trainer.global_step == 1


# ---------------------------------------------------------------------- early stopping


def plateau_trainer(callbacks, lr=0.5):
    """A model that stops improving on validation after a few epochs: noise labels."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(64, 2, generator=generator)
    y = torch.randint(0, 2, (64,), generator=generator)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer,
                   DataLoader(TensorDataset(x[:48], y[:48]), batch_size=16),
                   valid_loader=DataLoader(TensorDataset(x[48:], y[48:]), batch_size=16),
                   metrics={"acc": accuracy}, verbose=False, callbacks=callbacks)


def expected_stop(losses, patience):
    best, wait = None, 0
    for epoch, value in enumerate(losses, start=1):
        if best is None or value < best:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return None


def test_early_stopping_ends_fit_at_the_epoch_that_uses_up_the_patience():
    free = plateau_trainer([])
    free.fit(40)
    losses = [record["valid_loss"] for record in free.history.epochs]
    stop = expected_stop(losses, patience=3)
    assert stop is not None and stop < 40, (
        "the validation loss must stop improving for this test to mean anything"
    )
    stopper = EarlyStopping(monitor="valid_loss", patience=3)
    trainer = plateau_trainer([stopper])
    trainer.fit(40)
    assert trainer.epoch == stop and trainer.state == "paused"
    best_epoch = losses.index(min(losses[:stop])) + 1
    assert trainer.stop_reason == (f"early stopping: valid_loss has not improved for 3 epochs "
                                   f"(best {min(losses[:stop]):.4g} at epoch {best_epoch})")
    trainer.fit(1)
    assert trainer.stop_reason is None or trainer.stop_reason.startswith("early stopping"), (
        trainer.stop_reason
    )


def test_restore_best_puts_back_the_best_epochs_weights():
    snapshots = {}
    free = plateau_trainer([])
    free.on("epoch", lambda record: snapshots.__setitem__(record["epoch"], weights(free)))
    free.fit(40)
    losses = [record["valid_loss"] for record in free.history.epochs]
    stop = expected_stop(losses, patience=3)
    best_epoch = losses.index(min(losses[:stop])) + 1
    assert best_epoch != stop
    trainer = plateau_trainer([EarlyStopping(patience=3, restore_best=True)])
    trainer.fit(40)
    assert same(weights(trainer), snapshots[best_epoch])
    assert trainer.stop_reason.endswith(f"the weights of epoch {best_epoch} are restored")


def test_early_stopping_stops_play_too_and_max_mode_watches_accuracy():
    stopper = EarlyStopping(monitor="valid_acc", mode="max", patience=2)
    trainer = plateau_trainer([stopper])

    async def run():
        await trainer.play(60)

    asyncio.run(run())
    accs = [record["valid_acc"] for record in trainer.history.epochs]
    assert trainer.epoch < 60 and trainer.stop_reason.startswith("early stopping: valid_acc")
    best = max(accs)
    assert accs[-1] <= best and stopper.best == best and stopper.wait == 2


def test_early_stopping_survives_a_checkpoint_and_clears_on_reset():
    stopper = EarlyStopping(patience=3)
    trainer = plateau_trainer([stopper])
    trainer.fit(4)
    saved = trainer.state_dict()
    copy_stopper = EarlyStopping(patience=3)
    other = plateau_trainer([copy_stopper])
    other.load_state_dict(saved)
    assert (copy_stopper.best, copy_stopper.best_epoch, copy_stopper.wait) == (
        stopper.best,
        stopper.best_epoch,
        stopper.wait,
    )
    other.reset()
    assert copy_stopper.best is None and copy_stopper.wait == 0


def test_early_stopping_names_a_column_that_is_not_there():
    stopper = EarlyStopping(monitor="val_loss")
    with pytest.raises(ValueError,
                       match=r"EarlyStopping monitors 'val_loss', but the epoch records will hold .*"
                                         r"did you mean 'valid_loss'\?"):
        plateau_trainer([stopper])
    assert stopper.trainer is None  # refused before it was attached


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(patience=-1), ValueError, "patience must be a non-negative int"),
    (dict(mode="lowest"), ValueError, "mode must be 'min'"),
    (dict(min_delta=-0.1), ValueError, "min_delta must be a number >= 0"),
    (dict(monitor=""), TypeError, "monitor must name"),
    (dict(restore_best="yes"), TypeError, "restore_best must be True or False"),
])
def test_early_stopping_refuses_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        EarlyStopping(**kwargs)


# ---------------------------------------------------------------------- a user's own callback


def test_a_users_callback_object_gets_the_events_it_has_methods_for():
    class Counter:
        def __init__(self):
            self.steps, self.epochs, self.resets, self.trainer = 0, [], 0, None

        def attach(self, trainer):
            self.trainer = trainer

        def on_step(self, record):
            self.steps += 1

        def on_epoch(self, record):
            self.epochs.append(record["epoch"])

        def on_reset(self, payload):
            self.resets += 1

    counter = Counter()
    trainer = plateau_trainer([counter])
    trainer.fit(2)
    assert (counter.steps, counter.epochs, counter.trainer) == (6, [1, 2], trainer)
    trainer.reset()
    assert counter.resets == 1 and trainer.callbacks == [counter]


def test_an_object_with_no_hooks_is_refused():
    with pytest.raises(TypeError, match="a callback needs at least one of the methods on_step, on_epoch"):
        plateau_trainer([object()])
    with pytest.raises(TypeError, match="callbacks must be a list of callback objects, got EarlyStopping"):
        plateau_trainer(EarlyStopping())
