"""FilterGrid: the kernels of a convolution layer as a grid of small pictures, drawn in the page as they
train.

The kernel turns the weights into colour codes (`kernel_mosaic.colour_codes`,
one byte a weight) and, when a pacer round is due and the weights changed,
sends them with each cell's colour limit, the step, and the weights as float32
for the readout (when they fit `WEIGHTS_BUDGET`). The palette, the layout and
the geometry go once. The page (`js/mosaic.js`) lays the cells out pixel for
pixel, every weight a square of whole pixels, and names the filter and the
weight under the pointer. Stills come from `filters_still.render_filters`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from torch import nn

from .base import check_trainer
from .kernel_mosaic import (
    GAP_COLOUR,
    SCALES,
    FrameGeometry,
    MosaicLayout,
    colour_codes,
    frame_geometry,
    plan_mosaic,
    signed_palette,
)
from .live import LiveView, check_pacer
from .pacer import Pacer
from .picture import Picture

__all__ = ["MAX_CELLS", "WEIGHTS_BUDGET", "FilterGrid", "MosaicState", "find_conv"]

MAX_CELLS = 1024
WEIGHTS_BUDGET = 16_384
"""The most weights sent as float32 for the readout (64 KiB a round); beyond, the page reads a weight from its
colour."""


def _whole(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def find_conv(model: nn.Module, layer: str | nn.Module | None) -> tuple[str, nn.Conv2d]:
    """(name, module) of the Conv2d to show: the first one in `model`, the one named `layer`, or `layer`
    itself."""
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if layer is None:
        if not convs:
            kinds = sorted({type(module).__name__ for module in model.modules()})
            raise ValueError(f"FilterGrid needs a model with an nn.Conv2d layer; this model has only {kinds}")
        return convs[0]
    if isinstance(layer, str):
        modules = dict(model.named_modules())
        if layer not in modules:
            raise ValueError(
                f"the model has no layer named {layer!r}; its Conv2d layers are {[n for n, _ in convs]}"
            )
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
    raise TypeError(
        f"layer must be None, a layer's name or an nn.Conv2d of the model, got {type(layer).__name__}"
    )


@dataclass(frozen=True)
class MosaicState:
    """What one still of the grid shows: the colour codes [cells, kh, kw], each cell's limit, and the step."""

    codes: np.ndarray
    limits: np.ndarray
    step: int

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.limits.nbytes)


class FilterGrid(LiveView):
    """The kernels of a convolution layer (by default the model's first `nn.Conv2d`) as a grid of small
    pictures.

    One cell per kernel, that is per (output channel, input channel) pair, in
    reading order: with one input channel (grey images) a cell is one output
    channel's filter; with several, each row holds one output channel's kernels
    for every input channel. Red is positive, blue negative, near white zero.
    `scale="layer"` colours every cell over one symmetric range (the largest
    |weight| of the layer, printed under the key), so strong and weak filters
    compare; `scale="kernel"` scales each cell to its own largest |weight|.
    `columns` cells a row (None: one output channel a row, or up to 8),
    `cell_pixels` the wanted size of a cell. The page is sent the weights when
    the `pacer`'s round is due and they changed, and once more when training stops.
    """

    def __init__(self, trainer: Any, layer: str | nn.Module | None = None, *, scale: str = "layer",
                 columns: int | None = None, cell_pixels: int = 40, pacer: Pacer | None = None) -> None:
        check_trainer(trainer, "FilterGrid")
        check_pacer(pacer)
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
        self.layout: MosaicLayout = plan_mosaic(out_channels, in_channels, (kh, kw), columns, cell_pixels)
        self.geometry: FrameGeometry = frame_geometry(self.layout)
        self.palette = signed_palette()
        """The colour of each code, uint8 [256, 3]."""
        self.title = (
            f"layer {name}, Conv2d({in_channels}, {out_channels}, {kh}×{kw}): {self.layout.cells} kernels"
        )
        self.caption = (
            "weight, one colour scale for the layer"
            if scale == "layer"
            else "weight, each kernel on its own scale"
        )
        self._shown: np.ndarray | None = None  # the float32 weights last put into the picture
        self._limits = np.ones(self.layout.cells)
        picture = Picture("mosaic", width=self.geometry.width, height=self.geometry.height)
        picture.options = self._options(in_channels)
        picture.put("palette", self.palette)
        super().__init__(ipw.VBox([picture]), picture, "filter-grid", pacer)
        self.follow(trainer)
        self.finish()

    def _options(self, in_channels: int) -> dict:
        layout, geometry = self.layout, self.geometry
        return {
            "title": self.title,
            "caption": self.caption,
            "scale": self.scale,
            "gap_colour": GAP_COLOUR,
            "cells": layout.cells,
            "columns": layout.columns,
            "rows": layout.rows,
            "kernel": list(layout.kernel),
            "zoom": layout.zoom,
            "gap": layout.gap,
            "in_channels": in_channels,
            "grid": list(geometry.grid),
            "key": list(geometry.key),
            "labels_top": geometry.labels_top,
            "caption_top": geometry.caption_top,
            "margin": geometry.margin,
        }

    # --- what is shown ---------------------------------------------------------------------------
    @property
    def cells(self) -> int:
        """Number of kernels in the grid (output channels x input channels)."""
        return self.layout.cells

    @property
    def kernels(self) -> np.ndarray:
        """The weights last sent to the page, `[output channels, input channels, kh, kw]` float32 (a copy)."""
        with self._lock:
            shown = self._shown if self._shown is not None else self._weights()
            return shown.reshape(self.layer.weight.shape).copy()

    @property
    def limits(self) -> np.ndarray:
        """The |weight| each cell's colours spanned when last sent, one per cell (all equal with
        scale="layer")."""
        return self._limits.copy()

    @property
    def grid_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the mosaic in the picture's and the still's pixels, right and
        bottom excluded."""
        return self.geometry.grid

    def _weights(self) -> np.ndarray:
        """The layer's weights now, float32 `[cells, kh, kw]` (a copy on the CPU)."""
        weight = self.layer.weight.detach().to("cpu", torch.float32)
        return weight.numpy().reshape(self.layout.cells, *self.layout.kernel).copy()

    # --- LiveView --------------------------------------------------------------------------------
    def collect(self) -> None:
        with self._lock:
            weights = self._weights()
            if self._shown is not None and np.array_equal(weights, self._shown, equal_nan=True):
                return
            codes, limits = colour_codes(weights, self.scale)
            self.picture.put("codes", codes)
            self.picture.put("limits", limits.astype(np.float32))
            self.picture.put("step", np.array([self.trainer.global_step], dtype=np.float64))
            if weights.size <= WEIGHTS_BUDGET:
                self.picture.put("weights", weights)
            self._shown, self._limits = weights, limits

    def frame_state(self) -> MosaicState:
        codes, limits = colour_codes(self._weights(), self.scale)
        return MosaicState(codes, limits, int(self.trainer.global_step))

    def render_png(self, state: MosaicState) -> bytes:
        from .filters_still import render_filters  # matplotlib loads only when a still is asked for

        return render_filters(
            state,
            self.layout,
            self.geometry,
            self.palette,
            title=self.title,
            caption=self.caption,
            scale=self.scale,
        )
