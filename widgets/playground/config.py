"""The Playground's settings as one plain dict: the defaults and the check that normalizes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import checks
from .features import check_features
from .modes import (
    MODES,
    TF_ACTIVATIONS,
    TF_BATCH_SIZES,
    TF_LEARNING_RATES,
    TF_REG_RATES,
    check_tf,
    check_tf_dataset,
    nearest,
    tf_defaults,
)
from .network import ACTIVATIONS, check_dropout, check_hidden
from .own_data import check_data, data_lists
from .penalty import KINDS
from .problems import BLOB_CLASSES, POINTS, PROBLEMS
from .tf_data import TF_POINTS, TF_PROBLEMS

OWN = "own"
DATASETS = (*PROBLEMS, OWN)
LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("sgd", "adam")
LR_RANGE = (1e-5, 10.0)
"""The learning rates the Playground takes: the ends of its slider (and of TensorFlow Playground's menu)."""
REG_RATE_RANGE = (0.0, 10.0)
"""The regularization rates it takes: the ends of its menu (TensorFlow Playground's)."""

DEFAULTS: dict[str, Any] = {
    "dataset": "circle",
    "classes": 3,
    "n": 500,
    "noise": 0.0,
    "train_ratio": 0.5,
    "data": None,
    "batch_size": 10,
    "seed": 0,
    "init_seed": None,
    "features": ["x1", "x2"],
    "hidden": [4, 2],
    "activation": "tanh",
    "dropout": 0.0,
    "regularization": None,
    "reg_rate": 0.0,
    "loss": "cross_entropy",
    "optimizer": "sgd",
    "lr": 0.03,
    "mode": "rich",
}
"""Every setting and its default, the Playground's where it has one.

dataset: a name of `PROBLEMS`, or "own" for the points in `data`;
classes: the number of blobs (2 to 6), used by "blobs" only; n: points made
(10 to 100,000; not used with "own"); noise: 0 to 0.5 (not used with "own");
train_ratio: the training share, 0.1 to 0.9; data: None, or
`{"x": [[x1, x2], ...], "y": [...]}` with dataset "own" (integer labels are
classes, floats regression targets); batch_size; seed: of the data, the
split, the shuffling, and the initial weights and dropout unless init_seed
is given; init_seed: None (the seed) or the seed of the initial weights (and,
in the rich mode, dropout's masks), so new weights can be drawn for the same
data; features: names from `FEATURES`; hidden: the hidden layers' widths; activation; dropout: 0 to 0.85;
regularization: None, "l1" or "l2", with reg_rate (0 to 10, the ends of
its menu; a rate off the menu joins it); loss: "cross_entropy" or "mse", for
classification (regression always uses MSE); optimizer: "sgd" or "adam",
with lr (1e-5 to 10, the ends of the learning-rate slider); mode: "rich"
(the Playground's own) or "tf" (TensorFlow Playground's program, see
`widgets.playground.modes`: its data sets, one output, squared error, its
initial weights and update, its menus; there a missing loss is "mse", n
follows the problem, and a setting it does not offer is refused).
"""


def check_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The full, normalized settings: `DEFAULTS` updated by `config`, every value checked.

    Returns a new dict of plain values (str, int, float, list, dict, None), in
    `DEFAULTS`' order, that `json.dumps` can write and `build` rebuilds from.
    A bad value raises an error naming its key, what it expects and what came;
    an unknown key raises a ValueError listing the known ones.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of settings (keys from DEFAULTS), got {checks.shown(config)}")
    unknown = [key for key in config if key not in DEFAULTS]
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown!r}; the settings are {', '.join(DEFAULTS)}")
    mode = checks.choice("mode", config.get("mode", DEFAULTS["mode"]), MODES)
    given = {**(tf_defaults(DEFAULTS) if mode == "tf" else DEFAULTS), **config}
    dataset = checks.choice("dataset", given["dataset"], DATASETS)
    if mode == "tf":
        check_tf_dataset(dataset)  # before the data's checks: "own" is refused as such
    data = given["data"]
    if dataset == OWN and data is None:
        raise ValueError("dataset 'own' needs data: {'x': [[x1, x2], ...], 'y': [...]}; got data None")
    if dataset != OWN and data is not None:
        raise ValueError(f"data is used with dataset 'own' only; got dataset {dataset!r} and data "
                         "(set data to None or dataset to 'own')")
    if data is not None:
        if not isinstance(data, Mapping) or set(data) != {"x", "y"}:
            keys = sorted(data) if isinstance(data, Mapping) else checks.shown(data)
            raise ValueError(f"data must be a dict with the keys 'x' and 'y', got {keys}")
        data = data_lists(*check_data(data["x"], data["y"]))
    checked = {
        "dataset": dataset,
        "classes": checks.integer("classes", given["classes"], *BLOB_CLASSES),
        "n": checks.integer("n", given["n"], *POINTS),
        "noise": checks.real("noise", given["noise"], 0.0, 0.5),
        "train_ratio": checks.real("train_ratio", given["train_ratio"], 0.1, 0.9),
        "data": data,
        "batch_size": checks.integer("batch_size", given["batch_size"], 1, POINTS[1]),
        "seed": checks.seed("seed", given["seed"]),
        "init_seed": None if given["init_seed"] is None else checks.seed("init_seed", given["init_seed"]),
        "features": check_features(given["features"]),
        "hidden": check_hidden(given["hidden"]),
        "activation": checks.choice("activation", given["activation"], tuple(ACTIVATIONS)),
        "dropout": check_dropout(given["dropout"]),
        "regularization": checks.choice("regularization", given["regularization"], (None, *KINDS)),
        "reg_rate": checks.real("reg_rate", given["reg_rate"], *REG_RATE_RANGE),
        "loss": checks.choice("loss", given["loss"], LOSSES),
        "optimizer": checks.choice("optimizer", given["optimizer"], OPTIMIZERS),
        "lr": checks.real("lr", given["lr"], *LR_RANGE),
        "mode": mode,
    }
    return check_tf(checked) if mode == "tf" else checked


