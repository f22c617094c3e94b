"""TensorFlow Playground's update (TfSGD), error (HalfSquaredError) and initial weights, checked by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from widgets.playground import HalfSquaredError, TfSGD, build_tf_model, sign_accuracy, tf_initialize


def layer(weights: list[list[float]], bias: list[float]) -> nn.Linear:
    linear = nn.Linear(len(weights[0]), len(weights))
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(weights))
        linear.bias.copy_(torch.tensor(bias))
    return linear


def step(optimizer: TfSGD, linear: nn.Linear, weight_grad: list[list[float]], bias_grad: list[float]) -> None:
    linear.weight.grad = torch.tensor(weight_grad)
    linear.bias.grad = torch.tensor(bias_grad)
    optimizer.step()


def test_l1_sets_a_weight_the_penalty_carries_across_zero_to_exactly_zero_for_good():
    linear = layer([[0.01, -0.5, 0.3, -0.015]], [0.2])
    optimizer = TfSGD(linear.parameters(), lr=1.0, regularization="l1", reg_rate=0.02)
    step(optimizer, linear, [[0.0, 0.0, 0.0, 0.0]], [0.0])
    # 0.01 - 0.02 and -0.015 + 0.02 cross zero: exactly 0; the others move 0.02 towards it
    assert linear.weight.tolist()[0] == pytest.approx([0.0, -0.48, 0.28, 0.0], abs=1e-7)
    assert linear.weight[0, 0].item() == 0.0 and linear.weight[0, 3].item() == 0.0
    assert optimizer.dead(linear.weight).tolist() == [[True, False, False, True]]
    assert linear.bias.item() == pytest.approx(0.2)  # the bias takes no penalty
    for _ in range(3):  # later gradients move the live weights only
        step(optimizer, linear, [[-0.3, 0.1, 0.1, 0.4]], [0.0])
    assert linear.weight[0, 0].item() == 0.0 and linear.weight[0, 3].item() == 0.0
    assert linear.weight[0, 1].item() != pytest.approx(-0.48)
    assert optimizer.dead(linear.weight).tolist() == [[True, False, False, True]]


def test_a_weight_the_gradient_carries_across_zero_stays_alive():
    linear = layer([[0.01]], [0.0])
    optimizer = TfSGD(linear.parameters(), lr=1.0, regularization="l1", reg_rate=0.001)
    step(optimizer, linear, [[0.05]], [0.0])
    # w1 = 0.01 - 0.05 = -0.04; the penalty's step at the old weight's sign: -0.04 - 0.001
    assert linear.weight.item() == pytest.approx(-0.041, abs=1e-7)
    assert not bool(optimizer.dead(linear.weight).any())


def test_l2_takes_its_step_at_the_weight_before_the_gradients():
    linear = layer([[1.0, -2.0]], [0.5])
    optimizer = TfSGD(linear.parameters(), lr=0.1, regularization="l2", reg_rate=0.1)
    step(optimizer, linear, [[0.5, 0.0]], [1.0])
    # 1 - 0.1 * 0.5 = 0.95, then - 0.1 * 0.1 * 1 (the old weight) = 0.94; -2 -> -2 + 0.02
    assert linear.weight.tolist()[0] == pytest.approx([0.94, -1.98], abs=1e-6)
    assert linear.bias.item() == pytest.approx(0.4, abs=1e-7)
    assert not bool(optimizer.dead(linear.weight).any())


def test_without_regularization_it_is_plain_sgd():
    torch.manual_seed(0)
    ours, theirs = nn.Linear(3, 2), nn.Linear(3, 2)
    theirs.load_state_dict(ours.state_dict())
    tf, sgd = TfSGD(ours.parameters(), lr=0.3), torch.optim.SGD(theirs.parameters(), lr=0.3)
    x = torch.randn(5, 3)
    for model, optimizer in ((ours, tf), (theirs, sgd)):
        for _ in range(4):
            optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


def test_the_dead_weights_travel_in_the_optimizer_state():
    linear = layer([[0.01, 0.3]], [0.0])
    optimizer = TfSGD(linear.parameters(), lr=1.0, regularization="l1", reg_rate=0.02)
    step(optimizer, linear, [[0.0, 0.0]], [0.0])
    other = layer([[0.0, 0.28]], [0.0])
    restored = TfSGD(other.parameters(), lr=1.0, regularization="l1", reg_rate=0.02)
    restored.load_state_dict(optimizer.state_dict())
    assert restored.dead(other.weight).tolist() == [[True, False]]
    step(restored, other, [[0.5, 0.0]], [0.0])
    assert other.weight[0, 0].item() == 0.0


@pytest.mark.parametrize(("arguments", "message"), [
    ({"lr": 0}, r"lr must be a number in \(0, inf\), got 0.0"),
    ({"regularization": "L1"}, r"regularization must be one of None, 'l1', 'l2'; got str 'L1'"),
    ({"reg_rate": -1}, r"reg_rate must be a number in \[0, inf\), got -1.0"),
])
def test_bad_options_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        TfSGD(nn.Linear(2, 1).parameters(), **arguments)


def test_the_error_is_half_the_mean_squared_difference():
    output, target = torch.tensor([[0.5], [-0.2]]), torch.tensor([[1.0], [-1.0]])
    assert HalfSquaredError()(output, target).item() == pytest.approx(0.5 * (0.25 + 0.64) / 2)
    with pytest.raises(ValueError, match=r"one shape .* got \[2, 1\] and \[2\]"):
        HalfSquaredError()(output, target[:, 0])


def test_one_step_moves_each_weight_by_the_mean_of_its_per_point_derivatives():
    # As nn.ts: per point, dE/dnet = (out - target) * (1 - out^2); the weight moves by lr * the batch's mean.
    model = nn.Sequential(layer([[0.3, -0.2]], [0.1]), nn.Tanh())
    x = torch.tensor([[1.0, 2.0], [-0.5, 0.25], [2.0, -1.0]])
    target = torch.tensor([[1.0], [-1.0], [1.0]])
    optimizer = TfSGD(model.parameters(), lr=0.5)
    loss = HalfSquaredError()(model(x), target)
    loss.backward()
    optimizer.step()
    sums, bias_sum = [0.0, 0.0], 0.0
    for (a, b), t in zip(x.tolist(), target[:, 0].tolist()):
        out = math.tanh(0.3 * a - 0.2 * b + 0.1)
        der = (out - t) * (1 - out * out)
        sums = [sums[0] + der * a, sums[1] + der * b]
        bias_sum += der
    expected = [0.3 - 0.5 * sums[0] / 3, -0.2 - 0.5 * sums[1] / 3]
    assert model[0].weight.tolist()[0] == pytest.approx(expected, abs=1e-6)
    assert model[0].bias.item() == pytest.approx(0.1 - 0.5 * bias_sum / 3, abs=1e-6)


def test_the_output_is_read_by_its_sign():
    output = torch.tensor([[0.3], [-0.1], [0.0], [0.9]])
    labels = torch.tensor([[1.0], [1.0], [-1.0], [-1.0]])
    assert sign_accuracy(output, labels) == 0.5


def test_the_initial_weights_are_uniform_around_zero_and_the_biases_one_tenth():
    model = build_tf_model(["x1", "x2", "x1*x2"], [8, 8, 8], "relu", "classification", seed=3)
    assert isinstance(model[-1], nn.Tanh) and model[-2].out_features == 1
    weights = torch.cat([m.weight.detach().flatten() for m in model if isinstance(m, nn.Linear)])
    biases = torch.cat([m.bias.detach() for m in model if isinstance(m, nn.Linear)])
    assert float(weights.min()) >= -0.5 and float(weights.max()) < 0.5
    assert float(weights.min()) < -0.45 and float(weights.max()) > 0.45 and abs(float(weights.mean())) < 0.05
    assert biases.tolist() == [pytest.approx(0.1)] * len(biases)
    regression = build_tf_model(["x1"], [], "tanh", "regression", seed=3)
    assert isinstance(regression[-1], nn.Linear)


def test_the_initial_weights_follow_the_seed_alone():
    state = torch.get_rng_state()
    first = build_tf_model(["x1", "x2"], [4, 2], "tanh", "classification", seed=5)
    torch.manual_seed(99)
    again = build_tf_model(["x1", "x2"], [4, 2], "tanh", "classification", seed=5)
    other = tf_initialize(build_tf_model(["x1", "x2"], [4, 2], "tanh", "classification", seed=5), seed=6)
    torch.set_rng_state(state)
    a, b, c = first.state_dict(), again.state_dict(), other.state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["1.weight"], c["1.weight"])
