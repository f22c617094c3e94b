"""Batches and outputs of the usual shapes, epoch metrics, and values callbacks add to the epoch record."""

import math
from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from widgets import Callback, EpochMetric, History, Trainer
from widgets.training.metrics import accuracy


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.cont = nn.Linear(3, 4)
        self.cat = nn.Embedding(5, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, continuous, categorical):
        return self.out(torch.relu(self.cont(continuous) + self.cat(categorical)))


class PairedDataset(Dataset):
    """Each sample is ((continuous, categorical), label): the default collate makes the inputs a list."""

    def __init__(self, n=24):
        generator = torch.Generator().manual_seed(0)
        self.cont = torch.randn(n, 3, generator=generator)
        self.cat = torch.randint(0, 5, (n,), generator=generator)
        self.y = torch.randint(0, 2, (n,), generator=generator)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return (self.cont[i], self.cat[i]), self.y[i]


def hand_loop(model, optimizer, loader, call, loss_fn):
    for batch in loader:
        inputs, target = batch
        optimizer.zero_grad()
        loss = loss_fn(call(model, inputs), target)
        loss.backward()
        optimizer.step()


def weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def test_grouped_inputs_go_to_model_star_inputs_bitwise_as_a_hand_loop():
    data = PairedDataset()
    results = []
    for by_hand in (True, False):
        torch.manual_seed(0)
        model = TwoInputs()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        loader = DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1))
        if by_hand:
            hand_loop(model, optimizer, loader, lambda m, inputs: m(*inputs), F.cross_entropy)
        else:
            Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device="cpu", verbose=False).run_epoch()
        results.append(weights(model))
    assert all(torch.equal(a, b) for a, b in zip(*results))


class KeywordModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1)
        return self.out(pooled)


def token_batches():
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(3):
        ids = torch.randint(0, 10, (4, 6), generator=generator)
        mask = torch.ones(4, 6, dtype=torch.long)
        mask[:, 4:] = 0
        batches.append({"input_ids": ids, "attention_mask": mask,
                        "labels": torch.randint(0, 2, (4,), generator=generator)})
    return batches


def test_a_dict_of_inputs_goes_to_model_star_star_inputs_with_batch_fn():
    batches = token_batches()
    results = []
    for by_hand in (True, False):
        torch.manual_seed(0)
        model = KeywordModel()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        if by_hand:
            for batch in batches:
                optimizer.zero_grad()
                inputs = {k: v for k, v in batch.items() if k != "labels"}
                F.cross_entropy(model(**inputs), batch["labels"]).backward()
                optimizer.step()
        else:
            trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, device="cpu", verbose=False,
                              batch_fn=lambda b: ({k: v for k, v in b.items() if k != "labels"}, b["labels"]))
            trainer.run_epoch()
            assert trainer.history.epochs[-1]["train_loss"] > 0
        results.append(weights(model))
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_the_x_y_dict_convention_takes_a_dict_of_inputs_too():
    batches = [{"x": {k: v for k, v in b.items() if k != "labels"},
                "y": b["labels"]} for b in token_batches()]
    model = KeywordModel()
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False)
    assert trainer.run_epoch()["epoch"] == 1


def test_batch_fn_must_return_a_pair_and_the_refusal_changes_nothing():
    batches = token_batches()
    model = KeywordModel()
    before = weights(model)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                      device="cpu", verbose=False, batch_fn=lambda b: b["input_ids"])
    with pytest.raises(ValueError,
                       match=r"batch_fn must return a pair \(inputs, target\); for a batch that is a dict "
                                         r"with keys \['attention_mask', 'input_ids', 'labels'\] it returned "
                                         r"a "
                                         r"torch.int64 tensor of shape \[4, 6\]"):
        trainer.step()
    assert all(torch.equal(a, b) for a, b in zip(before, weights(model))) and trainer.global_step == 0
    with pytest.raises(TypeError, match="batch_fn must be a function batch -> \\(inputs, target\\), got int"):
        Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), batches,
                batch_fn=3)


Outputs = namedtuple("Outputs", ["logits", "embedding"])


class NamedOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x):
        return Outputs(self.linear(x), x.mean(1))


def test_the_loss_and_the_metrics_get_a_namedtuple_output_as_returned():
    torch.manual_seed(0)
    seen = {}

    def loss_fn(output, target):
        seen["loss"] = type(output)
        return F.cross_entropy(output.logits, target)

    def acc(output, target):
        seen["metric"] = (type(output), output.logits.requires_grad)
        return accuracy(output.logits, target)

    model = NamedOutput()
    trainer = Trainer(model, loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
                      [(torch.randn(6, 4), torch.randint(0, 3, (6,)))], metrics={"acc": acc}, device="cpu",
                      verbose=False)
    trainer.step()
    assert seen == {"loss": Outputs, "metric": (Outputs, False)}


def f1_of_class_one(output, target):
    predicted = output.argmax(1)
    tp = ((predicted == 1) & (target == 1)).sum().item()
    fp = ((predicted == 1) & (target == 0)).sum().item()
    fn = ((predicted == 0) & (target == 1)).sum().item()
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def f1_data():
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(40, 3, generator=generator)
    y = (x[:, 0] + 0.5 * torch.randn(40, generator=generator) > 0.8).long()
    return TensorDataset(x, y)


