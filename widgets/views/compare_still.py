"""The comparison of runs as a still PNG, drawn by matplotlib from the same lines the page draws.

Used for `Compare.snapshot_png()`, GIF frames and the image a stored notebook
shows where no JavaScript runs; never on the training loop's pace.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from .compare_state import CompareState
from .curve_data import axis_end, decimate, loss_limits, metric_limits, tick_text
from .style import FONT_SIZE, SPLIT_LINES

_DPI = 100
_MAX_RUNS = 800  # min/max runs a long step column is thinned to: two per pixel column or more
_MAX_MARKERS = 60


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = decimate(y, _MAX_RUNS) if len(y) > 4 * _MAX_RUNS else slice(None)
    return x[rows], y[rows]


def _pattern(split: str) -> tuple[str, Any]:
    """(marker, line style) of a split from the shared style: "s--" is marker "s", line "--"."""
    return SPLIT_LINES[split][0], SPLIT_LINES[split][1:]


def render_compare(lines: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]], state: CompareState,
                   size: tuple[int, int]) -> bytes:
    """PNG bytes of a comparison: `lines` as `compare_series` gives them, `state` a `CompareState`.

    A panel per entry of `state.panels`, one colour per run, training solid and
    validation dashed with square markers, the legend right of the panels;
    `size` is (width, height) in pixels.
    """
    figure = Figure(figsize=(size[0] / _DPI, size[1] / _DPI), dpi=_DPI, layout="constrained")
    panels = list(state.panels)
    axes = dict(zip(panels, figure.subplots(1, len(panels), squeeze=False)[0], strict=True))
    log = bool(state.log_scale)
    colours = {run.name: run.colour for run in state.runs}
    x_high = 0.0
    for (run, panel, split), (x, y) in lines.items():
        if not len(x):
            continue
        marker, linestyle = _pattern(split)
        if (panel, split) == ("loss", "train"):
            x, y, marker = *_thin(x, y), "None"  # the loss per step: too dense for markers
        axes[panel].plot(
            x,
            y,
            color=colours[run],
            linestyle=linestyle,
            marker=marker,
            markersize=3.5,
            linewidth=1.5,
            markevery=max(1, len(x) // _MAX_MARKERS),
        )
        finite = x[np.isfinite(x)]
        if len(finite):
            x_high = max(x_high, float(finite.max()))
    for panel, ax in axes.items():
        values = [y for (_, line_panel, _), (_, y) in lines.items() if line_panel == panel and len(y)]
        ys = np.concatenate(values) if values else np.empty(0)
        ys = ys[np.isfinite(ys) & ((ys > 0) if log and panel == "loss" else True)]
        if log and panel == "loss":
            ax.set_yscale("log")
        if len(ys):
            low, high = float(ys.min()), float(ys.max())
            ax.set_ylim(*(loss_limits(low, high, log=log) if panel == "loss" else metric_limits(low, high)))
        ax.set_xlim(0.0, axis_end(x_high) if x_high > 0 else 1.0)
        ax.set_ylabel(panel, fontsize=FONT_SIZE)
        ax.set_xlabel("epoch" if state.x_axis == "epochs" else "step", fontsize=FONT_SIZE)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=FONT_SIZE)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: tick_text(value)))
    handles = [Line2D([], [], color=colour, linewidth=2.5) for colour in colours.values()]
    longest = max(8, int(0.3 * size[0] / (0.6 * FONT_SIZE * _DPI / 72)))  # characters in 30% of the width
    labels = [name if len(name) <= longest else name[: longest - 1] + "…" for name in colours]
    for split in ("train", "valid") if any(run.valid for run in state.runs) else ("train",):
        marker, linestyle = _pattern(split)
        handles.append(
            Line2D([], [], color="0.3", linestyle=linestyle, marker=marker, markersize=3.5, linewidth=1.5)
        )
        labels.append(split)
    rows = max(1, int(size[1] // (2.2 * FONT_SIZE * _DPI / 72)))  # entries a legend column holds
    figure.legend(handles, labels, loc="outside right upper", fontsize=FONT_SIZE, frameon=False,
                  ncols=-(-len(handles) // rows), handlelength=2.4, borderaxespad=0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()

