"""Metrics: plain functions `(output, target) -> float` over one batch.

The trainer averages them over an epoch weighting each batch by its size, so a
metric here only has to be right for one batch.
"""

from __future__ import annotations

import torch

__all__ = ["accuracy", "mean_absolute_error"]


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
                f"accuracy: for one logit per sample (output {list(output.shape)}) expected a target of shape "
                f"[{output.shape[0]}] or [{output.shape[0]}, 1], got {list(target.shape)}"
            )
        predicted = (output.reshape(-1) > 0).long()
        target = target.reshape(-1)
    else:
        raise ValueError(f"accuracy: expected an output of shape [N, C] or [N, 1] or [N], got {list(output.shape)}")
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
