"""The Playground's settings (`check_config`) and what `build` makes of them."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from widgets import Trainer
from widgets.playground import (
    DATASETS,
    DEFAULTS,
    OneHotMSELoss,
    Setup,
    WeightPenalty,
    build,
    check_config,
    make_problem,
)

OWN_POINTS = {"x": [[-2.0, 1.0], [1.5, 0.5], [0.25, -3.0], [2.0, 2.0], [-1.0, -1.0], [3.0, 0.0]],
              "y": [0, 1, 2, 1, 0, 2]}


def test_defaults_are_the_playgrounds_and_check_config_fills_them_in():
    assert (DEFAULTS["dataset"] == "circle" and DEFAULTS["features"] == ["x1", "x2"]
            and DEFAULTS["hidden"] == [4, 2])
    assert ((DEFAULTS["activation"], DEFAULTS["lr"], DEFAULTS["batch_size"], DEFAULTS["train_ratio"])
            == ("tanh", 0.03, 10, 0.5))
    config = check_config({})
    assert config == DEFAULTS and config is not DEFAULTS and config["hidden"] is not DEFAULTS["hidden"]
    assert list(check_config({"lr": 0.1, "dataset": "xor"})) == list(DEFAULTS)
    assert check_config(config) == config


def test_check_config_gives_plain_values_that_json_writes():
    config = check_config({"n": np.int64(300), "noise": np.float64(0.25), "hidden": (3, np.int32(2)),
                           "features": ("x1", "x2", "x1*x2"), "dataset": "own",
                           "data": {"x": torch.tensor(OWN_POINTS["x"], dtype=torch.float64),
                                    "y": np.array(OWN_POINTS["y"])}})
    assert type(config["n"]) is int and type(config["noise"]) is float
    assert config["hidden"] == [3, 2] and all(type(v) is int for v in config["hidden"])
    assert config["features"] == ["x1", "x2", "x1*x2"]
    assert config["data"] == OWN_POINTS and all(type(v) is int for v in config["data"]["y"])
    assert json.loads(json.dumps(config)) == config


def test_an_unknown_setting_is_refused_with_the_known_ones_listed():
    config = {"dataset": "xor", "learning_rate": 0.1}
    kept = copy.deepcopy(config)
    with pytest.raises(ValueError,
                       match=r"unknown setting\(s\) \['learning_rate'\]; "
                             r"the settings are dataset, classes, .*lr"):
        check_config(config)
    assert config == kept


@pytest.mark.parametrize(("change", "message"), [
    ({"dataset": "moons"}, r"dataset must be one of 'circle', .*'reg-gauss', 'own'; got str 'moons'"),
    ({"classes": 7}, r"classes must be an int from 2 to 6, got 7"),
    ({"n": "500"}, r"n must be an int from 10 to 100000, got str '500'"),
    ({"noise": 0.55}, r"noise must be a number in \[0, 0.5\], got 0.55"),
    ({"train_ratio": 1.0}, r"train_ratio must be a number in \[0.1, 0.9\], got 1.0"),
    ({"batch_size": 0}, r"batch_size must be an int from 1 to 100000, got 0"),
    ({"seed": True}, r"seed must be an int from 0 to .*got bool True"),
    ({"features": ["x1", "cos(x1)"]}, r"features must be names from .*got the unknown \['cos\(x1\)'\]"),
    ({"hidden": [4, 2.5]}, r"hidden\[1\] must be an int from 1 to 16, got float 2.5"),
    ({"activation": "ReLU"}, r"activation must be one of 'relu', .*got str 'ReLU'"),
    ({"dropout": -0.1}, r"dropout must be a number in \[0, 0.85\], got -0.1"),
    ({"regularization": "none"}, r"regularization must be one of None, 'l1', 'l2'; got str 'none'"),
    ({"reg_rate": math.inf}, r"reg_rate must be a number in \[0, 10\], got inf"),
    ({"reg_rate": 20}, r"reg_rate must be a number in \[0, 10\], got 20.0"),
    ({"loss": "hinge"}, r"loss must be one of 'cross_entropy', 'mse'; got str 'hinge'"),
    ({"optimizer": "rmsprop"}, r"optimizer must be one of 'sgd', 'adam'; got str 'rmsprop'"),
    ({"lr": 0}, r"lr must be a number in \[1e-05, 10\], got 0.0"),
    ({"lr": 20}, r"lr must be a number in \[1e-05, 10\], got 20.0"),
    ({"lr": 1e-7}, r"lr must be a number in \[1e-05, 10\], got 1e-07"),
    ({"dataset": "own"}, r"dataset 'own' needs data: .*got data None"),
    ({"data": OWN_POINTS}, r"data is used with dataset 'own' only; got dataset 'circle'"),
    ({"dataset": "own", "data": {"x": [[0, 1]]}},
     r"data must be a dict with the keys 'x' and 'y', got \['x'\]"),
    ({"dataset": "own", "data": {"x": [[0, 1], [1, 0]], "y": [0, 0]}},
     r"data\['y'\] must hold at least two classes"),
])
def test_a_bad_setting_names_its_key_what_was_expected_and_what_came_and_changes_nothing(change, message):
    config = {**DEFAULTS, **copy.deepcopy(change)}
    kept = copy.deepcopy(config)
    rng = torch.get_rng_state()
    for action in (check_config, build):
        with pytest.raises((TypeError, ValueError), match=message):
            action(config)
    assert json.dumps(config, default=str) == json.dumps(kept, default=str)
    assert torch.equal(torch.get_rng_state(), rng)  # build stopped before seeding anything


def test_a_config_that_is_not_a_dict_is_refused():
    with pytest.raises(TypeError, match=r"config must be a dict of settings .*got list \['circle'\]"):
        check_config(["circle"])


OPTIONS = [
    {"activation": "relu", "hidden": [16] * 6},
    {"activation": "sigmoid", "loss": "mse", "optimizer": "adam"},
    {"activation": "linear", "hidden": [], "regularization": "l1", "reg_rate": 0.01},
    {"activation": "gelu", "dropout": 0.5, "regularization": "l2", "reg_rate": 0.1},
    {"features": ["x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"], "batch_size": 1, "train_ratio": 0.1},
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_problem_and_option_builds_and_trains_with_finite_loss(dataset, options):
    config = {"dataset": dataset, "n": 60, "noise": 0.2, **options}
    if dataset == "own":
        config["data"] = OWN_POINTS
    setup = build(config)
    for _ in range(3):
        assert math.isfinite(setup.trainer.step()["loss"])
    record = setup.trainer.run_epoch()
    assert math.isfinite(record["valid_loss"])
    assert ("valid_acc" in record) == (setup.task == "classification")


def test_the_setup_holds_the_split_model_and_a_trainer_on_the_test_split():
    setup = build({"dataset": "blobs", "classes": 4, "n": 200, "train_ratio": 0.3, "regularization": "l2",
                   "reg_rate": 0.01, "loss": "mse", "batch_size": 8})
    assert isinstance(setup, Setup) and setup.task == "classification" and setup.classes == 4
    assert len(setup.x_train) == 60 and len(setup.x_test) == 140
    x, y = make_problem("blobs", n=200, classes=4)
    both = torch.cat([setup.x_train, setup.x_test])
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, x.tolist()))
    trainer = setup.trainer
    assert isinstance(trainer, Trainer) and trainer.model is setup.model and trainer.verbose is False
    assert trainer.device == torch.device("cpu")
    assert isinstance(trainer.loss_fn, OneHotMSELoss) and isinstance(trainer.optimizer, torch.optim.SGD)
    assert trainer.callbacks == [setup.penalty] and isinstance(setup.penalty, WeightPenalty)
    assert setup.model[-1].out_features == 4 and trainer.metric_names == ["acc"]
    assert trainer.steps_per_epoch == math.ceil(60 / 8)
    valid_x = torch.cat([batch[0] for batch in trainer.valid_loader])
    assert torch.equal(valid_x, setup.x_test)
    record = trainer.run_epoch()
    evaluated = trainer.evaluate(trainer.valid_loader)
    assert (record["valid_loss"] == pytest.approx(evaluated["loss"])
            and record["valid_acc"] == evaluated["acc"])
    assert "blobs" in repr(setup) and "60 train / 140 test" in repr(setup)


def test_a_regression_has_one_output_and_column_targets():
    setup = build({"dataset": "reg-plane", "n": 100, "loss": "cross_entropy"})
    assert setup.task == "regression" and setup.classes is None
    assert setup.y_train.shape == (50,) and setup.y_train.dtype == torch.float32
    assert isinstance(setup.trainer.loss_fn, nn.MSELoss) and setup.model[-1].out_features == 1
    x, y = next(iter(setup.trainer.train_loader))
    assert setup.model(x).shape == y.shape == (10, 1)
    assert setup.trainer.metric_names == []


def test_own_data_decides_the_task_and_the_classes():
    setup = build({"dataset": "own", "data": OWN_POINTS, "train_ratio": 0.5})
    assert setup.classes == 3 and setup.model[-1].out_features == 3
    values = {"x": OWN_POINTS["x"], "y": [0.5, -1.0, 2.0, 0.0, 1.0, 3.0]}
    setup = build({"dataset": "own", "data": values})
    assert setup.task == "regression" and len(setup.x_train) == 3
