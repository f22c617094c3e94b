"""The trainer's event hub: named events, subscriptions that unsubscribe, failing subscribers reported."""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EVENT_NAMES = ("step", "epoch", "state", "reset", "backward")
MAX_KEPT_ERRORS = 100


@dataclass(frozen=True)
class CallbackError:
    """One exception raised by a subscriber: the event, the callback and the exception."""

    event: str
    callback: Callable[[dict], Any]
    error: BaseException

    def __str__(self) -> str:
        name, error = callback_name(self.callback), self.error
        return f"{self.event!r} subscriber {name} raised {type(error).__name__}: {error}"


class Subscription:
    """The handle `Trainer.on` returns; `remove()` unsubscribes (calling it twice is harmless)."""

    def __init__(
        self, hub: EventHub, event: str, callback: Callable[[dict], Any], strict: bool = False
    ) -> None:
        self.event = event
        self.callback = callback
        # an exception it raises propagates to the emitter (a guard), after being recorded
        self.strict = strict
        self._hub = hub

    def remove(self) -> None:
        """Stop delivering the event to this callback."""
        self._hub._remove(self)

    @property
    def active(self) -> bool:
        """Whether the callback still receives the event."""
        return self in self._hub.subscribers[self.event]

    def __repr__(self) -> str:
        return f"Subscription({self.event!r}, {callback_name(self.callback)}, active={self.active})"


class EventHub:
    """Subscribers per event name; `emit` calls them in subscription order and reports failures."""

    def __init__(self, names: tuple[str, ...] = EVENT_NAMES) -> None:
        self.names = names
        # Tuples, replaced on change: emitting iterates without copying, and a
        # callback that subscribes or unsubscribes does not disturb the loop.
        # Read it freely (the trainer checks it on every step); change it only
        # through on() and Subscription.remove().
        self.subscribers: dict[str, tuple[Subscription, ...]] = {name: () for name in names}
        self.errors: deque[CallbackError] = deque(maxlen=MAX_KEPT_ERRORS)
        self._warned: set[tuple[str, str, str]] = set()

    def on(self, event: str, callback: Callable[[dict], Any], strict: bool = False) -> Subscription:
        """Subscribe `callback(payload)` to `event`; with `strict`, an exception it raises reaches the
        emitter."""
        if event not in self.subscribers:
            raise ValueError(f"unknown event {event!r}; expected one of {', '.join(map(repr, self.names))}")
        if not callable(callback):
            raise TypeError(f"the callback for {event!r} must be callable, got {type(callback).__name__}")
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        subscription = Subscription(self, event, callback, strict)
        self.subscribers[event] = self.subscribers[event] + (subscription,)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        current = self.subscribers[subscription.event]
        self.subscribers[subscription.event] = tuple(s for s in current if s is not subscription)

    def has(self, event: str) -> bool:
        """Whether anyone listens to `event`."""
        return bool(self.subscribers[event])

    def emit(self, event: str, payload: dict) -> None:
        """Call every subscriber of `event`; an exception is warned about and kept, raised only from a
        strict one."""
        for subscription in self.subscribers[event]:
            try:
                subscription.callback(payload)
            except Exception as error:
                if subscription.strict:
                    self.errors.append(CallbackError(event, subscription.callback, error))
                    raise
                self._report(event, subscription.callback, error)

    def _report(self, event: str, callback: Callable[[dict], Any], error: Exception) -> None:
        record = CallbackError(event, callback, error)
        self.errors.append(record)
        # One warning per (event, callback, exception type): a view failing on
        # every step would otherwise flood the output.
        key = (event, callback_name(callback), type(error).__name__)
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(
                f"{record} (training goes on; see trainer.callback_errors)", RuntimeWarning, stacklevel=4
            )


def callback_name(callback: Callable[..., Any]) -> str:
    """A readable name for a callable: its qualified name, or its type's."""
    name = getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None)
    return name if isinstance(name, str) else type(callback).__name__
