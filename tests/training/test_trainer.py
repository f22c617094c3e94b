"""Trainer: records, epochs, fit's log, evaluation, events, learning rate, reset, and agreement with a
hand-written loop."""

import re
import threading

import pytest
import torch
from small_trainers import small_model, small_trainer, xor_data
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from widgets.training.metrics import accuracy
from widgets.training.trainer import Trainer


def make_model(seed=0):
    torch.manual_seed(seed)
    return small_model(dropout=0.2)


def make_trainer(seed=0, n=100, batch_size=16, valid=True, metrics=True, lr=0.05, **kwargs):
    kwargs.setdefault("device", "cpu")  # bitwise comparisons against CPU computations
    kwargs.setdefault("verbose", True)
    return small_trainer(problem="xor", n=n, held_out=40, valid="held_out" if valid else None, data_seed=seed,
                         seed=seed, dropout=0.2, lr=lr, momentum=0.9, batch_size=batch_size, metrics=metrics,
                         **kwargs)


def weights(trainer):
    return [p.detach().clone() for p in trainer.model.parameters()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_step_returns_its_record_and_logs_one_row():
    trainer = make_trainer()
    before = weights(trainer)
    record = trainer.step()
    assert set(record) == {"step", "epoch", "batch", "loss", "lr", "time", "batch_size", "optimizer_step"}
    assert (record["step"], record["epoch"], record["batch"], record["batch_size"]) == (1, 1, 1, 16)
    assert isinstance(record["loss"], float) and record["lr"] == 0.05 and record["time"] > 0
    assert trainer.global_step == 1 and trainer.epoch == 0 and trainer.last_loss == record["loss"]
    assert len(trainer.history) == 1 and trainer.history.step_column("loss")[0] == record["loss"]
    assert not same(before, weights(trainer))
    assert trainer.state == "idle"


def test_run_epoch_ends_with_validation_and_sample_weighted_means():
    trainer = make_trainer(n=100, batch_size=16)  # 7 batches, the last of 4 samples
    assert trainer.steps_per_epoch == 7
    sizes = []
    trainer.on("step", lambda record: sizes.append(record["batch_size"]))
    record = trainer.run_epoch()
    assert sizes == [16] * 6 + [4]
    assert trainer.epoch == 1 and trainer.global_step == 7 and trainer.batch_in_epoch == 0
    assert set(record) == {"epoch", "step", "time", "train_loss", "train_acc", "valid_loss", "valid_acc"}
    losses = trainer.history.step_column("loss")
    weighted = sum(loss * size for loss, size in zip(losses.tolist(), sizes)) / 100
    assert record["train_loss"] == pytest.approx(weighted, rel=1e-12)
    assert record["train_loss"] != pytest.approx(losses.mean(), rel=1e-6)
    assert trainer.history.epochs == [record]


def test_the_step_that_takes_the_last_batch_ends_the_epoch():
    trainer = make_trainer(n=32, batch_size=16)
    epochs = []
    trainer.on("epoch", epochs.append)
    trainer.step()
    assert epochs == [] and trainer.epoch == 0
    trainer.step()
    assert trainer.epoch == 1 and epochs[0]["epoch"] == 1 and epochs[0]["step"] == 2
    assert trainer.step()["epoch"] == 2


def test_run_epoch_from_mid_epoch_finishes_that_epoch():
    trainer = make_trainer(n=100, batch_size=16)
    trainer.step()
    trainer.step()
    record = trainer.run_epoch()
    assert record["epoch"] == 1 and trainer.global_step == 7


def test_fit_prints_one_line_per_epoch_and_returns_the_history(capsys):
    trainer = make_trainer()
    history = trainer.fit(3)
    lines = capsys.readouterr().out.splitlines()
    assert history is trainer.history and len(history.epochs) == 3
    assert len(lines) == 3
    pattern = re.compile(
        r"Epoch [123]/3 \| train loss \d\.\d{4} acc \d\.\d{4} \| valid loss \d\.\d{4} acc \d\.\d{4} \| "
        r"\d+\.\ds"
    )
    assert all(pattern.fullmatch(line) for line in lines), lines
    assert f"train loss {history.epochs[1]['train_loss']:.4f}" in lines[1]
    trainer.fit(1)
    assert capsys.readouterr().out.startswith("Epoch 4/4 |")


def test_fit_is_quiet_only_when_asked(capsys):
    make_trainer().fit(1, verbose=False)
    make_trainer(verbose=False).fit(1)
    assert capsys.readouterr().out == ""
    watched = make_trainer()
    seen = []
    watched.on("epoch", seen.append)
    watched.fit(2)
    lines = capsys.readouterr().out.splitlines()
    assert [line[:10] for line in lines] == ["Epoch 1/2 ",
                                             "Epoch 2/2 "], "a listener must not silence fit's lines"
    assert [record["epoch"] for record in seen] == [1, 2]
    with pytest.raises(ValueError, match="epochs must be a non-negative int, got 1.5"):
        watched.fit(1.5)


def test_fit_from_mid_epoch_raises_the_epoch_counter_by_n(capsys):
    trainer = make_trainer()
    trainer.step()
    trainer.fit(2, verbose=False)
    assert trainer.epoch == 2 and trainer.global_step == 14


class DictDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return {"x": self.x[index], "y": self.y[index]}


def test_dict_batches_train_like_pairs():
    x, y = xor_data(64, seed=0)
    results = []
    for dataset in (TensorDataset(x, y), DictDataset(x, y)):
        model = make_model(1)
        trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                          DataLoader(dataset, batch_size=16, shuffle=False), device="cpu", verbose=False)
        trainer.fit(2)
        results.append(weights(trainer))
    assert same(*results)


