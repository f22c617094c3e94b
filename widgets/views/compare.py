"""Compare: several training runs' losses and metrics on one plot drawn in the page, one colour per run.

Each run is a Trainer; the view follows all of them, one after another or
interleaved, on one `Pacer`. Every round it sends each run's new step rows
and epoch records as channels named after the run's place ("run0:step",
"run0:loss", "run0:epoch:valid_loss"); a run whose history was cleared,
loaded or thinned is sent whole again. The runs' names and colours and the
panels (loss first, then each metric every run has) go in the picture's
options. The page (`js/compare.js`) smooths the loss, draws a panel per
metric with a line per run (training solid, validation dashed with square
markers), the legend, the log scale and steps or epochs on x, and reads out
the run and value under the pointer. Stills come from `compare_still`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import ipywidgets as ipw
import numpy as np
import traitlets

from ..training.history import History
from ..training.trainer import Trainer
from .compare_state import CompareState, RunState
from .curve_data import X_AXES, StepSeries, step_x
from .live import LiveView, check_pacer
from .pacer import Pacer
from .picture import Picture

__all__ = ["DEFAULT_SIZE", "MIN_SIZE", "Compare", "CompareState", "RunState", "compare_series", "run_hex"]

DEFAULT_SIZE = (720, 280)
"""Width and height of the picture in CSS pixels."""
MIN_SIZE = (400, 200)
"""The smallest picture in which the panels' labels and the legend still fit."""

SPLITS = ("train", "valid")
# widgets.views.style.run_colours, without importing matplotlib: its eight colours, then tab20 for more runs
_RUN_COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f", "#882255"]
_TAB20 = [
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
    "#8c564b",
    "#c49c94",
    "#e377c2",
    "#f7b6d2",
    "#7f7f7f",
    "#c7c7c7",
    "#bcbd22",
    "#dbdb8d",
    "#17becf",
    "#9edae5",
]


def run_hex(runs: int) -> list[str]:
    """The colours (hex) of `runs` compared runs, as `style.run_colours` gives them."""
    if runs <= len(_RUN_COLOURS):
        return _RUN_COLOURS[:runs]
    return [_TAB20[i % len(_TAB20)] for i in range(runs)]


class ComparePicture(Picture):
    """The comparison's canvas; the page sets these two options when the learner changes them."""

    log_scale = traitlets.Bool(False).tag(sync=True)
    x_axis = traitlets.Unicode("epochs").tag(sync=True)




class _HistoryRun:
    """A History that a hand-written loop feeds, read as Compare reads a trainer's run."""

    valid_loader = None
    steps_per_epoch = None

    def __init__(self, history: History) -> None:
        self.history = history

    @property
    def metric_names(self) -> list[str]:
        """The metrics the loop logged so far: "acc" for records holding "train_acc" or "valid_acc"."""
        names: dict[str, None] = {}
        for record in self.history.epochs:
            for key in record:
                for prefix in ("train_", "valid_"):
                    if key.startswith(prefix) and key != prefix + "loss":
                        names[key[len(prefix):]] = None
        return list(names)


