"""Picture: a canvas in the page that paints itself from numbers the kernel sends.

An anywidget whose JavaScript is `js/common.js` followed by the picture's own
module (`js/curve.js`, `js/field.js`, ...): plain ES modules shipped in the
package, no build step, nothing fetched.

The data is a set of named arrays, "channels". The kernel changes them with
`put(name, array)` (replace) and `extend(name, rows)` (append), and `send()`
sends every change since the last send as ONE message whose binary buffers
hold only the new rows. `store()` writes the whole set into the `data` trait,
which a page opened later reads first and which a notebook saved with its
widget state keeps: the picture is then drawn without a kernel. A page that
misses rows (opened mid-run) asks for them ("resync") and gets the whole set.
Other messages from the page go to the handler given to `on_request`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

JS_DIR = Path(__file__).parent / "js"
DTYPES = ("float32", "float64", "int32", "uint32", "uint8")


def module_text(kind: str, module: str | Path | None = None) -> str:
    """The ES module of a picture: the shared helpers (`js/common.js`), then `js/<kind>.js`, or `module`
    (a path to a .js file, or its text) for a picture of one's own."""
    if module is None:
        path = JS_DIR / f"{kind}.js"
        if not path.is_file():
            known = sorted(p.stem for p in JS_DIR.glob("*.js") if p.stem != "common")
            raise ValueError(f"no picture kind {kind!r}: expected one of {known}, or a module of your own")
        own = path.read_text()
    elif isinstance(module, Path) or (
            isinstance(module, str) and module.endswith(".js") and "\n" not in module):
        own = Path(module).read_text()
    elif isinstance(module, str):
        own = module
    else:
        raise TypeError(f"module must be the path of a .js file or its text, got {type(module).__name__}")
    return _compact((JS_DIR / "common.js").read_text() + "\n" + own)


def _compact(source: str) -> str:
    """The module without its comment lines, blank lines and indentation: the same code in about four
    fifths of the bytes, which every saved notebook stores once per picture. (The modules hold no
    multi-line strings.)"""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def _array(name: str, values: Any) -> np.ndarray:
    array = np.ascontiguousarray(values)
    if array.dtype.name not in DTYPES:
        raise TypeError(f"channel {name!r}: dtype must be one of {DTYPES}, got {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"channel {name!r}: expected an array of rows, got a scalar")
    return array


class Picture(anywidget.AnyWidget):
    """A canvas drawn in the page from named arrays; `options` says how (labels, colours, scales)."""

    data = traitlets.Dict().tag(sync=True)
    """The whole data as of the last `store()`: {name: {"dtype", "shape", "buffer"}}."""
    options = traitlets.Dict().tag(sync=True)
    width = traitlets.Int(480).tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)

    def __init__(self, kind: str, module: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(_esm=module_text(kind, module), **kwargs)
        self.kind = kind
        """The picture's kind: its module is `js/<kind>.js` unless one of its own was given."""
        self.module = module
        """The picture's own module (a path or its text), or None for a kind of the package."""
        self._channels: dict[str, np.ndarray] = {}  # the filled rows: a view into `_buffers`' array
        self._buffers: dict[str, np.ndarray] = {}  # per channel, room that doubles when full
        self._sent_rows: dict[str, int] = {}  # rows of each channel the page holds
        self._replaced: set[str] = set()  # channels to send whole
        self._request_handler: Callable[[dict], None] | None = None
        self.messages_sent = 0
        self.bytes_sent = 0
        self.on_msg(self._on_page_message)

    # --- the kernel's side of the data ----------------------------------------------------
    def put(self, name: str, values: Any) -> None:
        """Replace channel `name` with `values` (sent whole at the next `send()`)."""
        array = _array(name, values)
        self._buffers.pop(name, None)
        self._channels[name] = array
        self._replaced.add(name)

    def extend(self, name: str, rows: Any) -> None:
        """Append `rows` to channel `name` (only they are sent at the next `send()`); costs the new rows
        only."""
        rows = _array(name, rows)
        current = self._channels.get(name)
        if current is None:
            self.put(name, rows.copy())
            return
        if current.dtype != rows.dtype or current.shape[1:] != rows.shape[1:]:
            raise ValueError(f"channel {name!r} holds {current.dtype} rows of shape "
                             f"{list(current.shape[1:])}, "
                             f"got {rows.dtype} rows of shape {list(rows.shape[1:])}")
        filled, needed = len(current), len(current) + len(rows)
        room = self._buffers.get(name)
        if room is None or len(room) < needed:
            room = np.empty((max(2 * needed, 1024), *current.shape[1:]), dtype=current.dtype)
            room[:filled] = current
            self._buffers[name] = room
        room[filled:needed] = rows
        self._channels[name] = room[:needed]

    def channel(self, name: str) -> np.ndarray | None:
        """The kernel's copy of channel `name` (None if it has none)."""
        return self._channels.get(name)

    def rows(self, name: str) -> int:
        """Rows channel `name` holds in the kernel (0 if it has none)."""
        array = self._channels.get(name)
        return 0 if array is None else len(array)

    def drop(self, name: str) -> None:
        """Forget channel `name` in the kernel and, at the next `send()`, in the page."""
        if name in self._channels:
            self.put(name, self._channels[name][:0])

    @property
    def pending(self) -> bool:
        """True when `send()` has something to send."""
        return bool(self._replaced) or any(
            len(array) != self._sent_rows.get(name, 0) for name, array in self._channels.items())

    def changes(self) -> tuple[list[dict], list[bytes]]:
        """What `send()` would send now: the change descriptions and their buffers (nothing is marked
        sent)."""
        described, buffers = [], []
        for name, array in self._channels.items():
            sent = self._sent_rows.get(name, 0)
            if name in self._replaced or len(array) < sent:
                op, start, part = "set", 0, array
            elif len(array) > sent:
                op, start, part = "extend", sent, array[sent:]
            else:
                continue
            described.append({"name": name, "op": op, "start": start, "dtype": array.dtype.name,
                              "shape": list(part.shape)})
            buffers.append(part.tobytes())
        return described, buffers

    def send(self) -> bool:
        """Send every change since the last send as one message; False when there was nothing to send."""
        described, buffers = self.changes()
        if not described:
            return False
        super().send({"type": "data", "changes": described}, buffers=buffers)
        self.messages_sent += 1
        self.bytes_sent += sum(len(buffer) for buffer in buffers)
        self._replaced.clear()
        self._sent_rows = {name: len(array) for name, array in self._channels.items()}
        return True

    def store(self) -> None:
        """Write the whole data into the `data` trait: what a page opened later, or a saved notebook,
        shows."""
        self.send()
        self.data = {name: {"dtype": array.dtype.name, "shape": list(array.shape), "buffer": array.tobytes()}
                     for name, array in self._channels.items()}

    # --- messages from the page -------------------------------------------------------------
    def on_request(self, handler: Callable[[dict], None] | None) -> None:
        """Call `handler(message)` for every message from the page, resyncs included (the handler then
        answers a {"type": "resync"} with `resync()`, on the thread it chooses); without a handler a resync
        is answered at once."""
        self._request_handler = handler

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if self._request_handler is not None:
            self._request_handler(content)
        elif content.get("type") == "resync":
            self.resync()

    def resync(self) -> None:
        """Send the whole data again (a page that missed rows asked for it)."""
        self._replaced.update(self._channels)
        self.send()
