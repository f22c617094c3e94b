"""LossCurve: training loss per step (raw and smoothed), per epoch, and the metrics, drawn live.

Follows a Trainer through its events, or is fed by hand from a loop
(`curve.log(step, loss)`, `curve.log_epoch(epoch, ...)`, then `curve.flush()`).
The data lives in a `widgets.history.History` (the trainer's, or one of its own).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import ipywidgets as ipw
import numpy as np

from ..training.history import History
from .axes import covers, nice_ceiling, nice_limits
from .base import View, check_trainer
from .clock import FrameClock, check_clock
from .frame import Frame

X_AXES = ("steps", "epochs")
_EPOCH_BOOKKEEPING = ("epoch", "step", "time", "train_loss", "valid_loss")
_MAX_EPOCH_MARKERS = 100


class Decimator:
    """Which rows of a growing column to draw: min/max per run of rows, kept incrementally.

    Runs hold `per_run` rows, a power of two chosen so that there are at most
    `runs` of them; the result keeps the first and the last row exactly, the
    min and the max of every run (hence the global extremes) in their order,
    so at most 2 * runs + 4 rows. Non-finite values are chosen as extremes
    only where a run holds nothing else. Finished runs are remembered: a
    frame costs the rows added since the last one plus the number of runs,
    the same at a thousand rows and at a million.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every run."""
        self.per_run = 0
        self._lows = np.empty(0, dtype=np.int64)
        self._highs = np.empty(0, dtype=np.int64)
        self._first = math.nan
        self._covered = 0  # rows in finished runs
        self._last_covered = math.nan

    def rows(self, y: np.ndarray, runs: int) -> np.ndarray:
        """Indices into `y` (this column grown, or a new one) of the rows to draw, at most ~`runs` runs."""
        runs = int(runs)
        if runs < 1:
            raise ValueError(f"the decimation needs at least one run, got {runs}")
        n = len(y)
        if n <= 2 * runs + 2:
            return np.arange(n)
        if (
            n < self._covered
            or not _same(float(y[0]), self._first)
            or (self._covered and not _same(float(y[self._covered - 1]), self._last_covered))
        ):
            self.reset()
        per_run = 1 << max(0, math.ceil(math.log2(n / runs)))
        if self.per_run and per_run < self.per_run:
            self.reset()  # fewer rows per run asked (a wider axis): start over
        if not self.per_run:
            self.per_run = per_run
            self._first = float(y[0])
        while self.per_run < per_run:
            self._merge_pairs(y)
        self._add_runs(y)
        tail = y[self._covered :]
        extra = np.empty(0, dtype=np.int64)
        if len(tail):
            extra = np.unique([_arg_low(tail), _arg_high(tail)]) + self._covered
        pairs = np.sort(np.stack([self._lows, self._highs], axis=1), axis=1).ravel()
        picks = np.concatenate([[0], pairs, extra, [n - 1]]).astype(np.int64)
        keep = np.ones(len(picks), dtype=bool)
        keep[1:] = picks[1:] != picks[:-1]
        return picks[keep]

    def _add_runs(self, y: np.ndarray) -> None:
        count = (len(y) - self._covered) // self.per_run
        if count <= 0:
            return
        body = np.asarray(y[self._covered : self._covered + count * self.per_run]).reshape(count, self.per_run)
        offsets = self._covered + np.arange(count) * self.per_run
        finite = np.isfinite(body)
        if finite.all():
            lows, highs = body.argmin(axis=1), body.argmax(axis=1)
        else:
            lows = np.where(finite, body, np.inf).argmin(axis=1)
            highs = np.where(finite, body, -np.inf).argmax(axis=1)
        self._lows = np.concatenate([self._lows, lows + offsets])
        self._highs = np.concatenate([self._highs, highs + offsets])
        self._covered += count * self.per_run
        self._last_covered = float(y[self._covered - 1])

    def _merge_pairs(self, y: np.ndarray) -> None:
        """Double the rows per run: each new run's extremes are the better of two old ones."""
        pairs = len(self._lows) // 2
        lows, highs = self._lows[: 2 * pairs].reshape(pairs, 2), self._highs[: 2 * pairs].reshape(pairs, 2)
        low_values = _ranked(y[lows], np.inf)
        high_values = _ranked(y[highs], -np.inf)
        self._lows = np.where(low_values[:, 1] < low_values[:, 0], lows[:, 1], lows[:, 0])
        self._highs = np.where(high_values[:, 1] > high_values[:, 0], highs[:, 1], highs[:, 0])
        self.per_run *= 2
        self._covered = pairs * self.per_run
        self._last_covered = float(y[self._covered - 1]) if self._covered else math.nan


