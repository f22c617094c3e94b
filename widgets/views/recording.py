"""Animations of a run: the bounded store of a view's frames, and the animated GIF written from them.

`Recording` keeps the PNG bytes of the frames a view draws (the bytes the view
already made to show them, so keeping one costs nothing). It is bounded by a
number of frames and a number of bytes; when either is exceeded, every other
frame goes, the first and the newest excepted, and from then on only every
second frame offered is kept (every fourth after the next thinning, ...), so
the frames stay evenly spread over the run.

`write_gif` turns frames into an animated GIF with Pillow: one adaptive
palette made from a few frames spread over the run, every pixel mapped to its
nearest colour without dithering (so a pixel that did not change keeps its index and the GIF
stores only the rectangle that changed), written to a temporary file in the
target's folder and renamed, so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import io
import itertools
import numbers
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

import numpy as np
from PIL import Image

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FRAMES",
    "MAX_FPS",
    "MIN_FPS",
    "Recording",
    "check_gif_target",
    "check_limits",
    "merge",
    "write_gif",
]

DEFAULT_MAX_FRAMES = 200
DEFAULT_MAX_BYTES = 64 * 2**20
"""64 MiB: room for the default 200 frames of any view here (a frame is tens of kB, a boundary's up to ~150
kB)."""

MAX_FPS = 50
"""GIF delays count in hundredths of a second, and browsers slow down delays under 20 ms."""
MIN_FPS = 0.01
"""The slowest GIF: a frame every 100 s (a GIF stores a frame's time in hundredths of a second, at most 655.35
s)."""

_PALETTE_SAMPLES = 8  # frames spread over the run that the shared palette is made from
_EXACT_COLOURS = 64  # the most frequent colours of those frames, kept exactly in the palette
# one order over every recording of the process: frames of views drawn together interleave
_ORDER = itertools.count()

FrameSource = bytes | Image.Image


def _is_count(value: object) -> TypeGuard[int | np.integer]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_limits(max_frames: object, max_bytes: object) -> tuple[int, int]:
    """(max_frames, max_bytes) as ints, or a ValueError saying what a recording's bounds must be."""
    if not _is_count(max_frames) or max_frames < 2:
        raise ValueError(
            f"max_frames must be an int of at least 2 (the first and the last frame), got {max_frames!r}"
        )
    if not _is_count(max_bytes) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int (bytes of PNG kept), got {max_bytes!r}")
    return int(max_frames), int(max_bytes)


