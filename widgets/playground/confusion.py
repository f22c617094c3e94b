"""The confusion matrix of a classifier's predictions, and a small HTML table of it."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from widgets.views.style import CONFUSION_DIAGONAL


def confusion_matrix(pred: ArrayLike, target: ArrayLike, classes: int) -> np.ndarray:
    """Counts [classes, classes] (int64): row = the true class, column = the predicted class.

    `pred` and `target` are class numbers 0 .. classes - 1 of the same length
    (numpy arrays, CPU tensors or lists).
    """
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    predicted, true = _classes(pred, "pred", classes), _classes(target, "target", classes)
    if predicted.shape != true.shape:
        raise ValueError(f"pred and target must have the same length, got {len(predicted)} and {len(true)}")
    return np.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def _classes(values: ArrayLike, name: str, classes: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one class per example [N], got shape {list(array.shape)}")
    if array.size == 0:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold class numbers (integers), got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= classes:
        raise ValueError(f"{name} must hold classes 0 .. {classes - 1}, "
                         f"got values from {array.min()} to {array.max()}")
    return array.astype(np.int64)


def confusion_html(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """An HTML table of `matrix` (from `confusion_matrix`): true classes down, predicted across, the diagonal
    shaded."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
        raise ValueError(f"matrix must be square [classes, classes], got shape {list(matrix.shape)}")
    if not np.issubdtype(matrix.dtype, np.integer) or (matrix < 0).any():
        raise ValueError(f"matrix must hold counts (non-negative integers), got dtype {matrix.dtype}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"class_names must name the {matrix.shape[0]} classes, got {len(class_names)} names")
    names = [html.escape(str(name)) for name in class_names]
    cell = "padding:1px 6px;text-align:right"
    head = "".join(f'<th style="{cell}">{name}</th>' for name in names)
    rows = []
    for i, name in enumerate(names):
        counts = "".join(
            f'<td style="{cell};background:{CONFUSION_DIAGONAL};font-weight:bold">{count}</td>' if i == j
            else f'<td style="{cell}">{count}</td>'
            for j, count in enumerate(matrix[i].tolist()))
        rows.append(f'<tr><th style="{cell}">{name}</th>{counts}</tr>')
    return (f'<table class="lt-confusion" style="border-collapse:collapse;font-size:12px">'
            f'<tr><th style="{cell}">true \\ predicted</th>{head}</tr>{"".join(rows)}</table>')
