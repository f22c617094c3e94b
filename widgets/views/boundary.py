"""DecisionBoundary: what a model of 2-D inputs predicts over the plane, drawn live, with past epochs.

The model's output over a grid covering the data becomes an RGB image through
a colour lookup table (no contourf); `boundary_field.py` holds that plain data.
Outputs of K >= 2 are taken as logits (softmax applied) unless every row
already holds probabilities:
- 2 classes: p(class 1) on a diverging map (blue: class 0, red: class 1);
- K > 2 classes: each class's colour, faded towards white where the model is unsure;
- 1 output: the value on the diverging map, centred on the decision threshold,
  or, for a model fitted to float targets, on the middle of the targets
  (the points then take the colour of their target value).
The points are drawn in their class colour, the misclassified ones crossed out,
validation points as triangles.

With a trainer, epochs are kept for a slider: the first, then evenly spread
ones (at most `keep`), and the last one of every run. A run of known length
(`fit(150)`, `play(50)`) is spread over `keep` from its start: fit(150) keeps 51. Keeping an epoch
counts against the frame clock's budget like drawing does. An epoch drawn
live is kept as its frame; the others are kept as a copy of the model's
weights and evaluated, at `resolution`, when the slider first shows them
(`model_replica.py`). A model that cannot be copied, or whose kept weights
would pass `model_replica.MAX_KEPT_BYTES`, has those epochs evaluated when
kept, on a coarser grid of `stored_resolution`. The slider follows the live
epoch until the learner moves it; moving it back to its right end follows
the live model again.

Every call of the model the view makes runs in eval and inference mode with
torch's random state forked, so a run trains the same with or without the view.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from matplotlib import colormaps
from torch import nn

from .base import View, model_and_trainer
from .boundary_field import (
    BoundaryFrame,
    Deferred,
    EpochStore,
    OutputCoder,
    colour,
    data_bounds,
    grid_points,
    lookup_table,
    upsample,
    value_codes,
)
from .clock import FrameClock, check_clock
from .frame import Frame
from .model_replica import KeptWeights, ModelReplica
from .module_tree import require_initialized
from .style import FONT_SIZE, TITLE_SIZE, class_colours

__all__ = ["MIN_FIGSIZE", "STORED_RESOLUTION", "BoundaryFrame", "DecisionBoundary"]

MIN_FIGSIZE = (3.0, 3.0)
"""The smallest figure (inches) whose title, tick labels and caption all stay inside the image."""

STORED_RESOLUTION = 24
"""Default side of the grid evaluated for an epoch kept while no frame is drawn (at most `resolution`)."""

_DIVERGING = "RdBu_r"
# Margins in inches around the axes: room for tick labels (left, bottom) and the title (top).
_MARGINS = {"left": 0.45, "right": 0.12, "bottom": 0.3, "top": 0.3}


@contextmanager
def untouched(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval and inference mode inside, torch's random state forked: a call of the model leaves no trace.

    Every submodule's mode comes back as it was, and the random state of the
    CPU and of the model's device too, so a model that draws random numbers
    even in eval mode trains the same with and without the view.
    """
    modes = [(module, module.training) for module in model.modules()]
    with _forked_rng(device) if _may_draw_in_eval(modes) else nullcontext():
        model.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            for module, training in modes:
                module.training = training


def _may_draw_in_eval(modes: list[tuple[nn.Module, bool]]) -> bool:
    """False when every module is one of torch.nn's own: none of them draws random numbers in eval mode."""
    return any(not type(module).__module__.startswith("torch.nn.modules.") for module, _ in modes)


