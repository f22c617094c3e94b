"""`build(config)`: the data, the model and the trainer of one Playground experiment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..training.metrics import accuracy
from ..training.trainer import Trainer
from .config import OWN, check_config
from .losses import OneHotMSELoss
from .modes import PALETTES, menus, output_range
from .network import build_model
from .own_data import check_data
from .penalty import WeightPenalty
from .problems import make_problem, split
from .tf_data import TF_REGRESSIONS, make_tf_split
from .tf_loss import HalfSquaredError, sign_accuracy
from .tf_network import build_tf_model
from .tf_update import TfSGD

DEVICE = "cpu"  # a network of a few hundred weights trains faster on the CPU than it moves to a GPU


@dataclass(frozen=True, repr=False)
class Setup:
    """One experiment, as `build(config)` makes it.

    `config`: the normalized settings (`check_config`'s dict); `task`:
    "classification" or "regression"; `classes`: the number of classes (None
    for a regression); `x_train`, `y_train`, `x_test`, `y_test`: the points
    `[N, 2]` and their class indices or values, both `[N]` (a regression's
    loaders give the values as `[N, 1]` columns, the shape of its one output);
    `model`: the `nn.Sequential` of `build_model`; `penalty`: the
    `WeightPenalty` among the trainer's callbacks, or None; `trainer`: a
    `widgets.Trainer` whose "valid_*" columns are the test split's figures.

    What the page draws by: `mode`, "rich" or "tf"; `palette`, "rich" (the
    class colours) or "tf" (`modes.TF_PALETTE`: orange -1, blue +1);
    `output_range`, the fixed range of the output map's colour scale ((-1, 1)
    in "tf" mode, (0, 1) for a rich classification's p(class 1), None for a
    rich regression); `menus`, the mode's menus of rates.

    In "tf" mode a classification's `y_train` and `y_test` are its labels -1
    and +1 as float32 (`classes` is 2; class 1 is +1), the model ends with
    `nn.Tanh()` after its one output, the loss is `HalfSquaredError`, the
    optimizer `TfSGD` (which applies the regularization: `penalty` is None),
    the training split comes in the same order every epoch, and "acc" is
    `sign_accuracy`.
    """

    config: dict[str, Any]
    task: str
    classes: int | None
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    model: nn.Sequential
    penalty: WeightPenalty | None
    trainer: Trainer
    mode: str = "rich"
    palette: str = "rich"
    output_range: tuple[float, float] | None = None

    @property
    def menus(self) -> dict[str, tuple[float, ...] | None]:
        """The mode's menus of rates: {"lr": ..., "reg_rate": ...} (None: any rate in the range)."""
        return menus(self.mode)

    def __repr__(self) -> str:
        kind = self.task if self.classes is None else f"{self.classes} classes"
        mode = ", mode 'tf'" if self.mode == "tf" else ""
        return (f"Setup({self.config['dataset']!r}{mode}, {kind}, "
                f"{len(self.x_train)} train / {len(self.x_test)} test points, "
                f"hidden={self.config['hidden']}, features={self.config['features']})")