class StreamDataset(IterableDataset):
    """No len: the trainer finds the end of an epoch by looking one batch ahead."""

    def __init__(self, x, y, batch):
        self.x, self.y, self.batch = x, y, batch

    def __iter__(self):
        order = torch.randperm(len(self.x))
        for start in range(0, len(self.x), self.batch):
            index = order[start:start + self.batch]
            yield self.x[index], self.y[index]


def test_a_loader_without_len_ends_its_epoch_on_the_last_batch():
    x, y = xor_data(40, seed=0)
    model = make_model(0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      StreamDataset(x, y, 16), verbose=False)
    assert trainer.steps_per_epoch is None
    assert [trainer.step()["batch"] for _ in range(3)] == [1, 2, 3]
    assert trainer.epoch == 1 and trainer.history.epochs[0]["step"] == 3
    trainer.fit(2)
    assert trainer.epoch == 3 and trainer.global_step == 9


class OverstatedLoader:
    """Says it has `claimed` batches but yields only the first `actual` of `batches`."""

    def __init__(self, batches, claimed, actual):
        self.batches, self.claimed, self.actual = batches, claimed, actual

    def __len__(self):
        return self.claimed

    def __iter__(self):
        return iter(self.batches[: self.actual])


def test_a_loader_shorter_than_its_len_ends_the_epoch_where_it_runs_out():
    x, y = xor_data(48, seed=0)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16)]
    model = make_model(0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      OverstatedLoader(batches, claimed=5, actual=3), verbose=False)
    assert [trainer.step()["batch"] for _ in range(3)] == [1, 2, 3]
    assert trainer.epoch == 0  # len says 5: the epoch is still open
    record = trainer.step()  # the loader runs out: epoch 1 closes, this step opens epoch 2
    assert (record["epoch"], record["batch"], trainer.epoch) == (2, 1, 1)
    assert trainer.history.epochs[0]["step"] == 3
    # The end shows only when a step asks for a batch, so that step trains on the next epoch's first one.
    trainer.run_epoch()
    assert (trainer.epoch, trainer.global_step, trainer.batch_in_epoch) == (2, 7, 1)
    assert [record["step"] for record in trainer.history.epochs] == [3, 6]


def test_matches_a_hand_written_loop_bitwise():
    trainer = make_trainer(seed=3, valid=True)
    trainer.fit(3, verbose=False)

    x, y = xor_data(140, seed=3)
    model = make_model(3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train = DataLoader(TensorDataset(x[:100], y[:100]), batch_size=16, shuffle=True)
    valid = DataLoader(TensorDataset(x[100:], y[100:]), batch_size=16)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(3):
        model.train()
        for xb, yb in train:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            for xb, _ in valid:
                model(xb)
    assert same(weights(trainer), [p.detach() for p in model.parameters()])
    assert trainer.history.step_column("loss").tolist() == losses


def test_evaluate_averages_over_samples_and_restores_modes():
    trainer = make_trainer()
    trainer.fit(1, verbose=False)
    x, y = xor_data(50, seed=5)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)  # 16, 16, 16, 2
    trainer.model.train()
    trainer.model[2].eval()  # a mixed state must come back as it was
    rng = torch.get_rng_state()
    result = trainer.evaluate(loader)
    assert trainer.model.training and not trainer.model[2].training and trainer.model[0].training
    assert torch.equal(torch.get_rng_state(), rng)
    trainer.model.eval()
    with torch.no_grad():
        output = trainer.model(x)
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(output, y).item(), rel=1e-5)
    assert result["acc"] == pytest.approx(accuracy(output, y), rel=1e-6)
    assert set(result) == {"loss", "acc"}
    assert not trainer.model.training
    trainer.evaluate(loader)
    assert not trainer.model.training


