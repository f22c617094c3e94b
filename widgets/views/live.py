"""LiveView: the base of the views the browser draws.

A live view owns one outer ipywidget holding its `Picture` (a canvas the page
paints from numbers) and any controls. The kernel's part of a frame is to put
what is new into the picture's channels (`collect()`) and send it (`push()`); the view's
`Pacer` decides when (at most 20 rounds a second by default, shared by the
views of a Dashboard). When a run stops, `finish()` pushes the last state and
stores the whole data in the picture's trait, so the page, a page opened
later and a notebook saved with its widget state all show the final step.

Still pictures (`snapshot_png()`, the frames of a GIF, the `image/png` shown
where no JavaScript runs) come from the view's plain matplotlib renderer,
`render_png(state)`, called outside the training loop. A view says what one
of its pictures depends on in `frame_state()` (small: a row count, a field of
codes); recording keeps one such state per epoch and renders them only when
the GIF is written.

A subclass overrides `collect()`, `frame_state()` and `render_png(state)`, and
may override the event hooks `on_step`, `on_epoch`, `on_stop`, `on_reset`.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import ipywidgets as ipw
from IPython.display import Image as StaticImage
from PIL import Image as PILImage

from . import cells
from .base import FollowsTrainer, close_tree
from .kernel_loop import KernelLoop
from .pacer import Pacer
from .picture import Picture
from .recording import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, Recording, check_gif_target, write_gif
from .worker import WORKER

_shown: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # view or dashboard -> its widget's model id


def register_still(owner: Any) -> None:
    """Let `stills()` give `owner`'s picture: it has a `widget` (not closed yet) and `snapshot_png()`."""
    _shown[owner] = owner.widget.model_id


def check_pacer(pacer: object) -> None:
    """Raise a TypeError unless `pacer` is a Pacer or None."""
    if pacer is not None and not isinstance(pacer, Pacer):
        raise TypeError(f"pacer must be a widgets.views.Pacer or None, got {type(pacer).__name__}")


STILL_COLOURS = 32
"""Colours of the still stored beside a widget in a notebook: the pictures are flat colours and anti-aliased
lines, and 32 colours store them in under a quarter of the bytes (the course's 1.73 MB of stills: 0.40 MB)."""


def compact_png(png: bytes) -> bytes:
    """`png` with at most `STILL_COLOURS` colours (a palette PNG): what a notebook stores beside a live
    view."""
    image = PILImage.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(
        colors=STILL_COLOURS, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE
    )
    buffer = io.BytesIO()
    palette.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def display_bundle(widget: ipw.DOMWidget, text: str, png: bytes | None, **kwargs: Any) -> Any:
    """`widget`'s display bundle with `text` as its text/plain and `png` (made compact) as the still shown
    without JavaScript."""
    bundle = widget._repr_mimebundle_(**kwargs)
    if bundle is None:
        return None
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    data = dict(data)
    data["text/plain"] = text
    if png is not None:
        data["image/png"] = base64.b64encode(compact_png(png)).decode("ascii")
    return data, metadata


def stills() -> dict[str, str]:
    """The current still of every live view still in memory (closed ones too: they keep their data), as a
    compact base64 PNG by the model id of its outer widget.

    A script that stores a notebook's outputs calls it once the notebook ran,
    to put each view's last picture beside its widget.
    """
    return {model_id: base64.b64encode(compact_png(owner.snapshot_png())).decode("ascii")
            for owner, model_id in list(_shown.items())}


