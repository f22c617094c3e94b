"""View: the base of every live view.

A stable `__repr__`, a CSS class `lt-<name>`, display in a cell, `snapshot()`,
and the wiring to a trainer's events (throttled frames on "step", an epoch
frame on "epoch", a final frame when the trainer leaves "running").
`snapshot()` everywhere returns an `IPython.display.Image` holding PNG bytes (`.data`).
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as ipw
from IPython.display import Image as StaticImage

from . import cells
from .clock import FrameClock, check_clock


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
