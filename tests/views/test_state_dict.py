"""StateDictInspector and the state_dict diff: keys, kinds, bytes, snapshot, diff, errors."""

import copy

import pytest
import torch
from torch import nn

from widgets.views.state_dict import StateDictInspector
from widgets.views.state_diff import diff_states, max_abs_change


def spiral_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 2)
    )


def with_batchnorm() -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def train_one_step(model: nn.Module, lr: float = 0.1) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.randn(16, model[0].in_features), torch.randint(0, 2, (16,))
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


def test_entries_from_a_model_know_parameters_and_buffers():
    model = with_batchnorm()
    entries = {e.key: e for e in StateDictInspector(model).entries()}
    assert list(entries) == list(model.state_dict())
    assert entries["0.weight"].kind == "parameter"
    assert entries["1.running_mean"].kind == "buffer"
    assert entries["1.num_batches_tracked"].dtype == "int64"
    assert entries["0.weight"].shape == (4, 3)
    assert entries["0.weight"].device == "cpu"
    assert entries["0.weight"].nbytes == 4 * 3 * 4
    assert entries["1.num_batches_tracked"].nbytes == 8


def test_entries_from_a_bare_state_dict_do_not_guess_the_kind():
    inspector = StateDictInspector(with_batchnorm().state_dict())
    assert {e.kind for e in inspector.entries()} == {"tensor"}


def test_total_bytes_and_text():
    model = spiral_mlp()
    inspector = StateDictInspector(model)
    expected = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert inspector.total_bytes == expected == 8642 * 4
    text = str(inspector)
    assert text.startswith(f"A state_dict of 8 tensors, {expected:,} B")
    assert "4.weight  [64, 64]" in text and "parameter" in text
    assert "34,568 B" in inspector.table_html


def test_diff_after_a_training_step_reports_the_max_abs_change():
    model = spiral_mlp()
    inspector = StateDictInspector(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inspector.snapshot()
    train_one_step(model)
    result = inspector.diff()
    assert result.equal == []
    assert set(result.changed) == set(before)
    for key, change in result.changed.items():
        expected = (model.state_dict()[key] - before[key]).abs().max().item()
        assert change == pytest.approx(expected, rel=1e-6)
        assert change > 0
    assert result.max_change == pytest.approx(max(result.changed.values()))
    assert inspector.last_diff is result
    assert "changed" in inspector.diff_html and "8 changed, 0 equal" in str(inspector)


def test_load_state_dict_restores_exactly_all_zero_change():
    model = spiral_mlp()
    inspector = StateDictInspector(model)
    saved = copy.deepcopy(model.state_dict())
    inspector.snapshot()
    train_one_step(model)
    assert not inspector.diff().identical
    model.load_state_dict(saved)
    result = inspector.diff()
    assert result.identical
    assert result.changed == {} and len(result.equal) == 8 and result.max_change == 0.0
    assert str(result).startswith("All 8 tensors equal to the snapshot (max abs change 0)")
    assert inspector.diff(saved).identical


def test_diff_reports_missing_unexpected_and_mismatched_keys():
    model = spiral_mlp()
    inspector = StateDictInspector(model)
    other = copy.deepcopy(model.state_dict())
    del other["6.bias"]
    other["extra.weight"] = torch.zeros(3)
    other["0.weight"] = torch.zeros(64, 3)
    other["0.bias"] = other["0.bias"].double()
    result = inspector.diff(other)
    assert result.unexpected == ["6.bias"]
    assert result.missing == ["extra.weight"]
    assert "shape [64, 2] now, [64, 3]" in result.mismatched["0.weight"]
    assert "dtype float32 now, float64" in result.mismatched["0.bias"]
    assert not result.identical
    text = str(result)
    assert "missing     extra.weight" in text and "unexpected  6.bias" in text and "mismatch" in text
    assert (
        "6.bias" in inspector.diff_html and "unexpected (not in the other state_dict)" in inspector.diff_html
    )


def test_diff_without_snapshot_is_a_clear_error_and_changes_nothing():
    inspector = StateDictInspector(spiral_mlp())
    with pytest.raises(RuntimeError, match=r"call snapshot\(\) first"):
        inspector.diff()
    assert not inspector.has_snapshot and inspector.last_diff is None and inspector.diff_html == ""
    inspector.snapshot()
    assert inspector.diff().identical


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="got list"):
        StateDictInspector([1, 2])
    with pytest.raises(TypeError, match="'model' holds a dict"):
        StateDictInspector({"model": {}})
    inspector = StateDictInspector(spiral_mlp())
    inspector.snapshot()
    with pytest.raises(TypeError, match="got int"):
        inspector.diff(3)
    assert inspector.diff().identical  # the failed call left the snapshot alone


def test_snapshot_is_a_copy_not_a_view():
    model = spiral_mlp()
    inspector = StateDictInspector(model)
    copy_ = inspector.snapshot()
    with torch.no_grad():
        model[0].bias.add_(1.0)
    assert not torch.equal(copy_["0.bias"], model[0].bias)
    assert inspector.diff().changed == {"0.bias": pytest.approx(1.0)}


def test_max_abs_change_handles_integers_and_nans():
    assert max_abs_change(torch.tensor([1, 5]), torch.tensor([1, 2])) == 3.0
    nan = float("nan")
    assert max_abs_change(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.5])) == 0.5
    assert max_abs_change(torch.tensor([nan, 1.0]), torch.tensor([nan, 1.0])) == 0.0
    assert max_abs_change(torch.tensor([nan]), torch.tensor([0.0])) != max_abs_change(
        torch.tensor([0.0]), torch.tensor([0.0])
    )
    assert diff_states({"a": torch.ones(2)}, {"a": torch.ones(2)}).identical


def test_repr_is_stable_and_css_class_set():
    first, second = StateDictInspector(spiral_mlp()), StateDictInspector(spiral_mlp())
    assert repr(first) == repr(second) == "StateDictInspector(model)"
    assert repr(StateDictInspector({"w": torch.ones(1)})) == "StateDictInspector(state_dict)"
    assert "lt-state-dict" in first.get_state()["_dom_classes"]  # what the browser gets
