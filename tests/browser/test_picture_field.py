"""The decision boundary's page module, run alone in Chromium: the field it paints from the codes the kernel
sends, the slider through the kept epochs, the readout under the pointer, and what a paint costs."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from picture_page import DELIVER
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spiral_datasets, spirals
from widgets.views.boundary import MARGINS, DecisionBoundary
from widgets.views.pacer import Pacer

pytestmark = pytest.mark.browser


def blobs_model(outputs: int = 2, steps: int = 150) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small network trained on blobs left (class 0), right (class 1) and, for 3 outputs, on top (class
    2)."""
    torch.manual_seed(0)
    centres = torch.tensor([[-1.5, -0.5], [1.5, -0.5], [0.0, 1.5]])[:max(outputs, 2)]
    x = torch.cat([c + 0.35 * torch.randn(40, 2) for c in centres])
    y = torch.arange(len(centres)).repeat_interleave(40)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, outputs))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, x, y


def canvas_xy(boundary: DecisionBoundary, point) -> tuple[float, float]:
    """CSS pixels of a data point on the canvas: the field fills the box inside MARGINS."""
    x0, x1, y0, y1 = boundary.bounds
    width, height = boundary.picture.width, boundary.picture.height
    px = MARGINS["left"] + (point[0] - x0) / (x1 - x0) * (width - MARGINS["left"] - MARGINS["right"])
    py = MARGINS["top"] + (y1 - point[1]) / (y1 - y0) * (height - MARGINS["top"] - MARGINS["bottom"])
    return px, py


def grid_point(boundary: DecisionBoundary, side: int, row: int, col: int) -> tuple[float, float]:
    x0, x1, y0, y1 = boundary.bounds
    return x0 + (x1 - x0) * col / (side - 1), y0 + (y1 - y0) * row / (side - 1)


def at(pixels: np.ndarray, xy: tuple[float, float]) -> np.ndarray:
    return pixels[int(round(xy[1])), int(round(xy[0])), :3].astype(int)


class Bridge:
    """A live kernel's wire: what the picture sends is held and reaches the page at `flush()`, in order.

    Held, not passed on at once, because work the view queues on the kernel's
    loop runs here on Playwright's loop, where the page cannot be called.
    """

    def __init__(self, page, index: int, picture) -> None:
        self.page, self.index, self.held = page, index, []
        send = picture.comm.send

        def hold(data=None, metadata=None, buffers=None):
            if data.get("method") == "custom":
                self.held.append((data["content"],
                                  [base64.b64encode(bytes(b)).decode("ascii") for b in buffers or []]))
            return send(data=data, metadata=metadata, buffers=buffers)

        picture.comm.send = hold

    def flush(self) -> None:
        while self.held:
            message, buffers = self.held.pop(0)
            self.page.page.evaluate(DELIVER, {"index": self.index, "message": message, "buffers": buffers})
        self.page.settle()


def to_kernel(page, index: int, picture, already: int = 0) -> list:
    """Pass the page's messages from the `already`-th on to the kernel, through the widget's comm; returns
    them."""
    messages = page.sent(index)[already:]
    for message in messages:
        picture.comm.handle_msg({"content": {"data": {"method": "custom", "content": message}},
                                 "buffers": []})
    return messages


def move_slider(page, index: int, epoch: int) -> None:
    page.locator(index, ".lt-boundary-epoch").fill(str(epoch))
    page.settle()


