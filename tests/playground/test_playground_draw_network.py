"""The Playground's network diagram: unit maps in columns, weight lines by sign and size, where each unit
lies."""

import numpy as np
import pytest
import torch
from frames import decode
from playground_nets import Plain, Squares, network, set_linear
from torch import nn

from widgets.playground.draw import png_bytes
from widgets.playground.draw_network import draw_network
from widgets.playground.maps import layer_weights, plane_grid, unit_maps
from widgets.views.style import ACTIVATION_COLOURS, WEIGHT_COLOURS

POSITIVE, NEGATIVE = (np.asarray(WEIGHT_COLOURS[sign]) * 255 for sign in ("positive", "negative"))


def near(pixel, colour, tolerance=3.0):
    return bool(np.abs(np.asarray(pixel, dtype=float) - colour).max() <= tolerance)


def picture_of(model, resolution=20, **options):
    return draw_network(unit_maps(model, plane_grid(resolution)), layer_weights(model), model[0].names,
                        **options)


@pytest.fixture(scope="module")
def hand_set():
    """2 inputs -> 2 hidden (identity) -> 1 output, with weights of known sign and size."""
    model = network(Plain(), [2], 1, activation=nn.Identity)
    set_linear(model[1], [[2.0, 0.0], [0.0, -0.5]])
    set_linear(model[3], [[1.0, -1.0]])
    picture = picture_of(model, height=200)
    links = {(k.layer, k.source, k.target): k for k in picture.links}
    return picture, decode(png_bytes(picture.image)), links


def along(link, share):
    """The pixel (row, col) a share of the way along a link's line."""
    (x0, y0), (x1, y1) = link.start, link.end
    return int(round(y0 + (y1 - y0) * share)), int(round(x0 + (x1 - x0) * share))


def thickness(image, row, col, colour):
    """How many pixels of `colour` the column `col` has around `row`: a horizontal line's width."""
    return sum(near(image[r, col], colour) for r in range(row - 10, row + 11))


def around(image, row, col):
    """The 3 x 3 pixels around (row, col): a slanted line passes through some of them."""
    return image[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3)


def test_links_take_the_colour_of_their_weights_sign(hand_set):
    _, image, links = hand_set
    assert near(image[along(links[0, 0, 0], 0.5)], POSITIVE)
    assert near(image[along(links[0, 1, 1], 0.5)], NEGATIVE)
    assert any(near(p, POSITIVE) for p in around(image, *along(links[1, 0, 0], 0.25)))
    assert any(near(p, NEGATIVE) for p in around(image, *along(links[1, 1, 0], 0.25)))
    # a weight of 0 draws nothing
    assert all(near(p, (255, 255, 255)) for p in around(image, *along(links[0, 0, 1], 0.25)))


def test_links_are_as_wide_as_their_weights_are_large(hand_set):
    _, image, links = hand_set
    strong, weak = links[0, 0, 0], links[0, 1, 1]
    # equal columns: horizontal lines
    assert strong.start[1] == strong.end[1] and weak.start[1] == weak.end[1]
    strong_px = thickness(image, *along(strong, 0.5), POSITIVE)
    weak_px = thickness(image, *along(weak, 0.5), NEGATIVE)
    assert 3 <= strong_px <= 5 and weak_px == 1  # |w| = 2 is the largest: 4 pixels; |w| = 0.5: 1 pixel
    assert (strong.width, weak.width) == (4, 1)


def test_thin_weights_fade_instead_of_vanishing():
    model = network(Plain(), [2], 1, activation=nn.Identity)
    set_linear(model[1], [[4.0, 0.0], [0.0, 0.5]])  # 0.5 of 4 -> half a pixel: one pixel at half strength
    set_linear(model[3], [[0.0, 0.0]])
    picture = picture_of(model, height=200)
    weak = next(k for k in picture.links if (k.layer, k.source, k.target) == (0, 1, 1))
    faint = picture.image[along(weak, 0.5)].astype(float)
    assert faint.min() > POSITIVE.min() + 40 and faint.max() < 250  # paler than the full red, not white