class Recording:
    """The frames of a view, as PNG bytes, at most `max_frames` of them and `max_bytes` in all.

    `add(png)` offers the next frame. When the frames kept exceed a bound,
    every other one goes (the first and the newest stay) and the stride of the
    frames kept doubles. The first and the newest frame are always kept, even
    when those two alone exceed `max_bytes`.
    """

    def __init__(self, max_frames: int = DEFAULT_MAX_FRAMES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_frames, self.max_bytes = check_limits(max_frames, max_bytes)
        self.stride = 1
        """Of the frames offered, every `stride`-th is kept (the newest is kept besides)."""
        self.offered = 0
        """Frames offered so far (kept or not)."""
        self._kept: list[tuple[int, int, Any, int]] = []  # (offer index, order stamp, png), on the stride
        self._newest: tuple[int, int, Any, int] | None = None  # the newest frame when it is off the stride
        self._nbytes = 0

    def add(self, frame: Any, size: int | None = None) -> None:
        """Offer the next frame (PNG bytes, or any state with its `size` in bytes); keep it, thinning the
        older ones evenly if a bound is exceeded."""
        if size is None:
            if not isinstance(frame, (bytes, bytearray)) or not frame:
                raise TypeError(
                    f"a frame must be non-empty PNG bytes (or come with its size), got {type(frame).__name__}"
                )
            frame, size = bytes(frame), len(frame)
        entry = (self.offered, next(_ORDER), frame, int(size))
        self.offered += 1
        if self._newest is not None:  # the previous newest was off the stride: the new one replaces it
            self._nbytes -= self._newest[3]
            self._newest = None
        if entry[0] % self.stride == 0:
            self._kept.append(entry)
        else:
            self._newest = entry
        self._nbytes += entry[3]
        while (len(self) > self.max_frames or self._nbytes > self.max_bytes) and len(self._kept) > 1:
            self._thin()

    def _thin(self) -> None:
        self.stride *= 2
        last = self._kept[-1]
        kept = [entry for entry in self._kept if entry[0] % self.stride == 0]
        if kept[-1] is not last and self._newest is None:
            self._newest = last  # the newest frame stays, off the stride
        self._kept = kept
        self._nbytes = sum(entry[3] for entry in self._entries())

    def _entries(self) -> list[tuple[int, int, Any, int]]:
        return self._kept + ([self._newest] if self._newest is not None else [])

    def __len__(self) -> int:
        return len(self._kept) + (self._newest is not None)

    @property
    def frames(self) -> list[Any]:
        """The frames kept (PNG bytes, or the states offered), oldest first."""
        return [entry[2] for entry in self._entries()]

    @property
    def stamps(self) -> list[int]:
        """When each kept frame was recorded, as a number increasing over every recording of the process."""
        return [entry[1] for entry in self._entries()]

    @property
    def nbytes(self) -> int:
        """Bytes the kept frames hold."""
        return self._nbytes

    def __repr__(self) -> str:
        return f"Recording(max_frames={self.max_frames}, max_bytes={self.max_bytes})"


def merge(recordings: Sequence[Recording], max_frames: int) -> list[tuple[bytes, ...]]:
    """Recordings of views drawn together, as one timeline of at most `max_frames` rows.

    A row is made whenever any of the views recorded a frame: it holds the
    latest frame of every view at that moment (a view that has not recorded
    yet shows its first frame). Rows that repeat the previous one are left
    out; past `max_frames` the rows are thinned evenly, the first and the last kept.
    """
    max_frames, _ = check_limits(max_frames, 1)
    if not recordings or any(len(recording) == 0 for recording in recordings):
        raise ValueError("merge needs at least one recording, each with at least one frame")
    events = sorted((stamp, which, png) for which, recording in enumerate(recordings)
                    for stamp, png in zip(recording.stamps, recording.frames))
    current = [recording.frames[0] for recording in recordings]
    rows = [tuple(current)]
    for _, which, png in events:
        if current[which] is not png:
            current[which] = png
            rows.append(tuple(current))
    if len(rows) > max_frames:
        chosen = np.unique(np.round(np.linspace(0, len(rows) - 1, max_frames)).astype(int))
        rows = [rows[i] for i in chosen]
    return rows


def check_gif_target(path: object, fps: object = 10, loop: object = 0) -> Path:
    """The GIF's path, after checking it, `fps` and `loop`; a clear error otherwise (nothing is written)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a pathlib.Path ending in .gif, got {type(path).__name__}")
    target = Path(path).expanduser()
    if target.suffix.lower() != ".gif":
        raise ValueError(f"path must end in .gif (an animated GIF is written), got {str(path)!r}")
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: its folder {str(folder)!r} {what}; create it first"
        )
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a folder")
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise TypeError(f"fps must be a number of frames per second, got {type(fps).__name__} {fps!r}")
    if not MIN_FPS <= float(fps) <= MAX_FPS:
        raise ValueError(f"fps must be from {MIN_FPS} to {MAX_FPS} frames per second, got {float(fps)!r}")
    if loop is not None and not (_is_count(loop) and loop >= 0):
        raise ValueError(f"loop must be 0 (forever), a number of repeats, or None (play once), got {loop!r}")
    return target


def write_gif(
    path: str | os.PathLike, frames: Sequence[FrameSource], fps: float = 10, loop: int | None = 0
) -> Path:
    """Write `frames` (PNG bytes or Pillow images, oldest first) as an animated GIF at `path`; return the
    path.

    `fps` frames a second; `loop` 0 plays forever, n repeats n more times,
    None plays once. Frames of different sizes are placed at the top left of
    a white canvas of the largest size. The file appears whole or not at all.
    """
    target = check_gif_target(path, fps, loop)
    if len(frames) == 0:
        raise ValueError("no frames to write: a GIF needs at least one frame")
    size = _canvas_size(frames)
    palette = _Palette(frames, size)
    images = [palette.indexed(frames[i], size) for i in range(len(frames))]
    options: dict[str, Any] = {
        "format": "GIF",
        "save_all": True,
        "append_images": images[1:],
        "duration": round(1000 / float(fps)),
        "optimize": False,
    }
    if loop is not None:
        options["loop"] = int(loop)
    _write_whole(target, lambda stream: images[0].save(stream, **options))
    return target


def _open(frame: FrameSource) -> Image.Image:
    if isinstance(frame, Image.Image):
        return frame
    if isinstance(frame, (bytes, bytearray)):
        return Image.open(io.BytesIO(frame))
    raise TypeError(f"a frame must be PNG bytes or a PIL image, got {type(frame).__name__}")


def _canvas_size(frames: Sequence[FrameSource]) -> tuple[int, int]:
    sizes = {_open(frames[i]).size for i in range(len(frames))}  # a PNG's size is read from its header only
    return max(width for width, _ in sizes), max(height for _, height in sizes)


def _rgb(frame: FrameSource, size: tuple[int, int]) -> Image.Image:
    image = _open(frame).convert("RGB")
    if image.size != size:
        canvas = Image.new("RGB", size, "white")
        canvas.paste(image, (0, 0))
        image = canvas
    return image


class _Palette:
    """One 256-colour palette for all frames, and the exact mapping of any colour to its nearest entry.

    The palette comes from a few frames spread over the run (first and last
    included): their most frequent colours (the background, the lines, the
    fields) enter exactly, Pillow's octree picks the rest. Pillow's own mapping to
    a given palette is approximate (it turns white into a near-white), so the
    nearest entry of each colour met is computed here and kept in a table.
    """

    def __init__(self, frames: Sequence[FrameSource], size: tuple[int, int]) -> None:
        picks = np.unique(
            np.round(np.linspace(0, len(frames) - 1, min(_PALETTE_SAMPLES, len(frames)))).astype(int)
        )
        mosaic = Image.new("RGB", (size[0], size[1] * len(picks)))
        for row, index in enumerate(picks):
            mosaic.paste(_rgb(frames[index], size), (0, row * size[1]))
        keys, counts = np.unique(_keys(mosaic), return_counts=True)
        exact = _colours(keys[np.argsort(counts, kind="stable")[::-1][:_EXACT_COLOURS]])
        cut = mosaic.quantize(
            colors=256 - len(exact), method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
        palette = cut.getpalette() or []  # a quantized image always has a palette
        rest = np.asarray(palette[: 3 * (256 - len(exact))], dtype=np.int32).reshape(-1, 3)
        self.colours = np.concatenate([exact, rest])
        self._table = np.zeros(1 << 24, dtype=np.uint8)  # colour key -> palette index, where `_known`
        self._known = np.zeros(1 << 24, dtype=bool)

    def indexed(self, frame: FrameSource, size: tuple[int, int]) -> Image.Image:
        """`frame` on a canvas of `size`, as a "P" image of this palette (every pixel its nearest colour)."""
        keys = _keys(_rgb(frame, size))
        new = np.unique(keys[~self._known[keys]])
        for chunk in np.array_split(new, max(1, len(new) // 4096)):
            distance = ((_colours(chunk)[:, None, :] - self.colours[None, :, :]) ** 2).sum(axis=2)
            self._table[chunk] = distance.argmin(axis=1)
            self._known[chunk] = True
        image = Image.fromarray(self._table[keys])
        image.putpalette(self.colours.astype(np.uint8).tobytes())
        return image


def _keys(image: Image.Image) -> np.ndarray:
    """Each pixel of an RGB image as one int (its three bytes, red lowest), read in one pass."""
    return np.asarray(image.convert("RGBX")).view("<u4")[..., 0] & 0xFFFFFF


def _colours(keys: np.ndarray) -> np.ndarray:
    """The [N, 3] int32 RGB colours of `_keys` values."""
    keys = keys.astype(np.int32)
    return np.stack([keys & 255, (keys >> 8) & 255, keys >> 16], axis=1)


def _write_whole(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(stream)` on a new file beside `target`, then rename it to `target`; on failure remove
    it."""
    for _ in range(100):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            stream = open(temporary, "xb")  # noqa: SIM115 - closed below, before the rename
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"could not make a temporary file beside {str(target)!r}")
    try:
        with stream:
            write(stream)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