def test_the_field_is_red_and_blue_where_the_model_says_and_the_points_lie_over_it(picture_page):
    model, x, y = blobs_model()
    boundary = DecisionBoundary(model, x, y, x_valid=x[::10], y_valid=y[::10])
    index = picture_page.load(boundary.picture)
    picture_page.settle()
    assert picture_page.errors == []
    pixels = picture_page.pixels(index)
    codes = boundary.picture.channel("field")
    with torch.no_grad():  # the codes are the model's p(class 1)
        centre = torch.tensor([grid_point(boundary, 100, 50, 10), grid_point(boundary, 100, 50, 90)])
        p1 = torch.softmax(model(centre), dim=1)[:, 1]
    assert (
        abs(int(codes[50, 10]) - round(255 * p1[0].item())) <= 1
        and abs(int(codes[50, 90]) - round(255 * p1[1].item())) <= 1
    )
    far = torch.cdist(torch.tensor([grid_point(boundary, 100, r, c) for r in range(100) for c in range(100)]),
                      x)
    far = far.min(dim=1).values.reshape(100, 100).numpy() > 0.25
    far[85:, :45] = False  # the caption's corner
    far[:3], far[-3:], far[:, :3], far[:, -3:] = False, False, False, False  # the axes' frame
    blue = red = 0
    for row, col in zip(*np.nonzero(far[::3, ::3] & ((codes[::3, ::3] < 25) | (codes[::3, ::3] > 230)))):
        r, _, b = at(pixels, canvas_xy(boundary, grid_point(boundary, 100, 3 * row, 3 * col)))
        if codes[3 * row, 3 * col] < 25:
            assert b > r + 25, (row, col, r, b)
            blue += 1
        else:
            assert r > b + 25, (row, col, r, b)
            red += 1
    assert blue > 20 and red > 20
    # a lone point is drawn over the field in its class colour; hidden with the points toggle
    lone = int(torch.cdist(x, x).sort(dim=1).values[:, 1].argmax())
    spot = canvas_xy(boundary, x[lone].tolist())
    colour = np.array([0x1A, 0x5E, 0xB5]) if int(y[lone]) == 0 else np.array([0xBF, 0x1C, 0x29])
    if lone % 10 != 0:  # a training point: a circle in its class colour
        assert np.abs(at(pixels, spot) - colour).max() < 40
    picture_page.locator(index, ".lt-boundary-points").uncheck()
    picture_page.settle()
    hidden = picture_page.pixels(index)
    assert np.abs(at(hidden, spot) - colour).max() > 40  # the field under it
    assert np.array_equal(hidden[:, : MARGINS["left"] - 2], pixels[:, : MARGINS["left"] - 2])  # the axes stay
    assert picture_page.sent(index) == []
    picture_page.page.screenshot(path="artifacts/boundary_field_alone.png")


def hand_loop_boundary(epochs: int = 4) -> DecisionBoundary:
    """A boundary kept by hand at every epoch of a small loop: its fields differ from epoch to epoch."""
    torch.manual_seed(1)
    x, y = spirals(120, seed=2)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    boundary = DecisionBoundary(model, x, y, resolution=60)
    for epoch in range(1, epochs + 1):
        for _ in range(15):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        boundary.update(epoch=epoch)
    boundary.flush()
    return boundary


def test_the_slider_scrubs_kept_epochs_in_the_page_without_the_kernel(picture_page):
    boundary = hand_loop_boundary()
    index = picture_page.load(boundary.picture)
    picture_page.settle()
    slider = picture_page.locator(index, ".lt-boundary-epoch")
    assert (slider.get_attribute("min"), slider.get_attribute("max"), slider.input_value()) == ("1", "4", "4")
    live = picture_page.pixels(index)
    seen = []
    for epoch in (1, 2, 3):
        move_slider(picture_page, index, epoch)
        seen.append(picture_page.pixels(index))
    # every epoch looks different
    assert all(not np.array_equal(a, b) for a, b in zip([live, *seen], [*seen, live]))
    move_slider(picture_page, index, 1)
    assert np.array_equal(picture_page.pixels(index), seen[0])  # the same epoch paints the same
    move_slider(picture_page, index, 4)
    assert np.array_equal(picture_page.pixels(index), live)  # the right end: the live model again
    saved = picture_page.page.evaluate(f"() => window.__ltModels[{index}].model.saved")
    assert picture_page.sent(index) == [] and saved == 0  # scrubbing sent nothing to the kernel
    # the kernel's show_epoch moves the page's slider too
    wire = Bridge(picture_page, index, boundary.picture)
    boundary.show_epoch(2)
    wire.flush()
    assert slider.input_value() == "2" and np.array_equal(picture_page.pixels(index), seen[1])
    assert picture_page.errors == []


