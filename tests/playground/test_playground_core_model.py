"""The Playground's features, network, weight penalty and one-hot squared error (widgets.playground)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.playground import (
    ACTIVATIONS,
    FEATURES,
    Features,
    OneHotMSELoss,
    WeightPenalty,
    build,
    build_model,
)

# --------------------------------------------------------------------------- features


def test_features_compute_their_columns_in_the_order_given():
    x = torch.tensor([[0.5, -2.0], [3.0, 1.5], [-1.0, 0.0]])
    x1, x2 = x[:, 0], x[:, 1]
    expected = {"x1": x1, "x2": x2, "x1^2": x1 ** 2, "x2^2": x2 ** 2, "x1*x2": x1 * x2,
                "sin(x1)": torch.sin(x1), "sin(x2)": torch.sin(x2)}
    assert set(expected) == set(FEATURES)
    names = list(reversed(FEATURES))
    out = Features(names)(x)
    assert out.shape == (3, len(FEATURES))
    for column, name in enumerate(names):
        assert torch.allclose(out[:, column], expected[name]), name
    one = Features(["x1*x2"])
    assert one.names == ("x1*x2",) and one(x).shape == (3, 1)
    assert list(one.parameters()) == []


def test_a_whole_model_saves_and_loads_with_torch_save(tmp_path):
    model = build_model(["x1", "sin(x2)"], [3], seed=2)
    torch.save(model, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    x = torch.randn(5, 2)
    assert torch.equal(loaded(x), model(x))


def test_features_repr_names_them_and_reads_back():
    features = Features(["x2", "sin(x1)"])
    text = repr(features)
    assert "x2" in text and "sin(x1)" in text
    assert eval(text, {"Features": Features}).names == features.names


@pytest.mark.parametrize(("names", "message"), [
    (["x1", "x3"], r"features must be names from x1, x2, .*sin\(x2\); got the unknown \['x3'\]"),
    (["x1", "x2", "x1"], r"features must each appear once, got \['x1'\] more than once"),
    ([], r"features must name at least one feature"),
    ("x1", r"features must be a list of feature names.*got str 'x1'"),
])
def test_bad_feature_names_are_refused(names, message):
    with pytest.raises((TypeError, ValueError), match=message):
        Features(names)


def test_features_refuse_points_that_are_not_pairs():
    with pytest.raises(ValueError, match=r"shape \[N, 2\] \(x1, x2\), got \[4, 3\]"):
        Features(["x1"])(torch.zeros(4, 3))


# --------------------------------------------------------------------------- the network


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_the_network_is_features_then_linear_activation_dropout_then_output(dropout):
    model = build_model(["x1", "x2", "x1*x2"], [5, 3], "relu", dropout, outputs=4, seed=0)
    assert isinstance(model, nn.Sequential) and isinstance(model[0], Features)
    per_layer = [nn.Linear, nn.ReLU] + ([nn.Dropout] if dropout else [])
    assert [type(m) for m in model[1:]] == per_layer * 2 + [nn.Linear]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 5), (5, 3), (3, 4)]
    assert all(m.p == dropout for m in model if isinstance(m, nn.Dropout))
    assert model(torch.zeros(7, 2)).shape == (7, 4)


def test_no_hidden_layer_is_a_linear_model_and_every_activation_has_its_module():
    model = build_model(["x1", "x2"], [], outputs=1)
    assert [type(m) for m in model] == [Features, nn.Linear] and model[1].in_features == 2
    for name, module in ACTIVATIONS.items():
        assert type(build_model(["x1"], [2], name)[2]) is module
    assert set(ACTIVATIONS) == {"relu", "tanh", "sigmoid", "linear", "gelu"}
    deepest = build_model(["x1"], [16] * 6)
    assert sum(isinstance(m, nn.Linear) for m in deepest) == 7


def test_a_seed_gives_bitwise_the_same_weights_and_leaves_the_global_generator():
    torch.manual_seed(5)
    before = torch.get_rng_state()
    first = build_model(["x1", "x2"], [4, 2], seed=11).state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    second = build_model(["x1", "x2"], [4, 2], seed=11).state_dict()
    other = build_model(["x1", "x2"], [4, 2], seed=12).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["1.weight"], other["1.weight"])
    torch.manual_seed(11)  # seed=None draws from the global generator, as the exported code does
    drawn = build_model(["x1", "x2"], [4, 2], seed=None).state_dict()
    assert all(torch.equal(first[k], drawn[k]) for k in first)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hidden": [4] * 7}, r"hidden must list at most 6 layers, got 7"),
    ({"hidden": [4, 17]}, r"hidden\[1\] must be an int from 1 to 16, got 17"),
    ({"hidden": [4, 0]}, r"hidden\[1\] must be an int from 1 to 16, got 0"),
    ({"hidden": 4}, r"hidden must be a list of neuron counts.*got int 4"),
    ({"activation": "softplus"}, r"activation must be one of 'relu', 'tanh', .*'gelu'; got str 'softplus'"),
    ({"dropout": 0.9}, r"dropout must be a number in \[0, 0.85\], got 0.9"),
    ({"outputs": 0}, r"outputs must be an int from 1 to 10, got 0"),
    ({"seed": 1.5}, r"seed must be an int from 0 to .*got float 1.5"),
])
def test_bad_network_settings_are_refused(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build_model(["x1", "x2"], **kwargs)


# --------------------------------------------------------------------------- the weight penalty


def one_batch_trainer(callbacks, seed=0):
    torch.manual_seed(seed)
    x, y = torch.randn(16, 2), torch.randint(0, 3, (16,))
    model = build_model(["x1", "x2", "x1*x2"], [5], "tanh", outputs=3, seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device=None, verbose=False,
                      callbacks=callbacks)
    return trainer, x, y


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_the_penalty_adds_its_gradient_to_the_weights_only_and_the_loss_stays_the_data_loss(kind):
    rate = 0.05
    trainer, x, y = one_batch_trainer([WeightPenalty(kind, rate)])
    # the data gradient, by hand, on a copy of the model as it is before the step
    before = copy.deepcopy(trainer.model)
    data_loss = F.cross_entropy(before(x), y)
    data_loss.backward()
    seen = {}
    trainer.on("backward",
               lambda _: seen.update({n: p.grad.clone() for n, p in trainer.model.named_parameters()}))
    record = trainer.step()
    assert record["loss"] == pytest.approx(data_loss.item(), rel=1e-6)
    for (name, parameter), (_, original) in zip(trainer.model.named_parameters(), before.named_parameters()):
        extra = seen[name] - original.grad
        if parameter.dim() > 1:
            term = torch.sign(original) if kind == "l1" else original.detach()
            torch.testing.assert_close(extra, rate * term, rtol=1e-5, atol=1e-7)
        else:
            assert float(extra.abs().max()) < 1e-7, name  # biases keep their data gradient
    assert all(bool((grad != 0).any()) for grad in seen.values())


def test_rate_zero_changes_nothing_and_the_rate_may_change_live():
    plain, _, _ = one_batch_trainer([])
    penalty = WeightPenalty("l1", 0.0)
    zero, _, _ = one_batch_trainer([penalty])
    plain.step()
    zero.step()
    assert all(torch.equal(a, b) for a, b in zip(plain.model.parameters(), zero.model.parameters()))
    penalty.rate = 0.5
    plain.step()
    zero.step()
    assert not torch.equal(plain.model[1].weight, zero.model[1].weight)


def penalised_weights(regularization):
    setup = build({"dataset": "gauss", "n": 200, "features": list(FEATURES), "hidden": [],
                   "regularization": regularization, "reg_rate": 0.03, "lr": 0.1})
    setup.trainer.fit(10)
    return torch.cat([p.detach().flatten() for p in setup.model.parameters() if p.dim() > 1])


def test_l1_drives_unneeded_weights_to_zero_and_l2_shrinks_them():
    band = 0.1 * 0.03  # one step of L1 at lr 0.1: weights it holds at zero stay within it
    free, l1, l2 = penalised_weights(None), penalised_weights("l1"), penalised_weights("l2")
    assert int((free.abs() <= band).sum()) == 0
    assert int((l1.abs() <= band).sum()) >= len(l1) // 2
    assert float(l2.norm()) < float(free.norm())


def test_penalty_settings_and_use_are_checked():
    with pytest.raises(ValueError, match="kind must be one of 'l1', 'l2'; got str 'l3'"):
        WeightPenalty("l3", 0.1)
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, inf\), got -0.1"):
        WeightPenalty("l1", -0.1)
    penalty = WeightPenalty("l2", 0.1)
    with pytest.raises(ValueError, match="rate must be a number"):
        penalty.rate = float("nan")
    assert penalty.rate == 0.1 and penalty.kind == "l2"
    with pytest.raises(RuntimeError, match="give it to a trainer"):
        penalty.on_backward({})
    one_batch_trainer([penalty])
    with pytest.raises(ValueError, match="already works for another trainer"):
        one_batch_trainer([penalty])
    assert repr(penalty) == "WeightPenalty('l2', rate=0.1)"


# --------------------------------------------------------------------------- one-hot squared error


def test_one_hot_mse_is_the_mean_squared_error_against_one_hot_targets():
    output = torch.tensor([[0.2, -0.5, 1.0], [0.0, 0.9, 0.1]])
    target = torch.tensor([2, 1])
    expected = ((output - torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])) ** 2).mean()
    assert torch.allclose(OneHotMSELoss(3)(output, target), expected)
    with pytest.raises(ValueError, match=r"expects outputs of shape \[N, 3\], got \[2, 2\]"):
        OneHotMSELoss(3)(output[:, :2], target)
    with pytest.raises(ValueError,
                       match=r"expects class indices of shape \[2\] \(int64\), got \[2\] of torch.float32"):
        OneHotMSELoss(3)(output, target.float())
    with pytest.raises(ValueError, match="expects class indices from 0 to 2, got values from 1 to 3"):
        OneHotMSELoss(3)(output, torch.tensor([3, 1]))
