"""The Playground's squared-error loss for classes: outputs against one-hot targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import checks


class OneHotMSELoss(nn.Module):
    """Mean squared error between `[N, classes]` outputs and the one-hot encoding of class indices `[N]`.

    Class k's target is 1 on output k and 0 on the others; the mean runs over
    all N * classes numbers (as `nn.MSELoss` on the one-hot matrix). The
    prediction stays the largest output, so `accuracy` reads it as usual.
    """

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = checks.integer("classes", classes, 2)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.dim() != 2 or output.shape[1] != self.classes:
            raise ValueError(f"OneHotMSELoss({self.classes}) expects outputs of shape [N, {self.classes}], "
                             f"got {list(output.shape)}")
        if target.dim() != 1 or target.shape[0] != output.shape[0] or target.is_floating_point():
            raise ValueError(f"OneHotMSELoss expects class indices of shape [{output.shape[0]}] (int64), "
                             f"got {list(target.shape)} of {target.dtype}")
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= self.classes):
            raise ValueError(f"OneHotMSELoss({self.classes}) expects class indices "
                             f"from 0 to {self.classes - 1}, "
                             f"got values from {int(target.min())} to {int(target.max())}")
        return F.mse_loss(output, F.one_hot(target.long(), self.classes).to(output.dtype))

    def extra_repr(self) -> str:
        return f"classes={self.classes}"
