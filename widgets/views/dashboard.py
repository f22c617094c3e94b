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
from .base import View, check_trainer, close_tree, widget_bundle
from .boundary import DecisionBoundary
from .clock import FrameClock
from .controls import TrainerControls
from .inspect import ModuleInspector
from .loss_curve import LossCurve
from .recording import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, check_gif_target, check_limits, merge, write_gif

_GAP = 8  # pixels between the pictures of a snapshot


class Dashboard:
    """The usual views of one trainer, laid out together and drawing on ONE frame clock.

    `Dashboard(trainer)` shows the controls, the loss curve and the module
    inspector; with `x` and `y` (points [N, 2] and their classes) it adds the
    decision boundary (`x_valid`, `y_valid`: validation points drawn as well).
    The shared clock caps drawing at `max_fps` frames a second and at `budget`
    of the training time for the whole dashboard (after a first `burst` of
    seconds); the status line's updates count against it too. The default
    2.5 % leaves room, within 5 % of a run of ten seconds or more, for the last
    frames of a run (always drawn) and the per-step bookkeeping of the views. Frames drawn while the views
    are built (before any training) are not charged to it. `min_fps` (default 1) is the clock's floor:
    when frames are expensive (a loaded machine) a round is still drawn that often; 0 turns it off.
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
        max_fps: float = 10.0,
        budget: float = 0.025,
        burst: float = 0.05,
        min_fps: float = 1.0,
    ) -> None:
        check_trainer(trainer, "Dashboard")
        if not isinstance(inspector, bool):
            raise TypeError(f"inspector must be True or False, got {type(inspector).__name__}")
        if x is None and (y is not None or x_valid is not None or y_valid is not None):
            raise ValueError("y, x_valid and y_valid need x: pass the [N, 2] points to draw a decision boundary")
        self.clock = FrameClock(max_fps=max_fps, budget=budget, burst=burst, min_fps=min_fps)
        self.trainer = trainer
        views: list[View] = []
        try:
            # Every view draws its first frame outside the budget (View.draw_first_frame).
            self.controls = TrainerControls(trainer, clock=self.clock)
            views.append(self.controls)
            self.loss_curve = LossCurve(trainer, clock=self.clock)
            views.append(self.loss_curve)
            self.boundary: DecisionBoundary | None = None
            if x is not None:
                self.boundary = DecisionBoundary(trainer, x, y, x_valid, y_valid, clock=self.clock)
                views.append(self.boundary)
            self.inspector: ModuleInspector | None = None
            if inspector:
                self.inspector = ModuleInspector(trainer, clock=self.clock)
                views.append(self.inspector)
        except BaseException:
            for view in views:  # nothing half-built stays subscribed to the trainer
                view.close()
            raise
        self.views: tuple[View, ...] = tuple(views)
        self._max_frames = DEFAULT_MAX_FRAMES

        plots = [self.loss_curve.widget] + ([self.boundary.widget] if self.boundary is not None else [])
        rows: list[ipw.Widget] = [self.controls.widget, ipw.HBox(plots)]
        if self.inspector is not None:
            rows.append(self.inspector.widget)
        self.widget = ipw.VBox(rows)
        self.widget.add_class("lt-dashboard")
        cells.adopt(self)

    @property
    def pictures(self) -> tuple[View, ...]:
        """The views a snapshot or a GIF shows: the loss curve, the boundary and the inspector (those present)."""
        return tuple(view for view in (self.loss_curve, self.boundary, self.inspector) if view is not None)

    def snapshot(self) -> StaticImage:
        """The plots as one static PNG: loss curve and boundary side by side, the inspector's histogram below."""
        sheet = compose([_decode(view.snapshot().data) for view in self.pictures], below=self.inspector is not None)
        buffer = io.BytesIO()
        sheet.save(buffer, "PNG")
        return StaticImage(data=buffer.getvalue(), format="png")

    # --- recording ------------------------------------------------------------------------
    def start_recording(self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Record every picture's frames from now on for `save_gif`: at most `max_frames` sheets in the GIF,
        `max_bytes` of PNG shared among the views (see `View.start_recording`)."""
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
        """Sheets the GIF would have now: one whenever any picture drew while recording, at most `max_frames`."""
        rows = self._rows()
        return len(rows) if rows is not None else 0

    def save_gif(self, path: str | os.PathLike, fps: float = 10, loop: int | None = 0) -> Path:
        """Write the recorded frames as an animated GIF of sheets laid out as `snapshot()`; returns the path.

        Each sheet shows every picture as it was at one moment of the run.
        Without a recording it raises a RuntimeError: call `start_recording()` first.
        """
        target = check_gif_target(path, fps, loop)
        if self._rows() is None:
            raise RuntimeError(f"the Dashboard has recorded no frames: call start_recording() before training, "
                               f"then save_gif({str(path)!r}); snapshot() gives the still image")
        for view in self.pictures:
            if view.is_recording:
                view.flush()  # the GIF ends on the current state
        return write_gif(target, _Sheets(self._rows(), below=self.inspector is not None), fps=fps, loop=loop)

    def _rows(self) -> list[tuple[bytes, ...]] | None:
        recordings = [view.recording for view in self.pictures]
        if any(recording is None for recording in recordings):
            return None
        return merge(recordings, self._max_frames)

    def close(self) -> None:
        """Unsubscribe every view from the trainer and release the widgets and figures."""
        for view in self.views:
            view.close()
        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return widget_bundle(self.widget, repr(self), **kwargs)

    def __repr__(self) -> str:
        return "Dashboard()"


def _decode(png: bytes) -> PILImage.Image:
    return PILImage.open(io.BytesIO(png)).convert("RGB")


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
    """The Dashboard's sheets of a recording, composed when asked for (a sheet in memory is ~1.5 MB)."""

    def __init__(self, rows: list[tuple[bytes, ...]], below: bool) -> None:
        self.rows = rows
        self.below = below
        self._decoded: dict[int, tuple[bytes, PILImage.Image]] = {}  # per picture: its last PNG, decoded

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> PILImage.Image:  # type: ignore[override]
        pictures = []
        for slot, png in enumerate(self.rows[index]):
            cached = self._decoded.get(slot)
            if cached is None or cached[0] is not png:  # consecutive sheets mostly share a picture's frame
                cached = self._decoded[slot] = (png, _decode(png))
            pictures.append(cached[1])
        return compose(pictures, self.below)
