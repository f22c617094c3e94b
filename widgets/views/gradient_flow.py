"""GradientFlow: the gradient norm of every layer over the steps, on a log scale, drawn live.

Vanishing gradients show as the first layers' lines lying orders of magnitude
below the last layers'; exploding ones as lines that shoot up. The norms are
read on the trainer's "backward" event (gradients ready, weights not yet
updated) by `gradient_flow_data.GradNorms`; this module only draws.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap

from .axes import covers, nice_limits
from .base import View, check_trainer
from .clock import FrameClock, check_clock
from .compare import check_figsize
from .compare_layout import Relayout
from .curve_data import Decimator, axis_end
from .frame import Frame
from .gradient_flow_data import GROUPINGS, GradNorms, layer_groups
from .style import FONT_SIZE, layer_colours

DEFAULT_FIGSIZE = (6.0, 3.2)
MIN_FIGSIZE = (4.0, 2.4)
_MAX_LABELLED = 12  # layers named on the colour key; beyond, every k-th
_NAME_LENGTH = 20


class GradientFlow(View):
    """The gradient norm of each layer over the optimizer steps: log y axis, one line per layer, coloured in
    a sequential scale from the input layer (dark) to the output layer (light), with a colour key naming them.

    `by="module"` (default) makes one line per module that owns trainable
    parameters (a Linear, a Conv2d...), the norm of its weight and bias
    together; `by="parameter"` one per parameter tensor ("0.weight").
    Frozen parameters are left out. A layer without any gradient on a step
    (unused in the forward pass) leaves a gap there; a zero norm is drawn at
    the bottom edge of the axis. `every=k` records every k-th step only.
    """

    def __init__(self, trainer: Any, *, by: str = "module", every: int = 1, clock: FrameClock | None = None,
                 figsize: tuple[float, float] = DEFAULT_FIGSIZE, dpi: int = 80) -> None:
        check_trainer(trainer, "GradientFlow")
        check_clock(clock)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int (record every k-th step), got {every!r}")
        if by not in GROUPINGS:
            raise ValueError(f"by must be one of {GROUPINGS}, got {by!r}")
        width, height = check_figsize(figsize, MIN_FIGSIZE)
        names, parameters, groups = layer_groups(trainer.model, by)
        self.trainer = trainer
        self.every = every
        self.layers = names
        self.colours = dict(zip(names, layer_colours(len(names))))
        self._recorder = GradNorms([p for _, p in parameters], groups)
        self._decimators = [Decimator() for _ in names]
        self.frame = Frame(figsize=(width, height), dpi=dpi)
        super().__init__(self.frame.image, "gradient-flow", clock)
        self._build()
        self.follow(trainer)
        self.listen(trainer, "backward", self._on_backward)
        self.draw_first_frame()

    # --- recording ---------------------------------------------------------------------
    def _on_backward(self, payload: dict) -> None:
        step = payload["step"]
        if self.every == 1 or step % self.every == 0 or step == 1:
            self._recorder.record(step)

    def on_reset(self, payload: dict) -> None:
        with self._draw_lock:
            self._recorder.clear()
            for decimator in self._decimators:
                decimator.reset()
            self._limits = {}
            self._seen = (0, math.inf, -math.inf)
        super().on_reset(payload)

    # --- what was recorded and drawn ------------------------------------------------------------
    @property
    def steps(self) -> np.ndarray:
        """The steps recorded so far (a copy)."""
        return self._recorder.columns()[0].copy()

    @property
    def norms(self) -> np.ndarray:
        """The gradient norms recorded so far, one row per step and one column per layer of `layers` (a copy)."""
        return self._recorder.columns()[1].copy()

    @property
    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each layer's line in the last frame as (x, y) arrays, decimated and floored as drawn."""
        return {name: (np.asarray(line.get_xdata(), dtype=np.float64), np.asarray(line.get_ydata(), dtype=np.float64))
                for name, line in zip(self.layers, self._lines)}

    @property
    def y_limits(self) -> tuple[float, float]:
        """(bottom, top) of the norm axis in the last frame."""
        low, high = self._ax.get_ylim()
        return float(low), float(high)

    @property
    def plot_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the plotting area in the PNG's pixels (origin at the top left)."""
        box, height = self._ax.bbox, self.frame.figure.bbox.height
        return int(math.ceil(box.x0)), int(math.ceil(height - box.y1)), int(box.x1), int(height - box.y0)

    # --- drawing -----------------------------------------------------------------------------
    def _build(self) -> None:
        figure = self.frame.figure
        self._ax = ax = figure.add_subplot()
        self._lines = [ax.plot([], [], color=self.colours[name], linewidth=1.2)[0] for name in self.layers]
        self.frame.animate(*self._lines)
        ax.set_yscale("log")
        ax.set_xlabel("step", fontsize=FONT_SIZE)
        ax.set_ylabel("gradient norm", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE)
        ax.grid(True, alpha=0.3)
        count = len(self.layers)
        key = ScalarMappable(norm=BoundaryNorm(np.arange(count + 1) - 0.5, count),
                             cmap=ListedColormap(list(self.colours.values())))
        every = max(1, math.ceil(count / _MAX_LABELLED))
        ticks = sorted(set(range(0, count, every)) | {count - 1})
        bar = figure.colorbar(key, ax=ax, ticks=ticks, fraction=0.06, pad=0.02, aspect=30,
                           use_gridspec=False)
        bar.ax.set_yticklabels([_short(self.layers[i]) for i in ticks], fontsize=FONT_SIZE)
        bar.ax.invert_yaxis()  # the input layer on top, as a model is printed
        bar.set_label("layer", fontsize=FONT_SIZE)
        self._relayout = Relayout(figure)
        self._limits: dict[str, tuple[float, float]] = {}
        self._seen = (0, math.inf, -math.inf)  # rows looked at, their smallest and largest positive norm

    def draw(self) -> None:
        steps, norms = self._recorder.columns()
        changed = self._set_limits(steps, norms)
        if changed or self.frame.needs_background:
            self._relayout.arrange()
            self.frame.draw_background()
        x_low, x_high = self._ax.get_xlim()
        width = self._ax.get_window_extent().width
        runs = max(1, int(width * (float(steps[-1]) if len(steps) else 0.0) / max(x_high - x_low, 1e-12)))
        floor = self._ax.get_ylim()[0]
        for index, (line, decimator) in enumerate(zip(self._lines, self._decimators)):
            column = norms[:, index]
            rows = decimator.rows(column, runs) if len(column) else np.empty(0, dtype=np.int64)
            values = column[rows]
            line.set_data(steps[rows], np.where(values <= 0, floor, values))  # NaN stays NaN: a gap
        self.frame.blit()

    def _set_limits(self, steps: np.ndarray, norms: np.ndarray) -> bool:
        changed = False
        high = float(steps[-1]) if len(steps) else 0.0
        if high <= 0:
            changed |= self._limits.pop("x", None) is not None
            self._ax.set_xlim(0.0, 1.0)
        elif not covers(self._limits.get("x"), 0.0, high):
            self._limits["x"] = (0.0, axis_end(high))
            self._ax.set_xlim(*self._limits["x"])
            changed = True
        extremes = self._extremes(norms)
        if extremes is None:
            if "y" not in self._limits:
                self._ax.set_ylim(1e-3, 1.0)
            return changed
        low, top = extremes
        if not covers(self._limits.get("y"), low, top):
            self._limits["y"] = nice_limits(low, top, log=True)
            self._ax.set_ylim(*self._limits["y"])
            changed = True
        return changed

    def _extremes(self, norms: np.ndarray) -> tuple[float, float] | None:
        """The smallest and largest positive finite norm, kept up to date from the rows added since the last frame."""
        seen, low, high = self._seen
        if len(norms) < seen:  # a step recorded again after a failure: look at every row afresh
            seen, low, high = 0, math.inf, -math.inf
        new = norms[seen:]
        positive = new[np.isfinite(new) & (new > 0)]
        if len(positive):
            low, high = min(low, float(positive.min())), max(high, float(positive.max()))
        self._seen = (len(norms), low, high)
        return (low, high) if high > 0 else None

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()


def _short(name: str) -> str:
    """A layer name cut from the left to fit the colour key ("…layers.3 Linear")."""
    return name if len(name) <= _NAME_LENGTH else "…" + name[-(_NAME_LENGTH - 1):]

