"""Frame costs of the live views against a naive "new figure + savefig" frame of the same content.

One function per section; each returns table rows (see HEADER), and `main()`
prints them as one table. For the frame sections the baseline is the naive
frame: a new figure with every point drawn, then savefig.

    python tests/benchmarks/bench_widgets.py            # full
    python tests/benchmarks/bench_widgets.py --quick    # fewer rounds
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_readme import HEADER as README_HEADER
from bench_readme import readme_overhead
from timing import median, print_table, repeat, time_call

from widgets.data import spirals
from widgets.training.history import STEP_COLUMNS, History
from widgets.training.trainer import Trainer
from widgets.views.boundary import DecisionBoundary
from widgets.views.clock import FrameClock
from widgets.views.controls import TrainerControls
from widgets.views.dashboard import Dashboard
from widgets.views.inspect import ModuleInspector
from widgets.views.loss_curve import LossCurve
from widgets.views.model_replica import ModelReplica

# A section returns rows matching HEADER; "-" stands in a cell that does not apply to it.
HEADER = ["view", "case", "median ms", "CPU median ms", "target ms", "baseline median ms", "baseline / ours"]


def frame_times(fn: Callable[[], object], count: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each of `count` consecutive calls of `fn`.

    CPU time (this process's) leaves out the waits for a core that other
    programs on a shared machine cause; wall time is what a learner waits.
    """
    wall, cpu = [], []
    for _ in range(count):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def filled_history(steps: int, steps_per_epoch: int = 100) -> History:
    """A history of `steps` noisy, decaying losses with an epoch record every `steps_per_epoch` steps."""
    rng = np.random.default_rng(0)
    step = np.arange(1, steps + 1)
    loss = np.exp(-5 * step / steps) + 0.1 * rng.random(steps)
    epoch = (step - 1) // steps_per_epoch + 1
    columns = {"step": step, "epoch": epoch, "loss": loss, "lr": np.full(steps, 0.01), "time": step * 1e-3}
    epochs = [
        {"epoch": e, "step": e * steps_per_epoch, "train_loss": math.exp(-5 * e / epoch[-1]) + 0.05,
         "valid_loss": math.exp(-5 * e / epoch[-1]) + 0.08, "train_acc": 1 - math.exp(-3 * e / epoch[-1]),
         "valid_acc": 0.95 - math.exp(-3 * e / epoch[-1])}
        for e in range(1, steps // steps_per_epoch + 1)
    ]
    history = History()
    history.load_state_dict({
        "columns": {name: torch.as_tensor(np.asarray(columns[name], dtype=dtype)) for name, dtype in STEP_COLUMNS.items()},
        "epochs": epochs,
    })
    return history


def naive_loss_frame(history: History) -> bytes:
    """What a notebook loop usually does: a new figure with every point, then savefig."""
    figure = Figure(figsize=(8.0, 3.2), dpi=80)
    FigureCanvasAgg(figure)
    loss_ax, metric_ax = figure.subplots(1, 2, width_ratios=[3, 2])
    steps, losses = history.step_column("step"), history.step_column("loss")
    smoothed = np.convolve(losses, np.ones(20) / 20, mode="same")
    loss_ax.plot(steps, losses, alpha=0.3)
    loss_ax.plot(steps, smoothed)
    ends = history.epoch_column("step")
    loss_ax.plot(ends, history.epoch_column("train_loss"), "o-")
    loss_ax.plot(ends, history.epoch_column("valid_loss"), "s--")
    loss_ax.legend(["loss (step)", "smoothed", "train (epoch)", "valid (epoch)"])
    metric_ax.plot(ends, history.epoch_column("train_acc"), "o-")
    metric_ax.plot(ends, history.epoch_column("valid_acc"), "s--")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_curve_section(frames: int, naive_frames: int) -> list[list[object]]:
    """LossCurve frame (one new step logged, then update + PNG) at 1,000 and 1,000,000 steps."""
    rows = []
    for steps in (1_000, 1_000_000):
        history = filled_history(steps)
        curve = LossCurve(history=history)
        curve.redraw()  # first frame: smoothing and decimation state built once
        counter = iter(range(steps + 1, steps + 1 + 10 * frames))

        def frame() -> None:
            history.log_step(next(counter), 0.1, epoch=steps // 100 + 1)
            curve.redraw()

        wall, cpu = frame_times(frame, frames)
        ours = median(wall) * 1000
        naive = median(repeat(lambda: naive_loss_frame(history), naive_frames)) * 1000
        rows.append(["LossCurve", f"{steps:,} steps", ours, median(cpu) * 1000, 10.0, naive, naive / ours])
        curve.close()
    return rows


def spiral_mlp() -> nn.Module:
    """The lessons' spiral classifier, 2-64-64-64-2."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))


def naive_boundary_frame(model: nn.Module, x: torch.Tensor, y: torch.Tensor, resolution: int) -> bytes:
    """A new figure, the grid through the model, contourf of p(class 1), scatter, savefig."""
    low, high = x.min(0).values - 0.2, x.max(0).values + 0.2
    xs, ys = torch.linspace(low[0], high[0], resolution), torch.linspace(low[1], high[1], resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(torch.stack([gx.ravel(), gy.ravel()], 1)), 1)[:, 1].reshape(resolution, resolution)
    model.train()
    figure = Figure(figsize=(4.4, 4.4), dpi=80)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.contourf(gx.numpy(), gy.numpy(), p.numpy(), levels=20, cmap="RdBu_r")
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", s=12, edgecolors="white")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def boundary_section(frames: int, naive_frames: int) -> list[list[object]]:
    """DecisionBoundary frame at 100 x 100 with the spiral MLP, forward pass included."""
    x, y = spirals(500, sd=0.05, seed=0)
    model = spiral_mlp()
    boundary = DecisionBoundary(model, x, y, resolution=100)
    wall, cpu = frame_times(boundary.redraw, frames)
    ours = median(wall) * 1000
    naive = median(repeat(lambda: naive_boundary_frame(model, x, y, 100), naive_frames)) * 1000
    epoch = iter(range(1, 10 * frames))
    kept_wall, kept_cpu = frame_times(lambda: boundary.store_epoch(next(epoch)), frames)
    replica = ModelReplica(model, keep=boundary.keep)
    weights_wall, weights_cpu = frame_times(replica.capture, frames)
    boundary.close()
    return [
        ["DecisionBoundary", "100 x 100, 2-64-64-64-2, 500 points", ours, median(cpu) * 1000, 30.0, naive, naive / ours],
        ["DecisionBoundary", f"epoch evaluated when kept, {boundary.stored_resolution} x {boundary.stored_resolution}",
         median(kept_wall) * 1000, median(kept_cpu) * 1000, 1.0, "-", "-"],
        ["DecisionBoundary", "epoch kept as weights (evaluated when shown)",
         median(weights_wall) * 1000, median(weights_cpu) * 1000, 1.0, "-", "-"],
    ]


def mnist_mlp() -> nn.Module:
    """The MNIST lesson's perceptron, 784-128-64-10 (109,386 parameters)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def mnist_shaped_trainer(samples: int, optimizer: str = "adam") -> Trainer:
    """A Trainer of the 784-128-64-10 MLP on random MNIST-shaped data in batches of 64."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(samples, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (samples,), generator=generator)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=generator)
    model = mnist_mlp()
    if optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    return Trainer(model, nn.CrossEntropyLoss(), opt, loader, device=None, verbose=False)


class TimedInspector(ModuleInspector):
    """A ModuleInspector noting the wall and CPU seconds of its live work per step (copy after backward, frame after step)."""

    def __init__(self, *args, **kwargs) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._at_backward = (0.0, 0.0)
        super().__init__(*args, **kwargs)

    def _on_backward(self, payload: dict) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        super()._on_backward(payload)
        self._at_backward = (time.perf_counter() - wall, time.process_time() - cpu)

    def on_step(self, record: dict) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        super().on_step(record)
        self.wall.append(self._at_backward[0] + time.perf_counter() - wall)
        self.cpu.append(self._at_backward[1] + time.process_time() - cpu)


def naive_inspector_frame(model: nn.Module, name: str) -> bytes:
    """The usual notebook way: per-parameter numbers, then a new figure with two histograms and savefig."""
    numbers = [(p.mean().item(), p.std().item(), p.grad.norm().item()) for p in model.parameters()]
    param = dict(model.named_parameters())[name]
    figure = Figure(figsize=(6.4, 2.2), dpi=100)
    FigureCanvasAgg(figure)
    values_ax, grads_ax = figure.subplots(1, 2)
    values_ax.hist(param.detach().numpy().ravel(), bins=40)
    grads_ax.hist(param.grad.numpy().ravel(), bins=40)
    values_ax.set_title(f"{name} values ({len(numbers)} tensors)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def inspector_section(frames: int, naive_frames: int) -> list[list[object]]:
    """ModuleInspector live frame for 784-128-64-10: parameter copy after backward, stats, tables, histograms, PNG."""
    warmup = 5  # the first frames lay out the axes
    trainer = mnist_shaped_trainer(64 * (frames + warmup), optimizer="sgd")
    every_step = FrameClock(max_fps=1e6, budget=1.0, burst=1e6)
    inspector = TimedInspector(trainer, clock=every_step, parameter="1.weight")
    trainer.fit(1)
    ours, ours_cpu = median(inspector.wall[warmup:]) * 1000, median(inspector.cpu[warmup:]) * 1000
    naive = median(repeat(lambda: naive_inspector_frame(trainer.model, "1.weight"), naive_frames)) * 1000
    inspector.close()
    return [["ModuleInspector", "784-128-64-10, live frame", ours, ours_cpu, 20.0, naive, naive / ours]]


OVERHEAD_HEADER = ["case", "runs", "median s", "CPU median s", "steps/s", "wall / bare", "CPU / bare", "target"]


def dashboard_overhead_section(rounds: int, samples: int, min_seconds: float) -> list[list[object]]:
    """Training the 784-128-64-10 MLP (Adam, batches of 64) with and without a Dashboard, alternating runs.

    Each run lasts at least `min_seconds` (whole epochs, counted from a first
    untimed run). The Dashboard is built before the timer starts and closed
    after it stops: what is measured is what it costs while training runs.
    """
    trainer = mnist_shaped_trainer(samples)
    epochs = max(1, math.ceil(min_seconds / time_call(lambda: trainer.fit(1))))
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "dashboard": []}
    for round_ in range(rounds + 1):  # round 0 warms up and is not kept
        for case in ("bare", "dashboard"):
            trainer.reset()
            dashboard = Dashboard(trainer) if case == "dashboard" else None
            wall, cpu = time.perf_counter(), time.process_time()
            trainer.fit(epochs)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if dashboard is not None:
                dashboard.close()
            if round_:
                times[case].append((wall, cpu))
    steps = epochs * trainer.steps_per_epoch
    bare_wall, bare_cpu = median([w for w, _ in times["bare"]]), median([c for _, c in times["bare"]])
    dash_wall, dash_cpu = median([w for w, _ in times["dashboard"]]), median([c for _, c in times["dashboard"]])
    return [
        [f"bare fit({epochs})", rounds, bare_wall, bare_cpu, steps / bare_wall, 1.0, 1.0, ""],
        [f"with Dashboard fit({epochs})", rounds, dash_wall, dash_cpu, steps / dash_wall,
         dash_wall / bare_wall, dash_cpu / bare_cpu, 1.05],
    ]


LATENCY_HEADER = ["presses", "press to paused, median ms", "max ms", "target ms", "steps after the press (median)",
                  "step median ms"]


def pause_latency_section(presses: int) -> list[list[object]]:
    """Pause pressed from another thread while play() runs on an event loop: time until the trainer is paused.

    The trainer reports "paused" after the last step the run takes, so this
    bounds the time from the press to that last step.
    """
    trainer = mnist_shaped_trainer(64 * 5000)
    step_ends: list[float] = []
    paused_at: list[float] = []
    trainer.on("step", lambda record: step_ends.append(time.perf_counter()))
    trainer.on("state", lambda change: paused_at.append(time.perf_counter()) if change["state"] == "paused" else None)
    latencies: list[float] = []
    steps_after: list[int] = []
    durations: list[float] = []
    rng = random.Random(0)

    async def run() -> None:
        controls = TrainerControls(trainer)
        for _ in range(presses):
            step_ends.clear()
            controls.play_button.value = True
            await asyncio.sleep(0.05)
            pressed: list[float] = []

            def press() -> None:
                time.sleep(rng.uniform(0.02, 0.08))
                pressed.append(time.perf_counter())
                controls.play_button.value = False

            thread = threading.Thread(target=press)
            thread.start()
            while trainer.is_playing:
                await asyncio.sleep(0)
            thread.join()
            steps_after.append(sum(1 for t in step_ends if t > pressed[0]))
            latencies.append(paused_at[-1] - pressed[0])
            durations.extend(b - a for a, b in zip(step_ends, step_ends[1:]))
        controls.close()

    asyncio.run(run())
    return [[presses, median(latencies) * 1000, max(latencies) * 1000, 100.0, median(steps_after), median(durations) * 1000]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames per measurement")
    quick = parser.parse_args().quick
    torch.set_num_threads(1)
    frames, naive_frames = (15, 3) if quick else (60, 7)
    rows = loss_curve_section(frames, naive_frames) + boundary_section(frames, naive_frames)
    rows += inspector_section(frames, naive_frames)
    print_table("Live views (frames: median of consecutive frames, PNG encoding included)", HEADER, rows)
    rounds, samples, min_seconds = (1, 20_000, 3.0) if quick else (3, 60_000, 10.0)
    print_table(
        "Dashboard overhead (alternating runs; controls, loss curve and module inspector on one clock)",
        OVERHEAD_HEADER,
        dashboard_overhead_section(rounds, samples, min_seconds),
    )
    print_table(
        "Dashboard with a decision boundary: the README's spirals, fit(150) (alternating runs)",
        README_HEADER,
        readme_overhead(2 if quick else 5),
    )
    print_table(
        "Pause latency (play() on an event loop, Pause pressed from another thread)",
        LATENCY_HEADER,
        pause_latency_section(5 if quick else 15),
    )


if __name__ == "__main__":
    main()
