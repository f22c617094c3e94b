"""The small trainers the tests train: one builder, every part a keyword.

A test says only what matters to it (``small_trainer(n=400, lr=0.3)``); the rest
keeps the defaults below. The random state is set in one fixed order (the seed,
then the data, the loaders, the model, the optimizer, the trainer), so equal
arguments give bitwise equal runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer, accuracy
from widgets.data import spirals


def xor_data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` normal points in the plane, class 1 where both coordinates have the same sign."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    return x, (x[:, 0] * x[:, 1] > 0).long()


def small_model(
    hidden: Sequence[int] = (16,), dropout: float = 0.0, inputs: int = 2, classes: int = 2
) -> nn.Sequential:
    """A ReLU multilayer perceptron; a Dropout after each hidden layer when ``dropout`` is above 0."""
    layers: list[nn.Module] = []
    width = inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def small_trainer(
    *,
    problem: str = "spirals",
    n: int = 128,
    sd: float = 0.05,
    data_seed: int = 2,
    held_out: int = 0,
    valid: str | None = None,
    seed: int | None = 0,
    hidden: Sequence[int] = (16,),
    dropout: float = 0.0,
    model: Callable[[], nn.Module] | None = None,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    batch_size: int = 32,
    shuffle: bool = True,
    valid_batch_size: int = 16,
    metrics: bool = False,
    **trainer_options: Any,
) -> Trainer:
    """A classifier of 2-D points and its Trainer, quiet unless ``verbose=True`` is passed.

    ``problem``: ``"spirals"`` (``spirals(n + held_out, sd=sd, seed=data_seed)``) or
    ``"xor"`` (``xor_data(n + held_out, seed=data_seed)``); the first ``n`` points train.
    ``valid``: ``None`` (no validation), ``"held_out"`` (the ``held_out`` points after
    them) or ``"train"`` (the training points again).
    ``seed`` seeds torch's global RNG first (``None`` leaves it as it is).
    ``model`` builds the model in place of ``small_model(hidden, dropout)``, at the same
    point of the random state. ``metrics`` adds accuracy as ``"acc"``. Other keywords go to ``Trainer``.
    """
    if problem not in ("spirals", "xor"):
        raise ValueError(f"problem must be 'spirals' or 'xor', got {problem!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
    if valid not in (None, "held_out", "train"):
        raise ValueError(f"valid must be None, 'held_out' or 'train', got {valid!r}")
    if valid == "held_out" and held_out < 1:
        raise ValueError(f"valid='held_out' needs held_out points, got held_out={held_out}")
    if seed is not None:
        torch.manual_seed(seed)
    if problem == "spirals":
        x, y = spirals(n + held_out, sd=sd, seed=data_seed)
    else:
        x, y = xor_data(n + held_out, seed=data_seed)
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=batch_size, shuffle=shuffle)
    valid_loader = None
    if valid == "train":
        valid_loader = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=valid_batch_size)
    elif valid == "held_out":
        valid_loader = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=valid_batch_size)
    net = model() if model is not None else small_model(hidden, dropout)
    options: dict[str, Any] = {"momentum": momentum} if optimizer == "sgd" else {}
    made = OPTIMIZERS[optimizer](net.parameters(), lr=lr, **options)
    trainer_options.setdefault("verbose", False)
    return Trainer(net, nn.CrossEntropyLoss(), made, train, valid_loader,
                   metrics={"acc": accuracy} if metrics else None, **trainer_options)


def training_points(trainer: Trainer) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(x, y)`` tensors a trainer from ``small_trainer`` trains on."""
    x, y = trainer.train_loader.dataset.tensors
    return x, y
