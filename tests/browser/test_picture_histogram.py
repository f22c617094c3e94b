"""The inspector's histograms run alone in Chromium: bars where the counts are, the readout, the notes, the
cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from widgets.views.inspect import MIN_SIZE, ModuleInspector
from widgets.views.pacer import Pacer

pytestmark = pytest.mark.browser

TRAIN_BLUE = np.array([0x1F, 0x77, 0xB4])
FRAME_GREY = np.array([0x99, 0x99, 0x99])


def _close(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 30) -> np.ndarray:
    return np.abs(pixels[..., :3].astype(int) - colour).sum(axis=2) < tolerance


def _boxes(pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) of each panel's frame, read off the grey frame lines, left panel first."""
    grey = _close(pixels, FRAME_GREY, 6)
    columns = np.flatnonzero(grey.sum(axis=0) > 0.5 * pixels.shape[0] - 40)
    rows = np.flatnonzero(grey.sum(axis=1) > 0.25 * pixels.shape[1])
    assert len(columns) == 4 and len(rows) == 2, (columns, rows)
    top, bottom = rows
    return [(int(columns[0]), int(top), int(columns[1]), int(bottom)),
            (int(columns[2]), int(top), int(columns[3]), int(bottom))]


def _bar_heights(pixels: np.ndarray, box: tuple[int, int, int, int], bins: int = 40) -> np.ndarray:
    """Blue pixels in the column at the middle of each bin of a panel."""
    left, top, right, bottom = box
    blue = _close(pixels, TRAIN_BLUE)
    centres = left + (np.arange(bins) + 0.5) * (right - left) / bins
    return np.array([blue[top:bottom + 1, int(x)].sum() for x in centres])


def _trained_linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(64, 64)
    nn.functional.mse_loss(layer(torch.randn(32, 64)), torch.randn(32, 64)).backward()
    return layer


def test_bars_stand_where_the_counts_are_and_as_tall(picture_page):
    layer = _trained_linear()
    inspector = ModuleInspector(layer, parameter="weight")
    index = picture_page.load(inspector.picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)
    boxes = _boxes(pixels)
    for panel, box in zip(("values", "gradient"), boxes):
        counts = inspector.picture.channel(f"{panel}:counts")
        heights = _bar_heights(pixels, box)
        peak = counts.max()
        assert np.all(heights[counts == 0] == 0), f"{panel}: no bar where a bin is empty"
        tall = counts >= 0.05 * peak
        assert np.all(heights[tall] > 0), f"{panel}: a bar on every bin that holds 5% of the peak or more"
        highest = heights[counts == peak][0]
        # each bar's height in proportion to its count, within two pixels
        assert np.all(np.abs(heights[tall] - highest * counts[tall] / peak) <= 2 + 0.02 * highest), panel
    assert picture_page.errors == []
    picture_page.page.screenshot(path="artifacts/histogram_alone.png")


def test_readout_gives_the_bin_range_and_its_count(picture_page):
    layer = nn.Linear(1, 137)
    with torch.no_grad():
        layer.weight[:37] = -0.11
        layer.weight[37:] = 0.105
    inspector = ModuleInspector(layer, parameter="weight")
    edges = inspector.picture.channel("values:edges")
    assert edges[0] == pytest.approx(-0.4) and edges[-1] == pytest.approx(0.4)
    index = picture_page.load(inspector.picture)
    picture_page.settle()
    left, top, right, bottom = _boxes(picture_page.pixels(index))[0]
    at = lambda value: left + (value + 0.4) / 0.8 * (right - left)  # noqa: E731
    assert picture_page.hover(index, at(-0.11), bottom - 3) == "[-0.12, -0.10): 37"
    assert picture_page.hover(index, at(0.11), (top + bottom) / 2) == "[0.10, 0.12): 100"
    assert picture_page.hover(index, at(0.0), bottom - 3) == "[0.00, 0.02): 0"
    assert picture_page.hover(index, at(0.399),
                              bottom - 3) == "[0.38, 0.40]: 0", "the last bin holds its right edge"
    assert picture_page.hover(index, left - 6, bottom - 3) == "", "no readout outside the panels"


