"""ModuleInspector on a bare model: the tree, the numbers, what each message carries, the still, bad input;
and summary()."""

import numpy as np
import pytest
import torch
from IPython.core.formatters import DisplayFormatter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from tests.frames import decode
from widgets.views.inspect import DEFAULT_SIZE, MIN_SIZE, InspectorState, ModuleInspector, summary
from widgets.views.inspector_still import set_fitted_title
from widgets.views.module_tree import module_rows
from widgets.views.pacer import Pacer
from widgets.views.style import SPLIT_COLOURS

TRAIN_BLUE = np.array([int(SPLIT_COLOURS["train"][i: i + 2], 16) for i in (1, 3, 5)])


def spiral_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 2)
    )


def mnist_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def backward(model: nn.Module, inputs: int = 2) -> None:
    nn.functional.cross_entropy(model(torch.randn(8, inputs)), torch.randint(0, 2, (8,))).backward()


class SpiralNet(nn.Module):
    """Named children, as the R lesson's nn_spiral_net."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3, self.fc4 = (
            nn.Linear(2, 64),
            nn.Linear(64, 64),
            nn.Linear(64, 64),
            nn.Linear(64, 2),
        )
        self.relu = nn.ReLU()


class SimpleLinear(nn.Module):
    """Parameters and a buffer registered on the module itself."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(1))
        self.b = nn.Parameter(torch.randn(1))
        self.register_buffer("scale", torch.ones(3))


def numpy_counts(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    return np.histogram(values.detach().numpy().astype(np.float32).ravel(), bins=edges)[0].astype(np.float32)


def sent_channels(inspector: ModuleInspector) -> dict[str, tuple[str, int]]:
    """What the next message would carry: {channel: (op, bytes)}."""
    described, buffers = inspector.picture.changes()
    return {change["name"]: (change["op"], len(buffer)) for change, buffer in zip(described, buffers)}


def blue(png: bytes) -> np.ndarray:
    """Where a decoded still shows the training colour (the bars)."""
    return (np.abs(decode(png) - TRAIN_BLUE).sum(axis=2) < 40)


# --- summary and the tree ---------------------------------------------------------------------

def test_summary_counts_like_r_torch():
    text = summary(SpiralNet())
    lines = text.splitlines()
    assert lines[0] == "An nn.Module containing 8,642 parameters."
    assert [line.split()[:3] for line in lines[3:]] == [
        ["fc1", "Linear", "192"],
        ["fc2", "Linear", "4,160"],
        ["fc3", "Linear", "4,160"],
        ["fc4", "Linear", "130"],
        ["relu", "ReLU", "0"],
    ]
    assert summary(mnist_mlp()).splitlines()[0] == "An nn.Module containing 109,386 parameters."
    assert summary(spiral_mlp()).startswith("An nn.Module containing 8,642 parameters.")


def test_summary_shows_frozen_split_and_own_tensors():
    model = mnist_mlp()
    model[1].requires_grad_(False)
    text = summary(model)
    assert (
        text.splitlines()[0]
        == "An nn.Module containing 109,386 parameters (8,906 trainable, 100,480 frozen)."
    )
    assert "100,480 parameters (frozen)" in text
    own = summary(SimpleLinear())
    assert own.splitlines()[0] == "An nn.Module containing 2 parameters."
    assert "Parameters:" in own and "a  float32 [1]" in own
    assert "Buffers:" in own and "scale  float32 [3]" in own


def test_tree_rows_count_own_and_total_parameters_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.Sequential(shared, nn.BatchNorm1d(4)))
    rows = {row.name: row for row in module_rows(model)}
    assert rows[""].total_params == 20 + 8  # the shared layer counted once
    assert rows[""].own_params == 0 and rows["0"].own_params == 20
    assert rows["1"].depth == 1 and rows["1.1"].depth == 2
    assert rows["1.1"].buffer_shapes == (("running_mean", (4,)), ("running_var", (4,)),
                                         ("num_batches_tracked", ()))
    assert rows["0"].param_shapes == (("weight", (4, 4)), ("bias", (4,)))
    shared.weight.requires_grad_(False)
    assert {row.name: row.trainable for row in module_rows(model)}["0"] == "mixed"


def test_widget_shows_the_tree_and_the_total():
    model = spiral_mlp()
    inspector = ModuleInspector(model)
    html = inspector.tree_html
    assert "8,642 parameters" in html
    assert html.count("<tr>") == 1 + 8  # header, root and seven layers
    assert "weight [64, 2], bias [64]" in html
    assert str(inspector) == inspector.summary() == summary(inspector.model)
    model[0].requires_grad_(False)
    inspector.refresh_tree()
    assert "(8,450 trainable, 192 frozen)" in inspector.tree_html


