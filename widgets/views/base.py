"""View: the base of every live view.

A view owns one outer ipywidget and draws into it on a `FrameClock`. The base
gives every view a stable `__repr__`, a CSS class `lt-<name>`, display in a
cell, `snapshot()`, `close()`, and the wiring to a trainer's events.

A subclass overrides these hooks (see docs/custom-views.md):

- `draw()`: draw the current state (required);
- `snapshot_png()`: the PNG bytes of the current frame;
- `on_step(record)`, `on_epoch(record)`, `on_state(change)`, `on_reset(payload)`:
  what a trainer event does; by default each asks for a frame of its kind
  ("step", "epoch", or a "final" one when the trainer stops running);
- `release()`: free what the view made besides its widget (figures, observers).

It calls `request_frame(kind)` when its data changed (the clock decides when a
frame is drawn), `mark_stale()` when it only notes a change, and
`draw_first_frame()` once it is built: the first frame is not charged to the
clock, so a shared clock does not start training in debt.

A view with an image can record its frames (`start_recording()`, then
`save_gif(path)`): every frame it draws while recording keeps its
`snapshot_png()` bytes in a bounded `recording.Recording`.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import ipywidgets as ipw
from IPython.display import Image as StaticImage
from torch import nn

from ..training.trainer import Trainer
from . import cells
from .clock import FrameClock, check_clock
from .recording import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, Recording, check_gif_target, write_gif

EVENTS = ("step", "epoch", "state", "reset")


def check_trainer(trainer: object, who: str) -> Trainer:
    """`trainer` if it is a widgets Trainer; otherwise a TypeError naming the view that needed one."""
    if not isinstance(trainer, Trainer):
        raise TypeError(f"{who} expects a Trainer, got {type(trainer).__name__}")
    return trainer


def model_and_trainer(obj: object, who: str) -> tuple[nn.Module, Trainer | None]:
    """(model, trainer) from a Trainer, or (model, None) from a module; otherwise a TypeError naming the
    view."""
    if isinstance(obj, nn.Module):
        return obj, None
    if isinstance(obj, Trainer):
        return obj.model, obj
    raise TypeError(f"{who} expects a torch.nn.Module or a Trainer, got {type(obj).__name__}")


def close_tree(widget: ipw.Widget) -> None:
    """Close `widget`, every widget inside it, and their layout and style widgets.

    ipywidgets' own close() closes only the widget itself: its children, its
    Layout and its Style stay in ipywidgets' registry, and their observers keep
    what they point to (the view, its figure) alive.
    """
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for part in ("layout", "style"):
        value = getattr(widget, part, None)
        if isinstance(value, ipw.Widget):
            value.close()
    widget.close()


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


class FollowsTrainer:
    """The trainer wiring every view shares: `follow` subscribes `event_hooks()`, `listen` one more event,
    `unfollow` removes them all (the view keeps the handles in `_handles`)."""

    _handles: list[Any]

    def event_hooks(self) -> dict[str, Any]:
        """The callback of each of the trainer's "step", "epoch", "state" and "reset" events."""
        raise NotImplementedError(f"{type(self).__name__} must implement event_hooks()")

    def follow(self, trainer: Trainer) -> None:
        """Subscribe the event hooks to a trainer's "step", "epoch", "state" and "reset" events."""
        check_trainer(trainer, type(self).__name__)
        hooks = self.event_hooks()
        for event in EVENTS:
            self.listen(trainer, event, hooks[event])

    def listen(self, trainer: Trainer, event: str, callback: Any) -> None:
        """Subscribe `callback` to one trainer event until the view unfollows or closes."""
        self._handles.append(trainer.on(event, callback))

    def unfollow(self) -> None:
        """Remove every trainer subscription of this view."""
        while self._handles:
            self._handles.pop().remove()


