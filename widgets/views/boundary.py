"""DecisionBoundary: what a model of 2-D inputs predicts over the plane, drawn live, with past epochs.

The model's output over a grid covering the data becomes an RGB image through
a colour lookup table (no contourf). Outputs of K >= 2 are taken as logits
(softmax applied) unless every row already holds probabilities:
- 2 classes: p(class 1) on a diverging map (blue: class 0, red: class 1);
- K > 2 classes: each class's colour, faded towards white where the model is unsure;
- 1 output: the value on the diverging map, centred on the decision threshold.
The points are drawn in their class colour, the misclassified ones crossed out,
validation points as triangles. With a trainer, the grid of every epoch's end is
evaluated and kept (uint8, at most `keep` of them, thinned evenly) whether or not
the clock lets that epoch be drawn, and a slider goes back through them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from matplotlib import colormaps
from torch import nn

from .axes import nice_ceiling
from .base import View, model_and_trainer
from .style import class_colours
from .clock import FrameClock, check_clock
from .frame import Frame

_DIVERGING = "RdBu_r"
_FIELD_LIGHTNESS = 0.4  # share of white mixed into the field, so the points stand out


@dataclass
class BoundaryFrame:
    """One drawn state: the grid as uint8 codes and the predicted class of every point."""

    codes: np.ndarray  # [R, R] uint8, or [2, R, R] (class, confidence) for K > 2 classes
    predicted: np.ndarray  # predicted class of the training points, then the validation points
    scale: float  # 1 output: the value range shown is threshold +- scale
    label: str


@contextmanager
def evaluation(model: nn.Module) -> Iterator[None]:
    """Eval mode and no grad inside; every submodule's mode and the grad switch restored after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model with neither)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def _expected_features(model: nn.Module) -> str:
    for module in model.modules():
        features = getattr(module, "in_features", None)
        if isinstance(features, int):
            return f"its first {type(module).__name__} layer expects {features} input features"
    return "it does not take [N, 2] inputs"


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


def _labels(name: str, value: Any, count: int, points_name: str) -> np.ndarray:
    """Class labels as a 1-D int array of `count` entries ([N] or [N, 1]), or a ValueError."""
    if value is None:
        raise ValueError(f"{name} is needed: the class of every point in {points_name}")
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of classes, got shape {list(array.shape)}")
    if len(array) != count:
        raise ValueError(f"{name} has {len(array)} labels but {points_name} has {count} points")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold class numbers, got {array.dtype}")
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold whole class numbers counted from 0")
    return array.astype(np.int64)


