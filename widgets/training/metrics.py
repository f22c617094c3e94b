"""Metrics: plain functions `(output, target) -> float` over one batch, or `EpochMetric`s over a whole epoch.

The trainer averages a plain metric over an epoch weighting each batch by its
size, so it only has to be right for one batch. That is right for accuracy and
mean errors, wrong for F1, AUC or a correlation: wrap those in `EpochMetric`,
and the trainer calls them once per epoch on every output and target of the
epoch joined along the first dimension.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from . import structure

__all__ = ["EpochMetric", "accuracy", "mean_absolute_error"]


class EpochMetric:
    """A metric computed once per epoch on all of the epoch's outputs and targets.

    `fn(outputs, targets) -> float` receives the outputs exactly as the model
    returned them (tuples, dicts and namedtuples keep their structure), every
    batch's tensors concatenated along the first dimension and detached. The
    training side collects the epoch's outputs (kept in checkpoints, so a
    resumed epoch gives the same value); validation collects its own. Called
    directly, it computes on what it is given.
    """

    def __init__(self, fn: Callable[[Any, Any], float]) -> None:
        if isinstance(fn, EpochMetric) or not callable(fn):
            raise TypeError(
                f"EpochMetric needs a function fn(outputs, targets) -> float, got {type(fn).__name__}"
            )
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__module__ = getattr(fn, "__module__", __name__)

    def __call__(self, outputs: Any, targets: Any) -> float:
        return float(self.fn(outputs, targets))

    def __repr__(self) -> str:
        return f"EpochMetric({self.__name__})"


def epoch_metric_values(fns: Sequence[Callable[[Any, Any], float]], indices: Sequence[int],
                        collected: list[tuple[Any, Any]]) -> list[float]:
    """The epoch metrics `fns[i]` (i in `indices`) on a whole epoch's (output, target) pairs, joined along
    dim 0."""
    if not indices:
        return []
    if not collected:
        return [math.nan] * len(indices)
    outputs = structure.concat([output for output, _ in collected])
    targets = structure.concat([target for _, target in collected])
    return [float(fns[i](outputs, targets)) for i in indices]


def accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of samples whose predicted class equals the target.

    `output` is `[N, C]` class scores (the prediction is the argmax over dim 1)
    or a single logit column `[N, 1]` / `[N]` (the prediction is `output > 0`).
    `target` holds class indices `[N]` (a `[N, 1]` target is accepted for a
    single logit column).
    """
    _require_tensors("accuracy", output, target)
    if output.dim() == 2 and output.shape[1] > 1:
        if target.dim() != 1 or target.shape[0] != output.shape[0]:
            raise ValueError(
                f"accuracy: for class scores of shape {list(output.shape)} expected a target of shape "
                f"[{output.shape[0]}] (one class index per sample), got {list(target.shape)}"
            )
        predicted = output.argmax(dim=1)
    elif output.dim() == 1 or (output.dim() == 2 and output.shape[1] == 1):
        if target.numel() != output.shape[0] or target.dim() > 2 or target.dim() == 0:
            raise ValueError(
                f"accuracy: for one logit per sample (output {list(output.shape)}) expected a target of "
                f"shape [{output.shape[0]}] or [{output.shape[0]}, 1], got {list(target.shape)}"
            )
        predicted = (output.reshape(-1) > 0).long()
        target = target.reshape(-1)
    else:
        raise ValueError(
            f"accuracy: expected an output of shape [N, C] or [N, 1] or [N], got {list(output.shape)}"
        )
    if output.shape[0] == 0:
        raise ValueError("accuracy: the batch is empty")
    return (predicted == target.long()).float().mean().item()


def mean_absolute_error(output: torch.Tensor, target: torch.Tensor) -> float:
    """Mean of |output - target| over every element; the shapes must be equal."""
    _require_tensors("mean_absolute_error", output, target)
    if output.shape != target.shape:
        raise ValueError(
            f"mean_absolute_error: expected output and target of the same shape, "
            f"got {list(output.shape)} and {list(target.shape)}"
        )
    return (output - target).abs().mean().item()


def _require_tensors(name: str, output: object, target: object) -> None:
    for role, value in (("output", output), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: expected the {role} as a torch.Tensor, got {type(value).__name__}")