class View(FollowsTrainer):
    """Base of every live view: display, stable repr, CSS class, snapshot, frame clock, trainer wiring."""

    charged: ClassVar[bool] = True
    """Whether drawing counts against the clock's budget (a line of text does not)."""

    def __init__(self, widget: ipw.Widget, css_name: str, clock: FrameClock | None = None) -> None:
        check_clock(clock)
        self.widget = widget
        self.clock = clock if clock is not None else FrameClock()
        self.frames_drawn = 0
        self.draw_seconds = 0.0
        self._stale = True
        self._handles: list[Any] = []
        self._closed = False
        self._recording: Recording | None = None
        self._recording_on = False
        # Widget callbacks may arrive on another thread (a kernel subshell) while a step draws.
        self._draw_lock = threading.RLock()
        widget.add_class(f"lt-{css_name}")
        cells.adopt(self)  # a cell run again closes the views its earlier run made

    # --- hooks a view overrides ------------------------------------------------------
    def draw(self) -> None:
        """Draw the current state into the view's widgets."""
        raise NotImplementedError(f"{type(self).__name__} must implement draw()")

    def snapshot_png(self) -> bytes:
        """The PNG bytes of the current frame."""
        raise TypeError(f"{type(self).__name__} has no image to snapshot")

    def on_step(self, record: dict) -> None:
        """A step was taken: ask for a step frame."""
        self.request_frame("step")

    def on_epoch(self, record: dict) -> None:
        """An epoch ended: ask for an epoch frame."""
        self.request_frame("epoch")

    def on_state(self, change: dict) -> None:
        """The trainer's state changed: when it stops running, draw what is not drawn yet."""
        if change.get("previous") == "running" and change.get("state") != "running" and self._stale:
            self.request_frame("final")

    def on_reset(self, payload: dict) -> None:
        """The trainer was reset or loaded: draw its new state."""
        self.request_frame("final")

    def release(self) -> None:
        """Free what the view made besides its outer widget (called once by `close()`)."""

    # --- drawing ----------------------------------------------------------------------
    @property
    def stale(self) -> bool:
        """True when the data changed since the last drawn frame."""
        return self._stale

    def mark_stale(self) -> None:
        """Note that the data changed without asking for a frame now (`flush()` draws it)."""
        self._stale = True

    def request_frame(self, kind: str = "step") -> bool:
        """Note that the data changed and draw if the clock permits this kind of frame."""
        self._stale = True
        if not self.clock.permit(self, kind):
            return False
        self.redraw()
        return True

    def redraw(self, charge: bool | None = None) -> None:
        """Draw the current state now, whatever the clock says; its cost is charged unless `charge` is
        False."""
        with self._draw_lock:
            start, started = self.clock.now(), time.perf_counter()
            self._stale = False  # before drawing: data that arrives meanwhile marks it stale again
            try:
                self.draw()
                recording = self._recording
                if self._recording_on and recording is not None:  # inside the timing: keeping a frame costs
                    recording.add(self.snapshot_png())
            except BaseException:
                self._stale = True
                raise
            self.frames_drawn += 1
            self.draw_seconds += time.perf_counter() - started
            if self.charged if charge is None else charge:
                self.clock.charge(self.clock.now() - start)
            elif self.charged:
                self.clock.note_free_frame(self.clock.now() - start)

    def draw_first_frame(self) -> None:
        """Draw the view as built, outside the clock's budget (call once, at the end of `__init__`)."""
        self.redraw(charge=False)

    def flush(self) -> None:
        """Draw the final frame if anything changed since the last one."""
        if self._stale:
            self.request_frame("final")

    def snapshot(self) -> StaticImage:
        """The current frame (brought up to date first) as a static PNG image; PNG bytes in `.data`."""
        self.flush()
        return StaticImage(data=self.snapshot_png(), format="png")

    # --- recording ------------------------------------------------------------------------
    def start_recording(
        self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        """Keep every frame drawn from now on, starting with the one shown, for `save_gif`.

        At most `max_frames` frames and `max_bytes` bytes of PNG are kept: when
        full, every other frame goes (the first and the newest stay), so the
        frames stay evenly spread over the run. Starting again drops the frames
        of the previous recording. Views do not record unless asked: a frame
        is tens of kilobytes, and a course shows many views.
        """
        recording = Recording(max_frames, max_bytes)
        with self._draw_lock:
            try:
                first = self.snapshot_png()
            except TypeError:
                raise TypeError(
                    f"{type(self).__name__} has no image to record; record a view that draws a picture"
                ) from None
            recording.add(first)
            self._recording, self._recording_on = recording, True

    def stop_recording(self) -> None:
        """Keep no more frames; those recorded stay for `save_gif` until `start_recording()` runs again."""
        with self._draw_lock:
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

    def save_gif(self, path: str | os.PathLike, fps: float = 10, loop: int | None = 0) -> Path:
        """Write the recorded frames as an animated GIF at `path` (`fps` frames a second; `loop` 0: forever).

        While recording, the frame is brought up to date first, so the GIF
        ends on the current state; recording goes on. Without a recording it
        raises a RuntimeError: call `start_recording()` before training (for a
        still image, `snapshot()`). Returns the path written.
        """
        target = check_gif_target(path, fps, loop)
        if self._recording is None:
            name = type(self).__name__
            raise RuntimeError(f"{name} has recorded no frames: call start_recording() before training, "
                               f"then save_gif({str(path)!r}); snapshot() gives the still image")
        if self._recording_on:
            self.flush()
        with self._draw_lock:
            frames = self._recording.frames
        return write_gif(target, frames, fps=fps, loop=loop)

    # --- trainer wiring ----------------------------------------------------------------
    def event_hooks(self) -> dict[str, Any]:
        return {"step": self.on_step, "epoch": self.on_epoch, "state": self.on_state, "reset": self.on_reset}

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self._closed

    def close(self) -> None:
        """Unsubscribe and release the widgets and figures."""
        if self._closed:
            return
        self._closed = True
        self._recording_on = False  # the frames recorded stay for save_gif
        self.unfollow()
        self.release()
        close_tree(self.widget)

    # --- display ------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return widget_bundle(self.widget, repr(self), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
