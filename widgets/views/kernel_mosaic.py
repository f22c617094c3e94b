"""The kernels of a convolution as one mosaic of small pictures: layout and colours, plain numpy.

Each kernel (one output channel's weights for one input channel, `kh x kw`)
becomes a cell of `kh * zoom` by `kw * zoom` pixels; cells sit in a grid of
`columns`, in reading order, separated and framed by lines of a gap colour.
A weight becomes a colour code, 0..254 over a symmetric range (0 at `-limit`,
127 at 0, 254 at `+limit`) and 255 where it is not finite; `signed_palette()`
gives each code its colour (blue, near white, red). `frame_geometry` places
the mosaic, its title, its colour key and the step in a picture; the page and the still
picture both follow it, so they agree pixel for pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALES = ("layer", "kernel")
LEVELS = 255
"""Colour codes of finite weights: 0 .. LEVELS - 1, the middle one (127) for 0."""
NOT_FINITE = 255
"""The colour code of a NaN or infinite weight."""
GAP_COLOUR = "#8c8c8c"
"""The lines between the cells: a mid grey, apart from white and every colour of the signed scale."""
NOT_FINITE_COLOUR = "#222222"
"""A NaN or infinite weight: near black, apart from every colour of the signed scale."""

# ColorBrewer's RdBu reversed (matplotlib's "RdBu_r"): blue below zero, near white at zero, red above
_SIGNED = (
    "053061",
    "2166ac",
    "4393c3",
    "92c5de",
    "d1e5f0",
    "f7f7f7",
    "fddbc7",
    "f4a582",
    "d6604d",
    "b2182b",
    "67001f",
)


@dataclass(frozen=True)
class MosaicLayout:
    """Where each of `cells` kernels of `kernel` (kh, kw) goes: `columns` per row, `zoom` pixels per
    weight."""

    cells: int
    columns: int
    kernel: tuple[int, int]
    zoom: int
    gap: int

    @property
    def rows(self) -> int:
        return math.ceil(self.cells / self.columns)

    @property
    def cell_size(self) -> tuple[int, int]:
        """(height, width) of one cell in pixels."""
        return self.kernel[0] * self.zoom, self.kernel[1] * self.zoom

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the whole mosaic in pixels, the outer frame of gap colour included."""
        height, width = self.cell_size
        return self.rows * (height + self.gap) + self.gap, self.columns * (width + self.gap) + self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """(top, left) pixel of cell `index` inside the mosaic."""
        if not 0 <= index < self.cells:
            raise IndexError(f"cell index must be in 0..{self.cells - 1}, got {index}")
        height, width = self.cell_size
        row, column = divmod(index, self.columns)
        return self.gap + row * (height + self.gap), self.gap + column * (width + self.gap)


def plan_mosaic(out_channels: int, in_channels: int, kernel: tuple[int, int], columns: int | None = None,
                cell_pixels: int = 40, gap: int = 3) -> MosaicLayout:
    """The layout of a convolution's `out_channels * in_channels` kernels.

    `columns=None` puts one output channel per row when there are several
    input channels (a row then holds that channel's kernel for every input),
    and otherwise up to 8 kernels per row. `cell_pixels` is the wanted cell
    size; the zoom is the whole number of pixels per weight closest to it.
    """
    cells = out_channels * in_channels
    if cells < 1:
        raise ValueError(f"a mosaic needs at least one kernel, got {out_channels} x {in_channels}")
    if columns is None:
        columns = in_channels if in_channels > 1 else min(out_channels, 8)
    zoom = max(1, round(cell_pixels / max(kernel)))
    return MosaicLayout(cells=cells, columns=min(columns, cells), kernel=(int(kernel[0]), int(kernel[1])),
                        zoom=zoom, gap=gap)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """(red, green, blue) 0..255 of a "#rrggbb" colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def signed_palette() -> np.ndarray:
    """The colour of every code, uint8 [256, 3]: `LEVELS` steps from blue through near white to red, then
    `NOT_FINITE`."""
    anchors = np.array([hex_rgb("#" + code) for code in _SIGNED], dtype=np.float64)
    places = np.linspace(0.0, len(anchors) - 1, LEVELS)
    palette = np.empty((256, 3), dtype=np.uint8)
    for channel in range(3):
        palette[:LEVELS, channel] = np.round(np.interp(places, np.arange(len(anchors)), anchors[:, channel]))
    palette[NOT_FINITE] = hex_rgb(NOT_FINITE_COLOUR)
    return palette


def colour_codes(kernels: np.ndarray, scale: str = "layer") -> tuple[np.ndarray, np.ndarray]:
    """Colour codes (uint8) of weights `[cells, kh, kw]`, and the limit each cell was scaled by (float64
    [cells]).

    `scale="layer"`: one limit for every cell, the largest finite |weight|, so
    cells compare with each other. `scale="kernel"`: each cell by its own
    largest |weight|, so a weak kernel's pattern shows too. A limit of 0 (all
    weights zero) becomes 1. A weight w gets code round((w / limit + 1) * 127),
    a non-finite one `NOT_FINITE`.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    values = np.asarray(kernels, dtype=np.float64)
    if values.ndim != 3 or not len(values):
        raise ValueError(
            f"expected kernels of shape [cells, kh, kw] with at least one cell, got {list(values.shape)}"
        )
    finite = np.isfinite(values)
    magnitude = np.where(finite, np.abs(values), 0.0)
    if scale == "layer":
        limits = np.full(len(values), magnitude.max(initial=0.0))
    else:
        limits = magnitude.reshape(len(values), -1).max(axis=1, initial=0.0)
    limits = np.where(limits > 0, limits, 1.0)
    scaled = np.where(finite, values, 0.0) / limits[:, None, None]
    half = (LEVELS - 1) / 2
    codes = np.clip(np.round((scaled + 1.0) * half), 0, LEVELS - 1).astype(np.uint8)
    codes[~finite] = NOT_FINITE
    return codes, limits


