"""StateDictInspector: every tensor of a state_dict, a snapshot, and a diff against it."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

import ipywidgets as ipw
import torch
from torch import nn

from ..training.trainer import Trainer
from .base import close_tree
from .module_tree import require_initialized, shape_text
from .state_diff import (
    StateDiff,
    StateEntry,
    bytes_text,
    check_state_dict,
    copy_state,
    describe_state,
    diff_states,
    model_kinds,
)
from .tables import Cell, html_table


class StateDictInspector(ipw.VBox):
    """A table of every key of a model's (or a bare) state_dict, with `snapshot()` and `diff()`.

    From a model (or a trainer, through its model) each key is a "parameter" or a
    "buffer"; from a bare state_dict the kind is not known and says "tensor".
    The current state is read anew on every call, so after training or
    `load_state_dict`, `diff()` compares what the model holds now.
    """

    def __init__(self, model_or_state_dict: nn.Module | Mapping[str, torch.Tensor] | object) -> None:
        source = model_or_state_dict
        if isinstance(source, Trainer):
            source = source.model
        if isinstance(source, nn.Module):
            require_initialized(source, "StateDictInspector")
            self._model: nn.Module | None = source
            self._state: dict[str, torch.Tensor] | None = None
        elif isinstance(source, Mapping):
            self._model = None
            self._state = check_state_dict(source, "StateDictInspector")
        else:
            raise TypeError(
                "StateDictInspector expects a torch.nn.Module, a Trainer or a state_dict "
                f"(a mapping of names to tensors), got {type(model_or_state_dict).__name__}"
            )
        self._snapshot: dict[str, torch.Tensor] | None = None
        self._last_diff: StateDiff | None = None
        self._table = ipw.HTML()
        self._diff_view = ipw.HTML()
        super().__init__(children=[self._table, self._diff_view])
        self.add_class("lt-state-dict")
        self.refresh()

    def close(self) -> None:
        """Close the box with its tables and their layouts (ipywidgets' close() leaves those open)."""
        for child in self.children:
            close_tree(child)
        self.layout.close()
        super().close()

    def current_state(self) -> dict[str, torch.Tensor]:
        """The state as it is now (a model's state_dict is read again; tensors are not copied)."""
        if self._model is not None:
            return dict(self._model.state_dict())
        return dict(self._state or {})  # without a model, the state given is kept

    def entries(self) -> list[StateEntry]:
        """Key, shape, dtype, device, kind and bytes of every tensor, in state_dict order."""
        kinds = model_kinds(self._model) if self._model is not None else None
        return describe_state(self.current_state(), kinds)

    @property
    def total_bytes(self) -> int:
        """Bytes taken by all tensors of the state_dict together."""
        return sum(entry.nbytes for entry in self.entries())

    def snapshot(self) -> dict[str, torch.Tensor]:
        """Take (and return) a copy of the current state; `diff()` compares against it later."""
        self._snapshot = copy_state(self.current_state())
        self.refresh()
        return self._snapshot

    @property
    def has_snapshot(self) -> bool:
        """True once `snapshot()` was called."""
        return self._snapshot is not None

    def diff(self, other: Mapping[str, torch.Tensor] | None = None) -> StateDiff:
        """Compare the current state with the snapshot, or with `other` when given; show and return
        the result."""
        if other is None:
            if self._snapshot is None:
                raise RuntimeError("StateDictInspector.diff() has nothing to compare with: "
                                   "call snapshot() first, or pass a state_dict")
            reference, name = self._snapshot, "snapshot"
        else:
            reference, name = check_state_dict(other, "StateDictInspector.diff"), "other state_dict"
        result = diff_states(self.current_state(), reference, reference_name=name)
        self._last_diff = result
        self._diff_view.value = self._render_diff(result)
        return result

    @property
    def last_diff(self) -> StateDiff | None:
        """The diff shown under the table (None before the first `diff()`); `print()` it for the text."""
        return self._last_diff

    @property
    def table_html(self) -> str:
        """The table as shown: the tensor count and bytes, then one row per key (HTML)."""
        return self._table.value

    @property
    def diff_html(self) -> str:
        """The last diff as shown: its summary line, then one row per key (HTML; empty before `diff()`)."""
        return self._diff_view.value

    def refresh(self) -> None:
        """Read the state again and redraw the table (keys, shapes and dtypes may have changed)."""
        self._table.value = self._render_table()

    def _render_table(self) -> str:
        entries = self.entries()
        rows = [
            [e.key, shape_text(e.shape), e.dtype, e.device, e.kind, Cell(f"{e.nbytes:,}", numeric=True)]
            for e in entries
        ]
        total = sum(e.nbytes for e in entries)
        note = " · snapshot taken" if self._snapshot is not None else ""
        caption = f"<div><b>{len(entries)} tensors, {escape(bytes_text(total))}</b>{note}</div>"
        return caption + html_table(
            ["key", "shape", "dtype", "device", "kind", "bytes"], rows, "lt-state-dict-table"
        )

    @staticmethod
    def _render_diff(result: StateDiff) -> str:
        rows = [
            [key, "changed", Cell(f"{change:.6g}", numeric=True)] for key, change in result.changed.items()
        ]
        rows += [[key, "equal", Cell("0", numeric=True)] for key in result.equal]
        rows += [[key, f"mismatch: {reason}", ""] for key, reason in result.mismatched.items()]
        rows += [[key, f"missing (in the {result.reference_name} only)", ""] for key in result.missing]
        rows += [[key, f"unexpected (not in the {result.reference_name})", ""] for key in result.unexpected]
        head = escape(str(result).splitlines()[0])
        return f"<div><b>{head}</b></div>" + html_table(
            ["key", "status", "max abs change"], rows, "lt-state-diff"
        )

    def __str__(self) -> str:
        entries = self.entries()
        widths = [
            max([len(h)] + [len(v) for v in column])
            for h, column in (
                ("key", [e.key for e in entries]),
                ("shape", [shape_text(e.shape) for e in entries]),
                ("dtype", [e.dtype for e in entries]),
                ("device", [e.device for e in entries]),
                ("kind", [e.kind for e in entries]),
            )
        ]
        lines = [f"A state_dict of {len(entries)} tensors, {bytes_text(sum(e.nbytes for e in entries))}."]
        header = ["key", "shape", "dtype", "device", "kind"]
        lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  bytes")
        for e in entries:
            cells = [e.key, shape_text(e.shape), e.dtype, e.device, e.kind]
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + f"  {e.nbytes:,}")
        if self._last_diff is not None:
            lines += ["", str(self._last_diff)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        source = "model" if self._model is not None else "state_dict"
        return f"StateDictInspector({source})"
