"""The drawing core shared by every view: a clock, a frame and a view base.

- `FrameClock` decides when views may draw: at most `max_fps` frames a second
  and no more than a `budget` fraction of wall time spent drawing. One clock can
  be shared by several views (a Dashboard); it accounts the cost of every frame.
- `Frame` owns one matplotlib `Figure` (Agg canvas, never pyplot) and one
  `ipywidgets.Image`. A frame is a cached background plus the changed artists,
  encoded as PNG and set as the Image's value: no clear_output, no display, no
  new figure per update.
- `View` is the base of every live view: a stable `__repr__`, a CSS class
  `lt-<name>`, display in a cell, `snapshot()`, and the wiring to a trainer's
  events (throttled frames on "step", an epoch frame on "epoch", a final frame
  when the trainer leaves "running").

`snapshot()` everywhere returns an `IPython.display.Image` holding PNG bytes
(`.data`).
"""

from __future__ import annotations

import math
import struct
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as ipw
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import cells

FRAME_KINDS = ("step", "epoch", "final")

# Every Figure a Frame made and that is still alive; lets tests and users check for leaks.
_live_figures: weakref.WeakSet[Figure] = weakref.WeakSet()


def check_clock(clock: object) -> None:
    """Raise a TypeError unless `clock` is a FrameClock or None (views check before building anything)."""
    if clock is not None and not isinstance(clock, FrameClock):
        raise TypeError(f"clock must be a FrameClock or None, got {type(clock).__name__}")


def widget_bundle(widget: ipw.DOMWidget, text: str, **kwargs: Any) -> Any:
    """The display bundle of `widget` with `text` as its text/plain.

    ipywidgets' own text/plain lists the widget's values (a PNG's bytes among
    them), which nbval would compare; a view shows its stable repr instead.
    """
    bundle = widget._repr_mimebundle_(**kwargs)
    if bundle is None:
        return None
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    data = dict(data)
    data["text/plain"] = text
    return data, metadata


def live_figure_count() -> int:
    """Number of figures made by `Frame` that are still alive (no pyplot involved)."""
    return len(_live_figures)


