"""TensorFlow Playground's network: one output unit (tanh for a classification) and its initial weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import nn

from . import checks
from .network import build_model

TF_WEIGHT_RANGE = (-0.5, 0.5)
"""Where TensorFlow Playground draws each initial weight from, uniformly."""
TF_BIAS = 0.1
"""Every unit's initial bias in TensorFlow Playground."""

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def build_tf_model(features: Sequence[str], hidden: Sequence[int], activation: str, task: str,
                   seed: int) -> nn.Sequential:
    """The network as TensorFlow Playground builds it, with its initial weights drawn from `seed`.

    `build_model`'s layers with one output, followed by `nn.Tanh()` for a
    "classification" (its output runs from -1 to +1, its sign the class); a
    "regression" ends with the output `nn.Linear`. Then `tf_initialize(model,
    seed)`. Torch's global generator is left as it was.
    """
    task = checks.choice("task", task, ("classification", "regression"))
    model = build_model(features, hidden, activation, 0.0, 1, seed=0)  # its weights are replaced below
    if task == "classification":
        model.append(nn.Tanh())
    return tf_initialize(model, seed)


def tf_initialize(model: ModuleT, seed: int) -> ModuleT:
    """Give every `nn.Linear` of `model` TensorFlow Playground's initial values, in place; returns `model`.

    Each weight is uniform in [-0.5, 0.5) (its `Math.random() - 0.5`), each
    bias 0.1. The weights are drawn layer after layer, each weight matrix row
    by row (a unit's incoming links in order, as it makes its links), from a
    `torch.Generator` seeded with `seed`: the same seed gives bitwise the same
    weights, and torch's global generator is not used.
    """
    seed = checks.seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) - 0.5)
                if layer.bias is not None:
                    layer.bias.fill_(TF_BIAS)
    return model