def _forked_rng(device: torch.device) -> Any:
    if device.type == "cpu" or device.type == "meta":
        return torch.random.fork_rng(devices=[])
    index = device.index
    if index is None:
        index = torch.cuda.current_device() if device.type == "cuda" else 0
    return torch.random.fork_rng(devices=[index], device_type=device.type)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model with neither)."""
    for tensors in (model.parameters(), model.buffers()):
        for tensor in tensors:
            return tensor.device
    return torch.device("cpu")


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def first_layer(model: nn.Module) -> nn.Module | None:
    """The first module, in the order the model lists them, that holds parameters of its own (None if none does)."""
    for module in model.modules():
        if any(True for _ in module.parameters(recurse=False)):
            return module
    return None


def _probe_failure(model: nn.Module, error: Exception) -> ValueError:
    """Say what really failed when the model refused a [1, 2] tensor of points."""
    failed = f"calling the model on a [1, 2] tensor failed with {type(error).__name__}: {error}"
    layer = first_layer(model)
    if layer is None:
        return ValueError(f"DecisionBoundary needs a model of 2 input features: {failed}")
    features = getattr(layer, "in_features", None)
    if isinstance(features, int) and features != 2:
        return ValueError(f"DecisionBoundary needs a model of 2 input features, but its first layer, {layer}, "
                          f"expects {features} input features: {failed}")
    if isinstance(features, int):
        return ValueError(
            f"DecisionBoundary calls the model on one [N, 2] tensor of points, as model(x); its first layer, {layer}, "
            f"takes 2 input features, but {failed}. A model whose forward takes something else (a tuple, several "
            "tensors, a dict) needs a small nn.Module around it that takes the [N, 2] points"
        )
    return ValueError(f"DecisionBoundary needs a model of 2 input features, but its first layer is {layer}, "
                      f"which does not take [N, 2] points: {failed}")


def _probe(model: nn.Module, device: torch.device) -> int:
    """The number of outputs of `model` for one 2-D point, or a ValueError if it cannot take one."""
    probe = torch.zeros(1, 2, device=device, dtype=_model_dtype(model))
    try:
        with untouched(model, device):
            output = model(probe)
    except Exception as error:  # any failure here means: not a model of 2 input features
        raise _probe_failure(model, error) from None
    if not isinstance(output, torch.Tensor) or output.dim() not in (1, 2) or output.shape[0] != 1:
        shape = list(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(
            f"DecisionBoundary needs an output of shape [N] or [N, K] per batch of N points; a [1, 2] input gave {shape}"
        )
    return 1 if output.dim() == 1 else int(output.shape[1])


def _points(name: str, value: Any) -> torch.Tensor:
    """A float [N, 2] tensor from a tensor or array, or a ValueError saying what came."""
    if value is None:
        raise ValueError(f"{name} is needed: a [N, 2] tensor of points")
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if tensor.dim() != 2 or tensor.shape[1] != 2:
        raise ValueError(f"{name} must be [N, 2] points (two input features), got shape {list(tensor.shape)}")
    if len(tensor) == 0:
        raise ValueError(f"{name} holds no points")
    if not (tensor.is_floating_point() or tensor.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)):
        raise ValueError(f"{name} must hold numbers, got {tensor.dtype}")
    if tensor.device.type != "meta" and not torch.isfinite(tensor.float()).all():
        raise ValueError(f"{name} holds NaN or infinite coordinates")
    return tensor


def _targets(name: str, value: Any, count: int, points_name: str) -> np.ndarray:
    """The targets as a 1-D numeric array of `count` entries ([N] or [N, 1]), or a ValueError."""
    if value is None:
        raise ValueError(f"{name} is needed: the class (or target value) of every point in {points_name}")
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of classes, got shape {list(array.shape)}")
    if len(array) != count:
        raise ValueError(f"{name} has {len(array)} labels but {points_name} has {count} points")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold class numbers, got {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _are_values(targets: list[np.ndarray], outputs: int) -> bool:
    """A 1-output model with float targets other than 0 and 1 is fitted to values (a regression)."""
    return outputs == 1 and any(np.issubdtype(t.dtype, np.floating) and not np.isin(t, (0, 1)).all() for t in targets)


def _classes(name: str, targets: np.ndarray) -> np.ndarray:
    if np.any(targets != np.round(targets)) or np.any(targets < 0):
        raise ValueError(f"{name} must hold whole class numbers counted from 0")
    return targets.astype(np.int64)


def _point_sets(x: Any, y: Any, x_valid: Any, y_valid: Any) -> tuple[torch.Tensor, torch.Tensor | None, list[np.ndarray]]:
    """The training points, the validation points (or None) and their targets, checked."""
    points = _points("x", x)
    targets = [_targets("y", y, len(points), "x")]
    if (x_valid is None) != (y_valid is None):
        raise ValueError("x_valid and y_valid go together: give both or neither")
    valid_points = None
    if x_valid is not None:
        valid_points = _points("x_valid", x_valid)
        targets.append(_targets("y_valid", y_valid, len(valid_points), "x_valid"))
    return points, valid_points, targets


def _labels(targets: list[np.ndarray], outputs: int) -> tuple[np.ndarray, bool]:
    """Every point's label (training, then validation) and whether they are values (a regression), checked
    against the model's number of outputs."""
    if _are_values(targets, outputs):
        return np.concatenate(targets).astype(np.float64), True
    labels = np.concatenate([_classes(name, t) for name, t in zip(("y", "y_valid"), targets)])
    seen = int(labels.max())
    if seen >= max(outputs, 2):
        what = "1 output (two classes, 0 and 1)" if outputs == 1 else f"{outputs} outputs (classes 0 to {outputs - 1})"
        raise ValueError(f"the labels hold class {seen} but the model has {what}")
    return labels, False


