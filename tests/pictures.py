"""Helpers for tests of the browser-drawn views: what a Picture sends, and a Pacer on a hand-driven clock."""

from __future__ import annotations

import numpy as np

from widgets.views.pacer import Pacer


class Outbox:
    """Records every custom message a Picture sends through its comm: (content, buffers)."""

    def __init__(self, picture, monkeypatch) -> None:
        self.messages: list[tuple[dict, list[bytes]]] = []
        comm = picture.comm
        original = comm.send

        def send(data=None, metadata=None, buffers=None):
            if isinstance(data, dict) and data.get("method") == "custom":
                self.messages.append((data["content"], [bytes(b) for b in buffers or []]))
            return original(data=data, metadata=metadata, buffers=buffers)

        monkeypatch.setattr(comm, "send", send)

    def data_messages(self) -> list[tuple[dict, list[bytes]]]:
        return [(content, buffers) for content, buffers in self.messages if content.get("type") == "data"]

    def changes(self) -> list[dict]:
        """Every change described by every data message, in order, each with its buffer's byte count."""
        return [{**change, "bytes": len(buffer)} for content, buffers in self.data_messages()
                for change, buffer in zip(content["changes"], buffers)]

    def clear(self) -> None:
        self.messages.clear()


def stored(picture, name: str) -> np.ndarray:
    """Channel `name` as the picture's `data` trait holds it (what a page opened later reads)."""
    entry = picture.data[name]
    return np.frombuffer(entry["buffer"], dtype=entry["dtype"]).reshape(entry["shape"])


class HandClock:
    """A time function for Pacer that tests move by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def hand_pacer(fps: float = 20.0) -> tuple[Pacer, HandClock]:
    clock = HandClock()
    return Pacer(fps=fps, pause=0.0, time_fn=clock), clock