def decimate(y: np.ndarray, runs: int) -> np.ndarray:
    """Indices of the rows of `y` to draw: first, last, and each run's min and max (see `Decimator`)."""
    return Decimator().rows(y, runs)


def _ranked(values: np.ndarray, missing: float) -> np.ndarray:
    return np.where(np.isfinite(values), values, missing)


def _arg_low(values: np.ndarray) -> int:
    return int(_ranked(values, np.inf).argmin())


def _arg_high(values: np.ndarray) -> int:
    return int(_ranked(values, -np.inf).argmax())


class StepSeries:
    """A growing loss column's debiased exponential moving average and running extremes, kept incrementally.

    `update(values)` extends the state with the rows added since the last
    call (recomputing from scratch when the column shrank or was replaced)
    and returns the smoothed column. Non-finite losses hold the average.
    """

    def __init__(self, smoothing: float) -> None:
        self.smoothing = smoothing
        self.reset()

    def reset(self) -> None:
        """Forget every row."""
        self.count = 0
        self.low = math.inf
        self.high = -math.inf
        self.low_positive = math.inf
        self._state = 0.0  # EMA before debiasing
        self._weight = 0  # finite rows folded in so far
        self._last_raw = math.nan
        self._last_finite = math.nan
        self._smoothed = np.empty(0)

    def update(self, values: np.ndarray) -> np.ndarray:
        """The smoothed column for `values`, which should be this column grown (or a new one)."""
        n = len(values)
        if n < self.count or (self.count and not _same(values[self.count - 1], self._last_raw)):
            self.reset()
        if n > self.count:
            new = np.asarray(values[self.count :], dtype=np.float64)
            self._fold(new)
            self._last_raw = float(values[n - 1])
            self.count = n
        return self._smoothed[:n]

    def _fold(self, new: np.ndarray) -> None:
        finite = np.isfinite(new)
        if finite.any():
            kept = new[finite]
            self.low = min(self.low, float(kept.min()))
            self.high = max(self.high, float(kept.max()))
            positive = kept[kept > 0]
            if len(positive):
                self.low_positive = min(self.low_positive, float(positive.min()))
        filled = _forward_fill(new, finite, self._last_finite)
        if finite.any():
            self._last_finite = float(new[finite][-1])
        out = np.full(len(new), np.nan)
        start = int(np.argmax(~np.isnan(filled))) if not np.isnan(filled).all() else len(new)
        a = self.smoothing
        chunk = len(new) if a == 0 else max(1, int(13.8 / -math.log(a)))  # a**-chunk stays below 1e6
        for begin in range(start, len(new), chunk):
            part = filled[begin : begin + chunk]
            k = np.arange(1, len(part) + 1)
            if a == 0:
                out[begin : begin + len(part)] = part
                continue
            decay = a**k
            states = decay * (self._state + np.cumsum((1 - a) * part / decay))
            weights = self._weight + k
            out[begin : begin + len(part)] = states / (1 - a**weights)
            self._state = float(states[-1])
            self._weight = int(weights[-1])
        needed = self.count + len(new)
        if needed > len(self._smoothed):  # capacity doubles: appending costs the new rows, not the whole column
            grown = np.empty(max(needed, 2 * len(self._smoothed), 1024))
            grown[: self.count] = self._smoothed[: self.count]
            self._smoothed = grown
        self._smoothed[self.count : needed] = out


