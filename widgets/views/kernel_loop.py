"""The one thread rule of the views: every widget handler runs on the kernel's event loop.

JupyterLab 4.4+ may deliver a widget's message on a kernel subshell thread,
while a step runs on the main thread. A handler therefore never works where
it arrives: it hands its work to `KernelLoop.run`, which queues it on the
loop that runs cells and `Trainer.play` (so it runs between two steps), or
runs it at once where there is no such loop (a script, a test) or when it is
already on the loop's thread.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this thread (a Jupyter kernel's), or None (a script, another thread)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class KernelLoop:
    """Runs work on the event loop the view was made on; `report(error)` hears of work that failed."""

    def __init__(self, report: Callable[[BaseException], None] | None = None) -> None:
        self.loop = running_loop()
        self.report = report

    def run(self, work: Callable[[], None]) -> None:
        """Run `work` on the kernel's loop between steps, or at once when there is no loop or this is
        its thread."""
        current = running_loop()
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            if current is not None:
                self.loop = current
            self.guarded(work)
            return
        if current is loop:
            self.guarded(work)
            return
        try:
            loop.call_soon_threadsafe(self.guarded, work)
        except RuntimeError:  # the loop closed in between
            self.guarded(work)

    def later(self, work: Callable[[], None]) -> bool:
        """Queue `work` on the loop to run after the current cell or step; False (nothing queued)
        without a loop."""
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return False
        loop.call_soon_threadsafe(self.guarded, work)
        return True

    def guarded(self, work: Callable[[], None]) -> None:
        """Run `work` now; an exception goes to `report` (or a warning) instead of up the loop."""
        try:
            work()
        except Exception as error:  # a handler must never kill the loop; say what went wrong instead
            if self.report is None:
                warnings.warn(
                    f"a widget handler failed: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2
                )
            else:
                self.report(error)
