"""The Playground's pictures of the plane, as RGB uint8 arrays: the output with the data points, and units'
maps.

numpy and Pillow only. A map comes in at the grid's resolution (see
`maps.unit_maps`), is coded as uint8 (a probability or a value on a diverging
scale), enlarged with Pillow's bilinear filter, and coloured by a lookup
table, so every pixel has a colour of the scale and enlarging costs little.
`png_bytes` turns any of these pictures into PNG bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

import numpy as np
from numpy.typing import ArrayLike
from PIL import Image

from widgets.views.boundary_field import FIELD_LIGHTNESS, lookup_table, value_codes
from widgets.views.png import png_bytes
from widgets.views.style import ACTIVATION_COLOURS, NEUTRAL_COLOUR, POINT_RIMS, class_colours

from .maps import PLANE, check_plane

__all__ = ["POINT_RADIUS", "diverging_scale", "draw_output", "draw_points", "draw_unit", "png_bytes",
           "unit_thumbnails"]

POINT_RADIUS = 3.5
"""Radius in pixels of a data point's disc, inside its one-pixel rim."""


def diverging_scale(low: Sequence[float], middle: Sequence[float], high: Sequence[float]) -> np.ndarray:
    """256 RGB rows (0..1) from `low` through `middle` (rows 127 and 128 straddle it) to `high`, linearly."""
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    lo, mid, hi = (np.asarray(c, dtype=np.float64) for c in (low, middle, high))
    return np.where(t < 0, mid + (mid - lo) * t, mid + (hi - mid) * t)


def draw_output(output: ArrayLike, size: int = 300, *, plane: Sequence[float] = PLANE,
                discretize: bool = False,
                points: ArrayLike | None = None, labels: ArrayLike | None = None,
                test_points: ArrayLike | None = None, test_labels: ArrayLike | None = None,
                scale: float | None = None) -> np.ndarray:
    """The model's output over the plane as a `size` x `size` RGB picture, the data points on top.

    `output` is the output column of `unit_maps`, [outputs, R, R] (row 0 at the
    top). Two outputs: p(class 1) on a scale from class 0's colour through grey
    to class 1's. K > 2: the predicted class's colour, fading to white where the
    model is less sure (as sure as 1/K: white). One output (a regression): the
    value on the activation scale, -`scale` .. `scale` (default: the largest
    |value| among the field and the labels). `discretize`: flat colours, the
    predicted class or the value's sign. Points [N, 2] in plane coordinates with
    their labels (classes, or values for a regression) as discs: training points
    with a white rim, test points with a dark rim, drawn last. Arrays or CPU tensors.
    """
    field = _maps(output, "output")
    _check_size(size)
    check_plane(plane)
    outputs = field.shape[0]
    parts = [(_labelled(xy, values, outputs), split)
             for xy, values, split in ((points, labels, "train"), (test_points, test_labels, "test"))
             if xy is not None or values is not None]
    if outputs == 1:
        values = field[0]
        value_scale = (_value_scale(values, *(part[1] for part, _ in parts)) if scale is None
                       else _check_scale(scale))
        codes = _enlarge(value_codes(values, 0.0, value_scale), size)
        image = _field_table(1)[_flat(codes) if discretize else codes]
        point_table = _activation_table(0.0)
    elif outputs == 2:
        # softmax's p(class 1) for two logits, overflow-free
        p1 = 0.5 + 0.5 * np.tanh(0.5 * (field[1] - field[0]))
        codes = _enlarge(_probability_codes(p1), size)
        image = _field_table(2)[_flat(codes) if discretize else codes]
        point_table = _class_table(2)
    else:
        image = _classes_image(field, size, discretize)
        point_table = _class_table(outputs)
    for (xy, point_labels), split in parts:
        colours = (point_table[value_codes(point_labels, 0.0, value_scale)] if outputs == 1
                   else point_table[point_labels])
        draw_points(image, xy, colours, plane=plane, rim=_rgb(POINT_RIMS[split]))
    return image


