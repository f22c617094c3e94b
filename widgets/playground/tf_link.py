"""Links to TensorFlow Playground, both ways: its `#key=value&...` state as the Playground's settings, and
back.

TensorFlow Playground keeps its whole state in the link's fragment, one key
per setting (its `state.ts`): the data (`problem`, `dataset`, `regDataset`,
`noise` in percent, `percTrainData` in percent, `batchSize`, `seed`), the
features (`x`, `y`, `xSquared`, `ySquared`, `xTimesY`, `sinX`, `sinY`, `cosX`,
`cosY`), the network (`networkShape`, `activation`), the training
(`learningRate`, `regularization`, `regularizationRate`), what it shows
(`showTestData`, `discretize`), controls hidden (`<name>_hide`), and a few
of its own (`collectStats`, `tutorial`, `initZero`, `hideText`).

`from_tf_link(url)` reads every key it defines into a `TfLink`: the settings
(`config`, checked by `check_config`), the view options and the controls to
hide. By default the settings are in "tf" mode, TensorFlow Playground's own
program (`widgets.playground.modes`); `mode="rich"` gives the same settings
in the Playground's richer mode. What cannot be carried over (cos features,
zero initialisation, a key it does not define) is listed in
`TfLink.left_out` and named in one warning. `to_tf_link(config, ...)` writes
the link for what TensorFlow Playground can show, and lists what it cannot
(blobs, GELU, dropout, Adam, cross-entropy, a seed of the initial weights).

In "tf" mode both run the same program on the same settings; the points and
the initial weights still differ, as they come from another generator (the
same seed number gives other points).
"""

from __future__ import annotations

import re
import warnings
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from . import checks
from .config import check_config
from .modes import MODES, TF_ACTIVATIONS
from .tf_data import TF_CLASSIFICATIONS, TF_POINTS, TF_REGRESSIONS

TF_PLAYGROUND = "https://playground.tensorflow.org/"

TF_DATASETS = TF_CLASSIFICATIONS
TF_REG_DATASETS = TF_REGRESSIONS
TF_FEATURES = {"x": "x1", "y": "x2", "xSquared": "x1^2", "ySquared": "x2^2", "xTimesY": "x1*x2",
               "sinX": "sin(x1)", "sinY": "sin(x2)"}
"""TensorFlow Playground's feature keys and the Playground's names for them."""
TF_HIDE = {"dataset": "dataset", "noise": "noise", "percTrainData": "train_ratio", "batchSize": "batch_size",
           "activation": "activation", "regularization": "regularization", "regularizationRate": "reg_rate",
           "learningRate": "lr", "numHiddenLayers": "layers", "showTestData": "test_points",
           "discretize": "discretize"}
"""`<key>_hide` of TensorFlow Playground and the control of `Playground(hide=[...])` it hides."""

# Every key TensorFlow Playground writes, in its order, with its default (state.ts).
TF_DEFAULTS: dict[str, str] = {
    "activation": "tanh", "regularization": "none", "batchSize": "10", "dataset": "circle",
    "regDataset": "reg-plane",
    "learningRate": "0.03", "regularizationRate": "0", "noise": "0", "networkShape": "4,2", "seed": "0.00000",
    "showTestData": "false", "discretize": "false", "percTrainData": "50", "x": "true", "y": "true",
    "xTimesY": "false", "xSquared": "false", "ySquared": "false", "cosX": "false", "sinX": "false",
    "cosY": "false",
    "sinY": "false", "collectStats": "false", "problem": "classification", "initZero": "false",
    "hideText": "false",
}
_OWN_ONLY = {"collectStats": "statistics collection", "tutorial": "the tutorial text",
             "hideText": "the text below it"}


@dataclass
class TfLink:
    """A TensorFlow Playground link read as the Playground's settings."""

    config: dict[str, Any]
    """The settings, checked (`Playground(**config)` builds the experiment)."""
    view: dict[str, bool]
    """What the output shows: {"test_points": ..., "discretize": ...}."""
    hide: list[str] = field(default_factory=list)
    """The controls the link hides, by `Playground(hide=[...])` names."""
    left_out: list[str] = field(default_factory=list)
    """What the link asks for that the Playground cannot do, one sentence each."""


