"""The Playground's input features: what the network sees of a point (x1, x2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .checks import shown

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
"""Every feature's name, in the Playground's order."""

_COLUMNS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: torch.sin(x1),
    "sin(x2)": lambda x1, x2: torch.sin(x2),
}


def check_features(names: object) -> list[str]:
    """`names` as a list of known, distinct feature names (at least one)."""
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        raise TypeError(f"features must be a list of feature names such as ['x1', 'x2'], got {shown(names)}")
    names = list(names)
    unknown = [name for name in names if not isinstance(name, str) or name not in _COLUMNS]
    if unknown:
        raise ValueError(f"features must be names from {', '.join(FEATURES)}; got the unknown {unknown!r}")
    repeated = sorted({name for name in names if names.count(name) > 1}, key=FEATURES.index)
    if repeated:
        raise ValueError(f"features must each appear once, got {repeated!r} more than once in {names!r}")
    if not names:
        raise ValueError(f"features must name at least one feature from {', '.join(FEATURES)}, got []")
    return names


class Features(nn.Module):
    """Maps points `[N, 2]` (x1, x2) to the chosen features `[N, len(names)]`, in the order given.

    `Features(["x1", "x2", "x1*x2"])` feeds a network x1, x2 and their product;
    `names` come from `FEATURES`. It has no parameters.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names: tuple[str, ...] = tuple(check_features(names))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 2:
            got = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"Features expects points as a tensor of shape [N, 2] (x1, x2), got {got}")
        x1, x2 = x[:, 0], x[:, 1]
        # looked up by name on each call: the module holds only its names, so it pickles with torch.save
        return torch.stack([_COLUMNS[name](x1, x2) for name in self.names], dim=1)

    def extra_repr(self) -> str:
        return repr(list(self.names))
