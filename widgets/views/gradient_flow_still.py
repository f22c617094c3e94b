"""GradientFlow as a still PNG, drawn by matplotlib from the same rows the page draws.

Used for `GradientFlow.snapshot_png()`, GIF frames and the image a stored
notebook shows where no JavaScript runs; never on the training loop. The
axes and the colour key sit in pixel boxes `still_boxes` gives, so a test can
find them in the PNG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np

from .axes import nice_limits
from .curve_data import axis_end, decimate

_DPI = 100
_FONT_SIZE = 8
_MAX_LABELLED = 12  # layers named on the colour key; beyond, every k-th and the last
_NAME_LENGTH = 20
EMPTY_LIMITS = (1e-3, 1.0)
"""The norm axis before any gradient was recorded."""


def short_name(name: str) -> str:
    """A layer name cut from the left to fit the colour key ("…layers.3 Linear")."""
    return name if len(name) <= _NAME_LENGTH else "…" + name[-(_NAME_LENGTH - 1):]


def labelled(layers: int) -> list[int]:
    """Which layers the key names: all up to 12, else every k-th and the last."""
    every = max(1, math.ceil(layers / _MAX_LABELLED))
    return sorted(set(range(0, layers, every)) | {layers - 1})


def still_boxes(
    size: tuple[int, int], layers: Sequence[str]
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """((left, top, right, bottom) of the axes, the same of the key's colour strip), in the PNG's pixels."""
    width, height = size
    longest = max((len(short_name(layers[i])) for i in labelled(len(layers))), default=0)
    key_width = 14
    text_width = int(6 * longest) + 40  # tick labels at 8 points, and the key's "layer" label
    top, bottom = 10, height - 42
    strip_right = width - text_width
    strip_left = strip_right - key_width
    plot_right = strip_left - 14
    return (58, top, plot_right, bottom), (strip_left, top, strip_right, bottom)


def norm_limits(norms: np.ndarray) -> tuple[float, float]:
    """Whole decades around the positive finite norms (`EMPTY_LIMITS` when there are none)."""
    values = np.asarray(norms, dtype=np.float64)
    positive = values[np.isfinite(values) & (values > 0)]
    if not len(positive):
        return EMPTY_LIMITS
    low, high = nice_limits(float(positive.min()), float(positive.max()), log=True)
    return (low, high * 10) if high <= low else (low, high)


def render_gradients(steps: np.ndarray, norms: np.ndarray, layers: Sequence[str], colours: Sequence[str],
                     size: tuple[int, int]) -> bytes:
    """PNG bytes: one line per layer (`norms[:, i]` over `steps`) on a log axis, and a colour key naming the
    layers.

    Zero norms lie on the axis's bottom edge; NaN (no gradient) leaves a gap.
    `size` is (width, height) in pixels.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure

    width, height = size
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    (left, top, right, bottom), (key_left, _, key_right, _) = still_boxes(size, layers)

    def place(x0: int, x1: int) -> tuple[float, float, float, float]:
        return x0 / width, 1 - bottom / height, (x1 - x0) / width, (bottom - top) / height

    ax = figure.add_axes(place(left, right))
    low, high = norm_limits(norms)
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    ax.set_xlim(0.0, axis_end(float(steps[-1])) if len(steps) and steps[-1] > 0 else 1.0)
    runs = max(1, right - left)
    for index, colour in enumerate(colours):
        column = np.asarray(norms[:, index], dtype=np.float64)
        rows = decimate(column, runs) if len(column) > 4 * runs else slice(None)
        values = column[rows]
        # above the axes' frame, so a zero norm on the bottom edge shows
        ax.plot(
            steps[rows],
            np.where(values <= 0, low, values),
            color=colour,
            linewidth=1.2,
            zorder=3,
            clip_on=False,
        )
    if not len(steps):
        ax.text(0.5, 0.5, "no gradients yet", transform=ax.transAxes, ha="center", va="center",
                fontsize=_FONT_SIZE, color="#777777")
    ax.set_xlabel("step", fontsize=_FONT_SIZE)
    ax.set_ylabel("gradient norm", fontsize=_FONT_SIZE)
    ax.tick_params(labelsize=_FONT_SIZE)
    ax.grid(True, alpha=0.3)
    count = len(layers)
    key = ScalarMappable(
        norm=BoundaryNorm(np.arange(count + 1) - 0.5, count), cmap=ListedColormap(list(colours))
    )
    ticks = labelled(count)
    bar = figure.colorbar(key, cax=figure.add_axes(place(key_left, key_right)), ticks=ticks)
    bar.ax.set_yticklabels([short_name(layers[i]) for i in ticks], fontsize=_FONT_SIZE)
    bar.ax.invert_yaxis()  # the input layer on top, as a model is printed
    bar.set_label("layer", fontsize=_FONT_SIZE)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
