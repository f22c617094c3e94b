"""Per-parameter numbers for a live view: mean, std, gradient norm, size of the last update."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.linalg import vector_norm


@dataclass(frozen=True)
class ParamStats:
    """What one parameter holds now.

    `std` uses Bessel's correction (as `Tensor.std()`), 0.0 for a single element;
    `grad_norm` is the L2 norm of `.grad` (None when there is none);
    `update` is the L2 norm of the change the last measured optimizer step made (None when not measured).
    """

    name: str
    shape: tuple[int, ...]
    mean: float
    std: float
    grad_norm: float | None
    update: float | None


def copy_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter, by name."""
    with torch.no_grad():
        return {name: param.detach().clone() for name, param in model.named_parameters()}


def parameter_stats(
    model: nn.Module, before: dict[str, torch.Tensor] | None = None, with_grads: bool = True
) -> dict[str, ParamStats]:
    """Stats of every parameter of `model`; `update` is measured against `before` when given.

    `with_grads=False` leaves `grad_norm` at None (gradients known to be stale).
    """
    stats = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            values = param.detach()
            numel = values.numel()
            mean_t = values.mean()
            mean = float(mean_t) if numel else float("nan")
            # the norm of the deviations: several times faster than Tensor.std() on CPU, and as close in
            # float32
            std = float(vector_norm(values - mean_t)) / math.sqrt(numel - 1) if numel > 1 else 0.0
            grad = param.grad
            grad_norm = float(vector_norm(grad.detach())) if grad is not None and with_grads else None
            update = None
            if before is not None and name in before and before[name].shape == values.shape:
                update = float(vector_norm(values - before[name]))
            stats[name] = ParamStats(name, tuple(values.shape), mean, std, grad_norm, update)
    return stats
