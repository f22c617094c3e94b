"""History: columnar step rows, epoch records, bounded memory, checkpoints."""

import io
import math

import numpy as np
import pytest
import torch

from widgets.training.history import History


def test_logged_steps_come_back_as_columns():
    history = History()
    for step in range(1, 2001):
        history.log_step(step, 1.0 / step, epoch=1 + step // 1000, lr=0.1, time=step * 0.01)
    assert len(history) == 2000
    assert np.array_equal(history.step_column("step"), np.arange(1, 2001))
    assert history.step_column("loss")[9] == pytest.approx(0.1)
    assert history.step_column("epoch")[-1] == 3
    assert history.step_column("lr").dtype == np.float64 and np.all(history.step_column("lr") == 0.1)
    assert history.step_column("time")[-1] == pytest.approx(20.0)


def test_columns_are_read_only_views():
    history = History()
    history.log_step(1, 0.5)
    column = history.step_column("loss")
    with pytest.raises(ValueError):
        column[0] = 2.0
    assert math.isnan(history.step_column("lr")[0])


def test_unknown_column_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown step column 'acc'.*'step', 'epoch', 'loss', 'lr', 'time'"):
        History().step_column("acc")


def test_version_moves_on_every_change():
    history = History()
    versions = [history.version]
    history.log_step(1, 0.5)
    versions.append(history.version)
    history.log_epoch({"epoch": 1, "train_loss": 0.5})
    versions.append(history.version)
    history.clear()
    versions.append(history.version)
    assert versions == sorted(set(versions))
    assert len(history) == 0 and history.epochs == []


def test_epoch_column_is_nan_where_absent():
    history = History()
    history.log_epoch({"epoch": 1, "train_loss": 0.9})
    history.log_epoch({"epoch": 2, "train_loss": 0.7, "valid_loss": 0.8})
    assert np.array_equal(history.epoch_column("train_loss"), [0.9, 0.7])
    valid = history.epoch_column("valid_loss")
    assert math.isnan(valid[0]) and valid[1] == 0.8


@pytest.mark.slow
def test_a_million_steps_fit_in_under_100_mb():
    history = History()
    losses = np.random.default_rng(0).random(1_000_000)
    for step, loss in enumerate(losses.tolist(), start=1):
        history._append(step, 1, loss, 0.1, 0.0)
    assert len(history) == 1_000_000
    assert history.nbytes < 100 * 2**20, history.nbytes
    assert np.array_equal(history.step_column("loss"), losses)


def test_rows_beyond_the_cap_thin_the_oldest_half():
    history = History(max_rows=1000)
    for step in range(1, 5001):
        history.log_step(step, float(step))
    steps = history.step_column("step")
    assert len(history) <= 1000
    assert history.nbytes <= 1000 * 36
    assert steps[-1] == 5000 and np.all(np.diff(steps) > 0)
    # the newest rows are all there, the oldest ones sparser
    assert np.array_equal(steps[-250:], np.arange(4751, 5001))
    assert np.diff(steps[:50]).min() > 1
    assert np.array_equal(history.step_column("loss"), steps.astype(float))


def test_state_dict_round_trips_through_weights_only_load():
    history = History()
    for step in range(1, 1500):
        history.log_step(step, step / 10, epoch=step // 100, lr=0.01, time=step / 3)
    history.log_epoch({"epoch": 1, "train_loss": 0.25, "valid_acc": 0.5})
    buffer = io.BytesIO()
    torch.save(history.state_dict(), buffer)
    buffer.seek(0)
    restored = History()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    for name in ("step", "epoch", "loss", "lr", "time"):
        assert np.array_equal(restored.step_column(name), history.step_column(name)), name
    assert restored.epochs == history.epochs
    restored.log_step(1500, 0.0)
    assert len(restored) == 1500


def test_bad_input_is_rejected_before_any_change():
    history = History()
    history.log_step(1, 0.5)
    with pytest.raises(TypeError, match="loss must be a float, got a tensor"):
        history.log_step(2, torch.tensor(0.5))
    with pytest.raises(TypeError, match="step must be an int"):
        history.log_step(2.5, 0.5)
    with pytest.raises(TypeError, match="epoch record must be a dict"):
        history.log_epoch([1, 2])
    with pytest.raises(ValueError, match="history columns differ in length"):
        history.load_state_dict({"columns": {"step": [1, 2], "epoch": [1], "loss": [1.0], "lr": [1.0],
                                             "time": [1.0]},
                                 "epochs": []})
    with pytest.raises(ValueError, match="max_rows must be an int of at least 4"):
        History(max_rows=0)
    assert len(history) == 1 and history.epochs == []


def test_rows_logged_in_blocks_read_back_exactly_at_any_moment():
    history = History()
    version = history.version
    for i in range(1, 1301):  # more than two blocks, read back part-way through one
        history.log_step(i, 1.0 / i, epoch=1 + i // 100, lr=0.1, time=i * 0.01)
        if i in (1, 511, 512, 513, 1300):
            assert len(history) == i
            assert history.step_column("step")[-1] == i
            assert history.step_column("loss")[-1] == 1.0 / i
            assert history.step_column("epoch")[-1] == 1 + i // 100
    assert history.version == version + 1300
    assert list(history.step_column("step")) == list(range(1, 1301))
    assert history.step_column("time")[99] == 100 * 0.01


def test_end_epoch_takes_a_loss_tensor_that_requires_grad_without_a_warning():
    import warnings

    history = History()
    weight = torch.tensor(2.0, requires_grad=True)
    history.log(weight * 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when float() reads a tensor that requires grad
        record = history.end_epoch(valid_loss=weight * 0.25)
    assert record["valid_loss"] == 0.5 and record["train_loss"] == 1.0
