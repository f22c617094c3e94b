"""The Python source of a "tf" mode experiment: TensorFlow Playground's program, written out in PyTorch."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .network import ACTIVATIONS
from .setup import DEVICE, weights_seed
from .tf_data import TF_REGRESSIONS


def tf_code(config: Mapping[str, Any]) -> str:
    """Source that rebuilds `build(config)` of a checked "tf" mode config, bitwise: data, model, trainer."""
    regression = config["dataset"] in TF_REGRESSIONS
    names = ["Features", "HalfSquaredError", "TfSGD", "make_tf_split"]
    if not regression:
        names.append("sign_accuracy")
    kind = "values" if regression else "labels -1 and +1"
    lines = [
        "import torch",
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
        "",
        "from widgets import Trainer",
        f"from widgets.playground import {', '.join(sorted(names))}",
        "",
        f"# The data as TensorFlow Playground makes it: {json.dumps(config['dataset'])} "
        f"({config['n']} points, {kind}) with {config['noise']:.0%} noise,",
        f"# shuffled, {config['train_ratio']:.0%} for training and the rest for testing",
        f"x_train, y_train, x_test, y_test = make_tf_split({json.dumps(config['dataset'])}, "
        f"noise={config['noise']!r}, train_ratio={config['train_ratio']!r}, seed={config['seed']})",
        "",
        *_model_lines(config, regression),
        "",
        *_trainer_lines(config, regression),
    ]
    return "\n".join(lines) + "\n"


def _model_lines(config: Mapping[str, Any], regression: bool) -> list[str]:
    activation = f"nn.{ACTIVATIONS[config['activation']].__name__}()"
    lines = ["# The network, one module a line: the input features, each hidden layer, one output unit",
             "model = nn.Sequential(", f"    Features({json.dumps(config['features'])}),"]
    width = len(config["features"])
    for number, next_width in enumerate(config["hidden"], start=1):
        lines += [f"    nn.Linear({width}, {next_width}),  # hidden layer {number}", f"    {activation},"]
        width = next_width
    if regression:
        lines.append(f"    nn.Linear({width}, 1),  # output: the value")
    else:
        lines += [f"    nn.Linear({width}, 1),",
                  "    nn.Tanh(),  # output: from -1 to +1, its sign the class"]
    return [
        *lines, ")",
        "# TensorFlow Playground's initial values: each weight uniform in [-0.5, 0.5), each bias 0.1",
        f"generator = torch.Generator().manual_seed({weights_seed(config)})",
        "with torch.no_grad():",
        "    for layer in model:",
        "        if isinstance(layer, nn.Linear):",
        "            layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) - 0.5)",
        "            layer.bias.fill_(0.1)",
    ]


def _trainer_lines(config: Mapping[str, Any], regression: bool) -> list[str]:
    penalty = config["regularization"]
    update = "plain SGD" if penalty is None else f"plain SGD, then its {penalty.upper()} step on the weights"
    rule = "None" if penalty is None else json.dumps(penalty)
    metrics = "" if regression else ', metrics={"acc": sign_accuracy}'
    return [
        "loss_fn = HalfSquaredError()  # 0.5 * (output - target) ** 2, the mean over the batch",
        f"# its update: {update}",
        f"optimizer = TfSGD(model.parameters(), lr={config['lr']!r}, regularization={rule}, "
        f"reg_rate={config['reg_rate']!r})",
        "# targets as [N, 1] columns, the shape of the model's one output",
        "train_set = TensorDataset(x_train, y_train[:, None])",
        "test_set = TensorDataset(x_test, y_test[:, None])",
        "# the same order every epoch; a generator for each loader keeps torch's global one out of the run",
        f"train_loader = DataLoader(train_set, batch_size={config['batch_size']}, "
        "generator=torch.Generator())",
        "# the whole test split in one batch",
        "test_loader = DataLoader(test_set, batch_size=len(test_set), generator=torch.Generator())",
        "# the test split is the trainer's validation data: its figures are the valid_* columns",
        "trainer = Trainer(model, loss_fn, optimizer, train_loader, valid_loader=test_loader,",
        f'                  device="{DEVICE}"{metrics})',
        "# trainer.fit(10) trains 10 epochs; trainer.step() one batch",
    ]