def test_predict_runs_in_eval_mode_without_grad():
    trainer = make_trainer()
    seen = []
    trainer.model[2].register_forward_hook(lambda module, args, out: seen.append(module.training))
    x = torch.randn(5, 2)
    first, second = trainer.predict(x), trainer.predict(x)
    assert seen == [False, False] and torch.equal(first, second)  # no dropout
    assert not first.requires_grad and first.shape == (5, 2)
    assert trainer.model.training


def test_events_carry_their_payloads_and_handles_unsubscribe():
    trainer = make_trainer(n=32, batch_size=16)
    seen = {name: [] for name in ("step", "epoch", "state", "reset", "backward")}
    handles = {name: trainer.on(name, seen[name].append) for name in seen}
    grads = []
    trainer.on("backward", lambda payload: grads.append(trainer.model[0].weight.grad is not None))
    trainer.run_epoch()
    assert [r["step"] for r in seen["step"]] == [1, 2]
    assert seen["backward"] == [{"step": 1, "epoch": 1, "batch": 1}, {"step": 2, "epoch": 1, "batch": 2}]
    assert grads == [True, True]
    assert seen["epoch"][0]["epoch"] == 1 and "valid_loss" in seen["epoch"][0]
    assert seen["state"] == [{"state": "running", "previous": "idle"},
                             {"state": "idle", "previous": "running"}]
    trainer.reset()
    assert seen["reset"] == [{}]
    handles["step"].remove()
    handles["step"].remove()
    assert not handles["step"].active
    trainer.step()
    assert len(seen["step"]) == 2 and len(seen["backward"]) == 3


def test_unknown_event_lists_the_valid_ones():
    trainer = make_trainer()
    with pytest.raises(
        ValueError,
        match=r"unknown event 'batch'; expected one of 'step', 'epoch', 'state', 'reset', 'backward'",
    ):
        trainer.on("batch", print)
    with pytest.raises(TypeError, match="must be callable"):
        trainer.on("step", 3)


def test_a_failing_subscriber_is_reported_and_training_goes_on():
    quiet = make_trainer()
    quiet.fit(2, verbose=False)

    trainer = make_trainer()

    def broken_view(record):
        raise RuntimeError("view bug")

    trainer.on("step", broken_view)
    trainer.on("epoch", broken_view)
    with pytest.warns(RuntimeWarning) as caught:
        trainer.fit(2, verbose=False)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2  # one warning per event and callback, not one per call
    assert re.match(r"'epoch' subscriber .*broken_view raised RuntimeError: view bug", messages[0])
    assert re.match(r"'step' subscriber .*broken_view raised RuntimeError: view bug", messages[1])
    assert trainer.global_step == 14 and trainer.epoch == 2 and trainer.state == "idle"
    assert len(trainer.callback_errors) == 16
    assert {e.event for e in trainer.callback_errors} == {"step", "epoch"}
    assert same(weights(trainer), weights(quiet))


def test_set_lr_applies_from_the_next_step_and_is_checked():
    trainer = make_trainer()
    trainer.step()
    trainer.set_lr(0.01)
    assert trainer.lr == 0.01
    assert trainer.step()["lr"] == 0.01
    assert all(group["lr"] == 0.01 for group in trainer.optimizer.param_groups)
    for bad in (0, -1.0, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="positive finite number"):
            trainer.set_lr(bad)
    assert trainer.lr == 0.01
    thread = threading.Thread(target=trainer.set_lr, args=(0.2,))
    thread.start()
    thread.join()
    assert trainer.step()["lr"] == 0.2


def test_reset_repeats_the_first_run_exactly():
    trainer = make_trainer()
    initial = weights(trainer)
    trainer.fit(2, verbose=False)
    first = weights(trainer)
    losses = trainer.history.step_column("loss").copy()
    trainer.set_lr(0.3)
    trainer.step()
    trainer.reset()
    assert same(weights(trainer), initial)
    assert (trainer.global_step, trainer.epoch, len(trainer.history), trainer.history.epochs) == (0, 0, 0, [])
    assert trainer.lr == 0.05 and trainer.optimizer.state_dict()["state"] == {}
    assert trainer.last_loss is None and trainer.state == "idle"
    trainer.fit(2, verbose=False)
    assert same(weights(trainer), first)
    assert trainer.history.step_column("loss").tolist() == losses.tolist()


def test_target_epoch_is_where_the_running_fit_or_epoch_stops():
    trainer = make_trainer(valid=False, metrics=False)
    seen = []
    trainer.on("state", lambda change: seen.append((change["state"], trainer.target_epoch)))
    trainer.on("epoch", lambda record: seen.append(("epoch", trainer.target_epoch)))
    assert trainer.target_epoch is None
    trainer.fit(2, verbose=False)
    assert seen[:3] == [("running", 2), ("epoch", 2), ("epoch", 2)] and trainer.target_epoch is None
    seen.clear()
    trainer.run_epoch()
    trainer.step()
    assert seen[0] == ("running", 3) and ("running", None) in seen[1:] and trainer.target_epoch is None