class EpochTable:
    """Epoch records as growing float columns (NaN where a record lacks a key), extended incrementally.

    `update(records)` reads only the records added since the last call; a new
    list (a cleared or reloaded history) starts over. Every column's finite
    min and max are kept as rows arrive.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every record."""
        self.count = 0
        self.low: dict[str, float] = {}
        self.high: dict[str, float] = {}
        self._records: list | None = None
        self._columns: dict[str, np.ndarray] = {}

    def update(self, records: list) -> None:
        """Take in the records appended since the last call."""
        if records is not self._records or len(records) < self.count:
            self.reset()
            self._records = records
        for index in range(self.count, len(records)):
            for key, value in records[index].items():
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                self._slot(key, index + 1)[index] = number
                if math.isfinite(number):
                    self.low[key] = min(self.low.get(key, math.inf), number)
                    self.high[key] = max(self.high.get(key, -math.inf), number)
        self.count = len(records)

    def _slot(self, key: str, needed: int) -> np.ndarray:
        column = self._columns.get(key)
        if column is None or len(column) < needed:
            grown = np.full(max(needed, 2 * (0 if column is None else len(column)), 64), np.nan)
            if column is not None:
                grown[: len(column)] = column
            self._columns[key] = column = grown
        return column

    def keys(self) -> list[str]:
        """Every key seen, in order of first appearance."""
        return list(self._columns)

    def column(self, key: str) -> np.ndarray:
        """One key over the epochs (NaN where absent); all NaN for a key never seen."""
        column = self._columns.get(key)
        if column is None:
            return np.full(self.count, np.nan)
        if len(column) < self.count:
            column = self._slot(key, self.count)
        return column[: self.count]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _forward_fill(values: np.ndarray, finite: np.ndarray, previous: float) -> np.ndarray:
    if finite.all():
        return values
    index = np.where(finite, np.arange(len(values)), -1)
    np.maximum.accumulate(index, out=index)
    padded = np.concatenate([[previous], values])
    return padded[index + 1]


