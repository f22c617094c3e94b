"""TensorFlow Playground's six data sets, made as its `dataset.ts` makes them, from a torch generator.

Each point is drawn as there: the same shapes, the same noise (0 to 0.5, its
0-50 %), the same counts, the points in its order (the +1 class first), labels
-1 and +1 for a classification and its values for a regression. The numbers
come from a `torch.Generator` seeded with `seed` (computed in float64, as
JavaScript computes, and returned as float32), so the same arguments give
bitwise the same tensors; they are not the points TensorFlow Playground's own
generator draws for the same seed.
"""

from __future__ import annotations

import math

import torch

from . import checks

TF_CLASSIFICATIONS = ("circle", "xor", "gauss", "spiral")
TF_REGRESSIONS = ("reg-plane", "reg-gauss")
TF_PROBLEMS = TF_CLASSIFICATIONS + TF_REGRESSIONS
"""TensorFlow Playground's data sets: its classifications, then its regressions."""
TF_POINTS = {"classification": 500, "regression": 1200}
"""The points TensorFlow Playground makes for each kind of problem."""

CIRCLE_RADIUS = 5.0  # the +1 points lie within half of it, the -1 points from 0.7 of it to it
XOR_PADDING = 0.3
SPIRAL_RADIUS = 5.0  # each arm runs from the centre out to it ...
SPIRAL_TURNS = 1.75  # ... in this many turns
REG_RADIUS = 6.0
REG_GAUSS_BUMPS = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0),
                   (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0))


