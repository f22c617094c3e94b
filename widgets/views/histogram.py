"""Histogram counts over limits that move in steps, for a live picture.

The bins cover limits rounded outwards to a 1-2-5 step, which change only when
the data leaves them or shrinks to a small part of them. Between two moves a
round sends only new counts, and the page's x axis stays still while the data
moves inside it. No matplotlib here: this runs on the training loop.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .axes import covers, nice_limits

BINS = 40
SHRINK = 0.1
"""The limits close in when the data fills less than this part of them."""
RESOLUTION = 1e-5
"""The narrowest limits around a value x span this much of |x|: float32 edges then still increase."""
_NEAR = 1e-3  # bin positions closer than this to a whole number are checked against the edges themselves
_EPS32 = float(np.finfo(np.float32).eps)


class PanelState(NamedTuple):
    """One histogram as the page draws it: `edges` (BINS + 1) and `counts` (BINS) as float32, or both
    empty and a `note`."""

    edges: np.ndarray
    counts: np.ndarray
    note: str

    @property
    def nbytes(self) -> int:
        return int(self.edges.nbytes + self.counts.nbytes) + len(self.note)

    @property
    def empty(self) -> bool:
        """True when there are no bars to draw (the note says why)."""
        return len(self.counts) == 0


class InspectorState(NamedTuple):
    """What one still of the histograms shows: the tensor's name (None: no parameters) and both panels."""

    name: str | None
    values: PanelState
    gradient: PanelState

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.gradient.nbytes + len(self.name or "")


def empty_panel(note: str) -> PanelState:
    """A panel without bars that shows `note` ("no gradient yet")."""
    return PanelState(np.zeros(0, np.float32), np.zeros(0, np.float32), note)


def equal_bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`np.histogram(values, bins=edges)[0]` for float32 `values` all inside the equally spaced float32
    `edges`.

    A few passes instead of numpy's dozen: each value's bin from its position
    (value - first edge) / width, then a bincount. Float32 rounding can put a
    value lying within a hair of an edge on the wrong side; those few are
    placed by comparing them with the edges, as numpy does.
    """
    bins = len(edges) - 1
    low, high = float(edges[0]), float(edges[-1])
    # edges far from zero are coarse
    tolerance = _NEAR + 8 * _EPS32 * max(abs(low), abs(high)) * bins / (high - low)
    if tolerance >= 0.5:
        return np.histogram(values, bins=edges)[0]
    position = values - edges[0]
    position *= np.float32(bins / (high - low))
    whole = np.floor(position)
    np.minimum(whole, bins, out=whole)
    index = whole.astype(np.intp)
    counts = np.bincount(index, minlength=bins + 1)
    counts[bins - 1] += counts[bins]  # the last edge belongs to the last bin
    counts = counts[:bins]
    position -= whole  # how far into its bin each value lies
    position -= np.float32(0.5)
    np.abs(position, out=position)
    near = np.flatnonzero(position > np.float32(0.5 - tolerance))
    if len(near):
        guessed = np.minimum(index[near], bins - 1)
        exact = np.minimum(np.searchsorted(edges, values[near], side="right") - 1, bins - 1)
        counts -= np.bincount(guessed, minlength=bins)
        counts += np.bincount(exact, minlength=bins)
    return counts


class SteppedHistogram:
    """Counts of a tensor's finite values in BINS equal bins over limits that move in steps."""

    def __init__(self) -> None:
        self.edges: np.ndarray | None = None
        """The float32 bin edges in use (None until the first tensor chooses them)."""

    @property
    def limits(self) -> tuple[float, float] | None:
        """The first and the last edge (None until the first tensor chooses them)."""
        return None if self.edges is None else (float(self.edges[0]), float(self.edges[-1]))

    def forget_limits(self) -> None:
        """Let the next tensor choose the limits afresh (another tensor was chosen, or the model was
        reset)."""
        self.edges = None

    def panel(self, values: torch.Tensor) -> PanelState:
        """The histogram of the finite `values`; equal to `np.histogram(values, bins=edges)` over the
        edges it returns."""
        flat = values.detach().to("cpu", torch.float32).reshape(-1)
        if flat.numel() == 0:
            return empty_panel("no values")
        low, high = (float(v) for v in torch.aminmax(flat))
        # a NaN makes both NaN: one pass tells all are finite
        if not (math.isfinite(low) and math.isfinite(high)):
            flat = flat[torch.isfinite(flat)]
            if flat.numel() == 0:
                return empty_panel("no finite values")
            low, high = (float(v) for v in torch.aminmax(flat))
        edges = self._fit(low, high)
        counts = equal_bin_counts(flat.numpy(), edges)
        return PanelState(edges, counts.astype(np.float32), "")

    def _fit(self, low: float, high: float) -> np.ndarray:
        """The edges for values from `low` to `high`: the ones in use, or new ones where those do not fit."""
        limits, edges = self.limits, self.edges
        if (edges is not None and limits is not None and covers(limits, low, high)
                and (high == low or high - low >= SHRINK * (limits[1] - limits[0]))):
            return edges  # a constant tensor (the zero gradients of dead units) inside the limits keeps them
        span = max(high - low, RESOLUTION * max(abs(low), abs(high)))
        if span <= 0:
            span = 1e-6
        lo, hi = nice_limits(low - 0.5 * span, high + 0.5 * span)
        self.edges = np.linspace(lo, hi, BINS + 1).astype(np.float32)  # each edge the float32 nearest to it
        return self.edges
