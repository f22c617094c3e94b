"""Defects found by bringing one's own model to the Trainer: each refused clearly before anything changes, or
fixed."""

import math
import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_sequence
from torch.utils.data import DataLoader, TensorDataset

from widgets import Callback, EarlyStopping, Trainer, lr_find
from widgets.training.lr_range import diverged, suggest
from widgets.training.metrics import accuracy

Features = namedtuple("Features", ["a", "b"])


def weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def same(first, second):
    return len(first) == len(second) and all(torch.equal(a, b) for a, b in zip(first, second))


class TwoFields(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(4, 2)

    def forward(self, features):
        return self.a(features.a) + self.b(features.b)


def test_a_namedtuple_in_a_batch_reaches_the_model_whole_on_the_device():
    torch.manual_seed(0)
    batches = [(Features(torch.randn(5, 3), torch.randn(5, 4)), torch.randint(0, 2, (5,))) for _ in range(2)]
    model = TwoFields()
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)
    record = trainer.step()
    assert record["batch_size"] == 5 and math.isfinite(record["loss"])


class PackedRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 6, batch_first=True)
        self.out = nn.Linear(6, 4)

    def forward(self, packed):
        _, hidden = self.rnn(packed)
        return self.out(hidden[-1])


def test_a_packed_sequence_moves_to_the_device_intact_and_counts_its_sequences():
    torch.manual_seed(0)
    names = [torch.randn(length, 3) for length in (5, 3, 2)]
    batch = (pack_sequence(names, enforce_sorted=False), torch.tensor([0, 3, 1]))
    model = PackedRNN()
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), [batch],
                      device="cpu", verbose=False)
    record = trainer.step()
    assert record["batch_size"] == 3


class WithAux(nn.Module):
    """Returns (logits, aux_logits), as GoogLeNet does in training."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 3)
        self.aux = nn.Linear(4, 3)

    def forward(self, x):
        return self.body(x), self.aux(x)


def test_metrics_get_a_tuple_output_as_the_model_returned_it():
    torch.manual_seed(0)
    x, y = torch.randn(12, 4), torch.randint(0, 3, (12,))
    model = WithAux()
    seen = []

    def main_accuracy(output, target):
        seen.append(type(output))
        return accuracy(output[0], target)

    def loss_fn(output, target):
        return F.cross_entropy(output[0], target) + 0.3 * F.cross_entropy(output[1], target)

    trainer = Trainer(model, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=4),
                      metrics={"acc": main_accuracy}, device="cpu", verbose=False)
    record = trainer.run_epoch()
    assert seen == [tuple] * 3 and 0 <= record["train_acc"] <= 1


def test_metrics_get_a_dict_output_as_the_model_returned_it():
    class DictOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 3)

        def forward(self, x):
            return {"logits": self.linear(x)}

    torch.manual_seed(0)
    model = DictOut()
    batches = [(torch.randn(6, 4), torch.randint(0, 3, (6,)))]
    trainer = Trainer(model, lambda out, y: F.cross_entropy(out["logits"], y),
                      torch.optim.SGD(model.parameters(), lr=0.1),
                      batches, metrics={"acc": lambda out, y: accuracy(out["logits"], y)}, device="cpu",
                      verbose=False)
    trainer.run_epoch()
    assert not math.isnan(trainer.history.epochs[-1]["train_acc"])


def test_lazy_layers_are_refused_at_construction_with_what_to_do():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))]
    with pytest.raises(ValueError,
                       match=r"lazy layers \(LazyLinear\).*run one batch through the model first"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, device="cpu", verbose=False)
    model(batches[0][0])  # what the message says, and the optimizer made before keeps working
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, device="cpu", verbose=False)
    before = weights(model)
    trainer.step()
    assert not same(before, weights(model))


class RaiseOnNonFinite(Callback):
    """A guard as users write it: clip_grad_norm_ with error_if_nonfinite=True."""

    def __init__(self, model):
        self.model = model

    def on_backward(self, payload):
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0, error_if_nonfinite=True)


class SqrtModel(nn.Module):
    """sqrt(|w x|): a finite loss with an infinite gradient when w x is 0."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return torch.sqrt(self.linear(x).abs())


