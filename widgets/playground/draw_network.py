"""The Playground's network diagram as an RGB picture: a column of unit maps per layer, a line per weight.

numpy and Pillow only. Inputs at the left (labelled with the feature names),
the hidden layers, the output unit(s) at the right. Every weight is a straight
line from its unit to the next column's unit: its colour says the sign, its
width |w| (the largest weight of the whole network gets `max_link_width`
pixels; a line that would be thinner than one pixel is drawn one pixel wide
and faded in proportion). The picture comes with where each unit and line
lies, so a widget can label units and find the one under the mouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from widgets.views.style import WEIGHT_COLOURS

from .draw import unit_thumbnails

BACKGROUND = (255, 255, 255)
BORDER = (150, 150, 150)  # a one-pixel frame around each unit's map
LABEL_COLOUR = (60, 60, 60)
LABEL_PIXELS = 11  # text height of the feature names, as the views' 8 pt text at 100 dpi
MAX_THUMB = 40  # a unit's map is at most this many pixels wide, however tall the picture
MIN_THUMB = 8  # below this a map shows nothing: the picture is too small for its units
PAD = 6


class Link(NamedTuple):
    """One weight's line: `weights[layer][target, source]`, from (x, y) `start` to `end`, `width` pixels wide,
    in `colour` (RGB 0..255: the sign's colour, faded towards the background if it would be under a pixel
    wide)."""

    layer: int
    source: int
    target: int
    weight: float
    width: int
    start: tuple[int, int]
    end: tuple[int, int]
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class NetworkPicture:
    """The diagram (`image`, RGB uint8 [H, W, 3]), each unit's box and each weight's line."""

    image: np.ndarray
    # [column][unit] -> (left, top, right, bottom), right and bottom excluded
    boxes: list[list[tuple[int, int, int, int]]]
    links: list[Link]

    def unit_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(column, unit) of the unit whose box holds the pixel (x, y), or None."""
        for column, boxes in enumerate(self.boxes):
            for unit, (left, top, right, bottom) in enumerate(boxes):
                if left <= x < right and top <= y < bottom:
                    return column, unit
        return None


