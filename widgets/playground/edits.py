"""Weights changed by hand: one edit, its check, and the replay of a run that had edits.

An edit sets one weight of one layer to a value between two optimizer steps,
and is recorded with the number of steps done at that moment. Building the
same config again and replaying the edits at the same steps gives the same run,
bitwise: the edits are part of the experiment, not an accident of the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .maps import linear_layers
from .setup import Setup, build


@dataclass(frozen=True)
class WeightEdit:
    """`weight[row, col]` of the `layer`-th nn.Linear (0: features to the first hidden layer) set to `value`
    when `step` optimizer steps were done."""

    step: int
    layer: int
    row: int
    col: int
    value: float


def check_edit(model: nn.Module, layer: Any, row: Any, col: Any, value: Any) -> tuple[int, int, int, float]:
    """(layer, row, col, value) checked against `model`: indices of an existing weight, a finite number."""
    layers = linear_layers(model)
    for name, index in (("layer", layer), ("row", row), ("col", col)):
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"{name} must be an int, got {index!r}")
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer must be from 0 to {len(layers) - 1} (this network's nn.Linear layers), "
                         f"got {layer}")
    rows, cols = layers[layer].weight.shape
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(f"layer {layer}'s weight is {rows} x {cols}: "
                         f"row must be below {rows} and col below {cols}, "
                         f"got row {row}, col {col}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}")
    return layer, row, col, float(value)


def apply_edit(model: nn.Module, edit: WeightEdit) -> None:
    """Set the edited weight in place (no gradient is recorded; the optimizer's state is left as it is)."""
    layer, row, col, value = check_edit(model, edit.layer, edit.row, edit.col, edit.value)
    with torch.no_grad():
        linear_layers(model)[layer].weight[row, col] = value


def replay(config: Mapping[str, Any], edits: Iterable[WeightEdit], steps: int) -> Setup:
    """Build `config` and train `steps` optimizer steps, applying each edit when its step count is reached.

    An edit recorded after the last step (`step == steps`) is applied at the
    end. Returns the Setup: its model is the replayed run's.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    given = list(edits)
    if any(not isinstance(edit, WeightEdit) for edit in given):
        raise TypeError("edits must be WeightEdit records (pg.edits)")
    pending = sorted(given, key=lambda edit: edit.step)
    late = [edit for edit in pending if edit.step > steps]
    if late:
        raise ValueError(f"an edit at step {late[0].step} lies past the {steps} steps to replay")
    setup = build(config)
    trainer = setup.trainer
    for edit in pending:
        while trainer.global_step < edit.step:
            trainer.step()
        apply_edit(setup.model, edit)
    while trainer.global_step < steps:
        trainer.step()
    return setup
