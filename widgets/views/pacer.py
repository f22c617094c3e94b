"""Pacer: when the live pictures of a group send what is new.

A round costs the kernel a few milliseconds for a whole Dashboard (the page
draws), so the rule is plain: at most `fps` rounds a second, 12 by default,
every picture of the group in the same round. Twelve keeps every picture above
ten paints a second in the page while the README's Dashboard costs a long
run a few percent (a round there: about 0.3 ms for the loss curve, 0.4 ms for
the boundary, which copies the weights and leaves the forward pass of its
32 x 32 grid to the views' worker thread, 1 ms for the inspector's histograms,
and its table twice a second).

After a round, an optional real pause of `pause` seconds lets the kernel's
thread that writes messages out take the interpreter (a small model's step is
busy Python that rarely lets go of it). Measured with the README's Dashboard,
in a kernel and in JupyterLab, updates arrived at the same rate with and
without a 1 ms pause (19.8 and 19.9 a second at 20 rounds; the longest gap
0.5-1.1 s either way), so it is off by default.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Protocol


class Sender(Protocol):
    def push(self) -> bool: ...


class Pacer:
    """At most `fps` rounds a second; a round calls `push()` on every member and then pauses `pause`
    seconds."""

    def __init__(
        self, fps: float = 12.0, pause: float = 0.0, time_fn: Callable[[], float] = time.perf_counter
    ) -> None:
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 120:
            raise ValueError(f"fps must be a number of sends a second in (0, 120], got {fps!r}")
        if isinstance(pause, bool) or not isinstance(pause, (int, float)) or not 0 <= pause <= 0.05:
            raise ValueError(f"pause must be from 0 to 0.05 seconds, got {pause!r}")
        self.fps = float(fps)
        self.pause = float(pause)
        self.time_fn = time_fn
        self.rounds = 0
        """Rounds in which at least one member sent."""
        self.seconds = 0.0
        """Kernel time the rounds took, pauses included."""
        self._members: weakref.WeakSet = weakref.WeakSet()
        self._last = float("-inf")

    def join(self, member: Sender) -> None:
        """Send for `member` in every round (held weakly: a closed view just drops out)."""
        self._members.add(member)

    def leave(self, member: Sender) -> None:
        """Stop sending for `member`."""
        self._members.discard(member)

    @property
    def interval(self) -> float:
        """Seconds between two rounds at least."""
        return 1.0 / self.fps

    def due(self) -> bool:
        """True when a round may run now."""
        return self.time_fn() - self._last >= self.interval

    def tick(self) -> bool:
        """Run a round if one is due; True if it ran."""
        if not self.due():
            return False
        self.round()
        return True

    def round(self) -> None:
        """Every member sends what is new now, whatever the time; then the pause."""
        start = self.time_fn()
        self._last = start
        sent = False
        for member in list(self._members):
            sent = member.push() or sent
        if sent:
            if self.pause:
                time.sleep(self.pause)
            self.rounds += 1
        self.seconds += self.time_fn() - start

    def __repr__(self) -> str:
        return "Pacer()"
