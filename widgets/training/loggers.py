"""Loggers: the epoch records in a CSV file, and the losses in TensorBoard when it is installed.

Both follow the trainer's history, whose "epoch" event comes after every
trainer subscriber's, so values a callback adds to the epoch record are logged.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .callbacks import Callback


class CSVLogger(Callback):
    """One row per epoch in the CSV file `path`: the epoch record's columns, a header first.

    The file always holds what the trainer's history holds: a reset empties it,
    a loaded checkpoint rewrites it from the loaded history, and a column that
    appears later (a callback's) rewrites it with the new header.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
        target = Path(path)
        if target.is_dir():
            raise ValueError(f"path must name a CSV file; {str(target)!r} is a folder")
        self.path = target
        self.trainer: Any = None
        self._header: list[str] | None = None

    def attach(self, trainer: Any) -> None:
        """Follow `trainer`'s history; the file starts empty (a header comes with the first epoch)."""
        if self.trainer is not None and self.trainer is not trainer:
            raise ValueError("this CSVLogger already logs another trainer; make one per trainer")
        self.trainer = trainer
        trainer.history.on("epoch", self._log)
        trainer.history.on("reset", self._rewrite)
        self._rewrite({})

    def _log(self, record: Mapping[str, Any]) -> None:
        if self._header is None or any(key not in self._header for key in record):
            self._rewrite({})
            return
        with open(self.path, "a", newline="") as file:
            csv.writer(file).writerow([_cell(record.get(key)) for key in self._header])

    def _rewrite(self, payload: Mapping[str, Any]) -> None:
        """The whole file from the history's epoch records."""
        records = self.trainer.history.epochs
        header: list[str] = []
        for record in records:
            header += [key for key in record if key not in header]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as file:
            writer = csv.writer(file)
            if header:
                writer.writerow(header)
            for record in records:
                writer.writerow([_cell(record.get(key)) for key in header])
        self._header = header or None

    def __repr__(self) -> str:
        return f"CSVLogger({str(self.path)!r})"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class TensorBoardLogger(Callback):
    """Write each step's loss and every number of each epoch record as TensorBoard scalars under `log_dir`.

    Needs the `tensorboard` package (`pip install tensorboard`); without it the
    constructor says so. Steps go under "step/loss" and "step/lr" (x: the global
    step), epoch columns under their names (x: the epoch).
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(
                f"log_dir must be a folder path (str or pathlib.Path), got {type(log_dir).__name__}"
            )
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise ImportError("TensorBoardLogger needs the tensorboard package: pip install tensorboard "
                              f"(or CSVLogger, which needs nothing) ({error})") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))
        self.trainer: Any = None

    def attach(self, trainer: Any) -> None:
        """Follow `trainer`'s history for the epoch records."""
        self.trainer = trainer
        trainer.history.on("epoch", self._log_epoch)

    def on_step(self, record: Mapping[str, Any]) -> None:
        self.writer.add_scalar("step/loss", record["loss"], record["step"])
        self.writer.add_scalar("step/lr", record["lr"], record["step"])

    def _log_epoch(self, record: Mapping[str, Any]) -> None:
        epoch = int(record["epoch"])
        for key, value in record.items():
            if (
                key not in ("epoch", "step")
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                self.writer.add_scalar(key, value, epoch)
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
