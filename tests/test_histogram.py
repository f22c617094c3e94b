"""The live histogram keeps its axes (and so the cached background) while the data moves inside them."""

import torch
from matplotlib.figure import Figure

from widgets.views.histogram import HistogramPanel


def panel(width: float = 6.4) -> HistogramPanel:
    return HistogramPanel(Figure(figsize=(width, 2.0)).add_subplot(), color="C0")


def test_all_zero_gradients_do_not_relayout_every_frame():
    hist = panel()
    assert hist.update(torch.zeros(64, 64))  # the first values choose the limits
    assert not hist.update(torch.zeros(64, 64))
    assert not hist.update(torch.zeros(64, 64))
    assert hist.counts.sum() == 64 * 64


def test_a_range_that_shrinks_by_half_keeps_the_axes():
    hist = panel()
    assert hist.update(torch.linspace(-1.0, 1.0, 1000))
    limits = hist.axes.get_xlim()
    assert not hist.update(torch.linspace(-0.5, 0.5, 1000))
    assert hist.axes.get_xlim() == limits
    assert hist.counts.sum() == 1000


def test_data_leaving_the_axes_or_filling_a_sliver_moves_them():
    hist = panel()
    hist.update(torch.linspace(-1.0, 1.0, 1000))
    assert hist.update(torch.linspace(-5.0, 5.0, 1000))  # outside: new limits
    low, high = hist.axes.get_xlim()
    assert low <= -5.0 and high >= 5.0
    assert hist.update(torch.linspace(-0.01, 0.01, 1000))  # under a tenth of the width: shrink
    low, high = hist.axes.get_xlim()
    assert high - low < 1.0


def test_a_narrow_panel_keeps_fewer_ticks():
    ticks = {}
    for width in (1.5, 6.4):
        hist = panel(width)
        hist.update(torch.linspace(-0.0123, 0.0123, 1000))
        low, high = hist.axes.get_xlim()
        ticks[width] = [x for x in hist.axes.get_xticks() if low <= x <= high]
    assert 2 <= len(ticks[1.5]) <= 3 < len(ticks[6.4]) <= 5
