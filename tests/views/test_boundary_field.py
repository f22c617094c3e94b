"""The boundary's plain data, driven directly: grid, codes, labels and captions, colours, epoch store."""

import numpy as np
import pytest
import torch

from widgets.views.boundary_field import (
    BoundaryFrame,
    Deferred,
    EpochStore,
    OutputCoder,
    are_probabilities,
    caption,
    class_colours,
    colour,
    data_bounds,
    diverging,
    frame_label,
    grid_points,
    lookup_table,
    misclassified,
    to_codes,
    value_codes,
)


def frame(epoch: int = 0) -> BoundaryFrame:
    return BoundaryFrame(codes=np.full((3, 3), epoch, dtype=np.uint8), predicted=np.zeros(1), scale=0.0,
                         epoch=epoch)


def test_bounds_widen_the_data_box_and_the_grid_runs_from_the_bottom_row():
    points = np.array([[0.0, 0.0], [2.0, 1.0]])
    assert data_bounds(points, 0.1) == pytest.approx((-0.2, 2.2, -0.1, 1.1))
    # never empty
    assert data_bounds(np.array([[1.0, 1.0]]), 0.5) == pytest.approx((0.999, 1.001, 0.999, 1.001))
    grid = grid_points((0.0, 2.0, -1.0, 1.0), 3)
    assert grid.dtype == torch.float32 and grid.shape == (9, 2)
    # row 0: the bottom, left to right
    assert grid[0].tolist() == [0.0, -1.0] and grid[2].tolist() == [2.0, -1.0]
    assert grid[-1].tolist() == [2.0, 1.0]
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        data_bounds(np.zeros((3, 3)), 0.1)
    with pytest.raises(ValueError, match="side"):
        grid_points((0, 1, 0, 1), 1)


def test_codes_round_and_clamp_and_probabilities_are_recognised():
    assert to_codes(torch.tensor([0.0, 0.5, 1.0, 1.5, -1.0])).tolist() == [0, 128, 255, 255, 0]
    assert are_probabilities(torch.tensor([[0.2, 0.8], [1.0, 0.0]]))
    assert not are_probabilities(torch.tensor([[0.2, 0.9]]))  # rows must sum to 1
    assert not are_probabilities(torch.tensor([[-1.0, 2.0]]))


def test_two_classes_code_p_class_1_as_softmax_does():
    logits = torch.randn(4 * 4 + 5, 2, generator=torch.Generator().manual_seed(0)) * 3
    coded = OutputCoder(2, 2).code(logits, 4, epoch=1)
    p1 = torch.softmax(logits, dim=1)[:, 1]
    expected = (p1[:16] * 255).round().to(torch.uint8).reshape(4, 4).numpy()
    assert coded.codes.dtype == np.uint8 and coded.codes.shape == (4, 4) and coded.resolution == 4
    # sigmoid(o1 - o0) is softmax's p1, up to rounding
    assert np.abs(coded.codes.astype(int) - expected).max() <= 1
    assert coded.predicted.tolist() == logits[16:].argmax(dim=1).tolist() and coded.label == "epoch 1"
    probabilities = torch.softmax(logits, dim=1)
    assert np.abs(OutputCoder(2, 2).code(probabilities, 4).codes.astype(int) - expected).max() <= 1


def test_more_classes_code_the_winner_and_its_confidence():
    output = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 9.0], [0.0, 4.0, 0.0],
                           [0.0, 0.0, 3.0]])
    coded = OutputCoder(3, 3).code(output, 2)
    assert coded.codes.shape == (2, 2, 2)
    assert coded.codes[0].ravel().tolist() == [0, 0, 2, 1]
    assert coded.codes[1].ravel()[1] == 0 and coded.codes[1].ravel()[2] > 250  # unsure: 0; sure: near 255
    assert coded.predicted.tolist() == [2]


