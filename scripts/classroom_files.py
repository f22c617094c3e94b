"""Writing an output folder whole or not at all."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_output_folder(out_dir: Path, force: bool) -> None:
    """Raise before any work when ``out_dir`` exists without ``force`` or its parent is missing."""
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} already exists; pass --force to replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder; --force only replaces folders")
    if not out_dir.parent.is_dir():
        raise FileNotFoundError(f"the folder to write {out_dir.name!r} into does not exist: {out_dir.parent}")


@contextmanager
def fresh_folder(out_dir: Path, force: bool) -> Iterator[Path]:
    """Yield an empty folder beside ``out_dir``; when the block ends without error it becomes ``out_dir``.

    On an error the half-written folder is removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir).absolute()
    check_output_folder(out_dir, force)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield work
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / out_dir.name)
            work.rename(out_dir)
            shutil.rmtree(old)
        else:
            work.rename(out_dir)
    finally:
        if work.exists():
            shutil.rmtree(work)