class _RunFeed:
    """The rows of one run's history already put into the picture, so that a round puts only the new ones."""

    def __init__(self, picture: Picture, key: str) -> None:
        self.picture = picture
        self.key = key
        self.history: History | None = None
        self.steps = 0
        self.last: tuple[float, float] = (math.nan, math.nan)  # (step, loss) of the last row put
        self.records: list | None = None
        self.epochs = 0
        self.epoch_keys: list[str] = []

    def put(self, history: History) -> None:
        """Put the rows and records added since the last call; everything when the history was
        replaced or rewritten."""
        steps, loss = history.step_column("step"), history.step_column("loss")
        count, sent = len(steps), self.steps
        step_name, loss_name = f"{self.key}:step", f"{self.key}:loss"
        rewritten = (
            history is not self.history
            or count < sent
            or (sent > 0 and not _same_row((float(steps[sent - 1]), float(loss[sent - 1])), self.last))
        )
        if rewritten or self.picture.channel(step_name) is None:
            self.picture.put(step_name, steps.astype(np.int32))  # steps travel as int32: a third fewer bytes
            self.picture.put(loss_name, loss.astype(np.float32))
        elif count > sent:
            self.picture.extend(step_name, steps[sent:].astype(np.int32))
            self.picture.extend(loss_name, loss[sent:].astype(np.float32))
        self.steps = count
        self.last = (float(steps[-1]), float(loss[-1])) if count else (math.nan, math.nan)
        self._put_epochs(history.epochs, whole=history is not self.history)
        self.history = history

    def _put_epochs(self, records: list, whole: bool) -> None:
        whole = whole or records is not self.records or len(records) < self.epochs
        before = [] if whole else self.epoch_keys
        start = 0 if whole else self.epochs
        new = records[start:]
        if not whole and not new:
            return
        seen = dict.fromkeys(key for record in new for key in record if key != "time")
        keys = before + [key for key in seen if key not in before]
        for key in keys:
            name = f"{self.key}:epoch:{key}"
            if key in before:
                self.picture.extend(name, _epoch_column(new, key))
            else:
                self.picture.put(name, _epoch_column(records, key))
        for key in self.epoch_keys if whole else ():
            if key not in keys:
                self.picture.drop(f"{self.key}:epoch:{key}")
        self.records, self.epochs, self.epoch_keys = records, len(records), keys


