"""LossCurve: training loss per step (raw and smoothed), per epoch, and the metrics, drawn in the page.

Follows a Trainer through its events, or is fed by hand from a loop
(`curve.log(step, loss)`, `curve.log_epoch(epoch, ...)`, then `curve.flush()`).
The data lives in a `widgets.history.History` (the trainer's, or one of its
own). The kernel sends only the rows logged since its last send; the page
(`js/curve.js`) keeps every row, smooths, picks log or linear scale and steps
or epochs on x, and reads out the step under the pointer, without asking
the kernel. Stills come from `curve_still.render_curve`.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, NamedTuple

import ipywidgets as ipw
import numpy as np
import traitlets

from ..training.history import History
from .base import check_trainer
from .curve_data import X_AXES, StepSeries, metric_series, step_x
from .live import LiveView, check_pacer
from .pacer import Pacer
from .picture import Picture

__all__ = ["DEFAULT_SIZE", "X_AXES", "CurveState", "LossCurve"]

DEFAULT_SIZE = (640, 260)
"""Width and height of the picture in CSS pixels."""
MIN_SIZE = (320, 190)
"""The smallest picture in which every label, tick label and the legend still fit."""

# as in widgets.views.style, without importing matplotlib
SPLIT_COLOURS = {"train": "#1f77b4", "valid": "#e66100"}


class CurvePicture(Picture):
    """The loss curve's canvas; the page sets the three options below when the learner changes them."""

    log_scale = traitlets.Bool(False).tag(sync=True)
    x_axis = traitlets.Unicode("steps").tag(sync=True)
    smoothing = traitlets.Float(0.9).tag(sync=True)


class CurveState(NamedTuple):
    """What one still of the curve shows: the first `steps` step rows and `epochs` epoch records, and the
    options."""

    steps: int
    epochs: int
    log_scale: bool
    x_axis: str
    smoothing: float


