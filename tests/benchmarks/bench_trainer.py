"""Trainer.fit against a hand-written loop doing the same work, on the same model, data and seed.

Each step in both: zero_grad, forward, loss, backward, optimizer step,
`loss.item()`, batch accuracy; validation after every epoch. Runs alternate
(loop, trainer, loop, ...) and the table reports medians and the ratio, of
wall-clock time and of this thread's CPU time (on a shared machine the CPU
time is the steadier figure: time other processes take is not counted).

Timing runs in several fresh worker processes, one after another, and the
medians pool every process's rounds. One process alone is not enough: with its
own memory layout (address randomisation, hash seed) a process keeps one
contender a few percent faster or slower for its whole life: on a 2-core
machine the ratios of single processes spread from 0.99 to 1.10 for the same
code, while the pooled ratio of five stayed within 1.021-1.042 over five
invocations. The table also shows the lowest and highest single-process ratio.

    python tests/benchmarks/bench_trainer.py            # full: 5 processes x 9 rounds
    python tests/benchmarks/bench_trainer.py --quick    # smaller data, 2 processes x 3 rounds
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import alternate, median, print_table

from widgets.training.metrics import accuracy
from widgets.training.trainer import Trainer


@dataclass
class Case:
    """One benchmark problem: how to build its model, optimizer and data."""

    name: str
    layers: list[int]
    optimizer: str
    lr: float
    train: TensorDataset
    valid: TensorDataset
    batch_size: int
    epochs: int

    def build(self) -> tuple[nn.Module, torch.optim.Optimizer, DataLoader, DataLoader]:
        torch.manual_seed(0)
        modules: list[nn.Module] = []
        for width_in, width_out in zip(self.layers[:-1], self.layers[1:]):
            modules += [nn.Linear(width_in, width_out), nn.ReLU()]
        model = nn.Sequential(*modules[:-1])
        optimizer_class = torch.optim.SGD if self.optimizer == "SGD" else torch.optim.Adam
        optimizer = optimizer_class(model.parameters(), lr=self.lr)
        train = DataLoader(self.train, batch_size=self.batch_size, shuffle=True)
        valid = DataLoader(self.valid, batch_size=self.batch_size)
        return model, optimizer, train, valid


def spiral_points(n: int, seed: int) -> TensorDataset:
    """Two noisy interleaved spirals (one cycle), classes 0 and 1."""
    generator = torch.Generator().manual_seed(seed)
    half = n // 2
    w = torch.arange(half, dtype=torch.float32) / half
    radius = (2 * w + 1) / 3
    angle = 2 * math.pi * w
    first = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    points = torch.cat([first, -first]) + 0.05 * torch.randn(2 * half, 2, generator=generator)
    labels = torch.cat([torch.zeros(half), torch.ones(half)]).long()
    order = torch.randperm(2 * half, generator=generator)
    return TensorDataset(points[order], labels[order])


def random_digits(n: int, seed: int) -> TensorDataset:
    """MNIST-shaped random data: 784 features in [0, 1), 10 classes."""
    generator = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.rand(n, 784, generator=generator),
                         torch.randint(0, 10, (n,), generator=generator))


def hand_written(case: Case) -> nn.Module:
    """The loop a learner writes: the reference for the trainer's cost."""
    model, optimizer, train, valid = case.build()
    loss_fn = nn.CrossEntropyLoss()
    device = torch.device("cpu")
    losses: list[float] = []
    for _ in range(case.epochs):
        model.train()
        loss_sum, acc_sum, seen = 0.0, 0.0, 0
        for x, y in train:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            losses.append(value)
            size = y.shape[0]
            loss_sum += value * size
            acc_sum += accuracy(output.detach(), y) * size
            seen += size
        model.eval()
        valid_loss, valid_acc, valid_seen = 0.0, 0.0, 0
        with torch.no_grad():
            for x, y in valid:
                x, y = x.to(device), y.to(device)
                output = model(x)
                size = y.shape[0]
                valid_loss += loss_fn(output, y).item() * size
                valid_acc += accuracy(output, y) * size
                valid_seen += size
    return model


