"""Trainer: a stepwise training loop with events, play/pause on asyncio, and exact resume.

One method, `_run_step`, runs every optimizer step; `step`, `run_epoch`, `fit`
and `play` only decide how many to run, so every way of training gives bitwise
the same numbers. The parts live beside it: `batch` (forward and loss with the
diagnosis), `structure` (nested batches and outputs), `switches` (clipping,
accumulation, precision, closure optimizers), `cursor` (the position in the
loader), `checkpoint` (counters and checkpoint checks), `callbacks` (epoch
lines, early stopping), `interrupts` (Ctrl-C at a step boundary). See docs/trainer-contract.md for the events,
records and threading rules views rely on.
"""

from __future__ import annotations

import asyncio
import copy
import math
import numbers
import operator
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import torch
from torch import nn

from . import checks, structure
from . import rng as random_state
from .batch import BatchRunner, batch_size, loss_number
from .callbacks import STEP_HOOKS, EpochPrinter, attach, format_epoch, hooks_of
from .checkpoint import STATE_DICT_FORMAT, Counters, clone_tensors, read_checkpoint
from .cursor import END, LoaderCursor
from .events import EVENT_NAMES, EventHub, Subscription
from .history import History
from .interrupts import StepInterrupts
from .metrics import EpochMetric, epoch_metric_values
from .switches import StepSwitches, check_settings

SCHEDULE_EVERY = ("epoch", "step")
LOSS_REDUCTIONS = ("auto", "mean", "sum")
_perf_counter = time.perf_counter  # read on every step
_grad_of = operator.attrgetter("grad")


class NonFiniteLossError(FloatingPointError):
    """The loss of a training batch was NaN or infinite; the optimizer step was not taken."""


