"""What a state_dict holds, and how two of them differ, as plain data and text.

`describe_state(source)` lists every key with shape, dtype, device, kind and bytes;
`diff_states(current, reference)` says which tensors changed and by how much,
which are equal, which keys exist on one side only and which cannot be compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from .module_tree import dtype_name, shape_text


@dataclass(frozen=True)
class StateEntry:
    """One key of a state_dict."""

    key: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    kind: str
    """"parameter" or "buffer" when read from a model; "tensor" (kind unknown) from a bare dict."""
    nbytes: int


def bytes_text(nbytes: int) -> str:
    """A byte count for people: "34,568 B (33.8 KiB)"."""
    text = f"{nbytes:,} B"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{text} ({nbytes / size:.1f} {unit})"
    return text


def check_state_dict(state: object, who: str) -> dict[str, torch.Tensor]:
    """Return `state` as a plain dict after checking it maps names to tensors; raise a clear error if not."""
    if not isinstance(state, Mapping):
        raise TypeError(
            f"{who} expects a mapping of names to tensors (a state_dict), got {type(state).__name__}"
        )
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(
                f"{who} expects string keys in the state_dict, got key {key!r} of type {type(key).__name__}"
            )
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{who} expects a tensor under every key of the state_dict, but {key!r} holds a "
                f"{type(value).__name__} (a model's state_dict() is flat; a trainer's or an optimizer's is "
                "not)"
            )
    return dict(state)


def model_kinds(model: nn.Module) -> dict[str, str]:
    """Key -> "parameter" or "buffer" for every tensor of `model`'s state_dict, shared ones under each
    name."""
    kinds = {name: "buffer" for name, _ in model.named_buffers(remove_duplicate=False)}
    kinds.update({name: "parameter" for name, _ in model.named_parameters(remove_duplicate=False)})
    return kinds


def describe_state(
    state: Mapping[str, torch.Tensor], kinds: Mapping[str, str] | None = None
) -> list[StateEntry]:
    """One `StateEntry` per key, in the state_dict's order. Without `kinds`, Parameters say "parameter",
    others "tensor"."""
    entries = []
    for key, tensor in state.items():
        if kinds is not None and key in kinds:
            kind = kinds[key]
        else:
            kind = "parameter" if isinstance(tensor, nn.Parameter) else "tensor"
        entries.append(
            StateEntry(
                key=key,
                shape=tuple(tensor.shape),
                dtype=dtype_name(tensor.dtype),
                device=str(tensor.device),
                kind=kind,
                nbytes=tensor.numel() * tensor.element_size(),
            )
        )
    return entries


def copy_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A detached copy of every tensor (a state_dict's tensors share storage with the model)."""
    return {key: tensor.detach().clone() for key, tensor in state.items()}


@dataclass
class StateDiff:
    """How the current state differs from a reference (a snapshot or another state_dict).

    `changed` maps each changed key to its largest absolute change (NaN where the
    two disagree on which elements are NaN); `missing` are keys of the reference
    absent now; `unexpected` are keys present now that the reference lacks;
    `mismatched` maps keys whose shape or dtype differ to a description.
    """

    changed: dict[str, float] = field(default_factory=dict)
    equal: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)
    reference_name: str = "reference"

    @property
    def identical(self) -> bool:
        """True when every key is on both sides with the same shape, dtype and values."""
        return not (self.changed or self.missing or self.unexpected or self.mismatched)

    @property
    def max_change(self) -> float:
        """The largest absolute change over every changed tensor (0.0 when none changed)."""
        return max(self.changed.values(), default=0.0)

    def __str__(self) -> str:
        ref = self.reference_name
        total = len(self.changed) + len(self.equal) + len(self.mismatched)
        if self.identical:
            head = f"All {total} tensors equal to the {ref} (max abs change 0)."
        else:
            head = (
                f"{len(self.changed)} changed, {len(self.equal)} equal, {len(self.mismatched)} not "
                f"comparable, {len(self.missing)} missing, {len(self.unexpected)} unexpected (against the "
                f"{ref})."
            )
        lines = [head]
        width = max((len(k) for k in [*self.changed, *self.mismatched]), default=0)
        for key, change in self.changed.items():
            lines.append(f"  changed     {key.ljust(width)}  max abs change {change:.6g}")
        for key, reason in self.mismatched.items():
            lines.append(f"  mismatch    {key.ljust(width)}  {reason}")
        for key in self.missing:
            lines.append(f"  missing     {key}  (in the {ref}, not in the current state)")
        for key in self.unexpected:
            lines.append(f"  unexpected  {key}  (in the current state, not in the {ref})")
        return "\n".join(lines)


def max_abs_change(current: torch.Tensor, reference: torch.Tensor) -> float:
    """The largest |current - reference| over all elements, in float64; 0.0 when equal.

    Elements that are NaN on both sides count as equal; NaN on one side only gives NaN.
    """
    if torch.equal(current, reference):
        return 0.0
    wide = torch.complex128 if (current.is_complex() or reference.is_complex()) else torch.float64
    a = current.detach().to("cpu", wide)
    b = reference.detach().to("cpu", wide)
    nan_a, nan_b = torch.isnan(a), torch.isnan(b)
    if not torch.equal(nan_a, nan_b):
        return float("nan")
    keep = ~nan_a
    if not bool(keep.any()):
        return 0.0
    return float((a[keep] - b[keep]).abs().max())


def diff_states(
    current: Mapping[str, torch.Tensor],
    reference: Mapping[str, torch.Tensor],
    reference_name: str = "reference",
) -> StateDiff:
    """Compare two state_dicts key by key; see `StateDiff` for what each field holds."""
    result = StateDiff(reference_name=reference_name)
    for key, now in current.items():
        if key not in reference:
            result.unexpected.append(key)
            continue
        before = reference[key]
        problems = []
        if tuple(now.shape) != tuple(before.shape):
            now_shape, before_shape = shape_text(tuple(now.shape)), shape_text(tuple(before.shape))
            problems.append(f"shape {now_shape} now, {before_shape} in the {reference_name}")
        if now.dtype != before.dtype:
            problems.append(
                f"dtype {dtype_name(now.dtype)} now, {dtype_name(before.dtype)} in the {reference_name}"
            )
        if problems:
            result.mismatched[key] = "; ".join(problems)
            continue
        change = max_abs_change(now, before)
        if change == 0.0:
            result.equal.append(key)
        else:
            result.changed[key] = change
    result.missing = [key for key in reference if key not in current]
    return result
