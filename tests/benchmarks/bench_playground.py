"""The Playground page in a real kernel: what a round costs, and training speed against its own code run bare.

Speed: the experiment's exported code, `exec(pg.code())`, trained with
`trainer.fit` for about `--seconds`, against the same experiment in a shown
`Playground` (its pictures sending at most 20 rounds a second through the
kernel's comms, as in JupyterLab), alternating in one kernel; steps per second
side by side, for the rich mode and TensorFlow Playground's. Round: the
kernel's time of one round (the network's maps over the plane, the figures on
both splits, the messages), from the Pacer's own count while training.

    python tests/benchmarks/bench_playground.py                 # 8-second runs, 3 rounds
    python tests/benchmarks/bench_playground.py --seconds 4 --rounds 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_session import KernelSession
from timing import median, print_table

CONFIG = {"dataset": "spiral", "features": ["x1", "x2", "sin(x1)", "sin(x2)"], "hidden": [8, 8]}
SPEED_TARGET = 0.85

KERNEL_SETUP = """
import gc, json, time
import torch
from IPython.display import display
from widgets import Playground
from widgets.playground import to_code, check_config

torch.set_num_threads(1)


def bare_rate(config, epochs):
    namespace = {}
    exec(to_code(check_config(config)), namespace)
    trainer = namespace["trainer"]
    gc.collect()
    start = time.perf_counter()
    trainer.fit(epochs, verbose=False)
    return trainer.global_step / (time.perf_counter() - start)


def shown_rate(config, epochs):
    pg = Playground(**config)
    display(pg)
    rounds, spent = pg.pacer.rounds, pg.pacer.seconds
    gc.collect()
    start = time.perf_counter()
    pg.trainer.fit(epochs, verbose=False)
    seconds = time.perf_counter() - start
    result = [pg.trainer.global_step / seconds, (pg.pacer.rounds - rounds) / seconds,
              1000 * (pg.pacer.seconds - spent) / max(pg.pacer.rounds - rounds, 1)]
    pg.close()
    return result


def epochs_for(config, seconds):
    rate = bare_rate(config, 3)
    namespace = {}
    exec(to_code(check_config(config)), namespace)
    return max(2, round(seconds * rate / len(namespace["trainer"].train_loader)))
"""


def mode_rows(session: KernelSession, mode: str, seconds: float, rounds: int) -> list[list[object]]:
    config = {**CONFIG, "mode": mode}
    epochs = session.run_json(f"print(json.dumps(epochs_for({config!r}, {seconds})))")
    bare, shown, rates, costs = [], [], [], []
    for _ in range(rounds):
        bare.append(session.run_json(f"print(json.dumps(bare_rate({config!r}, {epochs})))"))
        rate, per_second, ms = session.run_json(f"print(json.dumps(shown_rate({config!r}, {epochs})))")
        shown.append(rate)
        rates.append(per_second)
        costs.append(ms)
    return [
        [f"{mode}: exec(pg.code()) fit({epochs}) steps/s", rounds, median(bare), "", "", "", ""],
        [f"{mode}: shown Playground fit({epochs}) steps/s", rounds, median(shown),
         median(shown) / median(bare),
         SPEED_TARGET, median(rates), median(costs)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed run")
    parser.add_argument("--rounds", type=int, default=3, help="bare / shown pairs per mode")
    args = parser.parse_args()
    with KernelSession() as session:
        session.run(KERNEL_SETUP)
        rows = []
        for mode in ("rich", "tf"):
            rows += mode_rows(session, mode, args.seconds, args.rounds)
    print_table(f"Playground [8, 8] on the spiral, in a kernel: {args.seconds:g}-second runs, alternating",
                ["case", "runs", "steps/s (median)", "shown / bare", "target", "rounds/s", "kernel ms/round"],
                rows)


if __name__ == "__main__":
    main()
