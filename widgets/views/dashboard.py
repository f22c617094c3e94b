"""Dashboard: controls, loss curve, decision boundary and module inspector for one trainer, in one call."""

from __future__ import annotations

import io
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

        plots = [self.loss_curve.widget] + ([self.boundary.widget] if self.boundary is not None else [])
        rows: list[ipw.Widget] = [self.controls.widget, ipw.HBox(plots)]
        if self.inspector is not None:
            rows.append(self.inspector.widget)
        self.widget = ipw.VBox(rows)
        self.widget.add_class("lt-dashboard")
        cells.adopt(self)

    def snapshot(self) -> StaticImage:
        """The plots as one static PNG: loss curve and boundary side by side, the inspector's histogram below."""
        pictures = [self._picture(self.loss_curve)]
        if self.boundary is not None:
            pictures.append(self._picture(self.boundary))
        top_width = sum(p.width for p in pictures) + _GAP * (len(pictures) - 1)
        top_height = max(p.height for p in pictures)
        below = self._picture(self.inspector) if self.inspector is not None else None
        width = max(top_width, below.width if below else 0)
        height = top_height + (below.height + _GAP if below else 0)
        sheet = PILImage.new("RGB", (width, height), "white")
        left = 0
        for picture in pictures:
            sheet.paste(picture, (left, 0))
            left += picture.width + _GAP
        if below is not None:
            sheet.paste(below, (0, top_height + _GAP))
        buffer = io.BytesIO()
        sheet.save(buffer, "PNG")
        return StaticImage(data=buffer.getvalue(), format="png")

    @staticmethod
    def _picture(view: View) -> PILImage.Image:
        return PILImage.open(io.BytesIO(view.snapshot().data)).convert("RGB")

    def close(self) -> None:
        """Unsubscribe every view from the trainer and release the widgets and figures."""
        for view in self.views:
            view.close()
        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return widget_bundle(self.widget, repr(self), **kwargs)

    def __repr__(self) -> str:
        return "Dashboard()"
