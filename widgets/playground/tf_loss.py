"""TensorFlow Playground's error and how its one output is read: half the squared error, the class by sign."""

from __future__ import annotations

import torch
from torch import nn


class HalfSquaredError(nn.Module):
    """`0.5 * (output - target) ** 2`, the mean over the batch: TensorFlow Playground's error.

    Its gradient is the mean of each point's `output - target`, as TensorFlow
    Playground's update divides the summed derivatives by the batch's size.
    Output and target have one shape (`[N, 1]` columns).
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.shape != target.shape:
            raise ValueError(f"HalfSquaredError expects output and target of one shape ([N, 1] columns), got "
                             f"{list(output.shape)} and {list(target.shape)}")
        return 0.5 * torch.mean((output - target) ** 2)


def sign_accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """The share of points whose output has the sign of their label (-1 or +1); an output of 0 is -1."""
    if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError(f"sign_accuracy expects tensors, got {type(output).__name__} and "
                        f"{type(target).__name__}")
    if output.shape != target.shape or output.numel() == 0:
        raise ValueError(f"sign_accuracy expects output and labels of one non-empty shape, got "
                         f"{list(output.shape)} and {list(target.shape)}")
    return ((output > 0) == (target > 0)).float().mean().item()