def _fragment(url: str) -> dict[str, str]:
    if not isinstance(url, str):
        raise TypeError(f"url must be a TensorFlow Playground link (a str), got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.netloc and "playground.tensorflow.org" not in parts.netloc:
        raise ValueError(f"expected a link to playground.tensorflow.org, got one to {parts.netloc!r}")
    fragment = parts.fragment if (parts.netloc or parts.fragment) else url.strip().lstrip("#")
    if not fragment:
        raise ValueError("the link has no '#key=value&...' part: open the experiment in TensorFlow "
                         "Playground and copy the address shown then")
    state: dict[str, str] = {}
    for pair in fragment.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            state[unquote(key)] = unquote(value)
    return state


def _number(state: dict[str, str], key: str) -> float:
    try:
        return float(state.get(key, TF_DEFAULTS[key]))
    except ValueError:
        raise ValueError(f"{key} in the link must be a number, got {state[key]!r}") from None


def _flag(state: dict[str, str], key: str) -> bool:
    value = state.get(key, TF_DEFAULTS[key]).strip()
    return value != "false" if value else TF_DEFAULTS[key] == "true"


def seed_of(text: str) -> int:
    """The Playground's seed for TensorFlow Playground's seed string: "0.66230" -> 66230 (its seeds have 5
    decimals), a whole number as itself, anything else a checksum of the text."""
    text = text.strip()
    match = re.fullmatch(r"0\.(\d{1,15})", text)
    if match:
        return int(match.group(1))
    return int(text) if text.isdigit() else zlib.crc32(text.encode())


def seed_text(seed: int) -> str:
    """TensorFlow Playground's seed string for a seed of the Playground: 66230 -> "0.66230" (inverse of
    `seed_of`)."""
    return f"0.{seed:05d}" if seed < 100_000 else str(seed)


def _js_number(value: float) -> str:
    """A number as TensorFlow Playground's links write one: 0.00001, 0.03, 10 (ten decimals at most)."""
    return f"{value:.10f}".rstrip("0").rstrip(".")


def from_tf_link(url: str, mode: str = "tf") -> TfLink:
    """Read a TensorFlow Playground link as settings in `mode`: "tf" (its own program, the default) or "rich".

    Every bad value raises a ValueError naming its key, before anything is
    built (in "tf" mode a rate must be on its menus, as its page offers). What
    cannot be carried over is in `left_out`, and named in one warning.
    """
    mode = checks.choice("mode", mode, MODES)
    state = _fragment(url)
    left_out: list[str] = []
    problem = state.get("problem", "classification")
    if problem not in TF_POINTS:
        raise ValueError(f"problem in the link must be 'classification' or 'regression', got {problem!r}")
    known: tuple[str, ...]
    if problem == "classification":
        dataset = state.get("dataset") or TF_DEFAULTS["dataset"]
        known = TF_DATASETS
    else:
        dataset = state.get("regDataset") or TF_DEFAULTS["regDataset"]
        known = TF_REG_DATASETS
    if dataset not in known:
        raise ValueError(f"the link's {problem} data set {dataset!r} is not one the Playground makes; "
                         f"it makes {', '.join(known)}")
    activation = state.get("activation") or TF_DEFAULTS["activation"]
    if activation not in TF_ACTIVATIONS:
        raise ValueError(f"activation in the link must be one of {', '.join(TF_ACTIVATIONS)}, "
                         f"got {activation!r}")
    penalty = state.get("regularization") or "none"
    if penalty not in ("none", "L1", "L2"):
        raise ValueError(f"regularization in the link must be none, L1 or L2, got {penalty!r}")
    shape = state.get("networkShape", TF_DEFAULTS["networkShape"]).strip()
    try:
        hidden = [int(width) for width in shape.split(",")] if shape else []
    except ValueError:
        raise ValueError(f"networkShape in the link must be widths such as 4,2, got {shape!r}") from None
    for key in ("cosX", "cosY"):
        if _flag(state, key):
            left_out.append(f"{key}: the Playground has no cos features")
    if _flag(state, "initZero"):
        start = "TensorFlow Playground's random weights" if mode == "tf" else "torch's default initialisation"
        left_out.append(f"initZero: the weights start from {start}, not zero")
    left_out += [f"{key}: {what} is TensorFlow Playground's own" for key, what in _OWN_ONLY.items()
                 if state.get(key) not in (None, "", TF_DEFAULTS.get(key, ""), "false")]
    hide = []
    for key, value in state.items():
        if key.endswith("_hide") and value == "true":
            name = key[: -len("_hide")]
            if name in TF_HIDE:
                hide.append(TF_HIDE[name])
            elif name != "problem":  # the Playground has no problem switch: its data sets name the problem
                left_out.append(f"{key}: the Playground has no such control to hide")
    left_out += [f"{key}: a key TensorFlow Playground does not define" for key in state
                 if key not in TF_DEFAULTS and key != "tutorial" and not key.endswith("_hide")]
    config = check_config({
        "dataset": dataset,
        "n": TF_POINTS[problem],
        "noise": _number(state, "noise") / 100,
        "train_ratio": _number(state, "percTrainData") / 100,
        "batch_size": int(_number(state, "batchSize")),
        "seed": seed_of(state.get("seed") or TF_DEFAULTS["seed"]),
        "features": [name for key, name in TF_FEATURES.items() if _flag(state, key)],
        "hidden": hidden,
        "activation": activation,
        "regularization": None if penalty == "none" else penalty.lower(),
        "reg_rate": _number(state, "regularizationRate"),
        "loss": "mse",  # TensorFlow Playground trains with squared error
        "optimizer": "sgd",
        "lr": _number(state, "learningRate"),
        "mode": mode,
    })
    link = TfLink(config, {"test_points": _flag(state, "showTestData"),
                           "discretize": _flag(state, "discretize")},
                  [name for name in TF_HIDE.values() if name in hide], left_out)
    if left_out:
        warnings.warn("not carried over from the TensorFlow Playground link: " + "; ".join(left_out),
                      UserWarning, stacklevel=2)
    return link


def to_tf_link(config: Mapping[str, Any], view: Mapping[str, bool] | None = None,
               hide: Iterable[str] = ()) -> tuple[str, list[str]]:
    """The TensorFlow Playground link for `config` (with the view options and hidden controls), and what the
    link cannot say, one sentence each (empty when TensorFlow Playground shows the same experiment)."""
    config = check_config(config)
    view = {"test_points": False, "discretize": False, **(view or {})}
    cannot: list[str] = []
    dataset = config["dataset"]
    regression = dataset in TF_REG_DATASETS
    if dataset not in TF_DATASETS + TF_REG_DATASETS:
        cannot.append(f"dataset {dataset!r}: "
                      f"TensorFlow Playground has {', '.join(TF_DATASETS + TF_REG_DATASETS)}")
    expected_points = TF_POINTS["regression" if regression else "classification"]
    if config["n"] != expected_points:
        cannot.append(f"n {config['n']}: TensorFlow Playground makes {expected_points} points")
    if config["activation"] not in TF_ACTIVATIONS:
        cannot.append(f"activation {config['activation']!r}: "
                      f"TensorFlow Playground has {', '.join(TF_ACTIVATIONS)}")
    if config["dropout"]:
        cannot.append("dropout: TensorFlow Playground has none")
    if config["optimizer"] != "sgd":
        cannot.append(f"optimizer {config['optimizer']!r}: TensorFlow Playground trains with plain SGD")
    if not regression and config["loss"] != "mse":
        cannot.append("loss 'cross_entropy': "
                      "TensorFlow Playground trains a classification with squared error")
    if config["init_seed"] is not None:
        cannot.append(f"init_seed {config['init_seed']}: a TensorFlow Playground link has no seed for the "
                      "initial weights")
    state = dict(TF_DEFAULTS)
    state.update({
        "activation": (config["activation"] if config["activation"] in TF_ACTIVATIONS
                       else TF_DEFAULTS["activation"]),
        "regularization": {"l1": "L1", "l2": "L2"}.get(config["regularization"], "none"),
        "batchSize": str(config["batch_size"]),
        "dataset": dataset if dataset in TF_DATASETS else TF_DEFAULTS["dataset"],
        "regDataset": dataset if regression else TF_DEFAULTS["regDataset"],
        "learningRate": _js_number(config["lr"]),
        "regularizationRate": _js_number(config["reg_rate"]),
        "noise": _js_number(config["noise"] * 100),
        "networkShape": ",".join(str(width) for width in config["hidden"]),
        "seed": seed_text(config["seed"]),
        "showTestData": str(bool(view["test_points"])).lower(),
        "discretize": str(bool(view["discretize"])).lower(),
        "percTrainData": _js_number(config["train_ratio"] * 100),
        "problem": "regression" if regression else "classification",
    })
    for key, name in TF_FEATURES.items():
        state[key] = str(name in config["features"]).lower()
    hidden_controls = set(hide)
    if state["regularization"] == "none":
        del state["regularization"]  # TensorFlow Playground leaves out a setting that is None
    pairs = [f"{key}={value}" for key, value in state.items()]
    pairs += [f"{key}_hide=true" for key, name in TF_HIDE.items() if name in hidden_controls]
    return TF_PLAYGROUND + "#" + "&".join(pairs), cannot
