"""Nothing lost: failed draws are retried, hopeless batches skipped on purpose, calls from inside a step
refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from widgets import Trainer


def points(n=48, seed=1):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    return x, (x[:, 0] > x[:, 1]).long()


class FailsOnce(Dataset):
    """A map-style dataset whose item `bad` raises the first time it is read (a file that was busy)."""

    def __init__(self, bad: int | None):
        self.x, self.y = points()
        self.bad = bad

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        if index == self.bad:
            self.bad = None
            raise OSError(f"sample {index} could not be read")
        return self.x[index], self.y[index]


class StreamFailsOnce(IterableDataset):
    """No len: a fresh shuffle from torch's generator each epoch; batch `bad` of the first epoch raises
    once."""

    def __init__(self, bad: int | None):
        self.x, self.y = points()
        self.bad = bad

    def __iter__(self):
        order = torch.randperm(len(self.x))
        for number, start in enumerate(range(0, len(self.x), 8)):
            if number == self.bad:
                self.bad = None
                raise OSError("the stream hiccuped")
            index = order[start:start + 8]
            yield self.x[index], self.y[index]


def build(dataset, batch_size=8, **kwargs):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True) if batch_size else dataset
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), loader,
                   device="cpu", verbose=False, **kwargs)


def weights(trainer):
    return [t.detach().clone() for t in trainer.model.state_dict().values()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def train_through_errors(trainer, epochs):
    errors = []
    while trainer.epoch < epochs:
        try:
            trainer.step()
        except OSError as error:
            errors.append(str(error))
    return errors


@pytest.mark.parametrize("dataset, batch_size, bad", [(FailsOnce, 8, 13), (StreamFailsOnce, None, 2)],
                         ids=["map-style", "iterable"])
def test_a_transient_loader_error_retries_the_same_batch(dataset, batch_size, bad):
    clean = build(dataset(None), batch_size)
    clean.fit(2)
    flaky = build(dataset(bad), batch_size)
    errors = train_through_errors(flaky, 2)
    assert len(errors) == 1
    assert flaky.global_step == clean.global_step == 12, "no batch may be lost"
    assert [r["step"] for r in flaky.history.epochs] == [6, 12]
    assert same(weights(flaky), weights(clean))
    assert flaky.history.step_column("loss").tolist() == clean.history.step_column("loss").tolist()


def test_skip_batch_gets_past_a_batch_that_can_never_succeed():
    x, y = points(17)  # batches of 8, 8 and 1: BatchNorm cannot train on one sample
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=8), verbose=False)
    trainer.step()
    trainer.step()
    for _ in range(2):  # retried, and refused again
        with pytest.raises(ValueError,
                           match="a batch of one sample cannot go through BatchNorm in training mode; "
                                             "give the DataLoader drop_last=True, or discard this batch with "
                                             r"trainer.skip_batch\(\)"):
            trainer.step()
    assert trainer.skip_batch()["batch"] == 3
    trainer.step()
    assert trainer.epoch == 1 and trainer.history.epochs[0]["skipped"] == 1 and trainer.global_step == 3
    saved = trainer.state_dict()
    assert saved["counters"]["skipped"] == 0  # counted per epoch, in the epoch's record


def test_training_calls_from_inside_a_step_are_refused_and_the_counters_stay_right():
    trainer = build(FailsOnce(None))
    calls = {"backward": lambda payload: trainer.step(), "step": lambda record: trainer.reset(),
             "epoch": lambda record: trainer.fit(1)}
    for event, call in calls.items():
        handle = trainer.on(event, call)
        with pytest.warns(RuntimeWarning, match="called from inside a training step"):
            trainer.run_epoch()
        handle.remove()
    assert trainer.epoch == 3 and trainer.global_step == 18
    assert trainer.history.step_column("step").tolist() == list(range(1, 19)), "one record per optimizer step"
    assert "trainer.reset() was called from inside a training step" in str(trainer.callback_errors[-2].error)


def test_numpy_learning_rates_are_accepted():
    trainer = build(FailsOnce(None))
    trainer.set_lr(np.float32(0.05))
    assert trainer.lr == pytest.approx(0.05) and type(trainer.lr) is float
    trainer.set_lr(np.logspace(-3, 0, 4)[3])
    trainer.set_lr(np.int64(1))
    assert trainer.lr == 1.0
    trainer.step()
    assert type(trainer.optimizer.param_groups[0]["lr"]) is float
    with pytest.raises(ValueError, match="positive finite number, got"):
        trainer.set_lr(np.float64("nan"))


def test_a_loader_without_batches_counts_one_sample_per_step():
    x, y = points(5)
    model = nn.Linear(2, 2)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=None), verbose=False)
    assert trainer.step()["batch_size"] == 1


def test_an_interrupt_during_backward_puts_back_the_last_good_gradients():
    trainer = build(FailsOnce(None))
    trainer.step()
    trainer.step()
    good = [p.grad.clone() for p in trainer.model.parameters()]
    before = weights(trainer)
    raise_now = [True]

    def interrupt(module, grad_input, grad_output):
        if raise_now:
            raise_now.clear()
            raise KeyboardInterrupt

    handle = trainer.model[3].register_full_backward_hook(interrupt)  # its input requires grad
    with pytest.raises(KeyboardInterrupt):
        trainer.step()
    handle.remove()
    assert all(torch.equal(p.grad, g) for p, g in zip(trainer.model.parameters(), good, strict=True))
    assert same(weights(trainer), before) and trainer.global_step == 2


class NoisyInEval(nn.Module):
    """Draws random numbers even in eval mode (dropout forced on)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x):
        return F.dropout(self.linear(x), 0.5, training=True)


def test_predict_leaves_the_random_state_alone():
    torch.manual_seed(0)
    model = NoisyInEval()
    x, y = points(16)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=8), verbose=False)
    state = torch.get_rng_state()
    trainer.predict(x)
    assert torch.equal(torch.get_rng_state(), state)
