"""LossCurve: training loss per step (raw and smoothed), per epoch, and the metrics, drawn live.

Follows a Trainer through its events, or is fed by hand from a loop
(`curve.log(step, loss)`, `curve.log_epoch(epoch, ...)`, then `curve.flush()`).
The data lives in a `widgets.history.History` (the trainer's, or one of its own);
the arrays drawn come from `curve_data.CurveData`, so this module only draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import ipywidgets as ipw
import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.cbook import is_math_text
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from ..training.history import History
from .axes import covers
from .base import View, check_trainer
from .clock import FrameClock, check_clock
from .curve_data import X_AXES, CurveData, MetricSeries, axis_end, loss_limits, metric_limits, metric_series, tick_text
from .frame import Frame
from .style import FONT_SIZE, SPLIT_COLOURS, SPLIT_LINES, STEP_ALPHA

__all__ = ["DEFAULT_FIGSIZE", "MIN_FIGSIZE", "X_AXES", "LossCurve"]

DEFAULT_FIGSIZE = (8.0, 3.2)
MIN_FIGSIZE = (4.0, 2.4)
"""The smallest figure (inches) at which every label, tick label and the legend still fit."""

_MAX_EPOCH_MARKERS = 100
_METRIC_MARKERS = ("o", "D", "v", "P", "X", "*", "h")  # one per metric when several share the panel


def _split_style(split: str) -> dict[str, str]:
    """Colour, marker and line style of a data split, from the shared style ("o-" is marker "o", line "-")."""
    pattern = SPLIT_LINES[split]
    return {"color": SPLIT_COLOURS[split], "marker": pattern[0], "linestyle": pattern[1:]}


def _number(name: str, value: Any) -> float:
    """A plain float from a number or a one-element tensor/array, or a TypeError naming `name`."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: getattr(value, "size", 1))() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number (or a one-element tensor), got {type(value).__name__}")
    return float(value)


def _check_figsize(figsize: Any) -> tuple[float, float]:
    try:
        width, height = figsize
        width, height = float(width), float(height)
    except (TypeError, ValueError):
        raise TypeError(f"figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (width >= MIN_FIGSIZE[0] and height >= MIN_FIGSIZE[1]):
        raise ValueError(f"figsize must be at least {MIN_FIGSIZE} inches (width, height) so every label fits, got {figsize!r}")
    return width, height


def _few_ticks() -> MaxNLocator:
    """At most about five labelled ticks: enough to read a value, and text is what a redrawn background spends on."""
    return MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])


def _tick_labels(axis: Axis, low: float, high: float) -> tuple[str, ...]:
    """The labels an axis shows between its limits (major and minor), as text."""
    labels = []
    for locator, formatter in ((axis.get_major_locator(), axis.get_major_formatter()),
                               (axis.get_minor_locator(), axis.get_minor_formatter())):
        locs = [loc for loc in locator() if low <= loc <= high]
        labels += [text for text in formatter.format_ticks(locs) if text]
    return tuple(labels)