def draw_points(image: np.ndarray, points: ArrayLike, colours: ArrayLike, *, plane: Sequence[float] = PLANE,
                rim: ArrayLike = (255, 255, 255), radius: float = POINT_RADIUS) -> np.ndarray:
    """Draw `points` [N, 2] (plane coordinates) on `image` [H, W, 3] in place as discs of `colours`
    ([N, 3] or one RGB, 0..255) with a one-pixel `rim`; points off the plane are left out. Returns `image`."""
    low, high = check_plane(plane)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shown = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"image must be a uint8 array [height, width, 3], got {shown}")
    xy = _points(points)
    rgb = np.asarray(colours)
    if rgb.shape not in ((3,), (len(xy), 3)):
        raise ValueError(f"colours must be one RGB or one per point [{len(xy)}, 3], "
                         f"got shape {list(rgb.shape)}")
    rgb = np.broadcast_to(rgb.astype(np.uint8), (len(xy), 3))
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    height, width = image.shape[:2]
    inside = np.isfinite(xy).all(axis=1) & (xy >= low).all(axis=1) & (xy <= high).all(axis=1)
    xy, rgb = xy[inside], rgb[inside]
    cols = np.minimum(((xy[:, 0] - low) / (high - low) * width).astype(np.int64), width - 1)
    rows = np.minimum(((high - xy[:, 1]) / (high - low) * height).astype(np.int64), height - 1)
    disc, ring = _stamps(float(radius))
    for offsets, fill in ((ring, np.broadcast_to(np.asarray(rim, dtype=np.uint8), rgb.shape)), (disc, rgb)):
        r = rows[:, None] + offsets[:, 0]
        c = cols[:, None] + offsets[:, 1]
        keep = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        image[r[keep], c[keep]] = np.broadcast_to(fill[:, None, :], (*r.shape, 3))[keep]
    return image


def draw_unit(unit_map: ArrayLike, size: int, *, scale: float | None = None,
              lightness: float = 0.0) -> np.ndarray:
    """One unit's map [R, R] as a `size` x `size` RGB picture: negative blue, 0 grey, positive red.

    The scale runs -`scale` .. `scale`; by default the unit's own largest
    |value|, so the picture shows *where* the unit is active and with which sign
    whatever its magnitude (ReLU units grow without bound, tanh units stop at 1;
    the links' widths show how much a unit counts). A unit that is 0 everywhere
    is plain grey. `lightness` mixes in white, e.g. under data points.
    """
    values = np.asarray(unit_map, dtype=np.float32)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 1:
        raise ValueError(f"unit_map must be a square array [R, R], got shape {list(values.shape)}")
    _check_size(size)
    if not 0.0 <= lightness <= 1.0:
        raise ValueError(f"lightness must lie in [0, 1], got {lightness!r}")
    scale = _own_scale(values) if scale is None else _check_scale(scale)
    return _activation_table(float(lightness))[_enlarge(value_codes(values, 0.0, scale), size)]


def unit_thumbnails(column: ArrayLike, size: int, *, scale: float | None = None) -> list[np.ndarray]:
    """`draw_unit` for every unit of one column of `unit_maps` ([units, R, R]): one picture per unit."""
    maps = _maps(column, "column")
    return [draw_unit(unit, size, scale=scale) for unit in maps]


def _maps(maps: ArrayLike, what: str) -> np.ndarray:
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3 or maps.shape[0] < 1 or maps.shape[1] != maps.shape[2] or maps.shape[1] < 1:
        raise ValueError(f"{what} must be an array [units, R, R] (a column of unit_maps), "
                         f"got shape {list(maps.shape)}")
    return maps


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int (pixels), got {size!r}")


def _check_scale(scale: float) -> float:
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    return float(scale)


