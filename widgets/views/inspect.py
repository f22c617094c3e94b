"""ModuleInspector: the module tree, live per-parameter numbers and the histograms of one tensor.

The tree, the numbers and the tensor's dropdown are ipywidgets; the two
histograms (the tensor's values and its gradient) are a `Picture` the page
draws (`js/histogram.js`) from the bin edges and counts the kernel sends, a
few hundred bytes a round. Stills come from `inspector_still.render_inspector`.
Also home of the plain-text `summary(model)`, which needs no Jupyter.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from html import escape
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .base import model_and_trainer
from .histogram import InspectorState, PanelState, SteppedHistogram, empty_panel
from .live import LiveView, check_pacer
from .module_tree import module_rows, require_initialized, shape_text, summary, total_text
from .pacer import Pacer
from .param_stats import ParamStats, copy_parameters, parameter_stats
from .picture import Picture
from .tables import Cell, html_table

__all__ = ["DEFAULT_SIZE", "MIN_SIZE", "InspectorState", "ModuleInspector", "summary"]

DEFAULT_SIZE = (640, 220)
"""Width and height of the histograms' picture in CSS pixels."""
MIN_SIZE = (360, 140)
"""The smallest picture in which both panels keep their title, ticks and note."""
TRAIN_COLOUR = "#1f77b4"  # weights and gradients belong to training (widgets.views.style, without matplotlib)
PANELS = ("values", "gradient")


TABLE_INTERVAL = 0.5
"""Seconds between two updates of the statistics table while training (twice a second: text to read); the
histograms are sent every round. Every parameter's numbers make the table the costly part of a round: about
2.8 ms for the README's MLP, against 1 ms for a round of histograms alone."""


def _number(value: float | None) -> Cell:
    return Cell("—" if value is None else f"{value:.4g}", numeric=True)


def _tensors_text(pairs: tuple[tuple[str, tuple[int, ...]], ...]) -> str:
    return ", ".join(f"{name} {shape_text(shape)}" for name, shape in pairs)


def check_size(size: object) -> tuple[int, int]:
    """`size` as two ints, or an error unless it is (width, height) in pixels, at least MIN_SIZE."""
    try:
        width, height = (int(side) for side in size)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise TypeError(f"ModuleInspector: size must be (width, height) in pixels, got {size!r}") from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(
            f"ModuleInspector: size must be at least {MIN_SIZE} pixels (width, height) so every label fits, "
            f"got {size!r}"
        )
    return width, height