class DecisionBoundary(View):
    """Live decision boundary of a model with 2 input features, over the data's plane.

    `DecisionBoundary(trainer, x, y)` follows a Trainer: frames on its clock
    while it trains and the grid of every epoch kept for the slider.
    `DecisionBoundary(model, x, y)` with a hand-written loop: call
    `update(epoch=...)` after each epoch. `resolution` is the grid's side
    (default 100, so 100 x 100 points); `margin` widens the data's box by
    that share of its size on every side; `keep` bounds the stored epochs.
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
        margin: float = 0.1,
        keep: int = 100,
        clock: FrameClock | None = None,
        figsize: tuple[float, float] = (4.4, 4.4),
        dpi: int = 80,
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "DecisionBoundary")
        check_clock(clock)
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not 2 <= resolution <= 1000:
            raise ValueError(f"resolution must be an int from 2 to 1000 (grid points per side), got {resolution!r}")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
            raise ValueError(f"margin must be a number from 0 to 10 (share of the data's size), got {margin!r}")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 2:
            raise ValueError(f"keep must be an int of at least 2 (stored epochs), got {keep!r}")
        points = _points("x", x)
        labels = _labels("y", y, len(points), "x")
        if (x_valid is None) != (y_valid is None):
            raise ValueError("x_valid and y_valid go together: give both or neither")
        valid_points, valid_labels = None, np.empty(0, dtype=np.int64)
        if x_valid is not None:
            valid_points = _points("x_valid", x_valid)
            valid_labels = _labels("y_valid", y_valid, len(valid_points), "x_valid")
        device = model_device(model)
        for name, tensor in (("x", points), ("x_valid", valid_points)):
            if tensor is not None and trainer is None and tensor.device != device:
                raise ValueError(
                    f"{name} is on {tensor.device} but the model is on {device}: move one of them, e.g. {name}.to({str(device)!r})"
                )
        outputs = _probe(model, device)
        classes = max(outputs, 2)
        seen = int(max(labels.max(), valid_labels.max() if len(valid_labels) else 0))
        if seen >= classes:
            what = "1 output (two classes, 0 and 1)" if outputs == 1 else f"{outputs} outputs (classes 0 to {outputs - 1})"
            raise ValueError(f"the labels hold class {seen} but the model has {what}")

        self.trainer = trainer
        self.model = model
        self.resolution = resolution
        self.outputs = outputs
        self.classes = classes
        self.keep = keep
        self.stored: dict[int, BoundaryFrame] = {}
        self._stride = 1
        self._labels = np.concatenate([labels, valid_labels])
        self._train_count = len(labels)
        self._scale = 0.0
        self._threshold: float | None = None
        self._boundary_epoch: int | None = None
        self._epoch_end: float | None = None
        self._epoch_seconds: float | None = None
        self._selected: int | None = None
        self._syncing = False
        self.shown: BoundaryFrame | None = None  # what the image shows now

        cpu_points = [points.detach().float().cpu().numpy()]
        if valid_points is not None:
            cpu_points.append(valid_points.detach().float().cpu().numpy())
        all_points = np.concatenate(cpu_points)
        low, high = all_points.min(axis=0), all_points.max(axis=0)
        pad = np.maximum((high - low) * margin, 1e-3)
        self.bounds = (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1]))
        gx = np.linspace(self.bounds[0], self.bounds[1], resolution)
        gy = np.linspace(self.bounds[2], self.bounds[3], resolution)
        grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)  # row 0 is the bottom (origin="lower")
        data = [torch.from_numpy(grid.astype(np.float32)), points.detach().float().cpu()]
        if valid_points is not None:
            data.append(valid_points.detach().float().cpu())
        self._inputs_cpu = torch.cat(data)
        self._inputs = self._inputs_cpu
        self._point_xy = all_points

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

    # --- figure ----------------------------------------------------------------------------
    def _build(self) -> None:
        ax = self.frame.figure.add_subplot()
        self.frame.figure.subplots_adjust(left=0.12, right=0.97, bottom=0.1, top=0.92)
        self._ax = ax
        ax.set_xlim(self.bounds[0], self.bounds[1])
        ax.set_ylim(self.bounds[2], self.bounds[3])
        ax.set_aspect("auto")
        title = {1: "model output", 2: "p(class 1)"}.get(self.outputs, "predicted class (faded: unsure)")
        ax.set_title(title, fontsize=10)
        blank = np.zeros((self.resolution, self.resolution, 3), dtype=np.uint8)
        self._field = ax.imshow(blank, extent=self.bounds, origin="lower", interpolation="bilinear", aspect="auto")
        self._class_colours = class_colours(self.classes)
        self._lut = _lookup_table(self.outputs, self.classes, self._class_colours)
        self._point_lines = []
        self._miss_lines = []
        train = np.arange(len(self._labels)) < self._train_count
        for part, marker, edge in ((train, "o", "white"), (~train, "^", "black")):
            for cls in range(self.classes):
                chosen = part & (self._labels == cls)
                if chosen.any():
                    (line,) = ax.plot(*self._point_xy[chosen].T, marker, color=self._class_colours[cls],
                                      markersize=4, markeredgecolor=edge, markeredgewidth=0.5, linestyle="none")
                    self._point_lines.append(line)
            (miss,) = ax.plot([], [], "x", color="black", markersize=5, markeredgewidth=1.2, linestyle="none")
            self._miss_lines.append(miss)
        self._label = ax.text(0.02, 0.98, "", transform=ax.transAxes, va="top", ha="left", fontsize=9,
                              bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.5})
        self.frame.animate(self._field, *self._point_lines, *self._miss_lines, self._label)

    # --- evaluation -----------------------------------------------------------------------------
    def evaluate(self, label: str = "") -> BoundaryFrame:
        """The model's output over the grid and on the points now (eval mode, no grad; modes restored)."""
        device = model_device(self.model)
        dtype = _model_dtype(self.model)
        if self._inputs.device != device or self._inputs.dtype != dtype:
            self._inputs = self._inputs_cpu.to(device=device, dtype=dtype)
        with evaluation(self.model):
            output = self.model(self._inputs)
        output = output.detach().float().cpu().reshape(len(self._inputs), -1)
        cells = self.resolution * self.resolution
        side = (self.resolution, self.resolution)
        if self.outputs == 1:
            values = output[:, 0].numpy()
            if self._threshold is None:
                self._threshold = 0.5 if values.min() >= 0 and values.max() <= 1 else 0.0
            spread = float(np.abs(values[:cells] - self._threshold).max())
            if spread > self._scale or self._scale == 0:
                self._scale = nice_ceiling(max(spread, 1e-6))
            codes = np.clip((values[:cells] - self._threshold) / self._scale * 127.5 + 127.5, 0, 255)
            codes = codes.round().astype(np.uint8).reshape(side)
            predicted = (values[cells:] > self._threshold).astype(np.uint8)
        else:
            probabilities = output if _are_probabilities(output) else torch.softmax(output, dim=1)
            predicted = probabilities[cells:].argmax(dim=1).numpy().astype(np.uint8 if self.classes <= 256 else np.int64)
            grid = probabilities[:cells]
            if self.outputs == 2:
                codes = (grid[:, 1] * 255).round().to(torch.uint8).numpy().reshape(side)
            else:
                confidence, winner = grid.max(dim=1)
                floor = 1.0 / self.classes
                shade = ((confidence - floor) / (1 - floor)).clamp(0, 1) * 255
                codes = np.stack([winner.numpy().astype(np.uint8).reshape(side), shade.round().to(torch.uint8).numpy().reshape(side)])
        return BoundaryFrame(codes=codes, predicted=predicted, scale=self._scale, label=label)

    def _colours(self, frame: BoundaryFrame) -> np.ndarray:
        if frame.codes.ndim == 3:
            return self._lut[frame.codes[0], frame.codes[1]]
        return self._lut[frame.codes]

    def _render(self, frame: BoundaryFrame) -> None:
        self._field.set_data(self._colours(frame))
        wrong = frame.predicted != self._labels
        train = np.arange(len(wrong)) < self._train_count
        for miss, part in zip(self._miss_lines, (train, ~train)):
            miss.set_data(*self._point_xy[wrong & part].T)
        show = self.points_toggle.value
        for line in (*self._point_lines, *self._miss_lines):
            line.set_visible(show)
        text = frame.label
        if self.outputs == 1:
            text = f"{text}  ({self._threshold:g} ± {frame.scale:g})".strip()
        self._label.set_text(text)
        self._label.set_visible(bool(text))
        self.shown = frame
        self.frame.blit()

    def draw(self) -> None:
        if self._selected is not None and self._selected in self.stored:
            self._render(self.stored[self._selected])
            return
        epoch = self._boundary_epoch
        if epoch is not None and epoch in self.stored:
            self._render(self.stored[epoch])  # evaluated when the epoch ended; only the drawing was left
            return
        self._render(self.evaluate(self._live_label(epoch)))

    def _live_label(self, epoch: int | None) -> str:
        if epoch is not None:
            return f"epoch {epoch}"
        if self.trainer is not None:
            return f"epoch {self.trainer.epoch}, step {self.trainer.global_step}"
        return ""

    # --- stored epochs --------------------------------------------------------------------------
    def store_epoch(self, epoch: int) -> BoundaryFrame:
        """Evaluate the model now and keep the grid as `epoch`'s frame, without drawing anything."""
        with self._draw_lock:
            frame = self.evaluate(f"epoch {epoch}")
            self._store(epoch, frame)
        return frame

    def _store(self, epoch: int, frame: BoundaryFrame) -> None:
        """Keep the frame of `epoch`: epochs on the stride, plus the newest; thinned evenly past `keep`."""
        newest = max(self.stored, default=None)
        if newest is not None and newest % self._stride and newest != epoch:
            del self.stored[newest]  # the previous newest was kept only for being the newest
        self.stored[epoch] = frame
        while len(self.stored) > self.keep:
            self._stride *= 2
            for kept in [e for e in self.stored if e % self._stride and e != epoch]:
                del self.stored[kept]
        if not self._running():
            self._sync_slider(epoch)  # while training the slider is disabled; leaving "running" syncs it

    def _sync_slider(self, value: int | None = None) -> None:
        self._syncing = True
        try:
            if self.stored:
                first, last = min(self.stored), max(self.stored)
                self.slider.max = max(last, self.slider.min)
                self.slider.min = first
                self.slider.max = last
                self.slider.step = 1
                self.slider.value = last if value is None else value
            else:
                self.slider.min, self.slider.max, self.slider.value = 0, 0, 0
            self.slider.disabled = self._running() or len(self.stored) < 2
        finally:
            self._syncing = False

    def _running(self) -> bool:
        return self.trainer is not None and self.trainer.state == "running"

    def stored_epoch(self, value: int) -> int | None:
        """The stored epoch a slider value shows: the latest stored one at or before it."""
        candidates = [e for e in self.stored if e <= value]
        return max(candidates) if candidates else None

    def _on_slider(self, change: dict) -> None:
        if self._syncing:
            return
        with self._draw_lock:
            self._selected = self.stored_epoch(int(change["new"]))
        self.request_frame("final")

    def _on_points(self, change: dict) -> None:
        with self._draw_lock:
            if self.shown is not None:
                self._render(self.shown)

    # --- hand-written loops ---------------------------------------------------------------------
    def update(self, epoch: int | None = None) -> None:
        """Draw the model's boundary now; with `epoch`, also store it as that epoch's frame."""
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
            raise ValueError(f"epoch must be a non-negative int or None, got {epoch!r}")
        with self._draw_lock:
            self._selected = None
            if epoch is not None:
                self.store_epoch(epoch)
            self._boundary_epoch = epoch
        self.request_frame("final")
        with self._draw_lock:
            self._boundary_epoch = None

    # --- trainer events --------------------------------------------------------------------------
    def on_step(self, record: dict) -> None:
        self._boundary_epoch = None
        if self._epochs_are_short():
            self.mark_stale()  # epochs end faster than the clock ticks: their frames (kept for the slider) suffice
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
        self.store_epoch(epoch)  # every epoch is kept for the slider; drawing it waits for the clock
        with self._draw_lock:
            self._boundary_epoch = epoch
        self.request_frame("epoch")

    def on_state(self, change: dict) -> None:
        if change.get("state") == "running":
            with self._draw_lock:
                self._selected = None
                self._epoch_end = None  # a pause is no part of an epoch's length
            self._sync_slider()
        elif change.get("previous") == "running":
            super().on_state(change)
            self._sync_slider()  # the slider was left alone while running: it now spans the stored epochs, at the newest

    def on_reset(self, payload: dict) -> None:
        with self._draw_lock:
            self.stored.clear()
            self._stride = 1
            self._selected = None
            self._boundary_epoch = None
            self._epoch_end = self._epoch_seconds = None
            self._sync_slider()
        super().on_reset(payload)

    # --- View --------------------------------------------------------------------------------------
    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()