def test_units_sit_in_their_boxes_showing_their_maps(hand_set):
    picture, image, _ = hand_set
    assert [len(column) for column in picture.boxes] == [2, 2, 1]
    low, _, high = (np.asarray(c) * 255 for c in ACTIVATION_COLOURS)
    left, top, right, bottom = picture.boxes[0][0]  # x1: negative on the left, positive on the right
    middle = (top + bottom) // 2
    assert near(image[middle, left + 1], low, tolerance=25)
    assert near(image[middle, right - 2], high, tolerance=25)
    left, top, right, bottom = picture.boxes[0][1]  # x2: positive at the top
    centre = (left + right) // 2
    assert near(image[top + 1, centre], high, tolerance=25)
    assert near(image[bottom - 2, centre], low, tolerance=25)
    height, width = image.shape[:2]
    assert all(0 < x0 < x1 <= width and 0 < y0 < y1 <= height
               for column in picture.boxes for x0, y0, x1, y1 in column)


def test_inputs_are_labelled_left_of_their_maps(hand_set):
    picture, image, _ = hand_set
    for left, top, _, bottom in picture.boxes[0]:
        label = image[top:bottom, :left - 2]
        assert (label.max(axis=2) < 120).sum() > 5  # dark text pixels
    assert (image[:, picture.boxes[-1][0][2] + 1:].min(axis=2) > 250).all()  # nothing right of the output


def test_unit_at_finds_the_unit_under_a_pixel(hand_set):
    picture, _, _ = hand_set
    for c, column in enumerate(picture.boxes):
        for u, (left, top, right, bottom) in enumerate(column):
            assert picture.unit_at((left + right) / 2, (top + bottom) / 2) == (c, u)
            assert picture.unit_at(left, top) == (c, u) and picture.unit_at(right, bottom) != (c, u)
    assert picture.unit_at(0, 0) is None


def test_a_large_network_stays_legible():
    torch.manual_seed(0)

    class Seven(nn.Module):
        names = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"]

        def forward(self, x):
            return torch.cat([x, x**2, x[:, :1] * x[:, 1:], torch.sin(x)], 1)

    picture = picture_of(network(Seven(), [16] * 6, 2), resolution=10, height=480)
    assert [len(c) for c in picture.boxes] == [7] + [16] * 6 + [2]
    boxes = [box for column in picture.boxes for box in column]
    assert min(right - left for left, _, right, _ in boxes) >= 20
    for i, (l1, t1, r1, b1) in enumerate(boxes):  # no two maps touch
        for l2, t2, r2, b2 in boxes[i + 1:]:
            assert r1 < l2 or r2 < l1 or b1 < t2 or b2 < t1
    assert len(picture.links) == 7 * 16 + 5 * 16 * 16 + 16 * 2


def test_a_network_without_hidden_layers_and_a_given_width():
    model = network(Squares(), [], 3)
    picture = picture_of(model, height=160, width=300)
    assert picture.image.shape[:2] == (160, 300) and [len(c) for c in picture.boxes] == [4, 3]
    assert picture.boxes[-1][0][2] >= 300 - 8  # the columns spread over the width


@pytest.mark.parametrize("change, message", [
    (lambda m, w, n: (m[:1], [], n), "features and the output columns"),
    (lambda m, w, n: (m, w[:1], n), "3 columns need 2 weight matrices, got 1"),
    (lambda m, w, n: (m, [w[0].T, w[1]], n), r"weights\[0\] must be \[3, 2\]"),
    (lambda m, w, n: (m, w, n[:1]), "names must be 2 strings"),
    (lambda m, w, n: ([m[0][0], m[1], m[2]], w, n), r"maps\[0\] must be an array \[units, R, R\]"),
])
def test_bad_input_gets_a_clear_error(change, message):
    model = network(Plain(), [3], 2)
    maps, weights, names = change(unit_maps(model, plane_grid(8)), layer_weights(model), model[0].names)
    with pytest.raises(ValueError, match=message):
        draw_network(maps, weights, names)


@pytest.mark.parametrize("options, message", [
    ({"height": 0}, "height must be a positive int"),
    ({"height": 100}, "height 100 is too small for 16 units"),
    ({"width": 60}, "width 60 is too small for 3 columns"),
    ({"max_link_width": 0.5}, "max_link_width must be at least 1"),
])
def test_sizes_that_cannot_hold_the_network_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        picture_of(network(Plain(), [16], 2), resolution=6, **options)
