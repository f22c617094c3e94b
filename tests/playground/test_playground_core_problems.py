"""The Playground's problems, their split and a learner's own data (widgets.playground, no widgets)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from widgets.playground import PLANE, PROBLEMS, check_data, make_problem, split

CLASSES = {"circle": 2, "xor": 2, "gauss": 2, "spiral": 2, "blobs": 3}


@pytest.mark.parametrize("noise", [0.0, 0.5])
@pytest.mark.parametrize("name", PROBLEMS)
def test_every_problem_gives_points_on_the_plane_with_classes_or_values(name, noise):
    x, y = make_problem(name, n=300, noise=noise, seed=3)
    assert x.dtype == torch.float32 and x.shape == (300, 2) and bool(torch.isfinite(x).all())
    assert y.shape == (300,)
    if name in CLASSES:
        assert y.dtype == torch.int64
        if name != "xor" and (noise == 0 or name != "circle"):  # the others make each class's share
            assert torch.bincount(y).tolist() == [300 // CLASSES[name]] * CLASSES[name]
        assert sorted(set(y.tolist())) == list(range(CLASSES[name]))
    else:
        assert y.dtype == torch.float32 and bool(torch.isfinite(y).all())
        assert float(y.abs().max()) <= 1.5
    if name not in ("gauss", "blobs"):  # Gaussian clusters have tails
        assert float(x.abs().max()) <= PLANE[1]


def test_circle_and_xor_label_by_their_rule_without_noise():
    x, y = make_problem("circle", n=400, noise=0.0, seed=1)
    radius = torch.hypot(x[:, 0], x[:, 1])
    assert torch.equal(y == 1, radius < 2.5)
    assert float(radius[y == 0].min()) >= 3.5 - 1e-5 and float(radius.max()) <= 5 + 1e-5
    x, y = make_problem("xor", n=400, noise=0.0, seed=1)
    assert torch.equal(y == 1, x[:, 0] * x[:, 1] >= 0)
    assert float(x.abs().min()) >= 0.3 - 1e-6  # kept off the axes


def test_noise_flips_labels_but_leaves_the_points():
    x0, y0 = make_problem("circle", n=400, noise=0.0, seed=2)
    x5, y5 = make_problem("circle", n=400, noise=0.5, seed=2)
    assert torch.equal(x0, x5)
    assert 0 < int((y0 != y5).sum()) < 200


def test_gauss_and_blobs_put_their_clusters_apart():
    x, y = make_problem("gauss", n=1000, noise=0.0, seed=0)
    assert float(x[y == 1].mean(0).min()) > 1.5 and float(x[y == 0].mean(0).max()) < -1.5
    for classes in (2, 4, 6):
        x, y = make_problem("blobs", n=600, noise=0.0, seed=0, classes=classes)
        assert torch.bincount(y).tolist() == [600 // classes] * classes
        centres = torch.stack([x[y == k].mean(0) for k in range(classes)])
        radii = torch.hypot(centres[:, 0], centres[:, 1])
        assert float(radii.min()) > 3.0 and float(radii.max()) < 4.0
        angles = torch.atan2(centres[:, 1], centres[:, 0])
        steps = torch.remainder(angles.roll(-1) - angles, 2 * math.pi)
        assert torch.allclose(steps, torch.full((classes,), 2 * math.pi / classes), atol=0.15)


def test_more_noise_spreads_the_clusters():
    spread = [float(make_problem("gauss", n=1000, noise=noise, seed=0)[0].std())
              for noise in (0.0, 0.25, 0.5)]
    assert spread[0] < spread[1] < spread[2]


def test_spiral_arms_reach_radius_five_and_regressions_follow_their_formula():
    x, y = make_problem("spiral", n=500, noise=0.0, seed=0)
    radius = torch.hypot(x[:, 0], x[:, 1])
    assert 4.8 < float(radius.max()) <= 5.0 + 1e-5
    assert torch.equal(torch.sort(radius[y == 0]).values, torch.sort(radius[y == 1]).values)  # mirrored arms
    x, y = make_problem("reg-plane", n=500, noise=0.0, seed=0)
    assert torch.allclose(y, (x[:, 0] + x[:, 1]) / 10, atol=1e-6)
    x, y = make_problem("reg-gauss", n=2000, noise=0.0, seed=0)
    near = torch.hypot(x[:, 0] - 4, x[:, 1] - 2.5) < 0.2  # the top of a positive bump
    far = torch.ones(len(x), dtype=torch.bool)
    for cx in (-4, 0, 4):
        for cy in (-2.5, 2.5):
            far &= torch.hypot(x[:, 0] - cx, x[:, 1] - cy) > 2
    assert float(y[near].min()) > 0.85 and int(far.sum()) > 100
    assert float(y[far].abs().max()) == 0.0


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_seed_gives_bitwise_the_same_points_and_leaves_the_global_generator(name):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    x1, y1 = make_problem(name, n=200, noise=0.3, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(999)  # a different global state changes nothing
    x2, y2 = make_problem(name, n=200, noise=0.3, seed=7)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, _ = make_problem(name, n=200, noise=0.3, seed=8)
    assert not torch.equal(x1, x3)


def test_split_cuts_a_seeded_permutation():
    x = torch.arange(200, dtype=torch.float32).repeat(2, 1).T
    y = torch.arange(200)
    x_train, y_train, x_test, y_test = split(x, y, train_ratio=0.3, seed=5)
    assert len(x_train) == 60 and len(x_test) == 140
    assert sorted(torch.cat([y_train, y_test]).tolist()) == list(range(200))
    assert torch.equal(x_train[:, 0].long(), y_train)  # rows stay whole
    again = split(x, y, train_ratio=0.3, seed=5)
    assert torch.equal(again[1], y_train)
    assert not torch.equal(split(x, y, train_ratio=0.3, seed=6)[1], y_train)
    assert len(split(x[:3], y[:3], train_ratio=0.1, seed=0)[0]) == 1  # at least one point on each side


def test_unknown_problem_lists_the_known_names():
    with pytest.raises(ValueError,
                       match="problem must be one of 'circle', 'xor'.*'reg-gauss'; got str 'moons'"):
        make_problem("moons")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"noise": 0.6}, r"noise must be a number in \[0, 0.5\], got 0.6"),
    ({"noise": "low"}, r"noise must be a number in \[0, 0.5\], got str 'low'"),
    ({"n": 5}, "n must be an int from 10 to 100000, got 5"),
    ({"n": 50.0}, "n must be an int from 10 to 100000, got float 50.0"),
    ({"seed": -1}, "seed must be an int from 0 to"),
    ({"classes": 3}, "classes applies to 'blobs' only.*got int 3"),
])
def test_bad_problem_arguments_say_what_was_expected(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make_problem("circle", **kwargs)


def test_blobs_classes_must_be_two_to_six():
    with pytest.raises(ValueError, match="classes must be an int from 2 to 6, got 7"):
        make_problem("blobs", classes=7)


def test_split_refuses_a_ratio_out_of_range_and_unequal_lengths():
    x, y = make_problem("xor", n=20)
    with pytest.raises(ValueError, match=r"train_ratio must be a number in \[0.1, 0.9\], got 0.95"):
        split(x, y, train_ratio=0.95)
    with pytest.raises(ValueError, match=r"one length.*got shapes \[20, 2\] and \[19\]"):
        split(x, y[:19])


# --------------------------------------------------------------------------- a learner's own data


def test_own_data_comes_from_tensors_arrays_and_lists():
    points = [[0.5, -1.0], [2.0, 3.0], [-1.5, 0.25]]
    for x in (torch.tensor(points, dtype=torch.float64), np.array(points), points):
        xs, ys = check_data(x, [0, 1, 1])
        assert xs.dtype == torch.float32 and xs.tolist() == points
        assert ys.dtype == torch.int64 and ys.tolist() == [0, 1, 1]
    xs, ys = check_data(points, np.array([[0.5], [1.5], [-2.0]]))  # a [N, 1] column of values
    assert ys.dtype == torch.float32 and ys.tolist() == [0.5, 1.5, -2.0]
    _, ys = check_data(points, torch.tensor([True, False, True]))
    assert ys.tolist() == [1, 0, 1]


POINTS = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, -1.0]]


@pytest.mark.parametrize(("x", "y", "message"), [
    ([[0.0, 1.0, 2.0]] * 4, [0, 1, 0, 1], r"data\['x'\] must have shape \[N, 2\].*got \[4, 3\]"),
    (POINTS, [0, 1, 0], r"must have one length: got 4 points and 3 labels"),
    (POINTS, [[0, 1], [1, 0], [0, 1], [1, 0]], r"data\['y'\] must have shape \[N\].*got \[4, 2\]"),
    ([[0.0, float("nan")], *POINTS[1:]], [0, 1, 0, 1],
     r"must be finite numbers, got 1 point\(s\) holding NaN"),
    (POINTS, [0.5, float("inf"), 0.0, 1.0], r"data\['y'\] must be finite values, got 1 NaN or infinite"),
    (POINTS, [-1, 1, 1, -1], r"must be class indices from 0, got -1 \(the Playground writes -1 and \+1"),
    (POINTS, [1, 1, 1, 1], r"must hold at least two classes, got only class 1"),
    (POINTS, [1, 2, 1, 2],
     r"must use every class 0..2 .*got none of class\(es\) \[0\] \(classes count from 0"),
    (POINTS, [0, 11, 1, 0], r"with K at most 10, got the class 11"),
    ([["a", "b"]] * 4, [0, 1, 0, 1], r"data\['x'\] must hold numbers, got values of dtype <U1 such as 'a'"),
    ([[0.0, 1.0], [2.0]], [0, 1], r"data\['x'\] must be numbers in a rectangular array"),
    (POINTS, ["cat", "dog", "cat", "dog"], r"data\['y'\] must hold numbers"),
    (POINTS[:1], [0], r"must hold from 2 to 100,000 points, got 1"),
])
def test_bad_own_data_says_what_was_expected_and_what_came(x, y, message):
    with pytest.raises((TypeError, ValueError), match=message):
        check_data(x, y)