def _number(name: str, value: Any) -> float:
    """A plain float from a number or a one-element tensor/array, or a TypeError naming `name`."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: getattr(value, "size", 1))() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number (or a one-element tensor), got {type(value).__name__}")
    return float(value)


def _split_metric(key: str) -> tuple[str, str]:
    """("acc", "train") for "train_acc", ("acc", "valid") for "valid_acc", ("acc", "") for "acc"."""
    for split in ("train", "valid"):
        if key.startswith(split + "_"):
            return key[len(split) + 1 :], split
    return key, ""


class LossCurve(View):
    """Live loss curve: per-step loss (faint raw line and smoothed line), per-epoch train and
    validation loss (markers), the metrics on a panel of their own, a log-scale toggle and
    steps or epochs on x.

    `LossCurve(trainer)` follows a Trainer; `LossCurve()` is fed by hand with
    `log(step, loss)` and `log_epoch(epoch, train_loss=..., valid_loss=..., acc=...)`;
    `LossCurve(history=h)` draws (and goes on logging into) an existing History.
    `smoothing` is the moving average's decay in [0, 1) (0: no smoothing).
    """

    def __init__(
        self,
        trainer: Any = None,
        *,
        history: History | None = None,
        smoothing: float = 0.9,
        log_scale: bool = False,
        x_axis: str = "steps",
        clock: FrameClock | None = None,
        figsize: tuple[float, float] = (8.0, 3.2),
        dpi: int = 80,
    ) -> None:
        if trainer is not None:
            check_trainer(trainer, "LossCurve")
        check_clock(clock)
        if isinstance(smoothing, bool) or not isinstance(smoothing, Real) or not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
        if history is not None and (trainer is not None or not isinstance(history, History)):
            raise TypeError("history must be a widgets.history.History, given only without a trainer (a trainer brings its own)")
        if x_axis not in X_AXES:
            raise ValueError(f"x_axis must be one of {X_AXES}, got {x_axis!r}")
        if not isinstance(log_scale, bool):
            raise TypeError(f"log_scale must be True or False, got {type(log_scale).__name__}")
        self.trainer = trainer
        self.history: History = trainer.history if trainer is not None else history if history is not None else History()
        self.frame = Frame(figsize=figsize, dpi=dpi)
        self.log_toggle = ipw.ToggleButton(value=log_scale, description="log scale", tooltip="log scale on the loss axis")
        self.x_toggle = ipw.ToggleButtons(options=list(X_AXES), value=x_axis, tooltip="what x counts")
        self.log_toggle.add_class("lt-loss-curve-log")
        self.x_toggle.add_class("lt-loss-curve-x")
        widget = ipw.VBox([ipw.HBox([self.x_toggle, self.log_toggle]), self.frame.image])
        super().__init__(widget, "loss-curve", clock)
        self._series = StepSeries(float(smoothing))
        self._decimator = Decimator()
        self._epochs = EpochTable()
        self._epoch_decimators: dict[str, Decimator] = {}
        self._layout: tuple | None = None
        self._limits: dict[str, tuple[float, float]] = {}
        self.log_toggle.observe(self._on_option, names="value")
        self.x_toggle.observe(self._on_option, names="value")
        if trainer is not None:
            self.follow(trainer)
        self.draw_first_frame()

    # --- options ---------------------------------------------------------------------
    @property
    def log_scale(self) -> bool:
        """Is the loss axis logarithmic (the toggle's value)?"""
        return bool(self.log_toggle.value)

    @property
    def x_axis(self) -> str:
        """"steps" or "epochs" (the toggle's value)."""
        return str(self.x_toggle.value)

    def _on_option(self, change: dict) -> None:
        with self._draw_lock:
            self._limits = {}
        self.request_frame("final")

    # --- feeding by hand ---------------------------------------------------------------
    def log(self, step: int, loss: Any, epoch: int | None = None) -> None:
        """Record one step's loss (a number or a one-element tensor) and draw if the clock allows."""
        self._check_by_hand("log")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        value = _number("loss", loss)
        steps = self.history.steps("step")
        if len(steps) and step <= steps[-1]:
            raise ValueError(f"steps must increase: got step {step} after step {int(steps[-1])}")
        if epoch is None:
            epoch = len(self.history.epochs) + 1
        elif isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise TypeError(f"epoch must be a non-negative int or None, got {epoch!r}")
        self.history.log_step(int(step), value, epoch=int(epoch))
        self.request_frame("step")

    def log_epoch(self, epoch: int, train_loss: Any = None, valid_loss: Any = None, **metrics: Any) -> None:
        """Record one epoch's losses and metrics (`acc=...`, `valid_acc=...`) and draw its frame."""
        self._check_by_hand("log_epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
            raise TypeError(f"epoch must be an int counted from 1, got {epoch!r}")
        record: dict[str, float] = {"epoch": int(epoch)}
        steps = self.history.steps("step")
        record["step"] = int(steps[-1]) if len(steps) else 0
        for name, value in (("train_loss", train_loss), ("valid_loss", valid_loss), *metrics.items()):
            if value is not None:
                record[name] = _number(name, value)
        self.history.log_epoch(record)
        self.request_frame("epoch")

    def clear(self) -> None:
        """Forget everything logged by hand and draw the empty curve."""
        self._check_by_hand("clear")
        self.history.clear()
        self._forget()
        self.request_frame("final")

    def _check_by_hand(self, what: str) -> None:
        if self.trainer is not None:
            raise RuntimeError(f"this LossCurve follows a trainer, which logs every step itself; {what}() is for a LossCurve() fed by hand")

    # --- trainer events ----------------------------------------------------------------
    def on_reset(self, payload: dict) -> None:
        self._forget()
        super().on_reset(payload)

    def _forget(self) -> None:
        self._series.reset()
        self._decimator.reset()
        self._epochs.reset()
        self._epoch_decimators = {}
        self._limits = {}

    # --- drawing -------------------------------------------------------------------------
    def _metric_series(self, keys: list[str]) -> list[tuple[str, str, str]]:
        """(key, metric name, split) for every metric column, the trainer's metrics first."""
        ordered = []
        if self.trainer is not None:
            for name in getattr(self.trainer, "metric_names", None) or []:
                ordered.append(f"train_{name}")
                if getattr(self.trainer, "valid_loader", None) is not None:
                    ordered.append(f"valid_{name}")
        ordered += [key for key in keys if key not in _EPOCH_BOOKKEEPING and key not in ordered]
        return [(key, *_split_metric(key)) for key in ordered]

    def _build(self, metrics: list[tuple[str, str, str]], show_valid: bool) -> None:
        """Lay out the axes and line artists (only when the set of series changes)."""
        figure = self.frame.figure
        figure.clear()
        self.frame.forget_artists()
        if metrics:
            grid = figure.add_gridspec(1, 2, width_ratios=[3, 2], wspace=0.25, left=0.085, right=0.98, top=0.95, bottom=0.15)
            self._loss_ax = figure.add_subplot(grid[0])
            self._metric_ax = figure.add_subplot(grid[1])
        else:
            grid = figure.add_gridspec(1, 1, left=0.085, right=0.98, top=0.95, bottom=0.15)
            self._loss_ax = figure.add_subplot(grid[0])
            self._metric_ax = None
        ax = self._loss_ax
        ax.set_ylabel("loss")
        ax.grid(True, alpha=0.3)
        (self._raw,) = ax.plot([], [], color="C0", alpha=0.3, linewidth=0.8, label="loss (step)")
        (self._smooth,) = ax.plot([], [], color="C0", linewidth=1.6, label="smoothed")
        (self._train_epoch,) = ax.plot([], [], "o-", color="C1", markersize=4, linewidth=1, label="train (epoch)")
        self.frame.animate(self._raw, self._smooth, self._train_epoch)
        self._valid_epoch = None
        if show_valid:
            (self._valid_epoch,) = ax.plot([], [], "s--", color="C2", markersize=4, linewidth=1, label="valid (epoch)")
            self.frame.animate(self._valid_epoch)
        ax.legend(loc="upper right", fontsize=8)
        self._metric_lines = {}
        if self._metric_ax is not None:
            names = list(dict.fromkeys(name for _, name, _ in metrics))
            for key, name, split in metrics:
                color = f"C{(3 + names.index(name)) % 10}"
                style = "s--" if split == "valid" else "o-"
                label = f"{split} {name}".strip()
                (line,) = self._metric_ax.plot([], [], style, color=color, markersize=4, linewidth=1, label=label)
                self._metric_lines[key] = line
                self.frame.animate(line)
            self._metric_ax.set_ylabel("metric")
            self._metric_ax.grid(True, alpha=0.3)
            self._metric_ax.legend(loc="lower right", fontsize=8)
        self._limits = {}
        self._placeholder_y = False

    def draw(self) -> None:
        history = self.history
        steps = history.steps("step")
        loss = history.steps("loss")
        smoothed = self._series.update(loss)
        epochs = self._epochs
        epochs.update(history.epochs)
        metrics = self._metric_series(epochs.keys())
        show_valid = "valid_loss" in epochs.low or getattr(self.trainer, "valid_loader", None) is not None
        layout = (tuple(metrics), show_valid)
        if layout != self._layout:
            self._build(metrics, show_valid)
            self._layout = layout
        by_epoch = self.x_axis == "epochs"
        epoch_ends = epochs.column("step")
        epoch_x = epochs.column("epoch") if by_epoch else epoch_ends

        # Limits: changed only when the data leaves them, so the background is redrawn rarely.
        changed = self._set_x_limits(steps, epoch_x, epoch_ends, by_epoch)
        changed |= self._set_loss_limits()
        changed |= self._set_metric_limits(metrics)
        if changed or self.frame.needs_background:
            self.frame.draw_background()

        # Long series are decimated to one to two runs (two to four rows) per pixel column they span.
        width = self._loss_ax.get_window_extent().width
        x_lo, x_hi = self._limits["x"]
        if len(steps):
            first, last = self._step_x(steps[[0, -1]].astype(np.float64), epoch_ends, steps, by_epoch)
            span = max(last - first, 0.0) / max(x_hi - x_lo, 1e-12)
            rows = self._decimator.rows(loss, max(1, int(width * span)))
            x = self._step_x(steps[rows].astype(np.float64), epoch_ends, steps, by_epoch)
            self._raw.set_data(x, loss[rows])
            self._smooth.set_data(x, smoothed[rows])
        else:
            self._raw.set_data([], [])
            self._smooth.set_data([], [])
        runs = max(1, int(width * (epoch_x[-1] if len(epoch_x) and np.isfinite(epoch_x[-1]) else 0) / max(x_hi - x_lo, 1e-12)))
        lines = {"train_loss": self._train_epoch, "valid_loss": self._valid_epoch, **self._metric_lines}
        for key, line in lines.items():
            if line is None:
                continue
            values = epochs.column(key)
            decimator = self._epoch_decimators.setdefault(key, Decimator())
            rows = decimator.rows(values, runs) if len(values) else np.arange(0)
            line.set_data(epoch_x[rows], values[rows])
            line.set_markevery(max(1, len(rows) // _MAX_EPOCH_MARKERS))
        self.frame.blit()

    def _step_x(self, values: np.ndarray, epoch_ends: np.ndarray, steps: np.ndarray, by_epoch: bool) -> np.ndarray:
        """x of the given step numbers: the steps themselves, or fractional epochs."""
        if not by_epoch:
            return values
        ends = np.concatenate([[0.0], epoch_ends[np.isfinite(epoch_ends)]])
        completed = len(ends) - 1
        x = np.interp(values, ends, np.arange(completed + 1, dtype=np.float64))
        beyond = values > ends[-1]
        if beyond.any():
            per_epoch = getattr(self.trainer, "steps_per_epoch", None)
            if not per_epoch:
                per_epoch = ends[-1] - ends[-2] if completed else max(float(steps[-1]) - ends[-1], 1.0)
            x[beyond] = completed + (values[beyond] - ends[-1]) / per_epoch
        return x

    def _set_x_limits(self, steps: np.ndarray, epoch_x: np.ndarray, epoch_ends: np.ndarray, by_epoch: bool) -> bool:
        high = float(epoch_x[-1]) if len(epoch_x) and math.isfinite(epoch_x[-1]) else 0.0  # epochs only grow
        if len(steps):
            high = max(high, float(self._step_x(np.array([float(steps[-1])]), epoch_ends, steps, by_epoch)[0]))
        high = max(high, 1e-9)
        if covers(self._limits.get("x"), 0.0, high):
            return False
        limits = (0.0, nice_ceiling(high) if high > 1e-9 else 1.0)
        self._limits["x"] = limits
        for ax in (self._loss_ax, self._metric_ax):
            if ax is not None:
                ax.set_xlim(*limits)
                ax.set_xlabel("epoch" if by_epoch else "step")
        return True

    def _set_loss_limits(self) -> bool:
        log = self.log_scale
        low = self._series.low_positive if log else self._series.low
        high = self._series.high
        for key in ("train_loss", "valid_loss"):
            if key in self._epochs.high:
                epoch_low = self._epochs.low[key]
                if not log or epoch_low > 0:
                    low = min(low, epoch_low)
                high = max(high, self._epochs.high[key])
        scale = "log" if log else "linear"
        if not (math.isfinite(low) and math.isfinite(high)) or (log and high <= 0):
            # No data yet: placeholder limits, not kept, so the first losses choose their own scale.
            changed = self._loss_ax.get_yscale() != scale or "y" in self._limits or not self._placeholder_y
            self._loss_ax.set_yscale(scale)
            self._loss_ax.set_ylim(*((0.1, 1.0) if log else (0.0, 1.0)))
            self._limits.pop("y", None)
            self._placeholder_y = True
            return changed
        self._placeholder_y = False
        if self._loss_ax.get_yscale() == scale and covers(self._limits.get("y"), low, high):
            return False
        if not log and 0 <= low < 0.25 * high:
            low = 0.0  # losses: start the axis at 0 when the data comes close to it
        limits = nice_limits(low, high, log=log)
        self._loss_ax.set_yscale(scale)
        self._loss_ax.set_ylim(*limits)
        self._limits["y"] = limits
        return True

    def _set_metric_limits(self, metrics: list[tuple[str, str, str]]) -> bool:
        if self._metric_ax is None:
            return False
        lows = [self._epochs.low[key] for key, _, _ in metrics if key in self._epochs.low]
        highs = [self._epochs.high[key] for key, _, _ in metrics if key in self._epochs.high]
        if not lows:  # no values yet: placeholder limits, not kept
            first = self._metric_ax.get_ylim() != (0.0, 1.0)
            self._metric_ax.set_ylim(0.0, 1.0)
            return first
        low, high = min(lows), max(highs)
        if covers(self._limits.get("metric"), low, high):
            return False
        limits = (0.0, 1.0) if 0 <= low and high <= 1 else nice_limits(low, high)
        self._metric_ax.set_ylim(*limits)
        self._limits["metric"] = limits
        return True

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()