def _check_figsize(figsize: Any, dpi: Any) -> tuple[float, float]:
    try:
        width, height = (float(size) for size in figsize)
    except (TypeError, ValueError):
        raise ValueError(f"figsize must be (width, height) in inches, got {figsize!r}") from None
    if not (width >= MIN_FIGSIZE[0] and height >= MIN_FIGSIZE[1]):
        raise ValueError(f"figsize must be at least {MIN_FIGSIZE} inches, or its text leaves the image; got {figsize!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
        raise ValueError(f"dpi must be a positive number, got {dpi!r}")
    return width, height


def _check_side(name: str, value: Any, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= most:
        raise ValueError(f"{name} must be an int from 2 to {most} (grid points per side), got {value!r}")
    return value


class DecisionBoundary(View):
    """Live decision boundary of a model with 2 input features, over the data's plane.

    `DecisionBoundary(trainer, x, y)` follows a Trainer: frames on its clock
    while it trains, past epochs kept for the slider (`epochs` lists them).
    `DecisionBoundary(model, x, y)` with a hand-written loop: call
    `update(epoch=...)` after each epoch. `resolution` is the live grid's side
    (default 100, so 100 x 100 points); `stored_resolution` the side of the
    grid of an epoch evaluated when kept, for a model whose weights cannot be
    kept (default 24); `margin`
    widens the data's box by that share of its size on every side; `keep`
    bounds the stored epochs (default 64). `figsize` is at least `MIN_FIGSIZE` inches.
    """

    def __init__(
        self,
        model_or_trainer: Any,
        x: Any,
        y: Any,
        x_valid: Any = None,
        y_valid: Any = None,
        resolution: int = 100,
        *,
        stored_resolution: int | None = None,
        margin: float = 0.1,
        keep: int = 64,
        clock: FrameClock | None = None,
        figsize: tuple[float, float] = (4.4, 4.4),
        dpi: int = 80,
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "DecisionBoundary")
        check_clock(clock)
        _check_side("resolution", resolution, 1000)
        if stored_resolution is None:
            stored_resolution = min(resolution, STORED_RESOLUTION)
        _check_side("stored_resolution", stored_resolution, resolution)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
            raise ValueError(f"margin must be a number from 0 to 10 (share of the data's size), got {margin!r}")
        store = EpochStore(keep)
        figsize = _check_figsize(figsize, dpi)
        points, valid_points, targets = _point_sets(x, y, x_valid, y_valid)
        device = model_device(model)
        for name, tensor in (("x", points), ("x_valid", valid_points)):
            if tensor is not None and trainer is None and tensor.device != device:
                raise ValueError(f"{name} is on {tensor.device} but the model is on {device}: "
                                 f"move one of them, e.g. {name}.to({str(device)!r})")
        require_initialized(model, "DecisionBoundary")
        outputs = _probe(model, device)
        classes = max(outputs, 2)
        labels, regression = _labels(targets, outputs)

        self.trainer = trainer
        self.model = model
        self.resolution = resolution
        self.stored_resolution = stored_resolution
        self.outputs = outputs
        self.classes = classes
        self.regression = regression
        self.keep = keep
        self.stored = store
        """The kept epochs: a mapping epoch -> BoundaryFrame, oldest first."""
        self.shown: BoundaryFrame | None = None  # what the image shows now
        self._labels = labels
        self._train_count = len(targets[0])
        self._coder = OutputCoder(outputs, classes, labels if regression else None)
        self._replica = ModelReplica(model, keep)
        self._live_epoch: int | None = None  # the epoch whose end the model sits at, if it does
        self._evaluate_next = False
        self._epoch_end: float | None = None
        self._epoch_seconds: float | None = None
        self._selected: int | None = None
        self._syncing = False

        cpu_points = [points.detach().float().cpu()]
        if valid_points is not None:
            cpu_points.append(valid_points.detach().float().cpu())
        self._point_tensor = torch.cat(cpu_points)
        self._point_xy = self._point_tensor.numpy()
        self.bounds = data_bounds(self._point_xy, margin)
        self._inputs: dict[int, torch.Tensor] = {}

        self.frame = Frame(figsize=figsize, dpi=dpi)
        self.slider = ipw.IntSlider(value=0, min=0, max=0, description="epoch", disabled=True, continuous_update=True)
        self.points_toggle = ipw.Checkbox(value=True, description="points", indent=False)
        self.slider.add_class("lt-boundary-slider")
        self.points_toggle.add_class("lt-boundary-points")
        widget = ipw.VBox([self.frame.image, ipw.HBox([self.slider, self.points_toggle])])
        super().__init__(widget, "boundary", clock)
        self._build()
        self.slider.observe(self._on_slider, names="value")
        self.points_toggle.observe(self._on_points, names="value")
        if trainer is not None:
            self.follow(trainer)
        self.draw_first_frame()

    # --- what a learner can read ------------------------------------------------------------
    @property
    def epochs(self) -> list[int]:
        """The epochs the slider can show, oldest first."""
        return self.stored.epochs

    @property
    def caption(self) -> str:
        """The text written on the plot now, e.g. "epoch 12" (with the value range for 1 output)."""
        return self._caption.get_text() if self._caption.get_visible() else ""

    @property
    def field_image(self) -> np.ndarray:
        """The field as shown: an RGB uint8 array [R, R, 3], row 0 at the bottom (a copy)."""
        return self._field_rgb.copy()

    @property
    def palette(self) -> np.ndarray:
        """The colour of every code: uint8 RGB [256, 3], or [K, 256, 3] (class, confidence) for K > 2 classes."""
        table = self._table.view()
        table.flags.writeable = False
        return table

    @property
    def misclassified(self) -> np.ndarray:
        """Which points the shown frame crosses out (training points, then validation points)."""
        if self.shown is None:
            return np.zeros(len(self._labels), dtype=bool)
        return self._wrong(self.shown)

    @property
    def class_colours(self) -> list[tuple[float, float, float]]:
        """The RGB colour (0..1) of each class's points, as in every view (`style.class_colours`)."""
        return list(self._class_colours)

    # --- figure ----------------------------------------------------------------------------
    def _build(self) -> None:
        figure = self.frame.figure
        width, height = figure.get_size_inches()
        figure.subplots_adjust(left=_MARGINS["left"] / width, right=1 - _MARGINS["right"] / width,
                               bottom=_MARGINS["bottom"] / height, top=1 - _MARGINS["top"] / height)
        ax = figure.add_subplot()
        ax.set_xlim(self.bounds[0], self.bounds[1])
        ax.set_ylim(self.bounds[2], self.bounds[3])
        ax.set_aspect("auto")
        ax.tick_params(labelsize=FONT_SIZE)
        title = {1: "model output", 2: "p(class 1)"}.get(self.outputs, "predicted class (faded: unsure)")
        ax.set_title(title, fontsize=TITLE_SIZE)
        self._axes = ax
        self._field_rgb = np.zeros((self.resolution, self.resolution, 3), dtype=np.uint8)
        self._class_colours = class_colours(self.classes)
        diverging = colormaps[_DIVERGING](np.linspace(0.15, 0.85, 256))[:, :3]  # the dark ends are for the points
        self._table = lookup_table(self.outputs, self._class_colours, diverging)
        self._point_table = lookup_table(2, [], colormaps[_DIVERGING](np.linspace(0, 1, 256))[:, :3], lightness=0.0)
        self._point_artists: list[Any] = []
        self._miss_lines = []
        train = np.arange(len(self._labels)) < self._train_count
        for part, marker, edge in ((train, "o", "white"), (~train, "^", "black")):
            if self.regression:
                if part.any():
                    self._point_artists.append(ax.scatter(*self._point_xy[part].T, s=16, marker=marker,
                                                          edgecolors=edge, linewidths=0.5))
                continue
            for cls in range(self.classes):
                chosen = part & (self._labels == cls)
                if chosen.any():
                    (line,) = ax.plot(*self._point_xy[chosen].T, marker, color=self._class_colours[cls],
                                      markersize=4, markeredgecolor=edge, markeredgewidth=0.5, linestyle="none")
                    self._point_artists.append(line)
            (miss,) = ax.plot([], [], "x", color="black", markersize=5, markeredgewidth=1.2, linestyle="none")
            self._miss_lines.append(miss)
        self._caption = ax.text(0.02, 0.98, "", transform=ax.transAxes, va="top", ha="left", fontsize=FONT_SIZE,
                                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.5})
        self.frame.animate(*self._point_artists, *self._miss_lines, self._caption)

    def _wrong(self, frame: BoundaryFrame) -> np.ndarray:
        if self.regression:
            return np.zeros(len(self._labels), dtype=bool)
        return frame.predicted != self._labels

    def _render(self, frame: BoundaryFrame) -> None:
        self._field_rgb = colour(frame.codes, self._table)
        _, _, height, width = self.frame.fill_box(self._axes)
        self.frame.fill(self._axes, upsample(self._field_rgb, height, width))  # the field fills the axes
        train = np.arange(len(self._labels)) < self._train_count
        if self.regression:
            for artist, part in zip(self._point_artists, (train, ~train)):
                artist.set_facecolor(self._point_table[value_codes(self._labels[part], frame.centre, frame.scale)] / 255)
        wrong = self._wrong(frame)
        for miss, part in zip(self._miss_lines, (train, ~train)):
            miss.set_data(*self._point_xy[wrong & part].T)
        show = self.points_toggle.value
        for artist in (*self._point_artists, *self._miss_lines):
            artist.set_visible(show)
        text = frame.label
        if self.outputs == 1:
            text = f"{text}  ({frame.centre:g} ± {frame.scale:g})".strip()
        self._caption.set_text(text)
        self._caption.set_visible(bool(text))
        self.shown = frame
        self.frame.blit()

    # --- evaluation -----------------------------------------------------------------------------
    def evaluate(self, label: str = "", resolution: int | None = None) -> BoundaryFrame:
        """The model's output over the grid (of `resolution`, default the view's) and on the points, now.

        The model runs in eval and inference mode with torch's random state
        forked; its modes and the random state are as before afterwards.
        """
        side = self.resolution if resolution is None else _check_side("resolution", resolution, 1000)
        return self._evaluate(self.model, label, side)

    def _evaluate(self, model: nn.Module, label: str, side: int) -> BoundaryFrame:
        device = model_device(model)
        inputs = self._inputs_on(side, device, _model_dtype(model))
        with untouched(model, device):
            output = model(inputs)
            return self._coder.code(output, side, label)

    def _evaluate_kept(self, weights: KeptWeights, label: str) -> BoundaryFrame:
        """The frame of weights kept earlier, run on the model's private copy."""
        with self._draw_lock:
            return self._evaluate(weights.load(), label, self.resolution)

    def _inputs_on(self, side: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """The grid of `side` and the points as one tensor on the model's device, built once per side."""
        inputs = self._inputs.get(side)
        if inputs is None or inputs.device != device or inputs.dtype != dtype:
            cpu = torch.cat([grid_points(self.bounds, side), self._point_tensor])
            inputs = self._inputs[side] = cpu.to(device=device, dtype=dtype)
        return inputs

    def draw(self) -> None:
        if self._selected is not None and self._selected in self.stored:
            self._render(self.stored[self._selected])
            return
        self._selected = None
        epoch = self._live_epoch
        kept = self.stored.get(epoch) if epoch is not None else None
        if kept is not None and kept.resolution == self.resolution and not self._evaluate_next:
            self._render(kept)  # evaluated when the epoch ended; only the drawing was left
        else:
            frame = self.evaluate(self._live_label(epoch))
            self._evaluate_next = False
            if epoch is not None and (kept is not None or self.stored.wants(epoch) or not self._running()):
                self.stored.add(epoch, frame)  # drawn live at an epoch's end: kept at full resolution
            self._render(frame)
        self._sync_slider()

    def _live_label(self, epoch: int | None) -> str:
        if epoch is not None:
            return f"epoch {epoch}"
        if self.trainer is not None:
            return f"epoch {self.trainer.epoch}, step {self.trainer.global_step}"
        return ""

    # --- stored epochs --------------------------------------------------------------------------
    def store_epoch(self, epoch: int) -> BoundaryFrame:
        """Evaluate the model now on the `stored_resolution` grid and keep it as `epoch`'s frame, drawing nothing."""
        with self._draw_lock:
            frame = self.evaluate(f"epoch {epoch}", self.stored_resolution)
            self.stored.add(epoch, frame)
        return frame

    def stored_epoch(self, value: int) -> int | None:
        """The stored epoch a slider value shows: the latest stored one at or before it."""
        return self.stored.at_or_before(value)

    def _current_epoch(self) -> int:
        if self.trainer is not None:
            return self.trainer.epoch
        return self._live_epoch if self._live_epoch is not None else (self.stored.newest or 0)

    def _sync_slider(self) -> None:
        """The slider spans the stored epochs up to the live one; while following, it sits at the live end."""
        self._syncing = True
        try:
            epochs = self.stored.epochs
            if not epochs:
                self.slider.min = self.slider.max = self.slider.value = 0
                self.slider.disabled = True
                return
            low, high = epochs[0], max(epochs[-1], self._current_epoch())
            if low > self.slider.max:
                self.slider.max = high
            self.slider.min = low
            self.slider.max = high
            if self._selected is None:
                self.slider.value = high
            self.slider.disabled = high == low
        finally:
            self._syncing = False

    def _running(self) -> bool:
        return self.trainer is not None and self.trainer.state == "running"

    def _on_slider(self, change: dict) -> None:
        if self._syncing:
            return
        value = int(change["new"])
        with self._draw_lock:
            # the right end follows the live model again; any other value shows a stored epoch
            self._selected = None if value >= self.slider.max else self.stored.at_or_before(value)
        self.request_frame("final")

    def _on_points(self, change: dict) -> None:
        with self._draw_lock:
            if self.shown is not None:
                self._render(self.shown)

    # --- hand-written loops ---------------------------------------------------------------------
    def update(self, epoch: int | None = None) -> None:
        """Draw the model's boundary now; with `epoch`, also keep it as that epoch's frame."""
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
            raise ValueError(f"epoch must be a non-negative int or None, got {epoch!r}")
        with self._draw_lock:
            self._selected = None
            self._live_epoch = epoch
            self._evaluate_next = True
        self.request_frame("final")

    # --- trainer events --------------------------------------------------------------------------
    def on_step(self, record: dict) -> None:
        self._live_epoch = None
        if self._epochs_are_short():
            self.mark_stale()  # epochs end faster than the clock ticks: their frames suffice
            return
        self.request_frame("step")

    def _epochs_are_short(self) -> bool:
        return self._epoch_seconds is not None and self._epoch_seconds < self.clock.interval

    def on_epoch(self, record: dict) -> None:
        now = self.clock.now()  # epoch lengths on the clock's own time, drawing included
        if self._epoch_end is not None:
            self._epoch_seconds = now - self._epoch_end
        self._epoch_end = now
        epoch = int(record["epoch"])
        with self._draw_lock:
            self._live_epoch = epoch
        if not self.request_frame("epoch") and self.stored.wants(epoch):
            self._store_on_the_clock(epoch)

    def _store_on_the_clock(self, epoch: int) -> None:
        """Keep `epoch` as the model's weights (or evaluated, see `store_epoch`); charged to the clock as drawing is."""
        start = self.clock.now()
        with self._draw_lock:
            weights = self._replica.capture()
            if weights is None:
                self.store_epoch(epoch)
            else:
                self.stored.add(epoch, Deferred(lambda: self._evaluate_kept(weights, f"epoch {epoch}")))
        self.clock.charge_work(self.clock.now() - start)

    def on_state(self, change: dict) -> None:
        if change.get("state") == "running":
            target = getattr(self.trainer, "target_epoch", None)
            with self._draw_lock:
                if target is not None:
                    self.stored.plan(self.trainer.epoch + 1, target)
                self._selected = None
                self._epoch_end = None  # a pause is no part of an epoch's length
                self._sync_slider()
        elif change.get("previous") == "running":
            epoch = self._live_epoch
            if epoch is not None and not (self.stored.computed(epoch) and self.stored[epoch].resolution == self.resolution):
                self.mark_stale()  # the run's last epoch is kept, drawn at full resolution
            super().on_state(change)
            with self._draw_lock:
                self._sync_slider()

    def on_reset(self, payload: dict) -> None:
        with self._draw_lock:
            self.stored.clear()
            self._coder.reset()
            self._selected = None
            self._live_epoch = None
            self._epoch_end = self._epoch_seconds = None
            self._sync_slider()
        super().on_reset(payload)

    # --- View --------------------------------------------------------------------------------------
    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()