def _probe(model: nn.Module, device: torch.device) -> int:
    """The number of outputs of `model` for one 2-D point, or a ValueError if it cannot take one."""
    probe = torch.zeros(1, 2, device=device, dtype=_model_dtype(model))
    try:
        with evaluation(model):
            output = model(probe)
    except Exception as error:  # any failure here means: not a model of 2 input features
        raise ValueError(
            f"DecisionBoundary needs a model of 2 input features, but {_expected_features(model)}: "
            f"a [1, 2] input failed with {type(error).__name__}: {error}"
        ) from None
    if not isinstance(output, torch.Tensor) or output.dim() not in (1, 2) or output.shape[0] != 1:
        shape = list(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(f"DecisionBoundary needs an output of shape [N] or [N, K] per batch of N points; a [1, 2] input gave {shape}")
    return 1 if output.dim() == 1 else int(output.shape[1])


def _are_probabilities(output: torch.Tensor) -> bool:
    """Does every row already hold probabilities (a model ending in softmax)? Then no softmax on top."""
    return bool((output >= 0).all() and (output <= 1).all() and torch.allclose(output.sum(dim=1), torch.ones(len(output)), atol=1e-4))


def _lookup_table(outputs: int, classes: int, class_colours: list) -> np.ndarray:
    """uint8 RGB per code: [256, 3] for 1 or 2 outputs, [K, 256, 3] (class, confidence) for more."""
    white = np.ones(3)
    if outputs <= 2:
        colours = colormaps[_DIVERGING](np.linspace(0.15, 0.85, 256))[:, :3]  # the dark ends are for the points
        return ((colours * (1 - _FIELD_LIGHTNESS) + _FIELD_LIGHTNESS) * 255).round().astype(np.uint8)
    shade = np.linspace(0, 1, 256)[None, :, None] * (1 - _FIELD_LIGHTNESS)
    colours = np.asarray(class_colours)[:, None, :]
    return ((colours * shade + white * (1 - shade)) * 255).round().astype(np.uint8)
