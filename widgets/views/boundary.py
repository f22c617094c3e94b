"""DecisionBoundary: what a model of 2-D inputs predicts over the plane, drawn live in the page, with past
epochs.

The kernel evaluates the model over a grid covering the data and sends the
answer as uint8 codes (`boundary_field.py`); the page (`js/field.js`) turns the
codes into colours through a palette sent once, smooths them up to the canvas,
and draws the axes, the points and a readout under the pointer:
- 2 classes: p(class 1) on a diverging map (blue: class 0, red: class 1);
- K > 2 classes: each class's colour, faded towards white where the model is unsure;
- 1 output: p(class 1) when the trainer's loss says what the output is
  (BCEWithLogitsLoss: a logit; BCELoss: a probability); otherwise the value
  on the diverging map, centred on the decision threshold, or, for a model
  fitted to float targets, on the middle of the targets (the points then take
  the colour of their target value). A multi-label model (one of those losses
  over several outputs) is refused: no one class wins at a point.
Outputs of K >= 2 are taken as logits (softmax applied) unless every row
already holds probabilities. The points are drawn in their class colour, the
misclassified ones crossed out, validation points as triangles.

What travels. Once: the points (float32 [N, 2]), their labels, the palette,
and in `options` the bounds, class colours, title and which points are for
validation. At each pacer round while training: the field on a grid of
`live_resolution` points a side (32 x 32: 1,024 bytes; the page smooths it), a uint8 per point
(misclassified or not) and the frame's epoch and step (32 bytes). When a run
stops: the field at `resolution` (100 x 100: 10,000 bytes), stored in the
picture's `data` trait for a page opened later.

Kept epochs. With a trainer, epochs are kept for the page's slider: the first,
then evenly spread ones (at most `keep`), and the last one of every run. While
a run goes on they are kept as copies of the weights (`model_replica.py`,
microseconds); when it stops they are evaluated at `resolution` off the
training loop, one epoch per turn of the kernel's event loop (where there is
no loop, a script, when one is asked for or by `finish()`), and each is sent
to the page once. The page keeps them: its
slider scrubs through them without asking the kernel, and asks (a "want"
message) only for an epoch it lacks. Memory: the page and the kernel each hold
at most `keep` fields of `resolution`² bytes (twice that for K > 2 classes)
plus a byte per point each; at the defaults 64 x 100 x 100 bytes = 640 KB. A
model that cannot be copied, or whose kept weights would pass
`model_replica.MAX_KEPT_BYTES`, has its kept epochs evaluated when kept, at
`live_resolution`.

Off the training thread. While a run goes on, and when it stops, a model made
of torch.nn's own modules has its weights copied between two steps (about
0.4 ms) and its field computed and sent by the views' worker thread
(`worker.py`), beside the next steps: a forward pass lets go of the
interpreter, so on a second core it costs the run almost nothing. A model with
modules of its own (which might draw random numbers, and torch's random state
is shared) is evaluated on the training thread, between two steps.

Every call of the model the view makes runs between two training steps
(`Trainer.between_steps`), in eval and inference mode with torch's random
state forked, so a run trains the same with or without the view.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .base import model_and_trainer
from .boundary_field import (
    BoundaryFrame,
    Deferred,
    EpochStore,
    OutputCoder,
    caption,
    class_colours,
    colour,
    data_bounds,
    diverging,
    grid_points,
    lookup_table,
    misclassified,
    value_codes,
)
from .live import LiveView, check_pacer
from .model_replica import KeptWeights, ModelReplica
from .module_tree import require_initialized
from .pacer import Pacer
from .picture import Picture
from .worker import WORKER

__all__ = ["DEFAULT_SIZE", "MARGINS", "MIN_SIZE", "BoundaryFrame", "DecisionBoundary"]

DEFAULT_SIZE = (360, 360)
"""Width and height of the canvas in CSS pixels."""
MIN_SIZE = (200, 200)
"""The smallest canvas in which the title, tick labels and caption still fit."""
MARGINS = {"left": 46, "right": 12, "top": 24, "bottom": 28}
"""Pixels around the field, in the page and in the still: room for tick labels (left, bottom) and the title
(top)."""

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


def _only_torch_modules(model: nn.Module) -> bool:
    return not _may_draw_in_eval([(module, False) for module in model.modules()])


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
    """The first module, in the order the model lists them, that holds parameters of its own (None if none
    does)."""
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
        return ValueError(
            f"DecisionBoundary needs a model of 2 input features, but its first layer, {layer}, "
            f"expects {features} input features: {failed}"
        )
    if isinstance(features, int):
        return ValueError(
            "DecisionBoundary calls the model on one [N, 2] tensor of points, as model(x); its first layer, "
            f"{layer}, takes 2 input features, but {failed}. A model whose forward takes something else (a "
            "tuple, several tensors, a dict) needs a small nn.Module around it that takes the [N, 2] points"
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
            "DecisionBoundary needs an output of shape [N] or [N, K] per batch of N points; a [1, 2] input "
            f"gave {shape}"
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
    if not (
        tensor.is_floating_point()
        or tensor.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
    ):
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
    return outputs == 1 and any(
        np.issubdtype(t.dtype, np.floating) and not np.isin(t, (0, 1)).all() for t in targets
    )


def _classes(name: str, targets: np.ndarray) -> np.ndarray:
    if np.any(targets != np.round(targets)) or np.any(targets < 0):
        raise ValueError(f"{name} must hold whole class numbers counted from 0")
    return targets.astype(np.int64)


def _point_sets(
    x: Any, y: Any, x_valid: Any, y_valid: Any
) -> tuple[torch.Tensor, torch.Tensor | None, list[np.ndarray]]:
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
        what = (
            "1 output (two classes, 0 and 1)"
            if outputs == 1
            else f"{outputs} outputs (classes 0 to {outputs - 1})"
        )
        raise ValueError(f"the labels hold class {seen} but the model has {what}")
    return labels, False


def _output_kind(trainer: Any, outputs: int) -> str | None:
    """What a classifier's outputs are, when its trainer's loss says: "logits" (BCEWithLogitsLoss),
    "probabilities" (BCELoss), else None. Such a loss over several outputs is a multi-label model: refused,
    one class per point is what the field shows."""
    loss = getattr(trainer, "loss_fn", None)
    kinds = {nn.BCEWithLogitsLoss: "logits", nn.BCELoss: "probabilities"}
    kind = next((name for cls, name in kinds.items() if isinstance(loss, cls)), None)
    if kind is not None and outputs > 1:
        raise ValueError(
            f"DecisionBoundary colours the plane by one class per point, but this model's {outputs} outputs "
            f"are trained with {type(loss).__name__}, each a yes/no of its own (multi-label), so no one "
            "class wins. Show one label at a time: a module whose forward returns model(x)[:, k:k + 1] for "
            "label k, with y[:, k] as the classes"
        )
    return kind


def _check_side(name: str, value: Any, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= most:
        raise ValueError(f"{name} must be an int from 2 to {most} (grid points per side), got {value!r}")
    return value



def _check_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (int(side) for side in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be (width, height) in pixels, got {size!r}") from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(
            f"size must be at least {MIN_SIZE} pixels (width, height) so every label fits, got {size!r}"
        )
    return width, height


def _check_epoch(epoch: Any) -> None:
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        raise ValueError(f"epoch must be a non-negative int or None, got {epoch!r}")


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgb)


class DecisionBoundary(LiveView):
    """Live decision boundary of a model with 2 input features, over the data's plane, drawn in the page.

    `DecisionBoundary(trainer, x, y)` follows a Trainer: the field at every
    pacer round while it trains, on a grid of `live_resolution` points a side
    (default 50), and at `resolution` (default 100) when it stops; past epochs
    kept for the page's slider (`epochs` lists them, `show_epoch(epoch)` shows
    one). `DecisionBoundary(model, x, y)` with a hand-written loop: call
    `update(epoch=...)` after an epoch. `margin` widens the data's box by that
    share of its size on every side; `keep` bounds the kept epochs (default
    64); `size` is the canvas's (width, height) in pixels, at least `MIN_SIZE`.
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
        keep: int = 64,
        margin: float = 0.1,
        pacer: Pacer | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
        live_resolution: int = 32,
    ) -> None:
        model, trainer = model_and_trainer(model_or_trainer, "DecisionBoundary")
        check_pacer(pacer)
        _check_side("resolution", resolution, 1000)
        _check_side("live_resolution", live_resolution, 1000)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
            raise ValueError(
                f"margin must be a number from 0 to 10 (share of the data's size), got {margin!r}"
            )
        store = EpochStore(keep)
        width, height = _check_size(size)
        points, valid_points, targets = _point_sets(x, y, x_valid, y_valid)
        device = model_device(model)
        for name, tensor in (("x", points), ("x_valid", valid_points)):
            if tensor is not None and trainer is None and tensor.device != device:
                raise ValueError(f"{name} is on {tensor.device} but the model is on {device}: "
                                 f"move one of them, e.g. {name}.to({str(device)!r})")
        require_initialized(model, "DecisionBoundary")
        outputs = _probe(model, device)
        labels, regression = _labels(targets, outputs)
        single = None if regression else _output_kind(trainer, outputs)

        self.trainer = trainer
        self.model = model
        self.resolution = resolution
        """Grid points per side of a field evaluated when a run stops, by `update()` and for a kept epoch."""
        self.live_resolution = min(live_resolution, resolution)
        """Grid points per side of the field sent at each round while training (at most `resolution`)."""
        self.outputs = outputs
        self.classes = max(outputs, 2)
        # a 1-output classifier whose loss says what it gives: p(class 1)
        self._face = 2 if single is not None else outputs
        self.regression = regression
        self.keep = keep
        self.stored = store
        """The kept epochs: a mapping epoch -> BoundaryFrame, oldest first (reading one evaluates it
        if needed)."""
        self._shown: BoundaryFrame | None = None  # the live model's frame, or a kept epoch's after show_epoch
        self._live: BoundaryFrame | None = None  # the live model's latest frame
        self._selected: int | None = None  # the kept epoch shown instead of the live model
        self._shown_serial = 0
        self._dirty = True  # the model may have changed since the live frame was made
        # counts the live model's evaluations begun: a late field from the worker gives way
        self._live_serial = 0
        # kept epochs whose fields are in the picture, and which frame
        self._kept_sent: dict[int, BoundaryFrame] = {}
        self._kept_version = -1  # the store's version the picture holds
        self._chain_queued = False  # kept epochs are being evaluated on the kernel's loop, one per turn
        self._labels = labels
        self._train_count = len(targets[0])
        self._coder = OutputCoder(outputs, self.classes, labels if regression else None, single)
        self._replica = ModelReplica(model, keep)
        self._replica_lock = threading.Lock()  # one evaluation at a time on the model's private copy
        cpu_points = [points.detach().float().cpu()]
        if valid_points is not None:
            cpu_points.append(valid_points.detach().float().cpu())
        self._point_tensor = torch.cat(cpu_points)
        self._point_xy = self._point_tensor.numpy()
        self.bounds = data_bounds(self._point_xy, margin)
        """(x0, x1, y0, y1): the plane the field covers."""
        self._inputs: dict[int, torch.Tensor] = {}
        self._class_colours = class_colours(self.classes)
        # the dark ends are for the points
        self._table = lookup_table(outputs, self._class_colours, diverging(0.15, 0.85))
        self._point_table = lookup_table(2, [], diverging(), lightness=0.0)

        picture = Picture("field", width=width, height=height)
        super().__init__(ipw.VBox([picture]), picture, "boundary", pacer)
        self._put_constants()
        if trainer is not None:
            self.follow(trainer)
            self.listen(trainer, "state", self._on_run_start)
        self.finish()

    # --- what a learner can read ------------------------------------------------------------
    @property
    def shown(self) -> BoundaryFrame | None:
        """The frame the view shows: the live model's, or a kept epoch's after `show_epoch`."""
        self.settle()
        return self._shown

    @property
    def epochs(self) -> list[int]:
        """The kept epochs the slider goes through, oldest first."""
        self.settle()
        with self._lock:
            return self.stored.epochs

    @property
    def caption(self) -> str:
        """The text written on the field now, e.g. "epoch 12" (with the value range for 1 output)."""
        shown = self.shown
        return caption(shown, self._face) if shown is not None else ""

    @property
    def palette(self) -> np.ndarray:
        """The colour of every code: uint8 RGB [256, 3], or [K, 256, 3] (class, confidence) for K > 2
        classes."""
        table = self._table.view()
        table.flags.writeable = False
        return table

    @property
    def misclassified(self) -> np.ndarray:
        """Which points the shown frame crosses out (training points, then validation points)."""
        shown = self.shown
        if shown is None:
            return np.zeros(len(self._labels), dtype=bool)
        return misclassified(shown, self._labels, self.regression)

    @property
    def class_colours(self) -> list[tuple[float, float, float]]:
        """The RGB colour (0..1) of each class's points, as in every view (`style.class_colours`)."""
        return list(self._class_colours)

    @property
    def title(self) -> str:
        """What the field shows, written above it."""
        return {1: "model output", 2: "p(class 1)"}.get(self._face, "predicted class (faded: unsure)")

    # --- evaluation -------------------------------------------------------------------------------
    def evaluate(self, resolution: int | None = None) -> BoundaryFrame:
        """The model's output over the grid (of `resolution`, default the view's) and on the points, now.

        It runs between two training steps, in eval and inference mode with
        torch's random state forked; the model's modes and the random state are
        as before afterwards. Nothing is sent.
        """
        side = self.resolution if resolution is None else _check_side("resolution", resolution, 1000)
        with self._model_turn():
            return self._evaluate(self.model, side, *self._position())

    def _evaluate(self, model: nn.Module, side: int, epoch: int, step: int) -> BoundaryFrame:
        device = model_device(model)
        inputs = self._inputs_on(side, device, _model_dtype(model))
        with untouched(model, device):
            return self._coder.code(model(inputs), side, epoch, step)

    def _inputs_on(self, side: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """The grid of `side` and the points as one tensor on the model's device, built once per side."""
        inputs = self._inputs.get(side)
        if inputs is None or inputs.device != device or inputs.dtype != dtype:
            cpu = torch.cat([grid_points(self.bounds, side), self._point_tensor])
            inputs = self._inputs[side] = cpu.to(device=device, dtype=dtype)
        return inputs

    @contextmanager
    def _model_turn(self) -> Iterator[None]:
        """The trainer held between two steps, then the view's lock: always in this order, so no two threads
        wait on each other."""
        with self.trainer.between_steps() if self.trainer is not None else nullcontext(), self._lock:
            yield

    def _running(self) -> bool:
        return self.trainer is not None and self.trainer.state == "running"

    def _position(self) -> tuple[int, int]:
        """(epoch, step) of the live model: (12, -1) at the end of epoch 12, (3, 40) inside epoch 4."""
        trainer = self.trainer
        if trainer is None:
            return -1, -1
        return (trainer.epoch, -1) if trainer.batch_in_epoch == 0 else (trainer.epoch, trainer.global_step)

    def _evaluate_live(self) -> None:
        """Evaluate the live model (coarse while training, full when not) and put its frame into the
        picture."""
        running = self._running()
        self._live_serial += 1
        frame = self._evaluate(
            self.model, self.live_resolution if running else self.resolution, *self._position()
        )
        self._show_live(frame, running)

    def _show_live(self, frame: BoundaryFrame, running: bool) -> None:
        self._dirty = False
        self._put_live(frame)
        epoch = frame.epoch
        if not running and frame.step < 0 and epoch > 0 and not self._kept_in_full(epoch):
            self.stored.add(epoch, frame)  # the model sits at the end of a run's last epoch: keep it as shown

    def _evaluate_aside(self, last: bool) -> bool:
        """Copy the weights now and have the worker evaluate the copy and send its field (`last`: then store
        the picture too). False, with nothing done, for a model that cannot run aside: one that cannot be
        copied, or whose modules are not all torch.nn's own (they might draw random numbers, and torch's
        random state is shared with the training thread)."""
        if self.is_recording or not _only_torch_modules(self.model):
            return False
        weights = self._replica.capture()
        if weights is None:
            return False
        running = self._running()
        side, position = self.live_resolution if running else self.resolution, self._position()
        self._live_serial += 1
        serial, self._dirty = self._live_serial, False

        def evaluate_and_send() -> None:
            if self.closed:
                return
            with self._replica_lock:
                frame = self._evaluate(weights.load(), side, *position)
            if self.closed:
                return
            with self._lock:
                if self.closed or serial != self._live_serial:
                    return  # the view closed, or a newer evaluation began meanwhile
                self._show_live(frame, running)
                self._put_kept()
                self.picture.send()
                if last:
                    self.picture.store()

        WORKER.submit(self, evaluate_and_send)
        return True

    def _put_live(self, frame: BoundaryFrame) -> None:
        self._live, self._dirty = frame, False
        if self._selected is None:
            self._shown = frame
        self.picture.put("field", frame.codes)
        self.picture.put("wrong", self._wrong(frame))
        self.picture.put("live", frame.info)

    def _put_shown(self) -> None:
        """Tell the page what to show: [the selected epoch, or -1 for the live model; a serial, so
        each request counts once]."""
        self._shown_serial += 1
        epoch = -1 if self._selected is None else self._selected
        self.picture.put("shown", np.array([epoch, self._shown_serial], dtype=np.int32))

    def _wrong(self, frame: BoundaryFrame) -> np.ndarray:
        return misclassified(frame, self._labels, self.regression).astype(np.uint8)

    def _kept_in_full(self, epoch: int) -> bool:
        return self.stored.computed(epoch) and self.stored[epoch].resolution == self.resolution

    # --- kept epochs ----------------------------------------------------------------------------
    def _keep_epoch(self, epoch: int) -> None:
        """Keep the model as `epoch`'s: a copy of its weights, or, for a model that cannot be copied,
        its field now."""
        weights = self._replica.capture()
        if weights is None:
            self.stored.add(epoch, self._evaluate(self.model, self.live_resolution, epoch, -1))
        else:
            self.stored.add(epoch, Deferred(lambda: self._evaluate_kept(weights, epoch)))

    def _evaluate_kept(self, weights: KeptWeights, epoch: int) -> BoundaryFrame:
        """The frame of weights kept earlier, run on the model's private copy (never the live model)."""
        with self._lock, self._replica_lock:
            return self._evaluate(weights.load(), self.resolution, epoch, -1)

    def _pending(self) -> list[int]:
        """Kept epochs not evaluated yet, newest first (the slider's likeliest next stop)."""
        return [epoch for epoch in reversed(self.stored.epochs) if not self.stored.computed(epoch)]

    def _put_kept(self) -> None:
        """Put the list of kept epochs and every evaluated one the picture lacks; drop those no longer
        kept."""
        if self.stored.version == self._kept_version:
            return
        self._kept_version = self.stored.version
        epochs = self.stored.epochs
        rows = [
            self.stored[e].info if self.stored.computed(e) else np.array([e, -1, np.nan, np.nan])
            for e in epochs
        ]
        self.picture.put("kept", np.array(rows, dtype=np.float64).reshape(-1, 4))
        for epoch in [e for e in self._kept_sent if e not in self.stored]:
            self.picture.drop(f"field:{epoch}")
            self.picture.drop(f"wrong:{epoch}")
            del self._kept_sent[epoch]
        for epoch in epochs:
            if self.stored.computed(epoch) and self._kept_sent.get(epoch) is not self.stored[epoch]:
                frame = self._kept_sent[epoch] = self.stored[epoch]
                self.picture.put(f"field:{epoch}", frame.codes)
                self.picture.put(f"wrong:{epoch}", self._wrong(frame))

    def _evaluate_one_pending(self) -> None:
        """Evaluate and send one kept epoch, then queue the next; a run that started meanwhile stops the chain
        (its stop starts it again), so this never runs between the steps of a run."""
        with self._lock:
            if self.closed or self._running():
                self._chain_queued = False
                return
            pending = self._pending()
            if pending:
                _ = self.stored[pending[0]]  # reading a deferred epoch evaluates it
                self._put_kept()
                self.picture.send()
            else:
                self.picture.store()  # all sent: what a page opened later shows holds them too
            self._chain_queued = bool(pending) and self.loop.later(self._evaluate_one_pending)

    def show_epoch(self, epoch: int | None) -> None:
        """Show the kept epoch at or before `epoch` (None, or an epoch past the kept ones: the live model), as
        the page's slider does; from any thread (the work runs on the kernel's loop)."""
        _check_epoch(epoch)
        self.loop.run(lambda: self._show(epoch))

    def _show(self, epoch: int | None) -> None:
        with self._lock:
            live_epoch = self._live.epoch if self._live is not None else -1
            kept = self.stored.epochs
            if epoch is None or not kept or epoch >= max(kept[-1], live_epoch):
                self._selected, self._shown = None, self._live
            else:
                before = self.stored.at_or_before(epoch)
                self._selected = kept[0] if before is None else before
                self._shown = self.stored[self._selected]
            self._put_shown()
            self._put_kept()
            self.picture.send()
        self.record_frame()

    def on_request(self, message: dict) -> None:
        """The page asks for a kept epoch it lacks ({"type": "want", "epoch": e}): evaluate it if
        needed and send it."""
        epoch = message.get("epoch")
        if message.get("type") != "want" or isinstance(epoch, bool) or not isinstance(epoch, int):
            return
        with self._lock:
            self._kept_version = -1  # the page gets the list of kept epochs again (this one may be gone)
            if epoch in self.stored:
                self._kept_sent.pop(epoch, None)  # the page lacks it: send it again even if it went before
                _ = self.stored[epoch]  # reading a deferred epoch evaluates it
            self._put_kept()
            self.picture.send()

    # --- hand-written loops ---------------------------------------------------------------------
    def update(self, epoch: int | None = None) -> None:
        """Evaluate the model now at `resolution` and send it; with `epoch`, also keep it as that
        epoch's frame."""
        _check_epoch(epoch)
        with self._model_turn():
            frame = self._evaluate(
                self.model, self.resolution, *((epoch, -1) if epoch is not None else self._position())
            )
            self._selected = None
            self._put_live(frame)
            self._put_shown()
            if epoch is not None:
                self.stored.add(epoch, frame)
            self._put_kept()
            self.picture.send()
        if epoch is not None:
            self.record_frame()

    # --- trainer events --------------------------------------------------------------------------
    def on_step(self, record: dict) -> None:
        self._dirty = True
        self.pacer.tick()

    def on_epoch(self, record: dict) -> None:
        epoch = int(record["epoch"])
        with self._model_turn():
            self._dirty = True
            if self.stored.wants(epoch):
                self._keep_epoch(epoch)
            if self.is_recording:
                self.push()  # the frame of the epoch's end, for the recording
        self.record_frame()
        self.pacer.tick()

    def _on_run_start(self, change: dict) -> None:
        if change.get("state") != "running" or change.get("previous") == "running":
            return
        trainer = self.trainer
        if trainer is None:  # subscribed only to a trainer's events
            return
        with self._lock:
            target = trainer.target_epoch
            if target is not None:
                self.stored.plan(trainer.epoch + 1, target)
            self._selected, self._shown = None, self._live  # a new run shows the live model again
            self._put_shown()

    def on_stop(self) -> None:
        """The run stopped: evaluate the model at `resolution` (aside, on the worker, where it can), keep the
        run's last epoch, send and store; the other kept epochs are evaluated off the training loop, one per
        turn of the kernel's loop (without a loop, a script: when asked for, or by `finish()`)."""
        with self._model_turn():
            self._dirty = True
            aside = self._evaluate_aside(last=True)
            if not aside:
                self.collect()
            if self._pending() and not self._chain_queued:
                self._chain_queued = self.loop.later(self._evaluate_one_pending)
            if not aside:
                self.picture.store()

    def on_reset(self, payload: dict) -> None:
        with self._model_turn():
            self.stored.clear()
            self._coder.reset()
            self._selected = None
            self._put_shown()
        super().on_reset(payload)

    # --- LiveView ---------------------------------------------------------------------------------
    def push(self) -> bool:
        """The pacer's round: while a run goes on, the field of a copy of the weights is made and sent by the
        worker, beside the next steps; otherwise here."""
        with self._model_turn():
            if self._dirty and self._running():
                self._evaluate_aside(last=False)
            return super().push()

    def finish(self) -> None:
        """Evaluate the model now (at `resolution` unless a run is going on) and every kept epoch not
        evaluated yet, send them, and store everything."""
        with self._model_turn():
            self._dirty = True
            for epoch in self._pending():
                _ = self.stored[epoch]  # reading a deferred epoch evaluates it
            super().finish()

    def collect(self) -> None:
        if self._dirty:
            self._evaluate_live()
        self._put_kept()

    def _put_constants(self) -> None:
        """What goes once: the points, their labels, the palettes and the options."""
        self.picture.put("points", self._point_xy.astype(np.float32))
        self.picture.put("labels", self._labels.astype(np.float32))
        self.picture.put("palette", self._table.reshape(-1, 3))
        self.picture.put("point_palette", self._point_table)
        self._put_shown()
        self.picture.options = {
            "title": self.title,
            "outputs": self._face,
            "classes": self.classes,
            "regression": self.regression,
            "train_count": self._train_count,
            "bounds": list(self.bounds),
            "class_colours": [_hex(rgb) for rgb in self._class_colours],
            "margins": MARGINS,
        }

    def frame_state(self) -> BoundaryFrame | None:
        """The frame shown now (its codes, the model's answer on the points, its epoch)."""
        return self._shown

    def render_png(self, state: BoundaryFrame | None) -> bytes:
        from .boundary_still import render_field  # matplotlib loads only when a still is asked for

        frame = state if state is not None else self._live
        if frame is None:
            raise RuntimeError(
                "DecisionBoundary has no field yet: it is computed in the background; try again"
            )
        if self.regression:
            point_rgb = self._point_table[value_codes(self._labels, frame.centre, frame.scale)] / 255
        else:
            point_rgb = np.asarray(self._class_colours)[self._labels.astype(np.int64)]
        return render_field(
            colour(frame.codes, self._table), self._point_xy, point_rgb, self._train_count,
            misclassified(frame, self._labels, self.regression), caption(frame, self._face), self.title,
            self.bounds, (self.picture.width, self.picture.height), MARGINS)
