"""The views side: live views the browser draws (`LiveView`, `Picture`, `Pacer`) and the views still drawn in the kernel.

Names load lazily (PEP 562): importing one plain-data module (`curve_data`,
`boundary_field`, ...) loads neither ipywidgets nor matplotlib nor any view.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "View": "base",
    "LiveView": "live",
    "Picture": "picture",
    "Pacer": "pacer",
    "DecisionBoundary": "boundary",
    "FrameClock": "clock",
    "Compare": "compare",
    "TrainerControls": "controls",
    "Dashboard": "dashboard",
    "FilterGrid": "filters",
    "GradientFlow": "gradient_flow",
    "ModuleInspector": "inspect",
    "LossCurve": "loss_curve",
    "lr_find": "lr_plot",
    "summary": "module_tree",
    "StateDictInspector": "state_dict",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'widgets.views' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
