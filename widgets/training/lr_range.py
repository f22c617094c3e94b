"""The learning-rate range test: train a copy of the model while the rate grows geometrically.

`lr_range_test(trainer, start, end, steps)` copies the trainer's model and
optimizer, trains the copy on batches of the trainer's training loader with the
learning rate growing from `start` to `end`, and stops early once the loss
diverges. The trainer itself is left exactly as it was: only copies are
trained, and every random generator the batches and the copy drew from
(torch's CPU and CUDA generators, Python's `random`, numpy's, the loader's
own) is put back afterwards, so the next batch the trainer draws and every
number after it are those of a run that never swept. Plain data only: the plot
lives in `widgets.views.lr_plot`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import nn

from . import rng
from .batch import BatchRunner, loss_number
from .switches import StepSwitches, needs_closure
from .trainer import Trainer

DIVERGE = 4.0
"""The sweep stops once the smoothed loss exceeds this many times its lowest value (for a positive loss; see
`diverged`)."""


@dataclass(frozen=True)
class LRSweep:
    """What a range test recorded: one row per batch trained.

    `lrs` holds the first parameter group's learning rate of each batch,
    `losses` the batch's loss and `smoothed` their debiased moving average.
    `suggestion` is the smaller of the rate where the smoothed loss falls
    fastest per decade of learning rate (see `steepest_descent`, looking only
    up to its lowest point) and a tenth of the rate of the lowest point (see
    `suggest`); None when the loss never fell. `best_lr` is the rate of the lowest smoothed loss. `stopped`
    says why the sweep ended.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float | None
    best_lr: float
    stopped: str
    start: float
    end: float
    steps: int


def lr_range_test(trainer: Any, start: float = 1e-6, end: float = 1.0, steps: int = 100, *,
                  smoothing: float = 0.9, diverge: float = DIVERGE) -> LRSweep:
    """Sweep the learning rate from `start` to `end` geometrically over at most `steps` batches, on copies.

    Refused while the trainer runs. Each parameter group keeps its ratio to the
    first group's rate. The sweep stops early when a loss is not finite or the
    smoothed loss exceeds `diverge` times its lowest value.
    """
    start, end, steps, smoothing, diverge = _check_arguments(trainer, start, end, steps, smoothing, diverge)
    model, optimizer = copy_model_and_optimizer(trainer.model, trainer.optimizer)
    device = trainer.device
    runner = BatchRunner(model, trainer.loss_fn, optimizer, device, trainer.batch_fn)
    # The trainer's precision (autocast, and a GradScaler in "16-mixed"); no clipping or accumulation.
    switches = StepSwitches(optimizer, device, None, 1, trainer.precision, None, ())
    generators = rng.loader_generators(trainer.train_loader)
    saved = rng.capture(generators, cuda=device.type == "cuda")
    ratios = [_lr_value(group) / _lr_value(optimizer.param_groups[0]) for group in optimizer.param_groups]
    lrs = start * (end / start) ** (np.arange(steps) / (steps - 1))
    losses: list[float] = []
    smoothed: list[float] = []
    stopped = f"completed {steps} steps"
    state, best, first = 0.0, math.inf, math.nan
    try:
        model.train()
        for index, batch in zip(range(steps), _endless(trainer.train_loader)):
            for group, ratio in zip(optimizer.param_groups, ratios):
                _set_lr(group, float(lrs[index]) * ratio)
            x, y = runner.inputs(batch)
            with switches.autocast():
                _, loss = runner.output_and_loss(x, y)
            value = loss_number(loss)
            if not math.isfinite(value):
                stopped = f"the loss became {value} at lr {lrs[index]:.3g}"
                break
            optimizer.zero_grad(set_to_none=True)
            switches.backward(loss)
            switches.unscale(optimizer)
            switches.optimizer_step(optimizer, None)
            state = smoothing * state + (1 - smoothing) * value
            losses.append(value)
            smoothed.append(state / (1 - smoothing ** len(losses)))
            best = min(best, smoothed[-1])
            if len(smoothed) == 1:
                first = smoothed[0]
            if diverged(smoothed[-1], best, first, diverge):
                what = f"{diverge:g} times its lowest" if best > 0 else \
                    f"its lowest by {diverge - 1:g} times the loss's scale"
                stopped = f"the smoothed loss passed {what} at lr {lrs[index]:.3g}"
                break
    finally:
        saved.restore(generators)
    if not losses:
        raise FloatingPointError(f"the range test could not train a single batch: {stopped}; "
                                 "check the data, or lower start")
    kept = lrs[: len(losses)]
    values = np.asarray(smoothed)
    return LRSweep(
        lrs=kept,
        losses=np.asarray(losses),
        smoothed=values,
        suggestion=suggest(kept, values),
        best_lr=float(kept[int(np.argmin(values))]),
        stopped=stopped,
        start=start,
        end=end,
        steps=steps,
    )


