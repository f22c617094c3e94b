"""The decision boundary's plain data: the grid over the data's plane, the model's output coded as uint8,
the colours, and the store of past epochs.

Numbers in, arrays out: no ipywidgets, no matplotlib. `boundary.py` sends what this module computes to
the page (`js/field.js`), which paints the codes through the palette; `boundary_still.py` draws the same.
The codes are made in torch on the model's device, so only a small uint8 array crosses to numpy:
- 2 outputs: p(class 1) as 0..255;
- K > 2 outputs: [2, R, R], the winning class and its confidence (0: as unsure as 1/K, 255: sure);
- 1 output: the value, 127.5 at `centre`, 0 and 255 at `centre` -+ `scale`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .axes import nice_ceiling

FIELD_LIGHTNESS = 0.4  # share of white mixed into the field, so the points stand out

# Colours as in `widgets.views.style` (checked against it by the tests), kept here so no view loads
# matplotlib.
TWO_CLASS_COLOURS = [(0.10, 0.37, 0.71), (0.75, 0.11, 0.16)]
_TAB10 = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_TAB20 = [
    "#1f77b4",
    "#aec7e8",
    "#ff7f0e",
    "#ffbb78",
    "#2ca02c",
    "#98df8a",
    "#d62728",
    "#ff9896",
    "#9467bd",
    "#c5b0d5",
    "#8c564b",
    "#c49c94",
    "#e377c2",
    "#f7b6d2",
    "#7f7f7f",
    "#c7c7c7",
    "#bcbd22",
    "#dbdb8d",
    "#17becf",
    "#9edae5",
]
# ColorBrewer's RdBu from red to blue; RdBu_r (blue: low, red: high) is its reverse.
_RDBU = [
    "#67001f",
    "#b2182b",
    "#d6604d",
    "#f4a582",
    "#fddbc7",
    "#f7f7f7",
    "#d1e5f0",
    "#92c5de",
    "#4393c3",
    "#2166ac",
    "#053061",
]


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    red, green, blue = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return red, green, blue


def class_colours(classes: int) -> list[tuple[float, float, float]]:
    """RGB colours (0..1) of classes 0 .. classes-1: blue and red for two, tab10 (tab20 past 10) for more."""
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be an int of at least 1, got {classes!r}")
    if classes <= 2:
        return TWO_CLASS_COLOURS[:classes]
    table = _TAB10 if classes <= 10 else _TAB20
    return [_rgb(table[i % len(table)]) for i in range(classes)]


def diverging(low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """256 RGB rows (0..1) of the blue-white-red map RdBu_r sampled from `low` to `high` (as matplotlib
    samples it)."""
    nodes = np.array([_rgb(c) for c in reversed(_RDBU)])
    positions = np.linspace(0.0, 1.0, len(nodes))
    index = np.clip((np.linspace(low, high, 256) * 256).astype(int), 0, 255)  # matplotlib's 256-entry table
    at = index / 255
    return np.stack([np.interp(at, positions, nodes[:, channel]) for channel in range(3)], axis=1)


def frame_label(epoch: int, step: int) -> str:
    """A frame's label: "epoch 12" at an epoch's end (`step` < 0), "epoch 3, step 40" inside one, ""
    without an epoch."""
    if epoch < 0:
        return ""
    return f"epoch {epoch}" if step < 0 else f"epoch {epoch}, step {step}"


@dataclass(frozen=True)
class BoundaryFrame:
    """One state of the boundary: the grid as uint8 codes and the model's answer on every point."""

    codes: np.ndarray  # [R, R] uint8, or [2, R, R] (class, confidence) for K > 2 classes; row 0 is the bottom
    # per point (training, then validation): the predicted class, or the value for a regression
    predicted: np.ndarray
    scale: float  # 1 output: the values shown span centre -+ scale
    centre: float = 0.0  # 1 output: the value in the middle of the colour map
    epoch: int = -1  # the epoch the model had completed (-1: none said, a model without a trainer)
    step: int = -1  # the optimizer steps done, when the model sits inside an epoch (-1: at the epoch's end)

    @property
    def resolution(self) -> int:
        """Grid points per side."""
        return int(self.codes.shape[-1])

    @property
    def label(self) -> str:
        """"epoch 12", "epoch 3, step 40" or ""."""
        return frame_label(self.epoch, self.step)

    @property
    def info(self) -> np.ndarray:
        """[epoch, step, centre, scale] as float64: what the page needs besides the codes to caption
        and read out."""
        return np.array([self.epoch, self.step, self.centre, self.scale], dtype=np.float64)

    @property
    def nbytes(self) -> int:
        """Bytes the frame holds (what a recording of it costs)."""
        return int(self.codes.nbytes + self.predicted.nbytes)


