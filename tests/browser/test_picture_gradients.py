"""GradientFlow's page module, run alone in Chromium: the lines, the key and the readout it paints from the
rows sent."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import GradientFlow, Trainer
from widgets.data import spirals
from widgets.views.gradient_flow_data import layer_colours
from widgets.views.pacer import Pacer
from widgets.views.picture import Picture

pytestmark = pytest.mark.browser

LEFT, TOP, BOTTOM_MARGIN = 58, 10, 36  # the plot box's left and top, and the room under it (gradients.js)


def trainer_of(depth: int, activation: type[nn.Module] = nn.Sigmoid) -> Trainer:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for index in range(depth):
        layers += [nn.Linear(2 if index == 0 else 32, 32), activation()]
    model = nn.Sequential(*layers, nn.Linear(32, 2))
    x, y = spirals(256, sd=0.05, seed=0)
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
                   DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True), device="cpu", verbose=False)


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def near(pixels: np.ndarray, colour: str, tolerance: int = 40) -> np.ndarray:
    """A mask of the pixels within `tolerance` (summed over R, G, B) of `colour`."""
    return np.abs(pixels[..., :3].astype(int) - rgb(colour)).sum(axis=-1) < tolerance


def plot_area(pixels: np.ndarray, right_fraction: float = 0.7) -> np.ndarray:
    """The pixels inside the plot box, short of the key on the right."""
    height, width = pixels.shape[:2]
    return pixels[TOP + 1 : height - BOTTOM_MARGIN, LEFT + 1 : int(width * right_fraction)]


def test_lines_lie_in_their_layers_colours_first_layer_far_below_the_last_and_new_rows_extend_them(
    picture_page,
):
    trainer = trainer_of(6)
    flow = GradientFlow(trainer, pacer=Pacer(fps=0.001))  # sends when training stops, or when told
    trainer.fit(2)
    index = picture_page.load(flow.picture)
    picture_page.settle()
    area = plot_area(picture_page.pixels(index))
    first, last = near(area, flow.colours[flow.layers[0]]), near(area, flow.colours[flow.layers[-1]])
    first_rows, last_rows = np.nonzero(first)[0], np.nonzero(last)[0]
    assert len(first_rows) > 100 and len(last_rows) > 100, "both lines cross the plot"
    assert np.median(first_rows) > np.median(last_rows) + 80, "the first layer's norms lie decades below"
    reach = np.nonzero(first.any(axis=0))[0].max()

    delivered = []

    def deliver(record: dict) -> None:  # what a pacer round does, with the message passed to the page
        flow.collect()
        delivered.append(picture_page.deliver(index, flow.picture))
        picture_page.settle()

    trainer.on("epoch", deliver)
    trainer.fit(2)  # 16 more rows: only the new ones travel, and the page appends them
    assert delivered == [True, True]
    area = plot_area(picture_page.pixels(index), right_fraction=0.8)
    assert np.nonzero(near(area, flow.colours[flow.layers[0]]).any(axis=0))[0].max() > reach - 5
    assert picture_page.paints(index)["count"] >= 2 and picture_page.errors == []
    picture_page.page.screenshot(path="artifacts/gradients_alone.png")


def test_the_key_shows_every_layers_colour_input_on_top(picture_page):
    trainer = trainer_of(3)
    flow = GradientFlow(trainer)
    index = picture_page.load(flow.picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)
    colours = list(flow.colours.values())
    tops = []
    for colour in colours:
        ys, xs = np.nonzero(near(pixels[:, int(pixels.shape[1] * 0.7):], colour, tolerance=6))
        assert len(ys) > 100, f"a band of {colour} in the key"
        tops.append(ys.min())
    assert tops == sorted(tops), "the input layer's band on top, the output layer's at the bottom"
    assert not near(plot_area(pixels), colours[0], tolerance=6).any(), "no line before the first gradient"


def test_readout_names_the_step_and_the_layer_nearest_the_pointer_with_its_norm(picture_page):
    trainer = trainer_of(4)
    flow = GradientFlow(trainer)
    trainer.fit(2)
    index = picture_page.load(flow.picture)
    picture_page.settle()
    area = plot_area(picture_page.pixels(index))
    steps, norms = flow.steps, flow.norms
    for layer in (0, len(flow.layers) - 1):
        ys, xs = np.nonzero(near(area, flow.colours[flow.layers[layer]], tolerance=12))
        pick = len(xs) // 2
        text = picture_page.hover(index, float(LEFT + 1 + xs[pick]), float(TOP + 1 + ys[pick]))
        step_line, layer_line = text.split("\n")
        step = int(step_line.removeprefix("step ").replace(",", ""))
        name, value = layer_line.split(": ")
        assert name == flow.layers[layer], text
        row = int(np.flatnonzero(steps == step)[0])
        assert float(value) == pytest.approx(norms[row, layer], rel=5e-3)
    assert picture_page.hover(index, 5, 5) == "", "no readout outside the plot"


def test_zero_norms_lie_on_the_bottom_edge_and_layers_without_gradient_draw_nothing(picture_page):
    picture = Picture("gradients", width=480, height=240)
    colours = layer_colours(3)
    picture.options = {"layers": ["unused", "zeroed", "used"], "colours": colours, "label": "gradient norm"}
    rows = 50
    norms = np.stack([np.full(rows, np.nan), np.zeros(rows), np.geomspace(1e-3, 1e-1, rows)], axis=1)
    norms[20:25, 2] = np.nan  # five steps without gradient: a gap in the line
    picture.put("step", np.arange(1, rows + 1, dtype=np.float64))
    picture.put("norms", norms.astype(np.float32))
    picture.store()
    index = picture_page.load(picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)
    bottom = pixels.shape[0] - BOTTOM_MARGIN
    area = pixels[TOP + 1 : bottom + 2, LEFT + 1 : int(pixels.shape[1] * 0.7)]
    zero_rows = np.nonzero(near(area, colours[1], tolerance=60))[0] + TOP + 1
    assert len(zero_rows) > 100 and zero_rows.min() >= bottom - 2, "the zero line runs along the bottom edge"
    assert not near(area, colours[0], tolerance=6).any(), "a layer without gradient draws no line"
    used = near(area, colours[2], tolerance=60).any(axis=0)
    columns = np.flatnonzero(used)
    assert len(columns) > 150 and (np.diff(columns) > 20).sum() == 1, (
        "the line breaks once, where the gradient was missing"
    )


def test_a_paint_costs_at_most_8_ms_with_12_layers_and_10000_steps(picture_page):
    layers = 12
    picture = Picture("gradients", width=640, height=280)
    picture.options = {"layers": [f"{i} Linear" for i in range(layers)], "colours": layer_colours(layers)}
    picture.store()
    index = picture_page.load(picture)
    picture_page.settle()
    rng = np.random.default_rng(0)
    scales = np.geomspace(1e-6, 1.0, layers)
    rounds, per_round = 50, 200
    for round_ in range(rounds):
        steps = np.arange(round_ * per_round + 1, (round_ + 1) * per_round + 1, dtype=np.float64)
        picture.extend("step", steps)
        picture.extend("norms", (scales * rng.lognormal(0, 0.3, (per_round, layers))).astype(np.float32))
        picture_page.deliver(index, picture)
        picture_page.settle()
    cost = picture_page.paints(index)
    mean = cost["ms"] / cost["count"]
    print(
        f"\n[gradients] {cost['count']} paints, {mean:.2f} ms a paint on average, {cost['max_ms']:.1f} ms at "
        f"most, {layers} layers, {rounds * per_round} steps"
    )
    assert cost["count"] >= rounds
    assert mean <= 8.0
    assert picture_page.errors == []
