"""Public names that load on first use (PEP 562): a package lists them, and importing it loads nothing
heavy."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, public: Mapping[str, str],
               namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's `__getattr__` and `__dir__` for `package`: `public` maps each name to the module that
    defines it (absolute, or relative to `package` when it starts with a dot); a name, once loaded, is kept in
    `namespace`."""

    def load(name: str) -> Any:
        try:
            module = public[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def names() -> list[str]:
        return sorted(set(namespace) | set(public))

    return load, names
