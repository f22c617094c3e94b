"""ModuleInspector: the module tree, live per-parameter numbers and a histogram of one tensor.

Also home of the plain-text `summary(model)`, which needs no Jupyter.
"""

from __future__ import annotations

import dataclasses
from html import escape
from typing import Any

import ipywidgets as ipw
import torch
from matplotlib.axes import Axes
from matplotlib.transforms import Bbox
from torch import nn

from .base import View, model_and_trainer
from .clock import FrameClock, check_clock
from .frame import Frame
from .histogram import HistogramPanel
from .module_tree import module_rows, require_initialized, shape_text, summary, total_text
from .param_stats import ParamStats, copy_parameters, parameter_stats
from .style import TITLE_SIZE, split_colour
from .tables import Cell, html_table

__all__ = ["MIN_FIGSIZE", "ModuleInspector", "summary"]

MIN_FIGSIZE = (3.6, 1.6)
"""The smallest histogram figure (inches) whose titles, ticks and notes all stay inside the image."""

# Margins and the gap between the two histograms, in inches: the same at every figure size.
# A tick label sits centred on the axes' edge, so half of one sticks out on either side.
_LEFT, _RIGHT, _BOTTOM, _TOP, _GAP = 0.3, 0.3, 0.45, 0.3, 0.6


def _number(value: float | None) -> Cell:
    return Cell("—" if value is None else f"{value:.4g}", numeric=True)


def _tensors_text(pairs: tuple[tuple[str, tuple[int, ...]], ...]) -> str:
    return ", ".join(f"{name} {shape_text(shape)}" for name, shape in pairs)


def check_figsize(figsize: object) -> tuple[float, float]:
    """`figsize` as two floats, or a ValueError unless it is (width, height) in inches at least MIN_FIGSIZE."""
    try:
        width, height = (float(size) for size in figsize)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"ModuleInspector: figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (width >= MIN_FIGSIZE[0] and height >= MIN_FIGSIZE[1]):
        raise ValueError(
            f"ModuleInspector: figsize must be at least {MIN_FIGSIZE} inches, or its text leaves the image; got {figsize!r}"
        )
    return width, height


def set_fitted_title(axes: Axes, text: str) -> None:
    """Title `axes` with `text`, cut at the front ("…0.weight values") where it would be wider than the axes."""
    renderer = axes.figure.canvas.get_renderer()
    limit = axes.get_window_extent(renderer).width
    title = axes.set_title(text, fontsize=TITLE_SIZE)
    if title.get_window_extent(renderer).width <= limit:
        return
    shortest, longest = 0, len(text)  # binary search on the number of characters kept from the end
    while shortest < longest:
        keep = (shortest + longest + 1) // 2
        title.set_text("…" + text[-keep:])
        if title.get_window_extent(renderer).width <= limit:
            shortest = keep
        else:
            longest = keep - 1
    title.set_text("…" + text[-shortest:] if shortest else "")


