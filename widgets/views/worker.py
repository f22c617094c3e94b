"""Worker: one background thread for the views' work that need not run on the training thread.

A pure-torch model's forward pass lets go of the interpreter, so the
boundary's field of a copy of the weights is computed on a second core while
the next training steps run, instead of inside the pacer's round. Jobs are
keyed by their owner (a view): a job replaces its owner's job that has not
started yet (only the newest picture matters), and `settle(owner)` waits until
the owner has nothing queued or running.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable


class Worker:
    """A daemon thread running the newest job of each owner, oldest owner first."""

    def __init__(self, name: str = "livetorch-views") -> None:
        self.name = name
        self._changed = threading.Condition()
        # owner -> its newest job, in order of first submission
        self._queued: dict[object, Callable[[], None]] = {}
        self._running: object | None = None
        self._thread: threading.Thread | None = None

    def submit(self, owner: object, job: Callable[[], None]) -> None:
        """Run `job` soon on the worker's thread, replacing `owner`'s job that has not started."""
        with self._changed:
            self._queued[owner] = job
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def cancel(self, owner: object) -> None:
        """Drop `owner`'s job that has not started (a running one finishes)."""
        with self._changed:
            self._queued.pop(owner, None)
            self._changed.notify_all()

    def busy(self, owner: object) -> bool:
        """True while `owner` has a job queued or running."""
        with self._changed:
            return owner in self._queued or self._running is owner

    def settle(self, owner: object, timeout: float | None = 30.0) -> bool:
        """Wait until `owner` has nothing queued or running; False if `timeout` seconds passed first.

        Called on the worker's own thread (by a job), it returns at once.
        """
        if threading.current_thread() is self._thread:
            return True
        with self._changed:
            return self._changed.wait_for(
                lambda: owner not in self._queued and self._running is not owner, timeout
            )

    def _serve(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._queued))
                owner = next(iter(self._queued))
                job = self._queued.pop(owner)
                self._running = owner
            try:
                job()
            except Exception as error:  # a failed picture must not end the thread that serves every view
                warnings.warn(
                    f"a view's background work failed: {type(error).__name__}: {error}",
                    RuntimeWarning,
                    stacklevel=1,
                )
            finally:
                del owner, job  # hold no view while waiting for the next job
                with self._changed:
                    self._running = None
                    self._changed.notify_all()


WORKER = Worker()
"""The one worker the views share."""
