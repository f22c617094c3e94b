"""Callbacks: behaviour that hooks into a trainer's events.

A callback is any object with some of the methods `on_step(record)`,
`on_epoch(record)`, `on_state(change)`, `on_reset(payload)` and
`on_backward(payload)` (gradients ready, before the optimizer step; a plain
function subscribed with `trainer.on(event, fn)` works too). It may also have
`attach(trainer)`, called once when the trainer takes it, and
`state_dict()` / `load_state_dict(state)`, saved and restored with the
trainer's checkpoints.

The defaults are written the same way: `EpochPrinter` prints fit's epoch lines,
and `EarlyStopping` stops a run whose monitored value stopped improving.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .events import Subscription

HOOKS = {
    "on_step": "step",
    "on_epoch": "epoch",
    "on_state": "state",
    "on_reset": "reset",
    "on_backward": "backward",
}
"""Each callback method and the trainer event it is subscribed to."""

STEP_HOOKS = ("on_before_step",)
"""Callback methods the trainer calls inside the step itself (no event): `on_before_step(payload)`."""

STRICT_HOOKS = ("on_backward",)
"""Hooks that guard a step: when one raises, the step fails and is rolled back (it is not just reported)."""


class Callback:
    """Base class of a callback: override the methods for the events it wants (the others cost nothing).

    - `on_step(record)`: after a step (the step record).
    - `on_epoch(record)`: after an epoch's validation (the epoch record); values set in `record` here
      (`record["valid_f1"] = ...`) are kept in the History and seen by the views (declare their names
      in `columns` so a `monitor=` may name them).
    - `on_state(change)`, `on_reset(payload)`: state changes, resets and loads.
    - `on_backward(payload)`: gradients ready, before the optimizer step; it may change `p.grad` in
      place; an exception it raises fails the step and leaves the weights as they were.
    - `on_before_step(payload)`: just before the optimizer step (after clipping); return False to skip
      that optimizer step (the batch still counts).
    - `attach(trainer)`: called once when the trainer takes the callback.
    - `state_dict()` / `load_state_dict(state)`: when defined, saved in the trainer's checkpoints.
    """

    columns: tuple[str, ...] = ()

    def attach(self, trainer: Any) -> None:
        """Called once, when the trainer takes this callback."""

    def on_step(self, record: dict) -> None:
        """After every step."""

    def on_epoch(self, record: dict) -> None:
        """After every epoch."""

    def on_state(self, change: dict) -> None:
        """When the trainer's state changes."""

    def on_reset(self, payload: dict) -> None:
        """After a reset (`{}`) or a load (`{"loaded": True}`)."""

    def on_backward(self, payload: dict) -> None:
        """Gradients ready, before the optimizer step."""

    def on_before_step(self, payload: dict) -> bool | None:
        """Just before the optimizer step; False skips it."""
        return None


def hooks_of(callback: object, names: tuple[str, ...] | dict) -> dict[str, Any]:
    """The hook methods `callback` defines among `names` (a `Callback`'s inherited no-ops left out)."""
    found = {}
    for name in names:
        hook = getattr(callback, name, None)
        if not callable(hook):
            continue
        if isinstance(callback, Callback) and getattr(type(callback), name, None) is getattr(Callback, name):
            continue
        found[name] = hook
    return found


def attach(trainer: Any, callback: object) -> list[Subscription]:
    """Subscribe every hook `callback` has to `trainer`'s events; returns the subscriptions."""
    hooks = hooks_of(callback, HOOKS)
    if not hooks and not hooks_of(callback, STEP_HOOKS) and not isinstance(callback, Callback):
        raise TypeError(
            f"a callback needs at least one of the methods {sorted([*HOOKS, *STEP_HOOKS])}, got "
            f"{type(callback).__name__}"
        )
    attach = getattr(callback, "attach", None)
    if callable(attach):
        attach(trainer)
    return [trainer.on(HOOKS[name], hook, strict=name in STRICT_HOOKS) for name, hook in hooks.items()]


def format_epoch(record: Mapping[str, Any], metric_names: Sequence[str], total: int | None = None) -> str:
    """One progress line: `Epoch 3/10 | train loss 0.4123 acc 0.8750 | valid loss 0.4410 acc 0.8600 |
    0.4s`."""
    width = len(str(total)) if total else 0
    head = f"Epoch {record['epoch']:>{width}}" + (f"/{total}" if total else "")
    names = ["loss", *metric_names]

    def values(prefix: str) -> str:
        return " ".join(f"{name} {record[prefix + name]:.4f}" for name in names if prefix + name in record)

    parts = [head, "train " + values("train_")]
    if "valid_loss" in record:
        parts.append("valid " + values("valid_"))
    parts.append(f"{record['time']:.1f}s")
    return " | ".join(parts)


class EpochPrinter:
    """Prints one line per epoch, numbered against the target epoch `total` (what `fit` shows)."""

    def __init__(self, metric_names: Sequence[str], total: int | None = None) -> None:
        self.metric_names = list(metric_names)
        self.total = total

    def on_epoch(self, record: Mapping[str, Any]) -> None:
        print(format_epoch(record, self.metric_names, self.total), flush=True)


MODES = ("min", "max")


class EarlyStopping(Callback):
    """Stop `fit` or `play` when `monitor` has not improved for `patience` epochs.

    Improving means moving below the best value by more than `min_delta`
    (`mode="min"`, for losses) or above it (`mode="max"`, for accuracies). The
    run stops at the end of the epoch that used up the patience, and
    `trainer.stop_reason` says so. With `restore_best=True` the model gets the
    weights of its best epoch back when it stops.
    """

    def __init__(self, monitor: str = "valid_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = False) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must name an epoch record column such as 'valid_loss', got {monitor!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative int (epochs), got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be 'min' (for a loss) or 'max' (for an accuracy), got {mode!r}")
        if not isinstance(restore_best, bool):
            raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best = restore_best
        self.trainer: Any = None
        self.clear()

    def clear(self) -> None:
        """Forget the best value seen (a new run)."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def attach(self, trainer: Any) -> None:
        """Watch `trainer` (one trainer per EarlyStopping)."""
        if self.trainer is not None and self.trainer is not trainer:
            raise ValueError("this EarlyStopping already watches another trainer; make one per trainer")
        self.trainer = trainer

    def improved(self, value: float) -> bool:
        """Whether `value` beats the best so far by more than `min_delta`."""
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch(self, record: Mapping[str, Any]) -> None:
        if self.monitor not in record:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the epoch record holds only "
                           f"{sorted(k for k in record if k not in ('epoch', 'step', 'time'))}")
        value = float(record[self.monitor])
        if math.isnan(value):
            return
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, int(record["epoch"]), 0
            if self.restore_best:
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.trainer.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.patience:
            reason = (f"early stopping: {self.monitor} has not improved for {self.wait} epochs "
                      f"(best {self.best:.4g} at epoch {self.best_epoch})")
            if self.restore_best and self.best_weights is not None:
                self.trainer.model.load_state_dict(self.best_weights)
                reason += f"; the weights of epoch {self.best_epoch} are restored"
            self.trainer.request_stop(reason)

    def on_reset(self, payload: Mapping[str, Any]) -> None:
        if not payload.get("loaded"):
            self.clear()

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], int(state["wait"])
        self.best_weights = state["best_weights"]

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta:g}, mode={self.mode!r}, restore_best={self.restore_best})"
        )