def make_tf_problem(name: str, noise: float = 0.0, seed: int = 0,
                    n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The points of TensorFlow Playground's data set `name` (one of `TF_PROBLEMS`), in its order.

    `noise` from 0 to 0.5; `n` points, by default its count (`TF_POINTS`:
    500, or 1,200 for a regression; its thumbnails use 200; an odd `n` gives
    n + 1 points of circle, gauss and spiral, as its loops do). Returns `(x, y)`,
    float32 `[n, 2]` and `[n]`: y is -1 or +1 for a classification (+1 is
    class 1, its blue), the value for a regression.
    """
    x, y, _ = _made(name, noise, seed, n)
    return x.to(torch.float32), y.to(torch.float32)


def make_tf_split(name: str, noise: float = 0.0, train_ratio: float = 0.5,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """TensorFlow Playground's data for an experiment: its points, shuffled and cut as it does.

    The points of `make_tf_problem(name, noise, seed)`, shuffled by the same
    generator that drew them (a uniform random order), then the first
    `floor(n * train_ratio)` for training (`train_ratio` from 0.1 to 0.9), the
    rest for testing: `(x_train, y_train, x_test, y_test)`.
    """
    train_ratio = checks.real("train_ratio", train_ratio, 0.1, 0.9)
    x, y, generator = _made(name, noise, seed, None)
    order = torch.randperm(len(x), generator=generator)
    # floor as TensorFlow Playground cuts; the small addition keeps 0.3 * 500 (149.99999999999997) at 150
    cut = min(max(math.floor(len(x) * train_ratio + 1e-9), 1), len(x) - 1)
    x, y = x.to(torch.float32)[order], y.to(torch.float32)[order]
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _made(name: str, noise: float, seed: int,
          n: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    name = checks.choice("name", name, TF_PROBLEMS)
    noise = checks.real("noise", noise, 0.0, 0.5)
    seed = checks.seed("seed", seed)
    if n is None:
        n = TF_POINTS["regression" if name in TF_REGRESSIONS else "classification"]
    n = checks.integer("n", n, 2, 100_000)
    generator = torch.Generator().manual_seed(seed)
    x, y = _MAKERS[name](n, noise, generator)
    return x, y, generator


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, dtype=torch.float64, generator=generator) * (high - low) + low


def _sign(condition: torch.Tensor) -> torch.Tensor:
    """+1 where `condition` holds, else -1."""
    return torch.where(condition, 1.0, -1.0).to(torch.float64)


def _circle(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # n/2 points inside radius 2.5, then n/2 on the ring from 3.5 to 5; the label is read at the point
    # moved by the noise (up to 5 * noise on each axis), so labels near the border flip, the points stay.
    inner, outer = (n + 1) // 2, (n + 1) // 2  # its loops run while i < n / 2
    radius = torch.cat([_uniform((inner,), 0.0, CIRCLE_RADIUS * 0.5, generator),
                        _uniform((outer,), CIRCLE_RADIUS * 0.7, CIRCLE_RADIUS, generator)])
    angle = _uniform((inner + outer,), 0.0, 2 * math.pi, generator)
    x = torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], dim=1)
    moved = x + _uniform(tuple(x.shape), -CIRCLE_RADIUS, CIRCLE_RADIUS, generator) * noise
    return x, _sign(torch.hypot(moved[:, 0], moved[:, 1]) < CIRCLE_RADIUS * 0.5)


def _xor(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Uniform on [-5, 5] on each axis, pushed 0.3 away from the axes; +1 where x1 * x2 >= 0 at the
    # moved point.
    x = _uniform((n, 2), -5.0, 5.0, generator)
    x = x + torch.where(x > 0, XOR_PADDING, -XOR_PADDING)
    moved = x + _uniform((n, 2), -5.0, 5.0, generator) * noise
    return x, _sign(moved[:, 0] * moved[:, 1] >= 0)


def _gauss(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # n/2 points around (2, 2) labelled +1, then n/2 around (-2, -2) labelled -1; the variance grows
    # linearly from 0.5 (no noise) to 4 (noise 0.5).
    half = (n + 1) // 2
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    centres = torch.tensor([[2.0, 2.0]] * half + [[-2.0, -2.0]] * half, dtype=torch.float64)
    x = centres + torch.randn(2 * half, 2, dtype=torch.float64, generator=generator) * math.sqrt(variance)
    return x, torch.cat([torch.ones(half, dtype=torch.float64), -torch.ones(half, dtype=torch.float64)])


def _spiral(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Two arms from the centre: point i of n/2 at radius i / (n/2) * 5, angle 1.75 turns * i / (n/2), the
    # -1 arm turned by pi; each coordinate moved by up to +-noise.
    half = n / 2
    arm = torch.arange(math.ceil(half), dtype=torch.float64)
    radius = arm / half * SPIRAL_RADIUS
    points, labels = [], []
    for delta, label in ((0.0, 1.0), (math.pi, -1.0)):
        turn = SPIRAL_TURNS * arm / half * 2 * math.pi + delta
        points.append(torch.stack([radius * torch.sin(turn), radius * torch.cos(turn)], dim=1))
        labels.append(torch.full((len(arm),), label, dtype=torch.float64))
    x = torch.cat(points)
    return x + _uniform(tuple(x.shape), -1.0, 1.0, generator) * noise, torch.cat(labels)


def _regression_points(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = _uniform((n, 2), -REG_RADIUS, REG_RADIUS, generator)
    return x, x + _uniform((n, 2), -REG_RADIUS, REG_RADIUS, generator) * noise


def _reg_plane(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # The value (x1 + x2) / 10 at the moved point (its scale maps -10..10 to -1..1, unclamped).
    x, moved = _regression_points(n, noise, generator)
    return x, moved.sum(dim=1) / 10


def _reg_gauss(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # Six bumps of height +-1 falling linearly to 0 at distance 2; at the moved point the bump largest in
    # absolute value gives the value (the first of equals, as its loop keeps the first).
    x, moved = _regression_points(n, noise, generator)
    bumps = torch.tensor(REG_GAUSS_BUMPS, dtype=torch.float64)
    distance = torch.hypot(moved[:, None, 0] - bumps[:, 0], moved[:, None, 1] - bumps[:, 1])
    values = bumps[:, 2] * (1 - distance / 2).clamp(0.0, 1.0)
    strongest = values.abs().argmax(dim=1, keepdim=True)
    return x, values.gather(1, strongest).squeeze(1)


_MAKERS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "reg-plane": _reg_plane,
           "reg-gauss": _reg_gauss}
