"""The Playground's loss chart (train and test lines on a fixed axis rule) and its confusion matrix."""

from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from frames import decode

from widgets.playground.confusion import confusion_html, confusion_matrix
from widgets.playground.draw import png_bytes
from widgets.playground.draw_chart import draw_loss_chart
from widgets.views.style import CONFUSION_DIAGONAL, SPLIT_COLOURS


def colour(split):
    return np.array([int(SPLIT_COLOURS[split][i:i + 2], 16) for i in (1, 3, 5)])


def mask(image, split):
    """Where the chart has the colour of `split`'s line."""
    return (np.abs(image - colour(split)) <= 2).all(axis=2)


def test_train_and_test_lines_in_their_colours():
    steps = np.arange(50)
    image = decode(png_bytes(draw_loss_chart(1 / (1 + steps), 1.2 / (1 + steps), width=300, height=80)))
    assert image.shape == (80, 300, 3)
    assert mask(image, "train").sum() > 100 and mask(image, "test").sum() > 100
    alone = draw_loss_chart(1 / (1 + steps))
    assert mask(alone, "train").sum() > 100 and not mask(alone, "test").any()


def test_the_axis_starts_at_zero_and_tops_at_the_largest_loss():
    image = draw_loss_chart([1.0] * 20, [2.0] * 20, width=200, height=90)
    train_rows = np.flatnonzero(mask(image, "train").any(axis=1))
    test_rows = np.flatnonzero(mask(image, "test").any(axis=1))
    assert test_rows.min() <= 4  # 2.0, the largest loss: the top
    assert abs(train_rows.mean() - 90 / 2) <= 3  # 1.0: half way up from 0
    doubled = draw_loss_chart([1.0] * 20, [4.0] * 20, width=200, height=90)
    # the top moved up
    assert np.flatnonzero(mask(doubled, "train").any(axis=1)).mean() > train_rows.mean() + 15


def test_the_chart_grows_along_the_x_axis():
    short = draw_loss_chart([1.0, 0.5], [1.0, 0.6])
    longer = draw_loss_chart([1.0, 0.5, 0.4, 0.3], [1.0, 0.6, 0.5, 0.45])
    assert not np.array_equal(short, longer)
    for split in ("train", "test"):
        chart = draw_loss_chart([1.0, 0.5, 0.4, 0.3], [2.0, 1.6, 1.5, 1.45])
        columns = np.flatnonzero(mask(chart, split).any(axis=0))
        assert columns.min() <= 3 and columns.max() >= 300 - 4  # each series spans the width


def test_non_finite_losses_leave_a_gap():
    train = np.linspace(1, 0.1, 100)
    train[40:60] = np.nan
    image = draw_loss_chart(train, width=200)
    columns = mask(image, "train").any(axis=0)
    assert not columns[90:105].any() and columns[20:70].any() and columns[130:180].any()


def test_a_long_history_is_drawn_whole():
    train = np.linspace(2.0, 0.0, 100_000)
    train[70_000] = 3.0  # one spike must survive the thinning
    image = draw_loss_chart(train, width=300)
    assert mask(image, "train")[:5].any()


def test_an_empty_history_draws_an_empty_chart():
    image = draw_loss_chart([], [])
    assert not mask(image, "train").any() and not mask(image, "test").any()


@pytest.mark.parametrize("call, message", [
    (lambda: draw_loss_chart([1.0], width=0), "width must be an int of at least"),
    (lambda: draw_loss_chart([1.0], height=3), "height must be an int of at least"),
    (lambda: draw_loss_chart([[1.0, 2.0]]), r"train must be one loss per step or epoch \[N\]"),
    (lambda: draw_loss_chart([1.0], ["a"]), "test must be a sequence of numbers"),
])
def test_bad_chart_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.7, target, rng.integers(0, 4, 200))
    matrix = confusion_matrix(pred, target, 4)
    assert matrix.shape == (4, 4) and matrix.sum() == 200
    for t in range(4):
        for p in range(4):
            assert matrix[t, p] == int(((target == t) & (pred == p)).sum())
    assert np.array_equal(confusion_matrix(torch.tensor(pred), torch.tensor(target), 4), matrix)
    assert confusion_matrix([], [], 3).tolist() == [[0] * 3] * 3


@pytest.mark.parametrize("pred, target, classes, message", [
    ([0, 1], [0, 1, 1], 2, "same length, got 2 and 3"),
    ([0, 3], [0, 1], 3, r"pred must hold classes 0 .. 2, got values from 0 to 3"),
    ([0, 1], [-1, 1], 2, "target must hold classes 0 .. 1"),
    ([0.0, 1.0], [0, 1], 2, "pred must hold class numbers"),
    ([[0, 1]], [[0, 1]], 2, r"pred must be one class per example \[N\]"),
    ([0], [0], 0, "classes must be a positive int"),
])
def test_confusion_matrix_refuses_bad_input(pred, target, classes, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(pred, target, classes)


class Cells(HTMLParser):
    """The table's cells, row by row, with each cell's style."""

    def __init__(self):
        super().__init__()
        self.rows = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append([tag, dict(attrs).get("style", ""), ""])

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1][2] += data


def test_confusion_html_shows_the_counts_and_shades_the_diagonal():
    matrix = np.array([[5, 1, 0], [2, 7, 0], [0, 3, 9]])
    table = Cells()
    table.feed(confusion_html(matrix, ["a", "b", "<c>"]))
    # escaped in the HTML, read back as text
    assert [cell[2] for cell in table.rows[0][1:]] == ["a", "b", "<c>"]
    for i, row in enumerate(table.rows[1:]):
        assert row[0][0] == "th" and [int(cell[2]) for cell in row[1:]] == matrix[i].tolist()
        shaded = [CONFUSION_DIAGONAL in cell[1] for cell in row[1:]]
        assert shaded == [j == i for j in range(3)]


@pytest.mark.parametrize("matrix, names, message", [
    (np.zeros((2, 3), dtype=int), ["a", "b"], r"matrix must be square"),
    (np.zeros((2, 2)), ["a", "b"], "matrix must hold counts"),
    (-np.ones((2, 2), dtype=int), ["a", "b"], "matrix must hold counts"),
    (np.zeros((2, 2), dtype=int), ["a"], "class_names must name the 2 classes, got 1"),
])
def test_confusion_html_refuses_bad_input(matrix, names, message):
    with pytest.raises(ValueError, match=message):
        confusion_html(matrix, names)
