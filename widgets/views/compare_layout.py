"""When to lay a live figure out again: only when its texts need more room than the last layout gave.

Constrained layout costs tens of milliseconds (it measures every tick label),
several times a blitted frame. Limits that grow mostly swap tick labels for
others of the same width, so `Relayout.arrange` runs the layout again only when
a label, a scale or a tick label's width changed for the wider. Used by
`Compare` and `GradientFlow`.
"""

from __future__ import annotations

import math

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .style import FONT_SIZE


class Relayout:
    """Constrained layout for one figure, run again only when its texts need it (see the module)."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self._engine = ConstrainedLayoutEngine()
        self._arranged: tuple[tuple, tuple[float, ...]] | None = None

    def forget(self) -> None:
        """The figure was rebuilt: lay it out at the next `arrange()`."""
        self._arranged = None

    def arrange(self) -> bool:
        """Lay the figure out if its texts changed or grew since the last layout; True when it did."""
        texts, widths = self._texts()
        if self._arranged is not None:
            before_texts, before_widths = self._arranged
            if texts == before_texts and all(now <= before for now, before in zip(widths, before_widths, strict=True)):
                return False
        self._engine.execute(self.figure)
        self._arranged = texts, widths
        return True

    def _texts(self) -> tuple[tuple, tuple[float, ...]]:
        renderer = self.figure.canvas.get_renderer()
        font = FontProperties(size=FONT_SIZE)
        texts: list = []
        widths: list[float] = []
        for ax in self.figure.axes:
            texts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_xscale(), ax.get_yscale()]
            for axis, limits in ((ax.yaxis, ax.get_ylim()), (ax.xaxis, ax.get_xlim())):
                labels = _labels(axis, *sorted(limits))
                widths.append(max((renderer.get_text_width_height_descent(text, font, ismath="$" in text)[0]
                                   for text in labels), default=0.0))
        return tuple(texts), tuple(widths)


def _labels(axis: Axis, low: float, high: float) -> list[str]:
    """The tick labels an axis shows between its limits, major and minor."""
    labels: list[str] = []
    for locator, formatter in ((axis.get_major_locator(), axis.get_major_formatter()),
                               (axis.get_minor_locator(), axis.get_minor_formatter())):
        locs = [loc for loc in locator() if low <= loc <= high and math.isfinite(loc)]
        labels += [text for text in formatter.format_ticks(locs) if text]
    return labels
