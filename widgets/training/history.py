"""Training history: per-step columns in growing numpy arrays, per-epoch records in a list.

Step rows are stored column by column (step, epoch, loss, lr, time) in numpy
arrays whose capacity doubles when full, and a million steps take about 36 MB.
Logging a step only appends a tuple to a short list; the rows move into the
columns in blocks (every `_BLOCK` rows, or when anything reads the columns),
which costs far less per step than five scalar writes into numpy arrays. Memory stays bounded: when the
number of rows reaches `max_rows`, the older half of the rows is thinned to
every second row, so recent steps keep full resolution while old ones become
sparser (the `step` column always says which steps remain).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

STEP_COLUMNS: dict[str, np.dtype] = {
    "step": np.dtype(np.int64),
    "epoch": np.dtype(np.int32),
    "loss": np.dtype(np.float64),
    "lr": np.dtype(np.float64),
    "time": np.dtype(np.float64),
}

DEFAULT_MAX_ROWS = 5_000_000
_INITIAL_CAPACITY = 1024
_BLOCK = 512


class History:
    """Step and epoch records of one training run; usable on its own by a hand-written loop."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 4:
            raise ValueError(f"max_rows must be an int of at least 4, got {max_rows!r}")
        self.max_rows = max_rows
        self.epochs: list[dict[str, Any]] = []
        self._changes = 0  # epochs logged, clears and loads; see `version`
        self._flushed_rows = 0  # step rows ever moved from `_pending` into the columns
        self._size = 0
        self._pending: list[tuple[int, int, float, float, float]] = []
        self._columns = _empty_columns(min(_INITIAL_CAPACITY, self.max_rows))

    @property
    def version(self) -> int:
        """A number that grows with every change (step logged, epoch logged, clear, load): compare to see news."""
        return self._changes + self._flushed_rows + len(self._pending)

    def __len__(self) -> int:
        self._flush()  # thinning may apply on the way in
        return self._size

    def __repr__(self) -> str:
        return f"History(steps={len(self)}, epochs={len(self.epochs)})"

    @property
    def nbytes(self) -> int:
        """Bytes held by the step columns (allocated capacity, not just the filled rows)."""
        self._flush()
        return sum(column.nbytes for column in self._columns.values())

    def log_step(self, step: int, loss: float, *, epoch: int = 0, lr: float = math.nan, time: float = math.nan) -> None:
        """Append one step row."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        if isinstance(loss, torch.Tensor):
            raise TypeError("loss must be a float, got a tensor: pass loss.item()")
        self._append(int(step), int(epoch), float(loss), float(lr), float(time))

    def _append(self, step: int, epoch: int, loss: float, lr: float, time: float) -> None:
        pending = self._pending
        pending.append((step, epoch, loss, lr, time))
        if len(pending) >= _BLOCK:
            self._flush()

    def _flush(self) -> None:
        """Move the pending rows into the columns, growing or thinning them as needed."""
        pending = self._pending
        if not pending:
            return
        rows = np.array(pending, dtype=np.float64)  # exact for steps and epochs below 2**53
        self._flushed_rows += len(pending)
        pending.clear()
        start = 0
        while start < len(rows):
            capacity = len(self._columns["step"])
            if self._size == capacity:
                if self._size >= self.max_rows:
                    self._thin_oldest()
                else:
                    self._grow()
                continue
            count = min(capacity - self._size, len(rows) - start)
            for index, column in enumerate(self._columns.values()):
                column[self._size : self._size + count] = rows[start : start + count, index]
            self._size += count
            start += count

    def _drop_pending(self) -> None:
        """Forget the rows not yet moved into the columns; they still count, so `version` never goes back."""
        self._flushed_rows += len(self._pending)
        self._pending.clear()

    def _grow(self) -> None:
        capacity = min(2 * len(self._columns["step"]), self.max_rows)
        for name, column in self._columns.items():
            grown = np.empty(capacity, column.dtype)
            grown[: self._size] = column[: self._size]
            self._columns[name] = grown

    def _thin_oldest(self) -> None:
        """Keep every second row of the older half; the newer half stays whole."""
        half = self._size // 2
        keep = np.concatenate([np.arange(0, half, 2), np.arange(half, self._size)])
        for column in self._columns.values():
            column[: len(keep)] = column[keep]
        self._size = len(keep)

    def log_epoch(self, record: Mapping[str, Any]) -> None:
        """Append one epoch record (a mapping of names to numbers)."""
        if not isinstance(record, Mapping):
            raise TypeError(f"an epoch record must be a dict, got {type(record).__name__}")
        self.epochs.append(dict(record))
        self._changes += 1

    def step_column(self, name: str) -> np.ndarray:
        """A read-only 1-D view of one step column: step, epoch, loss, lr or time.

        The view shares memory with the history; copy it to keep values past
        later thinning or `clear()`.
        """
        if name not in STEP_COLUMNS:
            raise ValueError(f"unknown step column {name!r}; expected one of {list(STEP_COLUMNS)}")
        self._flush()
        view = self._columns[name][: self._size]
        view.flags.writeable = False
        return view

    def epoch_column(self, name: str) -> np.ndarray:
        """One key over the epoch records as floats, NaN where a record lacks it."""
        return np.array([float(record.get(name, math.nan)) for record in self.epochs], dtype=np.float64)

    def clear(self) -> None:
        """Drop every step row and epoch record (capacity shrinks back)."""
        self._size = 0
        self._drop_pending()
        self._columns = _empty_columns(min(_INITIAL_CAPACITY, self.max_rows))
        self.epochs = []
        self._changes += 1

    def state_dict(self) -> dict[str, Any]:
        """The history as tensors, lists and numbers (loadable with `torch.load(weights_only=True)`)."""
        return {
            "max_rows": self.max_rows,
            "columns": {name: torch.from_numpy(self.step_column(name).copy()) for name in STEP_COLUMNS},
            "epochs": [dict(record) for record in self.epochs],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the contents with those of `state_dict()`; checks everything before changing anything."""
        if not isinstance(state, Mapping) or not {"columns", "epochs"} <= set(state):
            raise ValueError("a history state must be a dict with 'columns' and 'epochs' (from History.state_dict())")
        columns = state["columns"]
        missing = [name for name in STEP_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"history state lacks step columns {missing}")
        arrays = {name: np.asarray(torch.as_tensor(columns[name]).numpy(), dtype=dtype) for name, dtype in STEP_COLUMNS.items()}
        lengths = {len(array) for array in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(f"history columns differ in length: { {n: len(a) for n, a in arrays.items()} }")
        size = lengths.pop()
        max_rows = int(state.get("max_rows", self.max_rows))
        capacity = max(_INITIAL_CAPACITY, 1 << max(size - 1, 0).bit_length())
        capacity = min(capacity, max(max_rows, size))
        self.max_rows = max_rows
        self._columns = {}
        for name, array in arrays.items():
            column = np.empty(capacity, STEP_COLUMNS[name])
            column[:size] = array
            self._columns[name] = column
        self._size = size
        self._drop_pending()
        self.epochs = [dict(record) for record in state["epochs"]]
        self._changes += 1


def _empty_columns(capacity: int) -> dict[str, np.ndarray]:
    return {name: np.empty(capacity, dtype) for name, dtype in STEP_COLUMNS.items()}
