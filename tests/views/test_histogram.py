"""SteppedHistogram: counts equal numpy's over the edges it gives, and the limits move only in steps."""

import numpy as np
import pytest
import torch

from widgets.views.axes import nice_limits
from widgets.views.histogram import BINS, SteppedHistogram, equal_bin_counts


def numpy_counts(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    flat = values.detach().numpy().astype(np.float32).ravel()
    return np.histogram(flat[np.isfinite(flat)], bins=edges)[0]


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (0.05, 0.0), (1e-5, 0.0), (3.0, 7.0), (1e-3, 1000.0)])
def test_counts_equal_numpys_histogram_over_the_edges_given(scale, offset):
    torch.manual_seed(0)
    values = torch.randn(128, 784) * scale + offset
    panel = SteppedHistogram().panel(values)
    assert panel.edges.dtype == np.float32 and panel.counts.dtype == np.float32
    assert panel.edges.shape == (BINS + 1,) and panel.counts.shape == (BINS,)
    assert np.all(np.diff(panel.edges) > 0), "the edges increase, even far from zero"
    assert np.array_equal(panel.counts, numpy_counts(values, panel.edges))
    assert panel.counts.sum() == values.numel(), "every value lands in a bin"
    assert panel.note == ""


def test_non_finite_values_are_left_out_and_none_at_all_is_a_note():
    values = torch.tensor([float("nan"), 1.0, 2.0, float("inf"), 2.5, -float("inf")])
    panel = SteppedHistogram().panel(values)
    assert panel.counts.sum() == 3 and np.array_equal(panel.counts, numpy_counts(values, panel.edges))
    nothing = SteppedHistogram().panel(torch.tensor([float("nan"), float("inf")]))
    assert nothing.empty and nothing.note == "no finite values" and len(nothing.edges) == 0


def test_limits_are_rounded_to_a_1_2_5_step_around_the_data():
    histogram = SteppedHistogram()
    panel = histogram.panel(torch.linspace(-1.0, 1.0, 1000))
    assert histogram.limits == (-2.0, 2.0)  # half the span of margin on each side, rounded to a step of 1
    assert panel.edges[0] == -2.0 and panel.edges[-1] == 2.0
    histogram.panel(torch.linspace(0.013, 0.021, 100))  # a sliver of the old limits: new ones around it
    low, high = histogram.limits
    assert low <= 0.013 and high >= 0.021 and high - low <= 0.05
    assert low == pytest.approx(round(low / 0.005) * 0.005) and high == pytest.approx(
        round(high / 0.005) * 0.005
    )


def test_all_zero_gradients_keep_the_limits():
    histogram = SteppedHistogram()
    first = histogram.panel(torch.zeros(64, 64))
    assert first.counts.sum() == 64 * 64
    for _ in range(3):
        again = histogram.panel(torch.zeros(64, 64))
        assert np.array_equal(again.edges, first.edges)


def test_a_range_that_shrinks_by_half_keeps_the_limits():
    histogram = SteppedHistogram()
    first = histogram.panel(torch.linspace(-1.0, 1.0, 1000))
    shrunk = histogram.panel(torch.linspace(-0.5, 0.5, 1000))
    assert np.array_equal(shrunk.edges, first.edges)
    assert shrunk.counts.sum() == 1000


def test_data_leaving_the_limits_or_filling_a_sliver_moves_them():
    histogram = SteppedHistogram()
    histogram.panel(torch.linspace(-1.0, 1.0, 1000))
    histogram.panel(torch.linspace(-5.0, 5.0, 1000))  # outside: new limits
    low, high = histogram.limits
    assert low <= -5.0 and high >= 5.0
    histogram.panel(torch.linspace(-0.01, 0.01, 1000))  # under a tenth of the width: they close in
    low, high = histogram.limits
    assert high - low < 1.0


def test_forgotten_limits_are_chosen_afresh():
    histogram = SteppedHistogram()
    histogram.panel(torch.linspace(-5.0, 5.0, 1000))
    histogram.panel(torch.linspace(-2.0, 2.0, 1000))
    assert histogram.limits == (-10.0, 10.0), "the wide limits still hold the narrower data"
    histogram.forget_limits()
    assert histogram.limits is None
    histogram.panel(torch.linspace(-2.0, 2.0, 1000))
    assert histogram.limits == (-4.0, 4.0)


def test_values_on_and_beside_the_edges_are_counted_as_numpy_counts_them():
    edges = np.linspace(-0.4, 0.4, BINS + 1).astype(np.float32)
    on_edges = np.concatenate([edges, np.nextafter(edges, np.float32(1)),
                               np.nextafter(edges, np.float32(-1))])
    on_edges = on_edges[(on_edges >= edges[0]) & (on_edges <= edges[-1])].astype(np.float32)
    assert np.array_equal(equal_bin_counts(on_edges, edges), np.histogram(on_edges, bins=edges)[0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        centre, spread = rng.uniform(-1000, 1000), 10 ** rng.uniform(-6, 2)
        values = (centre + spread * rng.standard_normal(10_000)).astype(np.float32)
        span = max(float(values.max() - values.min()), 1e-5 * abs(centre))
        low, high = nice_limits(float(values.min()) - 0.5 * span, float(values.max()) + 0.5 * span)
        edges = np.linspace(low, high, BINS + 1).astype(np.float32)
        assert np.array_equal(equal_bin_counts(values, edges), np.histogram(values, bins=edges)[0])
