"""One Playground frame as pictures: the plane (output or a chosen unit), the network diagram, the loss chart.

Plain numpy, Pillow and torch: `draw_scene(setup, ...)` evaluates the model once
over the plane (every unit's map, from `maps.unit_maps`) and on both splits,
then draws. The widget shows these pictures; tests and `snapshot()` use them too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from widgets.views.style import class_colours

from .draw import draw_output, draw_points, draw_unit
from .draw_chart import draw_loss_chart
from .draw_network import NetworkPicture, draw_network
from .maps import layer_weights, plane_grid, unit_maps, unit_names
from .problems import PLANE
from .setup import Setup

GAP = 8  # white pixels between the pictures of a composed frame


@dataclass(frozen=True)
class Scene:
    """The pictures of one frame (RGB uint8 arrays) and the figures they were drawn from."""

    plane: np.ndarray
    network: NetworkPicture
    chart: np.ndarray
    names: list[list[str]]
    train_loss: float
    test_loss: float
    train_accuracy: float | None
    test_accuracy: float | None
    test_predictions: np.ndarray | None  # classes predicted on the test split (None for a regression)

    def composed(self) -> np.ndarray:
        """The whole frame as one picture: the network at the left, the plane over the loss chart at the
        right."""
        right = _stack([self.plane, self.chart], axis=0)
        return _stack([self.network.image, right], axis=1)


def draw_scene(setup: Setup, *, resolution: int = 100, size: int = 300, network_height: int = 300,
               focus: tuple[int, int] | None = None, discretize: bool = False,
               show_test: bool = True) -> Scene:
    """Evaluate `setup.model` now and draw the frame: the output (or the `focus` unit, (column, unit)) over
    the plane."""
    model = setup.model
    maps = unit_maps(model, plane_grid(resolution, PLANE))
    names = unit_names(model)
    if focus is not None:
        column, unit = focus
        if not (0 <= column < len(maps) and 0 <= unit < maps[column].shape[0]):
            raise ValueError(f"focus must be (column, unit) of a unit of this network, got {focus!r}")
    train_loss, train_accuracy, _ = _figures(setup, setup.x_train, setup.y_train)
    test_loss, test_accuracy, test_predictions = _figures(setup, setup.x_test, setup.y_test)
    plane = _plane(setup, maps, focus, size, discretize, show_test)
    history = setup.trainer.history
    chart = draw_loss_chart(history.epoch_column("train_loss"), history.epoch_column("valid_loss"),
                            width=size, height=80)
    network = draw_network([m.numpy() for m in maps], layer_weights(model), names[0], height=network_height)
    return Scene(plane=plane, network=network, chart=chart, names=names, train_loss=train_loss,
                 test_loss=test_loss, train_accuracy=train_accuracy, test_accuracy=test_accuracy,
                 test_predictions=test_predictions)


def _plane(setup: Setup, maps: list[torch.Tensor], focus: tuple[int, int] | None, size: int,
           discretize: bool, show_test: bool) -> np.ndarray:
    test_points, test_labels = (setup.x_test, setup.y_test) if show_test else (None, None)
    if focus is None or focus[0] == len(maps) - 1 and maps[-1].shape[0] == 1:
        return draw_output(maps[-1], size, discretize=discretize, points=setup.x_train, labels=setup.y_train,
                           test_points=test_points, test_labels=test_labels)
    column, unit = focus
    image = draw_unit(maps[column][unit].numpy(), size, lightness=0.0)
    if setup.classes is not None:  # a unit's map has no colours of classes: the points keep theirs
        colours = (np.asarray(class_colours(setup.classes)) * 255).astype(np.uint8)
        train_y, test_y = ((y > 0).long() if setup.mode == "tf" else y for y in (setup.y_train, setup.y_test))
        draw_points(image, setup.x_train, colours[train_y.numpy()])
        if show_test:
            draw_points(image, setup.x_test, colours[test_y.numpy()], rim=(30, 30, 30))
    return image


@torch.no_grad()
def _figures(setup: Setup, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None, np.ndarray | None]:
    """Loss (the training loss function, no penalty), accuracy and predicted classes on one split, in eval
    mode."""
    model = setup.model
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        output = model(x)
    finally:
        for module, training in modes:
            module.training = training
    one_output = setup.classes is None or setup.mode == "tf"
    target = y[:, None] if one_output else y
    loss = float(setup.trainer.loss_fn(output, target))
    if setup.classes is None:
        return loss, None, None
    if setup.mode == "tf":  # one tanh output: its sign is the class, labels are -1 and +1
        predictions = (output[:, 0] > 0).long()
        return loss, float((predictions == (y > 0).long()).float().mean()), predictions.numpy()
    predictions = output.argmax(dim=1)
    return loss, float((predictions == y).float().mean()), predictions.numpy()


def _stack(pictures: list[np.ndarray], axis: int) -> np.ndarray:
    """Pictures side by side (axis 1) or one above the other (axis 0), top/left aligned on white, GAP
    apart."""
    across = 1 - axis
    extent = max(p.shape[across] for p in pictures)
    padded = []
    for index, picture in enumerate(pictures):
        shape = list(picture.shape)
        shape[across] = extent
        block = np.full(shape, 255, dtype=np.uint8)
        block[: picture.shape[0], : picture.shape[1]] = picture
        padded.append(block)
        if index < len(pictures) - 1:
            gap = list(shape)
            gap[axis] = GAP
            padded.append(np.full(gap, 255, dtype=np.uint8))
    return np.concatenate(padded, axis=axis)