def _own_scale(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    return largest if largest > 0 else 1.0


def _value_scale(values: np.ndarray, *labels: np.ndarray) -> float:
    return _own_scale(np.concatenate([values.ravel(), *labels]).astype(np.float32))


def _probability_codes(p: np.ndarray) -> np.ndarray:
    return np.rint(np.nan_to_num(p, nan=0.5) * 255).astype(np.uint8)


def _enlarge(codes: np.ndarray, size: int) -> np.ndarray:
    if codes.shape == (size, size):
        return codes
    return np.asarray(Image.fromarray(codes, mode="L").resize((size, size), Image.Resampling.BILINEAR))


def _flat(codes: np.ndarray) -> np.ndarray:
    return np.where(codes >= 128, np.uint8(255), np.uint8(0))


def _classes_image(field: np.ndarray, size: int, discretize: bool) -> np.ndarray:
    """K > 2 outputs: each class's probability enlarged, then the winner's colour, faded by how sure it is."""
    logits = field - field.max(axis=0)
    exp = np.exp(logits)
    codes = np.stack([_enlarge(c, size) for c in _probability_codes(exp / exp.sum(axis=0))])
    winner = codes.argmax(axis=0)
    classes = field.shape[0]
    if discretize:
        return _class_field_table(classes)[winner, 255]
    floor = 255.0 / classes
    shade = np.clip((codes.max(axis=0) - floor) * (255.0 / (255.0 - floor)), 0, 255).astype(np.uint8)
    return _class_field_table(classes)[winner, shade]


def _points(points: ArrayLike) -> np.ndarray:
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must be an array [N, 2], got shape {list(xy.shape)}")
    return xy


def _labelled(points: ArrayLike | None, labels: ArrayLike | None,
              outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Points [N, 2] and their labels checked: N values for a regression (1 output), else N class numbers."""
    if points is None or labels is None:
        raise ValueError("points and their labels (classes, or values for a regression) come together, "
                         "got only one")
    xy, labels = _points(points), np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(xy):
        raise ValueError(f"labels must be one number per point [{len(xy)}], got shape {list(labels.shape)}")
    if outputs == 1:
        if not np.issubdtype(labels.dtype, np.number):
            raise ValueError(f"labels of a regression must be numbers, got dtype {labels.dtype}")
        return xy, labels.astype(np.float64)
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0
                        or labels.max() >= outputs):
        raise ValueError(f"labels must be class numbers 0 .. {outputs - 1}, got {labels.dtype} in "
                         f"[{labels.min()}, {labels.max()}]")
    return xy, labels


def _rgb(colour: ArrayLike) -> np.ndarray:
    return np.rint(np.asarray(colour, dtype=np.float64) * 255).astype(np.uint8)


@cache
def _stamps(radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (row, col) of a disc of `radius` and of the one-pixel ring around it."""
    reach = int(np.ceil(radius + 1))
    steps = np.arange(-reach, reach + 1)
    offsets = np.stack(np.meshgrid(steps, steps, indexing="ij"), -1).reshape(-1, 2)
    distance = np.hypot(offsets[:, 0], offsets[:, 1])
    return offsets[distance <= radius], offsets[(distance > radius) & (distance <= radius + 1)]


def _two_class_scale() -> np.ndarray:
    low, high = class_colours(2)
    return diverging_scale(low, NEUTRAL_COLOUR, high)


@cache
def _field_table(outputs: int) -> np.ndarray:
    """[256, 3] uint8, lightened for the points: p(class 1) for two outputs, the value for one."""
    scale = _two_class_scale() if outputs == 2 else diverging_scale(*ACTIVATION_COLOURS)
    return lookup_table(2, [], scale, FIELD_LIGHTNESS)


@cache
def _class_field_table(classes: int) -> np.ndarray:
    return lookup_table(classes, class_colours(classes), _two_class_scale(), FIELD_LIGHTNESS)


@cache
def _class_table(classes: int) -> np.ndarray:
    return _rgb(class_colours(classes))


@lru_cache(maxsize=8)  # keyed by lightness: a few values in practice
def _activation_table(lightness: float) -> np.ndarray:
    return lookup_table(1, [], diverging_scale(*ACTIVATION_COLOURS), lightness)