class LiveView(FollowsTrainer):
    """Base of the browser-drawn views: a picture, a pacer, trainer events, stills and recording."""

    def __init__(
        self, widget: ipw.Widget, picture: Picture, css_name: str, pacer: Pacer | None = None
    ) -> None:
        check_pacer(pacer)
        self.widget = widget
        self.picture = picture
        self.pacer = pacer if pacer is not None else Pacer()
        self.loop = KernelLoop()
        self._handles: list[Any] = []
        self._closed = False
        self._recording: Recording | None = None
        self._recording_on = False
        self._lock = threading.RLock()  # the page's requests and the trainer's events take turns
        self._trailing = False  # a finish() is queued on the kernel's loop (following a History)
        widget.add_class(f"lt-{css_name}")
        picture.add_class(f"lt-{css_name}-picture")
        picture.on_request(lambda message: self.loop.run(lambda: self._answer(message)))
        self.pacer.join(self)
        register_still(self)
        cells.adopt(self)

    # --- hooks a view overrides ----------------------------------------------------------
    def collect(self) -> None:
        """Put what changed since the last call into the picture's channels (sending nothing)."""
        raise NotImplementedError(f"{type(self).__name__} must implement collect()")

    def frame_state(self) -> Any:
        """What one still picture of now depends on (kept per epoch while recording)."""
        raise NotImplementedError(f"{type(self).__name__} must implement frame_state()")

    def render_png(self, state: Any) -> bytes:
        """The still picture of a `frame_state()`, as PNG bytes (matplotlib, off the training loop)."""
        raise NotImplementedError(f"{type(self).__name__} must implement render_png()")

    def on_request(self, message: dict) -> None:
        """A message from the page (already on the kernel's loop); by default ignored."""

    def on_step(self, record: dict) -> None:
        """A step was taken: send if the pacer's round is due."""
        self.pacer.tick()

    def on_epoch(self, record: dict) -> None:
        """An epoch ended: keep a frame if recording, send if due."""
        self.record_frame()
        self.pacer.tick()

    def on_stop(self) -> None:
        """The trainer stopped running: show and store the final state."""
        self.finish()

    def on_reset(self, payload: dict) -> None:
        """The trainer was reset or loaded: show its new state."""
        self.finish()

    def release(self) -> None:
        """Free what the view holds besides its widgets (called once by `close()`)."""

    # --- sending -------------------------------------------------------------------------
    def push(self) -> bool:
        """Collect what changed and send it in one message; True if anything was sent (the pacer calls it)."""
        with self._lock:
            self.collect()
            return self.picture.send()

    def update(self) -> None:
        """Send what is new now, whatever the pacer says."""
        with self._lock:
            self.push()

    def finish(self) -> None:
        """Send the current state and store all of it in the picture (what a page opened later shows)."""
        with self._lock:
            self.push()
            self.picture.store()

    def flush(self) -> None:
        """Bring the picture up to date (after feeding a view by hand, say)."""
        self.finish()

    def settle(self) -> None:
        """Wait until the work the view does off the training thread (a field of the model's copy) is done and
        sent: its picture and properties then show the newest state."""
        WORKER.settle(self)

    def _answer(self, message: dict) -> None:
        """A message from the page, on the kernel's loop: a resync sends everything again, the rest is
        the view's."""
        with self._lock:
            if message.get("type") == "resync":
                self.picture.resync()
            else:
                self.on_request(message)

    def _on_state(self, change: dict) -> None:
        if change.get("previous") == "running" and change.get("state") != "running":
            self.on_stop()

    # --- still pictures --------------------------------------------------------------------
    def snapshot_png(self) -> bytes:
        """The current state as a still PNG (drawn by matplotlib)."""
        self.settle()
        with self._lock:
            state = self.frame_state()
        return self.render_png(state)

    def snapshot(self) -> StaticImage:
        """The current state as a static image; its PNG bytes are in `.data`."""
        return StaticImage(data=self.snapshot_png(), format="png")

    # --- recording ---------------------------------------------------------------------------
    def start_recording(
        self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        """Keep a frame at every epoch's end from now on (and the current one), for `save_gif`.

        At most `max_frames` frames and `max_bytes` bytes of kept state: when
        full, every other frame goes (the first and the newest stay), so the
        frames stay evenly spread over the run. The frames are drawn only when
        the GIF is written, so recording costs the run almost nothing.
        """
        recording = Recording(max_frames, max_bytes)
        with self._lock:
            state = self.frame_state()
            recording.add(state, _size(state))
            self._recording, self._recording_on = recording, True

    def record_frame(self) -> None:
        """Keep the current state as a frame if recording (views call it at every epoch's end); a state equal
        to the newest kept one is not kept again."""
        recording = self._recording
        if self._recording_on and recording is not None:
            with self._lock:
                state = self.frame_state()
                frames = recording.frames
                if not (frames and _same(frames[-1], state)):
                    recording.add(state, _size(state))

    def stop_recording(self) -> None:
        """Keep no more frames; those kept stay for `save_gif` until `start_recording()` runs again."""
        self._recording_on = False

    @property
    def is_recording(self) -> bool:
        """True between `start_recording()` and `stop_recording()` (or `close()`)."""
        return self._recording_on

    @property
    def recording(self) -> Recording | None:
        """The frames of the current or last recording (None before any)."""
        return self._recording

    @property
    def frames_recorded(self) -> int:
        """Frames kept by the current or last recording (0 before any)."""
        return len(self._recording) if self._recording is not None else 0

    def recorded_pngs(self) -> list[bytes]:
        """Every kept frame drawn as a PNG, oldest first; while recording, the current state ends the list."""
        if self._recording is None:
            raise RuntimeError(
                f"{type(self).__name__} has recorded no frames: call start_recording() before training"
            )
        if self._recording_on:
            self.settle()
            self.record_frame()
        with self._lock:
            states = self._recording.frames
        return [self.render_png(state) for state in states]

    def save_gif(self, path: str | os.PathLike, fps: float = 10, loop: int | None = 0) -> Path:
        """Write the recorded frames as an animated GIF at `path` (`fps` frames a second; `loop` 0: forever).

        Without a recording it raises a RuntimeError: call `start_recording()`
        before training (for a still image, `snapshot()`). Returns the path written.
        """
        target = check_gif_target(path, fps, loop)
        if self._recording is None:
            raise RuntimeError(
                f"{type(self).__name__} has recorded no frames: call start_recording() before training, "
                f"then save_gif({str(path)!r}); snapshot() gives the still image"
            )
        return write_gif(target, self.recorded_pngs(), fps=fps, loop=loop)

    # --- trainer wiring --------------------------------------------------------------------------
    def event_hooks(self) -> dict[str, Any]:
        return {"step": self.on_step, "epoch": self.on_epoch, "state": self._on_state, "reset": self.on_reset}

    def follow_history(self, history: Any) -> None:
        """Follow a History that a hand-written loop feeds (`history.log(loss)`, `history.end_epoch(...)`), as
        a trainer is followed. A loop has no "stop": the picture is brought up to date once the cell that runs
        the loop ends (the kernel's loop then runs again), so it always ends on the last row logged."""
        hooks = self.event_hooks()

        def on_step(row: dict) -> None:
            hooks["step"](row)
            self._trail()

        def on_epoch(record: dict) -> None:
            hooks["epoch"](record)
            self._trail()

        for event, callback in (("step", on_step), ("epoch", on_epoch), ("reset", hooks["reset"])):
            self._handles.append(history.on(event, callback))

    def _trail(self) -> None:
        """Queue one `finish()` on the kernel's loop (it runs once the current cell ends), unless one
        is queued."""
        if not self._trailing:
            self._trailing = self.loop.later(self._finish_trail)

    def _finish_trail(self) -> None:
        self._trailing = False
        if not self._closed:
            self.finish()

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self._closed

    def close(self) -> None:
        """Unsubscribe and close the widgets."""
        if self._closed:
            return
        self._closed = True
        self._recording_on = False
        self.unfollow()
        self.pacer.leave(self)
        WORKER.cancel(self)
        WORKER.settle(self, timeout=2.0)  # a job under way sees the view closed and lets go of it
        self.release()
        close_tree(self.widget)

    # --- display ------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return display_bundle(self.widget, repr(self), self.snapshot_png(), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _same(a: Any, b: Any) -> bool:
    """Whether two frame states are equal (states holding arrays compare unequal unless they are one
    object)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def _size(state: Any) -> int:
    """Bytes a kept frame state holds (its `nbytes`, or a small constant for a few numbers)."""
    return int(getattr(state, "nbytes", 64))
