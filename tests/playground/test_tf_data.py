"""TensorFlow Playground's data sets in "tf" mode, against the facts of its dataset.ts."""

from __future__ import annotations

import math

import pytest
import torch

from widgets.playground import TF_PROBLEMS, make_tf_problem, make_tf_split

CLASSIFICATIONS = ("circle", "xor", "gauss", "spiral")


@pytest.mark.parametrize("name", TF_PROBLEMS)
def test_each_data_set_has_its_count_and_its_labels(name):
    x, y = make_tf_problem(name, noise=0.3, seed=4)
    count = 500 if name in CLASSIFICATIONS else 1200
    assert x.shape == (count, 2) and y.shape == (count,)
    assert x.dtype == y.dtype == torch.float32 and bool(torch.isfinite(x).all() and torch.isfinite(y).all())
    if name in CLASSIFICATIONS:
        assert set(y.tolist()) == {-1.0, 1.0}
    else:
        assert len(set(y.tolist())) > 100  # values, not labels


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral"])
def test_the_positive_half_comes_first_and_the_classes_are_balanced(name):
    _, y = make_tf_problem(name, seed=1)
    assert y[:250].tolist() == [1.0] * 250 and y[250:].tolist() == [-1.0] * 250


def test_the_circle_has_its_inner_disc_and_its_ring_and_labels_by_radius():
    x, y = make_tf_problem("circle", seed=2)
    radius = torch.hypot(x[:, 0], x[:, 1])
    inner, ring = radius[:250], radius[250:]
    assert float(inner.max()) < 2.5 and float(inner.min()) < 0.1
    assert float(ring.min()) >= 3.5 - 1e-5 and float(ring.max()) <= 5.0 + 1e-5
    assert float(ring.min()) < 3.6 and float(ring.max()) > 4.9
    assert torch.equal(y > 0, radius < 2.5)


def test_the_circles_noise_flips_labels_near_the_border_and_leaves_the_points():
    x0, y0 = make_tf_problem("circle", noise=0.0, seed=3)
    x5, y5 = make_tf_problem("circle", noise=0.5, seed=3)
    assert torch.equal(x0, x5)
    flipped = y0 != y5
    assert 0 < int(flipped.sum()) < 250


def test_xor_keeps_off_the_axes_and_labels_by_the_quadrant():
    x, y = make_tf_problem("xor", seed=5)
    assert float(x.abs().min()) >= 0.3 - 1e-6 and float(x.abs().max()) <= 5.3 + 1e-5
    assert torch.equal(y > 0, x[:, 0] * x[:, 1] >= 0)
    assert 180 < int((y > 0).sum()) < 320