def draw_network(maps: Sequence[np.ndarray], weights: Sequence[np.ndarray], names: Sequence[str], *,
                 height: int = 360, width: int | None = None, max_link_width: float = 4.0) -> NetworkPicture:
    """The diagram of a network from its `unit_maps` columns, its `layer_weights` and its feature `names`.

    Units are square maps as big as `height` allows (at most 40 pixels), each
    column centred on the tallest. `width` defaults to what the maps need with
    lines twice a map long; a given width spreads the columns over it.
    """
    columns = [_column(m, c) for c, m in enumerate(maps)]
    if len(columns) < 2:
        raise ValueError(f"maps must hold the features and the output columns at least, "
                         f"got {len(columns)} column(s)")
    units = [c.shape[0] for c in columns]
    weights = _check_weights(weights, units)
    if len(names) != units[0] or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be {units[0]} strings, one per input feature, got {list(names)!r}")
    if not (np.isfinite(max_link_width) and max_link_width >= 1):
        raise ValueError(f"max_link_width must be at least 1 pixel, got {max_link_width!r}")
    font = _font()
    label_width = int(max(font.getlength(n) for n in names)) + PAD
    boxes = _layout(units, height, width, label_width)
    thumb = boxes[0][0][2] - boxes[0][0][0]
    canvas = Image.new("RGB", (width or boxes[-1][0][2] + PAD, height), BACKGROUND)
    pen = ImageDraw.Draw(canvas)
    links = _links(weights, boxes, max_link_width)
    for link in sorted(links, key=lambda link: abs(link.weight)):  # the strongest on top
        pen.line([link.start, link.end], fill=link.colour, width=link.width)
    for name, (left, top, _, bottom) in zip(names, boxes[0]):
        pen.text((left - PAD // 2 - 1, (top + bottom) / 2), name, fill=LABEL_COLOUR, font=font, anchor="rm")
    image = np.array(canvas)
    for column, column_boxes in zip(columns, boxes):
        for picture, (left, top, right, bottom) in zip(unit_thumbnails(column, thumb), column_boxes):
            image[top - 1:bottom + 1, left - 1:right + 1] = BORDER
            image[top:bottom, left:right] = picture
    return NetworkPicture(image=image, boxes=boxes, links=links)


def _column(maps: np.ndarray, index: int) -> np.ndarray:
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3 or maps.shape[0] < 1 or maps.shape[1] != maps.shape[2] or maps.shape[1] < 1:
        raise ValueError(f"maps[{index}] must be an array [units, R, R] (a column of unit_maps), "
                         f"got shape {list(maps.shape)}")
    return maps


def _check_weights(weights: Sequence[np.ndarray], units: list[int]) -> list[np.ndarray]:
    if len(weights) != len(units) - 1:
        raise ValueError(f"{len(units)} columns need {len(units) - 1} weight matrices, got {len(weights)}")
    checked = []
    for layer, w in enumerate(weights):
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (units[layer + 1], units[layer]):
            raise ValueError(f"weights[{layer}] must be [{units[layer + 1]}, {units[layer]}] "
                             f"(units out, units in), "
                             f"got {list(w.shape)}")
        checked.append(np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0))
    return checked


def _layout(units: list[int], height: int, width: int | None,
            label_width: int) -> list[list[tuple[int, int, int, int]]]:
    """The box of every unit: square maps, the columns evenly spread, each centred on the tallest."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 1:
        raise ValueError(f"height must be a positive int (pixels), got {height!r}")
    tallest = max(units)
    pitch = (height - 2 * PAD) / tallest
    thumb = min(MAX_THUMB, int(pitch * 0.8))
    if thumb < MIN_THUMB:
        raise ValueError(f"height {height} is too small for {tallest} units in a column: "
                         f"give at least {int(np.ceil(MIN_THUMB / 0.8 * tallest)) + 2 * PAD} pixels")
    pitch = min(pitch, thumb * 1.25)
    first = label_width + PAD
    if width is None:
        span = float(2 * thumb)
    else:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int (pixels), got {width!r}")
        span = (width - first - PAD - len(units) * thumb) / (len(units) - 1)
        if span < thumb / 2:
            least = int(np.ceil(first + PAD + len(units) * thumb + (len(units) - 1) * thumb / 2))
            raise ValueError(f"width {width} is too small for {len(units)} columns of {thumb}-pixel maps: "
                             f"give at least {least} pixels")
    boxes = []
    for column, count in enumerate(units):
        left = int(round(first + column * (thumb + span)))
        top0 = PAD + (height - 2 * PAD - (count - 1) * pitch - thumb) / 2
        boxes.append([(left, int(round(top0 + i * pitch)), left + thumb, int(round(top0 + i * pitch)) + thumb)
                      for i in range(count)])
    return boxes


def _links(weights: list[np.ndarray], boxes: list[list[tuple[int, int, int, int]]],
           max_link_width: float) -> list[Link]:
    """Every weight's line, computed a layer at a time in numpy (a large network has a thousand and more)."""
    largest = max(float(np.abs(w).max()) for w in weights)
    background = np.asarray(BACKGROUND, dtype=np.float64)
    links = []
    for layer, w in enumerate(weights):
        pixels = np.abs(w) / largest * max_link_width if largest > 0 else np.zeros_like(w)
        widths = np.maximum(1, np.rint(pixels)).astype(int).tolist()
        signs = np.where((w > 0)[..., None], _SIGN_COLOURS[True], _SIGN_COLOURS[False])
        # a line that would be thinner than a pixel: one pixel, faded towards the background in proportion
        faded = background + (signs - background) * np.minimum(1.0, pixels)[..., None]
        colours = np.rint(faded).astype(int).tolist()
        starts = [(right, (top + bottom) // 2) for _, top, right, bottom in boxes[layer]]
        ends = [(left - 1, (top + bottom) // 2) for left, top, _, bottom in boxes[layer + 1]]
        values = w.tolist()
        for target, end in enumerate(ends):
            for source, start in enumerate(starts):
                links.append(Link(layer, source, target, values[target][source], widths[target][source],
                                  start, end,
                                  tuple(colours[target][source])))
    return links


_SIGN_COLOURS = {sign: np.asarray(WEIGHT_COLOURS["positive" if sign else "negative"]) * 255
                 for sign in (False, True)}


@cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=LABEL_PIXELS)