def test_an_on_backward_guard_that_raises_fails_the_step_and_leaves_the_weights():
    model = SqrtModel()
    with torch.no_grad():
        model.linear.weight.fill_(0.0)
        model.linear.bias.fill_(0.0)
    batches = [(torch.ones(4, 1), torch.ones(4, 1))]
    trainer = Trainer(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      callbacks=[RaiseOnNonFinite(model)], device="cpu", verbose=False)
    before = weights(model)
    with pytest.raises(RuntimeError, match="non-finite"):
        trainer.step()
    assert same(before, weights(model))
    assert trainer.state == "error" and trainer.global_step == 0 and len(trainer.history) == 0
    assert all(p.grad is None for p in model.parameters())


class NegativeLoss(nn.Module):
    """A loss below zero throughout, as a VAE's negative ELBO with a constant term or a negated score."""

    def forward(self, output, target):
        return F.mse_loss(output, target) - 10.0


def test_lr_find_sweeps_a_loss_that_goes_below_zero_and_says_why_it_stopped():
    torch.manual_seed(0)
    x = torch.randn(256, 1)
    y = 2 * x + 0.05 * torch.randn(256, 1)
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
    trainer = Trainer(model, NegativeLoss(), torch.optim.SGD(model.parameters(), lr=1e-3),
                      DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), device="cpu",
                      verbose=False)
    result = lr_find(trainer, start=1e-5, end=100.0, steps=60)
    assert len(result.lrs) > 30
    assert result.smoothed.max() < 0 or result.stopped.startswith("the smoothed loss passed its lowest")
    assert result.suggestion is not None and result.suggestion <= result.best_lr / 10
    assert result.smoothed.min() < result.smoothed[0] - 1


def test_divergence_of_a_negative_loss_is_a_rise_over_its_scale():
    assert not diverged(-90.0, -100.0, 50.0, 4.0)
    assert diverged(400.0, -100.0, 50.0, 4.0)
    assert diverged(0.9, 0.2, 2.0, 4.0) and not diverged(0.7, 0.2, 2.0, 4.0)


def test_the_suggestion_stays_a_tenth_below_the_lowest_point():
    lrs = np.logspace(-5, 0, 50)
    smoothed = np.concatenate([np.full(40, 2.3), np.linspace(2.3, 0.2, 6), np.linspace(0.5, 3.0, 4)])
    assert suggest(lrs, smoothed) <= lrs[int(np.argmin(smoothed))] / 10


def test_a_sum_reduced_loss_gives_train_and_valid_losses_per_sample():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1)
    data = TensorDataset(x, y)
    trainer = Trainer(model, nn.MSELoss(reduction="sum"), torch.optim.SGD(model.parameters(), lr=0.0),
                      DataLoader(data, batch_size=8), valid_loader=DataLoader(data, batch_size=64),
                      device="cpu", verbose=False)
    record = trainer.run_epoch()
    assert record["train_loss"] == pytest.approx(record["valid_loss"], rel=1e-5)
    per_sample = F.mse_loss(model(x[:8]), y[:8], reduction="sum").item() / 8
    assert trainer.history.step_column("loss")[0] == pytest.approx(per_sample, rel=1e-6)


def test_a_users_sum_reduced_loss_function_is_declared_with_loss_reduction():
    torch.manual_seed(0)
    x = torch.randn(32, 3)
    y = x.sum(1, keepdim=True)
    model = nn.Linear(3, 1)
    data = TensorDataset(x, y)
    trainer = Trainer(model, lambda out, t: ((out - t) ** 2).sum(),
                      torch.optim.SGD(model.parameters(), lr=0.0),
                      DataLoader(data, batch_size=4), valid_loader=DataLoader(data, batch_size=32),
                      loss_reduction="sum", device="cpu", verbose=False)
    record = trainer.run_epoch()
    assert record["train_loss"] == pytest.approx(record["valid_loss"], rel=1e-5)
    with pytest.raises(ValueError,
                       match=r"loss_reduction must be one of \('auto', 'mean', 'sum'\), got 'total'"):
        Trainer(model, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), [(x, y)],
                loss_reduction="total")


def test_a_batch_of_three_items_is_refused_with_the_ways_to_give_several_inputs():
    model = nn.Linear(3, 2)
    batches = [(torch.randn(4, 3), torch.randn(4, 3), torch.zeros(4, dtype=torch.long))]
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)
    with pytest.raises(ValueError, match=r"tuple of 3 items.*model\(\*inputs\).*batch_fn="):
        trainer.step()


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(2, 2)

    def forward(self, continuous, categorical):
        return self.a(continuous) + self.b(categorical)


