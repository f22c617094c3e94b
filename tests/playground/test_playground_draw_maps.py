"""The Playground's unit maps: the grid over the plane, one map per unit, their names, the weights."""

import pytest
import torch
from playground_nets import Plain, Squares, network, set_linear
from torch import nn

from widgets.playground.maps import layer_weights, plane_grid, unit_maps, unit_names


def test_plane_grid_runs_from_the_top_left_over_pixel_centres():
    grid = plane_grid(4, plane=(-2.0, 2.0))
    assert grid.shape == (16, 2) and grid.dtype == torch.float32
    rows = grid.reshape(4, 4, 2)
    assert torch.equal(rows[0, :, 0], torch.tensor([-1.5, -0.5, 0.5, 1.5]))  # x1 grows along a row
    assert torch.equal(rows[:, 0, 1], torch.tensor([1.5, 0.5, -0.5, -1.5]))  # row 0 holds the largest x2
    assert torch.equal(rows[:, :, 0], rows[0:1, :, 0].expand(4, 4))


@pytest.mark.parametrize("resolution", [0, -3, 2.5, True, "10"])
def test_plane_grid_refuses_a_bad_resolution(resolution):
    with pytest.raises(ValueError, match="resolution must be a positive int"):
        plane_grid(resolution)


@pytest.mark.parametrize("plane", [(1.0, 1.0), (2.0, -2.0), (float("nan"), 1.0), (0.0,), "ab"])
def test_plane_grid_refuses_a_bad_plane(plane):
    with pytest.raises(ValueError, match="plane must be"):
        plane_grid(8, plane=plane)


def test_unit_maps_give_one_map_per_unit_per_column():
    torch.manual_seed(0)
    model = network(Squares(), [3, 5], 2)
    maps = unit_maps(model, plane_grid(6))
    assert [tuple(m.shape) for m in maps] == [(4, 6, 6), (3, 6, 6), (5, 6, 6), (2, 6, 6)]
    grid = plane_grid(6).reshape(6, 6, 2)
    assert torch.equal(maps[0][0], grid[:, :, 0]) and torch.equal(maps[0][3], grid[:, :, 1] ** 2)


def test_unit_maps_hold_each_layers_activations_and_the_raw_output():
    torch.manual_seed(1)
    model = network(Plain(), [4], 3, activation=nn.ReLU)
    grid = plane_grid(5)
    maps = unit_maps(model, grid)
    hidden = torch.relu(grid @ model[1].weight.T + model[1].bias)
    assert torch.allclose(maps[1], hidden.T.reshape(4, 5, 5), atol=1e-6)
    with torch.no_grad():
        output = model(grid)
    assert torch.allclose(maps[2], output.T.reshape(3, 5, 5), atol=1e-6)


def test_unit_maps_leave_the_random_state_the_weights_and_the_modes_alone():
    torch.manual_seed(2)
    model = network(Squares(), [8, 8], 2, dropout=0.5)
    model.train()
    model[3].eval()  # one module in another mode than the rest: it must stay so
    modes = [m.training for m in model.modules()]
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    first = unit_maps(model, plane_grid(10))
    second = unit_maps(model, plane_grid(10))
    assert torch.equal(torch.get_rng_state(), rng)
    assert [m.training for m in model.modules()] == modes
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    assert all(torch.equal(a, b) for a, b in zip(first, second))  # dropout off: the same maps every time


def test_unit_maps_restore_the_modes_when_the_forward_pass_fails():
    class Broken(nn.Module):
        names = ["x1", "x2"]

        def forward(self, x):
            raise RuntimeError("broken features")

    model = network(Broken(), [2], 2)
    model.train()
    with pytest.raises(RuntimeError, match="broken features"):
        unit_maps(model, plane_grid(3))
    assert all(m.training for m in model.modules())


def test_unit_names_follow_the_columns():
    model = network(Squares(), [2, 3], 2)
    assert unit_names(model) == [["x1", "x2", "x1^2", "x2^2"], ["h1.0", "h1.1"], ["h2.0", "h2.1", "h2.2"],
                                 ["class 0", "class 1"]]
    assert unit_names(model, classes=["inside", "outside"])[-1] == ["inside", "outside"]
    assert unit_names(network(Plain(), [], 1)) == [["x1", "x2"], ["out"]]
    with pytest.raises(ValueError, match="classes must name the 2 outputs, got 3"):
        unit_names(model, classes=["a", "b", "c"])


def test_layer_weights_copy_each_linear():
    model = network(Plain(), [3], 2)
    set_linear(model[1], [[1, 2], [3, 4], [5, 6]])
    weights = layer_weights(model)
    assert [w.shape for w in weights] == [(3, 2), (2, 3)]
    assert weights[0].tolist() == [[1, 2], [3, 4], [5, 6]]
    weights[0][:] = 0
    assert model[1].weight[0, 1].item() == 2.0


@pytest.mark.parametrize("model, message", [
    (nn.Linear(2, 2), "must be an nn.Sequential"),
    (nn.Sequential(nn.Identity(), nn.Linear(2, 2)), r"model\[0\] must be the features module with .names"),
    (nn.Sequential(Plain(), nn.Linear(2, 4), nn.Softmax(dim=1), nn.Linear(4, 2)),
     r"model\[2\] must be an activation.*Softmax"),
    (nn.Sequential(Plain(), nn.Linear(2, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2)),
     r"model\[3\] must be nn.Linear"),
    (nn.Sequential(Plain(), nn.Linear(3, 2)), r"model\[1\] takes 3 inputs, but the column before it has 2"),
    # tanh may end it
    (nn.Sequential(Plain(), nn.Linear(2, 4), nn.ReLU()), "must end with the output nn.Linear"),
])
def test_unit_maps_name_what_is_wrong_with_a_model(model, message):
    with pytest.raises(ValueError, match=message):
        unit_maps(model, plane_grid(4))
    with pytest.raises(ValueError, match=message):
        unit_names(model)


@pytest.mark.parametrize("grid, message", [
    (torch.zeros(16, 3), r"grid must be a float tensor \[R \* R, 2\]"),
    (torch.zeros(16, 2, dtype=torch.int64), "grid must be a float tensor"),
    (torch.zeros(15, 2), "square number of points"),
    ([[0.0, 0.0]], "grid must be a float tensor"),
])
def test_unit_maps_refuse_a_bad_grid(grid, message):
    with pytest.raises(ValueError, match=message):
        unit_maps(network(Plain(), [2], 2), grid)


def test_unit_maps_refuse_features_that_disagree_with_their_names():
    class Short(nn.Module):
        names = ["x1", "x2"]

        def forward(self, x):
            return x[:, :1]

    with pytest.raises(ValueError, match=r"features module must make \[N, 2\].*got \[9, 1\]"):
        unit_maps(network(Short(), [2], 2), plane_grid(3))