def test_numbers_match_the_tensors():
    model = mnist_mlp()
    backward(model, 784)
    inspector = ModuleInspector(model)
    stats = inspector.stats()
    assert list(stats) == [name for name, _ in model.named_parameters()]
    for name, param in model.named_parameters():
        values = param.detach().numpy().astype(np.float64)
        assert stats[name].mean == pytest.approx(values.mean(), abs=1e-6)
        assert stats[name].std == pytest.approx(values.std(ddof=1), rel=1e-4)
        assert stats[name].grad_norm == pytest.approx(
            np.linalg.norm(param.grad.numpy().astype(np.float64)), rel=1e-5
        )
        assert stats[name].update is None
    assert f"{stats['3.weight'].std:.4g}" in inspector.stats_html
    assert "not measured yet" in inspector.stats_html


# --- what the picture is sent -------------------------------------------------------------------

def test_the_first_message_carries_edges_and_counts_of_both_panels():
    model = spiral_mlp()
    backward(model)
    inspector = ModuleInspector(model, parameter="2.weight")
    picture = inspector.picture
    assert picture.kind == "histogram" and (picture.width, picture.height) == DEFAULT_SIZE
    assert picture.messages_sent == 1 and picture.bytes_sent == 2 * (41 + 40) * 4, "a few hundred bytes"
    weight = model[2].weight
    for panel, tensor in (("values", weight), ("gradient", weight.grad)):
        edges, counts = picture.channel(f"{panel}:edges"), picture.channel(f"{panel}:counts")
        assert edges.dtype == counts.dtype == np.float32 and edges.shape == (41,) and counts.shape == (40,)
        assert np.array_equal(counts, numpy_counts(tensor, edges))
        stored = picture.data[f"{panel}:counts"]  # what a page opened later, or a saved notebook, shows
        assert np.array_equal(np.frombuffer(stored["buffer"], np.float32), counts)
    assert picture.options["name"] == "2.weight"
    assert picture.options["notes"] == {"values": "", "gradient": ""}


def test_a_round_sends_only_what_changed():
    model = spiral_mlp()
    inspector = ModuleInspector(model, pacer=Pacer(fps=0.001), parameter="2.weight")
    assert sent_channels(inspector) == {}
    inspector.collect()
    assert sent_channels(inspector) == {}, "nothing changed: nothing to send"
    with torch.no_grad():
        model[2].weight.mul_(0.9)  # inside the limits: new counts, the same edges
    inspector.collect()
    assert sent_channels(inspector) == {"values:counts": ("set", 160)}
    inspector.update()
    assert np.array_equal(inspector.picture.channel("values:counts"), numpy_counts(model[2].weight,
                                                                                     inspector.picture.channel("values:edges")))
    with torch.no_grad():
        model[2].weight.mul_(7.0)  # out of the limits: new edges too
    inspector.collect()
    assert sent_channels(inspector) == {"values:counts": ("set", 160), "values:edges": ("set", 164)}


def test_the_gradient_panel_has_a_note_until_there_is_a_gradient():
    model = spiral_mlp()
    inspector = ModuleInspector(model)
    assert inspector.picture.options["notes"]["gradient"] == "no gradient yet"
    assert len(inspector.picture.channel("gradient:counts")) == 0
    only_values = blue(inspector.snapshot_png())
    middle = only_values.shape[1] // 2
    assert only_values[:, :middle].sum() > 200 and only_values[:, middle:].sum() == 0
    backward(model)
    inspector.update()
    assert inspector.picture.options["notes"]["gradient"] == ""
    edges = inspector.picture.channel("gradient:edges")
    assert np.array_equal(inspector.picture.channel("gradient:counts"),
                          numpy_counts(model[0].weight.grad, edges))
    both = blue(inspector.snapshot_png())
    assert both[:, :middle].sum() > 200 and both[:, middle:].sum() > 200


def test_select_sends_the_chosen_tensor_at_once():
    model = spiral_mlp()
    backward(model)
    inspector = ModuleInspector(model)
    sent = inspector.picture.messages_sent
    inspector.select("6.bias")
    assert inspector.parameter == "6.bias" and inspector.picture.messages_sent == sent + 1
    assert inspector.picture.options["name"] == "6.bias"
    for panel, tensor in (("values", model[6].bias), ("gradient", model[6].bias.grad)):
        edges = inspector.picture.channel(f"{panel}:edges")
        assert np.array_equal(inspector.picture.channel(f"{panel}:counts"), numpy_counts(tensor, edges))
        assert np.array_equal(np.frombuffer(inspector.picture.data[f"{panel}:edges"]["buffer"], np.float32),
                              edges)


def test_the_dropdown_the_learner_uses_sends_too():
    inspector = ModuleInspector(spiral_mlp())
    dropdown = next(
        c for c in inspector.widget.children if "lt-inspector-choice" in c.get_state()["_dom_classes"]
    )
    dropdown.value = "4.weight"  # what the page's dropdown does
    assert inspector.parameter == "4.weight" and inspector.picture.options["name"] == "4.weight"
    assert inspector.frame_state().name == "4.weight"