def to_mode(config: Mapping[str, Any], mode: str) -> tuple[dict[str, Any], list[str]]:
    """`config` moved to `mode`, and what that changed, one sentence each.

    Every "tf" setting is a rich one, so going to "rich" changes the mode
    alone. Going to "tf" replaces what TensorFlow Playground lacks by its
    nearest choice: blobs and own data by the circle, a batch over 30 by 30,
    GELU by tanh, dropout by none, cross-entropy by squared error, Adam by SGD,
    each rate by its menu's nearest (on a log scale); `n` follows the problem.
    """
    mode = checks.choice("mode", mode, MODES)
    current = check_config(config)
    if mode == "rich" or current["mode"] == "tf":
        return check_config({**current, "mode": mode}), []
    wanted = {
        "dataset": current["dataset"] if current["dataset"] in TF_PROBLEMS else "circle",
        "batch_size": min(current["batch_size"], TF_BATCH_SIZES[1]),
        "activation": current["activation"] if current["activation"] in TF_ACTIVATIONS else "tanh",
        "dropout": 0.0,
        "loss": "mse",
        "optimizer": "sgd",
        "lr": nearest(current["lr"], TF_LEARNING_RATES),
        "reg_rate": nearest(current["reg_rate"], TF_REG_RATES),
    }
    changes = [f"{key} {current[key]!r} -> {value!r}" for key, value in wanted.items()
               if current[key] != value]
    if current["data"] is not None:
        changes.append("data: your own points are left out")
    moved = check_config({**current, **wanted, "data": None, "n": TF_POINTS["classification"], "mode": "tf"})
    if moved["n"] != current["n"]:
        changes.append(f"n {current['n']} -> {moved['n']}")
    return moved, changes