def test_the_gradient_panel_shows_its_note_until_a_gradient_arrives(picture_page):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    inspector = ModuleInspector(model, pacer=Pacer(fps=0.001))
    assert inspector.picture.options["notes"] == {"values": "", "gradient": "no gradient yet"}
    index = picture_page.load(inspector.picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)
    values_box, gradient_box = _boxes(pixels)
    left, top, right, bottom = gradient_box
    inside = pixels[top + 2:bottom - 1, left + 2:right - 1]
    assert not _close(inside, TRAIN_BLUE).any(), "no bars without a gradient"
    ink = np.abs(inside[..., :3].astype(int) - 0x77).max(axis=2) < 60
    ink_rows, ink_columns = np.nonzero(ink)
    assert len(ink_rows) > 30, "the note is written in the panel"
    centre_row, centre_column = (bottom - top) / 2, (right - left) / 2
    assert abs(ink_rows.mean() - centre_row) < 8 and abs(ink_columns.mean() - centre_column) < 20, (
        "in its middle"
    )

    nn.functional.cross_entropy(model(torch.randn(16, 2)), torch.randint(0, 2, (16,))).backward()
    inspector.collect()
    picture_page.deliver(index, inspector.picture)
    picture_page.settle()
    after = picture_page.pixels(index)
    heights = _bar_heights(after, gradient_box)
    counts = inspector.picture.channel("gradient:counts")
    assert np.all(heights[counts >= 0.05 * counts.max()] > 0) and np.all(heights[counts == 0] == 0), (
        "its bars instead"
    )
    assert picture_page.errors == []


def test_a_paint_costs_the_page_little(picture_page):
    layer = _trained_linear()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    inspector = ModuleInspector(layer, pacer=Pacer(fps=0.001), parameter="weight")
    index = picture_page.load(inspector.picture)
    picture_page.settle()
    first = picture_page.paints(index)  # the first paint sets the canvas up: counted apart
    for _ in range(40):
        optimizer.step()
        nn.functional.mse_loss(layer(torch.randn(32, 64)), torch.randn(32, 64)).backward()
        inspector.collect()
        assert picture_page.deliver(index, inspector.picture)
        picture_page.settle()
    paints = picture_page.paints(index)
    count = paints["count"] - first["count"]
    per_paint = (paints["ms"] - first["ms"]) / count
    print(f"\n[histogram] first paint {first['ms']:.2f} ms; then {count} paints, {per_paint:.2f} ms a paint, "
          f"the slowest of all {paints['max_ms']:.2f} ms")
    assert count >= 40, "a paint for every message"
    assert per_paint <= 8.0
    assert picture_page.errors == []


class LongNames(nn.Module):
    """A deep path to its weight: a title wider than a narrow panel."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder_block_with_a_long_name = nn.Sequential(nn.Sequential(nn.Linear(3, 50)))


def test_a_title_too_wide_is_cut_to_its_panel(picture_page):
    narrow = ModuleInspector(LongNames(), size=MIN_SIZE)
    wide = ModuleInspector(nn.Linear(3, 50), size=MIN_SIZE)
    for inspector in (narrow, wide):
        index = picture_page.load(inspector.picture)
        picture_page.settle()
        pixels = picture_page.pixels(index)
        for left, top, right, _ in _boxes(pixels):
            ink = np.flatnonzero((pixels[:top - 2, :, :3].astype(int).sum(axis=2) < 400).any(axis=0))
            ink = ink[(ink > left - 20) & (ink < right + 20)]  # this panel's title
            assert ink.min() >= left and ink.max() <= right, "the title stays over its panel"
            if inspector is narrow:
                assert ink.max() - ink.min() > 0.8 * (right - left), "cut to fit, not dropped"
            else:
                assert ink.max() - ink.min() < 0.7 * (right - left), "a short title is left as it is"