def diverged(value: float, best: float, first: float, diverge: float) -> bool:
    """Whether a smoothed loss `value` has diverged from the lowest so far, `best`.

    A positive loss diverges above `diverge` times its lowest. A loss that reaches zero or below (a VAE's
    negative log-likelihood, a negated score) has no such ratio: it diverges once it rises above its lowest by
    `diverge - 1` times its scale, the larger of |best| and how far it fell from the first value `first`.
    """
    if best > 0:
        return value > diverge * best
    scale = max(abs(best), first - best)
    return scale > 0 and value - best > (diverge - 1) * scale


def suggest(lrs: np.ndarray, smoothed: np.ndarray) -> float | None:
    """The suggested rate: the steepest fall (`steepest_descent`), but at most a tenth of the lowest point's
    rate.

    The steepest fall alone can sit right at the edge where the loss turns and diverges; a tenth of the
    lowest point's rate stays below that edge. None when the loss never fell.
    """
    steepest = steepest_descent(lrs, smoothed)
    if steepest is None:
        return None
    return float(min(steepest, lrs[int(np.argmin(smoothed))] / 10))


def steepest_descent(lrs: np.ndarray, smoothed: np.ndarray) -> float | None:
    """The rate where `smoothed` falls fastest against log10(lr), up to its lowest point; None when it never
    fell.

    Slopes are taken over spans of a twentieth of the sweep (at least one
    step), so one noisy batch does not decide; the rate returned is the one
    in the middle of the steepest span.
    """
    lowest = int(np.argmin(smoothed))
    span = max(1, len(lrs) // 20)
    if lowest < span or smoothed[lowest] >= smoothed[0]:
        return None
    log_lrs = np.log10(lrs[: lowest + 1])
    values = smoothed[: lowest + 1]
    slopes = (values[span:] - values[:-span]) / (log_lrs[span:] - log_lrs[:-span])
    return float(lrs[int(np.argmin(slopes)) + span // 2])


def copy_model_and_optimizer(
    model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[nn.Module, torch.optim.Optimizer]:
    """Deep copies of `model` and of `optimizer` (its state included) that trains the copy's parameters."""
    twin = copy.deepcopy(model)
    memo: dict[int, Any] = {}
    for original, copied in zip(model.parameters(), twin.parameters(), strict=True):
        memo[id(original)] = copied
    twin_optimizer = copy.deepcopy(optimizer, memo)
    # A learning-rate scheduler wraps `step` on the instance, bound to the original optimizer.
    vars(twin_optimizer).pop("step", None)
    owned = {id(p) for p in twin.parameters()}
    if not all(id(p) in owned for group in twin_optimizer.param_groups for p in group["params"]):
        raise ValueError(
            "the optimizer holds parameters that are not the model's; the range test trains a copy "
            "of the model and needs an optimizer of its parameters only"
        )
    return twin, twin_optimizer


def _endless(loader: Iterable) -> Iterator[Any]:
    """Batches of `loader`, epoch after epoch."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("the training loader yielded no batch; the range test needs at least one")


def _lr_value(group: dict) -> float:
    lr = group["lr"]
    return float(lr.item() if isinstance(lr, torch.Tensor) else lr)


def _set_lr(group: dict, lr: float) -> None:
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(lr)
    else:
        group["lr"] = lr


def _check_arguments(trainer: Any, start: Any, end: Any, steps: Any, smoothing: Any,
                     diverge: Any) -> tuple[float, float, int, float, float]:
    if not isinstance(trainer, Trainer):
        raise TypeError(f"lr_find expects a Trainer, got {type(trainer).__name__}")
    if trainer.state == "running" or trainer.is_playing:
        raise RuntimeError(
            "lr_find cannot run while the trainer trains; pause it (trainer.pause()) or wait for "
            "fit() to end, then run lr_find"
        )
    for name, value in (("start", start), ("end", end)):
        if (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not math.isfinite(value)
            or float(value) <= 0
        ):
            raise ValueError(f"{name} must be a positive finite learning rate, got {value!r}")
    if not end > start:
        raise ValueError(f"end must be larger than start, got start={start!r}, end={end!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an int of at least 2, got {steps!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, Real) or not 0 <= float(smoothing) < 1:
        raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
    if isinstance(diverge, bool) or not isinstance(diverge, Real) or not float(diverge) > 1:
        raise ValueError(
            f"diverge must be a number above 1 (times the lowest smoothed loss), got {diverge!r}"
        )
    if needs_closure(trainer.optimizer):
        raise ValueError(
            f"lr_find trains one optimizer step per batch at a growing rate; "
            f"{type(trainer.optimizer).__name__} searches its own step length with a closure, so there "
            "is no rate to sweep"
        )
    if _lr_value(trainer.optimizer.param_groups[0]) <= 0:
        raise ValueError(
            "the optimizer's first parameter group has a learning rate of 0; the range test scales "
            "every group by its ratio to the first"
        )
    return float(start), float(end), int(steps), float(smoothing), float(diverge)
