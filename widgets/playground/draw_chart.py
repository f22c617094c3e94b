"""The Playground's small loss chart as an RGB picture: train and test loss over the steps or epochs so far.

numpy and Pillow only. One fixed axis rule, so the chart never jumps about:
the y axis starts at 0 and its top is the largest loss seen; the x axis spans
the longer series from its first to its last entry. A long series is thinned
to each pixel column's extremes, so a frame costs the same at any length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from widgets.views.curve_data import decimate
from widgets.views.style import SPLIT_COLOURS

BACKGROUND = (255, 255, 255)
BASELINE = (200, 200, 200)  # the line of loss 0
LINE_WIDTH = 2
PAD = 2  # pixels kept clear at the edges, so a line at the top or the ends is drawn whole


def draw_loss_chart(train: Sequence[float], test: Sequence[float] | None = None, *,
                    width: int = 300, height: int = 80) -> np.ndarray:
    """Train loss (in the train colour) and test loss (in the test colour) as lines on a `width` x `height`
    picture.

    Entry i of each series is drawn at the same x, so both should be recorded
    at the same moments (per epoch, or every k steps). Non-finite entries leave
    a gap; negative ones are drawn at 0.
    """
    for name, size, least in (("width", width, 2 * PAD + 2), ("height", height, 2 * PAD + 2)):
        if isinstance(size, bool) or not isinstance(size, int) or size < least:
            raise ValueError(f"{name} must be an int of at least {least} pixels, got {size!r}")
    series = [(_series(train, "train"), "train")]
    if test is not None:
        series.append((_series(test, "test"), "test"))
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    pen = ImageDraw.Draw(canvas)
    bottom = height - 1 - PAD
    pen.line([(0, bottom), (width - 1, bottom)], fill=BASELINE, width=1)
    top = chart_top(*(values for values, _ in series))
    count = max(len(values) for values, _ in series)
    if top > 0 and count > 0:
        for values, split in series:
            _plot(pen, values, split, count, top, width, bottom)
    return np.asarray(canvas).copy()


def chart_top(*series: np.ndarray) -> float:
    """The loss at the chart's top: the largest finite value of the series (0 when there is none)."""
    finite = [v[np.isfinite(v)] for v in series]
    return max((float(v.max()) for v in finite if v.size), default=0.0)


def _series(values: Sequence[float], name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one loss per step or epoch [N], got shape {list(array.shape)}")
    return array


def _plot(pen: ImageDraw.ImageDraw, values: np.ndarray, split: str, count: int, top: float, width: int,
          bottom: int) -> None:
    rows = np.arange(len(values))
    if len(values) > 2 * width:
        rows = decimate(values, width)
    span = max(count - 1, 1)
    x = PAD + rows / span * (width - 1 - 2 * PAD)
    y = bottom - np.clip(values[rows], 0, top) / top * (bottom - PAD)
    colour = SPLIT_COLOURS[split]
    finite = np.isfinite(y)
    # one polyline per run of finite values: a NaN or inf breaks the line
    breaks = np.flatnonzero(np.diff(finite.astype(np.int8))) + 1
    for start, end in zip(np.r_[0, breaks], np.r_[breaks, len(y)]):
        if not finite[start]:
            continue
        points = np.column_stack([x[start:end], y[start:end]]).ravel().tolist()
        if end - start == 1:
            pen.ellipse([points[0] - 1, points[1] - 1, points[0] + 1, points[1] + 1], fill=colour)
        else:
            pen.line(points, fill=colour, width=LINE_WIDTH, joint="curve")
