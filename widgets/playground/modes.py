"""The Playground's two modes: "rich" (its own, the default) and "tf" (TensorFlow Playground's program).

In "tf" mode an experiment runs as TensorFlow Playground runs it: its six data
sets as its `dataset.ts` makes them (labels -1 and +1), one output (tanh for a
classification, linear for a regression), half the squared error, its initial
weights, plain SGD with its L1/L2 step after the gradient's, its menus of
rates. This module holds what the mode decides: the menus, the palette, the
range of the output, and the checks of a config in "tf" mode.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import checks
from .tf_data import TF_POINTS, TF_PROBLEMS, TF_REGRESSIONS

MODES = ("rich", "tf")
"""The modes: "rich" (the Playground's own) and "tf" (faithful to TensorFlow Playground)."""

TF_LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""TensorFlow Playground's learning-rate menu: the rates "tf" mode takes."""
TF_REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""TensorFlow Playground's regularization-rate menu: the rates "tf" mode takes (the rich mode's menu too)."""
REG_RATES = TF_REG_RATES
"""The regularization-rate menu the rich mode shows (a rate off it joins it there)."""
TF_BATCH_SIZES = (1, 30)
"""The batch sizes "tf" mode takes: the ends of TensorFlow Playground's slider."""
TF_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
"""TensorFlow Playground's activations."""

PALETTES = {"rich": "rich", "tf": "tf"}
"""Each mode's palette: "rich" (the Playground's class colours, class 0 blue) or "tf" (orange -1, blue +1)."""
TF_PALETTE = {"negative": "#f59322", "zero": "#e8eaeb", "positive": "#0877bd"}
"""TensorFlow Playground's colour scale: orange at -1, light grey at 0, blue at +1 (clamped beyond)."""
TF_OUTPUT_RANGE = (-1.0, 1.0)
"""The range of "tf" mode's output map: tanh's for a classification, the colour scale's for a regression."""

_TF_FIXED = {"dropout": 0.0, "loss": "mse", "optimizer": "sgd"}  # what TensorFlow Playground has no choice of


def menus(mode: str) -> dict[str, tuple[float, ...] | None]:
    """The menus of rates in `mode`: {"lr": ..., "reg_rate": ...}; None where any rate in the range is taken
    (the rich mode's learning rate, from 1e-5 to 10)."""
    mode = checks.choice("mode", mode, MODES)
    return {"lr": TF_LEARNING_RATES if mode == "tf" else None, "reg_rate": TF_REG_RATES}


def output_range(mode: str, task: str, classes: int | None) -> tuple[float, float] | None:
    """The fixed range of the output map's colour scale: (-1, 1) in "tf" mode; (0, 1), p(class), for the rich
    mode's classifications; None for a rich regression (its scale follows the values)."""
    if mode == "tf":
        return TF_OUTPUT_RANGE
    return None if task == "regression" or classes is None else (0.0, 1.0)


def tf_defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` as "tf" mode fills in a missing key: squared error instead of cross-entropy."""
    return {**defaults, **_TF_FIXED}


def check_tf(config: dict[str, Any]) -> dict[str, Any]:
    """A config already checked key by key, held to what TensorFlow Playground offers; returns it with `n` set
    to its count of points for the problem (500 for a classification, 1,200 for a regression)."""
    dataset = check_tf_dataset(config["dataset"])
    points = TF_POINTS["regression" if dataset in TF_REGRESSIONS else "classification"]
    if config["n"] not in TF_POINTS.values():
        raise ValueError(f"n in mode 'tf' is TensorFlow Playground's count, {TF_POINTS['classification']} "
                         f"points for a classification and {TF_POINTS['regression']} for a regression; "
                         f"got {config['n']}")
    low, high = TF_BATCH_SIZES
    if not low <= config["batch_size"] <= high:
        raise ValueError(f"batch_size in mode 'tf' must be an int from {low} to {high} (TensorFlow "
                         f"Playground's slider), got {config['batch_size']}")
    if config["activation"] not in TF_ACTIVATIONS:
        raise ValueError(f"activation in mode 'tf' must be one of {', '.join(map(repr, TF_ACTIVATIONS))}; "
                         f"got {config['activation']!r}")
    for key, value in _TF_FIXED.items():
        if config[key] != value:
            raise ValueError(f"{key} in mode 'tf' must be {value!r}, TensorFlow Playground's only choice; "
                             f"got {config[key]!r} (mode 'rich' has the others)")
    for key, menu in (("lr", TF_LEARNING_RATES), ("reg_rate", TF_REG_RATES)):
        if config[key] not in menu:
            raise ValueError(f"{key} in mode 'tf' must be one of TensorFlow Playground's menu, "
                             f"{', '.join(f'{rate:g}' for rate in menu)}; got {config[key]!r}")
    return {**config, "n": points}


def check_tf_dataset(dataset: str) -> str:
    """`dataset` if TensorFlow Playground has it; a ValueError naming its six otherwise."""
    if dataset not in TF_PROBLEMS:
        raise ValueError(f"dataset {dataset!r} is not one of TensorFlow Playground's: mode 'tf' makes "
                         f"{', '.join(TF_PROBLEMS)} (mode 'rich' has blobs and your own data)")
    return dataset


def nearest(value: float, menu: tuple[float, ...]) -> float:
    """The menu's value nearest to `value` on a log scale (0 is nearest to 0 only)."""
    if value <= 0:
        return menu[0]
    positive = [rate for rate in menu if rate > 0]
    return min(positive, key=lambda rate: abs(math.log(rate / value)))
