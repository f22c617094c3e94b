"""`to_code(config)`: the Python source of an experiment, to take it into ordinary PyTorch."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .config import OWN, check_config
from .network import ACTIVATIONS
from .setup import DEVICE, count_classes, points, weights_seed
from .tf_export import tf_code

WIDTH = 100  # wrap embedded data at this many characters


def to_code(config: Mapping[str, Any] | None = None) -> str:
    """Python source that rebuilds `build(config)`'s data, `model` and `trainer`, bitwise.

    It uses torch and the public names of `widgets` and `widgets.playground`,
    and writes the `nn.Sequential` out layer by layer (in "tf" mode, with
    TensorFlow Playground's data, initial weights, error and update written
    out too: `tf_export.tf_code`). A learner's own data
    (dataset "own") is embedded in the source as `torch.tensor` literals that
    give back exactly the same float32 values.
    """
    config = check_config({} if config is None else config)
    if config["mode"] == "tf":
        return tf_code(config)
    classes = count_classes(config, points(config)[1])
    regression = classes is None
    names = ["Features", "split"]
    if config["dataset"] != OWN:
        names.append("make_problem")
    if not regression and config["loss"] == "mse":
        names.append("OneHotMSELoss")
    if config["regularization"] is not None:
        names.append("WeightPenalty")
    lines = [
        "import torch",
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
        "",
        "from widgets import Trainer" + ("" if regression else ", accuracy"),
        f"from widgets.playground import {', '.join(sorted(names))}",
        "",
        *_data_lines(config, classes),
        f"x_train, y_train, x_test, y_test = split(x, y, train_ratio={config['train_ratio']!r}, "
        f"seed={config['seed']})",
        "",
        *_model_lines(config, classes),
        "",
        *_trainer_lines(config, classes),
    ]
    return "\n".join(lines) + "\n"


def _data_lines(config: Mapping[str, Any], classes: int | None) -> list[str]:
    share = f"{config['train_ratio']:.0%} for training, the rest for testing"
    if config["dataset"] != OWN:
        blobs = f", classes={config['classes']}" if config["dataset"] == "blobs" else ""
        return [f"# The data: {config['n']} points of {_text(config['dataset'])} "
                f"with {config['noise']:.0%} noise; {share}",
                f"x, y = make_problem({_text(config['dataset'])}, n={config['n']}, "
                f"noise={config['noise']!r}, "
                f"seed={config['seed']}{blobs})"]
    data = config["data"]
    kind = "values" if classes is None else f"classes 0 to {classes - 1}"
    y_dtype = "torch.float32" if classes is None else "torch.int64"
    return [f"# Your own data ({len(data['x'])} points, {kind}), written out in full; {share}",
            *_tensor_lines("x", [f"[{_number(a)}, {_number(b)}]" for a, b in data["x"]], "torch.float32"),
            *_tensor_lines("y", [_number(v) for v in data["y"]], y_dtype)]


def _text(value: str | list[str]) -> str:
    """A string or a list of strings as Python source, in double quotes."""
    return json.dumps(value)


def _number(value: float | int) -> str:
    """The shortest text that gives back the same float32 (or the int itself)."""
    if isinstance(value, int):
        return str(value)
    text = str(np.float32(value))
    if np.float32(float(text)) != np.float32(value):  # a shortest form that rounds twice: write every digit
        text = repr(float(value))
    return text


def _tensor_lines(name: str, items: list[str], dtype: str) -> list[str]:
    """`name = torch.tensor([...])` with as many whole items a line as fit in `WIDTH`."""
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > WIDTH - 4:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {item}" if line else item
    lines.append(line)
    return [f"{name} = torch.tensor([", *("    " + text for text in lines), f"], dtype={dtype})"]


def _model_lines(config: Mapping[str, Any], classes: int | None) -> list[str]:
    activation = f"nn.{ACTIVATIONS[config['activation']].__name__}()"
    lines = [
        "# The network, one module a line: the input features, each hidden layer, the output layer",
        f"torch.manual_seed({weights_seed(config)})  # the initial weights come from torch's global "
        "generator, and so do dropout's masks",
        "model = nn.Sequential(",
        f"    Features({_text(config['features'])}),",
    ]
    width = len(config["features"])
    for number, next_width in enumerate(config["hidden"], start=1):
        lines += [f"    nn.Linear({width}, {next_width}),  # hidden layer {number}", f"    {activation},"]
        if config["dropout"] > 0:
            lines.append(f"    nn.Dropout({config['dropout']!r}),")
        width = next_width
    output = "one value" if classes is None else "one score (logit) per class"
    lines += [f"    nn.Linear({width}, {1 if classes is None else classes}),  # output: {output}", ")"]
    return lines


def _trainer_lines(config: Mapping[str, Any], classes: int | None) -> list[str]:
    if classes is None:
        loss = "nn.MSELoss()"
        sets = ["# targets as [N, 1] columns, the shape of the model's one output "
                "(MSELoss needs equal shapes)",
                "train_set, test_set = TensorDataset(x_train, y_train[:, None]), "
                "TensorDataset(x_test, y_test[:, None])"]
    else:
        loss = "nn.CrossEntropyLoss()" if config["loss"] == "cross_entropy" else \
            f"OneHotMSELoss({classes})  # squared error against one-hot targets"
        sets = ["train_set, test_set = TensorDataset(x_train, y_train), TensorDataset(x_test, y_test)"]
    optimizer = "SGD" if config["optimizer"] == "sgd" else "Adam"
    extras = "" if classes is None else ', metrics={"acc": accuracy}'
    if config["regularization"] is not None:
        extras += (f", callbacks=[WeightPenalty({_text(config['regularization'])}, "
                   f"rate={config['reg_rate']!r})]")
    return [
        f"loss_fn = {loss}",
        f"optimizer = torch.optim.{optimizer}(model.parameters(), lr={config['lr']!r})",
        *sets,
        f"train_loader = DataLoader(train_set, batch_size={config['batch_size']}, shuffle=True,",
        f"                          generator=torch.Generator().manual_seed({config['seed']}))",
        "test_loader = DataLoader(test_set, batch_size=len(test_set))  # the whole test split in one batch",
        "# the test split is the trainer's validation data: its figures are the valid_* columns",
        "trainer = Trainer(model, loss_fn, optimizer, train_loader, valid_loader=test_loader,",
        f'                  device="{DEVICE}"{extras})',
        "# trainer.fit(10) trains 10 epochs; trainer.step() one batch",
    ]
