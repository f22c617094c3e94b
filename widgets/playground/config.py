"""The Playground's settings as one plain dict: the defaults and the check that normalizes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import checks
from .features import check_features
from .network import ACTIVATIONS, check_dropout, check_hidden
from .own_data import check_data, data_lists
from .penalty import KINDS
from .problems import BLOB_CLASSES, POINTS, PROBLEMS

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
    "features": ["x1", "x2"],
    "hidden": [4, 2],
    "activation": "tanh",
    "dropout": 0.0,
    "regularization": None,
    "reg_rate": 0.0,
    "loss": "cross_entropy",
    "optimizer": "sgd",
    "lr": 0.03,
}
"""Every setting and its default, the Playground's where it has one.

dataset: a name of `PROBLEMS`, or "own" for the points in `data`;
classes: the number of blobs (2 to 6), used by "blobs" only; n: points made
(10 to 100,000; not used with "own"); noise: 0 to 0.5 (not used with "own");
train_ratio: the training share, 0.1 to 0.9; data: None, or
`{"x": [[x1, x2], ...], "y": [...]}` with dataset "own" (integer labels are
classes, floats regression targets); batch_size; seed: of the data, the
split, the initial weights, the shuffling and dropout; features: names from
`FEATURES`; hidden: the hidden layers' widths; activation; dropout: 0 to 0.85;
regularization: None, "l1" or "l2", with reg_rate (0 to 10, the ends of
its menu; a rate off the menu joins it); loss: "cross_entropy" or "mse", for
classification (regression always uses MSE); optimizer: "sgd" or "adam",
with lr (1e-5 to 10, the ends of the learning-rate slider).
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
    given = {**DEFAULTS, **config}
    dataset = checks.choice("dataset", given["dataset"], DATASETS)
    data = given["data"]
    if dataset == OWN and data is None:
        raise ValueError("dataset 'own' needs data: {'x': [[x1, x2], ...], 'y': [...]}; got data None")
    if dataset != OWN and data is not None:
        raise ValueError(f"data is used with dataset 'own' only; got dataset {dataset!r} and data (set data to None "
                         "or dataset to 'own')")
    if data is not None:
        if not isinstance(data, Mapping) or set(data) != {"x", "y"}:
            keys = sorted(data) if isinstance(data, Mapping) else checks.shown(data)
            raise ValueError(f"data must be a dict with the keys 'x' and 'y', got {keys}")
        data = data_lists(*check_data(data["x"], data["y"]))
    return {
        "dataset": dataset,
        "classes": checks.integer("classes", given["classes"], *BLOB_CLASSES),
        "n": checks.integer("n", given["n"], *POINTS),
        "noise": checks.real("noise", given["noise"], 0.0, 0.5),
        "train_ratio": checks.real("train_ratio", given["train_ratio"], 0.1, 0.9),
        "data": data,
        "batch_size": checks.integer("batch_size", given["batch_size"], 1, POINTS[1]),
        "seed": checks.seed("seed", given["seed"]),
        "features": check_features(given["features"]),
        "hidden": check_hidden(given["hidden"]),
        "activation": checks.choice("activation", given["activation"], tuple(ACTIVATIONS)),
        "dropout": check_dropout(given["dropout"]),
        "regularization": checks.choice("regularization", given["regularization"], (None, *KINDS)),
        "reg_rate": checks.real("reg_rate", given["reg_rate"], *REG_RATE_RANGE),
        "loss": checks.choice("loss", given["loss"], LOSSES),
        "optimizer": checks.choice("optimizer", given["optimizer"], OPTIMIZERS),
        "lr": checks.real("lr", given["lr"], *LR_RANGE),
    }