def with_trainer(case: Case) -> nn.Module:
    model, optimizer, train, valid = case.build()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, train, valid,
                      metrics={"acc": accuracy}, device="cpu", verbose=False)
    trainer.fit(case.epochs)
    return model


def cases(quick: bool) -> list[Case]:
    return [
        Case("spirals 2-64-64-64-2, SGD 0.3", [2, 64, 64, 64, 2], "SGD", 0.3,
             spiral_points(400, 1), spiral_points(100, 2), 64, 10 if quick else 50),
        Case("MNIST-shaped 784-128-64-10, Adam 1e-3", [784, 128, 64, 10], "Adam", 1e-3,
             random_digits(2_000 if quick else 10_000, 3), random_digits(1_000 if quick else 2_000, 4), 64,
             1),
    ]


def cpu_timed(record: list[float], fn: Callable[[], object]) -> Callable[[], None]:
    """`fn`, appending the thread CPU seconds of each call to `record`."""

    def run() -> None:
        start = time.thread_time()
        fn()
        record.append(time.thread_time() - start)

    return run


def worker(case: Case, rounds: int) -> dict[str, object]:
    """Time one case in this process: alternating rounds of both contenders, wall and CPU seconds."""
    loop_model, trainer_model = hand_written(case), with_trainer(case)
    identical = all(torch.equal(a, b) for a, b in zip(loop_model.state_dict().values(),
                                                      trainer_model.state_dict().values()))
    cpu: dict[str, list[float]] = {"loop": [], "trainer": []}
    wall = alternate({"loop": cpu_timed(cpu["loop"], lambda: hand_written(case)),
                      "trainer": cpu_timed(cpu["trainer"], lambda: with_trainer(case))}, rounds=rounds)
    return {"wall": wall, "cpu": {name: values[-rounds:] for name, values in cpu.items()},
            "identical": identical}


def in_fresh_process(index: int, rounds: int, quick: bool) -> dict[str, object]:
    """Run `worker` for case `index` in a new Python process and read back its JSON."""
    command = [sys.executable, __file__, "--worker", str(index), "--rounds",
               str(rounds)] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker for case {index} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer processes and rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per contender in each process")
    parser.add_argument("--processes", type=int, default=None, help="fresh worker processes per case")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rounds = args.rounds or (3 if args.quick else 9)
    processes = args.processes or (2 if args.quick else 5)
    all_cases = cases(args.quick)
    if args.worker is not None:
        print(json.dumps(worker(all_cases[args.worker], rounds)))
        return
    rows = []
    for index, case in enumerate(all_cases):
        results = [in_fresh_process(index, rounds, args.quick) for _ in range(processes)]
        pooled = {kind: {name: [t for r in results for t in r[kind][name]] for name in ("loop", "trainer")}
                  for kind in ("wall", "cpu")}
        per_process = [median(r["wall"]["trainer"]) / median(r["wall"]["loop"]) for r in results]
        steps = case.epochs * math.ceil(len(case.train) / case.batch_size)
        loop, trainer = median(pooled["wall"]["loop"]), median(pooled["wall"]["trainer"])
        loop_cpu, trainer_cpu = median(pooled["cpu"]["loop"]), median(pooled["cpu"]["trainer"])
        identical = all(r["identical"] for r in results)
        rows.append([case.name, steps, loop, trainer, trainer / loop,
                     f"{min(per_process):.3f}-{max(per_process):.3f}",
                     trainer_cpu / loop_cpu, steps / trainer, "yes" if identical else "NO"])
    print_table(
        f"Trainer.fit vs a hand-written loop (1 torch thread; medians of {processes} processes x {rounds} "
        "alternating rounds)",
        ["case", "steps", "loop s", "trainer s", "ratio", "one process", "cpu ratio", "trainer steps/s",
         "same weights"],
        rows,
    )


if __name__ == "__main__":
    main()
