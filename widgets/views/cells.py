"""Re-running a notebook cell replaces the views it made before.

JupyterLab clears a cell's outputs when the cell runs again, but the views
shown there live on in the kernel: still subscribed to their trainer, still
drawing on every step. Each view registers here with the cell that made it
(the front end names the cell in the `cellId` of its execute request); when
the same cell makes a view in a later run, the views of its earlier runs are
closed. Views made in one run of a cell stay together, and outside a kernel
(scripts, tests) or with a front end that sends no cell id nothing happens.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from typing import Any, Protocol


class Closable(Protocol):
    def close(self) -> None: ...


# cell id -> [(id of the run that made the view, weak reference to the view)]
_views_by_cell: dict[str, list[tuple[str, weakref.ref]]] = {}


def current_cell() -> tuple[str, str] | None:
    """`(cell id, run id)` of the notebook cell now running, or None when not known.

    The run id is the execute request's message id: each run of a cell has its own.
    """
    kernel = getattr(_shell(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    try:
        parent = get_parent("shell")
    except Exception:
        return None
    if not isinstance(parent, dict):
        return None
    cell_id = (parent.get("metadata") or {}).get("cellId")
    run_id = (parent.get("header") or {}).get("msg_id")
    if not isinstance(cell_id, str) or not isinstance(run_id, str) or not cell_id or not run_id:
        return None
    return cell_id, run_id


def _shell() -> Any:
    """The running IPython shell, or None (IPython is not imported just to find out)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def adopt(view: Closable) -> None:
    """Register `view` with the running cell, closing what earlier runs of that cell made."""
    cell = current_cell()
    if cell is None:
        return
    cell_id, run_id = cell
    kept = []
    for made_in, reference in _views_by_cell.get(cell_id, []):
        earlier = reference()
        if earlier is None or earlier is view:
            continue
        if made_in == run_id:
            kept.append((made_in, reference))
            continue
        try:
            earlier.close()
        except Exception as error:
            warnings.warn(f"could not close an earlier {type(earlier).__name__} of this cell: {error}",
                          RuntimeWarning, stacklevel=3)
    kept.append((run_id, weakref.ref(view)))
    _views_by_cell[cell_id] = kept


def views_of(cell_id: str) -> list[Any]:
    """The live views registered with a cell (for tests and curious learners)."""
    return [view for _, reference in _views_by_cell.get(cell_id, []) if (view := reference()) is not None]
