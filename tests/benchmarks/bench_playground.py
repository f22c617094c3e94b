"""The Playground widget: one whole frame, and training speed with the widget shown against the same Trainer
bare.

Frame: `pg.redraw()` of a Playground with hidden [8, 8] (output map 100 x 100,
every unit's map, the diagram, the loss chart, figures and confusion matrix,
PNG-encoded into the widget). Speed: the same experiment (`widgets.playground.build`)
trained with `fit` for as many epochs as take about `--seconds` bare, once bare
and once with the Playground following it on its own clock, alternating, in one
process; steps per second side by side.

    python tests/benchmarks/bench_playground.py                 # 10-second runs, 2 rounds
    python tests/benchmarks/bench_playground.py --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median, print_table

from widgets import Playground
from widgets.playground import build

CONFIG = {"dataset": "spiral", "features": ["x1", "x2", "sin(x1)", "sin(x2)"], "hidden": [8, 8]}
FRAME_TARGET_MS = 40.0
SPEED_TARGET = 0.85


def frame_rows(repeats: int) -> list[list[object]]:
    """Median milliseconds of one whole frame, for two and for all seven input features."""
    rows = []
    for features in (["x1", "x2"], ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]):
        pg = Playground(**{**CONFIG, "features": features})
        pg.trainer.fit(2, verbose=False)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            pg.redraw()
            times.append(time.perf_counter() - start)
        rows.append([f"frame, hidden [8, 8], {len(features)} features", repeats, median(times) * 1000,
                     FRAME_TARGET_MS])
        pg.close()
    return rows


def steps_per_second(epochs: int, shown: bool) -> tuple[float, int]:
    """Steps per second of `fit(epochs)` on a fresh experiment, bare or with a Playground; and its frames
    drawn."""
    if shown:
        pg = Playground(**CONFIG)
        trainer, frames = pg.trainer, pg.frames_drawn
    else:
        pg, trainer = None, build(CONFIG).trainer
    gc.collect()
    start = time.perf_counter()
    trainer.fit(epochs, verbose=False)
    seconds = time.perf_counter() - start
    drawn = pg.frames_drawn - frames if pg is not None else 0
    if pg is not None:
        pg.close()
    return trainer.global_step / seconds, drawn


def speed_rows(seconds: float, rounds: int) -> list[list[object]]:
    probe = build(CONFIG).trainer
    start = time.perf_counter()
    probe.fit(5, verbose=False)
    epochs = max(1, round(seconds / ((time.perf_counter() - start) / 5)))
    bare, shown, frames = [], [], []
    for _ in range(rounds):
        bare.append(steps_per_second(epochs, shown=False)[0])
        rate, drawn = steps_per_second(epochs, shown=True)
        shown.append(rate)
        frames.append(drawn)
    return [
        [f"bare fit({epochs}) steps/s", rounds, median(bare), "", "", ""],
        [f"with Playground fit({epochs}) steps/s", rounds, median(shown), median(shown) / median(bare),
         SPEED_TARGET,
         median(frames)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    parser.add_argument("--rounds", type=int, default=2, help="bare / shown pairs")
    parser.add_argument("--frames", type=int, default=50, help="frames timed per case")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_table("Playground: one whole frame (median ms)", ["case", "frames", "median ms", "target ms"],
                frame_rows(args.frames))
    print_table(f"Playground: training speed over {args.seconds:g}-second runs (alternating, one process)",
                ["case", "runs", "median", "shown / bare", "target", "frames drawn"],
                speed_rows(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
