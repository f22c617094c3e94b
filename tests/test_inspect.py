"""ModuleInspector on a bare model, and the plain-text summary."""

import io

import numpy as np
import pytest
import torch
from IPython.core.formatters import DisplayFormatter
from PIL import Image
from torch import nn

from tests.frames import decode
from widgets.views.inspect import MIN_FIGSIZE, ModuleInspector, summary
from widgets.views.module_tree import module_rows
from widgets.views.style import FONT_SIZE, SPLIT_COLOURS, TITLE_SIZE


def spiral_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )


def mnist_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


class SpiralNet(nn.Module):
    """Named children, as the R lesson's nn_spiral_net."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3, self.fc4 = nn.Linear(2, 64), nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 2)
        self.relu = nn.ReLU()


class SimpleLinear(nn.Module):
    """Parameters and a buffer registered on the module itself."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.randn(1))
        self.b = nn.Parameter(torch.randn(1))
        self.register_buffer("scale", torch.ones(3))


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


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
    assert text.splitlines()[0] == "An nn.Module containing 109,386 parameters (8,906 trainable, 100,480 frozen)."
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
    assert rows["1.1"].buffer_shapes == (("running_mean", (4,)), ("running_var", (4,)), ("num_batches_tracked", ()))
    assert rows["0"].param_shapes == (("weight", (4, 4)), ("bias", (4,)))
    shared.weight.requires_grad_(False)
    assert {row.name: row.trainable for row in module_rows(model)}["0"] == "mixed"


def test_widget_shows_the_tree_and_the_total():
    inspector = ModuleInspector(spiral_mlp())
    html = inspector.tree_html
    assert "8,642 parameters" in html
    assert html.count("<tr>") == 1 + 8  # header, root and seven layers
    assert "weight [64, 2], bias [64]" in html
    assert str(inspector) == inspector.summary() == summary(inspector.model)


def test_numbers_match_the_tensors():
    model = mnist_mlp()
    x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
    nn.functional.cross_entropy(model(x), y).backward()
    inspector = ModuleInspector(model)
    stats = inspector.stats()
    assert list(stats) == [name for name, _ in model.named_parameters()]
    for name, param in model.named_parameters():
        values = param.detach().numpy().astype(np.float64)
        assert stats[name].mean == pytest.approx(values.mean(), abs=1e-6)
        assert stats[name].std == pytest.approx(values.std(ddof=1), rel=1e-4)
        assert stats[name].grad_norm == pytest.approx(np.linalg.norm(param.grad.numpy().astype(np.float64)), rel=1e-5)
        assert stats[name].update is None
    assert f"{stats['3.weight'].std:.4g}" in inspector.stats_html


def test_histogram_frame_changes_with_the_weights_and_the_choice():
    model = spiral_mlp()
    inspector = ModuleInspector(model)
    first = pixels(inspector.snapshot().data)
    assert first.shape[0] > 100 and first.shape[1] > 300
    with torch.no_grad():
        model[0].weight.mul_(3.0).add_(0.5)
    inspector.redraw()
    scaled = pixels(inspector.snapshot().data)
    assert np.abs(scaled - first).sum() > 0
    inspector.select("6.bias")
    assert inspector.parameter == "6.bias"
    other = pixels(inspector.snapshot().data)
    assert np.abs(other - scaled).max() > 0


def test_gradient_panel_appears_when_gradients_exist():
    model = spiral_mlp()
    inspector = ModuleInspector(model)
    without = pixels(inspector.snapshot().data)
    nn.functional.cross_entropy(model(torch.randn(8, 2)), torch.randint(0, 2, (8,))).backward()
    inspector.redraw()
    with_grad = pixels(inspector.snapshot().data)
    right_half = slice(with_grad.shape[1] // 2, None)
    assert np.abs(with_grad[:, right_half] - without[:, right_half]).sum() > 0


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match="torch.nn.Module or a Trainer, got dict"):
        ModuleInspector({"weight": torch.ones(2)})
    with pytest.raises(TypeError, match="got str"):
        summary("model")
    with pytest.raises(ValueError, match="no parameter named 'nope'"):
        ModuleInspector(spiral_mlp(), parameter="nope")
    inspector = ModuleInspector(spiral_mlp())
    with pytest.raises(ValueError, match="no parameter named 'x'"):
        inspector.select("x")
    assert inspector.parameter == "0.weight"


