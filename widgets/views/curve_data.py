"""The numbers a loss curve plots, as plain numpy: no ipywidgets, no matplotlib.

- `Decimator` / `decimate`: which rows of a long column to draw (min and max per
  run of rows), so a frame costs the same at a thousand steps and at a million;
- `StepSeries`: the per-step loss's smoothed column and running extremes;
- `metric_series`, `step_x`, `axis_end`, `loss_limits`, `metric_limits`, `tick_text`:
  which metrics to show, where a step lies on an epoch axis, how far the axes run,
  how a tick reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .axes import nice_limits

X_AXES = ("steps", "epochs")
EPOCH_BOOKKEEPING = ("epoch", "step", "time", "train_loss", "valid_loss")
"""Epoch record keys that are not metrics."""

AXIS_ENDS = (1.0, 1.2, 1.5, 1.8, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0)
"""Mantissas of the x axis ends: each at most 25% above the one before, so little of the axis is empty."""

HEADROOM = 0.02
"""Room kept after the last point (a fraction of it), so the last epoch's marker is not cut at the edge."""


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
        body = np.asarray(y[self._covered : self._covered + count * self.per_run]).reshape(
            count, self.per_run
        )
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
        # capacity doubles: appending costs the new rows, not the whole column
        if needed > len(self._smoothed):
            grown = np.empty(max(needed, 2 * len(self._smoothed), 1024))
            grown[: self.count] = self._smoothed[: self.count]
            self._smoothed = grown
        self._smoothed[self.count : needed] = out


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _forward_fill(values: np.ndarray, finite: np.ndarray, previous: float) -> np.ndarray:
    if finite.all():
        return values
    index = np.where(finite, np.arange(len(values)), -1)
    np.maximum.accumulate(index, out=index)
    padded = np.concatenate([[previous], values])
    return padded[index + 1]


class MetricSeries(NamedTuple):
    """One metric column of the epoch records: its key ("valid_acc"), metric name ("acc") and split
    ("valid")."""

    key: str
    name: str
    split: str


def split_metric(key: str) -> tuple[str, str]:
    """("acc", "train") for "train_acc", ("acc", "valid") for "valid_acc"; a key without a prefix counts
    as training."""
    for split in ("train", "valid"):
        if key.startswith(split + "_"):
            return key[len(split) + 1 :], split
    return key, "train"


def metric_series(
    keys: Sequence[str], metric_names: Sequence[str] = (), has_valid: bool = False
) -> list[MetricSeries]:
    """The metric columns to draw: the trainer's metrics first (train, then valid when it validates), then
    any other key seen."""
    ordered: list[str] = []
    for name in metric_names:
        ordered.append(f"train_{name}")
        if has_valid:
            ordered.append(f"valid_{name}")
    ordered += [key for key in keys if key not in EPOCH_BOOKKEEPING and key not in ordered]
    return [MetricSeries(key, *split_metric(key)) for key in ordered]


def step_x(steps: np.ndarray, epoch_ends: np.ndarray, steps_per_epoch: float | None = None) -> np.ndarray:
    """Fractional epochs of the given step numbers, from the steps at which epochs ended.

    Steps after the last finished epoch are placed with `steps_per_epoch` (the
    trainer's, when known), else the length of the last finished epoch, else as
    if the running epoch ended at the last of `steps`.
    """
    values = np.asarray(steps, dtype=np.float64)
    ends = np.concatenate([[0.0], epoch_ends[np.isfinite(epoch_ends)]])
    completed = len(ends) - 1
    x = np.interp(values, ends, np.arange(completed + 1, dtype=np.float64))
    beyond = values > ends[-1]
    if beyond.any():
        per_epoch = steps_per_epoch
        if not per_epoch:
            per_epoch = ends[-1] - ends[-2] if completed else max(float(values.max()) - ends[-1], 1.0)
        x[beyond] = completed + (values[beyond] - ends[-1]) / per_epoch
    return x


def axis_end(high: float) -> float:
    """Where an axis from 0 ends for data reaching `high`: the next of `AXIS_ENDS` (1, 1.2, 1.5, 1.8, 2, ...
    8) x 10^k.

    The end lies past `high` by `HEADROOM` at least and by 27.5% at most, so the
    empty part stays under 22% of the axis, while the end changes only about
    thirteen times per tenfold growth (each change redraws the background).
    """
    if not (math.isfinite(high) and high > 0):
        raise ValueError(f"axis_end needs a positive finite value, got {high!r}")
    target = high * (1 + HEADROOM)
    power = 10.0 ** math.floor(math.log10(target))
    for mantissa in (*AXIS_ENDS, 10.0):
        end = mantissa * power
        if end >= target * (1 - 1e-12):
            return end
    return 10.0 * power  # not reached: 10 x power is above target


def tick_text(value: float) -> str:
    """A short tick label: "0", "0.5", "250", "2.5k", "120k", "1.5M", so labels stay narrow at a million
    steps."""
    size = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= scale:
            return f"{value / scale:.4g}{suffix}"
    text = f"{value:.4g}"
    return "0" if text in ("0", "-0") else text


def loss_limits(low: float, high: float, log: bool) -> tuple[float, float]:
    """Loss axis limits around [low, high]: from 0 when the data comes near it (linear), whole decades
    (log)."""
    if not log and 0 <= low < 0.25 * high:
        low = 0.0
    return nice_limits(low, high, log=log)


def metric_limits(low: float, high: float) -> tuple[float, float]:
    """Metric axis limits: 0 to 1 for fractions (accuracy), else rounded outwards around [low, high]."""
    return (0.0, 1.0) if low >= 0 and high <= 1 else nice_limits(low, high)