# --- the still ------------------------------------------------------------------------------------

def test_frame_state_is_what_the_page_was_sent():
    model = spiral_mlp()
    backward(model)
    inspector = ModuleInspector(model)
    state = inspector.frame_state()
    assert isinstance(state, InspectorState) and state.name == "0.weight"
    for panel in ("values", "gradient"):
        shown = getattr(state, panel)
        assert np.array_equal(shown.edges, inspector.picture.channel(f"{panel}:edges"))
        assert np.array_equal(shown.counts, inspector.picture.channel(f"{panel}:counts"))
    assert state.nbytes < 1000, "a frame kept while recording is small"


def test_the_still_shows_the_bars_and_follows_the_weights():
    model = spiral_mlp()
    backward(model)
    inspector = ModuleInspector(model)
    png = inspector.snapshot().data
    image = decode(png)
    assert image.shape[:2] == (DEFAULT_SIZE[1], DEFAULT_SIZE[0])
    with torch.no_grad():  # 8 values at the middle of each of 16 bins 0.1 wide: bars of one height
        model[0].weight.copy_(torch.arange(-0.75, 0.8, 0.1).repeat_interleave(8).reshape(64, 2))
    assert inspector.frame_state().values.counts.max() == 8
    flat = blue(inspector.snapshot_png())
    left = flat[:, : flat.shape[1] // 2]
    columns = np.flatnonzero(left.any(axis=0))
    heights = left[:, columns].sum(axis=0)
    assert len(columns) > 40 and heights.max() - heights.min() <= 1, (
        "evenly spread values: bars of one height"
    )
    assert not np.array_equal(decode(png), decode(inspector.snapshot_png()))


def test_the_still_cuts_a_title_too_wide_at_the_front():
    figure = Figure(figsize=(2.0, 1.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    set_fitted_title(axes, "encoder_block_with_a_long_name.0.0.weight values")
    title = axes.get_title()
    assert title.startswith("…") and title.endswith(".weight values")
    renderer = figure.canvas.get_renderer()
    assert axes.title.get_window_extent(renderer).width <= axes.get_window_extent(renderer).width
    set_fitted_title(axes, "0.bias values")
    assert axes.get_title() == "0.bias values"


def test_a_model_without_parameters_is_shown():
    inspector = ModuleInspector(nn.ReLU())
    assert "0 parameters" in inspector.tree_html
    assert inspector.stats() == {} and inspector.parameter is None
    assert inspector.picture.options["notes"]["values"] == "no parameters"
    assert not blue(inspector.snapshot_png()).any()


def test_repr_stable_css_classes_and_the_still_beside_the_widget():
    first, second = ModuleInspector(spiral_mlp()), ModuleInspector(mnist_mlp())
    assert repr(first) == repr(second) == "ModuleInspector()"
    assert "lt-module-inspector" in first.widget.get_state()["_dom_classes"]  # what the browser gets
    assert "lt-module-inspector-picture" in first.picture.get_state()["_dom_classes"]
    bundle, _ = DisplayFormatter().format(first)  # what a notebook stores, and nbval compares
    assert bundle["text/plain"] == "ModuleInspector()"
    assert "image/png" in bundle


# --- bad input -------------------------------------------------------------------------------------

def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="torch.nn.Module or a Trainer, got dict"):
        ModuleInspector({"weight": torch.ones(2)})
    with pytest.raises(TypeError, match="got str"):
        summary("model")
    with pytest.raises(ValueError, match="no parameter named 'nope'"):
        ModuleInspector(spiral_mlp(), parameter="nope")
    with pytest.raises(TypeError, match="pacer must be a widgets.views.Pacer or None, got int"):
        ModuleInspector(spiral_mlp(), pacer=20)
    with pytest.raises(ValueError, match=r"size must be at least \(360, 140\) pixels .* got \(300, 220\)"):
        ModuleInspector(spiral_mlp(), size=(300, 220))
    with pytest.raises(TypeError, match="size must be .width, height. in pixels, got 'big'"):
        ModuleInspector(spiral_mlp(), size="big")
    assert ModuleInspector(spiral_mlp(), size=MIN_SIZE).picture.width == MIN_SIZE[0]


def test_a_bad_choice_changes_nothing():
    inspector = ModuleInspector(spiral_mlp())
    sent, options = inspector.picture.messages_sent, dict(inspector.picture.options)
    with pytest.raises(ValueError, match=r"no parameter named 'x'; the model has \['0.weight', '0.bias'"):
        inspector.select("x")
    assert inspector.parameter == "0.weight"
    assert inspector.picture.messages_sent == sent and inspector.picture.options == options
