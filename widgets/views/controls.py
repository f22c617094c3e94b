"""TrainerControls: Play/Pause, Step, Epoch, Reset, a log-scale learning-rate slider and a status line.

Widget handlers may run on a thread other than the kernel's (ipykernel 7.0 to
7.3 deliver subshell messages there), so a handler never trains by itself: it
sets a flag (`pause()`, `set_lr()` are safe from any thread) or hands the work
to the event loop with `loop.call_soon_threadsafe`, where it runs between two
steps of a playing trainer. Without a running loop (a plain script) the work
runs at once, on the caller's thread.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as ipw

from .base import View, check_trainer
from .clock import FrameClock, check_clock
from .kernel_loop import KernelLoop, running_loop

LR_MIN_EXPONENT, LR_MAX_EXPONENT = -5, 1

STATUS_FPS = 4.0
"""At most this many status-line updates a second of the clock's time while training runs (a state change: at
once)."""

STATUS_FORMAT = "epoch {epoch} · step {step} · loss {loss} · lr {lr} · {rate} steps/s · {state}"
"""The status line; every field is a plain number or word, so a browser test can parse it."""
STATUS_FORMAT_NO_LOSS = "epoch {epoch} · step {step} · lr {lr} · {rate} steps/s · {state}"
"""The status line of a page that shows its own losses (the Playground's split losses): no last-batch loss."""


class TrainerControls(View):
    """Buttons and a status line that drive a Trainer while it trains.

    Text is not a figure: its updates are not charged to the clock (`charged =
    False`), and they keep a rate of their own (at most STATUS_FPS, measured on
    the clock's time); what they cost is in `draw_seconds`.

    - Play/Pause (one toggle): `trainer.play()` / `trainer.pause()`; the toggle
      follows the trainer's real state (it flips back when a run ends or fails).
    - Step: one batch (pauses first when playing). Epoch: to the end of the
      current epoch through `trainer.play(epochs=1)`, so the buttons stay live.
    - Reset: pauses if needed, then `trainer.reset()`.
    - lr: a log-scale slider from 1e-5 to 10 calling `trainer.set_lr`.
    - The status line reads `STATUS_FORMAT`: epochs completed, optimizer steps
      done, the last batch loss (left out with `show_loss=False`, for a page that
      shows losses of its own), the learning rate, the recent training speed and
      the trainer's state.
    """

    charged = False

    def __init__(self, trainer: Any, clock: FrameClock | None = None, show_loss: bool = True) -> None:
        check_trainer(trainer, "TrainerControls")
        check_clock(clock)
        if not isinstance(show_loss, bool):
            raise TypeError(f"show_loss must be True or False, got {show_loss!r}")
        self.trainer = trainer
        self._format = STATUS_FORMAT if show_loss else STATUS_FORMAT_NO_LOSS
        self._kernel = KernelLoop(report=self._report)  # every press runs on the kernel's loop
        self._task: Any = None
        self._waiter: Any = None  # the task that runs a press once a playing trainer has paused
        self._recent: collections.deque[tuple[float, int]] = collections.deque(maxlen=64)
        self.last_error: str | None = None
        self._syncing_slider = False
        self._status_time = float("-inf")

        self.play_button = ipw.ToggleButton(
            value=False, description="Play", icon="play", tooltip="Play / Pause"
        )
        self.step_button = ipw.Button(description="Step", icon="step-forward", tooltip="one batch")
        self.epoch_button = ipw.Button(
            description="Epoch", icon="fast-forward", tooltip="to the end of this epoch"
        )
        self.reset_button = ipw.Button(
            description="Reset", icon="undo", tooltip="back to the initial weights"
        )
        self.lr_slider = ipw.FloatLogSlider(
            value=self._slider_value(trainer.lr),
            base=10,
            min=LR_MIN_EXPONENT,
            max=LR_MAX_EXPONENT,
            step=0.01,
            description="lr",
            readout_format=".3g",
            continuous_update=False,
        )
        self.status = ipw.HTML()
        self.message = ipw.HTML()
        for widget, css in (
            (self.play_button, "lt-play"),
            (self.step_button, "lt-step"),
            (self.epoch_button, "lt-epoch"),
            (self.reset_button, "lt-reset"),
            (self.lr_slider, "lt-lr"),
            (self.status, "lt-status"),
            (self.message, "lt-message"),
        ):
            widget.add_class(css)
        buttons = ipw.HBox(
            [self.play_button, self.step_button, self.epoch_button, self.reset_button, self.lr_slider]
        )
        super().__init__(ipw.VBox([buttons, self.status, self.message]), "controls", clock)

        self.play_button.observe(self._on_toggle, names="value")
        self.step_button.on_click(lambda _: self._dispatch(self._do_step))
        self.epoch_button.on_click(lambda _: self._dispatch(self._do_epoch))
        self.reset_button.on_click(lambda _: self._dispatch(self._do_reset))
        self.lr_slider.observe(self._on_lr, names="value")
        self.follow(trainer)
        self.draw_first_frame()

    # --- what the status line says ----------------------------------------------------
    def status_text(self) -> str:
        """The status line as plain text (see `STATUS_FORMAT`)."""
        trainer = self.trainer
        loss = trainer.last_loss
        return self._format.format(
            epoch=trainer.epoch,
            step=trainer.global_step,
            loss="—" if loss is None else f"{loss:.4f}",
            lr=f"{trainer.lr:.3g}",
            rate=f"{self.steps_per_second():,.0f}",
            state=trainer.state,
        )

    def steps_per_second(self) -> float:
        """Optimizer steps per second of training time over the last few dozen steps (0 before two)."""
        if len(self._recent) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._recent[0], self._recent[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    # --- handlers: any thread -------------------------------------------------------
    def _on_toggle(self, change: dict) -> None:
        wanted = bool(change["new"])
        if wanted == bool(self.trainer.is_playing):
            return  # the toggle is only catching up with the trainer
        if wanted:
            self._dispatch(self._do_play)
        else:
            self.trainer.pause()  # a flag: safe from any thread, honoured at the next step boundary

    def _on_lr(self, change: dict) -> None:
        value = float(change["new"])
        if self._syncing_slider or abs(value - self.trainer.lr) <= 1e-12 * max(1.0, value):
            return
        self.trainer.set_lr(value)
        self._dispatch(self.redraw)

    # --- scheduling -------------------------------------------------------------------
    def _dispatch(self, work: Callable[[], None]) -> None:
        """Run `work` on the event loop's thread between steps, or at once when there is no loop."""
        self._kernel.run(work)

    def _report(self, error: BaseException) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        self.message.value = f"<span style='color:#b00'>{escape(self.last_error)}</span>"
        self._sync_toggle()
        self.redraw()

    def _after_play_stops(self, work: Callable[[], None]) -> None:
        """Pause a playing trainer, then run `work` once its play task has ended."""
        if not self.trainer.is_playing:
            work()
            return
        self.trainer.pause()
        loop = running_loop()
        if loop is None:  # a play task implies a loop; without one there is nothing to wait for
            work()
            return

        async def wait_then_work() -> None:
            while self.trainer.is_playing:
                await asyncio.sleep(0.001)
            work()

        task = loop.create_task(wait_then_work())
        task.add_done_callback(self._task_done)
        self._waiter = task  # keep a reference: a task only weakly held may vanish

    def _task_done(self, task: Any) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._report(error)
        self._sync_toggle()

    # --- the work, on the loop's thread -----------------------------------------------------
    def _do_play(self) -> None:
        if self.trainer.is_playing:
            return
        self.message.value = ""
        self._start(self.trainer.play)

    def _start(self, play: Callable[[], Any]) -> None:
        try:
            task = play()
        except RuntimeError as error:
            self._report(error)
            return
        if hasattr(task, "add_done_callback"):
            self._task = task
            task.add_done_callback(self._task_done)
        self._sync_toggle()

    def _do_step(self) -> None:
        self.message.value = ""
        self._after_play_stops(self.trainer.step)

    def _do_epoch(self) -> None:
        self.message.value = ""

        def one_epoch() -> None:
            if running_loop() is None:
                self.trainer.run_epoch()
            else:
                self._start(lambda: self.trainer.play(epochs=1))

        self._after_play_stops(one_epoch)

    def _do_reset(self) -> None:
        self.message.value = ""
        self._after_play_stops(self.trainer.reset)

    # --- following the trainer ------------------------------------------------------
    def on_step(self, record: dict) -> None:
        self._recent.append((record["time"], record["step"]))
        self._status_at_its_rate()

    def on_epoch(self, record: dict) -> None:
        # Not a frame at every epoch: epochs of a few steps end dozens of times a second, and each status
        # update is a message (the README's run cost 11 % more in a kernel when every epoch sent one).
        self._status_at_its_rate()

    def _status_at_its_rate(self) -> None:
        """Show the status at most STATUS_FPS times a second of the clock's time; the final one comes
        when it stops."""
        now = self.clock.now()
        if now - self._status_time >= 1.0 / STATUS_FPS:
            self._status_time = now
            self.redraw()
        else:
            self.mark_stale()

    def on_state(self, change: dict) -> None:
        if self._kernel.loop is None:
            self._kernel.loop = running_loop()
        if change.get("state") == "error" and change.get("error"):
            self.last_error = str(change["error"])
            self.message.value = f"<span style='color:#b00'>{escape(self.last_error)}</span>"
        self._show_status()
        # A play task reports its new state before it has finished (or, starting, before it
        # exists), so the toggle catches up once the loop has moved on.
        loop = running_loop()
        if loop is not None:
            loop.call_soon(self._kernel.guarded, self.redraw)
        else:
            self.redraw()

    def on_reset(self, payload: dict) -> None:
        self._recent.clear()
        super().on_reset(payload)

    def _sync_toggle(self) -> None:
        playing = bool(self.trainer.is_playing)
        if self.play_button.value != playing:
            self.play_button.value = playing  # _on_toggle sees it agree with the trainer and does nothing
        self.play_button.description = "Pause" if playing else "Play"
        self.play_button.icon = "pause" if playing else "play"

    def _sync_slider(self) -> None:
        wanted = self._slider_value(self.trainer.lr)
        if abs(self.lr_slider.value - wanted) > 1e-12 * max(1.0, wanted):
            self._syncing_slider = True  # the slider follows the trainer; it must not set the lr back
            try:
                self.lr_slider.value = wanted
            finally:
                self._syncing_slider = False

    @staticmethod
    def _slider_value(lr: float) -> float:
        return min(max(float(lr), 10.0**LR_MIN_EXPONENT), 10.0**LR_MAX_EXPONENT)

    def _show_status(self) -> None:
        self.status.value = escape(self.status_text())

    def draw(self) -> None:
        self._sync_toggle()
        self._sync_slider()
        self._show_status()

    def __str__(self) -> str:
        return self.status_text()
