"""The Playground's problems: 2-D points with classes or values, made from a seed.

The geometry follows TensorFlow Playground's datasets, on the same plane
(inputs within about [-6, 6] on both axes, `PLANE`). Classes are numbered from
0: the Playground's positive class (+1) is class 1, its negative class (-1) is
class 0. Every problem draws from its own `torch.Generator`, so the same
arguments give bitwise the same tensors whatever torch's global generator holds,
and that generator is left untouched.
"""

from __future__ import annotations

import math

import torch

from ..data import spirals
from . import checks

PLANE = (-6.0, 6.0)
"""The square the Playground shows: both inputs from PLANE[0] to PLANE[1]."""

CLASSIFICATIONS = ("circle", "xor", "gauss", "spiral", "blobs")
REGRESSIONS = ("reg-plane", "reg-gauss")
PROBLEMS = CLASSIFICATIONS + REGRESSIONS
"""Every problem's name: the classifications, then the regressions."""

POINTS = (10, 100_000)  # the fewest and the most points a problem makes
BLOB_CLASSES = (2, 6)
BLOB_RADIUS = 3.5  # the blobs' centres lie on this circle, inside the plane with room for their spread
SPIRAL_TURNS = 1.75  # as the Playground's spiral
SPIRAL_RADIUS = 5.0  # the outer end of each arm


def task_of(name: str) -> str:
    """'classification' or 'regression' for a problem's name."""
    return "regression" if checks.choice("problem", name, PROBLEMS) in REGRESSIONS else "classification"


