"""The Playground's plane pictures: the output map, the data points on it, one unit's map, PNG bytes."""

import numpy as np
import pytest
import torch
from frames import decode
from playground_nets import Plain, network, set_linear

from widgets.playground.draw import (
    POINT_RADIUS,
    draw_output,
    draw_points,
    draw_unit,
    png_bytes,
    unit_thumbnails,
)
from widgets.playground.maps import plane_grid, unit_maps
from widgets.views.boundary_field import FIELD_LIGHTNESS
from widgets.views.style import ACTIVATION_COLOURS, NEUTRAL_COLOUR, POINT_RIMS, class_colours

SIZE = 120


def rgb(colour, lightness=0.0):
    """A style colour (0..1) as 0..255, mixed with white as a field under points is."""
    return (np.asarray(colour) * (1 - lightness) + lightness) * 255


def near(pixel, colour, tolerance=3.0):
    return bool(np.abs(np.asarray(pixel, dtype=float) - colour).max() <= tolerance)


def output_of(weight, bias=None, resolution=40):
    """The output column of a model with no hidden layer: Linear(2, outputs) with hand-set weights."""
    model = network(Plain(), [], len(weight))
    set_linear(model[1], weight, bias)
    return unit_maps(model, plane_grid(resolution))[-1]


def column_pixels(image, col):
    return image[:, col].reshape(-1, 3)


