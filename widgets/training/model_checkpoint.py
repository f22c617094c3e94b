"""ModelCheckpoint: save the trainer's checkpoint of the best epoch and of the last one.

Each file is the trainer's whole `state_dict()` (model, optimizer, counters,
history, random state, ...), made of tensors, lists and numbers only, so
`torch.load(path, weights_only=True)` reads it: `["model"]` is the model's
state dict, and `trainer.load_state_dict(...)` continues the run from there
exactly. A `"saved_by"` entry says which epoch and value it holds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .callbacks import MODES, Callback


class ModelCheckpoint(Callback):
    """Write `best.pt` (the best epoch by `monitor`) and `last.pt` (every epoch) into the folder `path`.

    `monitor` names an epoch record column ("valid_loss", "valid_acc", or one a
    callback adds); `mode="min"` for a loss, `"max"` for a score; `monitor=None`
    keeps only the last. The files are written after every other epoch
    subscriber has run, atomically (a crash never leaves half a file).
    """

    def __init__(self, path: str | os.PathLike, monitor: str | None = "valid_loss", mode: str = "min",
                 save_last: bool = True) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a folder path (str or pathlib.Path), got {type(path).__name__}")
        if monitor is not None and (not isinstance(monitor, str) or not monitor):
            raise TypeError(
                f"monitor must name an epoch record column such as 'valid_loss', or be None; got {monitor!r}"
            )
        if mode not in MODES:
            raise ValueError(f"mode must be 'min' (for a loss) or 'max' (for a score), got {mode!r}")
        if not isinstance(save_last, bool):
            raise TypeError(f"save_last must be True or False, got {save_last!r}")
        if monitor is None and not save_last:
            raise ValueError("with monitor=None and save_last=False there is nothing to save")
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"path must be a folder for best.pt and last.pt; {str(folder)!r} is a file")
        self.path = folder
        self.monitor = monitor
        self.mode = mode
        self.save_last = save_last
        self.trainer: Any = None
        self.best: float | None = None
        self.best_epoch: int | None = None

    @property
    def best_path(self) -> Path:
        """Where the best epoch's checkpoint is written."""
        return self.path / "best.pt"

    @property
    def last_path(self) -> Path:
        """Where the last epoch's checkpoint is written."""
        return self.path / "last.pt"

    def attach(self, trainer: Any) -> None:
        """Follow `trainer`'s history: its "epoch" event comes after every trainer subscriber's."""
        if self.trainer is not None and self.trainer is not trainer:
            raise ValueError("this ModelCheckpoint already saves another trainer; make one per trainer")
        self.trainer = trainer
        trainer.history.on("epoch", self._save)

    def on_reset(self, payload: Mapping[str, Any]) -> None:
        if not payload.get("loaded"):
            self.best, self.best_epoch = None, None

    def improved(self, value: float) -> bool:
        """Whether `value` beats the best so far."""
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def _save(self, record: Mapping[str, Any]) -> None:
        epoch = int(record["epoch"])
        state: dict[str, Any] | None = None
        if self.monitor is not None:
            value = float(record[self.monitor])
            if not math.isnan(value) and self.improved(value):
                self.best, self.best_epoch = value, epoch
                state = self.trainer.state_dict()
                state["saved_by"] = {"epoch": epoch, "monitor": self.monitor, "value": value}
                _write(state, self.best_path)
        if self.save_last:
            if state is None:
                state = self.trainer.state_dict()
            state["saved_by"] = {"epoch": epoch, "monitor": self.monitor,
                                 "value": float(record[self.monitor]) if self.monitor is not None else None}
            _write(state, self.last_path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    def __repr__(self) -> str:
        return f"ModelCheckpoint({str(self.path)!r}, monitor={self.monitor!r}, mode={self.mode!r})"


def _write(state: dict[str, Any], path: Path) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
