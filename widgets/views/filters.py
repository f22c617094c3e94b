"""FilterGrid: the kernels of a convolution layer as a grid of small pictures, redrawn live as they train.

The mosaic is built in plain numpy (`kernel_mosaic`) and placed on the figure
pixel for pixel (`Figure.figimage`, no resampling), so every weight is a
square of whole pixels and a frame costs a lookup, a blit and a PNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from torch import nn

from .base import View, check_trainer
from .clock import FrameClock, check_clock
from .frame import Frame
from .kernel_mosaic import SCALES, plan_mosaic, render_mosaic
from .style import FONT_SIZE, GRID_GAP_COLOUR, MARK_COLOUR, SIGNED_COLOURMAP

MAX_CELLS = 1024
DPI = 100
_MARGIN = 8  # pixels around everything
_TEXT_BAND = 18  # pixels for a line of text at FONT_SIZE
_KEY_HEIGHT = 8
_KEY_WIDTH = 160
_MIN_WIDTH = 300


def _rgb255(colour: str) -> tuple[int, int, int]:
    red, green, blue = to_rgb(colour)
    return round(red * 255), round(green * 255), round(blue * 255)


def _whole(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def find_conv(model: nn.Module, layer: str | nn.Module | None) -> tuple[str, nn.Conv2d]:
    """(name, module) of the Conv2d to show: the first one in `model`, the one named `layer`, or `layer` itself."""
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if layer is None:
        if not convs:
            kinds = sorted({type(module).__name__ for module in model.modules()})
            raise ValueError(f"FilterGrid needs a model with an nn.Conv2d layer; this model has only {kinds}")
        return convs[0]
    if isinstance(layer, str):
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(f"the model has no layer named {layer!r}; its Conv2d layers are {[n for n, _ in convs]}")
        module = modules[layer]
        if not isinstance(module, nn.Conv2d):
            raise TypeError(f"layer {layer!r} is a {type(module).__name__}, FilterGrid shows an nn.Conv2d")
        return layer, module
    if isinstance(layer, nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                if not isinstance(module, nn.Conv2d):
                    raise TypeError(f"layer is a {type(module).__name__}, FilterGrid shows an nn.Conv2d")
                return name, module
        raise ValueError("layer is not a module of the trainer's model")
    raise TypeError(f"layer must be None, a layer's name or an nn.Conv2d of the model, got {type(layer).__name__}")


class FilterGrid(View):
    """The kernels of a convolution layer (by default the model's first `nn.Conv2d`) as a grid of small pictures.

    One cell per kernel, that is per (output channel, input channel) pair, in
    reading order: with one input channel (grey images) a cell is one output
    channel's filter; with several, each row holds one output channel's kernels
    for every input channel. Red is positive, blue negative, near white zero.
    `scale="layer"` colours every cell over one symmetric range (the largest
    |weight| of the layer, printed under the key), so strong and weak filters
    compare; `scale="kernel"` scales each cell to its own largest |weight|.
    The grid is redrawn on the trainer's steps and epochs within the clock's
    budget, and once more when training stops.
    """

    def __init__(self, trainer: Any, layer: str | nn.Module | None = None, *, scale: str = "layer",
                 columns: int | None = None, cell_pixels: int = 40, clock: FrameClock | None = None) -> None:
        check_trainer(trainer, "FilterGrid")
        check_clock(clock)
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        if columns is not None and not _whole(columns, 1):
            raise ValueError(f"columns must be None or an int of at least 1, got {columns!r}")
        if not _whole(cell_pixels, 4):
            raise ValueError(f"cell_pixels must be an int of at least 4 (pixels), got {cell_pixels!r}")
        name, conv = find_conv(trainer.model, layer)
        out_channels, in_channels, kh, kw = conv.weight.shape
        if out_channels * in_channels > MAX_CELLS:
            raise ValueError(f"layer {name!r} has {out_channels * in_channels:,} kernels ({out_channels} x "
                             f"{in_channels}); FilterGrid shows at most {MAX_CELLS:,}: pick an earlier layer")
        self.trainer = trainer
        self.layer_name = name
        self.layer = conv
        self.scale = scale
        self.layout = plan_mosaic(out_channels, in_channels, (kh, kw), columns, cell_pixels)
        lut = colormaps[SIGNED_COLOURMAP](np.linspace(0.0, 1.0, 256))[:, :3]
        self._lut = np.round(lut * 255).astype(np.uint8)
        self._gap, self._bad = _rgb255(GRID_GAP_COLOUR), _rgb255(MARK_COLOUR)
        self._kernels = np.zeros((self.layout.cells, kh, kw))
        self._limits = np.ones(self.layout.cells)
        mosaic_height, mosaic_width = self.layout.size
        self._width = max(mosaic_width + 2 * _MARGIN, _MIN_WIDTH)
        self._height = _MARGIN + _TEXT_BAND + mosaic_height + _MARGIN + _KEY_HEIGHT + _TEXT_BAND + _MARGIN // 2
        # Half a pixel more, so that the canvas rounds to exactly these pixels.
        self.frame = Frame(figsize=((self._width + 0.5) / DPI, (self._height + 0.5) / DPI), dpi=DPI)
        super().__init__(self.frame.image, "filter-grid", clock)
        self._build(conv)
        self.follow(trainer)
        self.draw_first_frame()

    # --- what was drawn ------------------------------------------------------------------------
    @property
    def cells(self) -> int:
        """Number of kernels in the grid (output channels x input channels)."""
        return self.layout.cells

    @property
    def kernels(self) -> np.ndarray:
        """The weights of the last frame, `[output channels, input channels, kh, kw]` (a copy)."""
        out_channels, in_channels, kh, kw = self.layer.weight.shape
        return self._kernels.reshape(out_channels, in_channels, kh, kw).copy()

    @property
    def limits(self) -> np.ndarray:
        """The |weight| each cell's colours spanned in the last frame, one per cell (all equal with scale="layer")."""
        return self._limits.copy()

    @property
    def grid_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the mosaic in the PNG's pixels, origin top left, right and bottom excluded."""
        height, width = self.layout.size
        return self._left, self._top, self._left + width, self._top + height

    # --- drawing -------------------------------------------------------------------------------
    def _build(self, conv: nn.Conv2d) -> None:
        figure = self.frame.figure
        height, width = self.layout.size
        self._left = (self._width - width) // 2
        self._top = _MARGIN + _TEXT_BAND
        bottom = self._height - self._top - height  # figimage counts from the figure's bottom
        blank = np.zeros((height, width, 3), dtype=np.uint8)
        self._image = figure.figimage(blank, xo=self._left, yo=bottom, origin="upper")
        kh, kw = conv.kernel_size
        title = (f"layer {self.layer_name}, Conv2d({conv.in_channels}, {conv.out_channels}, {kh}×{kw}): "
                 f"{self.cells} kernels" + ("" if self.scale == "layer" else ", each on its own scale"))
        figure.text(_MARGIN / self._width, 1 - _MARGIN / self._height, title, fontsize=FONT_SIZE, va="top")
        self._step_text = figure.text(1 - _MARGIN / self._width, 1 - _MARGIN / self._height, "",
                                      fontsize=FONT_SIZE, va="top", ha="right")
        key_left = (self._width - _KEY_WIDTH) // 2
        key_bottom = bottom - _MARGIN - _KEY_HEIGHT
        strip = np.repeat(self._lut[None, np.linspace(0, 255, _KEY_WIDTH).round().astype(int)], _KEY_HEIGHT, axis=0)
        figure.figimage(strip, xo=key_left, yo=key_bottom, origin="upper")
        label_y = (key_bottom - 2) / self._height
        edge = "-max |w|" if self.scale == "kernel" else ""
        self._low_text = figure.text(key_left / self._width, label_y, edge, fontsize=FONT_SIZE, va="top", ha="center")
        figure.text(0.5, label_y, "0", fontsize=FONT_SIZE, va="top", ha="center")
        self._high_text = figure.text((key_left + _KEY_WIDTH) / self._width, label_y, edge.lstrip("-"),
                                      fontsize=FONT_SIZE, va="top", ha="center")
        self.frame.animate(self._image, self._step_text)
        if self.scale == "layer":
            self.frame.animate(self._low_text, self._high_text)

    def draw(self) -> None:
        weight = self.layer.weight.detach().to("cpu", torch.float64)
        kh, kw = self.layout.kernel
        self._kernels = weight.numpy().reshape(self.layout.cells, kh, kw).copy()
        mosaic, self._limits = render_mosaic(self._kernels, self.layout, self._lut, self._gap, self._bad, self.scale)
        self._image.set_data(mosaic)
        self._step_text.set_text(f"step {self.trainer.global_step:,}")
        if self.scale == "layer":
            limit = float(self._limits[0])
            self._low_text.set_text(f"{-limit:.2g}")
            self._high_text.set_text(f"{limit:.2g}")
        self.frame.blit()

    def snapshot_png(self) -> bytes:
        return self.frame.png

    def release(self) -> None:
        self.frame.close()
