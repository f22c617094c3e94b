"""The kernels of a convolution as one mosaic of small pictures: layout and colours, plain numpy.

Each kernel (one output channel's weights for one input channel, `kh x kw`)
becomes a cell of `kh * zoom` by `kw * zoom` pixels; cells sit in a grid of
`columns`, in reading order, separated and framed by lines of a gap colour.
A weight's colour comes from a 256-entry lookup table over a symmetric range:
the most negative colour at `-limit`, the middle at 0, the most positive at
`+limit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALES = ("layer", "kernel")


@dataclass(frozen=True)
class MosaicLayout:
    """Where each of `cells` kernels of `kernel` (kh, kw) goes: `columns` per row, `zoom` pixels per weight."""

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


def colour_codes(kernels: np.ndarray, scale: str = "layer") -> tuple[np.ndarray, np.ndarray]:
    """Lookup-table indices (0..255, uint8) of weights `[cells, kh, kw]`, and the limit each cell was scaled by.

    `scale="layer"`: one limit for every cell, the largest finite |weight|, so
    cells compare with each other. `scale="kernel"`: each cell by its own
    largest |weight|, so a weak kernel's pattern shows too. A limit of 0 (all
    weights zero) becomes 1. Non-finite weights get code 0 and are coloured
    apart by `render_mosaic` through `finite`.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    values = np.asarray(kernels, dtype=np.float64)
    finite = np.isfinite(values)
    magnitude = np.where(finite, np.abs(values), 0.0)
    if scale == "layer":
        limits = np.full(len(values), magnitude.max(initial=0.0))
    else:
        limits = magnitude.reshape(len(values), -1).max(axis=1, initial=0.0)
    limits = np.where(limits > 0, limits, 1.0)
    scaled = np.where(finite, values, 0.0) / limits[:, None, None]
    codes = np.clip(np.round((scaled + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return codes, limits


def render_mosaic(kernels: np.ndarray, layout: MosaicLayout, lut: np.ndarray, gap_rgb: tuple[int, int, int],
                  bad_rgb: tuple[int, int, int], scale: str = "layer") -> tuple[np.ndarray, np.ndarray]:
    """The mosaic as an RGB uint8 array `[height, width, 3]`, and the limit of each cell (see `colour_codes`).

    `kernels` holds `layout.cells` kernels `[cells, kh, kw]`; `lut` is 256 RGB
    rows (uint8); non-finite weights are drawn in `bad_rgb`.
    """
    values = np.asarray(kernels)
    if values.shape != (layout.cells, *layout.kernel):
        raise ValueError(f"expected kernels of shape {[layout.cells, *layout.kernel]}, got {list(values.shape)}")
    codes, limits = colour_codes(values, scale)
    pixels = np.asarray(lut, dtype=np.uint8)[codes]
    pixels[~np.isfinite(values)] = bad_rgb
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
    return mosaic, limits