def paint_mosaic(
    codes: np.ndarray, layout: MosaicLayout, palette: np.ndarray, gap_rgb: tuple[int, int, int]
) -> np.ndarray:
    """The mosaic of colour codes `[cells, kh, kw]` as an RGB uint8 array `[height, width, 3]` (see
    `MosaicLayout`)."""
    codes = np.asarray(codes)
    if codes.shape != (layout.cells, *layout.kernel) or codes.dtype != np.uint8:
        raise ValueError(f"expected uint8 codes of shape {[layout.cells, *layout.kernel]}, "
                         f"got {codes.dtype} of shape {list(codes.shape)}")
    pixels = np.asarray(palette, dtype=np.uint8)[codes]
    zoom, gap = layout.zoom, layout.gap
    pixels = pixels.repeat(zoom, axis=1).repeat(zoom, axis=2)
    height, width = layout.cell_size
    slots = np.empty((layout.rows * layout.columns, height + gap, width + gap, 3), dtype=np.uint8)
    slots[:] = gap_rgb
    slots[: layout.cells, :height, :width] = pixels
    body = slots.reshape(layout.rows, layout.columns, height + gap, width + gap, 3).transpose(0, 2, 1, 3, 4)
    mosaic = np.empty((*layout.size, 3), dtype=np.uint8)
    mosaic[:] = gap_rgb
    mosaic[gap:, gap:] = body.reshape(layout.rows * (height + gap), layout.columns * (width + gap), 3)
    return mosaic


@dataclass(frozen=True)
class FrameGeometry:
    """Where things go in the picture, in pixels from its top left: the title row, the mosaic, the key and
    its text."""

    width: int
    height: int
    margin: int
    grid: tuple[int, int, int, int]
    """(left, top, right, bottom) of the mosaic, right and bottom excluded."""
    key: tuple[int, int, int, int]
    """(left, top, right, bottom) of the colour key's strip."""
    labels_top: int
    """The top of the key's three labels (-limit, 0, +limit)."""
    caption_top: int
    """The top of the last row: the key's caption on the left, the step on the right."""


_MARGIN = 8
_TEXT_BAND = 18  # a line of text
_KEY = (160, 8)  # the key strip's width and height
_MIN_WIDTH = 360


def frame_geometry(layout: MosaicLayout) -> FrameGeometry:
    """The picture around a mosaic of `layout`: a title row, the mosaic, the key strip, its labels and
    caption."""
    mosaic_height, mosaic_width = layout.size
    width = max(mosaic_width + 2 * _MARGIN, _MIN_WIDTH)
    left, top = (width - mosaic_width) // 2, _MARGIN + _TEXT_BAND
    key_top = top + mosaic_height + _MARGIN
    key_left = (width - _KEY[0]) // 2
    labels_top = key_top + _KEY[1] + 2
    caption_top = labels_top + _TEXT_BAND - 2
    return FrameGeometry(width=width, height=caption_top + _TEXT_BAND, margin=_MARGIN,
                         grid=(left, top, left + mosaic_width, top + mosaic_height),
                         key=(key_left, key_top, key_left + _KEY[0], key_top + _KEY[1]),
                         labels_top=labels_top, caption_top=caption_top)
