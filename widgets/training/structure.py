"""Nested batches and outputs: tensors inside tuples, lists, namedtuples (PackedSequence included) and dicts.

`to_device` and `detach` rebuild a structure with the same types around moved or
detached tensors; `concat` joins the structures of several batches along the
first dimension (what an epoch metric reads); `call_model` passes inputs to a
model the way their shape says: a tuple or list as positional arguments, a dict
as keyword arguments, anything else (a tensor, a namedtuple, a PackedSequence)
as the one argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence

_Tensor = torch.Tensor
_PACKED_INDICES = ("sorted_indices", "unsorted_indices")


def is_namedtuple(value: Any) -> bool:
    """A tuple subclass with `_fields` (collections.namedtuple, typing.NamedTuple, PackedSequence)."""
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def map_tensors(fn: Callable[[torch.Tensor], Any], value: Any) -> Any:
    """`value` with `fn` applied to every tensor inside it; containers keep their types, other leaves stay."""
    if isinstance(value, _Tensor):
        return fn(value)
    if isinstance(value, tuple):
        if isinstance(value, PackedSequence):  # batch_sizes stays on the CPU, as PackedSequence.to() keeps it
            return value._replace(
                data=fn(value.data),
                **{
                    name: fn(getattr(value, name))
                    for name in _PACKED_INDICES
                    if getattr(value, name) is not None
                },
            )
        if is_namedtuple(value):
            return type(value)(*(map_tensors(fn, v) for v in value))
        return tuple(map_tensors(fn, v) for v in value)
    if isinstance(value, list):
        return [map_tensors(fn, v) for v in value]
    if isinstance(value, Mapping):
        mapped = {k: map_tensors(fn, v) for k, v in value.items()}
        if type(value) is dict:
            return mapped
        # a Mapping subclass that may take a dict (OrderedDict, a dataclass-like)
        mapping_type: Any = type(value)
        try:
            return mapping_type(mapped)
        except Exception:
            return mapped
    return value


def to_device(value: Any, device: torch.device | None) -> Any:
    """Move every tensor in `value` to `device` (None: leave it as is); the structure keeps its types."""
    if device is None:
        return value
    if type(value) is _Tensor:
        return value.to(device)
    return map_tensors(lambda t: t.to(device), value)


def detach(value: Any) -> Any:
    """`value` with every tensor detached from the autograd graph."""
    if type(value) is _Tensor:
        return value.detach()
    return map_tensors(_Tensor.detach, value)


def concat(values: list[Any]) -> Any:
    """The structures of several batches joined along the first dimension (tensors concatenated, leaves
    listed)."""
    first = values[0]
    if isinstance(first, _Tensor):
        if first.dim() == 0:
            return torch.stack(values)
        return torch.cat(values)
    if isinstance(first, PackedSequence):
        raise TypeError(
            "an epoch metric cannot join PackedSequence outputs; return a padded tensor from the model "
            "or compute the metric per batch"
        )
    if isinstance(first, tuple):
        joined = [concat([v[i] for v in values]) for i in range(len(first))]
        return type(first)(*joined) if is_namedtuple(first) else tuple(joined)
    if isinstance(first, list):
        return [concat([v[i] for v in values]) for i in range(len(first))]
    if isinstance(first, Mapping):
        return {k: concat([v[k] for v in values]) for k in first}
    return list(values)


def call_model(model: Callable[..., Any], inputs: Any) -> Any:
    """`model(*inputs)` for a plain tuple or list, `model(**inputs)` for a dict, else `model(inputs)`."""
    kind = type(inputs)
    if kind is _Tensor:
        return model(inputs)
    if kind is tuple or kind is list:
        return model(*inputs)
    if isinstance(inputs, Mapping):
        return model(**inputs)
    return model(inputs)


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor of at least one dimension inside `value`, or None."""
    if isinstance(value, _Tensor):
        return value if value.dim() > 0 else None
    if isinstance(value, PackedSequence):
        return None
    if isinstance(value, (tuple, list)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    elif isinstance(value, Mapping):
        for item in value.values():
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def count_samples(value: Any) -> int | None:
    """Samples in one batch's inputs or target: a PackedSequence's sequence count, else the first tensor's
    length."""
    if isinstance(value, PackedSequence):
        return int(value.batch_sizes[0])
    if isinstance(value, (tuple, list)) and not is_namedtuple(value):
        for item in value:
            if isinstance(item, PackedSequence):
                return int(item.batch_sizes[0])
    found = first_tensor(value)
    return None if found is None else int(found.shape[0])


def find_numpy(value: Any) -> bool:
    """Whether `value` is, or holds, a numpy array."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (tuple, list)):
        return any(find_numpy(v) for v in value)
    if isinstance(value, Mapping):
        return any(find_numpy(v) for v in value.values())
    return False


def describe(value: Any) -> str:
    """A short description of a batch part for error messages: types and shapes, no values."""
    if isinstance(value, _Tensor):
        return f"a {value.dtype} tensor of shape {list(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array ({value.dtype}) of shape {list(value.shape)}"
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {sorted(map(str, value))}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"
