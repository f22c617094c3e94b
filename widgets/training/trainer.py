"""Trainer: a stepwise training loop with events, play/pause on asyncio, and exact resume.

One private method, `_run_step`, runs every optimizer step; `step`, `run_epoch`,
`fit` and `play` only decide how many to run, so every way of training gives
bitwise the same numbers. See docs/trainer-contract.md for the events, records
and threading rules views rely on.
"""

from __future__ import annotations

import asyncio
import copy
import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from . import checks as _checks
from . import rng as _rng
from .events import EVENT_NAMES, EventHub, Subscription
from .history import History

STATE_DICT_FORMAT = 1

# Module-level names read on every step (a global lookup is cheaper than an attribute chain).
_Tensor = torch.Tensor
_perf_counter = time.perf_counter
_isfinite = math.isfinite
_NO_BATCH = object()  # no batch drawn yet in this step
_EXHAUSTED = object()  # the epoch's iterator ran out


class NonFiniteLossError(FloatingPointError):
    """The loss of a training batch was NaN or infinite; the optimizer step was not taken."""


class Trainer:
    """Trains `model` one optimizer step at a time on batches from `train_loader`.

    `metrics` maps names to `fn(output, target) -> float`. `device="auto"` picks
    CUDA when available, else the CPU, and moves the model and every batch
    there; a device string moves them to that device; `None` moves nothing.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[Any, Any], torch.Tensor],
        optimizer: torch.optim.Optimizer,
        train_loader: Iterable,
        valid_loader: Iterable | None = None,
        metrics: Mapping[str, Callable[[Any, Any], float]] | None = None,
        device: str | torch.device | None = "auto",
        verbose: bool = True,
    ) -> None:
        metrics = _checks.check_constructor(model, loss_fn, optimizer, metrics)
        resolved = _checks.resolve_device(device)
        for role, loader in (("train_loader", train_loader), ("valid_loader", valid_loader)):
            if loader is not None and not isinstance(loader, Iterable):
                raise TypeError(f"{role} must be an iterable of batches such as a DataLoader, got {type(loader).__name__}")
        if train_loader is None:
            raise TypeError("train_loader must be an iterable of batches such as a DataLoader, got None")
        steps_per_epoch = _length(train_loader)
        if steps_per_epoch == 0:
            raise ValueError("the training loader is empty (len 0); it must yield at least one batch")
        if valid_loader is not None and _length(valid_loader) == 0:
            raise ValueError("the validation loader is empty (len 0); pass valid_loader=None to train without validation")
        if not isinstance(verbose, bool):
            raise TypeError(f"verbose must be True or False, got {verbose!r}")

        if resolved is not None:
            model.to(resolved)
            _checks.check_same_parameters(model, optimizer)  # moving can replace parameter objects
        self._model = model
        self._loss_fn = loss_fn
        self._optimizer = optimizer
        self._train_loader = train_loader
        self._valid_loader = valid_loader
        self._metrics = metrics
        self._metric_fns = tuple(metrics.values())
        self._device = resolved
        self.verbose = verbose
        self._steps_per_epoch = steps_per_epoch
        self._loss_kind = _checks.loss_kind(loss_fn)
        # One parameter, found again by name on every step: cheap, and it
        # notices a model moved (or rebuilt) after construction.
        self._probe_owner, self._probe_name = _first_parameter_slot(model)
        self._probe = self._probe_owner._parameters[self._probe_name]
        self._has_buffers = any(True for _ in model.buffers())
        # Taking torch's random state costs microseconds on every step; it is
        # needed only to undo the draws of a step that fails.
        self._snapshot_rng = _checks.may_draw_random(model, loss_fn, metrics)
        self._snapshot_needed = self._snapshot_rng or self._has_buffers
        self._check_ahead = _checks.regression_shapes_agree if self._loss_kind == "regression" else None
        # A class index out of range is a fatal device assert off the CPU: there it is checked on every
        # step (when the device is not known in advance, the output says where it is).
        self._check_range = self._loss_kind == "classification" and (resolved is None or resolved.type != "cpu")
        self._uses_cuda = (resolved is not None and resolved.type == "cuda") or self._probe.is_cuda
        self._generators = _rng.loader_generators(train_loader)

        self._hub = EventHub()
        self._listeners = self._hub.subscribers
        self._lock = threading.RLock()
        self._pause_requested = False  # a plain flag: set from any thread, read between steps
        self._pending_lr: float | None = None
        self._run_id = 0
        self._play_task: asyncio.Task | None = None
        self._play_loop: asyncio.AbstractEventLoop | None = None
        self._interrupt_received = False
        self._in_step = False
        self._state = "idle"
        self._history = History()
        self.last_error: BaseException | None = None

        self._initial = {
            "model": _clone_tensors(model.state_dict()),
            "optimizer_groups": copy.deepcopy(optimizer.state_dict()["param_groups"]),
            "rng": _rng.capture(self._generators, self._uses_cuda),
        }
        self._reset_counters()

    # ------------------------------------------------------------------ read-only views

    model = property(lambda self: self._model, doc="The model being trained.")
    optimizer = property(lambda self: self._optimizer, doc="The optimizer.")
    loss_fn = property(lambda self: self._loss_fn, doc="The loss function.")
    train_loader = property(lambda self: self._train_loader, doc="The training loader.")
    valid_loader = property(lambda self: self._valid_loader, doc="The validation loader, or None.")
    state = property(lambda self: self._state, doc="'idle', 'running', 'paused' or 'error'.")
    steps_per_epoch = property(lambda self: self._steps_per_epoch, doc="len(train_loader), or None without a len.")
    last_loss = property(lambda self: self._last_loss, doc="The last step's training loss, or None.")
    callback_errors = property(lambda self: self._hub.errors, doc="The latest exceptions raised by subscribers.")
    history = property(lambda self: self._history, doc="The step and epoch records (a widgets.history.History).")
    global_step = property(lambda self: self._global_step, doc="Optimizer steps done since construction or reset.")
    epoch = property(lambda self: self._epoch, doc="Epochs completed since construction or reset.")

    def _live_probe(self) -> torch.Tensor:
        """The probe parameter as the model holds it now (moving or rebuilding the model can replace it)."""
        return self._probe_owner._parameters[self._probe_name]

    @property
    def device(self) -> torch.device:
        """Where the model's parameters are (and where batches are moved)."""
        return self._device if self._device is not None else self._live_probe().device

    @property
    def metrics(self) -> dict[str, Callable]:
        """A copy of the metric functions by name."""
        return dict(self._metrics)

    @property
    def metric_names(self) -> list[str]:
        """The metric names, in the order given."""
        return list(self._metrics)

    @property
    def is_playing(self) -> bool:
        """Whether a `play()` task is running."""
        return self._play_task is not None and not self._play_task.done()

    @property
    def lr(self) -> float:
        """The first parameter group's learning rate (a pending `set_lr` value counts)."""
        pending = self._pending_lr
        return pending if pending is not None else float(self._optimizer.param_groups[0]["lr"])

    @property
    def batch_in_epoch(self) -> int:
        """Batches trained on in the current (unfinished) epoch."""
        return self._batch_in_epoch

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self._model).__name__}, loss={_checks.loss_label(self._loss_fn)}, "
            f"optimizer={type(self._optimizer).__name__}, device={self.device}, "
            f"epoch={self._epoch}, step={self._global_step}, state={self._state!r})"
        )

    # ------------------------------------------------------------------ events

    def on(self, event: str, callback: Callable[[dict], Any]) -> Subscription:
        """Subscribe `callback(payload)` to "step", "epoch", "state", "reset" or "backward"; returns a handle with `.remove()`."""
        return self._hub.on(event, callback)

    def _set_state(self, new: str, error: BaseException | None = None) -> None:
        previous = self._state
        if new == previous and error is None:
            return
        self._state = new
        payload: dict[str, Any] = {"state": new, "previous": previous}
        if new == "error":
            payload["error"] = str(error)
        self._hub.emit("state", payload)

    # ------------------------------------------------------------------ training

    def step(self) -> dict[str, Any]:
        """Exactly one optimizer step on the next batch; returns the step record."""
        with self._lock, self._interrupts_at_step_boundary():
            previous = self._state
            self._set_state("running")
            try:
                record = self._run_step()
            except KeyboardInterrupt:
                self._set_state("paused")
                raise
            self._set_state("running" if previous == "running" else previous if previous == "paused" else "idle")
            return record

    def run_epoch(self) -> dict[str, Any]:
        """Step to the end of the current epoch; returns its epoch record."""
        target = self._epoch + 1
        self._run_until(target, stoppable=False)
        if self._epoch < target:
            raise RuntimeError("the epoch did not finish: the trainer was reset or loaded while run_epoch() ran")
        return self._history.epochs[-1]

    def fit(self, epochs: int, verbose: bool | None = None) -> History:
        """Train `epochs` more epochs (blocking) and return the history.

        With no "step" or "epoch" subscriber, prints one line per epoch unless
        `verbose` is False (default: the constructor's `verbose`). `pause()`
        from another thread stops it at the next step boundary.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        if verbose is not None and not isinstance(verbose, bool):
            raise TypeError(f"verbose must be True, False or None, got {verbose!r}")
        target = self._epoch + epochs
        verbose = self.verbose if verbose is None else verbose
        report = None
        if verbose and not (self._hub.has("step") or self._hub.has("epoch")):
            def report(record: dict[str, Any]) -> None:
                print(self.format_epoch(record, target), flush=True)
        self._pause_requested = False
        self._run_until(target, stoppable=True, report=report)
        return self._history

    def _run_until(self, target_epoch: int, stoppable: bool, report: Callable[[dict], None] | None = None) -> None:
        """Run steps until `epoch` reaches `target_epoch`, a pause (when `stoppable`), or a reset.

        `report` is called with each epoch record as the epoch ends.
        """
        with self._interrupts_at_step_boundary():
            self._run_id += 1
            run_id = self._run_id
            self._set_state("running")
            reporting = self._hub.on("epoch", report) if report is not None else None
            try:
                while True:
                    with self._lock:
                        if (self._run_id != run_id or self._epoch >= target_epoch
                                or stoppable and self._pause_requested):
                            break
                        self._run_step(want_record=False)
            except KeyboardInterrupt:
                if self._run_id == run_id:
                    self._set_state("paused")
                raise
            finally:
                if reporting is not None:
                    reporting.remove()
            if self._run_id == run_id and self._state == "running":
                self._set_state("idle" if self._epoch >= target_epoch else "paused")

    def play(self, epochs: int | None = None) -> asyncio.Task:
        """Train on the running asyncio loop, yielding between steps, for `epochs` more epochs or until `pause()`.

        Returns the task; while it runs, `play()` returns that same task.
        """
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
            raise ValueError(f"epochs must be a positive int or None (until paused), got {epochs!r}")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "play() needs a running asyncio event loop, as in a Jupyter cell; "
                "in a script or a plain loop use trainer.fit(epochs) instead"
            ) from None
        if self.is_playing:
            return self._play_task
        self._pause_requested = False
        self._run_id += 1
        run_id = self._run_id
        target = None if epochs is None else self._epoch + epochs
        self._set_state("running")
        task = loop.create_task(self._play(run_id, target))
        task.add_done_callback(self._play_done)
        self._play_task = task
        self._play_loop = loop
        return task

    async def _play(self, run_id: int, target: int | None) -> None:
        finished = False
        try:
            while True:
                with self._lock:
                    if self._run_id != run_id or self._pause_requested:
                        break
                    if target is not None and self._epoch >= target:
                        finished = True
                        break
                    self._run_step(want_record=False)
                await asyncio.sleep(0)
        finally:
            if self._run_id == run_id and self._state == "running":
                self._set_state("idle" if finished else "paused")

    def _play_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            if self._play_task is task and self._state == "running":
                self._set_state("paused")
            return
        error = task.exception()
        if error is not None:
            self.last_error = error
            warnings.warn(
                f"Trainer.play() stopped: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2
            )

    def pause(self) -> None:
        """Stop a `play()` task or a blocking `fit()` at the next step boundary; safe from any thread."""
        self._pause_requested = True
        loop = self._play_loop
        if loop is not None and self.is_playing and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_wake)
            except RuntimeError:
                pass  # the loop closed in between: nothing left to wake

    def set_lr(self, lr: float) -> None:
        """Set every parameter group's learning rate, effective from the next step; safe from any thread."""
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"the learning rate must be a positive finite number, got {lr!r}")
        self._pending_lr = float(lr)
        if self._lock.acquire(blocking=False):
            try:
                self._apply_pending_lr()
            finally:
                self._lock.release()

    def _apply_pending_lr(self) -> None:
        lr = self._pending_lr
        if lr is None:
            return
        for group in self._optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        self._pending_lr = None

    # ------------------------------------------------------------------ the one step

    def _run_step(self, want_record: bool = True) -> dict[str, Any] | None:
        """One optimizer step (caller holds the lock). On failure before the optimizer step nothing changes.

        Returns the step record, or None when `want_record` is False and no one
        listens to "step". The common path is written out in one function on
        purpose: every call, attribute read and temporary object here costs
        time on every step (see tests/benchmarks/bench_trainer.py).
        """
        if self._pending_lr is not None:
            self._apply_pending_lr()
        started = _perf_counter()
        iterator = self._iterator
        batch = _NO_BATCH
        if (iterator is not None and self._held_batch is None and not self._close_pending
                and self._deferred_error is None):
            try:
                batch = next(iterator)
            except StopIteration:
                batch = _EXHAUSTED  # handled below, outside this except, so a new error does not chain to it
            except Exception as error:
                self._fail(error)
                raise
            else:
                self._drawn += 1
        if batch is _NO_BATCH or batch is _EXHAUSTED:
            try:
                if self._close_pending:
                    self._close_epoch()
                batch = self._draw_batch(exhausted=batch is _EXHAUSTED)
            except Exception as error:
                self._fail(error)
                raise
        undo = self._snapshot_for_undo() if self._snapshot_needed else None
        epoch, batch_number, step = self._epoch + 1, self._batch_in_epoch + 1, self._global_step + 1
        self._in_step = True
        try:
            if (type(batch) is tuple or type(batch) is list) and len(batch) == 2:
                x, y = batch
            else:
                x, y = _checks.unpack_batch(batch)
            device = self._device
            if device is not None:
                x = x.to(device) if type(x) is _Tensor else _checks.to_device(x, device)
                y = y.to(device) if type(y) is _Tensor else _checks.to_device(y, device)
            probe = self._probe_owner._parameters[self._probe_name]
            if probe is not self._probe:
                _checks.check_devices(probe, x)
                _checks.check_same_parameters(self._model, self._optimizer)
                self._probe = probe
            model = self._model
            if not model.training:
                model.train()
            try:
                output = model(x)
            except Exception:
                _checks.check_devices(probe, x)  # a clearer error when the batch is on another device
                raise
            check_ahead = self._check_ahead
            if check_ahead is not None and not check_ahead(output, y):
                _checks.check_output(self._loss_kind, output, y)  # raises the clear error
            if self._check_range and type(output) is _Tensor and not output.is_cpu:
                _checks.check_class_range(self._loss_fn, output, y)
            try:
                loss = self._loss_fn(output, y)
            except Exception as error:
                _checks.check_devices(probe, x)
                _checks.diagnose_loss_error(self._loss_kind, self._loss_fn, output, y)
                raise error
            if type(loss) is not _Tensor:
                _checks.check_loss_value(loss)
            try:
                loss_value = loss.item()  # refuses a loss of several numbers (reduction='none')
            except Exception:
                _checks.check_loss_value(loss)
                raise
            if not _isfinite(loss_value):
                raise NonFiniteLossError(
                    f"the training loss became {loss_value} at epoch {epoch}, step {step} (batch {batch_number}); "
                    f"the optimizer step was not taken and the weights are unchanged. Try a smaller learning rate "
                    f"(now {self.lr:g}), then trainer.reset()"
                )
            try:
                batch_size = len(y) if type(y) is _Tensor else _batch_size(y, x)
            except TypeError:  # a 0-d target
                batch_size = _batch_size(y, x)
            metric_fns = self._metric_fns
            if metric_fns:
                detached = output.detach()
                metric_values = [float(fn(detached, y)) for fn in metric_fns]
            # Everything that can reject the batch has run: only now are the last step's gradients cleared,
            # so a step that fails leaves them in place to inspect.
            optimizer = self._optimizer
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self._listeners["backward"]:
                self._hub.emit("backward", {"step": step, "epoch": epoch, "batch": batch_number})
            optimizer.step()
        except BaseException as error:
            self._in_step = False
            self._undo_draws(batch, undo)
            if isinstance(error, Exception):
                self._fail(error)
            raise

        # The step is taken; the bookkeeping below cannot fail on its own.
        self._global_step = step
        self._batch_in_epoch = batch_number
        self._last_loss = loss_value
        self._loss_sum += loss_value * batch_size
        self._samples += batch_size
        if metric_fns:
            sums = self._metric_sums
            for i, value in enumerate(metric_values):
                sums[i] += value * batch_size
        lr = float(optimizer.param_groups[0]["lr"])
        train_time = self._train_time = self._train_time + (_perf_counter() - started)
        self._history._append(step, epoch, loss_value, lr, train_time)
        spe = self._steps_per_epoch
        if (batch_number >= spe) if spe is not None else self._look_ahead():  # the epoch's last batch
            self._iterator = None
            self._drawn = 0
            self._close_pending = True
        self._in_step = False  # the step is complete: from here an interrupt may land
        if self._state == "error":
            self._set_state("running")
        if want_record or self._listeners["step"]:
            record = {"step": step, "epoch": epoch, "batch": batch_number, "loss": loss_value, "lr": lr,
                      "time": train_time, "batch_size": batch_size}
            self._hub.emit("step", record)
        else:
            record = None
        if self._close_pending:
            try:
                self._close_epoch()
            except Exception as error:
                self._fail(error)
                raise
        if self._interrupt_received:
            self._interrupt_received = False
            raise KeyboardInterrupt
        return record

    def _snapshot_for_undo(self) -> tuple[torch.Tensor | None, list | None, list[tuple[torch.Tensor, torch.Tensor]] | None]:
        """What a failed step must put back: torch's random state (when something may draw) and the buffers."""
        rng_state = cuda_state = buffers = None
        if self._snapshot_rng:
            rng_state = torch.get_rng_state()
            cuda_state = torch.cuda.get_rng_state_all() if self._uses_cuda else None
        if self._has_buffers:
            buffers = [(b, b.clone()) for b in self._model.buffers()]
        return rng_state, cuda_state, buffers

    def _undo_draws(self, batch: Any, undo: tuple | None) -> None:
        """A step failed before its optimizer step completed: put back the random state, the buffers and the batch."""
        if undo is not None:
            rng_state, cuda_state, buffers = undo
            if rng_state is not None:
                torch.set_rng_state(rng_state)
            if cuda_state is not None:
                torch.cuda.set_rng_state_all(cuda_state)
            if buffers is not None:
                with torch.no_grad():
                    for live, saved in buffers:
                        live.copy_(saved)
        self._held_batch = batch

    def _fail(self, error: Exception) -> None:
        self.last_error = error
        self._set_state("error", error)

    def _look_ahead(self) -> bool:
        """For a loader without len: draw the next batch now; True when there is none (the epoch ends)."""
        try:
            self._held_batch = next(self._iterator)
        except StopIteration:
            return True
        except Exception as error:  # noqa: BLE001 - raised again by the next step, where it belongs
            self._deferred_error = error
            return False
        self._drawn += 1
        return False

    def _draw_batch(self, exhausted: bool = False) -> Any:
        """The next batch: a held one, else from the epoch's iterator (made here when the epoch starts).

        `exhausted` says the current iterator has just raised StopIteration.
        """
        if not exhausted:
            if self._held_batch is not None:
                batch, self._held_batch = self._held_batch, None
                return batch
            if self._deferred_error is not None:
                error, self._deferred_error = self._deferred_error, None
                raise error
            if self._iterator is None:
                self._epoch_rng = _rng.capture_torch(self._generators)
                self._iterator = iter(self._train_loader)
                self._drawn = 0
            try:
                batch = next(self._iterator)
            except StopIteration:
                pass
            else:
                self._drawn += 1
                return batch
        if self._batch_in_epoch == 0:
            self._epoch_rng.restore(self._generators)
            self._iterator = None
            self._epoch_rng = None
            raise ValueError(
                "the training loader yielded no batch; it must yield at least one (is the dataset empty, "
                "or batch_size larger than the dataset with drop_last=True?)"
            )
        # The loader had fewer batches than its len said: end the epoch here and start the next.
        self._iterator = None
        self._drawn = 0
        self._close_epoch()
        return self._draw_batch()

    def _close_epoch(self) -> None:
        """Validation and the epoch record; on failure the epoch stays open and the next step retries."""
        self._close_pending = True
        started = time.perf_counter()
        record: dict[str, Any] = {"epoch": self._epoch + 1, "step": self._global_step}
        samples = self._samples
        record["train_loss"] = self._loss_sum / samples if samples else math.nan
        for name, total in zip(self._metrics, self._metric_sums):
            record[f"train_{name}"] = total / samples if samples else math.nan
        if self._valid_loader is not None:
            for name, value in self._evaluate(self._valid_loader, "validation loader").items():
                record[f"valid_{name}"] = value
        elapsed = time.perf_counter() - started
        self._train_time += elapsed
        record["time"] = self._train_time - self._epoch_start_time
        self._epoch += 1
        self._batch_in_epoch = 0
        self._loss_sum = 0.0
        self._samples = 0
        self._metric_sums = [0.0] * len(self._metrics)
        self._epoch_start_time = self._train_time
        self._close_pending = False
        self._history.log_epoch(record)
        self._hub.emit("epoch", record)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Loss and metrics over `loader`, averaged over samples; eval mode, no grad, random state untouched."""
        if not isinstance(loader, Iterable):
            raise TypeError(f"evaluate() needs an iterable of batches such as a DataLoader, got {type(loader).__name__}")
        with self._lock:
            saved = _rng.capture((), self._uses_cuda)
            try:
                return self._evaluate(loader, "loader")
            finally:
                saved.restore()

    def _evaluate(self, loader: Iterable, role: str) -> dict[str, float]:
        totals = [0.0] * (1 + len(self._metric_fns))
        samples = 0
        device = self._device
        model, loss_fn, kind, metric_fns = self._model, self._loss_fn, self._loss_kind, self._metric_fns
        check_ahead = self._check_ahead
        with _eval_mode(model), torch.no_grad():
            for batch in loader:
                if (type(batch) is tuple or type(batch) is list) and len(batch) == 2:
                    x, y = batch
                else:
                    x, y = _checks.unpack_batch(batch)
                if device is not None:
                    x = x.to(device) if type(x) is _Tensor else _checks.to_device(x, device)
                    y = y.to(device) if type(y) is _Tensor else _checks.to_device(y, device)
                try:
                    output = model(x)
                except Exception:
                    _checks.check_devices(self._live_probe(), x)
                    raise
                if check_ahead is not None and not check_ahead(output, y):
                    _checks.check_output(kind, output, y)
                try:
                    loss = loss_fn(output, y)
                except Exception as error:
                    _checks.check_devices(self._live_probe(), x)
                    _checks.diagnose_loss_error(kind, loss_fn, output, y)
                    raise error
                size = y.shape[0] if type(y) is _Tensor and y.dim() else _batch_size(y, x)
                totals[0] += loss.item() * size if type(loss) is _Tensor else float(loss) * size
                for i, fn in enumerate(metric_fns, start=1):
                    totals[i] += float(fn(output, y)) * size
                samples += size
        if samples == 0:
            raise ValueError(f"the {role} yielded no samples; it must yield at least one batch")
        names = ["loss", *self._metrics]
        return {name: total / samples for name, total in zip(names, totals)}

    def predict(self, x: Any) -> Any:
        """The model's output for `x` (moved to the device) in eval mode with no grad; the mode is restored."""
        with self._lock, _eval_mode(self._model), torch.no_grad():
            x = _checks.to_device(x, self._device)
            _checks.check_devices(self._live_probe(), x)
            return self._model(x)

    # ------------------------------------------------------------------ reset and checkpoints

    def reset(self) -> None:
        """Back to the initial weights, a fresh optimizer, the initial lr and random state; counters and history cleared."""
        self._stop_runs()
        with self._lock:
            self._model.load_state_dict(self._initial["model"])
            self._optimizer.load_state_dict({"state": {}, "param_groups": copy.deepcopy(self._initial["optimizer_groups"])})
            self._initial["rng"].restore(self._generators)
            self._pending_lr = None
            self._reset_counters()
            self._history.clear()
            self._set_state("idle")
            self._hub.emit("reset", {})

    def _stop_runs(self) -> None:
        """Make a running play task or fit stop at its next step boundary, without touching the state."""
        self._run_id += 1
        self._play_task = None
        self._pause_requested = True

    def _reset_counters(self) -> None:
        self._global_step = 0
        self._epoch = 0
        self._batch_in_epoch = 0
        self._last_loss: float | None = None
        self._loss_sum = 0.0
        self._samples = 0
        self._metric_sums = [0.0] * len(self._metrics)
        self._train_time = 0.0
        self._epoch_start_time = 0.0  # the training time at which the current epoch began
        self._close_pending = False
        self._iterator: Iterator | None = None
        self._drawn = 0
        self._epoch_rng: _rng.RandomState | None = None
        self._held_batch: Any = None
        self._deferred_error: BaseException | None = None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly here, as tensors, lists and numbers (`torch.load(weights_only=True)` reads it)."""
        with self._lock:
            self._apply_pending_lr()
            return {
                "format": STATE_DICT_FORMAT,
                "model": _clone_tensors(self._model.state_dict()),
                "optimizer": copy.deepcopy(self._optimizer.state_dict()),
                "counters": {
                    "global_step": self._global_step, "epoch": self._epoch, "batch_in_epoch": self._batch_in_epoch,
                    "last_loss": self._last_loss, "loss_sum": self._loss_sum, "samples": self._samples,
                    "metric_sums": list(self._metric_sums), "metric_names": list(self._metrics),
                    "train_time": self._train_time, "epoch_time": self._train_time - self._epoch_start_time,
                    "close_pending": self._close_pending,
                },
                "loader": {
                    "drawn": self._drawn if self._iterator is not None else 0,
                    "held": self._held_batch is not None,
                    "held_batch": self._held_batch if _plain(self._held_batch) else None,
                    "epoch_rng": self._epoch_rng.to_dict() if self._iterator is not None else None,
                },
                "history": self._history.state_dict(),
                "rng": _rng.capture(self._generators, self._uses_cuda).to_dict(),
                "initial": {
                    "model": _clone_tensors(self._initial["model"]),
                    "optimizer_groups": copy.deepcopy(self._initial["optimizer_groups"]),
                    "rng": self._initial["rng"].to_dict(),
                },
            }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from `state_dict()` output (of this trainer or another built the same way); fires "reset"."""
        rng, epoch_rng, initial_rng = self._check_state(state)
        self._stop_runs()
        with self._lock:
            self._model.load_state_dict(state["model"])
            self._optimizer.load_state_dict(state["optimizer"])
            counters = state["counters"]
            self._reset_counters()
            self._global_step = int(counters["global_step"])
            self._epoch = int(counters["epoch"])
            self._batch_in_epoch = int(counters["batch_in_epoch"])
            self._last_loss = counters["last_loss"]
            self._loss_sum = float(counters["loss_sum"])
            self._samples = int(counters["samples"])
            self._metric_sums = [float(v) for v in counters["metric_sums"]]
            self._train_time = float(counters["train_time"])
            self._epoch_start_time = self._train_time - float(counters["epoch_time"])
            self._close_pending = bool(counters["close_pending"])
            self._history.load_state_dict(state["history"])
            initial = state["initial"]
            self._initial = {
                "model": _clone_tensors(initial["model"]),
                "optimizer_groups": copy.deepcopy(initial["optimizer_groups"]),
                "rng": initial_rng,
            }
            self._pending_lr = None
            loader = state["loader"]
            if loader["drawn"]:
                self._replay_epoch(epoch_rng, int(loader["drawn"]), bool(loader["held"]), loader.get("held_batch"))
            rng.restore(self._generators)
            self._set_state("idle")
            self._hub.emit("reset", {})

    def _replay_epoch(self, epoch_rng: _rng.RandomState, drawn: int, held: bool, held_batch: Any) -> None:
        """Recreate the epoch's iterator as it was: its starting torch random state, then `drawn` batches.

        The batch held for the next step comes from the checkpoint when it was
        saved there (tensors and plain containers), else from the replay.
        """
        epoch_rng.restore(self._generators)
        self._epoch_rng = epoch_rng
        self._iterator = iter(self._train_loader)
        batch = None
        for _ in range(drawn):
            batch = next(self._iterator)
        self._drawn = drawn
        self._held_batch = (held_batch if held_batch is not None else batch) if held else None

    def _check_state(self, state: object) -> tuple[_rng.RandomState, _rng.RandomState | None, _rng.RandomState]:
        """Reject a malformed or mismatched checkpoint before anything changes; returns its random states."""
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict expects the dict from Trainer.state_dict(), got {type(state).__name__}")
        needed = {"format", "model", "optimizer", "counters", "loader", "history", "rng", "initial"}
        missing = needed - set(state)
        if missing:
            raise ValueError(f"not a Trainer state dict: missing {sorted(missing)} (use Trainer.state_dict() output)")
        if state["format"] != STATE_DICT_FORMAT:
            raise ValueError(f"unsupported Trainer state format {state['format']!r}; expected {STATE_DICT_FORMAT}")
        own = self._model.state_dict()
        theirs = state["model"]
        if set(own) != set(theirs):
            raise ValueError(
                f"the checkpoint's model does not match this model: missing keys {sorted(set(own) - set(theirs))}, "
                f"unexpected keys {sorted(set(theirs) - set(own))}"
            )
        for key, tensor in own.items():
            if tuple(theirs[key].shape) != tuple(tensor.shape):
                raise ValueError(f"the checkpoint's {key!r} has shape {list(theirs[key].shape)}, this model's has {list(tensor.shape)}")
        groups = state["optimizer"].get("param_groups", [])
        if len(groups) != len(self._optimizer.param_groups):
            raise ValueError(f"the checkpoint's optimizer has {len(groups)} parameter groups, this one has {len(self._optimizer.param_groups)}")
        names = state["counters"].get("metric_names")
        if names != list(self._metrics):
            raise ValueError(f"the checkpoint was made with metrics {names}, this trainer has {list(self._metrics)}")
        loader = state["loader"]
        if loader.get("drawn") and loader.get("epoch_rng") is None:
            raise ValueError("the checkpoint is mid-epoch but lacks the epoch's starting random state")
        if loader.get("drawn") and self._steps_per_epoch is not None and loader["drawn"] > self._steps_per_epoch:
            raise ValueError(f"the checkpoint had drawn {loader['drawn']} batches this epoch; this loader has only {self._steps_per_epoch}")
        states = [_rng.RandomState.from_dict(state["rng"]),
                  _rng.RandomState.from_dict(loader["epoch_rng"]) if loader.get("drawn") else None,
                  _rng.RandomState.from_dict(state["initial"]["rng"])]
        for random_state in states:
            if random_state is not None and len(random_state.generator_states) != len(self._generators):
                raise ValueError(
                    f"the checkpoint's random state holds {len(random_state.generator_states)} data-loader "
                    f"generator(s); this trainer's loader has {len(self._generators)}"
                )
        return states[0], states[1], states[2]

    # ------------------------------------------------------------------ printing and interrupts

    def format_epoch(self, record: Mapping[str, Any], total: int | None = None) -> str:
        """One progress line: `Epoch 3/10 | train loss 0.4123 acc 0.8750 | valid loss 0.4410 acc 0.8600 | 0.4s`."""
        width = len(str(total)) if total else 0
        head = f"Epoch {record['epoch']:>{width}}" + (f"/{total}" if total else "")
        parts = [head, "train " + self._format_values(record, "train_")]
        if "valid_loss" in record:
            parts.append("valid " + self._format_values(record, "valid_"))
        parts.append(f"{record['time']:.1f}s")
        return " | ".join(parts)

    def _format_values(self, record: Mapping[str, Any], prefix: str) -> str:
        names = ["loss", *self._metrics]
        return " ".join(f"{name} {record[prefix + name]:.4f}" for name in names if prefix + name in record)

    @contextmanager
    def _interrupts_at_step_boundary(self) -> Iterator[None]:
        """In the main thread, a first Ctrl-C during a step is held until the step is complete."""
        if threading.current_thread() is not threading.main_thread() or getattr(self, "_sigint_installed", False):
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def hold_interrupt(signum: int, frame: object) -> None:
            if self._in_step and not self._interrupt_received:
                self._interrupt_received = True
                return
            self._interrupt_received = False
            raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGINT, hold_interrupt)
        except (ValueError, TypeError):
            yield
            return
        self._sigint_installed = True
        try:
            yield
        finally:
            self._sigint_installed = False
            signal.signal(signal.SIGINT, previous)
            if self._interrupt_received:
                self._interrupt_received = False
                raise KeyboardInterrupt


# ---------------------------------------------------------------------- helpers


def _wake() -> None:
    """Scheduled thread-safely only to wake a sleeping event loop."""


def _first_parameter_slot(model: nn.Module) -> tuple[nn.Module, str]:
    for module in model.modules():
        for name, parameter in module._parameters.items():
            if parameter is not None:
                return module, name
    raise ValueError("the model has no parameters to train")


def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _batch_size(y: Any, x: Any) -> int:
    for value in (y, x):
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return value.shape[0]
    try:
        return len(y)
    except TypeError:
        return 1


def _plain(value: Any) -> bool:
    """Whether `value` is made of tensors, numbers, strings and plain containers (what weights_only loading reads)."""
    if value is None or isinstance(value, (torch.Tensor, bool, int, float, str)):
        return True
    if type(value) in (list, tuple):
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _clone_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in tensors.items()}


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode inside; afterwards every submodule's own train/eval flag as it was."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            # Only the flag, as train() would set it, without nn.Module.__setattr__'s checks.
            object.__setattr__(module, "training", training)


__all__ = ["Trainer", "NonFiniteLossError", "EVENT_NAMES"]
