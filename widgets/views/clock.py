"""FrameClock: when may a view draw? A frame-rate cap plus a cost budget, shared by views."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

FRAME_KINDS = ("step", "epoch", "final")


def check_clock(clock: object) -> None:
    """Raise a TypeError unless `clock` is a FrameClock or None (views check before building anything)."""
    if clock is not None and not isinstance(clock, FrameClock):
        raise TypeError(f"clock must be a FrameClock or None, got {type(clock).__name__}")


class FrameClock:
    """When may a view draw? A frame-rate cap plus a cost budget, shareable by views.

    Time is cut into ticks at most `max_fps` per second. A view may draw once
    per tick; every view that asks within the same tick gets to draw in it, so
    views sharing a clock draw together. Drawing costs credit: credit grows by
    `budget` seconds per second of wall time (capped at `burst` seconds) and
    every frame's cost is charged to it, so over a run drawing takes at most
    about `budget` of the time. Drawing is paid for before it happens: a new
    tick opens only once the credit covers what the last round of frames cost
    (at most `burst`). A new clock has no credit, and the views' first frames,
    drawn outside the budget (`note_free_frame`), price its first round: a short
    run is not slowed by frames that show little more than its start, and the
    frame when training stops ("final") is always drawn.

    A floor keeps the views alive when frames are expensive (a loaded machine,
    a large figure): once `1 / min_fps` seconds have passed since the last tick
    (or since the last frame drawn outside the budget), a new tick opens
    whatever the credit, and the debt is forgiven. Drawing then
    costs at most about max(`budget`, one tick's cost x `min_fps`) of the time.
    `min_fps=0` turns the floor off. A tick stays open for the views that ask
    during it for `1 / max_fps` seconds plus the time already spent drawing in
    it, so a slow first view does not shut the others out of the round.

    Frame kinds (`permit(owner, kind)`):
    - "step": the usual throttled frame, needs a new tick and credit.
    - "epoch": skips the frame-rate cap, still needs credit (so a run of very
      short epochs cannot spend more than the budget).
    - "final": always permitted (training paused, stopped or failed); still charged.
    """

    def __init__(
        self,
        max_fps: float = 10.0,
        budget: float = 0.04,
        burst: float = 0.1,
        time_fn: Callable[[], float] = time.perf_counter,
        min_fps: float = 1.0,
    ) -> None:
        if isinstance(max_fps, bool) or not isinstance(max_fps, (int, float)) or not max_fps > 0:
            raise ValueError(f"max_fps must be a positive number of frames per second, got {max_fps!r}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget <= 1:
            raise ValueError(f"budget must be a fraction of time in (0, 1], got {budget!r}")
        if not isinstance(burst, (int, float)) or burst < 0:
            raise ValueError(f"burst must be a non-negative number of seconds, got {burst!r}")
        if isinstance(min_fps, bool) or not isinstance(min_fps, (int, float)) or not 0 <= min_fps <= max_fps:
            raise ValueError(f"min_fps must be a number from 0 to max_fps ({max_fps!r}), got {min_fps!r}")
        if not callable(time_fn):
            raise TypeError(f"time_fn must be a callable returning seconds, got {type(time_fn).__name__}")
        self.max_fps = float(max_fps)
        self.budget = float(budget)
        self.burst = float(burst)
        self.min_fps = float(min_fps)
        self.time_fn = time_fn
        self.frames = 0  # frames drawn under this clock, every kind
        self.spent = 0.0  # seconds those frames cost
        self._credit = 0.0
        self._credit_time = time_fn()
        self._tick = 0
        self._tick_start = float("-inf")
        self._tick_spent = 0.0
        self._floor_start = self._credit_time  # the floor counts from the last tick, or from here
        self._drawn_in_tick: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()

    @property
    def interval(self) -> float:
        """Shortest time between two ticks, in seconds."""
        return 1.0 / self.max_fps

    def now(self) -> float:
        """The clock's current time in seconds (its `time_fn`)."""
        return self.time_fn()

    def credit(self) -> float:
        """Seconds of drawing the budget allows right now (negative: in debt)."""
        now = self.time_fn()
        self._credit = min(self.burst, self._credit + (now - self._credit_time) * self.budget)
        self._credit_time = now
        return self._credit

    def permit(self, owner: object, kind: str = "step") -> bool:
        """May `owner` draw a frame of this kind now? True means: draw it, then `charge` its cost."""
        if kind not in FRAME_KINDS:
            raise ValueError(f"frame kind must be one of {FRAME_KINDS}, got {kind!r}")
        if kind == "final":
            self._join_tick(owner)
            return True
        now = self.time_fn()
        in_tick = now - self._tick_start < self.interval + self._tick_spent
        if in_tick and self._drawn_in_tick.get(owner) != self._tick:
            # The tick's opener paid for entry; its cost, every view's frame included, delays the next tick.
            self._join_tick(owner)
            return True
        if in_tick and kind != "epoch":
            return False
        if self.credit() < min(self._tick_spent, self.burst):  # a round is priced at what the last one cost
            if not (self.min_fps > 0 and now - self._floor_start >= 1.0 / self.min_fps):
                return False
            # the floor's tick: forgive the debt instead of starving the views
            self._credit = min(self._credit, 0.0)
        self._tick += 1
        self._tick_start = self._floor_start = now
        self._tick_spent = 0.0
        self._join_tick(owner)
        return True

    def charge(self, seconds: float) -> None:
        """Account a drawn frame that took `seconds`."""
        self.credit()
        self._credit -= seconds
        self._tick_spent += seconds
        self.spent += seconds
        self.frames += 1

    def note_free_frame(self, seconds: float) -> None:
        """Account a frame drawn outside the budget (a view's first): not charged or counted, it prices the
        next round.

        The floor counts from it too: views just built have a fresh picture.
        """
        self._tick_spent += seconds
        self._floor_start = self.time_fn()

    def _join_tick(self, owner: object) -> None:
        try:
            self._drawn_in_tick[owner] = self._tick
        except TypeError:  # an owner that cannot be weakly referenced is simply not tracked
            pass

    def __repr__(self) -> str:
        return "FrameClock()"
