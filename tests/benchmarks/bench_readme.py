"""The README's example ("In ten lines") in a real kernel: `fit` bare and with `Dashboard(trainer, x, y)`
shown.

Both run in one kernel, alternating (bare, dashboard, bare, ...), each on a
fresh trainer seeded alike; only `fit` is timed (building and showing the
Dashboard is not). The Dashboard is displayed, so its pictures' messages leave
through the kernel's comm and IOPub as in a notebook; a client thread receives
them and counts, per picture, the updates that arrived while `fit` ran: the
most paints a page could show. Targets: `fit(150)` at most 1.10 times the bare
run, a run of about ten seconds at most 1.05, and 10 or more updates a second
per picture. The long run's epochs are chosen from the bare `fit(150)` median so
that it lasts `--long-seconds` bare on the machine at hand.

    python tests/benchmarks/bench_readme.py              # 5 timed rounds of fit(150), 3 of the 10-second run
    python tests/benchmarks/bench_readme.py --rounds 9 --long-rounds 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_session import KernelSession
from timing import median, print_table

EPOCHS = 150
LONG_TARGET = 1.05
TARGET = 1.10
HEADER = ["case", "runs", "median s", "CPU median s", "wall / bare", "CPU / bare", "target", "rounds/s",
          "kernel ms/round", "updates/s per picture (fewest)", "epochs kept"]

TRAINER_CODE = """
import torch
from torch import nn
from torch.utils.data import DataLoader
from widgets import Trainer, accuracy
from widgets.data import spiral_datasets

def readme_trainer():
    torch.manual_seed(0)
    train_set, valid_set = spiral_datasets(n=500, sd=0.1, n_train=400, seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.3),
                      DataLoader(train_set, batch_size=64, shuffle=True),
                      valid_loader=DataLoader(valid_set, batch_size=100), metrics={"acc": accuracy},
                      verbose=False)
    return trainer, train_set.x, train_set.y
"""
KERNEL_CODE = TRAINER_CODE + """
import gc, json, time
from IPython.display import display
from widgets import Dashboard

torch.set_num_threads(1)

def timed(case, epochs):
    trainer, x, y = readme_trainer()
    dashboard = None
    if case == "dashboard":
        dashboard = Dashboard(trainer, x, y)
        display(dashboard)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit(epochs)
    result = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    if dashboard is not None:
        result.update(rounds=dashboard.pacer.rounds, kernel_s=dashboard.pacer.seconds,
                      kept=dashboard.boundary.epochs,
                      comms=[view.picture.comm.comm_id for view in dashboard.pictures])
        dashboard.close()
    print(json.dumps(result))
"""


def readme_trainer():
    """The README's trainer, x and y, built in this process (the kernel builds its own from TRAINER_CODE)."""
    namespace: dict = {}
    exec(TRAINER_CODE, namespace)
    return namespace["readme_trainer"]()


def measure(session: KernelSession, epochs: int, rounds: int, target: float) -> list[list[object]]:
    """Rows of HEADER for `fit(epochs)`: bare, then with the Dashboard."""
    runs: dict[str, list[dict]] = {"bare": [], "dashboard": []}
    for round_ in range(rounds + 1):  # round 0 warms up and is not kept
        for case in runs:
            before = len(session.arrivals)
            result = session.run_json(f"timed({case!r}, {epochs})")
            if case == "dashboard":
                arrived = session.arrivals[before:]
                result["updates_per_s"] = min(sum(1 for _, comm in arrived if comm == c) / result["wall"]
                                              for c in result["comms"])
            if round_:
                runs[case].append(result)
    bare_wall = median([r["wall"] for r in runs["bare"]])
    bare_cpu = median([r["cpu"] for r in runs["bare"]])
    dash = runs["dashboard"]
    dash_wall, dash_cpu = median([r["wall"] for r in dash]), median([r["cpu"] for r in dash])
    kept = min((r["kept"] for r in dash), key=len)
    return [
        [f"bare fit({epochs})", rounds, bare_wall, bare_cpu, 1.0, 1.0, "", "", "", "", ""],
        [f"Dashboard(trainer, x, y) fit({epochs})", rounds, dash_wall, dash_cpu, dash_wall / bare_wall,
         dash_cpu / bare_cpu, target, median([r["rounds"] / r["wall"] for r in dash]),
         1000 * median([r["kernel_s"] / max(r["rounds"], 1) for r in dash]),
         median([r["updates_per_s"] for r in dash]), f"{len(kept)} ({kept[0]}..{kept[-1]})" if kept else "0"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="timed rounds of fit(150) (after one warm-up round)")
    parser.add_argument("--long-rounds", type=int, default=3,
                        help="timed rounds of the long run; 0 skips it")
    parser.add_argument("--long-seconds", type=float, default=10.0,
                        help="how long the long run lasts bare, about (its epochs follow from fit(150))")
    args = parser.parse_args()
    with KernelSession() as session:
        session.run(KERNEL_CODE)
        rows = measure(session, EPOCHS, max(args.rounds, 1), TARGET)
        if args.long_rounds:
            seconds_per_epoch = float(rows[0][2]) / EPOCHS
            long_epochs = max(EPOCHS, round(args.long_seconds / seconds_per_epoch))
            rows += measure(session, long_epochs, args.long_rounds, LONG_TARGET)
    print_table("README example in a kernel: bare and with a Dashboard shown (alternating runs, one kernel)",
                HEADER, rows)


if __name__ == "__main__":
    main()
