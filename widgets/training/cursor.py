"""LoaderCursor: where the trainer is in its training loader.

It owns the epoch's iterator, counts the batches drawn from it, holds back a
batch (one looked ahead, or one whose step failed and will be retried), and can
replay an epoch to a saved position for an exact resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from . import rng

END = object()  # returned by LoaderCursor.next() when the epoch's iterator has run out


class LoaderCursor:
    """A position in `loader`: the epoch's iterator, batches drawn, a held batch, a deferred error."""

    __slots__ = ("loader", "generators", "iterator", "drawn", "held", "deferred_error", "epoch_rng", "broken")

    def __init__(self, loader: Iterable, generators: Sequence[torch.Generator]) -> None:
        self.loader = loader
        self.generators = generators
        self.clear()

    def clear(self) -> None:
        """Forget the position: the next batch starts a new epoch."""
        self.iterator: Any = None
        self.drawn = 0
        self.held: Any = None
        self.deferred_error: BaseException | None = None
        self.epoch_rng: rng.RandomState | None = None
        self.broken = False  # a draw failed: the iterator may have moved past that batch, or have ended

    def next(self) -> Any:
        """The next batch: the held one, else one drawn from the epoch's iterator (opened here), else END."""
        iterator = self.iterator
        if iterator is None or self.held is not None or self.deferred_error is not None or self.broken:
            return self._next_unusual()
        try:
            batch = next(iterator)
        except StopIteration:
            return END
        except Exception:
            self.broken = True
            raise
        self.drawn += 1
        return batch

    def _next_unusual(self) -> Any:
        """`next()` when a batch is held, an error is due, the iterator must be remade, or the epoch opens."""
        held = self.held
        if held is not None:
            self.held = None
            return held
        if self.deferred_error is not None:
            error, self.deferred_error = self.deferred_error, None
            raise error
        if self.broken:
            self.reopen()
        if self.iterator is None:
            # Making the iterator draws the epoch's shuffle: remember the state it starts from.
            self.epoch_rng = rng.capture_torch(self.generators)
            self.iterator = iter(self.loader)
            self.drawn = 0
        return self.next()  # the usual draw, now that the iterator is ready

    def reopen(self) -> None:
        """After a failed draw: the epoch's iterator made again and moved to the batch that failed.

        The random generators are left as they were, so the retried batch and the rest
        of the run are those an uninterrupted run would have seen.
        """
        now = rng.capture(self.generators)
        drawn = self.drawn
        if self.epoch_rng is not None:  # always set while an epoch is open
            self.epoch_rng.restore(self.generators)
        self.iterator = iter(self.loader)
        for _ in range(drawn):
            next(self.iterator)
        self.drawn = drawn
        self.broken = False
        now.restore(self.generators)

    def hold(self, batch: Any) -> None:
        """Give `batch` back: the next `next()` returns it again."""
        self.held = batch

    def end_epoch(self) -> None:
        """Close the epoch's iterator; the next batch opens a new one."""
        self.iterator = None
        self.drawn = 0

    def abandon_epoch(self) -> None:
        """The epoch yielded nothing: undo the shuffle its iterator drew, as if it had never opened."""
        if self.epoch_rng is not None:
            self.epoch_rng.restore(self.generators)
        self.iterator = None
        self.epoch_rng = None

    def look_ahead(self) -> bool:
        """For a loader without len: draw and hold the next batch; True when there is none (the epoch
        ends)."""
        try:
            self.held = next(self.iterator)
        except StopIteration:
            return True
        except Exception as error:
            self.deferred_error = error
            self.broken = True
            return False
        self.drawn += 1
        return False

    def state_dict(self) -> dict[str, Any]:
        """The position: batches drawn this epoch, whether one is held (and it, when it can be saved),
        the epoch's start."""
        open_epoch = self.iterator is not None
        return {
            "drawn": self.drawn if open_epoch else 0,
            "held": self.held is not None,
            "held_batch": self.held if plain(self.held) else None,
            "epoch_rng": self.epoch_rng.to_dict() if open_epoch and self.epoch_rng is not None else None,
        }

    def replay(self, epoch_rng: rng.RandomState, drawn: int, held: bool, held_batch: Any) -> None:
        """Recreate the epoch's iterator as it was: its starting random state, then `drawn` batches.

        The held batch comes from the checkpoint when it was saved there, else from the replay.
        """
        self.clear()
        epoch_rng.restore(self.generators)
        self.epoch_rng = epoch_rng
        self.iterator = iter(self.loader)
        batch = None
        for _ in range(drawn):
            batch = next(self.iterator)
        self.drawn = drawn
        self.held = (held_batch if held_batch is not None else batch) if held else None


def plain(value: Any) -> bool:
    """Whether `value` is made of tensors, numbers, strings and plain containers (what weights_only
    loading reads)."""
    if value is None or isinstance(value, (torch.Tensor, bool, int, float, str)):
        return True
    if type(value) in (list, tuple):
        return all(plain(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False
