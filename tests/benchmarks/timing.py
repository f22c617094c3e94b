"""Shared helpers for the benchmarks: alternating timed runs, medians, a printed table.

Benchmarks print figures; they never assert on time. Run one with
`python tests/benchmarks/bench_trainer.py` (one torch thread, as in the tests).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence


def time_call(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes, by the monotonic performance clock."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(
    runs: dict[str, Callable[[], object]], rounds: int = 5, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each named callable `rounds` times, interleaved (A B A B ...), after `warmup` untimed rounds.

    Interleaving spreads slow phases of a shared machine over every contender
    instead of charging them to whichever ran at that moment. A full garbage
    collection before each timed call (not timed) clears what the previous
    call left, so no contender pays for another's garbage.
    """
    for _ in range(warmup):
        for fn in runs.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            gc.collect()
            times[name].append(time_call(fn))
    return times


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return statistics.median(values)


def repeat(fn: Callable[[], object], count: int) -> list[float]:
    """Seconds of each of `count` consecutive calls of `fn`."""
    return [time_call(fn) for _ in range(count)]


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain-text table with right-aligned columns under a title."""
    cells = [[str(h) for h in header]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