class ModuleInspector(View):
    """The tree of a model, and with a trainer, live numbers for every parameter.

    `ModuleInspector(model)` shows the tree (name, type, own and total parameter
    counts, shapes, trainable flag, buffers) and the current numbers.
    `ModuleInspector(trainer)` also follows training: on the frame clock it
    shows each parameter's mean, std, gradient norm and the size of the update
    the optimizer step made. The parameters are copied after backward only when
    a frame is due, and the change is measured at the step that follows.
    `figsize` is the histograms' size in inches, at least `MIN_FIGSIZE`.
    """

    def __init__(
        self,
        model_or_trainer: nn.Module | Any,
        clock: FrameClock | None = None,
        parameter: str | None = None,
        figsize: tuple[float, float] = (6.4, 2.2),
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "ModuleInspector")
        require_initialized(model, "ModuleInspector")
        check_clock(clock)
        width, height = check_figsize(figsize)
        names = [name for name, _ in model.named_parameters()]
        if parameter is not None and parameter not in names:
            raise ValueError(f"ModuleInspector: no parameter named {parameter!r}; the model has {names}")
        self.model = model
        self.trainer = trainer
        self._tree_view = ipw.HTML()
        self._stats_view = ipw.HTML()
        self._choice = ipw.Dropdown(options=names, value=parameter or (names[0] if names else None), description="tensor")
        self._choice.add_class("lt-inspector-choice")
        self.frame = Frame(figsize=(width, height))
        """The histograms' frame: `frame.figure` (matplotlib) and `frame.image` (the widget shown)."""
        values_axes, grads_axes = self.frame.figure.subplots(1, 2)
        axes_width = (width - _LEFT - _RIGHT - _GAP) / 2
        self.frame.figure.subplots_adjust(
            left=_LEFT / width, right=1 - _RIGHT / width, bottom=_BOTTOM / height, top=1 - _TOP / height,
            wspace=_GAP / axes_width,
        )
        # Weights and their gradients both belong to training: the training colour, told apart by their titles.
        self._values_panel = HistogramPanel(values_axes, split_colour("train"))
        self._grads_panel = HistogramPanel(grads_axes, split_colour("train"))
        figure_box = self.frame.figure.bbox
        middle = (values_axes.bbox.x1 + grads_axes.bbox.x0) / 2  # each panel owns its half: title, ticks, labels
        self.frame.set_cell(values_axes, Bbox([[0, 0], [middle, figure_box.height]]))
        self.frame.set_cell(grads_axes, Bbox([[middle, 0], [figure_box.width, figure_box.height]]))
        self.frame.animate(*self._values_panel.artists(), *self._grads_panel.artists())
        self._titles_stale = True
        self._stats: dict[str, ParamStats] = {}
        self._updates: dict[str, float] = {}
        self._update_step: int | None = None
        self._pending: tuple[int, dict[str, torch.Tensor]] | None = None
        self._before: dict[str, torch.Tensor] | None = None
        self._grads_current = True  # False after a reset: .grad then belongs to weights that are gone
        widget = ipw.VBox([self._tree_view, self._stats_view, self._choice, self.frame.image])
        super().__init__(widget, "module-inspector", clock)
        self._choice.observe(self._on_choice, names="value")
        self.refresh_tree()
        if trainer is not None:
            self.follow(trainer)
            self.listen(trainer, "backward", self._on_backward)
        self.draw_first_frame()

    # --- public -----------------------------------------------------------------
    def summary(self) -> str:
        """The model as plain text: its parameter total, then one line per child module."""
        return summary(self.model)

    def stats(self) -> dict[str, ParamStats]:
        """The numbers shown in the last frame, by parameter name."""
        return dict(self._stats)

    @property
    def tree_html(self) -> str:
        """The module table as shown: the parameter total, then one row per module (HTML)."""
        return self._tree_view.value

    @property
    def stats_html(self) -> str:
        """The statistics table as shown in the last frame, with the note on which step `update` measured (HTML)."""
        return self._stats_view.value

    @property
    def update_step(self) -> int | None:
        """The step whose optimizer update the `update` column measures (None before any)."""
        return self._update_step

    @property
    def parameter(self) -> str | None:
        """The name of the tensor whose histogram is shown."""
        return self._choice.value

    def select(self, name: str) -> None:
        """Show the histogram of the parameter called `name`."""
        if name not in self._choice.options:
            raise ValueError(f"ModuleInspector: no parameter named {name!r}; the model has {list(self._choice.options)}")
        self._choice.value = name

    def refresh_tree(self) -> None:
        """Rebuild the module table (after freezing parameters or changing the model)."""
        rows = []
        for row in module_rows(self.model):
            rows.append(
                [
                    Cell(row.name or "(model)", indent=row.depth),
                    row.type_name,
                    Cell(f"{row.own_params:,}", numeric=True),
                    Cell(f"{row.total_params:,}", numeric=True),
                    _tensors_text(row.param_shapes),
                    row.trainable,
                    _tensors_text(row.buffer_shapes),
                ]
            )
        header = ["module", "type", "own", "total", "parameters", "trainable", "buffers"]
        caption = f"<div class='lt-inspector-total'><b>{escape(total_text(self.model))}</b></div>"
        self._tree_view.value = caption + html_table(header, rows, "lt-module-tree")

    # --- trainer events -------------------------------------------------------------
    def _on_backward(self, payload: dict) -> None:
        self._grads_current = True
        self._pending = None
        if self.clock.permit(self, "step"):
            self._pending = (payload["step"], copy_parameters(self.model))

    def on_step(self, record: dict) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != record["step"]:
            self.mark_stale()
            return
        self._before = pending[1]
        self._update_step = record["step"]
        try:
            self.redraw()
        finally:
            self._before = None

    def on_reset(self, payload: dict) -> None:
        self._pending = None
        self._grads_current = False
        self._updates = {}
        self._update_step = None
        self.refresh_tree()
        self._values_panel.forget_limits()
        self._grads_panel.forget_limits()
        self._titles_stale = True
        super().on_reset(payload)

    def _on_choice(self, change: dict) -> None:
        self._values_panel.forget_limits()
        self._grads_panel.forget_limits()
        self._titles_stale = True
        self.redraw()

    # --- drawing --------------------------------------------------------------------
    def draw(self) -> None:
        stats = parameter_stats(self.model, self._before, with_grads=self._grads_current)
        if self._before is not None:
            self._updates = {name: s.update for name, s in stats.items() if s.update is not None}
        # a new dict, assigned whole: `stats()` on another thread sees the old frame's or the new one's
        self._stats = {name: dataclasses.replace(s, update=self._updates.get(name)) for name, s in stats.items()}
        self._stats_view.value = self._render_stats()
        self._draw_histograms()

    def _render_stats(self) -> str:
        rows = [
            [s.name, shape_text(s.shape), _number(s.mean), _number(s.std), _number(s.grad_norm), _number(s.update)]
            for s in self._stats.values()
        ]
        if self._update_step is None:
            note = "update: not measured yet"
        else:
            note = f"update: norm of the change made by optimizer step {self._update_step:,}"
        header = ["parameter", "shape", "mean", "std", "grad norm", "update"]
        return html_table(header, rows, "lt-param-stats") + f"<div style='font-size:11px;color:#666'>{note}</div>"

    def _draw_histograms(self) -> None:
        name = self._choice.value
        param = dict(self.model.named_parameters()).get(name) if name is not None else None
        moved: list | None = []  # the panels whose limits moved: only their part of the background is drawn again
        if param is None:
            self._values_panel.clear("no parameters")
            self._grads_panel.clear("")
        else:
            if self._values_panel.update(param):
                moved.append(self._values_panel.axes)
            if param.grad is None or not self._grads_current:
                self._grads_panel.clear("no gradient yet")
            elif self._grads_panel.update(param.grad):
                moved.append(self._grads_panel.axes)
        if self._titles_stale:
            set_fitted_title(self._values_panel.axes, f"{name} values" if name else "")
            set_fitted_title(self._grads_panel.axes, f"{name} gradient" if name else "")
            self._titles_stale = False
            moved = None  # new titles: the whole background
        if moved is None or moved:
            self.frame.draw_background(moved)
        self.frame.blit()

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def __str__(self) -> str:
        return self.summary()

    def release(self) -> None:
        self.frame.close()
