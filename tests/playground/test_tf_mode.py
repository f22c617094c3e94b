"""The "tf" mode of the Playground's core: its settings, what `build` makes, its runs and code; init_seed."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from widgets.playground import (
    DEFAULTS,
    TF_LEARNING_RATES,
    TF_PALETTE,
    TF_REG_RATES,
    HalfSquaredError,
    TfSGD,
    build,
    check_config,
    make_tf_split,
    menus,
    to_code,
    to_mode,
)


def test_tf_mode_fills_in_squared_error_and_tensorflow_playgrounds_counts():
    config = check_config({"mode": "tf"})
    assert config["mode"] == "tf" and config["loss"] == "mse" and config["n"] == 500
    assert check_config({"mode": "tf", "dataset": "reg-gauss"})["n"] == 1200
    # n follows the problem when the data set changes between its kinds
    assert check_config({**config, "dataset": "reg-plane"})["n"] == 1200
    assert check_config(check_config({"mode": "tf", "dataset": "reg-plane"})) == check_config(
        {"mode": "tf", "dataset": "reg-plane"})
    assert check_config({})["mode"] == "rich" and check_config({})["init_seed"] is None


@pytest.mark.parametrize(("change", "message"), [
    ({"lr": 0.05}, r"lr in mode 'tf' must be one of TensorFlow Playground's menu, 1e-05, 0.0001, .*, 10; "
                   r"got 0.05"),
    ({"lr": 20}, r"lr must be a number in \[1e-05, 10\], got 20.0"),
    ({"reg_rate": 0.05}, r"reg_rate in mode 'tf' must be one of TensorFlow Playground's menu, 0, 0.001, "
                         r".*; got 0.05"),
    ({"batch_size": 31}, r"batch_size in mode 'tf' must be an int from 1 to 30 .*got 31"),
    ({"activation": "gelu"}, r"activation in mode 'tf' must be one of 'relu', 'tanh', 'sigmoid', 'linear'; "
                             r"got 'gelu'"),
    ({"dropout": 0.1}, r"dropout in mode 'tf' must be 0.0, .*got 0.1"),
    ({"loss": "cross_entropy"}, r"loss in mode 'tf' must be 'mse', .*got 'cross_entropy'"),
    ({"optimizer": "adam"}, r"optimizer in mode 'tf' must be 'sgd', .*got 'adam'"),
    ({"dataset": "blobs"}, r"dataset 'blobs' is not one of TensorFlow Playground's: mode 'tf' makes circle, "
                           r".*reg-gauss"),
    ({"dataset": "own", "data": {"x": [[0, 0], [1, 1]], "y": [0, 1]}},
     r"dataset 'own' is not one of TensorFlow"),
    ({"n": 300}, r"n in mode 'tf' is TensorFlow Playground's count, 500 points .* got 300"),
    ({"mode": "keras"}, r"mode must be one of 'rich', 'tf'; got str 'keras'"),
    ({"init_seed": -1}, r"init_seed must be an int from 0 to .*got -1"),
])
def test_what_tensorflow_playground_does_not_offer_is_refused_before_anything_is_made(change, message):
    config = {"mode": "tf", **copy.deepcopy(change)}
    rng = torch.get_rng_state()
    for action in (check_config, build):
        with pytest.raises(ValueError, match=message):
            action(config)
    assert torch.equal(torch.get_rng_state(), rng)


def test_the_menus_are_tensorflow_playgrounds_and_the_rich_mode_takes_rates_off_them():
    assert TF_LEARNING_RATES == (1e-5, 1e-4, 1e-3, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    assert TF_REG_RATES == (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    assert menus("tf") == {"lr": TF_LEARNING_RATES, "reg_rate": TF_REG_RATES}
    assert menus("rich")["lr"] is None
    for rate in TF_LEARNING_RATES:
        assert check_config({"mode": "tf", "lr": rate})["lr"] == rate
    assert check_config({"lr": 0.05, "reg_rate": 0.05})["lr"] == 0.05  # the rich mode's ranges


def test_a_tf_setup_is_tensorflow_playgrounds_program():
    setup = build({"mode": "tf", "dataset": "xor", "hidden": [3], "regularization": "l2", "reg_rate": 0.01,
                   "train_ratio": 0.3, "batch_size": 7})
    assert (setup.mode, setup.palette, setup.output_range) == ("tf", "tf", (-1.0, 1.0))
    assert setup.menus == menus("tf") and setup.task == "classification" and setup.classes == 2
    assert setup.y_train.dtype == torch.float32 and set(setup.y_train.tolist()) == {-1.0, 1.0}
    assert (len(setup.x_train), len(setup.x_test)) == (150, 350)
    expected = make_tf_split("xor", noise=0.0, train_ratio=0.3, seed=0)
    made = (setup.x_train, setup.y_train, setup.x_test, setup.y_test)
    assert all(torch.equal(a, b) for a, b in zip(expected, made))
    model = setup.model
    assert isinstance(model[-1], nn.Tanh) and model[-2].out_features == 1
    biases = [m.bias.tolist() for m in model if isinstance(m, nn.Linear)]
    assert biases == [[pytest.approx(0.1)] * 3, [pytest.approx(0.1)]]
    trainer = setup.trainer
    assert isinstance(trainer.loss_fn, HalfSquaredError) and isinstance(trainer.optimizer, TfSGD)
    assert trainer.optimizer.param_groups[0]["regularization"] == "l2" and setup.penalty is None
    assert trainer.metric_names == ["acc"] and trainer.steps_per_epoch == math.ceil(150 / 7)
    first = [batch[0] for batch in trainer.train_loader]
    assert all(torch.equal(a, b[0]) for a, b in zip(first, trainer.train_loader))  # its order, every epoch
    assert torch.equal(torch.cat(first), setup.x_train)
    record = trainer.run_epoch()
    assert {"train_loss", "valid_loss", "train_acc", "valid_acc"} <= set(record)
    with torch.no_grad():
        output = model(setup.x_test)[:, 0]
    assert record["valid_acc"] == pytest.approx(float(((output > 0) == (setup.y_test > 0)).float().mean()))
    assert "mode 'tf'" in repr(setup)
    rich = build({})
    assert (rich.mode, rich.palette, rich.output_range) == ("rich", "rich", (0.0, 1.0))
    assert rich.menus["lr"] is None
    assert build({"dataset": "reg-plane", "n": 60}).output_range is None
    assert TF_PALETTE == {"negative": "#f59322", "zero": "#e8eaeb", "positive": "#0877bd"}


def test_the_test_loss_is_half_the_squared_error_as_computed_by_hand():
    setup = build({"mode": "tf", "dataset": "gauss", "features": ["x1"], "hidden": [], "noise": 0.2})
    with torch.no_grad():
        setup.model[1].weight.fill_(0.25)
        setup.model[1].bias.fill_(-0.1)
    total = 0.0
    for (x1, _), label in zip(setup.x_test.tolist(), setup.y_test.tolist()):
        total += 0.5 * (math.tanh(0.25 * x1 - 0.1) - label) ** 2
    evaluated = setup.trainer.evaluate(setup.trainer.valid_loader)
    assert evaluated["loss"] == pytest.approx(total / len(setup.x_test), rel=1e-5)


def test_a_regression_has_one_linear_output_and_no_accuracy():
    setup = build({"mode": "tf", "dataset": "reg-plane", "hidden": [2]})
    assert setup.task == "regression" and setup.classes is None and setup.output_range == (-1.0, 1.0)
    assert isinstance(setup.model[-1], nn.Linear) and len(setup.x_train) == 600
    assert setup.trainer.metric_names == [] and math.isfinite(setup.trainer.run_epoch()["valid_loss"])


def test_a_tf_run_repeats_bitwise_and_leaves_torchs_generator_alone():
    config = {"mode": "tf", "dataset": "spiral", "noise": 0.2, "hidden": [6, 4], "activation": "relu",
              "regularization": "l1", "reg_rate": 0.003, "lr": 0.1,
              "features": ["x1", "x2", "sin(x1)", "sin(x2)"]}
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        setup = build(config)
        setup.trainer.fit(3)
        assert torch.equal(torch.get_rng_state(), state)
        runs.append((setup.trainer.history.step_column("loss").tolist(), setup.model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][key], runs[1][1][key]) for key in runs[0][1])


TF_CONFIGS = {
    "spiral-l1": {"mode": "tf", "dataset": "spiral", "noise": 0.3, "hidden": [8, 5], "regularization": "l1",
                  "reg_rate": 0.01, "lr": 0.1, "batch_size": 7,
                  "features": ["x1", "x2", "sin(x1)", "sin(x2)"]},
    "reg-gauss-l2": {"mode": "tf", "dataset": "reg-gauss", "regularization": "l2", "reg_rate": 0.03,
                     "activation": "sigmoid", "train_ratio": 0.2, "seed": 5, "init_seed": 8},
    "circle-linear": {"mode": "tf", "dataset": "circle", "hidden": [], "activation": "linear",
                      "features": ["x1^2", "x2^2"], "batch_size": 30, "lr": 0.003},
}


@pytest.mark.parametrize("name", list(TF_CONFIGS))
def test_the_exported_code_reproduces_the_run_bitwise(name):
    config = TF_CONFIGS[name]
    source = to_code(config)
    assert "TfSGD(" in source and "HalfSquaredError()" in source and "make_tf_split(" in source
    assert ("nn.Tanh(),  # output" in source) == (config["dataset"] != "reg-gauss")
    assert max(len(line) for line in source.splitlines()) <= 120
    namespace: dict = {}
    exec(compile(source, f"<to_code {name}>", "exec"), namespace)
    setup = build(config)
    for trainer in (namespace["trainer"], setup.trainer):
        for _ in range(60):
            trainer.step()
    for part in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(namespace[part], getattr(setup, part)), part
    exported, built = namespace["trainer"].model.state_dict(), setup.model.state_dict()
    assert list(exported) == list(built) and all(torch.equal(exported[key], built[key]) for key in built)
    losses = namespace["trainer"].history.step_column("loss").tolist()
    assert losses == setup.trainer.history.step_column("loss").tolist()


def test_l1_in_a_tf_run_zeroes_weights_for_good():
    setup = build({"mode": "tf", "dataset": "circle", "hidden": [8], "features": ["x1", "x2", "x1^2", "x2^2"],
                   "regularization": "l1", "reg_rate": 0.03, "lr": 0.1})
    optimizer, first = setup.trainer.optimizer, setup.model[1].weight
    setup.trainer.fit(2)
    dead = optimizer.dead(first)
    assert int(dead.sum()) > 0 and torch.equal(first.detach()[dead], torch.zeros(int(dead.sum())))
    setup.trainer.fit(3)
    assert bool(optimizer.dead(first)[dead].all()) and bool((first.detach()[dead] == 0).all())


@pytest.mark.parametrize("mode", ["rich", "tf"])
def test_init_seed_draws_other_weights_for_the_same_data(mode):
    base = {"mode": mode, "dataset": "spiral", "seed": 3, "hidden": [4]}
    same, other = build(base), build({**base, "init_seed": 41})
    assert torch.equal(build({**base, "init_seed": 3}).model[1].weight, same.model[1].weight)
    for part in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(same, part), getattr(other, part)), part
    assert not torch.equal(same.model[1].weight, other.model[1].weight)
    assert other.config["init_seed"] == 41
    assert "manual_seed(41)" in to_code(other.config)
    again = build(other.config)
    assert torch.equal(again.model[1].weight, other.model[1].weight)


def test_the_rich_mode_is_unchanged_by_the_new_keys():
    assert DEFAULTS["mode"] == "rich" and DEFAULTS["init_seed"] is None
    plain, explicit = build({"dataset": "xor", "n": 80}), build({"dataset": "xor", "n": 80, "mode": "rich"})
    assert all(torch.equal(a, b) for a, b in zip(plain.model.parameters(), explicit.model.parameters()))
    source = to_code({"dataset": "xor"})
    assert "TfSGD" not in source and "torch.manual_seed(0)" in source


def test_to_mode_moves_a_rich_config_to_tensorflow_playgrounds_nearest_choices():
    rich = {"dataset": "blobs", "classes": 4, "n": 300, "batch_size": 64, "activation": "gelu",
            "dropout": 0.2, "optimizer": "adam", "lr": 0.05, "reg_rate": 0.2, "regularization": "l2",
            "hidden": [5], "seed": 9}
    moved, changes = to_mode(rich, "tf")
    assert moved == check_config({"mode": "tf", "dataset": "circle", "classes": 4, "batch_size": 30,
                                  "lr": 0.03, "reg_rate": 0.3, "regularization": "l2", "hidden": [5],
                                  "seed": 9})
    assert changes == ["dataset 'blobs' -> 'circle'", "batch_size 64 -> 30", "activation 'gelu' -> 'tanh'",
                       "dropout 0.2 -> 0.0", "loss 'cross_entropy' -> 'mse'", "optimizer 'adam' -> 'sgd'",
                       "lr 0.05 -> 0.03", "reg_rate 0.2 -> 0.3", "n 300 -> 500"]
    back, none = to_mode(moved, "rich")
    assert none == [] and back == {**moved, "mode": "rich"}
    regression = check_config({"mode": "tf", "dataset": "reg-plane", "lr": 0.1})
    assert to_mode({"dataset": "reg-plane", "lr": 0.1}, "tf") == (
        regression, ["loss 'cross_entropy' -> 'mse'", "n 500 -> 1200"])


def test_the_faithful_mode_example_of_the_playground_page_runs_as_written():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "playground.md").read_text()
    code = page.split("## The faithful mode", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/playground.md", "exec"), namespace)
    setup = namespace["setup"]
    assert setup.mode == "tf" and setup.trainer.epoch == 5
    assert namespace["config"]["mode"] == "tf" and namespace["changes"][0] == "dataset 'blobs' -> 'circle'"


def test_a_tf_run_resumes_exactly_from_the_trainers_checkpoint():
    config = {"mode": "tf", "dataset": "circle", "hidden": [5], "features": ["x1", "x2", "x1^2"],
              "regularization": "l1", "reg_rate": 0.03, "lr": 0.1, "batch_size": 9}
    whole = build(config)
    for _ in range(70):
        whole.trainer.step()
    half = build(config)
    for _ in range(33):  # mid-epoch, with weights already dead
        half.trainer.step()
    assert bool(half.trainer.optimizer.dead(half.model[1].weight).any())
    resumed = build(config)
    resumed.trainer.load_state_dict(half.trainer.state_dict())
    for _ in range(37):
        resumed.trainer.step()
    assert torch.equal(resumed.trainer.optimizer.dead(resumed.model[1].weight),
                       whole.trainer.optimizer.dead(whole.model[1].weight))
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.parameters(), whole.model.parameters()))
