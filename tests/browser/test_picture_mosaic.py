"""FilterGrid's page module, run alone in Chromium: the mosaic pixel for pixel, the key, the readout, the
paint cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import FilterGrid, Trainer
from widgets.views.kernel_mosaic import GAP_COLOUR, LEVELS, hex_rgb, paint_mosaic
from widgets.views.pacer import Pacer

pytestmark = pytest.mark.browser


def trainer_of(model: nn.Module) -> Trainer:
    torch.manual_seed(0)
    x = torch.randn(64, 1, 12, 12)
    y = (x[:, 0, :, :6].mean(dim=(1, 2)) > x[:, 0, :, 6:].mean(dim=(1, 2))).long()
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=1e-2),
                   DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), device="cpu", verbose=False)


def small_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 5), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 2))


def page_mosaic(picture_page, index: int, grid: FilterGrid) -> np.ndarray:
    """The RGB pixels of the mosaic in the page's canvas."""
    left, top, right, bottom = grid.grid_box
    return picture_page.pixels(index)[top:bottom, left:right, :3].astype(int)


def expected_mosaic(grid: FilterGrid) -> np.ndarray:
    """The mosaic as the kernel colours it from the codes it sent."""
    return paint_mosaic(grid.picture.channel("codes"), grid.layout, grid.palette,
                        hex_rgb(GAP_COLOUR)).astype(int)


def test_the_page_paints_the_mosaic_pixel_for_pixel_and_repaints_when_weights_change(picture_page):
    trainer = trainer_of(small_cnn())
    for grid in (FilterGrid(trainer, pacer=Pacer(fps=0.001)), FilterGrid(trainer, "2", scale="kernel")):
        index = picture_page.load(grid.picture)
        picture_page.settle()
        shown = page_mosaic(picture_page, index, grid)
        assert np.array_equal(shown,
                              expected_mosaic(grid)), "every weight a square of whole pixels, exact colours"
        assert np.array_equal(picture_page.pixels(index).shape[:2], (grid.picture.height, grid.picture.width))

    grid = FilterGrid(trainer, pacer=Pacer(fps=0.001))
    index = picture_page.load(grid.picture)
    picture_page.settle()
    before = page_mosaic(picture_page, index, grid)
    delivered = []

    def deliver(record: dict) -> None:  # what a pacer round does, with the message passed to the page
        grid.collect()
        delivered.append(picture_page.deliver(index, grid.picture))
        picture_page.settle()

    trainer.on("epoch", deliver)
    trainer.fit(1)
    assert delivered == [True]
    after = page_mosaic(picture_page, index, grid)
    assert not np.array_equal(before, after) and np.array_equal(after, expected_mosaic(grid))
    assert picture_page.errors == []
    picture_page.page.screenshot(path="artifacts/mosaic_alone.png")


def test_the_key_runs_from_blue_through_white_to_red_with_its_labels(picture_page):
    model = small_cnn()
    with torch.no_grad():
        model[0].weight.mul_(0).add_(0.25)[0, 0, 0, 0] = -0.5  # the layer's largest |weight| is 0.5
    grid = FilterGrid(trainer_of(model))
    index = picture_page.load(grid.picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)[..., :3].astype(int)
    left, top, right, bottom = grid.geometry.key
    middle_row = pixels[(top + bottom) // 2, left:right]
    assert (
        np.abs(middle_row[0] - grid.palette[0]).max() <= 2
        and np.abs(middle_row[-1] - grid.palette[LEVELS - 1]).max() <= 2
    )
    assert np.abs(middle_row[len(middle_row) // 2] - grid.palette[LEVELS // 2]).max() <= 6
    below = pixels[grid.geometry.labels_top : grid.geometry.caption_top + 14]
    assert (below.sum(axis=2) < 300).sum() > 50, "the key's labels and caption are written under it"
    texts = picture_page.page.evaluate("(i) => window.__ltModels[i].model.get('options').caption", index)
    assert texts == "weight, one colour scale for the layer"
    assert grid.picture.channel("limits")[0] == pytest.approx(0.5)


def test_readout_names_the_filter_and_the_weight_under_the_pointer(picture_page):
    trainer = trainer_of(small_cnn())
    grid = FilterGrid(trainer, "2")  # 4 output x 8 input channels, 5 x 5
    index = picture_page.load(grid.picture)
    picture_page.settle()
    weights = trainer.model[2].weight.detach().numpy()
    left, top, _, _ = grid.grid_box
    zoom = grid.layout.zoom
    for out, inp, r, c in ((0, 0, 0, 0), (2, 5, 3, 1), (3, 7, 4, 4)):
        cell_top, cell_left = grid.layout.origin(out * 8 + inp)
        x = left + cell_left + c * zoom + zoom / 2
        y = top + cell_top + r * zoom + zoom / 2
        text = picture_page.hover(index, x, y)
        first, second = text.split("\n")
        assert first == f"filter: out {out}, in {inp}"
        label, value = second.split(": ")
        assert label == f"weight [{r}, {c}]" and float(value) == pytest.approx(
            weights[out, inp, r, c], rel=1e-3
        )
    gap_x = left + grid.layout.gap + grid.layout.cell_size[1] + 1  # on the line between two cells
    assert picture_page.hover(index, gap_x, top + grid.layout.gap + 3) == ""


def test_past_the_weight_budget_the_readout_reads_the_weight_from_its_colour(picture_page):
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 5), nn.Flatten(),
                          nn.Linear(32 * 8 * 8, 2))
    trainer = trainer_of(model)
    grid = FilterGrid(trainer, "2", columns=32, cell_pixels=5)
    assert grid.picture.channel("weights") is None
    index = picture_page.load(grid.picture)
    picture_page.settle()
    weights = model[2].weight.detach().numpy()
    left, top, _, _ = grid.grid_box
    cell_top, cell_left = grid.layout.origin(3 * 32 + 9)
    text = picture_page.hover(index, left + cell_left + 2.5, top + cell_top + 2.5)
    first, second = text.split("\n")
    assert grid.layout.zoom == 1 and first == "filter: out 3, in 9" and second.startswith("weight [2, 2]: ≈ ")
    limit = grid.limits[0]
    assert float(second.split("≈ ")[1]) == pytest.approx(weights[3, 9, 2, 2], abs=limit / 100)


def test_a_paint_of_1024_kernels_costs_at_most_8_ms(picture_page):
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 5), nn.Flatten(),
                          nn.Linear(32 * 8 * 8, 2))
    trainer = trainer_of(model)
    grid = FilterGrid(trainer, "2", pacer=Pacer(fps=0.001))
    index = picture_page.load(grid.picture)
    picture_page.settle()
    before = picture_page.paints(index)

    def deliver(record: dict) -> None:
        grid.collect()
        picture_page.deliver(index, grid.picture)
        picture_page.settle()

    trainer.on("step", deliver)
    trainer.fit(4)  # 16 steps: 16 new mosaics
    cost = picture_page.paints(index)
    count, spent = cost["count"] - before["count"], cost["ms"] - before["ms"]
    print(f"\n[mosaic] {count} paints of 1,024 kernels of 5 x 5, {spent / count:.2f} ms a paint on average, "
          f"{cost['max_ms']:.1f} ms at most (the first paint included)")
    assert count >= 12 and spent / count <= 8.0
    assert np.array_equal(page_mosaic(picture_page, index, grid), expected_mosaic(grid))