def test_a_forward_missing_an_argument_says_how_to_group_the_inputs():
    model = TwoInputs()
    batches = [(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))]
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)
    before = weights(model)
    with pytest.raises(TypeError,
                       match=r"missing 1 required positional argument.*a tuple goes to model\(\*inputs\)"):
        trainer.step()
    assert same(before, weights(model)) and trainer.global_step == 0


def test_numpy_batches_are_refused_with_the_conversion():
    model = nn.Linear(3, 2)
    batches = [(np.random.default_rng(0).normal(size=(4, 3)), np.zeros(4, dtype=np.int64))]
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)
    with pytest.raises(TypeError,
                       match=r"inputs hold a numpy array \(a numpy array \(float64\) of shape \[4, 3\]\).*"
                                        r"torch.from_numpy"):
        trainer.step()
    assert trainer.global_step == 0


def test_lbfgs_trains_through_a_closure():
    torch.manual_seed(0)
    x = torch.randn(32, 2)
    y = x @ torch.tensor([[1.5], [-0.5]])
    model = nn.Linear(2, 1)
    trainer = Trainer(model, nn.MSELoss(), torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5),
                      [(x, y)],
                      device="cpu", verbose=False)
    first = trainer.step()["loss"]
    for _ in range(4):
        last = trainer.step()["loss"]
    assert last < first / 10


def test_a_mistyped_monitor_is_refused_when_the_trainer_is_built():
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))]
    with pytest.raises(ValueError,
                       match=r"EarlyStopping monitors 'valid_loss', but the epoch records will hold "
                                         r"\['train_loss'\] \(there is no valid_loader"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, callbacks=[EarlyStopping()], device="cpu")
    with pytest.raises(ValueError, match="did you mean 'valid_acc'"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, valid_loader=batches,
                metrics={"acc": accuracy},
                callbacks=[EarlyStopping(monitor="val_acc", mode="max")], device="cpu")


def test_a_monitor_may_name_a_column_a_callback_declares():
    class AddsF1(Callback):
        columns = ("valid_f1",)

        def on_epoch(self, record):
            record["valid_f1"] = 0.5

    model = nn.Linear(3, 2)
    batches = [(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))]
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      valid_loader=batches,
                      callbacks=[AddsF1(), EarlyStopping(monitor="valid_f1", patience=0)],
                      device="cpu", verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.fit(3)
    assert trainer.epoch == 2 and trainer.stop_reason.startswith("early stopping: valid_f1")


def test_reduce_on_plateau_every_step_is_refused_before_anything_changes():
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.raises(ValueError, match="ReduceLROnPlateau steps on an epoch's validation loss, so it needs "
                                         "scheduler_every='epoch', got scheduler_every='step'"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer,
                [(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))],
                scheduler=plateau, scheduler_every="step", device="cpu")


def test_lr_find_sweeps_under_the_trainers_precision_and_refuses_lbfgs():
    torch.manual_seed(0)
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), loader,
                      precision="bf16", device="cpu", verbose=False)
    result = lr_find(trainer, start=1e-4, end=1.0, steps=8)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert result.losses[0] == F.cross_entropy(model(x[:16]), y[:16]).item()
    lbfgs = Trainer(model, nn.CrossEntropyLoss(), torch.optim.LBFGS(model.parameters()), loader, device="cpu")
    with pytest.raises(ValueError,
                       match="LBFGS searches its own step length with a closure, so there is no rate"):
        lr_find(lbfgs)


def test_a_strict_backward_subscriber_is_a_guard_and_a_plain_one_is_only_reported():
    model = nn.Linear(3, 2)
    batches = [(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))]
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)

    def guard(payload):
        raise FloatingPointError(f"gradients of step {payload['step']} are not finite")

    handle = trainer.on("backward", guard, strict=True)
    before = weights(model)
    with pytest.raises(FloatingPointError, match="gradients of step 1 are not finite"):
        trainer.step()
    assert same(before, weights(model)) and trainer.global_step == 0
    handle.remove()
    trainer.on("backward", guard)
    with pytest.warns(RuntimeWarning, match="gradients of step 1 are not finite"):
        trainer.step()
    assert trainer.global_step == 1 and not same(before, weights(model))
