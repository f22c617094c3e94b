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
import time as _time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .events import EventHub, Subscription

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
HISTORY_EVENTS = ("step", "epoch", "reset")
"""What a History tells its subscribers: a step row logged, an epoch record logged, cleared or loaded."""


class History:
    """Step and epoch records of one training run; usable on its own by a hand-written loop.

    A hand-written loop feeds it with `log(loss)` per step and `end_epoch(**values)` per
    epoch (or the explicit `log_step` / `log_epoch`); a view follows it with
    `history.on("step" | "epoch" | "reset", callback)`, exactly as it follows a trainer.
    """

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
        self._hub: EventHub | None = None  # made by the first on(): a History nobody follows pays nothing
        self._follow_steps = False
        self._started: float | None = None  # when log() first ran, for its time column
        self._epoch_first_row = 0  # rows logged (ever) when the open epoch began, for end_epoch's train_loss

    # --- events ------------------------------------------------------------------------------------
    def on(self, event: str, callback: Callable[[dict], Any]) -> Subscription:
        """Subscribe `callback(payload)` to "step" (the row as a dict: step, epoch, loss, lr, time), "epoch"
        (the record) or "reset" (`{}` after `clear()`, `{"loaded": True}` after `load_state_dict()`);
        `.remove()` ends it.

        Every row counts, whether a trainer or a hand-written loop logged it. An exception a subscriber
        raises is reported with a warning and kept in `history.callback_errors`; logging goes on.
        """
        if self._hub is None:
            self._hub = EventHub(HISTORY_EVENTS)
        subscription = self._hub.on(event, callback)
        self._follow_steps = bool(self._hub.subscribers["step"])
        return _HistorySubscription(self, subscription)

    def listeners(self, event: str) -> list[Callable[[dict], Any]]:
        """The callbacks subscribed to `event`, in the order they run."""
        if event not in HISTORY_EVENTS:
            raise ValueError(
                f"unknown event {event!r}; expected one of {', '.join(map(repr, HISTORY_EVENTS))}"
            )
        return [] if self._hub is None else [s.callback for s in self._hub.subscribers[event]]

    @property
    def callback_errors(self) -> list:
        """The latest exceptions raised by subscribers (`CallbackError`s)."""
        return [] if self._hub is None else list(self._hub.errors)

    def _emit(self, event: str, payload: dict) -> None:
        if self._hub is not None and self._hub.subscribers[event]:
            self._hub.emit(event, payload)

    def _unsubscribed(self) -> None:
        self._follow_steps = self._hub is not None and bool(self._hub.subscribers["step"])

    @property
    def version(self) -> int:
        """A number that grows with every change (step logged, epoch logged, clear, load): compare to
        see news."""
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

    def log_step(
        self, step: int, loss: float, *, epoch: int = 0, lr: float = math.nan, time: float = math.nan
    ) -> None:
        """Append one step row."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        if isinstance(loss, torch.Tensor):
            raise TypeError("loss must be a float, got a tensor: pass loss.item()")
        self._append(int(step), int(epoch), float(loss), float(lr), float(time))

    def log(self, loss: float, *, lr: float = math.nan) -> dict[str, Any]:
        """The short call for a hand-written loop: log one step's loss (a number, or a one-element tensor).

        The step is numbered after the last one logged, the epoch is the one `end_epoch()` will close
        (numbered from 1), and the time is seconds since the first `log`. Returns the row as a dict.
        """
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ValueError(f"loss must be one number, got a tensor of shape {list(loss.shape)}")
            loss = loss.item()
        if isinstance(loss, bool) or not isinstance(loss, (int, float, np.number)):
            raise TypeError(f"loss must be a number or a one-element tensor, got {type(loss).__name__}")
        now = _time.perf_counter()
        if self._started is None:
            self._started = now
        step = self.last_step + 1
        epoch = len(self.epochs) + 1
        self._append(step, epoch, float(loss), float(lr), now - self._started)
        return {
            "step": step,
            "epoch": epoch,
            "loss": float(loss),
            "lr": float(lr),
            "time": now - self._started,
        }

    @property
    def last_step(self) -> int:
        """The step number of the newest row, 0 when there is none."""
        if self._pending:
            return self._pending[-1][0]
        return int(self._columns["step"][self._size - 1]) if self._size else 0

    def end_epoch(self, **values: float) -> dict[str, Any]:
        """Close an epoch of a hand-written loop: log its record and return it.

        The record holds `epoch` (numbered from 1), `step` (the last step logged), `train_loss` (the mean of
        the losses logged since the previous epoch, unless given), `time`, and every value given
        (`valid_loss=0.41, valid_acc=0.86`, numbers or one-element tensors).
        """
        record: dict[str, Any] = {"epoch": len(self.epochs) + 1, "step": self.last_step}
        given: dict[str, float] = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"{name} must be one number, got a tensor of shape {list(value.shape)}")
                value = value.item()  # a tensor that requires grad too: item() reads its number alone
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
            given[name] = float(value)
        if "train_loss" not in values:
            self._flush()
            rows = self._flushed_rows - self._epoch_first_row
            losses = self._columns["loss"][max(self._size - rows, 0) : self._size]
            record["train_loss"] = float(losses.mean()) if len(losses) else math.nan
        record.update(given)
        record["time"] = _time.perf_counter() - self._started if self._started is not None else 0.0
        self.log_epoch(record)
        return record

    def _append(self, step: int, epoch: int, loss: float, lr: float, time: float) -> None:
        pending = self._pending
        pending.append((step, epoch, loss, lr, time))
        if len(pending) >= _BLOCK:
            self._flush()
        if self._follow_steps:
            self._emit("step", {"step": step, "epoch": epoch, "loss": loss, "lr": lr, "time": time})

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
        self._append_epoch(dict(record))

    def _append_epoch(self, record: dict[str, Any], notify: bool = True) -> None:
        """Keep `record` itself (the trainer's: what its "epoch" subscribers add to it stays in the history).

        The trainer passes `notify=False` and tells this History's subscribers after its own.
        """
        self.epochs.append(record)
        self._changes += 1
        self._epoch_first_row = self._flushed_rows + len(self._pending)
        if notify:
            self._emit("epoch", record)

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
        self._started = None
        self._epoch_first_row = self._flushed_rows
        self._emit("reset", {})

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
            raise ValueError(
                "a history state must be a dict with 'columns' and 'epochs' (from History.state_dict())"
            )
        columns = state["columns"]
        missing = [name for name in STEP_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"history state lacks step columns {missing}")
        arrays = {
            name: np.asarray(torch.as_tensor(columns[name]).numpy(), dtype=dtype)
            for name, dtype in STEP_COLUMNS.items()
        }
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
        self._epoch_first_row = self._flushed_rows
        self._emit("reset", {"loaded": True})


class _HistorySubscription(Subscription):
    """A subscription to a History's events; removing it also tells the History whether steps are still
    followed."""

    def __init__(self, history: History, inner: Subscription) -> None:
        super().__init__(inner._hub, inner.event, inner.callback)
        self._inner = inner
        self._history = history

    def remove(self) -> None:
        self._inner.remove()
        self._history._unsubscribed()

    @property
    def active(self) -> bool:
        return self._inner.active


def _empty_columns(capacity: int) -> dict[str, np.ndarray]:
    return {name: np.empty(capacity, dtype) for name, dtype in STEP_COLUMNS.items()}