def test_one_output_is_centred_on_its_threshold_and_its_scale_only_grows():
    logit = OutputCoder(1, 2)
    first = logit.code(torch.tensor([[-1.0], [0.0], [1.0], [2.0], [0.5]]), 2)
    # logits: threshold 0, scale a nice ceiling of the spread
    assert first.centre == 0.0 and first.scale == 2.0
    assert first.codes.ravel().tolist() == [64, 128, 191, 255] and first.predicted.tolist() == [1]
    smaller = logit.code(torch.full((5, 1), 0.1), 2)
    assert smaller.scale == 2.0  # the scale never shrinks, so epochs compare
    logit.reset()
    # 0.1 - 0: the spread; threshold 0.5 now
    assert logit.code(torch.full((5, 1), 0.1), 2).scale == pytest.approx(0.5)
    # probabilities
    assert OutputCoder(1, 2).code(torch.tensor([[0.2], [0.9], [0.5], [0.6], [0.4]]), 2).centre == 0.5


def test_a_regression_is_centred_on_its_targets_and_keeps_the_values():
    coder = OutputCoder(1, 2, targets=np.array([1.0, 3.0, 5.0]))
    assert coder.regression and coder.centre == 3.0 and coder.scale == 2.0
    coded = coder.code(torch.tensor([[3.0], [3.0], [3.0], [7.0], [4.25]]), 2)
    assert coded.scale == 5.0 and coded.codes.ravel()[3] == round(4 / 10 * 255 + 127.5)
    assert coded.predicted.dtype.kind == "f" and coded.predicted.tolist() == [4.25]  # the value, not a class
    assert value_codes(np.array([3.0, 8.0, -100.0]), 3.0, 5.0).tolist() == [128, 255, 0]
    with pytest.raises(ValueError, match="scale"):
        value_codes(np.zeros(1), 0.0, 0.0)


def test_lookup_tables_lighten_the_diverging_map_and_fade_classes_to_white():
    diverging = np.linspace(0, 1, 256)[:, None].repeat(3, axis=1)
    table = lookup_table(2, [], diverging, lightness=0.4)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert table[0].tolist() == [102, 102, 102] and table[255].tolist() == [255, 255, 255]
    colours = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
    classes = lookup_table(3, colours, diverging, lightness=0.4)
    assert classes.shape == (3, 256, 3)
    assert classes[1, 0].tolist() == [255, 255, 255] and classes[1, 255].tolist() == [102, 255, 102]
    codes = np.array([[[0, 2]], [[255, 255]]], dtype=np.uint8)  # (class, confidence)
    assert colour(codes, classes)[0, 0].tolist() == classes[0, 255].tolist()
    assert colour(codes, classes)[0, 1].tolist() == classes[2, 255].tolist()
    assert colour(np.array([[0, 255]], dtype=np.uint8),
                  table).tolist() == [[table[0].tolist(), table[255].tolist()]]
    with pytest.raises(ValueError, match="256 RGB rows"):
        lookup_table(2, [], diverging[:10])


def test_epoch_store_keeps_the_first_every_stride_th_and_the_newest():
    store = EpochStore(keep=8)
    evaluated = []
    for epoch in range(1, 33):
        if store.wants(epoch):
            evaluated.append(epoch)
            store.add(epoch, frame(epoch))
        assert len(store) <= 8
    assert store.epochs == [1, 8, 16, 24, 32] and store.stride == 8
    assert len(evaluated) < 32 and 9 not in evaluated  # epochs off the stride are not worth evaluating
    assert store[16].label == "epoch 16" and list(store) == store.epochs and 16 in store
    assert store.at_or_before(23) == 16 and store.at_or_before(0) is None and store.newest == 32
    store.add(35, frame(35))  # a run that stopped off the stride keeps its last epoch...
    assert store.epochs == [1, 8, 16, 24, 32, 35]
    store.add(36, frame(36))  # ...until a newer one comes
    assert store.epochs == [1, 8, 16, 24, 32, 36]
    store.clear()
    assert len(store) == 0 and store.stride == 1 and store.wants(7)