def points(config: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """All the points of a checked config, before the split: `(x, y)`."""
    if config["dataset"] == OWN:
        return check_data(config["data"]["x"], config["data"]["y"])
    classes = config["classes"] if config["dataset"] == "blobs" else None
    return make_problem(config["dataset"], n=config["n"], noise=config["noise"], seed=config["seed"],
                        classes=classes)


def count_classes(config: Mapping[str, Any], y: torch.Tensor) -> int | None:
    """The number of classes: the config's for blobs, two for the other problems, the labels' for own data."""
    if y.is_floating_point():
        return None
    if config["dataset"] == "blobs":
        return config["classes"]
    return int(y.max()) + 1 if config["dataset"] == OWN else 2


def build(config: Mapping[str, Any] | None = None) -> Setup:
    """Check `config` (missing keys take `DEFAULTS`) and make its data, model and trainer.

    Every setting is checked before anything is made. The trainer trains on the
    CPU with `verbose=False`: a shuffling DataLoader of the training split
    (`batch_size`, its own generator seeded with `seed`), the whole test split
    as one validation batch, `accuracy` as "acc" for a classification, the
    penalty as a callback. Classification outputs one logit per class, trained
    with cross-entropy or `OneHotMSELoss`; regression one value, with MSE.

    The model's initial weights are drawn after `torch.manual_seed(seed)` (or
    `init_seed` where it is given), as the code of `to_code(config)` draws
    them, and torch's global generator is left there: dropout draws its masks
    from it while training, so a run with dropout repeats too (and matches the
    exported code's run bitwise). In "tf" mode (see `Setup`) the data and the
    weights come from generators of their own and torch's global one is not
    used.
    """
    config = check_config({} if config is None else config)
    if config["mode"] == "tf":
        return _build_tf(config)
    x, y = points(config)
    classes = count_classes(config, y)
    x_train, y_train, x_test, y_test = split(x, y, config["train_ratio"], config["seed"])
    outputs = 1 if classes is None else classes
    torch.manual_seed(weights_seed(config))
    model = build_model(config["features"], config["hidden"], config["activation"], config["dropout"],
                        outputs, seed=None)
    if classes is None:
        loss_fn: nn.Module = nn.MSELoss()
        train_set, test_set = TensorDataset(x_train, y_train[:, None]), TensorDataset(x_test, y_test[:, None])
    else:
        loss_fn = nn.CrossEntropyLoss() if config["loss"] == "cross_entropy" else OneHotMSELoss(classes)
        train_set, test_set = TensorDataset(x_train, y_train), TensorDataset(x_test, y_test)
    optimizer_class = torch.optim.SGD if config["optimizer"] == "sgd" else torch.optim.Adam
    optimizer = optimizer_class(model.parameters(), lr=config["lr"])
    train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                              generator=torch.Generator().manual_seed(config["seed"]))
    test_loader = DataLoader(test_set, batch_size=len(test_set))
    penalty = (None if config["regularization"] is None
               else WeightPenalty(config["regularization"], config["reg_rate"]))
    trainer = Trainer(model, loss_fn, optimizer, train_loader, valid_loader=test_loader,
                      metrics={} if classes is None else {"acc": accuracy}, device=DEVICE, verbose=False,
                      callbacks=[] if penalty is None else [penalty])
    task = "classification" if classes else "regression"
    return Setup(config, task, classes, x_train, y_train, x_test, y_test, model, penalty, trainer,
                 "rich", PALETTES["rich"], output_range("rich", task, classes))


def weights_seed(config: Mapping[str, Any]) -> int:
    """The seed of the initial weights: `init_seed`, or `seed` where it is None."""
    return config["seed"] if config["init_seed"] is None else config["init_seed"]


def _build_tf(config: dict[str, Any]) -> Setup:
    """`build` in "tf" mode: TensorFlow Playground's data, network, error and update."""
    task = "regression" if config["dataset"] in TF_REGRESSIONS else "classification"
    x_train, y_train, x_test, y_test = make_tf_split(config["dataset"], config["noise"],
                                                     config["train_ratio"], config["seed"])
    model = build_tf_model(config["features"], config["hidden"], config["activation"], task,
                           weights_seed(config))
    optimizer = TfSGD(model.parameters(), lr=config["lr"], regularization=config["regularization"],
                      reg_rate=config["reg_rate"])
    train_set, test_set = TensorDataset(x_train, y_train[:, None]), TensorDataset(x_test, y_test[:, None])
    # Its order, the same every epoch. Each loader has a generator of its own: a DataLoader draws a seed
    # for its workers every epoch, from torch's global generator where it has none.
    train_loader = DataLoader(train_set, batch_size=config["batch_size"], generator=torch.Generator())
    test_loader = DataLoader(test_set, batch_size=len(test_set), generator=torch.Generator())
    classification = task == "classification"
    trainer = Trainer(model, HalfSquaredError(), optimizer, train_loader, valid_loader=test_loader,
                      metrics={"acc": sign_accuracy} if classification else {}, device=DEVICE, verbose=False)
    classes = 2 if classification else None
    return Setup(config, task, classes, x_train, y_train, x_test, y_test, model, None, trainer,
                 "tf", PALETTES["tf"], output_range("tf", task, classes))
