"""GradientFlow: the gradient norm of every layer over the steps, on a log scale, drawn in the page.

Vanishing gradients show as the first layers' lines lying orders of magnitude
below the last layers'; exploding ones as lines that shoot up. The norms are
read on the trainer's "backward" event (gradients ready, weights not yet
updated) by `gradient_flow_data.GradNorms`. Each pacer round sends only the
rows recorded since the last one: a float64 "step" channel and a float32
"norms" channel of one column per layer; the layer names and colours go in
the picture's options. The page (`js/gradients.js`) draws the lines, the log
axis, the colour key and a readout; stills come from `gradient_flow_still`.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as ipw
import numpy as np

from .base import check_trainer
from .gradient_flow_data import GROUPINGS, GradNorms, layer_colours, layer_groups
from .live import LiveView, check_pacer
from .pacer import Pacer
from .picture import Picture

__all__ = ["DEFAULT_SIZE", "MIN_SIZE", "GradientFlow"]

DEFAULT_SIZE = (640, 280)
"""Width and height of the picture in CSS pixels."""
MIN_SIZE = (360, 200)
"""The smallest picture in which the axes, their labels and the colour key still fit."""


def _check_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (int(side) for side in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be (width, height) in pixels, got {size!r}") from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(
            f"size must be at least {MIN_SIZE} pixels (width, height) so the axes and key fit, got {size!r}"
        )
    return width, height


class GradientFlow(LiveView):
    """The gradient norm of each layer over the optimizer steps: log y axis, one line per layer, coloured in
    a sequential scale from the input layer (dark) to the output layer (light), with a colour key naming them.

    `by="module"` (default) makes one line per module that owns trainable
    parameters (a Linear, a Conv2d...), the norm of its weight and bias
    together; `by="parameter"` one per parameter tensor ("0.weight").
    Frozen parameters are left out. A layer without any gradient on a step
    (unused in the forward pass) leaves a gap there; a zero norm is drawn at
    the bottom edge of the axis. `every=k` records every k-th step only (and
    the first). `size` is (width, height) in pixels; `pacer` the views' shared
    `Pacer` (one of its own by default).
    """

    def __init__(self, trainer: Any, *, by: str = "module", every: int = 1, pacer: Pacer | None = None,
                 size: tuple[int, int] = DEFAULT_SIZE) -> None:
        check_trainer(trainer, "GradientFlow")
        check_pacer(pacer)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int (record every k-th step), got {every!r}")
        if by not in GROUPINGS:
            raise ValueError(f"by must be one of {GROUPINGS}, got {by!r}")
        width, height = _check_size(size)
        names, parameters, groups = layer_groups(trainer.model, by)
        self.trainer = trainer
        self.by = by
        self.every = every
        self.layers = names
        """The layers' names, input first: one line and one column of `norms` each."""
        self.colours = dict(zip(names, layer_colours(len(names))))
        """Each layer's line colour ("#rrggbb")."""
        self._recorder = GradNorms([p for _, p in parameters], groups)
        picture = Picture("gradients", width=width, height=height)
        picture.options = {"layers": names, "colours": list(self.colours.values()), "label": "gradient norm"}
        super().__init__(ipw.VBox([picture]), picture, "gradient-flow", pacer)
        self.follow(trainer)
        self.listen(trainer, "backward", self._on_backward)
        self.finish()

    # --- recording ---------------------------------------------------------------------
    def _on_backward(self, payload: dict) -> None:
        step = payload["step"]
        if self.every == 1 or step % self.every == 0 or step == 1:
            with self._lock:
                self._recorder.record(step)

    def on_reset(self, payload: dict) -> None:
        with self._lock:
            self._recorder.clear()
        super().on_reset(payload)

    # --- what was recorded -------------------------------------------------------------
    @property
    def steps(self) -> np.ndarray:
        """The steps recorded so far (a copy)."""
        with self._lock:
            return self._recorder.columns()[0].copy()

    @property
    def norms(self) -> np.ndarray:
        """The gradient norms recorded so far, one row per step and one column per layer of `layers`
        (a copy)."""
        with self._lock:
            return self._recorder.columns()[1].copy()

    # --- LiveView ------------------------------------------------------------------------
    def collect(self) -> None:
        with self._lock:
            first, steps, norms = self._recorder.new_rows()
            if first == self.picture.rows("step") and self.picture.channel("step") is not None:
                if len(steps):
                    self.picture.extend("step", steps.astype(np.float64))
                    self.picture.extend("norms", norms.astype(np.float32))
                return
            # the first round, or rows rewritten (a reset, a step recorded again): send every row
            every_step, every_norm = self._recorder.columns()
            self.picture.put("step", every_step.astype(np.float64))
            self.picture.put(
                "norms", every_norm.astype(np.float32).reshape(len(every_step), len(self.layers))
            )

    def frame_state(self) -> int:
        """The number of steps recorded: a still shows those."""
        return self._recorder.count

    def render_png(self, state: int) -> bytes:
        from .gradient_flow_still import render_gradients  # matplotlib loads only when a still is asked for

        with self._lock:
            steps, norms = self._recorder.columns()
            rows = min(int(state), len(steps))
            steps, norms = steps[:rows].copy(), norms[:rows].copy()
        return render_gradients(steps, norms, self.layers, list(self.colours.values()),
                                size=(self.picture.width, self.picture.height))
