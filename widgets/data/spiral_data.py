"""The two-spirals problem (mlbench.spirals): points, a Dataset that splits itself, and a ready split."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch.utils.data import Dataset

from .checks import count, real

__all__ = ["SpiralDataset", "spiral_datasets", "spirals"]


def _generator(seed: Any) -> torch.Generator | None:
    """A seeded generator, or None for torch's global RNG."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return torch.Generator().manual_seed(int(seed))

def _one_spiral(m: int, cycles: float, sd: float, generator: torch.Generator | None) -> torch.Tensor:
    """m points along one spiral arm, w = 0, c/m, 2c/m, ..., (m-1)c/m."""
    w = torch.arange(m, dtype=torch.float64) * (cycles / m)
    angle = 2 * math.pi * w
    radius = (2 * w + 1) / 3
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    if sd > 0:
        shift = torch.randn(m, dtype=torch.float64, generator=generator) * sd
        # tangent of the curve (up to a factor 2/3); the noise moves along its normal
        xs = torch.cos(angle) - math.pi * (2 * w + 1) * torch.sin(angle)
        ys = torch.sin(angle) + math.pi * (2 * w + 1) * torch.cos(angle)
        norm = torch.hypot(xs, ys)
        points += shift[:, None] * torch.stack([ys / norm, -xs / norm], dim=1)
    return points