def make_problem(name: str, n: int = 500, noise: float = 0.0, seed: int = 0,
                 classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` points (10 to 100,000) of the problem `name` (one of `PROBLEMS`) with `noise` from 0 to 0.5
    (the Playground's 0..50 %).

    Returns `(x, y)`: x float32 `[n, 2]`; y int64 class indices `[n]` for a
    classification, float32 values `[n]` for a regression. `classes` is the
    number of blobs for "blobs" (2 to 6, default 3) and must stay None for the
    other problems. What the noise does is the Playground's: circle, xor and
    the regressions take each label at a point moved by a random offset
    (labels near the border flip, the points stay where the same seed puts
    them without noise); gauss and blobs widen their spread; spiral moves its
    points off the arms.
    """
    name = checks.choice("problem", name, PROBLEMS)
    n = checks.integer("n", n, *POINTS)
    noise = checks.real("noise", noise, 0.0, 0.5)
    seed = checks.seed("seed", seed)
    if name == "blobs":
        blob_classes = 3 if classes is None else checks.integer("classes", classes, *BLOB_CLASSES)
    elif classes is not None:
        raise ValueError(f"classes applies to 'blobs' only; {name!r} has a fixed task, so pass classes=None, "
                         f"got {checks.shown(classes)}")
    generator = torch.Generator().manual_seed(seed)
    if name == "blobs":
        x, y = _blobs(n, noise, blob_classes, generator)
    elif name == "spiral":
        x, y = _spiral(n, noise, generator)
    else:
        x, y = _MAKERS[name](n, noise, generator)
    return x.to(torch.float32), y


def split(x: torch.Tensor, y: torch.Tensor, train_ratio: float = 0.5,
          seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shuffle the points with `seed` and cut them: `(x_train, y_train, x_test, y_test)`.

    The training part holds `round(len(x) * train_ratio)` points (`train_ratio`
    from 0.1 to 0.9), at least one, and at least one point is left for testing.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"split needs x and y as tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.dim() == 0 or y.dim() == 0 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"split needs x and y of one length, at least 2, "
                         f"got shapes {list(x.shape)} and {list(y.shape)}")
    train_ratio = checks.real("train_ratio", train_ratio, 0.1, 0.9)
    seed = checks.seed("seed", seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    cut = min(max(round(len(x) * train_ratio), 1), len(x) - 1)
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


# --------------------------------------------------------------------------- the geometry


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, dtype=torch.float64, generator=generator) * (high - low) + low


def _label_offset(n: int, noise: float, reach: float, generator: torch.Generator) -> torch.Tensor:
    """Where the label is read: each point moved by up to `reach * noise` on each axis."""
    return _uniform((n, 2), -reach, reach, generator) * noise


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _circle(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Class 1 inside radius 2.5, class 0 on the ring from 3.5 to 5; the label is
    # whether the point, moved by the noise, lies within 2.5 of the centre.
    inner, outer = _halves(n)
    radius = torch.cat([_uniform((inner,), 0.0, 2.5, generator), _uniform((outer,), 3.5, 5.0, generator)])
    angle = _uniform((n,), 0.0, 2 * math.pi, generator)
    x = torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], dim=1)
    moved = x + _label_offset(n, noise, 5.0, generator)
    return x, (torch.hypot(moved[:, 0], moved[:, 1]) < 2.5).to(torch.int64)


def _xor(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Uniform on [-5, 5]^2, pushed 0.3 away from both axes; class 1 where x1 * x2 >= 0.
    x = _uniform((n, 2), -5.0, 5.0, generator)
    x = x + torch.where(x > 0, 0.3, -0.3)
    moved = x + _label_offset(n, noise, 5.0, generator)
    return x, (moved[:, 0] * moved[:, 1] >= 0).to(torch.int64)


def _spread(noise: float) -> float:
    """The standard deviation of a Gaussian cluster: variance 0.5 at no noise, 4 at the most."""
    return math.sqrt(0.5 + 7.0 * noise)


def _clusters(centres: torch.Tensor, counts: list[int], noise: float,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    x = centres[y] + torch.randn(len(y), 2, dtype=torch.float64, generator=generator) * _spread(noise)
    return x, y


def _gauss(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Class 1 around (2, 2), class 0 around (-2, -2).
    ones, zeros = _halves(n)
    centres = torch.tensor([[2.0, 2.0], [-2.0, -2.0]], dtype=torch.float64)
    x, cluster = _clusters(centres, [ones, zeros], noise, generator)
    return x, 1 - cluster


def _blobs(n: int, noise: float, classes: int,
           generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # One Gaussian cluster per class, centres evenly spaced on a circle (class 0 up and to the right).
    angle = math.pi / 4 + 2 * math.pi * torch.arange(classes, dtype=torch.float64) / classes
    centres = BLOB_RADIUS * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    counts = [n // classes + (k < n % classes) for k in range(classes)]
    return _clusters(centres, counts, noise, generator)


def _spiral(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # widgets.data.spirals with the Playground's 1.75 turns, scaled so each arm ends at radius 5.
    # The Playground moves each coordinate by up to +-noise (uniform, sd noise/sqrt(3));
    # the arms here move by a normal draw of that sd across the curve.
    scale = SPIRAL_RADIUS / ((2 * SPIRAL_TURNS + 1) / 3)
    own_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    x, y = spirals(n, cycles=SPIRAL_TURNS, sd=noise / math.sqrt(3) / scale, seed=own_seed)
    return x.to(torch.float64) * scale, y


def _reg_plane(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # The value is (x1 + x2) / 10 read at the moved point: from -1.2 to 1.2 over the plane.
    x = _uniform((n, 2), -6.0, 6.0, generator)
    moved = x + _label_offset(n, noise, 6.0, generator)
    return x, (moved.sum(dim=1) / 10).to(torch.float32)


REG_GAUSS_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
                   (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))


def _reg_gauss(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Six bumps of height +-1 falling linearly to 0 at distance 2; at each point
    # the bump largest in absolute value gives the value.
    x = _uniform((n, 2), -6.0, 6.0, generator)
    moved = x + _label_offset(n, noise, 6.0, generator)
    bumps = torch.tensor(REG_GAUSS_BUMPS, dtype=torch.float64)
    distance = torch.hypot(moved[:, None, 0] - bumps[:, 0], moved[:, None, 1] - bumps[:, 1])
    values = bumps[:, 2] * (1 - distance / 2).clamp(0.0, 1.0)
    strongest = values.abs().argmax(dim=1, keepdim=True)
    return x, values.gather(1, strongest).squeeze(1).to(torch.float32)


_MAKERS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "reg-plane": _reg_plane, "reg-gauss": _reg_gauss}