class Trainer:
    """Trains `model` one optimizer step at a time on batches from `train_loader`.

    `metrics` maps names to `fn(output, target) -> float`. `device="auto"` picks
    CUDA, else Apple's MPS, else the CPU, and moves the model and every batch
    there; a device string moves them to that device; `None` moves nothing.
    `callbacks` are objects with `on_step` / `on_epoch` / `on_state` /
    `on_reset` methods (see `widgets.training.callbacks`). `scheduler` is any
    `torch.optim.lr_scheduler` object of `optimizer`, stepped after every epoch
    or every step (`scheduler_every`); it is part of checkpoints and of `reset()`.

    `batch_fn(batch) -> (inputs, target)` maps batches of any other shape; inputs
    that are a tuple or list go to `model(*inputs)`, a dict to `model(**inputs)`.
    `clip_grad_norm`, `accumulate`, `precision` ("32", "bf16", "16-mixed") change
    how a step runs (see `widgets.training.switches`); `loss_reduction="sum"`
    (found by itself on torch losses) reports per-sample losses.
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
        callbacks: Sequence[object] = (),
        scheduler: Any = None,
        scheduler_every: str = "epoch",
        batch_fn: Callable[[Any], tuple[Any, Any]] | None = None,
        clip_grad_norm: float | None = None,
        accumulate: int = 1,
        precision: str = "32",
        loss_reduction: str = "auto",
    ) -> None:
        metrics = checks.check_constructor(model, loss_fn, optimizer, metrics)
        resolved = checks.resolve_device(device)
        if batch_fn is not None and not callable(batch_fn):
            raise TypeError(
                f"batch_fn must be a function batch -> (inputs, target), got {type(batch_fn).__name__}"
            )
        if loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(f"loss_reduction must be one of {LOSS_REDUCTIONS}, got {loss_reduction!r}")
        if loss_reduction == "auto":
            loss_reduction = "sum" if getattr(loss_fn, "reduction", None) == "sum" else "mean"
        for role, loader in (("train_loader", train_loader), ("valid_loader", valid_loader)):
            if loader is not None and not isinstance(loader, Iterable):
                raise TypeError(
                    f"{role} must be an iterable of batches such as a DataLoader, got {type(loader).__name__}"
                )
        if train_loader is None:
            raise TypeError("train_loader must be an iterable of batches such as a DataLoader, got None")
        steps_per_epoch = _length(train_loader)
        if steps_per_epoch == 0:
            raise ValueError("the training loader is empty (len 0); it must yield at least one batch")
        if valid_loader is not None and _length(valid_loader) == 0:
            raise ValueError(
                "the validation loader is empty (len 0); pass valid_loader=None to train without validation"
            )
        if not isinstance(verbose, bool):
            raise TypeError(f"verbose must be True or False, got {verbose!r}")
        callbacks = checks.check_callbacks(callbacks)
        checks.check_monitors(
            callbacks, checks.epoch_columns(list(metrics), valid_loader is not None, callbacks)
        )
        checks.check_scheduler(scheduler, optimizer, scheduler_every, SCHEDULE_EVERY)
        first_parameter = next(iter(model.parameters()))
        switches = StepSwitches(optimizer, resolved if resolved is not None else first_parameter.device,
                                clip_grad_norm, accumulate, precision, steps_per_epoch,
                                [hook for c in callbacks for hook in hooks_of(c, STEP_HOOKS).values()])

        if resolved is not None:
            model.to(resolved)
            checks.check_same_parameters(model, optimizer)  # moving can replace parameter objects
        self._model = model
        self._optimizer = optimizer
        self._train_loader = train_loader
        self._valid_loader = valid_loader
        self._metrics = metrics
        self._metric_fns = tuple(metrics.values())
        # Epoch metrics see the whole epoch's outputs; the others are averaged over batches.
        self._epoch_metrics = tuple(i for i, fn in enumerate(self._metric_fns) if isinstance(fn, EpochMetric))
        self._batch_metrics = tuple(
            (i, fn) for i, fn in enumerate(self._metric_fns) if not isinstance(fn, EpochMetric)
        )
        # (output, target) of the open epoch's steps, for epoch metrics
        self._collected: list[tuple[Any, Any]] = []
        self._collect_next: tuple[Any, Any] | None = None
        self._loss_is_sum = loss_reduction == "sum"
        self._switches = switches
        self._plain = switches.plain
        self._device = resolved
        self.verbose = verbose
        self._steps_per_epoch = steps_per_epoch
        self._scheduler = scheduler
        self._schedule_steps = scheduler is not None and scheduler_every == "step"
        self._schedule_epochs = scheduler is not None and scheduler_every == "epoch"
        self._batches = BatchRunner(model, loss_fn, optimizer, resolved, batch_fn)
        # Taking torch's random state costs microseconds on every step; it is
        # needed only to undo the draws of a step that fails.
        self._snapshot_rng = checks.may_draw_random(model, loss_fn, metrics)
        self._has_buffers = any(True for _ in model.buffers())
        self._snapshot_needed = self._snapshot_rng or self._has_buffers
        self._uses_cuda = (resolved is not None and resolved.type == "cuda") or self._batches.probe.is_cuda
        self._generators = random_state.loader_generators(train_loader)
        self._cursor = LoaderCursor(train_loader, self._generators)
        self._parameters = [p for group in optimizer.param_groups for p in group["params"]]
        self._failed_batch = False  # the held batch is one whose step failed (skip_batch() may discard it)

        self._hub = EventHub()
        self._listeners = self._hub.subscribers
        self._lock = threading.RLock()
        self._interrupts = StepInterrupts()
        self._pause_requested = False  # a plain flag: set from any thread, read between steps
        self._stop_reason: str | None = None
        self._pending_lr: float | None = None
        self._run_id = 0
        self._run_target: int | None = None  # the epoch the current fit, run_epoch or play stops at
        self._play_task: asyncio.Task | None = None
        self._play_loop: asyncio.AbstractEventLoop | None = None
        self._state = "idle"
        self._stepping_thread: int | None = None  # the thread inside _run_step, if any
        self._history = History()
        self._counters = Counters.fresh(len(metrics))
        self.last_error: BaseException | None = None

        self._initial = {
            "model": clone_tensors(model.state_dict()),
            "optimizer_groups": copy.deepcopy(optimizer.state_dict()["param_groups"]),
            "rng": random_state.capture(self._generators, self._uses_cuda),
            "scheduler": copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None,
            "scaler": copy.deepcopy(switches.state_dict()),
        }
        self._callbacks = callbacks
        for callback in callbacks:
            attach(self, callback)

    # ------------------------------------------------------------------ read-only views

    model = property(lambda self: self._model, doc="The model being trained.")
    optimizer = property(lambda self: self._optimizer, doc="The optimizer.")
    loss_fn = property(lambda self: self._batches.loss_fn, doc="The loss function.")
    precision = property(lambda self: self._switches.precision, doc="'32', 'bf16' or '16-mixed'.")
    accumulate = property(lambda self: self._switches.accumulate, doc="Batches per optimizer step.")
    clip_grad_norm = property(
        lambda self: self._switches.clip, doc="The largest total gradient norm, or None."
    )
    batch_fn = property(
        lambda self: self._batches.batch_fn,
        doc="The function that maps a batch to (inputs, target), or None.",
    )
    scheduler = property(lambda self: self._scheduler, doc="The learning-rate scheduler, or None.")
    callbacks = property(lambda self: list(self._callbacks), doc="The callbacks given at construction.")
    train_loader = property(lambda self: self._train_loader, doc="The training loader.")
    valid_loader = property(lambda self: self._valid_loader, doc="The validation loader, or None.")
    state = property(lambda self: self._state, doc="'idle', 'running', 'paused' or 'error'.")
    steps_per_epoch = property(
        lambda self: self._steps_per_epoch, doc="len(train_loader), or None without a len."
    )
    last_loss = property(lambda self: self._counters.last_loss, doc="The last step's training loss, or None.")
    callback_errors = property(
        lambda self: self._hub.errors, doc="The latest exceptions raised by subscribers."
    )
    history = property(lambda self: self._history, doc="The step and epoch records (a widgets.History).")
    global_step = property(
        lambda self: self._counters.global_step, doc="Optimizer steps done since construction or reset."
    )
    epoch = property(lambda self: self._counters.epoch, doc="Epochs completed since construction or reset.")
    batch_in_epoch = property(
        lambda self: self._counters.batch_in_epoch, doc="Batches trained on in the open epoch."
    )
    target_epoch = property(
        lambda self: self._run_target if self._state == "running" else None,
        doc="The epoch the running fit, run_epoch or play stops at; None otherwise or without a limit.",
    )

    @contextmanager
    def between_steps(self) -> Iterator[None]:
        """Hold the trainer between two steps: no step starts (on any thread) until the block ends.

        A view that runs the model (a boundary evaluated for the page) does it
        inside this block, so it never sees a model halfway through a step.
        From an event subscriber, which runs inside a step, it is re-entrant.
        """
        with self._lock:
            yield

    stop_reason = property(
        lambda self: self._stop_reason,
        doc="Why the last fit or play stopped early ('paused', or a callback's reason); None otherwise.",
    )

    @property
    def device(self) -> torch.device:
        """Where the model's parameters are (and where batches are moved)."""
        return self._device if self._device is not None else self._batches.live_probe().device

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

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self._model).__name__}, loss={checks.loss_label(self.loss_fn)}, "
            f"optimizer={type(self._optimizer).__name__}, device={self.device}, "
            f"epoch={self.epoch}, step={self.global_step}, state={self._state!r})"
        )

    # ------------------------------------------------------------------ events

    def on(self, event: str, callback: Callable[[dict], Any], strict: bool = False) -> Subscription:
        """Subscribe `callback(payload)` to "step", "epoch", "state", "reset" or "backward"; returns a handle
        with `.remove()`.

        An exception a subscriber raises is reported and training goes on; with `strict=True` (a guard on
        "backward") it fails the step instead, which is then rolled back.
        """
        return self._hub.on(event, callback, strict)

    def listeners(self, event: str) -> list[Callable[[dict], Any]]:
        """The callbacks now subscribed to `event`, in the order they run."""
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown event {event!r}; expected one of {', '.join(map(repr, EVENT_NAMES))}")
        return [subscription.callback for subscription in self._hub.subscribers[event]]

    def _set_state(self, new: str, error: BaseException | None = None) -> None:
        previous = self._state
        if new == previous and error is None:
            return
        self._state = new
        payload: dict[str, Any] = {"state": new, "previous": previous}
        if new == "error":
            payload["error"] = str(error)
        self._hub.emit("state", payload)

    # ------------------------------------------------------------------ run control

    def _refuse_inside_a_step(self, call: str) -> None:
        """A subscriber runs inside the step that emitted its event: training from there would corrupt
        the counters."""
        if self._stepping_thread == threading.get_ident():
            raise RuntimeError(
                f"trainer.{call} was called from inside a training step (by an event subscriber or a "
                "callback); it can only run between steps: use trainer.request_stop(reason) or "
                "trainer.pause() to stop, and call it afterwards"
            )

    def step(self) -> dict[str, Any]:
        """Exactly one optimizer step on the next batch; returns the step record."""
        self._refuse_inside_a_step("step()")
        with self._lock, self._interrupts.held_during_steps():
            previous = self._state
            if previous != "running":
                self._run_target = None
            self._set_state("running")
            try:
                record = self._run_step()
            except KeyboardInterrupt:
                self._set_state("paused")
                raise
            self._set_state(
                "running" if previous == "running" else previous if previous == "paused" else "idle"
            )
            return cast(dict[str, Any], record)  # asked with want_record=True: always a record

    def run_epoch(self) -> dict[str, Any]:
        """Step to the end of the current epoch; returns its epoch record."""
        self._refuse_inside_a_step("run_epoch()")
        target = self.epoch + 1
        self._run_until(target, stoppable=False)
        if self.epoch < target:
            raise RuntimeError(
                "the epoch did not finish: the trainer was reset or loaded while run_epoch() ran"
            )
        return self._history.epochs[-1]

    def fit(self, epochs: int, verbose: bool | None = None) -> History:
        """Train `epochs` more epochs (blocking) and return the history.

        Prints one line per epoch unless `verbose` is False (default: the
        constructor's `verbose`). `pause()` from another thread, or a callback's
        `request_stop()`, stops it at the next step boundary.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        if verbose is not None and not isinstance(verbose, bool):
            raise TypeError(f"verbose must be True, False or None, got {verbose!r}")
        self._refuse_inside_a_step("fit()")
        target = self.epoch + epochs
        printer = (
            EpochPrinter(list(self._metrics), target)
            if (self.verbose if verbose is None else verbose)
            else None
        )
        self._start_run()
        self._run_until(target, stoppable=True, printer=printer)
        return self._history

    def _start_run(self) -> None:
        self._pause_requested = False
        self._stop_reason = None

    def _run_until(self, target_epoch: int, stoppable: bool, printer: EpochPrinter | None = None) -> None:
        """Run steps until the epoch count reaches `target_epoch`, a pause (when `stoppable`), or a reset."""
        with self._interrupts.held_during_steps():
            self._run_id += 1
            run_id = self._run_id
            self._run_target = target_epoch
            self._set_state("running")
            printing = self._hub.on("epoch", printer.on_epoch) if printer is not None else None
            try:
                while True:
                    with self._lock:
                        if (self._run_id != run_id or self.epoch >= target_epoch
                                or stoppable and self._pause_requested):
                            break
                        self._run_step(want_record=False)
            except KeyboardInterrupt:
                if self._run_id == run_id:
                    self._stop_reason = "interrupted"
                    self._set_state("paused")
                raise
            finally:
                if printing is not None:
                    printing.remove()
            self._end_run(run_id, finished=self.epoch >= target_epoch)

    def _end_run(self, run_id: int, finished: bool) -> None:
        if self._run_id == run_id and self._state == "running":
            if not finished and self._stop_reason is None:
                self._stop_reason = "paused"
            self._set_state("idle" if finished else "paused")

    def play(self, epochs: int | None = None) -> asyncio.Task:
        """Train on the running asyncio loop, yielding between steps, for `epochs` more epochs or until
        `pause()`.

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
        if self._play_task is not None and not self._play_task.done():  # already playing
            return self._play_task
        self._start_run()
        self._run_id += 1
        run_id = self._run_id
        target = None if epochs is None else self.epoch + epochs
        self._run_target = target
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
                    if target is not None and self.epoch >= target:
                        finished = True
                        break
                    self._run_step(want_record=False)
                await asyncio.sleep(0)
        finally:
            self._end_run(run_id, finished)

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

    def request_stop(self, reason: str) -> None:
        """Stop the running `fit` or `play` at the next step boundary and say why in `stop_reason`;
        safe from any thread."""
        if not isinstance(reason, str) or not reason:
            raise TypeError(f"request_stop needs the reason as a non-empty string, got {reason!r}")
        self._stop_reason = reason
        self.pause()

    def set_lr(self, lr: float) -> None:
        """Set every parameter group's learning rate, effective from the next step; safe from any thread.

        With a scheduler, the new rate holds until the schedule's next step.
        """
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
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
        """One optimizer step (the caller holds the lock). On failure before the optimizer step nothing
        changes.

        Returns the step record, or None when `want_record` is False and no one
        listens to "step".
        """
        self._stepping_thread = threading.get_ident()
        try:
            return self._take_step(want_record)
        finally:
            self._stepping_thread = None

    def _take_step(self, want_record: bool) -> dict[str, Any] | None:
        if self._pending_lr is not None:
            self._apply_pending_lr()
        started = _perf_counter()
        batch = self._next_batch()
        counters, model, optimizer = self._counters, self._model, self._optimizer
        epoch, batch_number, step = counters.epoch + 1, counters.batch_in_epoch + 1, counters.global_step + 1
        undo = self._snapshot_for_undo() if self._snapshot_needed else None
        last_grads = None
        stepped = True
        self._interrupts.in_step = True
        try:
            x, y = self._batches.inputs(batch)
            if not model.training:
                model.train()
            if self._plain:
                output, loss = self._batches.output_and_loss(x, y)
                loss_value, size, metric_values = self._judge_batch(
                    output, loss, x, y, epoch, step, batch_number
                )
                # Everything that can reject the batch has run: only now are the last step's gradients
                # cleared, and kept aside, so a step that fails from here puts them back to inspect.
                last_grads = list(map(_grad_of, self._parameters))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self._listeners["backward"]:
                    self._hub.emit("backward", {"step": step, "epoch": epoch, "batch": batch_number})
                optimizer.step()
            else:
                with self._switches.autocast():
                    output, loss = self._batches.output_and_loss(x, y)
                loss_value, size, metric_values = self._judge_batch(
                    output, loss, x, y, epoch, step, batch_number
                )
                last_grads = self._switches.clear_or_keep_grads(self._parameters, optimizer, batch_number)
                payload = {"step": step, "epoch": epoch, "batch": batch_number}
                stepped = self._switches.backward_and_step(
                    loss, optimizer, self._parameters, self._backward_event, payload, self._steps_per_epoch,
                    lambda: self._batches.output_and_loss(x, y)[1])
        except BaseException as error:
            self._interrupts.in_step = False
            if last_grads is not None:
                for parameter, grad in zip(self._parameters, last_grads):
                    parameter.grad = grad
            if not self._plain:
                self._switches.rollback()
            self._undo_draws(batch, undo)
            if isinstance(error, Exception):
                self._fail(error)
            raise
        self._failed_batch = False
        lr, loss_value = self._record_step(
            step, epoch, batch_number, loss_value, size, metric_values, started
        )
        if self._schedule_steps and stepped:
            self._scheduler.step()
        self._interrupts.in_step = False  # the step is complete: from here an interrupt may land
        if self._state == "error":
            self._set_state("running")
        record = None
        if want_record or self._listeners["step"]:
            record = {"step": step, "epoch": epoch, "batch": batch_number, "loss": loss_value, "lr": lr,
                      "time": counters.train_time, "batch_size": size, "optimizer_step": stepped}
            self._hub.emit("step", record)
        if counters.close_pending:
            try:
                self._close_epoch()
            except Exception as error:
                self._fail(error)
                raise
        if self._interrupts.received:
            self._interrupts.raise_held()
        return record

    def _next_batch(self) -> Any:
        """The batch for the next step; an epoch whose loader ran out early is closed first."""
        counters, cursor = self._counters, self._cursor
        try:
            if counters.close_pending:
                self._close_epoch()
            batch = cursor.next()
            while batch is END:
                if counters.batch_in_epoch == 0:
                    cursor.abandon_epoch()
                    raise ValueError(
                        "the training loader yielded no batch; it must yield at least one (is the dataset "
                        "empty, or batch_size larger than the dataset with drop_last=True?)"
                    )
                # The loader had fewer batches than its len said: end the epoch here and start the next.
                cursor.end_epoch()
                self._close_epoch()
                batch = cursor.next()
        except Exception as error:
            self._fail(error)
            raise
        return batch

    def _non_finite_message(self, loss_value: float, x: Any, epoch: int, step: int, batch_number: int) -> str:
        where = (
            f"the training loss became {loss_value} at epoch {epoch}, step {step} (batch {batch_number}); "
            "the optimizer step was not taken and the weights are unchanged. "
        )
        if isinstance(x, torch.Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
            return where + ("The batch's inputs hold NaN or infinite values: the data is the cause, not the "
                            "learning rate. Fix the data, or discard this batch with trainer.skip_batch()")
        if not all(bool(torch.isfinite(p).all()) for p in self._parameters):
            return where + ("The weights already hold NaN or infinite values (an earlier step diverged): "
                            f"trainer.reset(), then train with a smaller learning rate (now {self.lr:g})")
        return where + (f"Try a smaller learning rate (now {self.lr:g}), then trainer.reset(); "
                        "trainer.skip_batch() discards this one batch")

    def skip_batch(self) -> dict[str, Any]:
        """Discard the batch whose step failed (it is otherwise retried by the next step); returns what was
        skipped.

        The epoch record counts skipped batches under "skipped".
        """
        self._refuse_inside_a_step("skip_batch()")
        with self._lock:
            if not self._failed_batch:
                raise RuntimeError(
                    "there is no failed batch to skip: skip_batch() discards the batch of a step that "
                    "failed, which the next step would otherwise try again"
                )
            self._cursor.hold(None)
            self._failed_batch = False
            counters = self._counters
            counters.skipped += 1
            error = self.last_error
            return {"epoch": counters.epoch + 1, "batch": counters.batch_in_epoch + 1,
                    "reason": f"{type(error).__name__}: {error}" if error is not None else ""}

    def _backward_event(self, payload: dict[str, int]) -> None:
        if self._listeners["backward"]:
            self._hub.emit("backward", payload)

    def _metric_values(self, output: Any, y: Any) -> list[float]:
        if not self._metric_fns:
            return []
        detached = output.detach() if type(output) is torch.Tensor else structure.detach(output)
        values = [0.0] * len(self._metric_fns)
        for i, fn in self._batch_metrics:
            values[i] = float(fn(detached, y))
        if self._epoch_metrics:
            self._collect_next = (detached, structure.detach(y))
        return values

    def _record_step(self, step: int, epoch: int, batch_number: int, loss_value: float, size: int,
                     metric_values: list[float], started: float) -> tuple[float, float]:
        """The step is taken: count it, log it, and see whether it ended the epoch.

        Returns the lr it used and the loss it logged (per sample for a sum-reduced loss).
        """
        counters = self._counters
        counters.global_step = step
        counters.batch_in_epoch = batch_number
        if self._loss_is_sum:  # a loss summed over the batch: logged per sample, so train and valid compare
            counters.loss_sum += loss_value
            loss_value /= size
        else:
            counters.loss_sum += loss_value * size
        counters.last_loss = loss_value
        counters.samples += size
        if metric_values:
            sums = counters.metric_sums
            for i, value in enumerate(metric_values):
                sums[i] += value * size
            if self._collect_next is not None:
                self._collected.append(self._collect_next)
                self._collect_next = None
        lr = float(self._optimizer.param_groups[0]["lr"])
        counters.train_time += _perf_counter() - started
        self._history._append(step, epoch, loss_value, lr, counters.train_time)
        spe = self._steps_per_epoch
        if (batch_number >= spe) if spe is not None else self._cursor.look_ahead():  # the epoch's last batch
            self._cursor.end_epoch()
            counters.close_pending = True
        return lr, loss_value

    def _judge_batch(self, output: Any, loss: torch.Tensor, x: Any, y: Any, epoch: int, step: int,
                     batch_number: int) -> tuple[float, int, list[float]]:
        """The loss as a number (a non-finite one refused), the batch's size and its metric values."""
        loss_value = loss_number(loss)
        if not math.isfinite(loss_value):
            raise NonFiniteLossError(self._non_finite_message(loss_value, x, epoch, step, batch_number))
        return loss_value, batch_size(y, x), self._metric_values(output, y)

    def _snapshot_for_undo(
        self,
    ) -> tuple[torch.Tensor | None, list | None, list[tuple[torch.Tensor, torch.Tensor]] | None]:
        """What a failed step must put back: torch's random state (when something may draw) and the
        buffers."""
        rng_state = cuda_state = buffers = None
        if self._snapshot_rng:
            rng_state = torch.get_rng_state()
            cuda_state = torch.cuda.get_rng_state_all() if self._uses_cuda else None
        if self._has_buffers:
            buffers = [(b, b.clone()) for b in self._model.buffers()]
        return rng_state, cuda_state, buffers

    def _undo_draws(self, batch: Any, undo: tuple | None) -> None:
        """A step failed before its optimizer step completed: put back the random state, the buffers
        and the batch."""
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
        self._cursor.hold(batch)
        self._failed_batch = True

    def _fail(self, error: Exception) -> None:
        self.last_error = error
        self._set_state("error", error)

    def _close_epoch(self) -> None:
        """Validation and the epoch record; on failure the epoch stays open and the next step retries."""
        counters = self._counters
        counters.close_pending = True
        started = _perf_counter()
        record: dict[str, Any] = {"epoch": counters.epoch + 1, "step": counters.global_step}
        samples = counters.samples
        record["train_loss"] = counters.loss_sum / samples if samples else math.nan
        for name, total in zip(self._metrics, counters.metric_sums):
            record[f"train_{name}"] = total / samples if samples else math.nan
        if self._epoch_metrics:
            for i, value in zip(
                self._epoch_metrics,
                epoch_metric_values(self._metric_fns, self._epoch_metrics, self._collected),
            ):
                record[f"train_{list(self._metrics)[i]}"] = value
        if self._valid_loader is not None:
            for name, value in self._evaluate(self._valid_loader, "validation loader").items():
                record[f"valid_{name}"] = value
        if counters.skipped:
            record["skipped"] = counters.skipped
        counters.train_time += _perf_counter() - started
        record["time"] = counters.train_time - counters.epoch_start_time
        counters.epoch += 1
        counters.start_epoch()
        self._collected = []
        # The History keeps this very dict: values an "epoch" subscriber adds to it are kept.
        self._history._append_epoch(record, notify=False)
        if self._schedule_epochs:
            self._step_schedule(record)
        self._hub.emit("epoch", record)
        self._history._emit("epoch", record)

    def _step_schedule(self, record: Mapping[str, Any]) -> None:
        if isinstance(self._scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self._scheduler.step(record.get("valid_loss", record["train_loss"]))
        else:
            self._scheduler.step()

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Loss and metrics over `loader`, averaged over samples; eval mode, no grad, random state
        untouched."""
        if not isinstance(loader, Iterable):
            raise TypeError(
                f"evaluate() needs an iterable of batches such as a DataLoader, got {type(loader).__name__}"
            )
        with self._lock:
            saved = random_state.capture((), self._uses_cuda)
            try:
                return self._evaluate(loader, "loader")
            finally:
                saved.restore()

    def _evaluate(self, loader: Iterable, role: str) -> dict[str, float]:
        totals = [0.0] * (1 + len(self._metric_fns))
        samples = 0
        batches, switches = self._batches, self._switches
        collected: list[tuple[Any, Any]] = []
        summed = self._loss_is_sum
        with eval_mode(self._model), torch.no_grad():
            for batch in loader:
                x, y = batches.inputs(batch)
                with switches.autocast():
                    output, loss = batches.output_and_loss(x, y)
                size = batch_size(y, x)
                totals[0] += loss_number(loss) if summed else loss_number(loss) * size
                for i, fn in self._batch_metrics:
                    totals[i + 1] += float(fn(output, y)) * size
                if self._epoch_metrics:
                    collected.append((output, y))
                samples += size
        if samples == 0:
            raise ValueError(f"the {role} yielded no samples; it must yield at least one batch")
        names = ["loss", *self._metrics]
        values = {name: total / samples for name, total in zip(names, totals)}
        for i, value in zip(
            self._epoch_metrics, epoch_metric_values(self._metric_fns, self._epoch_metrics, collected)
        ):
            values[names[i + 1]] = value
        return values

    def predict(self, x: Any) -> Any:
        """The model's output for `x` (moved to the device) in eval mode with no grad; the mode is restored.

        `x` is passed as a batch's inputs are: a tuple or list as `model(*x)`, a dict as `model(**x)`.
        """
        with self._lock, eval_mode(self._model), torch.no_grad():
            x = checks.to_device(x, self._device)
            checks.check_devices(self._batches.live_probe(), x)
            saved = random_state.capture((), self._uses_cuda)
            try:
                with self._switches.autocast():
                    return structure.call_model(self._model, x)
            finally:
                saved.restore()

    # ------------------------------------------------------------------ reset and checkpoints

    def reset(self) -> None:
        """Back to the initial weights, optimizer, lr, schedule and random state; counters and history
        cleared."""
        self._refuse_inside_a_step("reset()")
        self._stop_runs()
        with self._lock:
            initial = self._initial
            self._model.load_state_dict(initial["model"])
            self._optimizer.load_state_dict(
                {"state": {}, "param_groups": copy.deepcopy(initial["optimizer_groups"])}
            )
            if self._scheduler is not None:
                self._scheduler.load_state_dict(copy.deepcopy(initial["scheduler"]))
            self._switches.load_state_dict(copy.deepcopy(initial.get("scaler")))
            initial["rng"].restore(self._generators)
            self._pending_lr = None
            self._collected = []
            if self._switches.accumulate > 1:  # a group's gradients would otherwise carry into the new run
                for parameter in self._parameters:
                    parameter.grad = None
            self._counters = Counters.fresh(len(self._metrics))
            self._cursor.clear()
            self._failed_batch = False
            self._history.clear()
            self._set_state("idle")
            self._hub.emit("reset", {})

    def _stop_runs(self) -> None:
        """Make a running play task or fit stop at its next step boundary, without touching the state."""
        self._run_id += 1
        self._play_task = None
        self._pause_requested = True

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly here, as tensors, lists and numbers
        (`torch.load(weights_only=True)`)."""
        with self._lock:
            self._apply_pending_lr()
            initial = self._initial
            return {
                "format": STATE_DICT_FORMAT,
                "model": clone_tensors(self._model.state_dict()),
                "optimizer": copy.deepcopy(self._optimizer.state_dict()),
                "counters": self._counters.to_dict(list(self._metrics)),
                "loader": self._cursor.state_dict(),
                "history": self._history.state_dict(),
                "rng": random_state.capture(self._generators, self._uses_cuda).to_dict(),
                "initial": {
                    "model": clone_tensors(initial["model"]),
                    "optimizer_groups": copy.deepcopy(initial["optimizer_groups"]),
                    "rng": initial["rng"].to_dict(),
                    "scheduler": copy.deepcopy(initial["scheduler"]),
                },
                "scheduler": copy.deepcopy(self._scheduler.state_dict())
                if self._scheduler is not None
                else None,
                "callbacks": [
                    copy.deepcopy(c.state_dict())
                    for c in self._callbacks
                    if callable(getattr(c, "state_dict", None))
                ],
                "switches": self._switches.settings(),
                "scaler": copy.deepcopy(self._switches.state_dict()),
                "grads": self._pending_grads(),
                "epoch_outputs": [[output, target] for output, target in self._collected],
            }

    def _pending_grads(self) -> list | None:
        """Gradients accumulated over a group not yet stepped (accumulate > 1, mid-group), else None."""
        counters = self._counters
        if counters.close_pending or not self._switches.mid_group(counters.batch_in_epoch):
            return None
        return [None if p.grad is None else p.grad.detach().clone() for p in self._parameters]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from `state_dict()` output (of this trainer or another built the same way); fires
        "reset"."""
        saved = read_checkpoint(
            state, model=self._model, optimizer=self._optimizer, metric_names=list(self._metrics),
            generators=self._generators, steps_per_epoch=self._steps_per_epoch, scheduler=self._scheduler,
            callbacks=self._callbacks,
        )
        check_settings(state.get("switches"), self._switches.settings())
        grads = state.get("grads")
        if grads is not None and (len(grads) != len(self._parameters) or any(
                g is not None and tuple(g.shape) != tuple(p.shape) for g, p in zip(grads, self._parameters))):
            raise ValueError("the checkpoint's accumulated gradients do not fit this optimizer's parameters")
        epoch_outputs = state.get("epoch_outputs") or []
        if epoch_outputs and not self._epoch_metrics:
            raise ValueError(
                "the checkpoint holds outputs collected for epoch metrics; this trainer has no EpochMetric"
            )
        self._refuse_inside_a_step("load_state_dict()")
        self._stop_runs()
        with self._lock:
            self._model.load_state_dict(saved.model)
            self._optimizer.load_state_dict(saved.optimizer)
            if self._scheduler is not None:
                self._scheduler.load_state_dict(copy.deepcopy(saved.scheduler))
            self._switches.load_state_dict(copy.deepcopy(state.get("scaler")))
            if grads is not None:
                for parameter, grad in zip(self._parameters, grads):
                    parameter.grad = None if grad is None else grad.detach().clone().to(parameter.device)
            self._collected = [(checks.to_device(o, self._device), checks.to_device(t, self._device))
                               for o, t in epoch_outputs]
            self._counters = saved.counters
            self._history.load_state_dict(saved.history)
            self._initial = {
                "model": clone_tensors(saved.initial_model),
                "optimizer_groups": copy.deepcopy(saved.initial_optimizer_groups),
                "rng": saved.initial_rng,
                "scheduler": copy.deepcopy(saved.initial_scheduler),
                "scaler": copy.deepcopy(self._initial.get("scaler")),
            }
            stateful = [c for c in self._callbacks if callable(getattr(c, "state_dict", None))]
            for callback, callback_state in zip(stateful, saved.callbacks):
                callback.load_state_dict(callback_state)
            self._pending_lr = None
            self._cursor.clear()
            self._failed_batch = False
            loader = saved.loader
            # mid-epoch: read_checkpoint made sure it is there
            if loader["drawn"] and saved.epoch_rng is not None:
                self._cursor.replay(
                    saved.epoch_rng, int(loader["drawn"]), bool(loader["held"]), loader.get("held_batch")
                )
            saved.rng.restore(self._generators)
            self._set_state("idle")
            self._hub.emit("reset", {"loaded": True})

    # ------------------------------------------------------------------ printing

    def format_epoch(self, record: Mapping[str, Any], total: int | None = None) -> str:
        """One progress line: `Epoch 3/10 | train loss 0.4123 acc 0.8750 | valid loss 0.4410 acc
        0.8600 | 0.4s`."""
        return format_epoch(record, list(self._metrics), total)


# ---------------------------------------------------------------------- helpers


def _wake() -> None:
    """Scheduled thread-safely only to wake a sleeping event loop."""


def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
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