def f1_trainer(**kwargs):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    data = f1_data()
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0),
                   DataLoader(data, batch_size=5), valid_loader=DataLoader(data, batch_size=7),
                   metrics={"f1": EpochMetric(f1_of_class_one), "batch_f1": f1_of_class_one}, device="cpu",
                   verbose=False, **kwargs)


def test_an_epoch_metric_is_computed_on_the_whole_epoch():
    trainer = f1_trainer()
    record = trainer.run_epoch()
    x, y = f1_data().tensors
    with torch.no_grad():
        whole = f1_of_class_one(trainer.model(x), y)
    assert record["train_f1"] == whole and record["valid_f1"] == whole
    assert record["train_batch_f1"] != pytest.approx(whole)  # the per-batch mean is not an F1
    assert trainer.evaluate(DataLoader(f1_data(), batch_size=3))["f1"] == whole


def test_an_epoch_metric_resumes_mid_epoch_from_a_checkpoint():
    trainer = f1_trainer()
    for _ in range(3):
        trainer.step()
    saved = trainer.state_dict()
    expected = trainer.run_epoch()["train_f1"]
    other = f1_trainer()
    other.load_state_dict(saved)
    assert other.run_epoch()["train_f1"] == expected
    x, y = f1_data().tensors
    with torch.no_grad():
        assert expected == f1_of_class_one(trainer.model(x), y)  # lr 0: the weights are those of every batch


def test_epoch_metric_needs_a_function():
    with pytest.raises(TypeError,
                       match="EpochMetric needs a function fn\\(outputs, targets\\) -> float, got int"):
        EpochMetric(3)


class AddsValidF1(Callback):
    columns = ("valid_f1_by_callback",)

    def on_epoch(self, record):
        record["valid_f1_by_callback"] = 0.25 * record["epoch"]


def test_values_a_callback_adds_to_the_epoch_record_are_in_the_history():
    trainer = f1_trainer(callbacks=[AddsValidF1()])
    seen = []
    trainer.on("epoch", lambda record: seen.append(record["valid_f1_by_callback"]))
    trainer.fit(2)
    assert seen == [0.25, 0.5]
    assert trainer.history.epoch_column("valid_f1_by_callback").tolist() == [0.25, 0.5]
    restored = f1_trainer(callbacks=[AddsValidF1()])
    restored.load_state_dict(trainer.state_dict())
    assert restored.history.epoch_column("valid_f1_by_callback").tolist() == [0.25, 0.5]


def test_a_hand_written_loop_feeds_a_history_that_views_can_follow():
    history = History()
    events = []
    subscriptions = [history.on(name, lambda payload, name=name: events.append((name, dict(payload))))
                     for name in ("step", "epoch", "reset")]
    for epoch in range(2):
        for loss in (1.0, 0.5):
            history.log(torch.tensor(loss / (epoch + 1)))
        record = history.end_epoch(valid_loss=0.4 / (epoch + 1))
        assert record["epoch"] == epoch + 1 and record["step"] == 2 * (epoch + 1)
    assert history.step_column("step").tolist() == [1, 2, 3, 4]
    assert history.step_column("epoch").tolist() == [1, 1, 2, 2]
    assert history.epoch_column("train_loss").tolist() == [0.75, 0.375]
    assert history.epoch_column("valid_loss").tolist() == [0.4, 0.2]
    assert [name for name, _ in events] == ["step", "step", "epoch", "step", "step", "epoch"]
    assert events[0][1]["loss"] == 1.0 and events[2][1]["valid_loss"] == 0.4
    history.clear()
    assert events[-1] == ("reset", {})
    for subscription in subscriptions:
        subscription.remove()
    assert history.listeners("step") == []
    history.log(0.1)
    assert len(events) == 7 and history.last_step == 1


def test_history_events_follow_a_trainer_too_and_a_failing_subscriber_is_reported():
    trainer = f1_trainer()
    rows, records = [], []
    trainer.history.on("step", rows.append)
    trainer.history.on("epoch", records.append)

    def broken(payload):
        raise RuntimeError("view bug")

    trainer.history.on("step", broken)
    with pytest.warns(RuntimeWarning, match="view bug"):
        trainer.run_epoch()
    assert [row["step"] for row in rows] == list(range(1, 9))
    assert records == trainer.history.epochs and "valid_f1" in records[0]
    assert str(trainer.history.callback_errors[-1].error) == "view bug"


def test_history_log_refuses_what_is_not_one_number():
    history = History()
    with pytest.raises(ValueError, match=r"loss must be one number, got a tensor of shape \[2\]"):
        history.log(torch.ones(2))
    with pytest.raises(TypeError, match="valid_acc must be a number, got str"):
        history.end_epoch(valid_acc="high")
    assert len(history) == 0 and history.epochs == []
    assert math.isnan(history.end_epoch()["train_loss"])