def _number(name: str, value: Any) -> float:
    """A plain float from a number or a one-element tensor/array, or a TypeError naming `name`."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: getattr(value, "size", 1))() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number (or a one-element tensor), got {type(value).__name__}")
    return float(value)


def _check_size(size: Any) -> tuple[int, int]:
    try:
        width, height = (int(side) for side in size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be (width, height) in pixels, got {size!r}") from None
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise ValueError(
            f"size must be at least {MIN_SIZE} pixels (width, height) so every label fits, got {size!r}"
        )
    return width, height


def _check_options(smoothing: Any, log_scale: Any, x_axis: Any) -> None:
    if isinstance(smoothing, bool) or not isinstance(smoothing, Real) or not 0 <= float(smoothing) < 1:
        raise ValueError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
    if not isinstance(log_scale, bool):
        raise TypeError(f"log_scale must be True or False, got {type(log_scale).__name__}")
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, got {x_axis!r}")


class LossCurve(LiveView):
    """Live loss curve: per-step loss (faint raw line and smoothed line), per-epoch train and
    validation loss (markers), the metrics on a panel of their own, a log-scale toggle and
    steps or epochs on x, all switched in the page.

    `LossCurve(trainer)` follows a Trainer; `LossCurve()` is fed by hand with
    `log(step, loss)` and `log_epoch(epoch, train_loss=..., valid_loss=..., acc=...)`;
    `LossCurve(history=h)` follows a History that a hand-written loop feeds
    (`h.log(loss.item())` each step, `h.end_epoch(valid_loss=...)` each epoch),
    live, as it follows a trainer.
    `smoothing` is the moving average's decay in [0, 1) (0: no smoothing);
    `size` is (width, height) in pixels, at least `MIN_SIZE`.
    """

    def __init__(
        self,
        trainer: Any = None,
        *,
        history: History | None = None,
        smoothing: float = 0.9,
        log_scale: bool = False,
        x_axis: str = "steps",
        pacer: Pacer | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
    ) -> None:
        if trainer is not None:
            check_trainer(trainer, "LossCurve")
        check_pacer(pacer)
        _check_options(smoothing, log_scale, x_axis)
        if history is not None and (trainer is not None or not isinstance(history, History)):
            raise TypeError(
                "history must be a widgets.history.History, given only without a trainer (a trainer brings "
                "its own)"
            )
        width, height = _check_size(size)
        self.trainer = trainer
        self.history: History = (
            trainer.history if trainer is not None else history if history is not None else History()
        )
        picture = CurvePicture("curve", width=width, height=height, log_scale=log_scale, x_axis=x_axis,
                               smoothing=float(smoothing))
        super().__init__(ipw.VBox([picture]), picture, "loss-curve", pacer)
        self._sent_steps = 0  # step rows put into the picture
        self._last_step: float | None = None  # the step number of the last row put
        self._sent_epochs = 0
        self._last_record: dict | None = None  # the newest epoch record put, to notice a history replaced
        self._epoch_keys: list[str] = []
        self._set_options()
        if trainer is not None:
            self.follow(trainer)
        else:
            self.follow_history(self.history)
        self.finish()

    # --- options (the page's toggles) --------------------------------------------------------
    @property
    def log_scale(self) -> bool:
        """Is the loss axis logarithmic? The page's toggle sets it; so can the kernel."""
        return bool(self.picture.log_scale)

    @log_scale.setter
    def log_scale(self, value: bool) -> None:
        _check_options(self.smoothing, value, self.x_axis)
        self.picture.log_scale = value

    @property
    def x_axis(self) -> str:
        """"steps" or "epochs": what x counts."""
        return str(self.picture.x_axis)

    @x_axis.setter
    def x_axis(self, value: str) -> None:
        _check_options(self.smoothing, self.log_scale, value)
        self.picture.x_axis = value

    @property
    def smoothing(self) -> float:
        """The smoothed line's decay in [0, 1)."""
        return float(self.picture.smoothing)

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        _check_options(value, self.log_scale, self.x_axis)
        self.picture.smoothing = float(value)

    # --- what the picture holds ----------------------------------------------------------------
    @property
    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every line as (x, y) arrays, x in steps or epochs as `x_axis` says.

        "step_loss" is the raw loss per step and "smoothed_loss" its moving
        average; then the epoch columns: "train_loss", "valid_loss" and each
        metric ("train_acc", "valid_acc", ...).
        """
        return curve_series(self.history, self.frame_state(), self._steps_per_epoch())

    # --- feeding by hand -------------------------------------------------------------------------
    def log(self, step: int, loss: Any, epoch: int | None = None) -> None:
        """Record one step's loss (a number or a one-element tensor); sent when the pacer's round is due."""
        self._check_by_hand("log")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got {type(step).__name__}")
        value = _number("loss", loss)
        steps = self.history.step_column("step")
        if len(steps) and step <= steps[-1]:
            raise ValueError(f"steps must increase: got step {step} after step {int(steps[-1])}")
        if epoch is None:
            epoch = len(self.history.epochs) + 1
        elif isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise TypeError(f"epoch must be a non-negative int or None, got {epoch!r}")
        self.history.log_step(int(step), value, epoch=int(epoch))  # the history's "step" event sends when due

    def log_epoch(self, epoch: int, train_loss: Any = None, valid_loss: Any = None, **metrics: Any) -> None:
        """Record one epoch's losses and metrics (`acc=...`, `valid_acc=...`) and send them."""
        self._check_by_hand("log_epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 1:
            raise TypeError(f"epoch must be an int counted from 1, got {epoch!r}")
        record: dict[str, float] = {"epoch": int(epoch)}
        steps = self.history.step_column("step")
        record["step"] = int(steps[-1]) if len(steps) else 0
        for name, value in (("train_loss", train_loss), ("valid_loss", valid_loss), *metrics.items()):
            if value is not None:
                record[name] = _number(name, value)
        self.history.log_epoch(record)  # the history's "epoch" event records a frame and sends when due

    def clear(self) -> None:
        """Forget everything logged by hand and show the empty curve."""
        self._check_by_hand("clear")
        self.history.clear()
        self.finish()

    def _check_by_hand(self, what: str) -> None:
        if self.trainer is not None:
            raise RuntimeError(
                f"this LossCurve follows a trainer, which logs every step itself; {what}() is for a "
                "LossCurve() fed by hand"
            )

    # --- LiveView -------------------------------------------------------------------------------
    def collect(self) -> None:
        with self._lock:
            self._put_steps()
            self._put_epochs()

    def _put_steps(self) -> None:
        steps = self.history.step_column("step")
        loss = self.history.step_column("loss")
        count, sent = len(steps), self._sent_steps
        # rows only ever grow, except after clear(), a load, or thinning: then everything goes again
        rewritten = count < sent or (sent and float(steps[sent - 1]) != self._last_step)
        if rewritten or sent == 0:
            self.picture.put("step", steps.astype(np.int32))  # step numbers up to 2**31: 4 bytes a row, not 8
            self.picture.put("loss", loss.astype(np.float32))
        elif count > sent:
            self.picture.extend("step", steps[sent:].astype(np.int32))
            self.picture.extend("loss", loss[sent:].astype(np.float32))
        self._sent_steps = count
        self._last_step = float(steps[-1]) if count else None

    def _put_epochs(self) -> None:
        """Put the epoch records logged since the last call: a round costs its new records, not the
        whole run."""
        records = self.history.epochs
        count, sent = len(records), self._sent_epochs
        # records are only appended, except after clear(), a load or a reset: then everything goes again
        if count < sent or (sent and records[sent - 1] is not self._last_record):
            for key in self._epoch_keys:
                self.picture.drop(f"epoch:{key}")
            self._epoch_keys, sent = [], 0
        new = records[sent:]
        if not new and sent == self._sent_epochs:
            return
        known = set(self._epoch_keys)
        appeared = [
            key
            for key in dict.fromkeys(key for record in new for key in record)
            if key != "time" and key not in known
        ]
        for key in self._epoch_keys:
            rows = np.array([float(record.get(key, np.nan)) for record in new])
            self.picture.extend(f"epoch:{key}", rows.astype(_epoch_dtype(key)))
        # a key seen for the first time: its whole column, NaN where earlier records lack it
        for key in appeared:
            column = np.array([float(record.get(key, np.nan)) for record in records])
            self.picture.put(f"epoch:{key}", column.astype(_epoch_dtype(key)))
        self._sent_epochs = count
        self._last_record = records[-1] if records else None
        if appeared or sent == 0:
            self._epoch_keys = self._epoch_keys + appeared
            self._set_options()

    def _set_options(self) -> None:
        names, has_valid = self._metric_names()
        metrics = metric_series(self._epoch_keys, names, has_valid)
        self.picture.options = {
            "metrics": [{"key": m.key, "name": m.name, "split": m.split} for m in metrics],
            "valid": has_valid or "valid_loss" in self._epoch_keys,
            "steps_per_epoch": self._steps_per_epoch(),
            "colours": SPLIT_COLOURS,
        }

    def _metric_names(self) -> tuple[list[str], bool]:
        if self.trainer is None:
            return [], False
        return list(self.trainer.metric_names or []), self.trainer.valid_loader is not None

    def _steps_per_epoch(self) -> int | None:
        return getattr(self.trainer, "steps_per_epoch", None) if self.trainer is not None else None

    def on_reset(self, payload: dict) -> None:
        self._set_options()
        super().on_reset(payload)

    def frame_state(self) -> CurveState:
        return CurveState(
            len(self.history), len(self.history.epochs), self.log_scale, self.x_axis, self.smoothing
        )

    def render_png(self, state: CurveState) -> bytes:
        from .curve_still import render_curve  # matplotlib loads only when a still is asked for

        names, has_valid = self._metric_names()
        return render_curve(curve_series(self.history, state, self._steps_per_epoch()), state,
                            metric_series(_epoch_keys(self.history, state.epochs), names, has_valid),
                            size=(self.picture.width, self.picture.height))


def _epoch_dtype(key: str) -> type:
    """Step and epoch numbers stay exact (float64); losses and metrics go as float32, plenty for a picture."""
    return np.float64 if key in ("step", "epoch") else np.float32


def _epoch_keys(history: History, epochs: int) -> list[str]:
    return list(dict.fromkeys(key for record in history.epochs[:epochs] for key in record
                              if key not in ("epoch", "time", "step")))


def curve_series(history: History, state: CurveState, steps_per_epoch: int | None = None
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The lines of a curve as (x, y) arrays: the first `state.steps` steps and `state.epochs` epochs of
    `history`."""
    steps = history.step_column("step")[: state.steps].astype(np.float64)
    loss = history.step_column("loss")[: state.steps].astype(np.float64)
    records = history.epochs[: state.epochs]
    ends = np.array([float(record.get("step", np.nan)) for record in records])
    by_epoch = state.x_axis == "epochs"

    def x_of(values: np.ndarray) -> np.ndarray:
        return step_x(values, ends, steps_per_epoch) if by_epoch else values

    smoothed = StepSeries(state.smoothing).update(loss) if state.smoothing else loss
    lines = {
        "step_loss": (x_of(steps), loss),
        "smoothed_loss": (x_of(steps), np.asarray(smoothed, dtype=np.float64)),
    }
    epoch_x = (
        np.array([float(record.get("epoch", i + 1)) for i, record in enumerate(records)])
        if by_epoch
        else ends
    )
    for key in ("train_loss", "valid_loss", *_epoch_keys(history, state.epochs)):
        if key in lines or not any(key in record for record in records):
            continue
        values = np.array([float(record.get(key, np.nan)) for record in records])
        lines[key] = (epoch_x.copy(), values)
    return lines
