"""Ctrl-C at a step boundary: in the main thread, a first interrupt during a step waits for the step to
end."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StepInterrupts:
    """Holds a first SIGINT that arrives while `in_step` is True; `raise_held()` raises it afterwards."""

    __slots__ = ("in_step", "received", "_installed")

    def __init__(self) -> None:
        self.in_step = False
        self.received = False
        self._installed = False

    def raise_held(self) -> None:
        """Raise the KeyboardInterrupt held back during the step, if any."""
        if self.received:
            self.received = False
            raise KeyboardInterrupt

    @contextmanager
    def held_during_steps(self) -> Iterator[None]:
        """Inside the block (main thread only), a first Ctrl-C during a step is held until the step is
        complete."""
        if threading.current_thread() is not threading.main_thread() or self._installed:
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def hold_interrupt(signum: int, frame: object) -> None:
            if self.in_step and not self.received:
                self.received = True
                return
            self.received = False
            raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGINT, hold_interrupt)
        except (ValueError, TypeError):
            yield
            return
        self._installed = True
        try:
            yield
        finally:
            self._installed = False
            signal.signal(signal.SIGINT, previous)
            self.raise_held()