def caption(frame: BoundaryFrame, outputs: int) -> str:
    """The text written on the field: its label, and for 1 output the values the colours span."""
    if outputs != 1:
        return frame.label
    return f"{frame.label}  ({frame.centre:.4g} ± {frame.scale:.4g})".strip()


def misclassified(frame: BoundaryFrame, labels: np.ndarray, regression: bool) -> np.ndarray:
    """Which points the frame gets wrong (bool per point); none for a regression."""
    if regression:
        return np.zeros(len(labels), dtype=bool)
    return frame.predicted != labels


def data_bounds(points: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the box of `points` [N, 2] widened by `margin` of its size on every side."""
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must be a non-empty [N, 2] array, got shape {list(points.shape)}")
    low, high = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((high - low) * margin, 1e-3)
    return float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1])


def grid_points(bounds: Sequence[float], side: int) -> torch.Tensor:
    """The `side` x `side` grid over `bounds` as a float32 [side * side, 2] tensor, row by row from the
    bottom."""
    if isinstance(side, bool) or not isinstance(side, int) or side < 2:
        raise ValueError(f"side must be an int of at least 2, got {side!r}")
    x0, x1, y0, y1 = bounds
    gx = torch.linspace(x0, x1, side, dtype=torch.float64)
    gy = torch.linspace(y0, y1, side, dtype=torch.float64)
    rows, cols = torch.meshgrid(gy, gx, indexing="ij")
    return torch.stack([cols, rows], dim=-1).reshape(-1, 2).float()


def are_probabilities(output: torch.Tensor) -> bool:
    """Does every row already hold probabilities (a model ending in softmax)? Then no softmax on top."""
    if not bool(((output >= 0) & (output <= 1)).all()):
        return False
    return bool(((output.sum(dim=1) - 1).abs() <= 1e-4).all())


def to_codes(values: torch.Tensor) -> torch.Tensor:
    """Numbers in [0, 1] as uint8 codes 0..255 (rounded, clamped), in torch."""
    return (values * 255).round_().clamp_(0, 255).to(torch.uint8)


class OutputCoder:
    """Turns a model's output over the grid and the points into a `BoundaryFrame`.

    `outputs`: the model's outputs per point. `targets`: for a 1-output model
    fitted to values (a regression), the target values; the colour map is then
    centred on their middle. A 1-output classifier is centred on its decision
    threshold: 0.5 if its first outputs lie in [0, 1] (probabilities), else 0
    (logits). The value scale only grows (until `reset()`), so epochs compare.
    `single` says what a 1-output classifier's output is, when its loss tells:
    "logits" (BCEWithLogitsLoss) or "probabilities" (BCELoss); it is then coded
    as p(class 1), as a 2-output model's is.
    """

    def __init__(
        self, outputs: int, classes: int, targets: np.ndarray | None = None, single: str | None = None
    ) -> None:
        if outputs < 1 or classes < max(outputs, 2):
            raise ValueError(f"a model of {outputs} outputs cannot have {classes} classes")
        if single not in (None, "logits", "probabilities") or (
            single is not None and (outputs != 1 or targets is not None)
        ):
            raise ValueError(
                "single must be None, or 'logits' or 'probabilities' for a 1-output classifier, got "
                f"{single!r}"
            )
        self.outputs = outputs
        self.classes = classes
        self.targets = None if targets is None else np.asarray(targets, dtype=np.float64)
        self.single = single
        self.reset()

    @property
    def regression(self) -> bool:
        """True when the single output is compared with target values, not classes."""
        return self.targets is not None

    def reset(self) -> None:
        """Forget the value scale and threshold (a new run starts from scratch)."""
        self.scale = 0.0
        self.centre: float | None = None
        if self.targets is not None:
            self.centre = float(self.targets.min() + self.targets.max()) / 2
            self._widen(float(np.abs(self.targets - self.centre).max()))

    def _widen(self, spread: float) -> None:
        if spread > self.scale or self.scale == 0:
            self.scale = nice_ceiling(max(spread, 1e-6))

    def code(self, output: torch.Tensor, side: int, epoch: int = -1, step: int = -1) -> BoundaryFrame:
        """A frame from `output`: the model's answer on side * side grid points, then on the points.

        `epoch` and `step` say where training stood (see `BoundaryFrame`)."""
        output = output.detach().reshape(output.shape[0], -1)
        cells = side * side
        if output.shape[0] < cells or output.shape[1] != self.outputs:
            raise ValueError(
                f"expected {cells} grid rows and more of {self.outputs} outputs, got {list(output.shape)}"
            )
        if self.outputs == 1 and self.single is None:
            return self._code_values(output[:, 0].float(), cells, side, epoch, step)
        if self.outputs == 1:
            p1 = (
                torch.sigmoid(output[:, 0].float())
                if self.single == "logits"
                else output[:, 0].float().clamp(0, 1)
            )
            predicted = (p1[cells:] > 0.5).to(torch.int64).cpu().numpy()
            codes = to_codes(p1[:cells]).reshape(side, side).cpu().numpy()
        elif self.outputs == 2:
            # p(class 1) = softmax(o)[1] = sigmoid(o1 - o0): one subtraction, cheaper than a softmax over rows
            # of 2
            p1 = (
                output[:, 1].float()
                if are_probabilities(output)
                else torch.sigmoid((output[:, 1] - output[:, 0]).float())
            )
            predicted = (p1[cells:] > 0.5).to(torch.int64).cpu().numpy()
            codes = to_codes(p1[:cells]).reshape(side, side).cpu().numpy()
        else:
            probabilities = output if are_probabilities(output) else torch.softmax(output.float(), dim=1)
            predicted = probabilities[cells:].argmax(dim=1).to(torch.int64).cpu().numpy()
            field = probabilities[:cells]
            confidence, winner = field.max(dim=1)
            floor = 1.0 / self.classes
            shade = to_codes((confidence - floor) / (1 - floor))
            codes = torch.stack([winner.to(torch.uint8), shade]).reshape(2, side, side).cpu().numpy()
        return BoundaryFrame(codes=codes, predicted=predicted, scale=self.scale, epoch=epoch, step=step)

    def _code_values(
        self, values: torch.Tensor, cells: int, side: int, epoch: int, step: int
    ) -> BoundaryFrame:
        field = values[:cells]
        if self.centre is None:
            self.centre = 0.5 if bool(((field >= 0) & (field <= 1)).all()) else 0.0
        self._widen(float((field - self.centre).abs().max()))
        codes = to_codes((field - self.centre) / (2 * self.scale) + 0.5).reshape(side, side).cpu().numpy()
        points = values[cells:]
        predicted = (
            points.cpu().numpy() if self.regression else (points > self.centre).to(torch.int64).cpu().numpy()
        )
        return BoundaryFrame(
            codes=codes, predicted=predicted, scale=self.scale, centre=self.centre, epoch=epoch, step=step
        )


def value_codes(values: np.ndarray, centre: float, scale: float) -> np.ndarray:
    """Values as codes of the 1-output map (127.5 at `centre`, 0 and 255 at `centre` -+ `scale`), e.g. to
    colour points."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return np.clip(
        np.round((np.asarray(values, dtype=np.float64) - centre) / (2 * scale) * 255 + 127.5), 0, 255
    ).astype(np.uint8)