def test_an_epoch_the_page_lacks_is_asked_for_and_shown_when_it_comes(picture_page):
    torch.manual_seed(0)
    x, y = spirals(120, seed=2)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.05),
                      DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True), verbose=False)
    boundary = DecisionBoundary(trainer, x, y, resolution=40, live_resolution=20, pacer=Pacer(fps=60))
    index = picture_page.load(boundary.picture)
    wire = Bridge(picture_page, index, boundary.picture)
    trainer.on("step", lambda record: wire.flush())
    seen = {}

    def learner_scrubs_back(record: dict) -> None:
        if record["epoch"] == 4:  # kept so far as weights only: the page has none of epochs 1 to 4
            wire.flush()
            move_slider(picture_page, index, 2)
            seen["asked"] = picture_page.sent(index)
            seen["waiting"] = picture_page.pixels(index)
            to_kernel(picture_page, index, boundary.picture)
            wire.flush()
            seen["answered"] = picture_page.pixels(index)
            seen["field"] = boundary.picture.channel("field:2").copy()

    trainer.on("epoch", learner_scrubs_back)
    trainer.fit(6)
    wire.flush()
    assert seen["asked"] == [{"type": "want", "epoch": 2}]
    centre = canvas_xy(boundary, grid_point(boundary, 40, 20, 20))
    assert at(seen["waiting"], centre).tolist() == [0xEC, 0xEC, 0xEC]  # not here yet: a plain grey field
    expected = boundary.palette[seen["field"][20, 20]]
    # epoch 2's field, painted when it came
    assert np.abs(at(seen["answered"], centre) - expected).max() <= 12
    assert np.array_equal(picture_page.pixels(index), seen["answered"])  # the live rounds did not move it
    assert len(picture_page.sent(index)) == 1  # once there, nothing more is asked
    assert picture_page.errors == []


@pytest.mark.parametrize("outputs", [2, 3, 1])
def test_the_readout_gives_the_place_and_the_models_answer_there(picture_page, outputs):
    model, x, y = blobs_model(outputs if outputs > 1 else 1, steps=0 if outputs == 1 else 150)
    labels = y.float() if outputs == 1 else y
    boundary = DecisionBoundary(model, x, labels, resolution=50)
    index = picture_page.load(boundary.picture)
    picture_page.settle()
    point = grid_point(boundary, 50, 25, 12)
    text = picture_page.hover(index, *canvas_xy(boundary, point))
    place, answer = text.split("\n")
    shown_x, shown_y = (float(part.split()[1]) for part in place.split(", "))
    assert abs(shown_x - point[0]) < 0.05 and abs(shown_y - point[1]) < 0.05
    codes = boundary.picture.channel("field")
    if outputs == 2:
        assert answer == f"p(class 1) {codes[25, 12] / 255:.2f}"
    elif outputs == 3:
        cls, shade = codes[0, 25, 12], codes[1, 25, 12]
        assert answer == f"class {cls}, confidence {1 / 3 + shade / 255 * (2 / 3):.2f}"
        with torch.no_grad():
            assert cls == int(model(torch.tensor([point])).argmax())
    else:
        with torch.no_grad():
            value = float(model(torch.tensor([point]))[0, 0])
        assert (
            answer.startswith("value ")
            and abs(float(answer.split()[1]) - value) <= 2 * boundary.shown.scale / 255 + 1e-3
        )
    assert picture_page.hover(index, 5, 5) == ""  # outside the field: no readout


def test_a_paint_of_a_full_field_with_400_points_costs_little(picture_page):
    torch.manual_seed(0)
    train_set, _ = spiral_datasets(n=500, sd=0.1, n_train=400, seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    boundary = DecisionBoundary(model, train_set.x, train_set.y)
    index = picture_page.load(boundary.picture)
    picture_page.settle()
    wire = Bridge(picture_page, index, boundary.picture)
    before = picture_page.paints(index)
    for _ in range(30):  # a new 100 x 100 field each time, as after every run
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(train_set.x), train_set.y).backward()
        optimizer.step()
        boundary.update()
        wire.flush()
    after = picture_page.paints(index)
    paints = after["count"] - before["count"]
    mean = (after["ms"] - before["ms"]) / paints
    print(f"\n[boundary] page: {paints} paints of a 100 x 100 field with 400 points, {mean:.2f} ms a paint "
          f"(the slowest of all {after['max_ms']:.1f} ms, the first included)")
    assert paints == 30 and mean < 8
    assert picture_page.errors == []
