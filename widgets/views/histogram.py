"""A histogram on one matplotlib Axes whose limits move in steps, for cheap live frames.

The bins cover the whole x range of the axes, which is rounded outwards to a
1-2-5 step and only changes when the data leaves it or shrinks to a small part
of it. The y axis carries no ticks, so its limit can follow the peak without
touching the background. Between x re-layouts a frame only changes the counts,
so the figure's cached background stays valid.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from .axes import covers, nice_limits
from .style import FONT_SIZE

BINS = 40
TICK_SPACING = 0.6
"""Inches between two x tick labels at least: wide enough for "−0.025" at the project's font size."""


class HistogramPanel:
    """One live histogram: `update(values)` sets the counts and says if the axes' limits moved."""

    def __init__(self, axes: Axes, color: str) -> None:
        self.axes = axes
        self.edges = np.linspace(-1.0, 1.0, BINS + 1)
        self.counts = np.zeros(BINS)
        self.stairs = axes.stairs(self.counts, self.edges, fill=True, color=color)
        self.note = axes.text(
            0.5, 0.5, "", transform=axes.transAxes, ha="center", va="center", color="0.4", fontsize=FONT_SIZE
        )
        self._xlim: tuple[float, float] | None = None
        self._ytop = 1.0
        axes.set_ylim(0, self._ytop)
        self._initial_xlim = axes.get_xlim()
        axes.tick_params(labelsize=FONT_SIZE)
        axes.xaxis.get_offset_text().set_fontsize(FONT_SIZE)
        axes.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))  # short labels; the power goes in the offset
        width = axes.get_position().width * axes.figure.get_figwidth()
        # one tick label per TICK_SPACING inches at most, so labels of a narrow panel do not collide
        bins = max(2, min(4, int(width / TICK_SPACING)))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 4, 5, 10], min_n_ticks=2))
        axes.set_yticks([])

    def artists(self) -> tuple:
        """The artists that change from frame to frame."""
        return self.stairs, self.note

    def clear(self, note: str) -> None:
        """Show no bars, only `note` (e.g. "no gradient yet")."""
        self.counts = np.zeros(BINS)
        self.stairs.set_data(self.counts, self.edges)
        self.note.set_text(note)

    def forget_limits(self) -> None:
        """Back to the initial limits; the next `update` chooses limits afresh (another tensor, or a reset)."""
        self._xlim = None
        self._ytop = 1.0
        self.axes.set_xlim(*self._initial_xlim)
        self.axes.set_ylim(0, self._ytop)

    def update(self, values: torch.Tensor) -> bool:
        """Histogram the finite `values`; True when the x limits changed (the background must be redrawn)."""
        flat = values.detach().to("cpu", torch.float32).flatten()
        finite = torch.isfinite(flat)
        if not bool(finite.all()):
            flat = flat[finite]
        if flat.numel() == 0:
            self.clear("no finite values")
            return False
        self.note.set_text("")
        low, high = torch.aminmax(flat)
        relayout = self._fit_x(float(low), float(high))
        # equal bins over the axis range: histc counts in one pass
        self.counts = torch.histc(flat, bins=BINS, min=float(self.edges[0]), max=float(self.edges[-1])).numpy()
        self.stairs.set_data(self.counts, self.edges)
        self._fit_y(float(self.counts.max()))
        return relayout

    def _fit_x(self, low: float, high: float) -> bool:
        # Gradients change their range from batch to batch: the limits take a wide margin when
        # they move and shrink only when the data fills less than a tenth of them, so most
        # frames keep the cached background.
        if covers(self._xlim, low, high) and (high == low or (high - low) >= 0.1 * (self._xlim[1] - self._xlim[0])):
            return False  # a constant tensor (all-zero gradients of dead units) inside the limits needs no new axes
        span = high - low
        if span <= 0:
            span = max(abs(low) * 0.2, 1e-6)
        self._xlim = nice_limits(low - 0.5 * span, high + 0.5 * span)
        self.edges = np.linspace(self._xlim[0], self._xlim[1], BINS + 1)
        self.axes.set_xlim(*self._xlim)
        return True

    def _fit_y(self, peak: float) -> None:
        if peak <= self._ytop and (peak >= 0.3 * self._ytop or self._ytop <= 1.0):
            return
        self._ytop = max(1.0, peak * 1.5)
        self.axes.set_ylim(0, self._ytop)  # no y ticks: the background does not change