def test_a_deferred_epoch_is_computed_once_when_first_read_and_thinned_unread():
    store = EpochStore(keep=2)
    computed = []

    def later(epoch: int) -> Deferred:
        return Deferred(lambda: computed.append(epoch) or frame(epoch))

    store.add(1, later(1))
    store.add(2, later(2))
    assert store.epochs == [1, 2] and not store.computed(1) and computed == []  # keeping computes nothing
    version = store.version
    assert store[1].label == "epoch 1" and store[1] is store[1] and store.computed(1) and computed == [1]
    assert store.version == version + 1  # computing it counts as a change, reading it again does not
    store.add(3, later(3))  # past `keep`: epoch 2 is thinned away without ever being computed
    assert store.epochs == [1, 3] and computed == [1] and not store.computed(3) and not store.computed(7)
    assert [f.label for f in store.values()] == ["epoch 1", "epoch 3"] and computed == [1, 3]


def test_a_long_run_keeps_between_half_and_all_of_keep_spread_over_it():
    store = EpochStore(keep=100)
    for epoch in range(1, 151):
        if store.wants(epoch):
            store.add(epoch, frame(0))
    if 150 not in store:
        store.add(150, frame(0))  # the last epoch, kept when the run stops
    epochs = store.epochs
    assert 50 <= len(epochs) <= 100 and epochs[0] == 1 and epochs[-1] == 150
    assert max(np.diff(epochs)) <= 2  # evenly spread, no hole


def test_a_planned_run_is_strided_from_its_start_and_evaluates_only_what_it_keeps():
    store = EpochStore(keep=64)
    store.plan(1, 150)  # fit(150) from a fresh trainer
    evaluated = [
        epoch for epoch in range(1, 151) if store.wants(epoch) and not store.add(epoch, frame(epoch))
    ]
    assert store.epochs == evaluated  # nothing evaluated was thinned away later
    assert len(evaluated) == 51 and evaluated[:3] == [1, 3, 6] and evaluated[-1] == 150
    store.plan(151, 160)  # a short run after it keeps the stride: the store never grows denser than it was
    assert store.stride == 3
    with pytest.raises(TypeError, match="first and last must be ints"):
        store.plan(1, 150.0)


def test_epoch_store_refuses_bad_input():
    with pytest.raises(ValueError, match="keep must be an int of at least 2"):
        EpochStore(1)
    with pytest.raises(ValueError, match="epoch must be a non-negative int"):
        EpochStore(4).add(-1, frame())


def test_labels_captions_and_what_the_page_gets_besides_the_codes():
    assert (
        frame_label(12, -1) == "epoch 12"
        and frame_label(3, 40) == "epoch 3, step 40"
        and frame_label(-1, -1) == ""
    )
    at_end = BoundaryFrame(codes=np.zeros((4, 4), np.uint8), predicted=np.array([0, 1, 1]), scale=2.0,
                           centre=0.5, epoch=7)
    assert at_end.label == "epoch 7" and at_end.resolution == 4 and at_end.nbytes == 16 + 3 * 8
    assert at_end.info.dtype == np.float64 and at_end.info.tolist() == [7, -1, 0.5, 2.0]
    assert caption(at_end, 2) == "epoch 7" and caption(at_end, 1) == "epoch 7  (0.5 ± 2)"
    assert caption(BoundaryFrame(np.zeros((2, 2), np.uint8), np.zeros(0), 1.0), 1) == "(0 ± 1)"
    assert misclassified(at_end, np.array([0, 0, 1]), regression=False).tolist() == [False, True, False]
    assert misclassified(at_end, np.array([0, 0, 1]), regression=True).tolist() == [False, False, False]


def test_colours_match_the_shared_style_without_loading_matplotlib():
    from matplotlib import colormaps

    from widgets.views import style

    for classes in (1, 2, 3, 10, 11, 25):
        assert np.allclose(class_colours(classes), style.class_colours(classes), atol=1 / 255), classes
    assert (
        np.abs(diverging(0.15, 0.85) - colormaps["RdBu_r"](np.linspace(0.15, 0.85, 256))[:, :3]).max() < 1e-6
    )
    assert np.abs(diverging() - colormaps["RdBu_r"](np.linspace(0, 1, 256))[:, :3]).max() < 1e-6
    with pytest.raises(ValueError, match="classes must be an int of at least 1"):
        class_colours(0)
