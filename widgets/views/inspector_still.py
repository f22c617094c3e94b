"""The inspector's histograms as a still PNG, drawn by matplotlib from the state the page draws.

Used for `ModuleInspector.snapshot_png()`, GIF frames and the image a stored
notebook shows where no JavaScript runs; never on the training loop's pacer.
"""

from __future__ import annotations

import io
from typing import cast

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import MaxNLocator

from .histogram import InspectorState, PanelState
from .style import FONT_SIZE, SPLIT_COLOURS, TITLE_SIZE

_DPI = 100
_TICK_SPACING = 70  # pixels between two x tick labels at least


def set_fitted_title(axes: Axes, text: str) -> None:
    """Title `axes` with `text`, cut at the front ("…0.weight values") where it would be wider than the
    axes."""
    renderer = cast(FigureCanvasAgg, axes.figure.canvas).get_renderer()  # every still draws on Agg
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


def _panel(axes: Axes, panel: PanelState, width_px: float) -> None:
    axes.set_yticks([])
    axes.tick_params(labelsize=FONT_SIZE)
    axes.xaxis.get_offset_text().set_fontsize(FONT_SIZE)
    if panel.empty:
        axes.set_xticks([])
        axes.text(0.5, 0.5, panel.note, transform=axes.transAxes, ha="center", va="center", color="0.4",
                  fontsize=FONT_SIZE)
        return
    axes.stairs(panel.counts, panel.edges, fill=True, color=SPLIT_COLOURS["train"])
    axes.set_xlim(float(panel.edges[0]), float(panel.edges[-1]))
    axes.set_ylim(0, max(1.0, float(panel.counts.max()) * 1.1))
    axes.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=True)
    ticks = max(2, min(5, int(width_px / _TICK_SPACING)))
    axes.xaxis.set_major_locator(MaxNLocator(nbins=ticks, steps=[1, 2, 2.5, 5, 10], min_n_ticks=2))


def render_inspector(state: InspectorState, size: tuple[int, int]) -> bytes:
    """PNG bytes of both histograms of an `InspectorState` (`name`, `values`, `gradient`); `size` in
    pixels."""
    width, height = size
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    layout = figure.get_layout_engine()
    if isinstance(layout, ConstrainedLayoutEngine):  # always, by layout="constrained"
        layout.set(w_pad=0.08, wspace=0.06)
    values_axes, gradient_axes = figure.subplots(1, 2)
    name = getattr(state, "name", None)
    for axes, panel in ((values_axes, state.values), (gradient_axes, state.gradient)):
        _panel(axes, panel, width / 2)
        # a line's height for the layout; the real title fits the width
        axes.set_title("values", fontsize=TITLE_SIZE)
    figure.draw_without_rendering()
    figure.set_layout_engine("none")  # keep the boxes the titles are fitted to
    set_fitted_title(values_axes, f"{name} values" if name else "")
    set_fitted_title(gradient_axes, f"{name} gradient" if name else "")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
