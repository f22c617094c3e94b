"""Checks of single settings: each names the setting, what it expects and what came."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


def shown(value: Any) -> str:
    """A value as an error message shows it: its type, then its repr (cut when long)."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high]; bools and floats are refused."""
    span = f"from {low} to {high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int {span}, got {shown(value)}")
    value = int(value)
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an int {span}, got {value}")
    return value


def real(name: str, value: Any, low: float, high: float = math.inf, *, open_high: bool = False,
         open_low: bool = False) -> float:
    """`value` as a finite float in the range [low, high] (ends excluded where asked)."""
    left, right = "(" if open_low else "[", ")" if open_high or high == math.inf else "]"
    span = f"in {left}{low:g}, {high:g}{right}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number {span}, got {shown(value)}")
    value = float(value)
    below = value <= low if open_low else value < low
    above = value >= high if open_high else value > high
    if not math.isfinite(value) or below or above:
        raise ValueError(f"{name} must be a number {span}, got {value!r}")
    return value


def choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """`value` if it is one of `choices`."""
    if (isinstance(value, str) or value is None) and value in choices:  # no == on arrays or odd objects
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {shown(value)}")


def seed(name: str, value: Any) -> int:
    """A seed for torch.manual_seed: an int from 0 to 2**63 - 1."""
    return integer(name, value, 0, 2**63 - 1)
