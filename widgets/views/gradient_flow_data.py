"""The numbers behind GradientFlow: gradient norms per layer, recorded cheaply on every step. No drawing here.

`layer_groups(model, by)` decides what a "layer" is; `GradNorms` records the
norm of every trainable parameter's gradient on each step into a buffer on the
parameters' device (no transfer, no `.item()`), and hands the rows over to
numpy, grouped per layer, only when asked (once per round the page is sent).
`layer_colours(n)` gives the lines' colours, input layer dark, output light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

GROUPINGS = ("module", "parameter")

# viridis at 17 evenly spaced points; between them the colour is interpolated linearly (within 6/255 of
# matplotlib's)
_SEQUENTIAL = ("440154", "48186a", "472d7b", "424086", "3b528b", "33638d", "2c728e", "26828e", "21918c",
               "1fa088", "28ae80", "3fbc73", "5ec962", "84d44b", "addc30", "d8e219", "fde725")
# the output layer's place on the scale: short of the pale yellow end, which vanishes on white
_LIGHTEST = 0.85


def layer_colours(layers: int) -> list[str]:
    """Hex colours of `layers` lines on a sequential scale, input layer (dark purple) to output layer
    (green)."""
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
        raise ValueError(f"layers must be an int of at least 1, got {layers!r}")
    anchors = np.array(
        [[int(code[i : i + 2], 16) for i in (0, 2, 4)] for code in _SEQUENTIAL], dtype=np.float64
    )
    places = _LIGHTEST * np.arange(layers) / max(layers - 1, 1) * (len(anchors) - 1)
    below = np.minimum(np.floor(places).astype(int), len(anchors) - 2)
    part = (places - below)[:, None]
    rgb = np.round(anchors[below] * (1 - part) + anchors[below + 1] * part).astype(int)
    return ["#" + "".join(f"{int(value):02x}" for value in colour) for colour in rgb]


def layer_groups(
    model: nn.Module, by: str = "module"
) -> tuple[list[str], list[tuple[str, nn.Parameter]], list[int]]:
    """(layer names, the trainable (name, parameter) pairs, each parameter's layer index).

    `by="module"`: a layer is a module that owns trainable parameters itself
    (a Linear, a Conv2d, a BatchNorm2d...), named by its path and type, e.g.
    "0 Linear"; its norm is that of all its parameters together. `by="parameter"`:
    a layer is one parameter tensor, e.g. "0.weight". Frozen parameters
    (`requires_grad=False`) are left out. Order: the model's, input first.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}, got {by!r}")
    names: list[str] = []
    parameters: list[tuple[str, nn.Parameter]] = []
    groups: list[int] = []
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        owned = [(name, p) for name, p in module.named_parameters(recurse=False)
                 if p.requires_grad and id(p) not in seen]
        if owned and by == "module":
            names.append(f"{module_name or 'model'} {type(module).__name__}")
        for name, parameter in owned:
            seen.add(id(parameter))
            full = f"{module_name}.{name}" if module_name else name
            if by == "parameter":
                names.append(full)
            parameters.append((full, parameter))
            groups.append(len(names) - 1)
    if not parameters:
        raise ValueError(
            "the model has no trainable parameters (every requires_grad is False): no gradient to follow"
        )
    return names, parameters, groups


class GradNorms:
    """Gradient norms of `parameters`, one row per recorded step, summed per layer on reading.

    `record(step)` runs on the trainer's "backward" event: one
    `torch.linalg.vector_norm` per gradient, stacked into a row of a buffer on
    the parameters' device. A parameter without a gradient (None: unused in
    the forward pass) counts as NaN; a layer whose parameters all have none is
    NaN on that step (a gap in its line). `columns()` moves the rows recorded
    since its last call to numpy in one transfer and returns every step so far;
    `new_rows()` returns only the rows written since its own last call.
    """

    def __init__(
        self, parameters: Sequence[nn.Parameter], groups: Sequence[int], capacity: int = 1024
    ) -> None:
        if len(parameters) != len(groups) or not parameters:
            raise ValueError("GradNorms needs one layer index per parameter, and at least one parameter")
        self.parameters = list(parameters)
        self.layers = max(groups) + 1
        self._device = self.parameters[0].device
        self._membership = np.zeros((len(self.parameters), self.layers))
        self._membership[np.arange(len(groups)), list(groups)] = 1.0
        self._missing = torch.full((), math.nan, device=self._device)
        self._float32 = all(p.dtype == torch.float32 for p in self.parameters)
        self._capacity = max(int(capacity), 1)
        self.clear()

    def clear(self) -> None:
        """Forget every recorded step."""
        self._rows = torch.empty(
            (self._capacity, len(self.parameters)), dtype=torch.float32, device=self._device
        )
        self._steps = np.empty(self._capacity, dtype=np.int64)
        self._layer_norms = np.empty((self._capacity, self.layers))
        self.count = 0
        self._synced = 0
        self._unread = 0  # rows before this one were handed out by new_rows() and not written since

    def record(self, step: int) -> None:
        """Take the gradient norms of this step (called after backward, before the optimizer step)."""
        count = self.count
        if count and step <= self._steps[count - 1]:
            # the same step again: the attempt recorded before failed after its backward pass
            count = int(np.searchsorted(self._steps[:count], step))
            self._synced = min(self._synced, count)
        self._unread = min(self._unread, count)
        if count == len(self._steps):
            self._grow()
        vector_norm, missing = torch.linalg.vector_norm, self._missing
        with torch.no_grad():
            norms = [missing if p.grad is None else vector_norm(p.grad) for p in self.parameters]
            if self._float32:
                torch.stack(norms, out=self._rows[count])
            else:  # norms of other dtypes are converted on the way in
                self._rows[count].copy_(torch.stack([norm.float() for norm in norms]))
        self._steps[count] = step
        self.count = count + 1

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, norms per layer) of every recorded step: shapes (n,) and (n, layers).

        Read-only views that the next `record` or `clear` may change or leave behind: copy to keep.
        """
        count, synced = self.count, self._synced
        if count > synced:
            rows = self._rows[synced:count].to("cpu", torch.float64).numpy()
            present = ~np.isnan(rows)
            squares = np.where(present, rows, 0.0) ** 2
            layer_norms = np.sqrt(squares @ self._membership)
            layer_norms[(present @ self._membership) == 0] = np.nan
            self._layer_norms[synced:count] = layer_norms
            self._synced = count
        steps, layer_norms = self._steps[:count], self._layer_norms[:count]
        steps.flags.writeable = layer_norms.flags.writeable = False
        return steps, layer_norms

    def new_rows(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(first, steps, norms): the rows from row `first` on, written since the last call (read-only views).

        `first` is the number of rows the last call had handed out, unless a
        step was recorded again or `clear()` ran: then the rows from the first
        one rewritten.
        """
        steps, norms = self.columns()
        first = min(self._unread, len(steps))
        self._unread = len(steps)
        return first, steps[first:], norms[first:]

    def _grow(self) -> None:
        capacity = 2 * len(self._steps)
        rows = torch.empty((capacity, len(self.parameters)), dtype=torch.float32, device=self._device)
        rows[: self.count] = self._rows[: self.count]
        steps = np.empty(capacity, dtype=np.int64)
        steps[: self.count] = self._steps[: self.count]
        layer_norms = np.empty((capacity, self.layers))
        layer_norms[: self._synced] = self._layer_norms[: self._synced]
        self._rows, self._steps, self._layer_norms = rows, steps, layer_norms
