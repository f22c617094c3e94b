"""lr_find: the learning-rate range test of `widgets.training.lr_range`, with its plot.

`lr_find(trainer)` returns an `LRFindResult`: the sweep's numbers (`lrs`,
`losses`, `smoothed`, `suggestion`, ...) and a picture of them, shown when the
result is the last line of a cell: the loss against a logarithmic learning-rate
axis, faint per batch and solid smoothed, in the training colour, with the
suggested rate marked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..training.lr_range import DIVERGE, LRSweep, lr_range_test
from .style import FONT_SIZE, MARK_COLOUR, STEP_ALPHA, split_colour

FIGSIZE = (5.0, 3.2)


@dataclass(frozen=True, repr=False)
class LRFindResult(LRSweep):
    """A range test's numbers (see `LRSweep`) that show as a plot in a notebook (`png`, `_repr_png_`)."""

    @cached_property
    def png(self) -> bytes:
        """The plot as PNG bytes."""
        return plot_sweep(self)

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        suggestion = "None" if self.suggestion is None else f"{self.suggestion:.2e}"
        return f"LRFindResult(steps={len(self.lrs)} of {self.steps}, suggestion={suggestion})"


def lr_find(trainer: Any, start: float = 1e-6, end: float = 1.0, steps: int = 100, *,
            smoothing: float = 0.9, diverge: float = DIVERGE) -> LRFindResult:
    """Run the learning-rate range test on copies of the trainer's model and optimizer; the trainer is left as
    it was.

    The rate grows geometrically from `start` to `end` over at most `steps`
    batches of the training loader and stops once the loss diverges (not
    finite, or the smoothed loss above `diverge` times its lowest). The
    suggestion is the rate of the steepest fall of the smoothed loss, at most a
    tenth of the rate of its lowest point; a loss that goes below zero diverges
    by its rise over its lowest (see `widgets.training.lr_range.diverged`).
    """
    sweep = lr_range_test(trainer, start, end, steps, smoothing=smoothing, diverge=diverge)
    return LRFindResult(**{name: getattr(sweep, name) for name in LRSweep.__dataclass_fields__})


def plot_sweep(sweep: LRSweep, figsize: tuple[float, float] = FIGSIZE, dpi: int = 80) -> bytes:
    """PNG bytes of a sweep: loss per batch (faint) and smoothed (solid) on a log-lr axis, the suggestion
    marked."""
    figure = Figure(figsize=figsize, dpi=dpi)
    width, height = figsize
    # Margins in inches, set by hand: constrained layout would cost more than the drawing (log-axis minor
    # ticks).
    figure.subplots_adjust(
        left=0.65 / width, right=1 - 0.2 / width, bottom=0.5 / height, top=1 - 0.4 / height
    )
    ax = figure.add_subplot()
    colour = split_colour("train")
    ax.plot(sweep.lrs, sweep.losses, color=colour, alpha=STEP_ALPHA, linewidth=0.8)
    ax.plot(sweep.lrs, sweep.smoothed, color=colour, linewidth=1.6)
    handles = [
        Line2D([], [], color=colour, alpha=STEP_ALPHA, linewidth=2),
        Line2D([], [], color=colour, linewidth=1.6),
    ]
    labels = ["loss per batch", "smoothed"]
    if sweep.suggestion is not None:
        at = int(np.searchsorted(sweep.lrs, sweep.suggestion))
        ax.axvline(sweep.suggestion, color=MARK_COLOUR, linestyle=":", linewidth=1)
        ax.plot([sweep.suggestion], [sweep.smoothed[at]], "o", color=MARK_COLOUR, markersize=5)
        handles.append(Line2D([], [], color=MARK_COLOUR, linestyle=":", marker="o", markersize=5))
        labels.append(f"suggested lr {sweep.suggestion:.1e}")
    ax.set_xscale("log")
    ax.set_xlim(sweep.start, sweep.end)
    low, high = float(sweep.losses.min()), float(max(sweep.smoothed.max(), sweep.smoothed[0]))
    margin = 0.08 * (high - low) if high > low else 0.1 * abs(high) or 1.0
    ax.set_ylim(low - margin, high + margin)  # a last batch far above the curve is cut, not the curve
    ax.set_xlabel("learning rate", fontsize=FONT_SIZE)
    ax.set_ylabel("loss", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.grid(True, alpha=0.3)
    figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles),
                  fontsize=FONT_SIZE, frameon=False, handlelength=1.6, columnspacing=1.0, borderaxespad=0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
