"""The numbers the Playground's page draws: unit maps, the output, weights, points and figures.

Torch in, numpy out, no widgets. Every map is on one fixed scale, [-1, 1] coded
as 0..255 (a unit of tanh spans it; a ReLU's larger values saturate), so a
shrinking weight or a fading unit shows as it happens. A probability is coded
on [0, 1] the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .maps import evaluate, linear_layers, plane_grid, unit_maps
from .problems import PLANE
from .setup import Setup

OUTPUT_SIDE = 64
"""Pixels per side of the output's field (the page draws each one 4 x 4 CSS pixels)."""
MAP_SIDE = 32
"""Pixels per side of a unit's map in the diagram (every other pixel of the output's grid)."""
SCALE = (-1.0, 1.0)
"""The one scale of every unit, weight colour and output value."""


def codes(values: torch.Tensor | np.ndarray, low: float = SCALE[0], high: float = SCALE[1]) -> np.ndarray:
    """`values` on the scale [low, high] as uint8 codes 0..255 (clipped at both ends; NaN as the middle)."""
    tensor = torch.as_tensor(values, dtype=torch.float32)
    scaled = ((tensor - low) * (255 / (high - low))).clamp_(0, 255).nan_to_num_(127.5)
    return scaled.round_().to(torch.uint8).numpy()


_GRID = plane_grid(OUTPUT_SIDE, PLANE)  # made once: every look evaluates the same points


@dataclass(frozen=True)
class NetworkNumbers:
    """One look at the network: every unit's map (uint8 [units, MAP_SIDE, MAP_SIDE], column after column), the
    output field (uint8 [K, OUTPUT_SIDE, OUTPUT_SIDE]: K = 1 for a value or p(class 1) on [-1, 1], else one
    probability per class on [0, 1]), all weights and biases (float32, layer after layer, rows in order), and
    the raw maps (float32, per column, OUTPUT_SIDE square) for the unit the page shows large."""

    maps: np.ndarray
    output: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    fields: list[np.ndarray]


def output_field(raw: torch.Tensor, classification: bool) -> np.ndarray:
    """The output column's raw maps [outputs, S, S] as the page's output codes (see `NetworkNumbers`)."""
    outputs = raw.shape[0]
    if not classification or outputs == 1:
        return codes(raw)  # a value, or the tanh output of a +1/-1 classification
    if outputs == 2:
        return codes(torch.tanh(0.5 * (raw[1] - raw[0]))[None])  # 2 p(class 1) - 1, overflow-free
    return codes(torch.softmax(raw, dim=0), 0.0, 1.0)


def look(model: nn.Module, classification: bool, grid: torch.Tensor | None = None) -> NetworkNumbers:
    """Evaluate `model` over the plane once (eval mode, no gradients, its flags restored) and code what the
    page draws."""
    maps = unit_maps(model, _GRID if grid is None else grid)
    thumbs = codes(torch.cat([column[:, ::2, ::2] for column in maps]))
    linears = linear_layers(model)
    with torch.no_grad():
        weights = np.concatenate([layer.weight.detach().float().reshape(-1).numpy() for layer in linears])
        biases = np.concatenate([_bias(layer).numpy() for layer in linears])
    return NetworkNumbers(thumbs, output_field(maps[-1], classification), weights, biases,
                          [column.numpy() for column in maps])


def _bias(layer: nn.Linear) -> torch.Tensor:
    return layer.bias.detach().float() if layer.bias is not None else torch.zeros(layer.out_features)


def points(setup: Setup) -> np.ndarray:
    """Every point as float32 rows (x1, x2, label, test): the label is the class (TensorFlow Playground's +1
    is class 1, its -1 class 0) or the value; test is 0 or 1."""
    rows = []
    tf_classes = setup.mode == "tf" and setup.classes is not None
    classes_of = (lambda y: (y > 0).float()) if tf_classes else (lambda y: y)
    for x, y, test in ((setup.x_train, classes_of(setup.y_train), 0.0),
                       (setup.x_test, classes_of(setup.y_test), 1.0)):
        block = np.empty((len(x), 4), dtype=np.float32)
        block[:, :2] = x.numpy()
        block[:, 2] = y.float().numpy()
        block[:, 3] = test
        rows.append(block)
    return np.concatenate(rows)


@torch.no_grad()
def split_figures(setup: Setup, model: nn.Module | None = None) -> np.ndarray:
    """float32 [train loss, test loss, train accuracy, test accuracy] of `setup.model` now (or of `model`, a
    copy of it), each split whole, as in eval mode, with the trainer's own loss and its "acc" metric (NaN
    without one). The loss is the data loss: no penalty, as TensorFlow Playground shows it."""
    model = setup.model if model is None else model
    trainer = setup.trainer
    figures = np.full(4, np.nan, dtype=np.float32)
    accuracy = trainer.metrics.get("acc")
    for index, loader in enumerate((trainer.train_loader, trainer.valid_loader)):
        x, target = loader.dataset.tensors
        output = evaluate(model, x)
        figures[index] = float(trainer.loss_fn(output, target))
        if accuracy is not None:
            figures[2 + index] = float(accuracy(output, target))
    return figures
