"""What one still of a comparison shows, as plain data: the runs at that moment and the options.

`Compare` makes it (`frame_state`), `compare_still` draws it; neither imports the other for it.
"""

from __future__ import annotations

from typing import NamedTuple


class RunState(NamedTuple):
    """One run in a still: its name and colour, its first `steps` step rows and `epochs` epoch records."""

    name: str
    colour: str
    steps: int
    epochs: int
    valid: bool
    steps_per_epoch: int | None


class CompareState(NamedTuple):
    """What one still of the comparison shows: each run's rows and records at that moment, and the options."""

    runs: tuple[RunState, ...]
    panels: tuple[str, ...]
    log_scale: bool
    x_axis: str
    smoothing: float