def _spirals(
    n: int, cycles: float, sd: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    # As mlbench: n // 2 random positions hold the second class (the negated
    # spiral, its points in the order the positions were drawn); the rest hold
    # the first class in index order. Each arm has its own w grid, so for odd n
    # the first arm has one point more and a slightly finer grid.
    second = torch.randperm(n, generator=generator)[: n // 2]
    y = torch.zeros(n, dtype=torch.int64)
    y[second] = 1
    first = torch.nonzero(y == 0).squeeze(1)
    x = torch.empty(n, 2, dtype=torch.float64)
    x[first] = _one_spiral(len(first), cycles, sd, generator)
    x[second] = -_one_spiral(len(second), cycles, sd, generator)
    return x.to(torch.float32), y


def spirals(
    n: int, cycles: float = 1, sd: float = 0.0, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two-spirals problem of R's ``mlbench.spirals``, same geometry.

    Returns ``(x, y)``: ``x`` float32 ``[n, 2]``, ``y`` int64 ``[n]`` with classes
    0 and 1 (mlbench's 1 and 2). Class 1 holds ``n // 2`` points at random
    positions and is the negated spiral. Each arm is
    ``((2w+1) cos(2πw) / 3, (2w+1) sin(2πw) / 3)`` for ``w = 0, c/m, 2c/m, ...``
    with ``m`` the arm's number of points and ``c = cycles``; ``sd > 0`` moves
    every point by a normal draw of that sd along the curve's unit normal.

    ``seed`` makes the data reproducible on its own; ``None`` draws from torch's
    global RNG, so ``torch.manual_seed`` at the top of a lesson fixes it.
    """
    n = count("n", n, minimum=2)
    cycles = real("cycles", cycles, positive=True)
    sd = real("sd", sd, positive=False)
    return _spirals(n, cycles, sd, _generator(seed))


def _indices(indices: Any, length: int) -> torch.Tensor:
    """A 1-D int64 tensor of valid (non-negative) positions."""
    try:
        index = torch.as_tensor(indices)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"indices must be a sequence of ints, got {type(indices).__name__}") from err
    if index.dim() != 1 or not (
        index.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8) or index.numel() == 0
    ):
        raise TypeError(
            f"indices must be a 1-D sequence of ints, got shape {list(index.shape)} of {index.dtype}"
        )
    index = index.to(torch.int64)
    if index.numel() and (index.min() < -length or index.max() >= length):
        bad = index[(index < -length) | (index >= length)][0].item()
        raise IndexError(f"index {bad} is out of range for a dataset of {length} items")
    return torch.where(index < 0, index + length, index)


class SpiralDataset(Dataset):
    """Points and classes of a 2-D classification problem, as a torch Dataset.

    Each item is ``{"x": float32 tensor [2], "y": int64 scalar tensor}``.
    ``__getitems__`` serves a whole batch of indices with one gather (the
    DataLoader's default collate then stacks the samples); ``get_batch`` (and
    indexing with a list of indices) gives the stacked ``{"x": [B, 2], "y": [B]}``
    directly, so ``DataLoader(ds, batch_size=None, sampler=BatchSampler(...))``
    yields the same batches without collating at all.
    """

    def __init__(self, x: Any, y: Any) -> None:
        x = torch.as_tensor(x)
        y = torch.as_tensor(y)
        if x.dim() != 2 or x.shape[1] != 2 or not x.is_floating_point():
            raise ValueError(
                f"x must be a float tensor of shape [N, 2], got {x.dtype} of shape {list(x.shape)}"
            )
        if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ValueError(
                f"y must be an integer tensor of shape [N], got {y.dtype} of shape {list(y.shape)}"
            )
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of points, got {len(x)} and {len(y)}")
        self.x = x.to(torch.float32).contiguous()
        self.y = y.to(torch.int64).contiguous()

    @classmethod
    def generate(
        cls, n: int = 500, cycles: float = 1, sd: float = 0.0, seed: int | None = None
    ) -> SpiralDataset:
        """A dataset of ``spirals(n, cycles, sd, seed)``."""
        return cls(*spirals(n, cycles=cycles, sd=sd, seed=seed))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: Any) -> dict[str, torch.Tensor]:
        whole_number = isinstance(index, numbers.Integral) and not isinstance(index, bool)
        integer_scalar = (
            isinstance(index, torch.Tensor) and index.dim() == 0 and not index.is_floating_point()
        )
        if whole_number or integer_scalar:
            position = int(index)
        else:
            return self.get_batch(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"index {position} is out of range for a dataset of {len(self)} items")
        return {"x": self.x[position], "y": self.y[position]}

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        """The items at ``indices`` stacked: ``{"x": [B, 2], "y": [B]}``."""
        index = _indices(indices, len(self))
        return {"x": self.x[index], "y": self.y[index]}

    def __getitems__(self, indices: Any) -> list[dict[str, torch.Tensor]]:
        # torch's DataLoader hands what this returns to its collate_fn, and
        # default_collate expects a list of samples; so the batch is gathered
        # once and handed back as one sample per index.
        batch = self.get_batch(indices)
        return [{"x": x, "y": y} for x, y in zip(batch["x"], batch["y"])]

    def split(self, n_train: int, seed: int | None = None) -> tuple[SpiralDataset, SpiralDataset]:
        """A random ``(train, valid)`` split: ``n_train`` items, then the rest."""
        return self._split(n_train, _generator(seed))

    def _split(self, n_train: Any, generator: torch.Generator | None) -> tuple[SpiralDataset, SpiralDataset]:
        n_train = count("n_train", n_train, minimum=1, maximum=len(self) - 1)
        order = torch.randperm(len(self), generator=generator)
        train, valid = order[:n_train], order[n_train:]
        return type(self)(self.x[train], self.y[train]), type(self)(self.x[valid], self.y[valid])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} points, classes {torch.unique(self.y).tolist()})"


def spiral_datasets(
    n: int = 500, sd: float = 0.1, n_train: int = 400, cycles: float = 1, seed: int | None = 0
) -> tuple[SpiralDataset, SpiralDataset]:
    """Spirals split into ``(train, valid)``, as in the R lesson (500 points, sd 0.1, 400/100).

    One seed fixes both the points and the split; ``seed=None`` uses torch's global RNG.
    """
    n = count("n", n, minimum=2)
    cycles = real("cycles", cycles, positive=True)
    sd = real("sd", sd, positive=False)
    count("n_train", n_train, minimum=1, maximum=n - 1)
    generator = _generator(seed)
    return SpiralDataset(*_spirals(n, cycles, sd, generator))._split(n_train, generator)