class ModuleInspector(LiveView):
    """The tree of a model, and with a trainer, live numbers for every parameter.

    `ModuleInspector(model)` shows the tree (name, type, own and total parameter
    counts, shapes, trainable flag, buffers), each parameter's numbers and the
    histograms of one tensor's values and gradient (`update()` shows changes
    made by hand). `ModuleInspector(trainer)` also follows training: at each
    round of the pacer it sends the histograms and shows each parameter's mean,
    std, gradient norm and the size of the update the optimizer step made. The
    parameters are copied after backward only when a round is due, and the
    change is measured at the step that follows. `size` is the histograms'
    (width, height) in pixels, at least `MIN_SIZE`.
    """

    def __init__(
        self,
        model_or_trainer: nn.Module | Any,
        pacer: Pacer | None = None,
        parameter: str | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "ModuleInspector")
        require_initialized(model, "ModuleInspector")
        check_pacer(pacer)
        width, height = check_size(size)
        names = [name for name, _ in model.named_parameters()]
        if parameter is not None and parameter not in names:
            raise ValueError(f"ModuleInspector: no parameter named {parameter!r}; the model has {names}")
        self.model = model
        self.trainer = trainer
        self._tree_view = ipw.HTML()
        self._tree_view.add_class("lt-inspector-tree")
        self._stats_view = ipw.HTML()
        self._stats_view.add_class("lt-inspector-stats")
        self._choice = ipw.Dropdown(
            options=names, value=parameter or (names[0] if names else None), description="tensor"
        )
        self._choice.add_class("lt-inspector-choice")
        picture = Picture("histogram", width=width, height=height)
        self._histograms = {panel: SteppedHistogram() for panel in PANELS}
        self._stats: dict[str, ParamStats] = {}
        self._updates: dict[str, float] = {}
        self._update_step: int | None = None
        # (step, parameters after its backward)
        self._pending: tuple[int, dict[str, torch.Tensor]] | None = None
        self._grads_current = True  # False after a reset: .grad then belongs to weights that are gone
        self._table_time, self._table_forced = float("-inf"), True
        widget = ipw.VBox([self._tree_view, self._stats_view, self._choice, picture])
        super().__init__(widget, picture, "module-inspector", pacer)
        self._choice.observe(self._on_choice, names="value")
        self.refresh_tree()
        if trainer is not None:
            self.follow(trainer)
            self.listen(trainer, "backward", self._on_backward)
        self.finish()

    # --- public -----------------------------------------------------------------
    def summary(self) -> str:
        """The model as plain text: its parameter total, then one line per child module."""
        return summary(self.model)

    def stats(self) -> dict[str, ParamStats]:
        """The numbers shown by the last round, by parameter name."""
        return dict(self._stats)

    @property
    def tree_html(self) -> str:
        """The module table as shown: the parameter total, then one row per module (HTML)."""
        return self._tree_view.value

    @property
    def stats_html(self) -> str:
        """The statistics table as shown, with the note on which step `update` measured (HTML)."""
        return self._stats_view.value

    @property
    def update_step(self) -> int | None:
        """The step whose optimizer update the `update` column measures (None before any)."""
        return self._update_step

    @property
    def parameter(self) -> str | None:
        """The name of the tensor whose histograms are shown."""
        return self._choice.value

    def select(self, name: str) -> None:
        """Show the histograms of the parameter called `name`."""
        if name not in self._choice.options:
            raise ValueError(
                f"ModuleInspector: no parameter named {name!r}; the model has {list(self._choice.options)}"
            )
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
        # only then does a table follow: copy what the optimizer will change
        if self.pacer.due() and self._table_due():
            self._pending = (payload["step"], copy_parameters(self.model))

    def on_reset(self, payload: dict) -> None:
        with self._lock:
            self._pending = None
            self._grads_current = False
            self._updates = {}
            self._update_step = None
            for histogram in self._histograms.values():
                histogram.forget_limits()
            self.refresh_tree()
        super().on_reset(payload)

    def _on_choice(self, change: dict) -> None:
        self.loop.run(self._show_choice)

    def _show_choice(self) -> None:
        with self._between_steps(), self._lock:
            for histogram in self._histograms.values():
                histogram.forget_limits()
            self.finish()  # stored too: a page opened later shows the tensor chosen last

    def _between_steps(self) -> Any:
        return self.trainer.between_steps() if self.trainer is not None else nullcontext()

    # --- LiveView ---------------------------------------------------------------------
    def collect(self) -> None:
        with self._lock:
            if self._table_due():
                self._collect_stats()
                self._table_time, self._table_forced = self.pacer.time_fn(), False
            self._put(self.frame_state())

    def finish(self) -> None:
        self._table_forced = True  # the table shows the last step too
        super().finish()

    def _table_due(self) -> bool:
        # on the pacer's clock
        return self._table_forced or self.pacer.time_fn() - self._table_time >= TABLE_INTERVAL

    def _collect_stats(self) -> None:
        pending, self._pending = self._pending, None
        before = None
        # the copy is of the step just taken (its optimizer step done), not of one that failed after backward
        if pending is not None and self.trainer is not None and pending[0] == self.trainer.global_step:
            before = pending[1]
            self._update_step = pending[0]
        stats = parameter_stats(self.model, before, with_grads=self._grads_current)
        if before is not None:
            self._updates = {name: s.update for name, s in stats.items() if s.update is not None}
        # a new dict, assigned whole: `stats()` on another thread sees the last round's or the new one's
        self._stats = {
            name: dataclasses.replace(s, update=self._updates.get(name)) for name, s in stats.items()
        }
        self._stats_view.value = self._render_stats()

    def _render_stats(self) -> str:
        rows = [
            [
                s.name,
                shape_text(s.shape),
                _number(s.mean),
                _number(s.std),
                _number(s.grad_norm),
                _number(s.update),
            ]
            for s in self._stats.values()
        ]
        if self._update_step is None:
            note = "update: not measured yet"
        else:
            note = f"update: norm of the change made by optimizer step {self._update_step:,}"
        header = ["parameter", "shape", "mean", "std", "grad norm", "update"]
        return (
            html_table(header, rows, "lt-param-stats")
            + f"<div style='font-size:11px;color:#666'>{note}</div>"
        )

    def _put(self, state: InspectorState) -> None:
        """Put into the picture what differs from what it holds: mostly new counts, edges only when
        the limits moved."""
        for panel in PANELS:
            shown: PanelState = getattr(state, panel)
            for part in ("edges", "counts"):
                name, values = f"{panel}:{part}", getattr(shown, part)
                held = self.picture.channel(name)
                if held is None or not np.array_equal(held, values):
                    self.picture.put(name, values)
        options = {"name": state.name, "notes": {panel: getattr(state, panel).note for panel in PANELS},
                   "colour": TRAIN_COLOUR}
        if options != self.picture.options:
            self.picture.options = options

    def frame_state(self) -> InspectorState:
        """The histograms of the chosen tensor as they are now (computed afresh: a few passes over the
        tensor)."""
        name = self._choice.value
        param = dict(self.model.named_parameters()).get(name) if name is not None else None
        if param is None:
            return InspectorState(None, empty_panel("no parameters"), empty_panel(""))
        with torch.no_grad():
            values = self._histograms["values"].panel(param)
            if param.grad is None or not self._grads_current:
                gradient = empty_panel("no gradient yet")
            else:
                gradient = self._histograms["gradient"].panel(param.grad)
        return InspectorState(name, values, gradient)

    def render_png(self, state: InspectorState) -> bytes:
        from .inspector_still import render_inspector  # matplotlib loads only when a still is asked for

        return render_inspector(state, size=(self.picture.width, self.picture.height))

    def __str__(self) -> str:
        return self.summary()