def _same_row(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _epoch_column(records: Sequence[Mapping], key: str) -> np.ndarray:
    """One key over the records as a column (NaN where absent); step and epoch numbers exact, the rest
    float32."""
    values = np.array([_number(record.get(key, math.nan)) for record in records], dtype=np.float64)
    return values if key in ("step", "epoch") else values.astype(np.float32)


class Compare(LiveView):
    """Live comparison of training runs: `Compare({"sgd": trainer_a, "adam": trainer_b})`.

    A run is a Trainer or a History that a hand-written loop feeds
    (`history.log(loss)`, `history.end_epoch(valid_loss=...)`): both are followed live.

    One panel for the loss and one per metric every run has (`metrics=` picks
    some of them, `metrics=()` none). In the loss panel the training line is
    each run's smoothed loss per step (`smoothing`, as in `LossCurve`) and the
    validation line its loss per epoch; metric panels show the epoch values.
    `x_axis` is "epochs" (default) or "steps", `log_scale` puts the loss on a
    log axis; both are also switched in the page. `add(name, trainer)` adds a
    run while others train. `size` is (width, height) in pixels, at least
    `MIN_SIZE`; `pacer` paces the sends (one of its own by default).
    """

    def __init__(
        self,
        runs: Mapping[str, Any],
        *,
        metrics: Sequence[str] | None = None,
        x_axis: str = "epochs",
        log_scale: bool = False,
        smoothing: float = 0.9,
        pacer: Pacer | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
    ) -> None:
        if not isinstance(runs, Mapping):
            raise TypeError(
                f"Compare expects a dict of run name -> Trainer or History, got {type(runs).__name__}"
            )
        if not runs:
            raise ValueError(
                "Compare needs at least one run: a dict of run name -> Trainer, got an empty one"
            )
        for name, trainer in runs.items():
            _check_run(name, trainer, {})
        _check_distinct(runs)
        check_pacer(pacer)
        _check_options(log_scale, x_axis)
        # float named first: mypy does not count a float as a numbers.Real
        if isinstance(smoothing, bool) or not isinstance(smoothing, (float, Real)) or not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
        chosen = None if metrics is None else _check_metrics(metrics, runs)
        width, height = _check_size(size)
        self._chosen = chosen
        self._smoothing = float(smoothing)
        self._runs: dict[str, Trainer | _HistoryRun] = {}
        self._given: dict[str, Trainer | History] = {}
        self._feeds: dict[str, _RunFeed] = {}
        picture = ComparePicture("compare", width=width, height=height, log_scale=log_scale, x_axis=x_axis)
        super().__init__(ipw.VBox([picture]), picture, "compare", pacer)
        for name, trainer in runs.items():
            self._join(name, trainer)
        self.finish()

    # --- runs ----------------------------------------------------------------------------
    def add(self, name: str, trainer: Trainer | History) -> None:
        """Add a run (it may be training already); its colour and lines appear at once."""
        _check_run(name, trainer, self._runs)
        _check_distinct({**self._runs, name: trainer})
        if self._chosen is not None:
            _check_metrics(self._chosen, {**self._runs, name: trainer})
        with self._lock:
            self._join(name, trainer)
        self.finish()

    def _join(self, name: str, run: Trainer | History) -> None:
        self._given[name] = run
        self._runs[name] = _HistoryRun(run) if isinstance(run, History) else run
        self._feeds[name] = _RunFeed(self.picture, f"run{len(self._feeds)}")
        if isinstance(run, History):
            self.follow_history(run)
        else:
            self.follow(run)

    @property
    def runs(self) -> dict[str, Trainer | History]:
        """The runs by name, in the order they were given (a copy of the mapping)."""
        return dict(self._given)

    @property
    def colours(self) -> dict[str, str]:
        """Each run's colour (hex), in every panel."""
        return dict(zip(self._runs, run_hex(len(self._runs)), strict=True))

    @property
    def panels(self) -> list[str]:
        """The panels, left to right: "loss", then each metric shown."""
        if self._chosen is not None:
            return ["loss", *self._chosen]
        shared = [set(trainer.metric_names) for trainer in self._runs.values()]
        first = next(iter(self._runs.values())).metric_names
        return ["loss", *(name for name in first if all(name in names for names in shared))]

    # --- options: switched in the page, or here ---------------------------------------------
    @property
    def log_scale(self) -> bool:
        """Is the loss axis logarithmic? The page's toggle sets it; so can the kernel."""
        return bool(self.picture.log_scale)

    @log_scale.setter
    def log_scale(self, value: bool) -> None:
        _check_options(value, self.x_axis)
        self.picture.log_scale = value

    @property
    def x_axis(self) -> str:
        """"epochs" or "steps": what x counts."""
        return str(self.picture.x_axis)

    @x_axis.setter
    def x_axis(self, value: str) -> None:
        _check_options(self.log_scale, value)
        self.picture.x_axis = value

    @property
    def smoothing(self) -> float:
        """The decay in [0, 1) of the training loss's moving average (0: the raw loss)."""
        return self._smoothing

    @property
    def series(self) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
        """Every line as (x, y) arrays keyed by (run, panel, split), x in steps or epochs as `x_axis` says."""
        return compare_series(self._histories(), self.frame_state())

    # --- LiveView -------------------------------------------------------------------------------
    def collect(self) -> None:
        with self._lock:
            for name, trainer in self._runs.items():
                self._feeds[name].put(trainer.history)
            options = self._options()
            if options != self.picture.options:
                self.picture.options = options

    def _options(self) -> dict:
        runs = [{"name": name, "key": feed.key, "colour": colour, "valid": self._has_valid(name),
                 "steps_per_epoch": self._runs[name].steps_per_epoch}
                for (name, feed), colour in zip(self._feeds.items(), run_hex(len(self._feeds)), strict=True)]
        return {"runs": runs, "panels": self.panels, "smoothing": self._smoothing}

    def _has_valid(self, name: str) -> bool:
        return self._runs[name].valid_loader is not None or "valid_loss" in self._feeds[name].epoch_keys

    def _histories(self) -> dict[str, History]:
        return {name: trainer.history for name, trainer in self._runs.items()}

    def frame_state(self) -> CompareState:
        with self._lock:
            runs = tuple(
                RunState(
                    name,
                    colour,
                    len(trainer.history),
                    len(trainer.history.epochs),
                    trainer.valid_loader is not None
                    or any("valid_loss" in r for r in trainer.history.epochs),
                    trainer.steps_per_epoch,
                )
                for (name, trainer), colour in zip(self._runs.items(), run_hex(len(self._runs)), strict=True)
            )
            return CompareState(runs, tuple(self.panels), self.log_scale, self.x_axis, self._smoothing)

    def render_png(self, state: CompareState) -> bytes:
        from .compare_still import render_compare  # matplotlib loads only when a still is asked for

        return render_compare(compare_series(self._histories(), state), state,
                              size=(self.picture.width, self.picture.height))


def compare_series(histories: Mapping[str, History], state: CompareState
                   ) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
    """The lines of a comparison as (x, y) arrays by (run, panel, split): each run's first rows and records of
    `state`.

    The loss panel's training line is the smoothed loss per step; every other
    line is an epoch column ("valid_loss", "train_acc", "valid_acc", ...).
    """
    by_epoch = state.x_axis == "epochs"
    lines = {}
    for run in state.runs:
        history = histories[run.name]
        steps = history.step_column("step")[: run.steps].astype(np.float64)
        loss = history.step_column("loss")[: run.steps].astype(np.float64)
        records = history.epochs[: run.epochs]
        ends = np.array([_number(record.get("step", math.nan)) for record in records], dtype=np.float64)
        x = step_x(steps, ends, run.steps_per_epoch) if by_epoch else steps
        smoothed = (
            np.asarray(StepSeries(state.smoothing).update(loss), dtype=np.float64)
            if state.smoothing
            else loss
        )
        lines[(run.name, "loss", "train")] = (x, smoothed)
        epoch_x = (
            np.array(
                [_number(record.get("epoch", i + 1)) for i, record in enumerate(records)], dtype=np.float64
            )
            if by_epoch
            else ends
        )
        for panel in state.panels:
            for split in SPLITS if run.valid else SPLITS[:1]:
                if (panel, split) == ("loss", "train"):
                    continue
                key = f"{split}_{panel}"
                values = np.array(
                    [_number(record.get(key, math.nan)) for record in records], dtype=np.float64
                )
                lines[(run.name, panel, split)] = (epoch_x.copy(), values)
    return lines


def _check_run(name: Any, trainer: Any, existing: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"run names must be non-empty strings, got {name!r}")
    if name in existing:
        raise ValueError(f"a run named {name!r} is already compared; give each run its own name")
    if not isinstance(trainer, (Trainer, History)):
        raise TypeError(f"run {name!r} must be a Trainer or a History, got {type(trainer).__name__}")


def _check_distinct(runs: Mapping[str, object]) -> None:
    seen: dict[int, str] = {}
    for name, trainer in runs.items():
        if id(trainer) in seen:
            raise ValueError(
                f"runs {seen[id(trainer)]!r} and {name!r} are the same run; compare different runs"
            )
        seen[id(trainer)] = name


def _check_metrics(metrics: Any, runs: Mapping[str, object]) -> tuple[str, ...]:
    if (
        isinstance(metrics, str)
        or not isinstance(metrics, Sequence)
        or not all(isinstance(m, str) for m in metrics)
    ):
        raise TypeError(
            f"metrics must be a list of metric names (or None for every shared one), got {metrics!r}"
        )
    for metric in metrics:
        # a History's metrics appear as its loop logs them: only trainers can lack one up front
        lacking = [
            name for name, run in runs.items() if isinstance(run, Trainer) and metric not in run.metric_names
        ]
        if lacking:
            raise ValueError(f"metric {metric!r} is not a metric of run(s) {lacking}; a panel shows a metric "
                             "every run has")
    return tuple(dict.fromkeys(metrics))


def _check_options(log_scale: Any, x_axis: Any) -> None:
    if not isinstance(log_scale, bool):
        raise TypeError(f"log_scale must be True or False, got {type(log_scale).__name__}")
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, got {x_axis!r}")


def _check_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (int(side) for side in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be (width, height) in pixels, got {size!r}") from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(
            f"size must be at least {MIN_SIZE} pixels (width, height) so every label fits, got {size!r}"
        )
    return width, height

