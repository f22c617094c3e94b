"""The loss curve as a still PNG, drawn by matplotlib from the same lines the page draws.

Used for `LossCurve.snapshot_png()`, GIF frames and the image a stored
notebook shows where no JavaScript runs; never on the training loop's clock.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .curve_data import MetricSeries, axis_end, decimate, loss_limits, metric_limits
from .style import FONT_SIZE, SPLIT_COLOURS, SPLIT_LINES, STEP_ALPHA

_DPI = 100
_MAX_RUNS = 800  # min/max runs a long step column is thinned to: two per pixel column or more


def _style(split: str) -> dict:
    pattern = SPLIT_LINES[split]
    return {
        "color": SPLIT_COLOURS[split],
        "marker": pattern[0],
        "linestyle": pattern[1:],
        "markersize": 4,
        "linewidth": 1,
    }


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = decimate(y, _MAX_RUNS) if len(y) > 4 * _MAX_RUNS else slice(None)
    return x[rows], y[rows]


def render_curve(
    lines: dict[str, tuple[np.ndarray, np.ndarray]],
    state: object,
    metrics: Sequence[MetricSeries],
    size: tuple[int, int],
) -> bytes:
    """PNG bytes of a loss curve: `lines` as `curve_series` gives them, `metrics` for the second panel.

    `state` brings `log_scale` and `x_axis`; `size` is (width, height) in pixels.
    """
    figure = Figure(figsize=(size[0] / _DPI, size[1] / _DPI), dpi=_DPI, layout="constrained")
    log = bool(getattr(state, "log_scale", False))
    if metrics:
        loss_ax, metric_ax = figure.subplots(1, 2, width_ratios=[3, 2])
    else:
        loss_ax, metric_ax = figure.subplots(), None
    x, raw = lines["step_loss"]
    _, smooth = lines["smoothed_loss"]
    if len(raw):
        loss_ax.plot(
            *_thin(x, raw),
            color=SPLIT_COLOURS["train"],
            alpha=STEP_ALPHA,
            linewidth=0.8,
            label="loss per step",
        )
        loss_ax.plot(*_thin(x, smooth), color=SPLIT_COLOURS["train"], linewidth=1.6, label="smoothed")
    for split in ("train", "valid"):
        if f"{split}_loss" in lines:
            loss_ax.plot(*lines[f"{split}_loss"], label=split, **_style(split))
    values = np.concatenate([raw] + [lines[k][1] for k in ("train_loss", "valid_loss") if k in lines])
    finite = values[np.isfinite(values) & ((values > 0) if log else True)]
    if log:
        loss_ax.set_yscale("log")
    if len(finite):
        low, high = loss_limits(float(finite.min()), float(finite.max()), log=log)
        loss_ax.set_ylim(low, high)
    loss_ax.set_ylabel("loss", fontsize=FONT_SIZE)
    if metric_ax is not None:
        shown = []
        for series in metrics:
            if series.key in lines:
                metric_ax.plot(
                    *lines[series.key], label=f"{series.split} {series.name}", **_style(series.split)
                )
                shown.append(lines[series.key][1])
        names = list(dict.fromkeys(series.name for series in metrics))
        metric_ax.set_ylabel(names[0] if len(names) == 1 else "metric", fontsize=FONT_SIZE)
        kept = np.concatenate(shown) if shown else np.empty(0)
        kept = kept[np.isfinite(kept)]
        if len(kept):
            metric_ax.set_ylim(*metric_limits(float(kept.min()), float(kept.max())))
        if len(names) > 1:
            metric_ax.legend(fontsize=FONT_SIZE - 1, loc="best")
    x_values = np.concatenate([lines[key][0] for key in lines])
    x_values = x_values[np.isfinite(x_values)]
    x_end = axis_end(float(x_values.max())) if len(x_values) and x_values.max() > 0 else 1.0
    for axes in (loss_ax, metric_ax):
        if axes is None:
            continue
        axes.set_xlim(0, x_end)
        axes.grid(True, alpha=0.3)
        axes.tick_params(labelsize=FONT_SIZE)
        axes.set_xlabel(
            "epoch" if getattr(state, "x_axis", "steps") == "epochs" else "step", fontsize=FONT_SIZE
        )
    if len(raw) or "train_loss" in lines:
        loss_ax.legend(fontsize=FONT_SIZE - 1, loc="upper right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