def test_between_steps_holds_every_step_until_it_ends():
    trainer = make_trainer(valid=False, metrics=False)
    inside, steps_seen = threading.Event(), []
    release = threading.Event()

    def hold() -> None:
        with trainer.between_steps():
            inside.set()
            steps_seen.append(trainer.global_step)
            release.wait(5)
            steps_seen.append(trainer.global_step)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    stepper = threading.Thread(target=trainer.step)
    stepper.start()
    stepper.join(0.2)
    assert stepper.is_alive() and trainer.global_step == 0, "a step started while the trainer was held"
    release.set()
    holder.join()
    stepper.join(5)
    assert steps_seen == [0, 0] and trainer.global_step == 1
    trainer.on("step", lambda record: steps_seen.append(("in a subscriber", record["step"])))
    with trainer.between_steps():  # re-entrant on the stepping thread: a subscriber may use it too
        trainer.step()
    assert steps_seen[-1] == ("in a subscriber", 2)


def test_read_only_attributes_and_a_stable_repr():
    trainer = make_trainer()
    assert trainer.metric_names == ["acc"] and trainer.metrics["acc"] is accuracy
    assert trainer.device == torch.device("cpu") and not trainer.is_playing
    assert trainer.last_loss is None and trainer.lr == 0.05
    with pytest.raises(AttributeError):
        trainer.state = "running"
    text = repr(trainer)
    assert text == ("Trainer(model=Sequential, loss=CrossEntropyLoss, optimizer=SGD, device=cpu, "
                    "epoch=0, step=0, state='idle')")
    trainer.step()
    assert "step=1" in repr(trainer) and "0x" not in repr(trainer)


def test_device_auto_picks_cuda_when_available_and_moves_the_model():
    trainer = make_trainer(device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert trainer.device.type == expected and trainer.model[0].weight.device.type == expected
    assert trainer.step()["batch_size"] == 16
    assert trainer.predict(torch.zeros(3, 2)).device.type == expected


def test_device_none_leaves_model_and_data_in_place():
    trainer = make_trainer(device=None)
    assert trainer.device == torch.device("cpu")
    trainer.step()
    assert trainer.global_step == 1


def test_the_progress_line_without_validation_or_metrics(capsys):
    trainer = make_trainer(valid=False, metrics=False)
    trainer.fit(2)
    lines = capsys.readouterr().out.splitlines()
    assert [re.fullmatch(r"Epoch [12]/2 \| train loss \d\.\d{4} \| \d+\.\ds",
                         line) is not None for line in lines] == [True, True]
    record = {"epoch": 7, "time": 12.345, "train_loss": 0.5, "valid_loss": 0.25}
    assert trainer.format_epoch(record, 12) == "Epoch  7/12 | train loss 0.5000 | valid loss 0.2500 | 12.3s"


def test_request_stop_ends_fit_at_the_next_step_and_says_why():
    trainer = make_trainer(verbose=False)
    trainer.on("step",
               lambda record: trainer.request_stop("enough for today") if record["step"] == 9 else None)
    trainer.fit(5)
    assert trainer.global_step == 9 and trainer.state == "paused"
    assert trainer.stop_reason == "enough for today"
    trainer.fit(1)  # the next run starts afresh and runs to its end
    assert trainer.stop_reason is None and trainer.state == "idle"
    with pytest.raises(TypeError, match="request_stop needs the reason as a non-empty string, got ''"):
        trainer.request_stop("")


def test_pause_from_a_subscriber_is_the_stop_reason():
    trainer = make_trainer(verbose=False)
    trainer.on("step", lambda record: trainer.pause() if record["step"] == 3 else None)
    trainer.fit(2)
    assert trainer.global_step == 3 and trainer.stop_reason == "paused"


def test_listeners_lists_the_callbacks_of_an_event_in_order():
    trainer = make_trainer(verbose=False)
    first, second = (lambda record: None), (lambda record: None)
    handle = trainer.on("epoch", first)
    trainer.on("epoch", second)
    assert trainer.listeners("epoch") == [first, second] and trainer.listeners("step") == []
    handle.remove()
    assert trainer.listeners("epoch") == [second]
    with pytest.raises(ValueError, match="unknown event 'epochs'"):
        trainer.listeners("epochs")


@pytest.mark.parametrize("cuda, mps, expected",
                         [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_device_tries_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    from widgets.training import checks

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert checks.best_device() == expected
