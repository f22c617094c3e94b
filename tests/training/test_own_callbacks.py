"""ModelCheckpoint, CSVLogger, TensorBoardLogger and the Callback base class."""

import csv
import importlib.util

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Callback, CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoardLogger, Trainer
from widgets.training.metrics import accuracy


def build(callbacks, lr=0.5):
    """Noise labels: the validation loss falls, then rises, so best and last differ."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(64, 2, generator=generator)
    y = torch.randint(0, 2, (64,), generator=generator)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return Trainer(model, nn.CrossEntropyLoss(), optimizer,
                   DataLoader(TensorDataset(x[:48], y[:48]), batch_size=16),
                   valid_loader=DataLoader(TensorDataset(x[48:], y[48:]), batch_size=16),
                   metrics={"acc": accuracy},
                   callbacks=callbacks, device="cpu", verbose=False)


def test_model_checkpoint_saves_the_best_and_the_last_epoch_loadable_with_weights_only(tmp_path):
    saver = ModelCheckpoint(tmp_path / "run", monitor="valid_loss", mode="min")
    trainer = build([saver])
    weights_by_epoch = []
    trainer.on("epoch", lambda record: weights_by_epoch.append(
        {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}))
    trainer.fit(8)
    losses = trainer.history.epoch_column("valid_loss")
    best_epoch = int(losses.argmin()) + 1
    assert best_epoch < 8  # the run overfits: best and last differ
    best = torch.load(saver.best_path, weights_only=True)
    last = torch.load(saver.last_path, weights_only=True)
    assert best["saved_by"] == {"epoch": best_epoch, "monitor": "valid_loss", "value": float(losses.min())}
    assert last["saved_by"]["epoch"] == 8
    for key, value in best["model"].items():
        assert torch.equal(value, weights_by_epoch[best_epoch - 1][key])
    for key, value in last["model"].items():
        assert torch.equal(value, trainer.model.state_dict()[key])
    assert (saver.best, saver.best_epoch) == (float(losses.min()), best_epoch)


def test_the_last_checkpoint_resumes_the_run_exactly(tmp_path):
    straight = build([ModelCheckpoint(tmp_path / "a")])
    straight.fit(6)
    first = build([ModelCheckpoint(tmp_path / "b")])
    first.fit(3)
    resumed = build([ModelCheckpoint(tmp_path / "c")])
    resumed.load_state_dict(torch.load(tmp_path / "b" / "last.pt", weights_only=True))
    assert resumed.epoch == 3
    resumed.fit(3)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert (
        resumed.history.epoch_column("valid_loss").tolist()
        == straight.history.epoch_column("valid_loss").tolist()
    )


def test_model_checkpoint_in_max_mode_on_a_value_a_callback_adds(tmp_path):
    class Score(Callback):
        columns = ("score",)

        def on_epoch(self, record):
            record["score"] = [0.1, 0.9, 0.3][record["epoch"] - 1]

    saver = ModelCheckpoint(tmp_path, monitor="score", mode="max", save_last=False)
    trainer = build([saver, Score()])  # saving waits for every epoch subscriber, whatever the order
    trainer.fit(3)
    assert torch.load(saver.best_path, weights_only=True)["saved_by"]["epoch"] == 2
    assert not saver.last_path.exists()


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(path=3), TypeError, "path must be a folder path"),
    (dict(path="x", monitor=""), TypeError, "monitor must name an epoch record column"),
    (dict(path="x", mode="best"), ValueError, "mode must be 'min' .* got 'best'"),
    (dict(path="x", monitor=None, save_last=False), ValueError, "nothing to save"),
])
def test_model_checkpoint_refuses_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModelCheckpoint(**kwargs)


def test_a_model_checkpoint_monitor_is_checked_with_the_trainer(tmp_path):
    with pytest.raises(ValueError,
                       match="ModelCheckpoint monitors 'valid_accuracy'.*did you mean 'valid_acc'"):
        build([ModelCheckpoint(tmp_path, monitor="valid_accuracy", mode="max")])


def test_csv_logger_writes_one_row_per_epoch_and_follows_resets_and_loads(tmp_path):
    path = tmp_path / "log.csv"
    trainer = build([CSVLogger(path)])
    trainer.fit(3)
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    assert [float(row["valid_loss"]) for row in rows] == trainer.history.epoch_column("valid_loss").tolist()
    assert set(rows[0]) == set(trainer.history.epochs[0])
    saved = trainer.state_dict()
    trainer.reset()
    assert path.read_text() == ""
    trainer.load_state_dict(saved)
    with open(path) as file:
        assert len(list(csv.DictReader(file))) == 3


def test_csv_logger_takes_a_column_that_appears_later(tmp_path):
    class Late(Callback):
        columns = ("late",)

        def on_epoch(self, record):
            if record["epoch"] >= 2:
                record["late"] = 1.5

    path = tmp_path / "log.csv"
    trainer = build([Late(), CSVLogger(path)])
    trainer.fit(3)
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert [row["late"] for row in rows] == ["", "1.5", "1.5"]


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None,
                    reason="tensorboard is installed here")
def test_tensorboard_logger_says_what_to_install_when_tensorboard_is_missing(tmp_path):
    with pytest.raises(ImportError,
                       match="TensorBoardLogger needs the tensorboard package: pip install tensorboard"):
        TensorBoardLogger(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                    reason="the optional tensorboard is not installed")
def test_tensorboard_logger_writes_event_files(tmp_path):
    logger = TensorBoardLogger(tmp_path)
    trainer = build([logger])
    trainer.fit(2)
    logger.close()
    assert any(path.name.startswith("events.out.tfevents") for path in tmp_path.iterdir())


def test_a_callback_subclass_is_subscribed_only_to_the_events_it_overrides():
    class OnlyEpochs(Callback):
        def __init__(self):
            self.epochs = []

        def on_epoch(self, record):
            self.epochs.append(record["epoch"])

    callback = OnlyEpochs()
    trainer = build([callback])
    assert [trainer.listeners(event).count(callback.on_epoch) for event in ("step", "epoch")] == [0, 1]
    assert all(not any(getattr(fn, "__self__", None) is callback for fn in trainer.listeners(event))
               for event in ("step", "state", "reset", "backward"))
    trainer.fit(2)
    assert callback.epochs == [1, 2]
    assert isinstance(EarlyStopping(), Callback)
