"""The views side: live views the browser draws (`LiveView`, `Picture`, `Pacer`) and the views still drawn in
the kernel.

Names load lazily (PEP 562): importing one plain-data module (`curve_data`,
`boundary_field`, ...) loads neither ipywidgets nor matplotlib nor any view.
"""

from __future__ import annotations

from ..lazy import lazy_names

_PUBLIC = {
    "View": ".base",
    "LiveView": ".live",
    "Picture": ".picture",
    "Pacer": ".pacer",
    "DecisionBoundary": ".boundary",
    "FrameClock": ".clock",
    "Compare": ".compare",
    "TrainerControls": ".controls",
    "Dashboard": ".dashboard",
    "FilterGrid": ".filters",
    "GradientFlow": ".gradient_flow",
    "ModuleInspector": ".inspect",
    "LossCurve": ".loss_curve",
    "lr_find": ".lr_plot",
    "summary": ".module_tree",
    "StateDictInspector": ".state_dict",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())