def test_two_classes_split_the_plane_where_the_model_does():
    image = decode(png_bytes(draw_output(output_of([[-2, 0], [2, 0]]), SIZE)))  # class 1 where x1 > 0
    blue, red = (rgb(c, FIELD_LIGHTNESS) for c in class_colours(2))
    assert all(near(p, blue) for p in column_pixels(image, 2))
    assert all(near(p, red) for p in column_pixels(image, SIZE - 3))
    # p = 1/2 at x1 = 0: the neutral grey
    middle = image[SIZE // 2, SIZE // 2 - 1: SIZE // 2 + 1].mean(axis=0)
    assert near(middle, rgb(NEUTRAL_COLOUR, FIELD_LIGHTNESS), tolerance=12)


def test_discretize_leaves_only_the_flat_class_colours():
    image = draw_output(output_of([[0, -1], [0, 1]]), SIZE, discretize=True)  # class 1 where x2 > 0: the top
    colours = {tuple(p) for p in image.reshape(-1, 3)}
    blue, red = (tuple(np.rint(rgb(c, FIELD_LIGHTNESS)).astype(int)) for c in class_colours(2))
    assert colours == {blue, red}
    assert {tuple(p) for p in image[: SIZE // 2 - 2].reshape(-1, 3)} == {red}
    assert {tuple(p) for p in image[SIZE // 2 + 2:].reshape(-1, 3)} == {blue}


def test_many_classes_show_the_winner_lighter_where_unsure():
    # class 0 left of x1 = -1, class 1 right of x1 = 1, class 2 between
    output = output_of([[-5, 0], [5, 0], [0, 0]], bias=[-5, -5, 0])
    image = draw_output(output, SIZE).astype(float)
    colours = [rgb(c, FIELD_LIGHTNESS) for c in class_colours(3)]
    left, right, centre = image[SIZE // 2, 1], image[SIZE // 2, SIZE - 2], image[SIZE // 2, SIZE // 2]
    assert near(left, colours[0]) and near(right, colours[1])
    assert np.abs(centre - colours[2]).max() < np.abs(centre - colours[0]).max()
    edge = image[SIZE // 2, int(SIZE * 5 / 12)]  # x1 = -1: classes 0 and 2 tie, the least sure: almost white
    assert edge.sum() > left.sum() + 100 and edge.min() > 200
    flat = draw_output(output, SIZE, discretize=True)
    assert {tuple(p) for p in flat.reshape(-1, 3)} == {tuple(np.rint(c).astype(int)) for c in colours}


def test_regression_shows_the_value_on_the_diverging_scale():
    output = output_of([[0.5, 0]])  # the value is x1 / 2: -3 .. 3
    image = draw_output(output, SIZE)
    low, _, high = (rgb(c, FIELD_LIGHTNESS) for c in ACTIVATION_COLOURS)
    assert near(image[10, 0], low, tolerance=6) and near(image[10, SIZE - 1], high, tolerance=6)
    saturated = draw_output(output, SIZE, scale=0.5)  # |value| >= 0.5 at the full colour
    assert near(saturated[10, SIZE // 4], low) and not near(image[10, SIZE // 4], low, tolerance=20)
    flat = draw_output(output, SIZE, discretize=True)
    assert len({tuple(p) for p in flat.reshape(-1, 3)}) == 2


def pixel_of(point, size=SIZE, plane=(-6.0, 6.0)):
    low, high = plane
    return int((high - point[1]) / (high - low) * size), int((point[0] - low) / (high - low) * size)


def test_points_appear_at_their_places_in_their_class_colours_with_rims():
    points = np.array([[3.0, 3.0], [-4.0, -2.0], [0.0, 5.0]])
    labels = np.array([1, 0, 1])
    test_points, test_labels = np.array([[-3.0, 3.0]]), np.array([0])
    image = draw_output(output_of([[0, 0], [0, 0]]), SIZE, points=points, labels=labels,
                        test_points=test_points, test_labels=test_labels)
    blue, red = (rgb(c) for c in class_colours(2))
    for point, label in zip(points, labels):
        row, col = pixel_of(point)
        assert near(image[row, col], red if label else blue)
        assert near(image[row, col + int(POINT_RADIUS) + 1], rgb(POINT_RIMS["train"]))
    row, col = pixel_of(test_points[0])
    assert near(image[row, col], blue)
    assert near(image[row + int(POINT_RADIUS) + 1, col], rgb(POINT_RIMS["test"]))
    bare = draw_output(output_of([[0, 0], [0, 0]]), SIZE)
    changed = np.argwhere((image != bare).any(axis=2))
    assert len(changed) < 4 * 100  # four small discs, nothing else


def test_regression_points_take_their_values_colour_and_off_plane_points_are_left_out():
    image = draw_output(output_of([[0, 0]]), SIZE, points=np.array([[2.0, 2.0], [9.0, 0.0]]),
                        labels=np.array([-1.0, 1.0]))
    row, col = pixel_of((2.0, 2.0))
    assert near(image[row, col], rgb(ACTIVATION_COLOURS[0]))  # -1 of a scale of 1 (the largest |label|)
    bare = draw_output(output_of([[0, 0]]), SIZE, scale=1.0)
    assert (image != bare).any(axis=2).sum() < 100  # one disc: the point at x1 = 9 lies off the plane


def test_draw_points_accepts_any_picture_and_one_colour():
    image = np.zeros((50, 80, 3), dtype=np.uint8)
    assert draw_points(image, np.array([[0.0, 0.0]]), np.array([10, 200, 30])) is image
    assert tuple(image[25, 40]) == (10, 200, 30) and tuple(image[25, 40 + 4]) == (255, 255, 255)


def test_unit_map_colours_the_sign_whatever_the_magnitude():
    grid = plane_grid(20).numpy()
    unit = grid[:, 0].reshape(20, 20)  # x1: negative left, positive right
    picture = draw_unit(unit, 60)
    low, middle, high = (rgb(c) for c in ACTIVATION_COLOURS)
    assert near(picture[30, 0], low, tolerance=20) and near(picture[30, 59], high, tolerance=20)
    assert np.array_equal(draw_unit(unit * 100, 60), picture)  # scaled to the unit's own largest |value|
    assert near(draw_unit(unit * 100, 60, scale=1.0)[30, 12], low, tolerance=1)  # a fixed scale saturates
    dead = draw_unit(np.zeros((20, 20)), 60)
    assert all(near(p, middle, tolerance=2) for p in dead.reshape(-1, 3))


def test_thumbnails_one_per_unit():
    torch.manual_seed(0)
    maps = unit_maps(network(Plain(), [5, 3], 2), plane_grid(12))
    thumbnails = [unit_thumbnails(column, 16) for column in maps]
    assert [len(t) for t in thumbnails] == [2, 5, 3, 2]
    assert all(t.shape == (16, 16, 3) and t.dtype == np.uint8 for column in thumbnails for t in column)
    assert not np.array_equal(thumbnails[0][0], thumbnails[0][1])  # x1 and x2 differ


def test_png_bytes_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    assert np.array_equal(decode(png_bytes(image)), image)


@pytest.mark.parametrize("array", [np.zeros((4, 4, 3)), np.zeros((4, 4), dtype=np.uint8),
                                   np.zeros((4, 4, 4), dtype=np.uint8),
                                   np.zeros((0, 4, 3), dtype=np.uint8)])
def test_png_bytes_refuses_anything_but_rgb_bytes(array):
    with pytest.raises(ValueError, match=r"uint8 array \[height, width, 3\]"):
        png_bytes(array)


@pytest.mark.parametrize("call, message", [
    (lambda o: draw_output(o, 0), "size must be a positive int"),
    (lambda o: draw_output(o, 10.5), "size must be a positive int"),
    (lambda o: draw_output(o[0], 10), r"output must be an array \[units, R, R\]"),
    (lambda o: draw_output(o[:, :5], 10), r"output must be an array \[units, R, R\]"),
    (lambda o: draw_output(o, 10, points=np.zeros((3, 2))), "points and their labels .* come together"),
    (lambda o: draw_output(o, 10, test_labels=np.zeros(3, dtype=int)),
     "points and their labels .* come together"),
    (lambda o: draw_output(o, 10, points=np.zeros((3, 3)), labels=np.zeros(3, dtype=int)),
     r"points must be an array \[N, 2\]"),
    (lambda o: draw_output(o, 10, points=np.zeros((2, 2)), labels=np.array([0, 2])),
     "labels must be class numbers 0 .. 1"),
    (lambda o: draw_output(o, 10, points=np.zeros((2, 2)), labels=np.array([0.0, 1.0])),
     "labels must be class numbers"),
    (lambda o: draw_output(o, 10, points=np.zeros((2, 2)), labels=np.zeros(3, dtype=int)),
     r"per point \[2\], got shape \[3\]"),
    (lambda o: draw_output(o, 10, plane=(3, -3)), "plane must be finite with low < high"),
    (lambda o: draw_output(o[:1], 10, points=np.zeros((1, 2)), labels=np.array(["a"])),
     "labels of a regression must be numbers"),
    (lambda o: draw_unit(o[0], -2), "size must be a positive int"),
    (lambda o: draw_unit(o, 10), r"unit_map must be a square array \[R, R\]"),
    (lambda o: draw_unit(o[0], 10, scale=0.0), "scale must be a positive finite number"),
    (lambda o: draw_unit(o[0], 10, lightness=2.0), r"lightness must lie in \[0, 1\]"),
])
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(output_of([[1, 0], [0, 1]], resolution=6).numpy())
