"""FilterGrid as a still PNG, drawn by matplotlib from the same colour codes the page paints.

The mosaic and the key are placed pixel for pixel (`Figure.figimage`, no
resampling) where `kernel_mosaic.frame_geometry` says, as the page does, so
every weight is a square of whole pixels. Used for `snapshot_png()`, GIF
frames and the image a stored notebook shows; never on the training loop.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .kernel_mosaic import GAP_COLOUR, LEVELS, FrameGeometry, MosaicLayout, hex_rgb, paint_mosaic

_DPI = 100
_FONT_SIZE = 7.5


def key_labels(limit: float, scale: str) -> tuple[str, str, str]:
    """The texts under the key's left end, middle and right end."""
    if scale == "kernel":
        return "-max |w|", "0", "max |w|"
    return f"{-limit:.2g}", "0", f"{limit:.2g}"


def render_filters(
    state: Any,
    layout: MosaicLayout,
    geometry: FrameGeometry,
    palette: np.ndarray,
    *,
    title: str,
    caption: str,
    scale: str,
) -> bytes:
    """PNG bytes of the grid: `state` brings `codes` [cells, kh, kw], `limits` [cells] and `step`."""
    from matplotlib.figure import Figure

    width, height = geometry.width, geometry.height
    # Half a pixel more, so that the canvas rounds to exactly these pixels.
    figure = Figure(figsize=((width + 0.5) / _DPI, (height + 0.5) / _DPI), dpi=_DPI)
    figure.patch.set_facecolor("white")
    left, top, _, bottom = geometry.grid
    mosaic = paint_mosaic(np.asarray(state.codes), layout, palette, hex_rgb(GAP_COLOUR))
    figure.figimage(mosaic, xo=left, yo=height - bottom, origin="upper")  # figimage counts from the bottom
    key_left, key_top, key_right, key_bottom = geometry.key
    levels = np.linspace(0, LEVELS - 1, key_right - key_left).round().astype(int)
    strip = np.repeat(palette[None, levels], key_bottom - key_top, axis=0)
    figure.figimage(strip, xo=key_left, yo=height - key_bottom, origin="upper")

    def text(x: float, y: float, words: str, **kwargs: Any) -> None:
        figure.text(x / width, 1 - y / height, words, fontsize=_FONT_SIZE, va="top", **kwargs)

    text(geometry.margin, geometry.margin, title)
    low, middle, high = key_labels(float(state.limits[0]), scale)
    text(key_left, geometry.labels_top, low, ha="center")
    text((key_left + key_right) / 2, geometry.labels_top, middle, ha="center")
    text(key_right, geometry.labels_top, high, ha="center")
    text(geometry.margin, geometry.caption_top, caption, color="#555555")
    text(width - geometry.margin, geometry.caption_top, f"step {int(state.step):,}", ha="right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
