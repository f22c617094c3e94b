"""curve_data: the loss curve's numbers as plain numpy (decimation, smoothing, series, axis ends), no drawing
code."""

import ast
from pathlib import Path

import numpy as np
import pytest

import widgets
from widgets.views.curve_data import (
    AXIS_ENDS,
    Decimator,
    MetricSeries,
    StepSeries,
    axis_end,
    decimate,
    loss_limits,
    metric_limits,
    metric_series,
    split_metric,
    step_x,
    tick_text,
)

PACKAGE = Path(widgets.__file__).resolve().parent


def imports_of(path: Path, package: str) -> set[str]:
    """Modules a file imports (relative ones resolved against `package`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            found.add(".".join(base + ([node.module] if node.module else [])))
    return found


def test_the_module_and_what_it_imports_load_no_drawing_code():
    seen, todo, drawing = set(), ["widgets.views.curve_data"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PACKAGE.parent.joinpath(*name.split(".")).with_suffix(".py")
        for module in imports_of(path, name.rpartition(".")[0]):
            if module.split(".")[0] in ("ipywidgets", "matplotlib", "IPython"):
                drawing.add((name, module))
            elif module.startswith("widgets."):
                todo.append(module)
    assert "widgets.views.axes" in seen  # the walk did follow the package's own imports
    assert not drawing, f"plain-data code imports drawing code: {sorted(drawing)}"


# --- decimation -------------------------------------------------------------------------

def test_decimation_keeps_ends_and_extremes_and_bounds_size():
    rng = np.random.default_rng(3)
    y = rng.normal(size=100_003).cumsum()
    rows = decimate(y, 200)
    assert rows[0] == 0 and rows[-1] == len(y) - 1
    assert y.argmin() in rows and y.argmax() in rows
    assert len(rows) <= 2 * 200 + 4
    assert np.all(np.diff(rows) > 0)
    # every run's extremes survive: the decimated min/max over any run equals the data's
    per_run = 1 << int(np.ceil(np.log2(len(y) / 200)))
    for start in range(0, len(y) - per_run, 37 * per_run):
        chosen = rows[(rows >= start) & (rows < start + per_run)]
        assert y[chosen].min() == y[start : start + per_run].min()
        assert y[chosen].max() == y[start : start + per_run].max()


def test_decimation_skips_non_finite_values_and_returns_short_input_whole():
    y = np.linspace(1.0, 2.0, 5000)
    y[1234] = np.nan
    y[2345] = np.inf
    y[3000] = -5.0
    rows = decimate(y, 50)
    assert 1234 not in rows and 2345 not in rows and 3000 in rows
    assert list(decimate(np.arange(10.0), 50)) == list(range(10))
    with pytest.raises(ValueError, match="at least one run"):
        decimate(y, 0)


def test_incremental_decimation_equals_a_fresh_one():
    rng = np.random.default_rng(4)
    y = rng.normal(size=60_000)
    decimator = Decimator()
    for end in (900, 5_000, 5_001, 17_777, 40_000, 60_000):
        assert np.array_equal(decimator.rows(y[:end], 150), decimate(y[:end], 150))
    # a replaced column (cleared and refilled) is detected
    z = rng.normal(size=60_000)
    assert np.array_equal(decimator.rows(z, 150), decimate(z, 150))


# --- smoothing and epoch columns ----------------------------------------------------------------

def test_smoothing_matches_the_debiased_moving_average_incrementally():
    rng = np.random.default_rng(5)
    values = rng.random(3000) + np.linspace(2, 0, 3000)
    values[10] = np.nan
    series = StepSeries(0.95)
    series.update(values[:1000])
    smoothed = series.update(values)
    state, weight, expected = 0.0, 0, []
    for value in values:
        if np.isfinite(value):
            state = 0.95 * state + 0.05 * value
            weight += 1
        else:  # a missing value repeats the previous loss
            state = 0.95 * state + 0.05 * values[9]
            weight += 1
        expected.append(state / (1 - 0.95**weight))
    np.testing.assert_allclose(smoothed, expected, rtol=1e-9)
    assert series.low == np.nanmin(values) and series.high == np.nanmax(values)


# --- series, x positions, axes ------------------------------------------------------------------

def test_metrics_are_split_into_name_and_split_with_the_trainers_first():
    assert split_metric("valid_acc") == ("acc", "valid")
    assert split_metric("train_f1") == ("f1", "train")
    assert split_metric("acc") == ("acc", "train")  # no prefix: a training metric, as Keras names them
    keys = ["epoch", "step", "train_loss", "valid_loss", "time", "f1", "valid_acc", "train_acc"]
    assert metric_series(keys, ["acc"], has_valid=True) == [
        MetricSeries("train_acc", "acc", "train"), MetricSeries("valid_acc", "acc", "valid"),
        MetricSeries("f1", "f1", "train")]
    assert [series.key for series in metric_series(keys)] == ["f1", "valid_acc", "train_acc"]
    assert metric_series(["epoch", "step", "train_loss"],
                         ["acc"]) == [MetricSeries("train_acc", "acc", "train")]


def test_steps_become_fractional_epochs():
    ends = np.array([10.0, 20.0])
    np.testing.assert_allclose(step_x(np.array([5, 10, 15, 20]), ends), [0.5, 1.0, 1.5, 2.0])
    # after the last finished epoch: the last epoch's length, or the trainer's steps per epoch
    np.testing.assert_allclose(step_x(np.array([25]), ends), [2.5])
    np.testing.assert_allclose(step_x(np.array([25]), ends, steps_per_epoch=5), [3.0])
    # no epoch finished yet: the steps so far count as one epoch
    np.testing.assert_allclose(step_x(np.array([2, 4, 8]), np.empty(0)), [0.25, 0.5, 1.0])


def test_the_axis_end_leaves_at_most_a_quarter_empty_and_changes_in_steps():
    highs = np.geomspace(0.013, 2.5e6, 4000)
    ends = np.array([axis_end(float(high)) for high in highs])
    assert np.all(ends >= highs * 1.02 * (1 - 1e-12))  # room for the last marker
    assert np.all((ends - highs) / ends <= 0.25)  # the empty part stays under a quarter
    assert np.all(np.diff(ends) >= 0)
    tenfold = (highs >= 100) & (highs < 1000)
    assert len(np.unique(ends[tenfold])) <= len(AXIS_ENDS) + 1  # few ends per decade: few background redraws
    assert axis_end(350) == 400 and axis_end(4) == 5 and axis_end(1000) == 1200
    with pytest.raises(ValueError, match="positive finite"):
        axis_end(0.0)


def test_loss_and_metric_limits():
    assert loss_limits(0.1, 2.0, log=False)[0] == 0.0  # near zero: the axis starts at 0
    low, high = loss_limits(0.95, 1.2, log=False)
    assert 0.5 < low <= 0.95 and 1.2 <= high < 1.5
    assert loss_limits(2e-4, 3.0, log=True) == (1e-4, 10.0)
    assert metric_limits(0.4, 0.97) == (0.0, 1.0)
    low, high = metric_limits(3.0, 42.0)
    assert low <= 3.0 and high >= 42.0


def test_tick_text_is_short_at_a_million_steps():
    assert [
        tick_text(v) for v in (0.0, -0.0, 0.5, 0.30000000000000004, 250, 1000, 2500, 120_000, 1_500_000, 2e9)
    ] == ["0", "0", "0.5", "0.3", "250", "1k", "2.5k", "120k", "1.5M", "2G"]