class FrameClock:
    """When may a view draw? A frame-rate cap plus a cost budget, shareable by views.

    Time is cut into ticks at most `max_fps` per second. A view may draw once
    per tick; every view that asks within the same tick gets to draw in it, so
    views sharing a clock draw together. Drawing costs credit: credit grows by
    `budget` seconds per second of wall time (capped at `burst` seconds) and
    every frame's cost is charged to it, so over a run drawing takes at most
    about `budget` of the time.

    A floor keeps the views alive when frames are expensive (a loaded machine,
    a large figure): once `1 / min_fps` seconds have passed since the last tick,
    a new tick opens whatever the credit, and the debt is forgiven. Drawing then
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
        self._credit = float(burst)
        self._credit_time = time_fn()
        self._tick = 0
        self._tick_start = float("-inf")
        self._tick_spent = 0.0
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
        since_tick = now - self._tick_start
        in_tick = since_tick < self.interval + self._tick_spent
        if in_tick and self._drawn_in_tick.get(owner) != self._tick:
            # The tick's opener paid for entry; its cost, every view's frame included, delays the next tick.
            self._join_tick(owner)
            return True
        if self.credit() < 0:
            if not (self.min_fps > 0 and since_tick >= 1.0 / self.min_fps):
                return False
            self._credit = 0.0  # the floor's tick: forgive the debt instead of starving the views
        if not in_tick or kind == "epoch":
            self._tick += 1
            self._tick_start = now
            self._tick_spent = 0.0
            self._join_tick(owner)
            return True
        return False

    def charge(self, seconds: float) -> None:
        """Account a drawn frame that took `seconds`."""
        self.credit()
        self._credit -= seconds
        self._tick_spent += seconds
        self.spent += seconds
        self.frames += 1

    def _join_tick(self, owner: object) -> None:
        try:
            self._drawn_in_tick[owner] = self._tick
        except TypeError:  # an owner that cannot be weakly referenced is simply not tracked
            pass

    def __repr__(self) -> str:
        return "FrameClock()"


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


def encode_png(rgba: Any, size: tuple[int, int]) -> bytes:
    """PNG bytes (8-bit RGB, alpha dropped: figures are opaque) of an RGBA buffer of `size` (width, height).

    Written directly: rows unfiltered, zlib at level 1. On a loaded 2-core
    machine this took about 2 ms (fastest tenth of runs) for a 640 x 256 loss
    curve and a 352 x 352 boundary, where Pillow's PNG writer at its fastest
    settings took 4 ms and more, and matplotlib's `print_png` (which redraws)
    about 30 ms. The run-length strategy was no faster on line plots and made
    the boundary's colour fields three times larger.
    """
    width, height = size
    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height, width, 4)
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" on every row
    rows[:, 1:].reshape(height, width, 3)[:] = pixels[:, :, :3]
    compressor = zlib.compressobj(1)
    data = compressor.compress(rows.data) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, deflate, no interlace
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


class Frame:
    """One matplotlib Figure on an Agg canvas, shown through one `ipywidgets.Image`.

    Typical use: build the axes on `figure`, mark the artists that change with
    `animate(artist)`, call `draw_background()` whenever something static
    changes (limits, ticks, labels), and `blit()` for every frame.
    """

    def __init__(self, figsize: tuple[float, float] = (5.0, 3.5), dpi: int = 100) -> None:
        width, height = figsize
        if not (width > 0 and height > 0) or not dpi > 0:
            raise ValueError(f"figsize must be two positive inches and dpi positive, got {figsize!r} at {dpi!r}")
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.image = ipw.Image(format="png")
        self.png = b""  # the bytes last set on `image`
        self._background = None
        self._animated: list[Artist] = []
        _live_figures.add(self.figure)

    def animate(self, *artists: Artist) -> None:
        """Mark artists as changing: left out of the background, drawn on every `blit`."""
        for artist in artists:
            artist.set_animated(True)
            if artist not in self._animated:
                self._animated.append(artist)

    @property
    def needs_background(self) -> bool:
        """True until `draw_background()` ran (again) after the frame was built or its artists forgotten."""
        return self._background is None

    def forget_artists(self) -> None:
        """Drop the animated artists and the cached background (after `figure.clear()`, before rebuilding)."""
        self._animated.clear()
        self._background = None

    def draw_background(self) -> None:
        """Render everything that is not animated and cache it as the background."""
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def blit(self, artists: Iterable[Artist] | None = None) -> bytes:
        """Restore the background, draw the animated (or given) artists, publish the PNG."""
        if self._background is None:
            self.draw_background()
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        for artist in self._animated if artists is None else artists:
            if artist.get_visible() and artist.figure is self.figure:
                artist.draw(renderer)
        return self.publish()

    def publish(self) -> bytes:
        """Encode the canvas as PNG and set it on the Image widget."""
        self.png = encode_png(self.canvas.buffer_rgba(), self.canvas.get_width_height())
        self.image.value = self.png
        return self.png

    def close(self) -> None:
        """Drop the figure and the Image widget; the frame cannot draw afterwards."""
        self._background = None
        self._animated.clear()
        self.figure.clear()
        _live_figures.discard(self.figure)
        self.image.close()


class View:
    """Base of every live view: display, stable repr, CSS class, snapshot, trainer wiring.

    A subclass builds its outer ipywidget and passes it with its CSS name, and
    implements `_draw()` (draw the current state into its Frame(s)). It calls
    `request_frame(kind)` whenever its data changed; the shared clock decides.
    """

    def __init__(self, widget: ipw.Widget, css_name: str, clock: FrameClock | None = None) -> None:
        check_clock(clock)
        self.widget = widget
        self.clock = clock if clock is not None else FrameClock()
        self.frames_drawn = 0
        self._stale = True
        self._handles: list[Any] = []
        # Widget callbacks may arrive on another thread (a kernel subshell) while a step draws.
        self._draw_lock = threading.RLock()
        widget.add_class(f"lt-{css_name}")
        cells.adopt(self)  # a cell run again closes the views its earlier run made

    # --- drawing -----------------------------------------------------------------
    def _draw(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _draw()")

    @property
    def stale(self) -> bool:
        """True when the data changed since the last drawn frame."""
        return self._stale

    def request_frame(self, kind: str = "step") -> bool:
        """Note that the data changed and draw if the clock permits this kind of frame."""
        self._stale = True
        if not self.clock.permit(self, kind):
            return False
        self.redraw()
        return True

    def redraw(self) -> None:
        """Draw the current state now, whatever the clock says, and charge its cost."""
        with self._draw_lock:
            start = self.clock.now()
            self._stale = False  # before drawing: data that arrives meanwhile marks it stale again
            try:
                self._draw()
            except BaseException:
                self._stale = True
                raise
            self.frames_drawn += 1
            self.clock.charge(self.clock.now() - start)

    def flush(self) -> None:
        """Draw the final frame if anything changed since the last one."""
        if self._stale:
            self.request_frame("final")

    def snapshot(self) -> StaticImage:
        """The current frame (brought up to date first) as a static PNG image; PNG bytes in `.data`."""
        self.flush()
        return StaticImage(data=self._snapshot_png(), format="png")

    def _snapshot_png(self) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} must implement _snapshot_png()")

    # --- trainer wiring ----------------------------------------------------------
    def follow(self, trainer: Any) -> None:
        """Subscribe to a trainer's "step", "epoch", "state" and "reset" events."""
        if not callable(getattr(trainer, "on", None)):
            raise TypeError(f"expected a Trainer (an object with .on(event, callback)), got {type(trainer).__name__}")
        self._handles += [
            trainer.on("step", self._on_step),
            trainer.on("epoch", self._on_epoch),
            trainer.on("state", self._on_state),
            trainer.on("reset", self._on_reset),
        ]

    def unfollow(self) -> None:
        """Remove every trainer subscription of this view."""
        while self._handles:
            self._handles.pop().remove()

    def _on_step(self, record: dict) -> None:
        self.request_frame("step")

    def _on_epoch(self, record: dict) -> None:
        self.request_frame("epoch")

    def _on_state(self, change: dict) -> None:
        if change.get("previous") == "running" and change.get("state") != "running" and self._stale:
            self.request_frame("final")

    def _on_reset(self, payload: dict) -> None:
        self.request_frame("final")

    def close(self) -> None:
        """Unsubscribe and release the widgets and figures."""
        self.unfollow()
        self.widget.close()

    # --- display -----------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return widget_bundle(self.widget, repr(self), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
