"""ModuleInspector: the module tree, live per-parameter numbers and a histogram of one tensor.

Also home of the plain-text `summary(model)`, which needs no Jupyter.
"""

from __future__ import annotations

import dataclasses
import threading
from html import escape
from typing import Any

import ipywidgets as ipw
import torch
from torch import nn

from .histogram import HistogramPanel
from .module_tree import module_rows, shape_text, summary, total_text
from .param_stats import ParamStats, copy_parameters, parameter_stats
from .base import View, model_and_trainer
from .clock import FrameClock, check_clock
from .frame import Frame
from .tables import Cell, html_table

__all__ = ["ModuleInspector", "summary"]


def _number(value: float | None) -> Cell:
    return Cell("—" if value is None else f"{value:.4g}", numeric=True)


def _tensors_text(pairs: tuple[tuple[str, tuple[int, ...]], ...]) -> str:
    return ", ".join(f"{name} {shape_text(shape)}" for name, shape in pairs)


class ModuleInspector(View):
    """The tree of a model, and with a trainer, live numbers for every parameter.

    `ModuleInspector(model)` shows the tree (name, type, own and total parameter
    counts, shapes, trainable flag, buffers) and the current numbers.
    `ModuleInspector(trainer)` also follows training: on the frame clock it
    shows each parameter's mean, std, gradient norm and the size of the update
    the optimizer step made. The parameters are copied after backward only when
    a frame is due, and the change is measured at the step that follows.
    """

    def __init__(
        self,
        model_or_trainer: nn.Module | Any,
        clock: FrameClock | None = None,
        parameter: str | None = None,
        figsize: tuple[float, float] = (6.4, 2.2),
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "ModuleInspector")
        check_clock(clock)
        names = [name for name, _ in model.named_parameters()]
        if parameter is not None and parameter not in names:
            raise ValueError(f"ModuleInspector: no parameter named {parameter!r}; the model has {names}")
        self.model = model
        self.trainer = trainer
        self._lock = threading.RLock()
        self._tree_view = ipw.HTML()
        self._stats_view = ipw.HTML()
        self._choice = ipw.Dropdown(options=names, value=parameter or (names[0] if names else None), description="tensor")
        self._choice.add_class("lt-inspector-choice")
        self._frame = Frame(figsize=figsize)
        values_axes, grads_axes = self._frame.figure.subplots(1, 2)
        self._values_panel = HistogramPanel(values_axes, "tab:blue")
        self._grads_panel = HistogramPanel(grads_axes, "tab:orange")
        self._frame.animate(*self._values_panel.artists(), *self._grads_panel.artists())
        self._frame.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.86, wspace=0.25)
        self._titles_stale = True
        self._stats: dict[str, ParamStats] = {}
        self._updates: dict[str, float] = {}
        self._update_step: int | None = None
        self._pending: tuple[int, dict[str, torch.Tensor]] | None = None
        self._before: dict[str, torch.Tensor] | None = None
        self._grads_current = True  # False after a reset: .grad then belongs to weights that are gone
        widget = ipw.VBox([self._tree_view, self._stats_view, self._choice, self._frame.image])
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
        with self._lock:
            return dict(self._stats)

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
        with self._lock:
            stats = parameter_stats(self.model, self._before, with_grads=self._grads_current)
            if self._before is not None:
                self._updates = {name: s.update for name, s in stats.items() if s.update is not None}
            self._stats = {
                name: dataclasses.replace(s, update=self._updates.get(name)) for name, s in stats.items()
            }
            self._stats_view.value = self._stats_html()
            self._draw_histograms()

    def _stats_html(self) -> str:
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
        if param is None:
            self._values_panel.clear("no parameters")
            self._grads_panel.clear("")
            relayout = False
        else:
            relayout = self._values_panel.update(param)
            if param.grad is None or not self._grads_current:
                self._grads_panel.clear("no gradient yet")
            else:
                relayout = self._grads_panel.update(param.grad) or relayout
        if self._titles_stale:
            self._values_panel.axes.set_title(f"{name} values" if name else "", fontsize=9)
            self._grads_panel.axes.set_title(f"{name} gradient" if name else "", fontsize=9)
            self._titles_stale = False
            relayout = True
        if relayout:
            self._frame.draw_background()
        self._frame.blit()

    def snapshot_png(self) -> bytes:
        return self._frame.png

    def __str__(self) -> str:
        return self.summary()

    def release(self) -> None:
        self._frame.close()