@pytest.mark.parametrize(("noise", "variance"), [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_spreads_with_its_variance_scale(noise, variance):
    x, y = make_tf_problem("gauss", noise=noise, seed=6, n=20_000)
    positive, negative = x[y > 0].double(), x[y < 0].double()
    assert positive.mean(0).tolist() == pytest.approx([2.0, 2.0], abs=0.06)
    assert negative.mean(0).tolist() == pytest.approx([-2.0, -2.0], abs=0.06)
    assert positive.var(0).tolist() == pytest.approx([variance, variance], rel=0.05)


def test_the_spiral_arms_start_at_the_centre_and_grow_to_radius_5():
    x, y = make_tf_problem("spiral", noise=0.0, seed=0)
    radius = torch.hypot(x[:, 0].double(), x[:, 1].double())
    steps = torch.arange(250, dtype=torch.float64) / 250 * 5
    assert radius[:250].tolist() == pytest.approx(steps.tolist(), abs=1e-5)
    assert radius[250:].tolist() == pytest.approx(steps.tolist(), abs=1e-5)
    assert float(radius[0]) == 0.0 and float(radius[249]) == pytest.approx(4.98, abs=1e-5)
    # the -1 arm is the +1 arm turned by half a turn; point i turns 1.75 turns * i / 250
    assert torch.allclose(x[250:], -x[:250], atol=1e-5)
    angle = torch.atan2(x[1:250, 0].double(), x[1:250, 1].double())  # x = r sin t, y = r cos t
    expected = torch.remainder(1.75 * 2 * math.pi * torch.arange(1, 250, dtype=torch.float64) / 250 + math.pi,
                               2 * math.pi) - math.pi
    assert torch.allclose(angle, expected, atol=1e-4)


def test_the_spiral_noise_moves_each_coordinate_by_up_to_the_noise():
    clean, _ = make_tf_problem("spiral", noise=0.0, seed=7)
    noisy, _ = make_tf_problem("spiral", noise=0.5, seed=7)
    moved = (noisy - clean).double()
    assert float(moved.abs().max()) <= 0.5 + 1e-6
    # uniform in [-0.5, 0.5] on each axis: 0.29 rms a coordinate, 0.41 from the arm
    assert float(moved.pow(2).mean().sqrt()) == pytest.approx(0.5 / math.sqrt(3), rel=0.06)
    assert float(moved.pow(2).sum(1).mean().sqrt()) == pytest.approx(0.5 * math.sqrt(2 / 3), rel=0.06)


def test_the_regressions_take_their_values_by_its_rules():
    x, y = make_tf_problem("reg-plane", seed=8)
    assert float(x.abs().max()) <= 6.0
    assert torch.allclose(y, (x[:, 0] + x[:, 1]) / 10, atol=1e-6)
    x, y = make_tf_problem("reg-gauss", seed=8)
    bump = torch.tensor([[-4.0, 2.5], [0.0, 2.5], [4.0, 2.5], [-4.0, -2.5], [0.0, -2.5], [4.0, -2.5]])
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    nearest = torch.cdist(x, bump).argmin(1)
    distance = torch.cdist(x, bump).min(1).values
    expected = sign[nearest] * (1 - distance / 2).clamp(0, 1)
    assert torch.allclose(y, expected, atol=1e-5)
    assert float(y.max()) > 0.9 and float(y.min()) < -0.9


def test_the_same_seed_gives_bitwise_the_same_points_and_leaves_torchs_generator_alone():
    state = torch.get_rng_state()
    first = make_tf_split("spiral", noise=0.2, train_ratio=0.3, seed=11)
    again = make_tf_split("spiral", noise=0.2, train_ratio=0.3, seed=11)
    other = make_tf_split("spiral", noise=0.2, train_ratio=0.3, seed=12)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(("name", "ratio", "train"), [("circle", 0.5, 250), ("xor", 0.3, 150),
                                                       ("gauss", 0.9, 450), ("reg-plane", 0.1, 120),
                                                       ("reg-gauss", 0.7, 840)])
def test_the_split_shuffles_every_point_once_and_cuts_where_it_does(name, ratio, train):
    x_train, y_train, x_test, y_test = make_tf_split(name, noise=0.1, train_ratio=ratio, seed=2)
    assert len(x_train) == len(y_train) == train
    x, y = make_tf_problem(name, noise=0.1, seed=2)
    assert len(x_test) == len(x) - train
    both = torch.cat([torch.cat([x_train, x_test]), torch.cat([y_train, y_test])[:, None]], 1)
    original = torch.cat([x, y[:, None]], 1)
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, original.tolist()))
    assert not torch.equal(torch.cat([x_train, x_test]), x)  # shuffled


@pytest.mark.parametrize(("arguments", "message"), [
    ({"name": "blobs"}, r"name must be one of 'circle', 'xor', 'gauss', 'spiral', 'reg-plane', 'reg-gauss'"),
    ({"name": "circle", "noise": 0.6}, r"noise must be a number in \[0, 0.5\], got 0.6"),
    ({"name": "circle", "n": 1}, r"n must be an int from 2 to 100000, got 1"),
])
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        make_tf_problem(**arguments)
