"""The Playground's network: features, hidden layers, one output layer, as a plain nn.Sequential."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import checks
from .features import Features

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
    "gelu": nn.GELU,
}
"""Each activation's name and its torch module ("linear" is no activation at all)."""

MAX_LAYERS = 6
MAX_NEURONS = 16
MAX_OUTPUTS = 10
DROPOUT = (0.0, 0.85)  # from 0 (none) to 0.85, the dropout slider's range


def check_hidden(hidden: object) -> list[int]:
    """`hidden` as a list of 0 to 6 layer widths, each 1 to 16 neurons."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a list of neuron counts such as [4, 2], got {checks.shown(hidden)}")
    if len(hidden) > MAX_LAYERS:
        raise ValueError(f"hidden must list at most {MAX_LAYERS} layers, got {len(hidden)}: {list(hidden)!r}")
    return [checks.integer(f"hidden[{i}]", width, 1, MAX_NEURONS) for i, width in enumerate(hidden)]


def check_dropout(dropout: object) -> float:
    """A dropout probability from 0 to 0.85 (the end of the slider that shows it)."""
    return checks.real("dropout", dropout, *DROPOUT)


def build_model(features: Sequence[str], hidden: Sequence[int] = (4, 2), activation: str = "tanh",
                dropout: float = 0.0, outputs: int = 2, seed: int | None = 0) -> nn.Sequential:
    """The network: `Features(features)`, then per hidden layer `nn.Linear`, the activation and
    (only when `dropout` > 0) `nn.Dropout(dropout)`, then `nn.Linear(last, outputs)`.

    `hidden` lists 0 to 6 layer widths of 1 to 16 neurons (none: a linear or
    logistic model); `activation` is a key of `ACTIVATIONS`. With an int
    `seed` the initial weights are torch's default initialisation drawn from
    torch's CPU generator seeded with it, inside a fork: the same arguments give
    bitwise the same weights, and torch's global generator is left as it was.
    With `seed=None` they are drawn from torch's global generator as any
    `nn.Linear` draws them (what `torch.manual_seed(seed)` followed by the same
    layers gives).
    """
    names = Features(features).names
    widths = check_hidden(hidden)
    activation = checks.choice("activation", activation, tuple(ACTIVATIONS))
    dropout = check_dropout(dropout)
    outputs = checks.integer("outputs", outputs, 1, MAX_OUTPUTS)
    if seed is None:
        return _layers(names, widths, activation, dropout, outputs)
    seed = checks.seed("seed", seed)
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        return _layers(names, widths, activation, dropout, outputs)


def _layers(names: Sequence[str], widths: list[int], activation: str, dropout: float,
            outputs: int) -> nn.Sequential:
    layers: list[nn.Module] = [Features(names)]
    width = len(names)
    for next_width in widths:
        layers += [nn.Linear(width, next_width), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = next_width
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)
