"""Compare: several training runs' losses and metrics on one live plot, one colour per run.

Each run is a Trainer; the view follows all of them on one `FrameClock`, so it
draws within the budget while any of them trains, one after another or
interleaved, and draws a last frame when each stops. A panel per metric the
runs share (loss first); in every panel a run has one colour, and training and
validation are told apart as everywhere else: training solid, validation
dashed with square markers (`style.SPLIT_LINES`). The numbers come from each
trainer's History through `curve_data.CurveData`; this module only draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import ipywidgets as ipw
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ..training.trainer import Trainer
from .axes import covers
from .base import View
from .clock import FrameClock, check_clock
from .compare_layout import Relayout
from .curve_data import X_AXES, CurveData, axis_end, loss_limits, metric_limits, tick_text
from .frame import Frame
from .style import FONT_SIZE, SPLIT_LINES, run_colours

DEFAULT_FIGSIZE = (8.0, 3.2)
MIN_FIGSIZE = (5.0, 2.6)
"""The smallest figure (inches) at which every label and the legend still fit."""

SPLITS = ("train", "valid")
_MAX_MARKERS = 60


def _split_pattern(split: str) -> tuple[str, str]:
    """(marker, line style) of a split, from the shared style ("s--" is marker "s", line "--")."""
    pattern = SPLIT_LINES[split]
    return pattern[0], pattern[1:]


class Compare(View):
    """Live comparison of training runs: `Compare({"sgd": trainer_a, "adam": trainer_b})`.

    One panel for the loss and one per metric every run has (`metrics=` picks
    some of them, `metrics=()` none). In the loss panel the training line is
    each run's smoothed loss per step (`smoothing`, as in `LossCurve`) and the
    validation line its loss per epoch; metric panels show the epoch values.
    `x_axis` is "epochs" (default) or "steps", `log_scale` puts the loss on a
    log axis; both are also toggles above the plot. `add(name, trainer)` adds
    a run while others train. The legend (runs, then the split styles) sits
    right of the panels, never over the data.
    """

    def __init__(
        self,
        runs: Mapping[str, Any],
        *,
        metrics: Sequence[str] | None = None,
        x_axis: str = "epochs",
        log_scale: bool = False,
        smoothing: float = 0.9,
        clock: FrameClock | None = None,
        figsize: tuple[float, float] = DEFAULT_FIGSIZE,
        dpi: int = 80,
    ) -> None:
        if not isinstance(runs, Mapping):
            raise TypeError(f"Compare expects a dict of run name -> Trainer, got {type(runs).__name__}")
        if not runs:
            raise ValueError("Compare needs at least one run: a dict of run name -> Trainer, got an empty one")
        for name, trainer in runs.items():
            _check_run(name, trainer, {})
        _check_distinct(runs)
        check_clock(clock)
        if x_axis not in X_AXES:
            raise ValueError(f"x_axis must be one of {X_AXES}, got {x_axis!r}")
        if not isinstance(log_scale, bool):
            raise TypeError(f"log_scale must be True or False, got {type(log_scale).__name__}")
        if isinstance(smoothing, bool) or not isinstance(smoothing, Real) or not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
        self._chosen = None if metrics is None else _check_metrics(metrics, runs)
        figsize = check_figsize(figsize)
        self._runs: dict[str, Trainer] = dict(runs)
        self._data = {name: CurveData(float(smoothing)) for name in runs}
        self._smoothing = float(smoothing)
        self.frame = Frame(figsize=figsize, dpi=dpi)
        self._relayout = Relayout(self.frame.figure)
        self.log_toggle = ipw.ToggleButton(value=log_scale, description="log scale", tooltip="log scale on the loss axis")
        self.x_toggle = ipw.ToggleButtons(options=list(X_AXES), value=x_axis, tooltip="what x counts")
        widget = ipw.VBox([ipw.HBox([self.x_toggle, self.log_toggle]), self.frame.image])
        super().__init__(widget, "compare", clock)
        self._layout: tuple | None = None
        self._limits: dict[str, tuple[float, float]] = {}
        self.log_toggle.observe(self._on_option, names="value")
        self.x_toggle.observe(self._on_option, names="value")
        for name, trainer in self._runs.items():
            self._subscribe(name, trainer)
        self.draw_first_frame()

    # --- runs ----------------------------------------------------------------------------
    def add(self, name: str, trainer: Trainer) -> None:
        """Add a run (it may be training already); its panels and colour appear in the next frame."""
        _check_run(name, trainer, self._runs)
        _check_distinct({**self._runs, name: trainer})
        if self._chosen is not None:
            _check_metrics(self._chosen, {**self._runs, name: trainer})
        with self._draw_lock:
            self._runs[name] = trainer
            self._data[name] = CurveData(self._smoothing)
            self._limits = {}
        self._subscribe(name, trainer)
        self.request_frame("final")

    def _subscribe(self, name: str, trainer: Trainer) -> None:
        self.listen(trainer, "step", self.on_step)
        self.listen(trainer, "epoch", self.on_epoch)
        self.listen(trainer, "state", self.on_state)
        self.listen(trainer, "reset", lambda payload: self._run_reset(name, payload))

    def _run_reset(self, name: str, payload: dict) -> None:
        with self._draw_lock:
            self._data[name].reset()
            self._limits = {}
        self.on_reset(payload)

    @property
    def runs(self) -> dict[str, Trainer]:
        """The runs by name, in the order they were given (a copy of the mapping)."""
        return dict(self._runs)

    @property
    def colours(self) -> dict[str, str]:
        """Each run's colour (hex), in every panel."""
        return dict(zip(self._runs, run_colours(len(self._runs))))

    @property
    def panels(self) -> list[str]:
        """The panels, left to right: "loss", then each metric shown."""
        return ["loss", *self._metrics()]

    def _metrics(self) -> list[str]:
        if self._chosen is not None:
            return list(self._chosen)
        shared = [set(trainer.metric_names) for trainer in self._runs.values()]
        return [name for name in next(iter(self._runs.values())).metric_names if all(name in s for s in shared)]

    # --- options: the toggles above the plot ---------------------------------------------------
    log_scale = property(lambda self: bool(self.log_toggle.value), doc="Is the loss axis logarithmic?")
    x_axis = property(lambda self: str(self.x_toggle.value), doc='"epochs" or "steps": what x counts.')

    def _on_option(self, change: dict) -> None:
        with self._draw_lock:  # new scales or units: the limits are chosen afresh
            self._limits = {}
        self.request_frame("final")

    # --- what the last frame shows ----------------------------------------------------------
    @property
    def x_limits(self) -> tuple[float, float]:
        """(start, end) of the shared x axis in the last frame."""
        low, high = self._axes["loss"].get_xlim()
        return float(low), float(high)

    def y_limits(self, panel: str) -> tuple[float, float]:
        """(bottom, top) of a panel's y axis in the last frame."""
        low, high = self._panel(panel).get_ylim()
        return float(low), float(high)

    @property
    def loss_scale(self) -> str:
        """"linear" or "log": the loss axis's scale in the last frame."""
        return str(self._axes["loss"].get_yscale())

    @property
    def series(self) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
        """Every line of the last frame as (x, y) arrays, keyed by (run, panel, split), decimated as drawn."""
        return {key: (np.asarray(line.get_xdata(), dtype=np.float64), np.asarray(line.get_ydata(), dtype=np.float64))
                for key, line in self._lines.items()}

    def panel_box(self, panel: str) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a panel's plotting area in the PNG's pixels (origin at the top left)."""
        return self._box(self._panel(panel).bbox)

    @property
    def legend_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the legend in the PNG's pixels."""
        return self._box(self._legend.get_window_extent(self.frame.canvas.get_renderer()))

    def line_pixels(self, run: str, panel: str, split: str) -> np.ndarray:
        """The vertices of one drawn line as (column, row) pixels of the PNG, shape (n, 2); NaN rows for gaps."""
        line = self._lines[(run, panel, split)]
        points = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(np.float64)
        if not len(points):
            return np.empty((0, 2))
        pixels = self._panel(panel).transData.transform(points)
        return np.column_stack([pixels[:, 0], self.frame.figure.bbox.height - pixels[:, 1]])

    def _box(self, box: Any) -> tuple[int, int, int, int]:
        height = self.frame.figure.bbox.height
        return int(math.floor(box.x0)), int(math.floor(height - box.y1)), int(math.ceil(box.x1)), int(math.ceil(height - box.y0))

    def _panel(self, panel: str) -> Any:
        try:
            return self._axes[panel]
        except KeyError:
            raise ValueError(f"panel must be one of {list(self._axes)}, got {panel!r}") from None

    # --- building the figure ------------------------------------------------------------------
    def _build(self, metrics: list[str], valid: dict[str, bool]) -> None:
        """Lay out the panels, one line per run and split, and the legend (when runs or metrics change)."""
        figure = self.frame.figure
        figure.clear()
        self.frame.forget_artists()
        names = ["loss", *metrics]
        axes = figure.subplots(1, len(names), squeeze=False)[0]
        self._axes = dict(zip(names, axes))
        self._lines: dict[tuple[str, str, str], Line2D] = {}
        for run, colour in self.colours.items():
            for panel, ax in self._axes.items():
                for split in SPLITS if valid[run] else SPLITS[:1]:
                    marker, linestyle = _split_pattern(split)
                    if panel == "loss" and split == "train":
                        marker = "None"  # the smoothed loss per step: a line too dense for markers
                    (line,) = ax.plot([], [], color=colour, linestyle=linestyle, marker=marker, markersize=3.5,
                                      linewidth=1.5)
                    self._lines[(run, panel, split)] = line
                    self.frame.animate(line)
        for panel, ax in self._axes.items():
            ax.set_ylabel(panel, fontsize=FONT_SIZE)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=FONT_SIZE)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: tick_text(value)))
        # The legend is drawn from stand-ins: a legend copies its lines' properties, "animated" among them.
        handles = [Line2D([], [], color=colour, linewidth=2.5) for colour in self.colours.values()]
        labels = list(self._runs)
        for split in SPLITS if any(valid.values()) else SPLITS[:1]:
            marker, linestyle = _split_pattern(split)
            handles.append(Line2D([], [], color="0.3", linestyle=linestyle, marker=marker, markersize=3.5, linewidth=1.5))
            labels.append(split)
        rows = max(1, int(figure.bbox.height // (2.2 * FONT_SIZE * figure.dpi / 72)))  # entries a column holds
        self._legend = figure.legend(handles, labels, loc="outside right upper", fontsize=FONT_SIZE, frameon=False,
                                     ncols=math.ceil(len(handles) / rows), handlelength=2.4, borderaxespad=0.2)
        self._limits = {}
        self._relayout.forget()

    # --- drawing ------------------------------------------------------------------------------
    def draw(self) -> None:
        for name, trainer in self._runs.items():
            history = trainer.history
            self._data[name].update(history.step_column("step"), history.step_column("loss"), history.epochs)
        metrics = self._metrics()
        valid = {name: trainer.valid_loader is not None or "valid_loss" in self._data[name].epochs.low
                 for name, trainer in self._runs.items()}
        layout = (tuple(self._runs), tuple(metrics), tuple(valid.values()))
        if layout != self._layout:
            self._build(metrics, valid)
            self._layout = layout
        by_epoch = self.x_axis == "epochs"
        changed = self._set_x_limits(by_epoch)
        lines = self._line_data(by_epoch)
        changed |= self._set_y_limits(lines, metrics)
        if changed or self.frame.needs_background:
            self._relayout.arrange()
            self.frame.draw_background()
        for key, (x, y) in lines.items():
            line = self._lines[key]
            line.set_data(x, y)
            if line.get_marker() not in ("None", None):
                line.set_markevery(max(1, len(x) // _MAX_MARKERS))
        self.frame.blit()

    def _line_data(self, by_epoch: bool) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
        width = self._axes["loss"].get_window_extent().width
        x_limits = self._limits.get("x", (0.0, 1.0))
        lines = {}
        for (run, panel, split) in self._lines:
            data = self._data[run]
            if panel == "loss" and split == "train":
                x, _, smoothed = data.step_lines(by_epoch, x_limits, width, self._runs[run].steps_per_epoch)
                lines[(run, panel, split)] = (x, smoothed)
            else:
                lines[(run, panel, split)] = data.epoch_line(f"{split}_{panel}", by_epoch, x_limits, width)
        return lines

    def _set_x_limits(self, by_epoch: bool) -> bool:
        high = max(data.x_high(by_epoch, self._runs[name].steps_per_epoch) for name, data in self._data.items())
        if high <= 0:
            limits = (0.0, 1.0)
            changed = self._limits.pop("x", None) is not None or self._axes["loss"].get_xlim() != limits
        elif covers(self._limits.get("x"), 0.0, high):
            return False
        else:
            limits, changed = (0.0, axis_end(high)), True
            self._limits["x"] = limits
        for ax in self._axes.values():
            ax.set_xlim(*limits)
            ax.set_xlabel("epoch" if by_epoch else "step", fontsize=FONT_SIZE)
        return changed

    def _set_y_limits(self, lines: dict, metrics: list[str]) -> bool:
        changed = False
        log = self.log_scale
        for panel, ax in self._axes.items():
            values = [y for (_, line_panel, _), (_, y) in lines.items() if line_panel == panel and len(y)]
            ys = np.concatenate(values) if values else np.empty(0)
            ys = ys[np.isfinite(ys) & ((ys > 0) if log and panel == "loss" else True)]
            scale = "log" if log and panel == "loss" else "linear"
            if ax.get_yscale() != scale:
                ax.set_yscale(scale)
                self._limits.pop(panel, None)
                changed = True
            if not len(ys):
                if panel not in self._limits:
                    placeholder = (0.1, 1.0) if scale == "log" else (0.0, 1.0)
                    changed |= ax.get_ylim() != placeholder
                    ax.set_ylim(*placeholder)
                continue
            low, high = float(ys.min()), float(ys.max())
            if covers(self._limits.get(panel), low, high):
                continue
            limits = loss_limits(low, high, log=log) if panel == "loss" else metric_limits(low, high)
            ax.set_ylim(*limits)
            self._limits[panel] = limits
            changed = True
        return changed

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()

    def __repr__(self) -> str:
        return "Compare()"


def _check_run(name: Any, trainer: Any, existing: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"run names must be non-empty strings, got {name!r}")
    if name in existing:
        raise ValueError(f"a run named {name!r} is already compared; give each run its own name")
    if not isinstance(trainer, Trainer):
        raise TypeError(f"run {name!r} must be a Trainer, got {type(trainer).__name__}")


def _check_distinct(runs: Mapping[str, Trainer]) -> None:
    seen: dict[int, str] = {}
    for name, trainer in runs.items():
        if id(trainer) in seen:
            raise ValueError(f"runs {seen[id(trainer)]!r} and {name!r} are the same Trainer; compare different runs")
        seen[id(trainer)] = name


def _check_metrics(metrics: Any, runs: Mapping[str, Trainer]) -> tuple[str, ...]:
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not all(isinstance(m, str) for m in metrics):
        raise TypeError(f"metrics must be a list of metric names (or None for every shared one), got {metrics!r}")
    for metric in metrics:
        lacking = [name for name, trainer in runs.items() if metric not in trainer.metric_names]
        if lacking:
            raise ValueError(f"metric {metric!r} is not a metric of run(s) {lacking}; a panel shows a metric "
                             "every run has")
    return tuple(dict.fromkeys(metrics))


def check_figsize(figsize: Any, minimum: tuple[float, float] = MIN_FIGSIZE) -> tuple[float, float]:
    """(width, height) in inches as floats, or a clear error when it is not a pair or smaller than `minimum`."""
    try:
        width, height = (float(value) for value in figsize)
    except (TypeError, ValueError):
        raise TypeError(f"figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (width >= minimum[0] and height >= minimum[1]):
        raise ValueError(f"figsize must be at least {minimum} inches (width, height) so every label fits, "
                         f"got {figsize!r}")
    return width, height
