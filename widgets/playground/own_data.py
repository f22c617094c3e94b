"""A learner's own points for the Playground: checked, and turned to tensors or plain lists."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .checks import shown

MAX_CLASSES = 10
MAX_POINTS = 100_000


def _as_tensor(label: str, value: Any) -> torch.Tensor:
    """A CPU tensor of numbers from a tensor, a numpy array or nested lists."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as error:  # ragged lists, objects numpy cannot hold
            raise TypeError(f"{label} must be numbers in a rectangular array, "
                            f"got {shown(value)} ({error})") from None
        if array.dtype.kind not in "biuf":
            example = repr(array.flat[0].item()) if array.size else "none"
            raise TypeError(f"{label} must hold numbers, got values of dtype {array.dtype} such as {example}")
        tensor = torch.from_numpy(array.copy())
    if tensor.is_complex():
        raise TypeError(f"{label} must hold real numbers, got {tensor.dtype}")
    return tensor


def check_data(x: Any, y: Any, label: str = "data") -> tuple[torch.Tensor, torch.Tensor]:
    """A learner's points as `(x, y)` tensors the Playground trains on.

    `x`: `[N, 2]` numbers (tensor, numpy array or nested lists), 2 <= N <= 100,000,
    finite; returned as float32. `y`: `[N]` (or `[N, 1]`) values: integers (or
    bools) are class indices 0..K-1 with 2 <= K <= 10 and every class present,
    returned as int64; floats are regression targets, returned as float32.
    """
    xs, ys = _as_tensor(f"{label}['x']", x), _as_tensor(f"{label}['y']", y)
    if xs.dim() != 2 or xs.shape[1] != 2:
        raise ValueError(f"{label}['x'] must have shape [N, 2] (one row (x1, x2) per point), "
                         f"got {list(xs.shape)}")
    if xs.dtype == torch.bool:
        raise TypeError(f"{label}['x'] must hold numbers (coordinates), got {xs.dtype}")
    if not 2 <= len(xs) <= MAX_POINTS:
        raise ValueError(f"{label}['x'] must hold from 2 to {MAX_POINTS:,} points, got {len(xs)}")
    xs = xs.to(torch.float32)
    bad = int((~torch.isfinite(xs)).any(dim=1).sum())
    if bad:
        raise ValueError(f"{label}['x'] must be finite numbers, got {bad} point(s) holding NaN or infinity "
                         f"(within float32's range)")
    if ys.dim() == 2 and ys.shape[1] == 1:
        ys = ys[:, 0]
    if ys.dim() != 1:
        raise ValueError(f"{label}['y'] must have shape [N] (one label or value per point), "
                         f"got {list(ys.shape)}")
    if len(ys) != len(xs):
        raise ValueError(f"{label}['x'] and {label}['y'] must have one length: "
                         f"got {len(xs)} points and {len(ys)} labels")
    if ys.is_floating_point():
        ys = ys.to(torch.float32)
        bad = int((~torch.isfinite(ys)).sum())
        if bad:
            raise ValueError(f"{label}['y'] must be finite values, got {bad} NaN or infinite value(s)")
        return xs, ys
    return xs, _check_classes(f"{label}['y']", ys.to(torch.int64))


def _check_classes(label: str, y: torch.Tensor) -> torch.Tensor:
    low, high = int(y.min()), int(y.max())
    if low < 0:
        hint = (" (the Playground writes -1 and +1: use (y > 0) for classes 0 and 1)"
                if low == -1 and high == 1 else "")
        raise ValueError(f"{label} must be class indices from 0, got {low}{hint}")
    if high + 1 > MAX_CLASSES:
        raise ValueError(f"{label} must be class indices 0..K-1 with K at most {MAX_CLASSES}, "
                         f"got the class {high}")
    counts = torch.bincount(y, minlength=high + 1)
    if high == 0 or int((counts > 0).sum()) < 2:
        raise ValueError(f"{label} must hold at least two classes, got only class {high}")
    missing = torch.nonzero(counts == 0).squeeze(1).tolist()
    if missing:
        hint = " (classes count from 0 in PyTorch: subtract 1 from labels 1..K)" if missing == [0] else ""
        raise ValueError(f"{label} must use every class 0..{high} (K = {high + 1}), "
                         f"got none of class(es) {missing}{hint}")
    return y


def data_lists(x: torch.Tensor, y: torch.Tensor) -> dict[str, list]:
    """Checked data as plain lists (floats for x; ints or floats for y) that rebuild bitwise the same
    tensors."""
    return {"x": x.tolist(), "y": y.tolist()}
