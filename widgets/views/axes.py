"""Axis limits that grow in steps, so a live plot's background is redrawn rarely."""

from __future__ import annotations

import math


def nice_ceiling(value: float) -> float:
    """The smallest number of the 1-2-5 series (..., 0.5, 1, 2, 5, 10, ...) at or above `value` > 0."""
    if not value > 0:
        raise ValueError(f"nice_ceiling needs a positive value, got {value!r}")
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10.0 * power


def nice_limits(lo: float, hi: float, log: bool = False) -> tuple[float, float]:
    """Axis limits around [lo, hi] rounded outwards, so they stay put while data moves a little.

    Linear: multiples of a 1-2-5 step of about a quarter of the span. Log: whole
    powers of ten (`lo` must then be positive).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"nice_limits needs finite lo <= hi, got {lo!r}, {hi!r}")
    if log:
        if not lo > 0:
            raise ValueError(f"log limits need a positive lower value, got {lo!r}")
        return 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi) + 1e-12)
    span = hi - lo
    if span <= 0:
        span = abs(hi) if hi != 0 else 1.0
    step = nice_ceiling(span / 4)
    low, high = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if high <= low:
        high = low + step
    return low, high


def covers(limits: tuple[float, float] | None, lo: float, hi: float) -> bool:
    """Do the current `limits` already hold [lo, hi]? (No change of axes needed then.)"""
    return limits is not None and limits[0] <= lo and hi <= limits[1]
