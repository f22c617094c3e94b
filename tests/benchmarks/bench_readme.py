"""The README's example ("In ten lines"): `fit(150)` bare and with `Dashboard(trainer, x, y)`, side by side.

Both run in one process, alternating (bare, dashboard, bare, ...), each on a
fresh trainer seeded alike; only `fit(150)` is timed (building the Dashboard,
which draws its first frames outside the clock's budget, is not). The
Dashboard's cost target is 1.15 times the bare run, and its boundary must keep
at least 50 epochs of the run for the slider, the first and the last included.

    python tests/benchmarks/bench_readme.py              # 5 timed rounds after a warm-up
    python tests/benchmarks/bench_readme.py --rounds 9
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
from torch import nn
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median, print_table

from widgets import Dashboard, Trainer, accuracy
from widgets.data import spiral_datasets

EPOCHS = 150
TARGET = 1.15
HEADER = ["case", "runs", "median s", "CPU median s", "wall / bare", "CPU / bare", "target",
          "charged median s", "epochs kept (fewest)", "first..last"]


def readme_trainer() -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    """The README's trainer of the spiral MLP (seeded as there), with its training points and classes."""
    torch.manual_seed(0)
    train_set, valid_set = spiral_datasets(n=500, sd=0.1, n_train=400, seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.3),
                      DataLoader(train_set, batch_size=64, shuffle=True),
                      valid_loader=DataLoader(valid_set, batch_size=100), metrics={"acc": accuracy}, verbose=False)
    return trainer, train_set.x, train_set.y


def readme_overhead(rounds: int, epochs: int = EPOCHS) -> list[list[object]]:
    """Rows of HEADER: bare `fit(epochs)` and the same with a Dashboard (controls, loss curve, boundary, inspector)."""
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "dashboard": []}
    charged: list[float] = []
    kept: list[list[int]] = []
    for round_ in range(rounds + 1):  # round 0 warms up and is not kept
        for case in times:
            trainer, x, y = readme_trainer()
            dashboard = Dashboard(trainer, x, y) if case == "dashboard" else None
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            trainer.fit(epochs)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if round_:
                times[case].append((wall, cpu))
                if dashboard is not None:
                    charged.append(dashboard.clock.spent)
                    kept.append(dashboard.boundary.epochs)
            if dashboard is not None:
                dashboard.close()
    bare_wall, bare_cpu = (median([t[i] for t in times["bare"]]) for i in (0, 1))
    dash_wall, dash_cpu = (median([t[i] for t in times["dashboard"]]) for i in (0, 1))
    fewest = min(kept, key=len)
    return [
        [f"bare fit({epochs})", rounds, bare_wall, bare_cpu, 1.0, 1.0, "", "", "", ""],
        [f"Dashboard(trainer, x, y) fit({epochs})", rounds, dash_wall, dash_cpu, dash_wall / bare_wall,
         dash_cpu / bare_cpu, TARGET, median(charged), len(fewest), f"{fewest[0]}..{fewest[-1]}"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each case (after one warm-up round)")
    rounds = parser.parse_args().rounds
    torch.set_num_threads(1)
    print_table(f"README example, fit({EPOCHS}): bare and with a Dashboard (alternating runs, one process)",
                HEADER, readme_overhead(rounds))


if __name__ == "__main__":
    main()