class LossCurve(View):
    """Live loss curve: per-step loss (faint raw line and smoothed line), per-epoch train and
    validation loss (markers), the metrics on a panel of their own, a log-scale toggle and
    steps or epochs on x.

    `LossCurve(trainer)` follows a Trainer; `LossCurve()` is fed by hand with
    `log(step, loss)` and `log_epoch(epoch, train_loss=..., valid_loss=..., acc=...)`;
    `LossCurve(history=h)` draws (and goes on logging into) an existing History.
    `smoothing` is the moving average's decay in [0, 1) (0: no smoothing).
    `figsize` is at least `MIN_FIGSIZE` inches. Training data is drawn in the train
    colour, validation data in the validation colour, in both panels (see `style`).
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
        figsize: tuple[float, float] = DEFAULT_FIGSIZE,
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
        figsize = _check_figsize(figsize)
        self.trainer = trainer
        self.history: History = trainer.history if trainer is not None else history if history is not None else History()
        self.frame = Frame(figsize=figsize, dpi=dpi)
        self.log_toggle = ipw.ToggleButton(value=log_scale, description="log scale", tooltip="log scale on the loss axis")
        self.x_toggle = ipw.ToggleButtons(options=list(X_AXES), value=x_axis, tooltip="what x counts")
        self.log_toggle.add_class("lt-loss-curve-log")
        self.x_toggle.add_class("lt-loss-curve-x")
        widget = ipw.VBox([ipw.HBox([self.x_toggle, self.log_toggle]), self.frame.image])
        super().__init__(widget, "loss-curve", clock)
        self._data = CurveData(float(smoothing))
        self._layout: tuple | None = None  # the series the axes were built for
        self._arranged: tuple | None = None  # (texts, widths) the layout was computed for
        self._text_widths: dict[str, float] = {}  # pixels, by tick label
        self._limits: dict[str, tuple[float, float]] = {}
        self.log_toggle.observe(self._on_option, names="value")
        self.x_toggle.observe(self._on_option, names="value")
        if trainer is not None:
            self.follow(trainer)
        self.draw_first_frame()

    # --- options ---------------------------------------------------------------------
    @property
    def log_scale(self) -> bool:
        """Is the loss axis asked to be logarithmic (the toggle's value)?"""
        return bool(self.log_toggle.value)

    @property
    def x_axis(self) -> str:
        """"steps" or "epochs" (the toggle's value)."""
        return str(self.x_toggle.value)

    def _on_option(self, change: dict) -> None:
        with self._draw_lock:
            self._limits = {}
        self.request_frame("final")

    # --- what the last frame shows ---------------------------------------------------------
    @property
    def x_limits(self) -> tuple[float, float]:
        """(start, end) of the x axis in the last frame, in steps or epochs."""
        low, high = self._loss_ax.get_xlim()
        return float(low), float(high)

    @property
    def loss_limits(self) -> tuple[float, float]:
        """(bottom, top) of the loss axis in the last frame."""
        low, high = self._loss_ax.get_ylim()
        return float(low), float(high)

    @property
    def loss_scale(self) -> str:
        """"linear" or "log": the loss axis's scale in the last frame."""
        return str(self._loss_ax.get_yscale())

    @property
    def metric_limits(self) -> tuple[float, float] | None:
        """(bottom, top) of the metric panel in the last frame; None when there is no metric panel."""
        if self._metric_ax is None:
            return None
        low, high = self._metric_ax.get_ylim()
        return float(low), float(high)

    @property
    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every line of the last frame as (x, y) arrays, decimated as drawn.

        "step_loss" is the raw loss per step and "smoothed_loss" its moving
        average; then the epoch columns: "train_loss", "valid_loss" and each
        metric ("train_acc", "valid_acc", ...).
        """
        lines = {"step_loss": self._raw, "smoothed_loss": self._smooth, "train_loss": self._train_epoch,
                 "valid_loss": self._valid_epoch, **self._metric_lines}
        return {name: (np.asarray(line.get_xdata(), dtype=np.float64), np.asarray(line.get_ydata(), dtype=np.float64))
                for name, line in lines.items() if line is not None}

    # --- feeding by hand ---------------------------------------------------------------
    def log(self, step: int, loss: Any, epoch: int | None = None) -> None:
        """Record one step's loss (a number or a one-element tensor) and draw if the clock allows."""
        self._check_by_hand("log")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        value = _number("loss", loss)
        steps = self.history.step_column("step")
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
        steps = self.history.step_column("step")
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
            raise RuntimeError(
                f"this LossCurve follows a trainer, which logs every step itself; {what}() is for a LossCurve() fed by hand")

    # --- trainer events ----------------------------------------------------------------
    def on_reset(self, payload: dict) -> None:
        self._forget()
        super().on_reset(payload)

    def _forget(self) -> None:
        with self._draw_lock:
            self._data.reset()
            self._limits = {}
            self._arranged = None  # lay out afresh: an empty curve looks like a new one

    # --- building the figure ----------------------------------------------------------------
    def _build(self, metrics: list[MetricSeries], show_valid: bool) -> None:
        """Lay out the axes, line artists and legend (only when the set of series changes)."""
        figure = self.frame.figure
        figure.clear()
        self.frame.forget_artists()
        if metrics:
            self._loss_ax, self._metric_ax = figure.subplots(1, 2, width_ratios=[3, 2])
        else:
            self._loss_ax, self._metric_ax = figure.subplots(), None
        ax = self._loss_ax
        train, valid = _split_style("train"), _split_style("valid")
        (self._raw,) = ax.plot([], [], color=train["color"], alpha=STEP_ALPHA, linewidth=0.8)
        (self._smooth,) = ax.plot([], [], color=train["color"], linewidth=1.6)
        (self._train_epoch,) = ax.plot([], [], markersize=4, linewidth=1, **train)
        self.frame.animate(self._raw, self._smooth, self._train_epoch)
        self._valid_epoch = None
        if show_valid:
            (self._valid_epoch,) = ax.plot([], [], markersize=4, linewidth=1, **valid)
            self.frame.animate(self._valid_epoch)
        ax.set_ylabel("loss", fontsize=FONT_SIZE)
        # The legend is drawn from stand-ins: a legend copies its lines' properties, "animated" among them.
        legend = {"loss per step": Line2D([], [], color=train["color"], alpha=STEP_ALPHA, linewidth=2),
                  "smoothed": Line2D([], [], color=train["color"], linewidth=1.6),
                  "train": Line2D([], [], markersize=4, linewidth=1, **train)}
        if show_valid:
            legend["valid"] = Line2D([], [], markersize=4, linewidth=1, **valid)
        self._metric_lines: dict[str, Line2D] = {}
        if self._metric_ax is not None:
            names = list(dict.fromkeys(series.name for series in metrics))
            several = len(names) > 1
            for series in metrics:
                style = _split_style(series.split)
                if several:  # the split still sets colour and line; the marker tells the metrics apart
                    style["marker"] = _METRIC_MARKERS[names.index(series.name) % len(_METRIC_MARKERS)]
                (line,) = self._metric_ax.plot([], [], markersize=4, linewidth=1, **style)
                self._metric_lines[series.key] = line
                self.frame.animate(line)
            if several:
                for index, name in enumerate(names):
                    marker = _METRIC_MARKERS[index % len(_METRIC_MARKERS)]
                    legend[name] = Line2D([], [], marker=marker, markersize=4, linestyle="none", color="0.35")
            self._metric_ax.set_ylabel(names[0] if not several else "metric", fontsize=FONT_SIZE)
        for panel in self._panels():
            panel.grid(True, alpha=0.3)
            panel.tick_params(labelsize=FONT_SIZE)
            panel.xaxis.set_major_formatter(FuncFormatter(lambda value, _: tick_text(value)))
            panel.xaxis.set_major_locator(_few_ticks())
            panel.yaxis.set_major_locator(_few_ticks())
        self._add_legend(list(legend.values()), list(legend))
        self._limits = {}
        self._arranged = None
        self._placeholder_y = False

    def _add_legend(self, handles: list[Line2D], labels: list[str]) -> None:
        """One legend row above the axes (two or more rows when the figure is too narrow), never over the data."""
        figure = self.frame.figure
        renderer = self.frame.canvas.get_renderer()
        room = 0.98 * figure.bbox.width
        for columns in range(len(handles), 0, -1):  # a legend lays out its columns when made: remake it to wrap
            legend = figure.legend(handles, labels, loc="outside upper center", ncols=columns, fontsize=FONT_SIZE,
                                   frameon=False, handlelength=1.6, columnspacing=1.0, borderaxespad=0.2)
            if columns == 1 or legend.get_window_extent(renderer).width <= room:
                return
            legend.remove()

    def _panels(self) -> list[Axes]:
        return [ax for ax in (self._loss_ax, self._metric_ax) if ax is not None]

    def _arrange(self) -> bool:
        """Place the axes so that every label, tick label and the legend fits around them; True if they moved.

        The layout runs again only when a text changes or needs more room than
        the layout gave it: growing limits mostly change tick labels to others
        of the same width.
        """
        texts, widths = self._texts()
        if self._arranged is not None:
            arranged_texts, arranged_widths = self._arranged
            if texts == arranged_texts and all(now <= before for now, before in zip(widths, arranged_widths, strict=True)):
                return False
        self._place_axes(widths[0], widths[1:])
        self._arranged = texts, widths
        return True

    def _place_axes(self, x_end_width: float, y_tick_widths: tuple[float, ...]) -> None:
        """Set each panel's position from the measured text sizes (pixels): legend on top, labels left and below."""
        figure = self.frame.figure
        renderer = self.frame.canvas.get_renderer()
        pixels_per_point = figure.dpi / 72
        _, text_height, _ = renderer.get_text_width_height_descent("Eg0", FontProperties(size=FONT_SIZE), ismath=False)
        tick = (rcParams["ytick.major.size"] + rcParams["ytick.major.pad"]) * pixels_per_point
        pad = rcParams["axes.labelpad"] * pixels_per_point
        label = text_height + pad
        edge = 3 * pixels_per_point
        width, height = figure.bbox.width, figure.bbox.height
        legend = max((legend.get_window_extent(renderer).height for legend in figure.legends), default=0.0)
        top = height - legend - edge
        bottom = edge + label + text_height + tick  # x label, then the tick labels
        overhang = x_end_width / 2  # the last x tick label is centred on the right end
        margins = [edge + label + tick_width + tick for tick_width in y_tick_widths]
        shares = (3, 2) if len(margins) == 2 else (1,)
        room = width - sum(margins) - len(margins) * overhang - edge
        left = 0.0
        for panel, margin, tick_width, share in zip(self._panels(), margins, y_tick_widths, shares, strict=True):
            left += margin
            panel_width = room * share / sum(shares)
            panel_height = top - bottom
            panel.set_position([left / width, bottom / height, panel_width / width, panel_height / height])
            # Axis labels where the layout made room for them: placed by hand, matplotlib does not
            # measure every tick label again to place them on each redrawn background.
            panel.yaxis.set_label_coords(-(tick + tick_width + pad) / panel_width, 0.5)
            panel.xaxis.set_label_coords(0.5, -(tick + text_height + pad) / panel_height)
            # A panel owns the pixels from its margin's start to the next panel's, below the legend.
            cell_start = left - margin
            left += panel_width + overhang
            self.frame.set_cell(panel, Bbox([[cell_start, 0], [left if left < width - edge - 1 else width, height - legend]]))

    def _texts(self) -> tuple[tuple, tuple[float, ...]]:
        """What the layout depends on: the labels and scales, and the widths of the tick labels at the margins."""
        renderer = self.frame.canvas.get_renderer()
        font = FontProperties(size=FONT_SIZE)
        measured = self._text_widths  # tick labels come back ("0.5", "200"): each is measured once

        def width(labels: Iterable[str]) -> float:
            for text in labels:
                if text not in measured:
                    measured[text] = renderer.get_text_width_height_descent(text, font, ismath=is_math_text(text))[0]
            return max((measured[text] for text in labels), default=0.0)

        x_axis = self._loss_ax.xaxis
        x_end = self._loss_ax.get_xlim()[1]
        at_end = [loc for loc in x_axis.get_major_locator()() if math.isclose(loc, x_end)]
        texts: list = [self._loss_ax.get_xlabel()]
        widths = [width(x_axis.get_major_formatter().format_ticks(at_end))]  # half of it sticks out on the right
        for panel in self._panels():
            formatter = panel.yaxis.get_major_formatter()
            widths.append(width(_tick_labels(panel.yaxis, *sorted(panel.get_ylim()))))  # computes the offset too
            texts += [panel.get_yscale(), panel.get_ylabel(), formatter.get_offset()]
        return tuple(texts), tuple(widths)

    # --- drawing -------------------------------------------------------------------------
    def _metric_names(self) -> tuple[list[str], bool]:
        if self.trainer is None:
            return [], False
        return list(getattr(self.trainer, "metric_names", None) or []), getattr(self.trainer, "valid_loader", None) is not None

    def draw(self) -> None:
        data = self._data
        data.update(self.history.step_column("step"), self.history.step_column("loss"), self.history.epochs)
        metrics = metric_series(data.epochs.keys(), *self._metric_names())
        show_valid = "valid_loss" in data.epochs.low or getattr(self.trainer, "valid_loader", None) is not None
        layout = (tuple(metrics), show_valid)
        if layout != self._layout:
            self._build(metrics, show_valid)
            self._layout = layout
        by_epoch = self.x_axis == "epochs"
        per_epoch = getattr(self.trainer, "steps_per_epoch", None)

        # Limits: changed only when the data leaves them, so the background is redrawn rarely,
        # and then only the panels whose limits changed unless the layout moved.
        x_changed = self._set_x_limits(data.x_high(by_epoch, per_epoch), by_epoch)
        loss_changed = self._set_loss_limits()
        metric_changed = self._set_metric_limits(metrics)
        changed = [panel for panel, moved in ((self._loss_ax, x_changed or loss_changed),
                                              (self._metric_ax, x_changed or metric_changed)) if moved and panel is not None]
        if changed or self.frame.needs_background:
            moved = self._arrange()
            self.frame.draw_background(None if moved else changed)

        # Long series are decimated to one to two runs (two to four rows) per pixel column they span.
        width = self._loss_ax.get_window_extent().width
        x_limits = self._limits.get("x", (0.0, 1.0))
        x, raw, smoothed = data.step_lines(by_epoch, x_limits, width, per_epoch)
        self._raw.set_data(x, raw)
        self._smooth.set_data(x, smoothed)
        lines = {"train_loss": self._train_epoch, "valid_loss": self._valid_epoch, **self._metric_lines}
        for key, line in lines.items():
            if line is None:
                continue
            x, y = data.epoch_line(key, by_epoch, x_limits, width)
            line.set_data(x, y)
            line.set_markevery(max(1, len(x) // _MAX_EPOCH_MARKERS))
        self.frame.blit()

    def _set_x_limits(self, high: float, by_epoch: bool) -> bool:
        if high <= 0:  # no data yet: placeholder limits, not kept, so the first points choose the end
            changed = "x" in self._limits or self._loss_ax.get_xlim() != (0.0, 1.0)
            self._limits.pop("x", None)
            limits = (0.0, 1.0)
        elif covers(self._limits.get("x"), 0.0, high):
            return False
        else:
            changed, limits = True, (0.0, axis_end(high))
            self._limits["x"] = limits
        for ax in self._panels():
            ax.set_xlim(*limits)
            ax.set_xlabel("epoch" if by_epoch else "step", fontsize=FONT_SIZE)
        return changed

    def _set_loss_limits(self) -> bool:
        log = self.log_scale
        scale = "log" if log else "linear"
        extremes = self._data.loss_range(log)
        if extremes is None:
            # No data yet: placeholder limits, not kept, so the first losses choose their own scale.
            changed = self._loss_ax.get_yscale() != scale or "y" in self._limits or not self._placeholder_y
            if self._loss_ax.get_yscale() != scale:
                self._loss_ax.set_yscale(scale)
                if not log:
                    self._loss_ax.yaxis.set_major_locator(_few_ticks())
            self._loss_ax.set_ylim(*((0.1, 1.0) if log else (0.0, 1.0)))
            self._limits.pop("y", None)
            self._placeholder_y = True
            return changed
        self._placeholder_y = False
        if self._loss_ax.get_yscale() == scale and covers(self._limits.get("y"), *extremes):
            return False
        limits = loss_limits(*extremes, log=log)
        if self._loss_ax.get_yscale() != scale:
            self._loss_ax.set_yscale(scale)  # a scale comes with its own locator
            if not log:
                self._loss_ax.yaxis.set_major_locator(_few_ticks())
        self._loss_ax.set_ylim(*limits)
        self._limits["y"] = limits
        return True

    def _set_metric_limits(self, metrics: list[MetricSeries]) -> bool:
        if self._metric_ax is None:
            return False
        extremes = self._data.metric_range([series.key for series in metrics])
        if extremes is None:  # no values yet: placeholder limits, not kept
            first = self._metric_ax.get_ylim() != (0.0, 1.0)
            self._metric_ax.set_ylim(0.0, 1.0)
            return first
        if covers(self._limits.get("metric"), *extremes):
            return False
        limits = metric_limits(*extremes)
        self._metric_ax.set_ylim(*limits)
        self._limits["metric"] = limits
        return True

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()
