"""What every unit of a Playground network computes over the plane: the grid, the maps, their names, the
weights.

Torch in, tensors out; no drawing. The network is an `nn.Sequential`: the input
features (a module with `.names`), then per hidden layer `nn.Linear`, an
activation and optionally `nn.Dropout`, then the output `nn.Linear`. A column
of the diagram is the features, one hidden layer's activations, or the output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import nn

from .network import ACTIVATIONS as NAMED_ACTIVATIONS
from .problems import PLANE

ACTIVATIONS = tuple(NAMED_ACTIVATIONS.values())
"""The activation modules a hidden layer may use."""
OUTPUT_ACTIVATIONS = (nn.Tanh,)
"""The activation an output may end with: tanh, TensorFlow Playground's (the Playground's "tf" mode)."""


def plane_grid(resolution: int, plane: tuple[float, float] = PLANE) -> torch.Tensor:
    """The centres of a `resolution` x `resolution` grid of pixels over the square `plane`, as float32
    [R * R, 2].

    Row by row from the top: row 0 holds the largest x2, and x1 grows along a
    row. Pixel centres (not the plane's edges) make the picture exact: pixel
    (row, col) covers its own 1/R of each axis, so a point lands in the pixel
    whose value it would get.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution must be a positive int, got {resolution!r}")
    low, high = check_plane(plane)
    step = (high - low) / resolution
    centres = low + (torch.arange(resolution, dtype=torch.float64) + 0.5) * step
    x1 = centres.expand(resolution, resolution)
    x2 = centres.flip(0)[:, None].expand(resolution, resolution)
    return torch.stack([x1, x2], dim=-1).reshape(-1, 2).float()


def check_plane(plane: Sequence[float]) -> tuple[float, float]:
    """`plane` as (low, high) floats, or a ValueError unless it is two finite numbers with low < high."""
    try:
        low, high = (float(v) for v in plane)
    except (TypeError, ValueError):
        raise ValueError(f"plane must be two numbers (low, high), got {plane!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"plane must be finite with low < high, got {plane!r}")
    return low, high


def columns(model: nn.Module) -> list[list[nn.Module]]:
    """The model cut into the diagram's columns: [features], [Linear, activation(, Dropout)] per hidden layer,
    [Linear].

    Checks the structure and the widths before anything runs, with an error
    that names the module at fault.
    """
    if not isinstance(model, nn.Sequential) or len(model) < 2:
        raise ValueError(f"model must be an nn.Sequential of features and at least one nn.Linear, "
                         f"got {type(model).__name__}")
    names = feature_names(model)
    modules = list(model)
    cut = [[modules[0]]]
    width, i = len(names), 1
    while i < len(modules):
        linear = modules[i]
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"model[{i}] must be nn.Linear, got {type(linear).__name__}")
        if linear.in_features != width:
            raise ValueError(f"model[{i}] takes {linear.in_features} inputs, "
                             f"but the column before it has {width} units")
        width = linear.out_features
        if i == len(modules) - 1 or (i == len(modules) - 2 and isinstance(modules[-1], OUTPUT_ACTIVATIONS)):
            cut.append(modules[i:])  # the output Linear, and its activation where it has one (nn.Tanh)
            return cut
        activation = modules[i + 1]
        if not isinstance(activation, ACTIVATIONS):
            expected = ", ".join(f"nn.{kind.__name__}" for kind in ACTIVATIONS)
            raise ValueError(f"model[{i + 1}] must be an activation ({expected}), "
                             f"got {type(activation).__name__}")
        end = i + 3 if i + 2 < len(modules) and isinstance(modules[i + 2], nn.Dropout) else i + 2
        cut.append(modules[i:end])
        i = end
    raise ValueError(f"model must end with the output nn.Linear, got {type(modules[-1]).__name__}")


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The Playground network's nn.Linear layers, left to right."""
    # columns() has checked that every column after the features starts with its nn.Linear
    return [cast(nn.Linear, column[0]) for column in columns(model)[1:]]


def feature_names(model: nn.Sequential) -> list[str]:
    """The names of the input features: `model[0].names`."""
    names = getattr(model[0], "names", None)
    if (not isinstance(names, Sequence) or isinstance(names, str) or not names
            or not all(isinstance(n, str) for n in names)):
        raise ValueError(f"model[0] must be the features module with .names (a list of strings), "
                         f"got {type(model[0]).__name__}")
    return list(names)


def unit_maps(model: nn.Module, grid: torch.Tensor) -> list[torch.Tensor]:
    """Every unit's value over a square grid, one float32 CPU tensor [units, R, R] per column.

    The columns: the features, each hidden layer after its activation, and the
    raw output (logits, or the value of a regression; tanh's value where the
    output ends with one). `grid` is [R * R, 2] as `plane_grid` makes it. One
    forward pass without gradients, as in eval mode: dropout is skipped, so
    torch's random numbers are not drawn, and no module's flag or weight changes.
    """
    cut = columns(model)
    width = len(feature_names(cast(nn.Sequential, model)))  # columns() has checked it is an nn.Sequential
    side = _grid_side(grid)
    parameter = next(model.parameters(), None)
    x = grid if parameter is None else grid.to(device=parameter.device, dtype=parameter.dtype)
    maps = []
    with torch.no_grad():
        for index, column in enumerate(cut):
            x = _through(column, x)
            if index == 0 and (x.ndim != 2 or x.shape[1] != width):
                raise ValueError(f"the features module must make [N, {width}] "
                                 f"(one column per name), got {list(x.shape)}")
            maps.append(x.float().reshape(side, side, -1).permute(2, 0, 1).cpu().contiguous())
    return maps


def evaluate(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`model(x)` as in eval mode, without changing the model's flags: a Playground network's dropout is
    skipped (the only module whose mode matters in it). No gradients are recorded."""
    with torch.no_grad():
        for column in columns(model):
            x = _through(column, x)
    return x


def _through(column: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    for module in column:
        if not isinstance(module, nn.Dropout):  # dropout in eval mode passes x on as it is
            x = module(x)
    return x


def _grid_side(grid: torch.Tensor) -> int:
    if (not isinstance(grid, torch.Tensor) or grid.ndim != 2 or grid.shape[1] != 2
            or not grid.is_floating_point()):
        shape = list(grid.shape) if isinstance(grid, torch.Tensor) else type(grid).__name__
        raise ValueError(f"grid must be a float tensor [R * R, 2] (see plane_grid), got {shape}")
    side = math.isqrt(grid.shape[0])
    if side < 1 or side * side != grid.shape[0]:
        raise ValueError(f"grid must hold a square number of points (R * R), got {grid.shape[0]}")
    return side


def unit_names(model: nn.Module, classes: Sequence[str] | None = None) -> list[list[str]]:
    """Names of the units, column by column: the feature names; "h1.0", "h1.1", ... (hidden layer 1 counted
    from 1, units from 0 as their weight rows); "out" for a single output, else `classes` or "class 0",
    ...."""
    linears = linear_layers(model)
    names = [feature_names(cast(nn.Sequential, model))]  # linear_layers() has checked it is an nn.Sequential
    for layer, linear in enumerate(linears[:-1], start=1):
        names.append([f"h{layer}.{unit}" for unit in range(linear.out_features)])
    outputs = linears[-1].out_features
    if classes is None:
        names.append(["out"] if outputs == 1 else [f"class {k}" for k in range(outputs)])
    elif len(classes) != outputs:
        raise ValueError(f"classes must name the {outputs} outputs, got {len(classes)} names")
    else:
        names.append([str(name) for name in classes])
    return names


def layer_weights(model: nn.Module) -> list[np.ndarray]:
    """Each `nn.Linear`'s weight as a float32 numpy copy [units out, units in], column to column, left to
    right."""
    with torch.no_grad():
        return [linear.weight.detach().float().cpu().numpy().copy() for linear in linear_layers(model)]
