"""The decision boundary as a still PNG, drawn by matplotlib from the frame the page draws.

Used for `DecisionBoundary.snapshot_png()`, GIF frames and the image a stored
notebook shows where no JavaScript runs; never on the training loop. The
field is laid out with the page's margins, so a data point falls on the same
pixel in the still and on the canvas.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .style import FONT_SIZE, TITLE_SIZE

_DPI = 100
_POINT_SIZE = 16  # points², as the page's radius of 2.5 pixels


def render_field(field_rgb: np.ndarray, points: np.ndarray, point_rgb: np.ndarray, train_count: int,
                 wrong: np.ndarray, caption: str, title: str, bounds: Sequence[float], size: tuple[int, int],
                 margins: Mapping[str, int]) -> bytes:
    """PNG bytes of a boundary frame.

    `field_rgb`: the field's colours, uint8 [R, R, 3], row 0 at the bottom
    (the codes through the palette); `points` [N, 2] with their colours
    `point_rgb` [N, 3] in 0..1, the first `train_count` for training (circles),
    the rest for validation (triangles); `wrong`: which points to cross out;
    `bounds`: (x0, x1, y0, y1) of the plane; `size` (width, height) and
    `margins` (left, right, top, bottom) in pixels.
    """
    width, height = size
    x0, x1, y0, y1 = bounds
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    left, bottom = margins["left"] / width, margins["bottom"] / height
    ax = figure.add_axes(
        (left, bottom, 1 - left - margins["right"] / width, 1 - bottom - margins["top"] / height)
    )
    side = field_rgb.shape[0]
    # the grid's outer points lie on the box's edges: each cell reaches half a step beyond them
    half_x, half_y = (x1 - x0) / (side - 1) / 2, (y1 - y0) / (side - 1) / 2
    ax.imshow(field_rgb, origin="lower", extent=(x0 - half_x, x1 + half_x, y0 - half_y, y1 + half_y),
              interpolation="bilinear", aspect="auto")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    train = np.arange(len(points)) < train_count
    for part, marker, edge in ((train, "o", "white"), (~train, "^", "black")):
        if part.any():
            ax.scatter(
                points[part, 0],
                points[part, 1],
                s=_POINT_SIZE,
                c=point_rgb[part],
                marker=marker,
                edgecolors=edge,
                linewidths=0.5,
            )
    if wrong.any():
        ax.scatter(
            points[wrong, 0], points[wrong, 1], s=_POINT_SIZE * 1.6, c="black", marker="x", linewidths=1.2
        )
    if caption:
        ax.text(0.02, 0.98, caption, transform=ax.transAxes, va="top", ha="left", fontsize=FONT_SIZE,
                bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.5})
    ax.set_title(title, fontsize=TITLE_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
