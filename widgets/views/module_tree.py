"""The module tree of a torch model as rows, and its plain-text summary.

Works without Jupyter: `summary(model)` prints like R torch's module printout
("An nn.Module containing 8,642 parameters.") followed by one line per child.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin


@dataclass(frozen=True)
class ModuleRow:
    """One module of the tree: where it sits, what it is and what it holds."""

    name: str
    """Dotted path from the root ("" for the root itself)."""
    depth: int
    type_name: str
    own_params: int
    """Elements of the parameters registered on this module itself."""
    total_params: int
    """Elements of every parameter in this module and below, each counted once."""
    param_shapes: tuple[tuple[str, tuple[int, ...]], ...]
    """(local name, shape) of the parameters registered on this module itself."""
    buffer_shapes: tuple[tuple[str, tuple[int, ...]], ...]
    """(local name, shape) of the buffers registered on this module itself."""
    trainable: str
    """"yes", "no", "mixed", or "" when the module holds no parameters at all."""


def require_module(obj: object, who: str) -> nn.Module:
    """Return `obj` if it is an nn.Module, else raise a TypeError naming `who` and what came."""
    if not isinstance(obj, nn.Module):
        raise TypeError(f"{who} expects a torch.nn.Module, got {type(obj).__name__}")
    return obj


def require_initialized(model: nn.Module, who: str) -> None:
    """Raise a ValueError naming the lazy layers of `model` whose shapes are not known yet (before any
    forward)."""
    lazy = [f"{name or '(model)'} ({type(module).__name__})" for name, module in model.named_modules()
            # torch types the method's self as its private _LazyProtocol, which no module is to mypy
            if isinstance(module, LazyModuleMixin) and module.has_uninitialized_params()]  # type: ignore[misc]
    if lazy:
        raise ValueError(
            f"{who} needs a model whose layers know their shapes, but {', '.join(lazy)} is not initialized "
            "yet: run the model once on a batch of data (model(x), or trainer.step()) first"
        )


def count_text(count: int) -> str:
    """A parameter count as R torch writes it: "8,642 parameters", "1 parameter"."""
    return f"{count:,} parameter" + ("" if count == 1 else "s")


def unique_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Every parameter in `module` and below, shared ones once (as `parameters()` gives them)."""
    return list(module.parameters())


def parameter_split(module: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) element counts of the module's parameters."""
    trainable = frozen = 0
    for param in unique_parameters(module):
        if param.requires_grad:
            trainable += param.numel()
        else:
            frozen += param.numel()
    return trainable, frozen


def total_text(module: nn.Module) -> str:
    """ "8,642 parameters", with the trainable/frozen split added when some are frozen."""
    trainable, frozen = parameter_split(module)
    text = count_text(trainable + frozen)
    if frozen:
        text += f" ({trainable:,} trainable, {frozen:,} frozen)"
    return text


def _trainable_flag(params: list[nn.Parameter]) -> str:
    if not params:
        return ""
    flags = {p.requires_grad for p in params}
    if flags == {True}:
        return "yes"
    if flags == {False}:
        return "no"
    return "mixed"


def module_rows(model: nn.Module) -> list[ModuleRow]:
    """The tree of `model`, depth first, the root first (each module once, as `named_modules`)."""
    require_module(model, "module_rows")
    require_initialized(model, "module_rows")
    rows = []
    for name, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        below = unique_parameters(module)
        rows.append(
            ModuleRow(
                name=name,
                depth=0 if name == "" else name.count(".") + 1,
                type_name=type(module).__name__,
                own_params=sum(p.numel() for _, p in own),
                total_params=sum(p.numel() for p in below),
                param_shapes=tuple((n, tuple(p.shape)) for n, p in own),
                buffer_shapes=tuple(
                    (n, tuple(b.shape)) for n, b in module.named_buffers(recurse=False) if b is not None
                ),
                trainable=_trainable_flag(below),
            )
        )
    return rows


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as "[64, 2]" ("[]" for a scalar)."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def dtype_name(dtype: torch.dtype) -> str:
    """A dtype as "float32" (without "torch.")."""
    return str(dtype).removeprefix("torch.")


def summary(model: nn.Module) -> str:
    """A plain-text description of `model`: its parameter total, then one line per child module.

    The root's own parameters and buffers (a module that registers tensors
    directly, like a hand-written linear layer) get a section of their own.
    """
    require_module(model, "summary")
    require_initialized(model, "summary")
    lines = [f"An nn.Module containing {total_text(model)}."]
    children = list(model.named_children())
    if children:
        lines += ["", "Modules:"]
        name_width = max(len(name) for name, _ in children)
        type_width = max(len(type(child).__name__) for _, child in children)
        for name, child in children:
            frozen_note = ""
            trainable, frozen = parameter_split(child)
            if frozen:
                frozen_note = " (frozen)" if not trainable else f" ({frozen:,} frozen)"
            lines.append(
                f"  {name.ljust(name_width)}  {type(child).__name__.ljust(type_width)}  "
                f"{count_text(trainable + frozen)}{frozen_note}"
            )
    own_params = list(model.named_parameters(recurse=False))
    if own_params:
        lines += ["", "Parameters:"]
        width = max(len(name) for name, _ in own_params)
        for name, param in own_params:
            frozen_note = "" if param.requires_grad else " (frozen)"
            lines.append(
                f"  {name.ljust(width)}  {dtype_name(param.dtype)} "
                f"{shape_text(tuple(param.shape))}{frozen_note}"
            )
    own_buffers = [(n, b) for n, b in model.named_buffers(recurse=False) if b is not None]
    if own_buffers:
        lines += ["", "Buffers:"]
        width = max(len(name) for name, _ in own_buffers)
        for name, buffer in own_buffers:
            lines.append(
                f"  {name.ljust(width)}  {dtype_name(buffer.dtype)} {shape_text(tuple(buffer.shape))}"
            )
    return "\n".join(lines)
