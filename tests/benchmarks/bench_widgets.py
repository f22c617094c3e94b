"""What one update of each live view costs the kernel, in a real kernel, beside a matplotlib still of the same
picture.

An update ("round") is what the pacer runs while training: the view collects
what changed and sends it through its comm. Each view is displayed, so its
messages really leave through the kernel's IOPub thread. The baseline is what a
frame cost when the kernel drew it: the view's matplotlib still of the same
state (`snapshot_png()`), which is what the views sent before they drew in the
page.

    python tests/benchmarks/bench_widgets.py            # 40 rounds a view
    python tests/benchmarks/bench_widgets.py --rounds 100
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_session import KernelSession
from timing import print_table

HEADER = ["view", "state", "rounds", "kernel ms/round (median)", "p90", "bytes/round", "still ms (median)",
          "still / round"]

KERNEL_CODE = '''
import json, statistics, time
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from IPython.display import display
from widgets import (Compare, DecisionBoundary, FilterGrid, GradientFlow, History, LossCurve, ModuleInspector,
                     Trainer)
from widgets.data import spirals
from widgets.views.pacer import Pacer

torch.set_num_threads(1)
NEVER = dict(fps=0.001, pause=0.0)  # the benchmark says when a round runs

def spiral_trainer(width=64, model=None):
    torch.manual_seed(0)
    x, y = spirals(400, sd=0.1, seed=0)
    model = model or nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                   nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                   DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), verbose=False), x, y

def measure(view, advance, rounds, round_fn=None):
    display(view)
    round_fn = round_fn or view.push
    times, sent = [], view.picture.bytes_sent
    for _ in range(rounds):
        advance()
        start = time.perf_counter()
        round_fn()
        times.append(time.perf_counter() - start)
        time.sleep(0.002)  # the pause a pacer makes, outside the timing
    sent = (view.picture.bytes_sent - sent) / rounds
    stills = []
    for _ in range(3):
        start = time.perf_counter()
        view.snapshot_png()
        stills.append(time.perf_counter() - start)
    times.sort()
    result = {"median": statistics.median(times) * 1000, "p90": times[int(0.9 * len(times))] * 1000,
              "bytes": sent, "still": statistics.median(stills) * 1000}
    view.close()
    return result

def bench_curve(rounds, rows=1_000_000, new=50):
    history = History()
    steps = np.arange(1, rows + 1)
    for step in steps:
        history.log_step(int(step), 1.0 / float(step))
    curve = LossCurve(history=history, pacer=Pacer(**NEVER))
    curve.push()
    counter = [rows]
    def advance():
        for _ in range(new):
            counter[0] += 1
            history.log_step(counter[0], 1e-6)
    return measure(curve, advance, rounds)

def bench_boundary(rounds, resolution, evaluate_only=False):
    trainer, x, y = spiral_trainer()
    boundary = DecisionBoundary(trainer.model, x, y, resolution=resolution, live_resolution=resolution,
                                pacer=Pacer(**NEVER))
    round_fn = (lambda: boundary.evaluate(resolution)) if evaluate_only else boundary.update
    return measure(boundary, trainer.step, rounds, round_fn)

def bench_boundary_aside(rounds, resolution):
    """A trainer's boundary at a run's end: the training thread copies the weights; the worker makes and
    sends the field."""
    trainer, x, y = spiral_trainer()
    boundary = DecisionBoundary(trainer, x, y, resolution=resolution, pacer=Pacer(**NEVER))
    boundary.pacer.leave(boundary)
    display(boundary)
    worker_ms = []
    for _ in range(10):
        boundary.on_stop()
        start = time.perf_counter()
        boundary.settle()
        worker_ms.append((time.perf_counter() - start) * 1000)
    def advance():
        trainer.step()
        boundary.settle()  # the field of the step's own end
    result = measure(boundary, advance, rounds, boundary.on_stop)
    result["worker"] = statistics.median(worker_ms)
    return result

def bench_inspector(rounds, model=None, loader_shape=None):
    if model is None:
        trainer, _, _ = spiral_trainer()
        parameter = "2.weight"
    else:
        torch.manual_seed(0)
        data = TensorDataset(torch.randn(512, loader_shape), torch.randint(0, 10, (512,)))
        trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                          DataLoader(data, batch_size=64), verbose=False)
        parameter = "0.weight"
    pacer = Pacer(fps=120, pause=0.0)  # due at nearly every step: the update column is measured each round
    inspector = ModuleInspector(trainer, pacer=pacer, parameter=parameter)
    pacer.leave(inspector)  # the benchmark runs the rounds
    return measure(inspector, trainer.step, rounds)

def bench_gradients(rounds):
    trainer, _, _ = spiral_trainer()
    view = GradientFlow(trainer, pacer=Pacer(**NEVER))
    view.pacer.leave(view)
    return measure(view, trainer.step, rounds)

def bench_compare(rounds, runs=4, rows=1_000_000, new=50):
    trainers = []
    for _ in range(runs):
        trainer, _, _ = spiral_trainer(width=8)
        for step in range(1, rows + 1):
            trainer.history.log_step(step, 1.0 / step)
        trainers.append(trainer)
    view = Compare({f"run {i}": t for i, t in enumerate(trainers)}, pacer=Pacer(**NEVER))
    view.pacer.leave(view)
    view.push()
    counter = [rows]
    def advance():
        for _ in range(new):
            counter[0] += 1
            for trainer in trainers:
                trainer.history.log_step(counter[0], 1e-6)
    return measure(view, advance, rounds)

def bench_filters(rounds):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 24 * 24, 10))
    data = TensorDataset(torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,)))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01),
                      DataLoader(data, batch_size=32), verbose=False)
    view = FilterGrid(trainer, pacer=Pacer(**NEVER))
    view.pacer.leave(view)
    return measure(view, trainer.step, rounds)
'''

CASES = [
    ("LossCurve", "1,000,000 steps, 50 new a round", "bench_curve({rounds})"),
    ("DecisionBoundary", "100 x 100 field: evaluate + send", "bench_boundary({rounds}, 100)"),
    ("DecisionBoundary", "100 x 100: the model's forward pass alone",
     "bench_boundary({rounds}, 100, evaluate_only=True)"),
    ("DecisionBoundary", "50 x 50 field (live): evaluate + send", "bench_boundary({rounds}, 50)"),
    ("DecisionBoundary",
     "100 x 100 at a run's end, training thread (weights copied; the worker makes and sends it)",
     "bench_boundary_aside({rounds}, 100)"),
    ("ModuleInspector", "README MLP, a 64 x 64 weight", "bench_inspector({rounds})"),
    ("ModuleInspector", "MNIST MLP, a 784 x 128 weight",
     "bench_inspector({rounds}, nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), "
     "nn.Linear(64, 10)), 784)"),
    ("GradientFlow", "README MLP, 4 layers", "bench_gradients({rounds})"),
    ("Compare", "4 runs of 1,000,000 steps, 50 new a round each", "bench_compare({rounds})"),
    ("FilterGrid", "16 kernels 5 x 5", "bench_filters({rounds})"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds of each view")
    rounds = parser.parse_args().rounds
    rows = []
    with KernelSession() as session:
        session.run(KERNEL_CODE)
        for view, state, call in CASES:
            result = session.run_json(f"print(json.dumps({call.format(rounds=rounds)}))", timeout=900)
            print(f"{view}, {state}: {result}", flush=True)
            if "worker" in result:
                state += f" (the worker's part: {result['worker']:.2f} ms)"
            rows.append([view, state, rounds, result["median"], result["p90"], round(result["bytes"]),
                         result["still"], result["still"] / result["median"]])
    print_table("Kernel cost of one update of each live view, in a real kernel (one torch thread)", HEADER,
                rows)


if __name__ == "__main__":
    main()
