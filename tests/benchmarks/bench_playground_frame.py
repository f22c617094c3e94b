"""One whole Playground frame, part by part: the unit maps, every picture and its PNG.

A frame of the Playground widget: `unit_maps` over a 100 x 100 grid (the large
output picture), the output picture with 250 training points, every unit's
thumbnail inside the network diagram, the loss chart, and the PNG of each
picture. The thumbnails come either from the same 100 x 100 maps or from a
second pass over a 25 x 25 grid; both frames are timed. Networks: hidden layers
[8, 8] on 2 input features and on 7 (the target: a frame of at most 40 ms on a
2-core machine, about 20 ms preferred), and for scale the largest diagram the
Playground allows, 7 features and 6 layers of 16, in a 480-pixel diagram.
Parts run interleaved (A B C ... A B C ...), so a slow phase of a shared
machine falls on every part alike; the table gives medians. Unlike
`timing.alternate`, no full garbage collection between calls: with torch
loaded one takes about a tenth of a second, longer than a whole frame.

    python tests/benchmarks/bench_playground_frame.py            # 100 rounds
    python tests/benchmarks/bench_playground_frame.py --quick    # 20 rounds
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median, print_table, time_call

from widgets.playground.draw import draw_output, png_bytes
from widgets.playground.draw_chart import draw_loss_chart
from widgets.playground.draw_network import draw_network
from widgets.playground.maps import layer_weights, plane_grid, unit_maps

HEADER = ["features", "hidden", "part", "median ms"]
POINTS = 250
TARGET_MS = 40.0


class Features(nn.Module):
    """The first `count` of TensorFlow Playground's seven input features."""

    ALL = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.names = self.ALL[:count]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[:, :1], x[:, 1:]
        return torch.cat([x1, x2, x1**2, x2**2, x1 * x2, torch.sin(x1), torch.sin(x2)], 1)[
            :, : len(self.names)
        ]


def playground_model(features: int, hidden: list[int]) -> nn.Sequential:
    """Features, hidden layers of tanh units, two class logits."""
    layers: list[nn.Module] = [Features(features)]
    for width_in, width_out in zip([features, *hidden], hidden):
        layers += [nn.Linear(width_in, width_out), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(hidden[-1], 2))


def frame_parts(features: int, hidden: list[int], height: int) -> dict[str, Callable[[], object]]:
    """The parts of one frame, each a callable drawing from fresh maps as the widget would."""
    torch.manual_seed(0)
    model = playground_model(features, hidden)
    grid, coarse = plane_grid(100), plane_grid(25)
    points = torch.rand(POINTS, 2) * 12 - 6
    labels = (points.norm(dim=1) > 3).long().numpy()
    points = points.numpy()
    losses = np.exp(-np.arange(300) / 80.0)
    maps, thumb_maps = unit_maps(model, grid), unit_maps(model, coarse)
    weights = layer_weights(model)
    output = draw_output(maps[-1], 300, points=points, labels=labels)
    diagram = draw_network(thumb_maps, weights, model[0].names, height=height).image
    chart = draw_loss_chart(losses, losses * 1.1)

    def whole(coarse_thumbs: bool) -> Callable[[], object]:
        def frame() -> None:
            big = unit_maps(model, grid)
            small = unit_maps(model, coarse) if coarse_thumbs else big
            png_bytes(draw_output(big[-1], 300, points=points, labels=labels))
            png_bytes(draw_network(small, layer_weights(model), model[0].names, height=height).image)
            png_bytes(draw_loss_chart(losses, losses * 1.1))
        return frame

    return {
        "unit_maps 100x100": lambda: unit_maps(model, grid),
        "unit_maps 25x25": lambda: unit_maps(model, coarse),
        f"output 300 px + {POINTS} points": lambda: draw_output(maps[-1], 300, points=points, labels=labels),
        "diagram (thumbs from 25x25)": lambda: draw_network(
            thumb_maps, weights, model[0].names, height=height
        ),
        "diagram (thumbs from 100x100)": lambda: draw_network(maps, weights, model[0].names, height=height),
        "loss chart 300x80": lambda: draw_loss_chart(losses, losses * 1.1),
        "png output": lambda: png_bytes(output),
        "png diagram": lambda: png_bytes(diagram),
        "png chart": lambda: png_bytes(chart),
        "WHOLE FRAME, thumbs from 25x25": whole(True),
        "WHOLE FRAME, thumbs from 100x100": whole(False),
    }


def interleave(parts: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each part in each of `rounds` rounds, the parts one after another in every round, after
    one warm-up."""
    for fn in parts.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(rounds):
        for name, fn in parts.items():
            times[name].append(time_call(fn))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds instead of 100")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rounds = 20 if args.quick else 100
    rows = []
    for features, hidden, height in ((2, [8, 8], 300), (7, [8, 8], 300), (7, [16] * 6, 480)):
        times = interleave(frame_parts(features, hidden, height), rounds)
        rows += [[features, "x".join(map(str, hidden)), part, median(seconds) * 1000] for part,
                 seconds in times.items()]
    print_table(
        f"Playground frame, median of {rounds} rounds (target for 8x8: a whole frame <= {TARGET_MS:.0f} ms)",
        HEADER,
        rows,
    )


if __name__ == "__main__":
    main()
