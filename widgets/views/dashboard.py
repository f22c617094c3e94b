"""Dashboard: controls, loss curve, decision boundary and module inspector for one trainer, in one call."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ipywidgets as ipw
from IPython.display import Image as StaticImage
from PIL import Image as PILImage

from . import cells
from .base import check_trainer, close_tree
from .boundary import DecisionBoundary
from .controls import TrainerControls
from .inspect import ModuleInspector
from .live import LiveView, display_bundle, register_still
from .loss_curve import LossCurve
from .pacer import Pacer
from .recording import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, check_gif_target, check_limits, merge, write_gif

_GAP = 8  # pixels between the pictures of a snapshot


class Dashboard:
    """The usual views of one trainer, laid out together and sending on ONE pacer.

    `Dashboard(trainer)` shows the controls, the loss curve and the module
    inspector; with `x` and `y` (points [N, 2] and their classes) it adds the
    decision boundary (`x_valid`, `y_valid`: validation points drawn as well).
    The pictures are drawn in the page; the kernel sends what is new to all of
    them in the same round, at most `fps` rounds a second (see `Pacer`).
    """

    def __init__(
        self,
        trainer: Any,
        x: Any = None,
        y: Any = None,
        x_valid: Any = None,
        y_valid: Any = None,
        *,
        inspector: bool = True,
        fps: float = 12.0,
    ) -> None:
        check_trainer(trainer, "Dashboard")
        if not isinstance(inspector, bool):
            raise TypeError(f"inspector must be True or False, got {type(inspector).__name__}")
        if x is None and (y is not None or x_valid is not None or y_valid is not None):
            raise ValueError(
                "y, x_valid and y_valid need x: pass the [N, 2] points to draw a decision boundary"
            )
        self.pacer = Pacer(fps=fps)
        self.trainer = trainer
        views: list[Any] = []
        try:
            self.controls = TrainerControls(trainer)
            views.append(self.controls)
            self.loss_curve = LossCurve(trainer, pacer=self.pacer)
            views.append(self.loss_curve)
            self.boundary: DecisionBoundary | None = None
            if x is not None:
                self.boundary = DecisionBoundary(trainer, x, y, x_valid, y_valid, pacer=self.pacer)
                views.append(self.boundary)
            self.inspector: ModuleInspector | None = None
            if inspector:
                self.inspector = ModuleInspector(trainer, pacer=self.pacer)
                views.append(self.inspector)
        except BaseException:
            for view in views:  # nothing half-built stays subscribed to the trainer
                view.close()
            raise
        self.views: tuple[Any, ...] = tuple(views)
        self._max_frames = DEFAULT_MAX_FRAMES

        plots = [self.loss_curve.widget] + ([self.boundary.widget] if self.boundary is not None else [])
        rows: list[ipw.Widget] = [self.controls.widget, ipw.HBox(plots)]
        if self.inspector is not None:
            rows.append(self.inspector.widget)
        self.widget = ipw.VBox(rows)
        self.widget.add_class("lt-dashboard")
        self._closed = False
        register_still(self)
        cells.adopt(self)

    @property
    def pictures(self) -> tuple[LiveView, ...]:
        """The views a snapshot or a GIF shows: the loss curve, the boundary and the inspector (those
        present)."""
        return tuple(view for view in (self.loss_curve, self.boundary, self.inspector) if view is not None)

    def snapshot_png(self) -> bytes:
        """The pictures as one still PNG: loss curve and boundary side by side, the inspector's
        histograms below."""
        return _png(
            compose(
                [_decode(view.snapshot_png()) for view in self.pictures], below=self.inspector is not None
            )
        )

    def snapshot(self) -> StaticImage:
        """`snapshot_png()` as a static image."""
        return StaticImage(data=self.snapshot_png(), format="png")

    # --- recording ------------------------------------------------------------------------
    def start_recording(
        self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        """Record every picture at each epoch's end from now on, for `save_gif`: at most `max_frames` sheets,
        `max_bytes` of kept state shared among the pictures (see `LiveView.start_recording`)."""
        max_frames, max_bytes = check_limits(max_frames, max_bytes)
        pictures = self.pictures
        check_limits(max_frames, max_bytes // len(pictures))
        for view in pictures:
            view.start_recording(max_frames, max_bytes // len(pictures))
        self._max_frames = max_frames

    def stop_recording(self) -> None:
        """Record no more frames; those recorded stay for `save_gif`."""
        for view in self.pictures:
            view.stop_recording()

    @property
    def is_recording(self) -> bool:
        """True between `start_recording()` and `stop_recording()`."""
        return any(view.is_recording for view in self.pictures)

    @property
    def frames_recorded(self) -> int:
        """Sheets the GIF would have now: one whenever any picture kept a frame, at most `max_frames`."""
        rows = self._rows()
        return len(rows) if rows is not None else 0

    def save_gif(self, path: str | os.PathLike, fps: float = 10, loop: int | None = 0) -> Path:
        """Write the recorded frames as an animated GIF of sheets laid out as `snapshot()`; returns the path.

        Each sheet shows every picture as it was at one epoch's end.
        Without a recording it raises a RuntimeError: call `start_recording()` first.
        """
        target = check_gif_target(path, fps, loop)
        for view in self.pictures:
            if view.is_recording:
                view.record_frame()  # the GIF ends on the current state
        rows = self._rows()
        if rows is None:
            raise RuntimeError(
                f"the Dashboard has recorded no frames: call start_recording() before training, "
                f"then save_gif({str(path)!r}); snapshot() gives the still image"
            )
        return write_gif(
            target, _Sheets(rows, self.pictures, below=self.inspector is not None), fps=fps, loop=loop
        )

    def _rows(self) -> list[tuple[Any, ...]] | None:
        recordings = [view.recording for view in self.pictures]
        kept = [recording for recording in recordings if recording is not None]
        if len(kept) < len(recordings):
            return None
        return merge(kept, self._max_frames)

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return self._closed

    def close(self) -> None:
        """Unsubscribe every view from the trainer and close the widgets."""
        self._closed = True
        for view in self.views:
            view.close()
        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return display_bundle(self.widget, repr(self), self.snapshot_png(), **kwargs)

    def __repr__(self) -> str:
        return "Dashboard()"


def _decode(png: bytes) -> PILImage.Image:
    return PILImage.open(io.BytesIO(png)).convert("RGB")


def _png(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def compose(pictures: Sequence[PILImage.Image], below: bool) -> PILImage.Image:
    """One white sheet: the pictures side by side, the last one under them when `below` is True."""
    top = list(pictures[:-1]) if below else list(pictures)
    under = pictures[-1] if below else None
    top_width = sum(p.width for p in top) + _GAP * (len(top) - 1)
    top_height = max(p.height for p in top)
    width = max(top_width, under.width if under is not None else 0)
    height = top_height + (under.height + _GAP if under is not None else 0)
    sheet = PILImage.new("RGB", (width, height), "white")
    left = 0
    for picture in top:
        sheet.paste(picture, (left, 0))
        left += picture.width + _GAP
    if under is not None:
        sheet.paste(under, (0, top_height + _GAP))
    return sheet


class _Sheets(Sequence):
    """The Dashboard's sheets of a recording, drawn and composed when asked for (a sheet in memory is ~1.5
    MB)."""

    def __init__(self, rows: list[tuple[Any, ...]], views: Sequence[LiveView], below: bool) -> None:
        self.rows = rows
        self.views = views
        self.below = below
        self._drawn: dict[int, tuple[Any, PILImage.Image]] = {}  # per picture: its last state, drawn

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> PILImage.Image:  # type: ignore[override]
        pictures = []
        for slot, state in enumerate(self.rows[index]):
            drawn = self._drawn.get(slot)
            if drawn is None or drawn[0] is not state:  # consecutive sheets often share a picture's frame
                drawn = self._drawn[slot] = (state, _decode(self.views[slot].render_png(state)))
            pictures.append(drawn[1])
        return compose(pictures, self.below)