def test_repr_stable_and_css_class():
    first, second = ModuleInspector(spiral_mlp()), ModuleInspector(mnist_mlp())
    assert repr(first) == repr(second) == "ModuleInspector()"
    assert "lt-module-inspector" in first.widget.get_state()["_dom_classes"]  # what the browser gets
    bundle, _ = DisplayFormatter().format(first)  # what a notebook stores, and nbval compares
    assert bundle["text/plain"] == "ModuleInspector()"


def test_a_model_without_parameters_is_shown():
    inspector = ModuleInspector(nn.ReLU())
    assert "0 parameters" in inspector.tree_html
    assert inspector.stats() == {} and inspector.parameter is None
    assert len(inspector.snapshot().data) > 0


class LongNames(nn.Module):
    """A deep path to its weight, and values a thousand times smaller than usual (an offset on the axis)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder_block_with_a_long_name = nn.Sequential(nn.Sequential(nn.Linear(3, 50)))
        with torch.no_grad():
            for param in self.parameters():
                param.mul_(1e-3).add_(1000.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder_block_with_a_long_name(x)


def drawn_texts(figure) -> list:
    """The non-empty text artists a draw of `figure` puts on the canvas (tick labels outside the view are not drawn)."""
    texts = list(figure.texts)
    for axes in figure.axes:
        low, high = sorted(axes.get_xlim())
        texts += [axes.title, axes.xaxis.get_offset_text(), *axes.texts]
        texts += [label for label in axes.get_xticklabels() if low <= label.get_position()[0] <= high]
    return [text for text in texts if text.get_visible() and text.get_text()]


def test_every_text_stays_inside_the_smallest_figure():
    model = LongNames()
    (model(torch.randn(4, 3)).sum() * 1e-6).backward()  # tiny gradients: an axis with a power of ten
    inspector = ModuleInspector(model, figsize=MIN_FIGSIZE)
    figure = inspector.frame.figure
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    width, height = figure.canvas.get_width_height()
    texts = drawn_texts(figure)
    assert any(text.get_text().startswith("…") for text in texts)  # the long title was cut to fit
    assert any("1e" in text.get_text() for text in texts)  # the offsets are among the texts checked
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (text.get_text(), box)


def test_a_figure_smaller_than_the_smallest_is_refused():
    with pytest.raises(ValueError, match=r"figsize must be at least \(3.6, 1.6\) inches.*got \(3.0, 2.2\)"):
        ModuleInspector(spiral_mlp(), figsize=(3.0, 2.2))
    with pytest.raises(ValueError, match="figsize must be .width, height. in inches, got 'big'"):
        ModuleInspector(spiral_mlp(), figsize="big")


def test_histograms_use_the_shared_colours_and_text_sizes():
    model = spiral_mlp()
    nn.functional.cross_entropy(model(torch.randn(8, 2)), torch.randint(0, 2, (8,))).backward()
    inspector = ModuleInspector(model)
    image = decode(inspector.snapshot().data)
    train = np.array([int(SPLIT_COLOURS["train"][i : i + 2], 16) for i in (1, 3, 5)])
    is_train = (image == train).all(axis=2)
    middle = image.shape[1] // 2
    assert is_train[:, :middle].sum() > 50 and is_train[:, middle:].sum() > 50  # values and gradient bars
    figure = inspector.frame.figure
    figure.canvas.draw()
    for axes in figure.axes:
        assert axes.title.get_fontsize() == TITLE_SIZE
        assert {label.get_fontsize() for label in axes.get_xticklabels()} == {FONT_SIZE}
