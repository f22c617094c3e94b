"""Frame: one matplotlib Figure on an Agg canvas, shown through one ipywidgets Image.

A frame is a cached background plus the changed artists, encoded as PNG and
set as the Image's value: no clear_output, no display, no new figure per update.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

import ipywidgets as ipw
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from .png import encode_png

# Every Figure a Frame made and that is still alive; lets tests and users check for leaks.
_live_figures: weakref.WeakSet[Figure] = weakref.WeakSet()


class Frame:
    """One matplotlib Figure on an Agg canvas, shown through one `ipywidgets.Image`.

    Typical use: build the axes on `figure`, mark the artists that change with
    `animate(artist)`, call `draw_background()` whenever something static
    changes (limits, ticks, labels), and `blit()` for every frame. An image
    that fills an axes can be painted straight onto the canvas under the
    animated artists (`fill(axes, rgb)`): matplotlib's resampling of an
    image costs about 5 ms a frame, painting its pixels well under 1 ms.
    """

    def __init__(self, figsize: tuple[float, float] = (5.0, 3.5), dpi: int = 100) -> None:
        width, height = figsize
        if not (width > 0 and height > 0) or not dpi > 0:
            raise ValueError(f"figsize must be two positive inches and dpi positive, got {figsize!r} at {dpi!r}")
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.image = ipw.Image(format="png")
        self.png = b""  # the bytes last set on `image`
        self._background = None
        self._animated: list[Artist] = []
        self._fill: tuple[tuple[int, int, int, int], np.ndarray] | None = None  # (box, pixels)
        self._cells: dict[Axes, Bbox] = {}
        _live_figures.add(self.figure)

    def animate(self, *artists: Artist) -> None:
        """Mark artists as changing: left out of the background, drawn on every `blit`."""
        for artist in artists:
            artist.set_animated(True)
            if artist not in self._animated:
                self._animated.append(artist)

    @property
    def needs_background(self) -> bool:
        """True until `draw_background()` ran (again) after the frame was built or its artists forgotten."""
        return self._background is None

    def forget_artists(self) -> None:
        """Drop the animated artists, the fill and the cached background (after `figure.clear()`, before rebuilding)."""
        self._animated.clear()
        self._fill = None
        self._cells.clear()
        self._background = None

    def set_cell(self, axes: Axes, cell: Bbox) -> None:
        """Declare the figure's pixels (display units) that belong to `axes` alone: its tick labels, axis labels
        and title lie inside `cell`, and nothing else is drawn there. Such axes can be drawn again on their own."""
        self._cells[axes] = cell

    def draw_background(self, axes: Sequence[Axes] | None = None) -> None:
        """Render everything that is not animated and cache it as the background.

        With `axes` (each with a cell, `set_cell`), only those are drawn again:
        each one's cell is cleared and the axes drawn into it, the rest of the
        cached background kept. For a change that stays inside those axes
        (their limits and tick labels); a panel of two costs about half.
        """
        if axes is None or self._background is None or any(ax not in self._cells for ax in axes):
            self.canvas.draw()
        else:
            renderer = self.canvas.get_renderer()
            self.canvas.restore_region(self._background)
            pixels = np.asarray(self.canvas.buffer_rgba())
            paper = (np.asarray(self.figure.get_facecolor()) * 255).round().astype(np.uint8)
            height = pixels.shape[0]
            for ax in axes:
                cell = self._cells[ax]
                pixels[round(height - cell.y1):round(height - cell.y0), round(cell.x0):round(cell.x1)] = paper
                ax.draw(renderer)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def fill_box(self, axes: Axes) -> tuple[int, int, int, int]:
        """(top, left, height, width): the canvas pixels inside `axes`, rows counted from the top."""
        box = axes.bbox
        left, right = round(box.x0), round(box.x1)
        top, bottom = round(self.figure.bbox.height - box.y1), round(self.figure.bbox.height - box.y0)
        return top, left, bottom - top, right - left

    def fill(self, axes: Axes, rgb: np.ndarray) -> None:
        """Paint `rgb` (uint8 [height, width, 3] of `fill_box(axes)`, top row first) inside `axes` on every blit."""
        top, left, height, width = self.fill_box(axes)
        if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"fill needs uint8 pixels [{height}, {width}, 3] for this axes, got {rgb.dtype} {list(rgb.shape)}")
        self._fill = (top, left, height, width), rgb

    def blit(self, artists: Iterable[Artist] | None = None) -> bytes:
        """Restore the background, paint the fill, draw the animated (or given) artists, publish the PNG."""
        if self._background is None:
            self.draw_background()
        else:
            self.canvas.restore_region(self._background)
        if self._fill is not None:
            (top, left, height, width), rgb = self._fill
            np.asarray(self.canvas.buffer_rgba())[top:top + height, left:left + width, :3] = rgb
        renderer = self.canvas.get_renderer()
        for artist in self._animated if artists is None else artists:
            if artist.get_visible() and artist.figure is self.figure:
                artist.draw(renderer)
        return self.publish()

    def publish(self) -> bytes:
        """Encode the canvas as PNG and set it on the Image widget."""
        self.png = encode_png(self.canvas.buffer_rgba(), self.canvas.get_width_height())
        self.image.value = self.png
        return self.png

    def close(self) -> None:
        """Drop the figure and the Image widget; the frame cannot draw afterwards."""
        self._background = None
        self._animated.clear()
        self._fill = None
        self.figure.clear()
        _live_figures.discard(self.figure)
        self.image.close()


def live_figure_count() -> int:
    """Number of figures made by `Frame` that are still alive (no pyplot involved)."""
    return len(_live_figures)
