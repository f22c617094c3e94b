"""Stand-ins for the Playground's networks in the drawing tests: features modules with `.names`, and the
builder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Plain(nn.Module):
    """The two coordinates as they are."""

    names = ["x1", "x2"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Squares(nn.Module):
    """The coordinates and their squares."""

    names = ["x1", "x2", "x1^2", "x2^2"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x**2], 1)


def network(features: nn.Module, hidden: Sequence[int], outputs: int, activation: type[nn.Module] = nn.Tanh,
            dropout: float = 0.0) -> nn.Sequential:
    """Features, then Linear + activation (+ Dropout) per hidden layer, then the output Linear."""
    layers: list[nn.Module] = [features]
    width = len(features.names)
    for units in hidden:
        layers += [nn.Linear(width, units), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = units
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


def set_linear(layer: nn.Linear, weight: Sequence[Sequence[float]],
               bias: Sequence[float] | None = None) -> None:
    """Give `layer` hand-set weights (and bias, 0 by default)."""
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        layer.bias.copy_(
            torch.zeros(layer.out_features) if bias is None else torch.tensor(bias, dtype=torch.float32)
        )