def lookup_table(outputs: int, class_colours: Sequence[Sequence[float]], diverging: np.ndarray,
                 lightness: float = FIELD_LIGHTNESS) -> np.ndarray:
    """uint8 RGB per code: [256, 3] for 1 or 2 outputs (from `diverging`, 256 RGB rows in 0..1),
    [K, 256, 3] (class, confidence) for more, fading each class colour towards white where unsure."""
    diverging = np.asarray(diverging, dtype=np.float64)
    if diverging.shape != (256, 3):
        raise ValueError(f"diverging must be 256 RGB rows, got shape {list(diverging.shape)}")
    if outputs <= 2:
        return ((diverging * (1 - lightness) + lightness) * 255).round().astype(np.uint8)
    shade = np.linspace(0, 1, 256)[None, :, None] * (1 - lightness)
    colours = np.asarray(class_colours, dtype=np.float64)[:, None, :]
    return ((colours * shade + (1 - shade)) * 255).round().astype(np.uint8)


def colour(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The RGB image [R, R, 3] of a frame's codes through a `lookup_table`."""
    if codes.ndim == 3:
        return table[codes[0], codes[1]]
    return table[codes]


@dataclass(frozen=True)
class Deferred:
    """A frame computed when it is first read: an epoch kept as the model's weights, evaluated later."""

    compute: Callable[[], BoundaryFrame]


class EpochStore(Mapping):
    """Frames of past epochs, epoch -> BoundaryFrame, at most `keep` of them, spread evenly.

    An epoch may be added as a `Deferred`: its frame is computed the first
    time it is read, and kept from then on.

    Kept: the first epoch stored, every `stride`-th epoch, and the newest. When
    more than `keep` would be kept, the stride doubles and the epochs off it
    go, so a long run keeps between about `keep / 2` and `keep` epochs over its
    whole length. `wants(epoch)` says whether an epoch would stay: only those
    are worth evaluating while a run goes on. A run whose length is known
    (`plan`) takes from its start the smallest stride that fits its epochs in
    `keep`, so no epoch is evaluated only to be thinned away later.
    """

    def __init__(self, keep: int) -> None:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 2:
            raise ValueError(f"keep must be an int of at least 2 (stored epochs), got {keep!r}")
        self.keep = keep
        self.stride = 1
        self.version = 0
        """Grows at every change (an epoch added, thinned, computed, or all cleared): who shows the
        store compares it."""
        self._frames: dict[int, BoundaryFrame | Deferred] = {}
        self._first: int | None = None

    def __getitem__(self, epoch: int) -> BoundaryFrame:
        frame = self._frames[epoch]
        if isinstance(frame, Deferred):
            frame = self._frames[epoch] = frame.compute()
            self.version += 1
        return frame

    def computed(self, epoch: int) -> bool:
        """Is `epoch` kept with its frame computed already (not deferred)?"""
        return epoch in self._frames and not isinstance(self._frames[epoch], Deferred)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._frames))

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def epochs(self) -> list[int]:
        """The stored epochs, oldest first."""
        return sorted(self._frames)

    @property
    def newest(self) -> int | None:
        """The latest stored epoch (None when empty)."""
        return max(self._frames, default=None)

    def wants(self, epoch: int) -> bool:
        """Would `epoch` be kept if stored now (and is it not stored yet)?"""
        if epoch in self._frames:
            return False
        if self._first is None:
            return True
        # a full store thins on the next add
        stride = self.stride if len(self._frames) < self.keep else 2 * self.stride
        return epoch % stride == 0

    def plan(self, first: int, last: int) -> None:
        """Widen the stride for a run from epoch `first` to `last` so that its epochs fit in `keep`."""
        if (
            isinstance(first, bool)
            or isinstance(last, bool)
            or not isinstance(first, int)
            or not isinstance(last, int)
        ):
            raise TypeError(f"first and last must be ints, got {first!r} and {last!r}")
        start = first if self._first is None else self._first
        span = last - start
        if span > 0:
            self.stride = max(self.stride, -(-span // (self.keep - 1)))

    def add(self, epoch: int, frame: BoundaryFrame | Deferred) -> None:
        """Keep `frame` as `epoch`'s (replacing one stored for it); thin evenly past `keep`."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int, got {epoch!r}")
        newest = self.newest
        if newest is not None and epoch > newest and not self._on_stride(newest):
            del self._frames[newest]  # kept only for being the newest
        if self._first is None or epoch < self._first:
            self._first = epoch
        self._frames[epoch] = frame
        self.version += 1
        while len(self._frames) > self.keep:
            self.stride *= 2
            for kept in [e for e in self._frames if e != epoch and not self._on_stride(e)]:
                del self._frames[kept]

    def _on_stride(self, epoch: int) -> bool:
        return epoch == self._first or epoch % self.stride == 0

    def at_or_before(self, value: int) -> int | None:
        """The stored epoch a slider value shows: the latest stored one at or before it."""
        candidates = [e for e in self._frames if e <= value]
        return max(candidates) if candidates else None

    def clear(self) -> None:
        """Forget every epoch and the stride."""
        self._frames.clear()
        self._first = None
        self.stride = 1
        self.version += 1
