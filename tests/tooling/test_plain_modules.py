"""Plain-data modules load neither a drawing library nor a widget library nor any view: each checked in a
fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PLAIN_MODULES = [
    # numbers the views send or draw
    "widgets.views.axes", "widgets.views.curve_data", "widgets.views.boundary_field",
    "widgets.views.model_replica",
    "widgets.views.gradient_flow_data", "widgets.views.kernel_mosaic", "widgets.views.module_tree",
    "widgets.views.param_stats", "widgets.views.state_diff", "widgets.views.tables", "widgets.views.pacer",
    "widgets.views.kernel_loop", "widgets.views.recording", "widgets.views.style", "widgets.views.png",
    "widgets.views.worker",
    # the Playground's core and its pictures (numpy and Pillow)
    "widgets.playground.problems", "widgets.playground.own_data", "widgets.playground.features",
    "widgets.playground.network", "widgets.playground.penalty", "widgets.playground.losses",
    "widgets.playground.config", "widgets.playground.setup", "widgets.playground.export",
    "widgets.playground.maps", "widgets.playground.draw", "widgets.playground.draw_network",
    "widgets.playground.draw_chart", "widgets.playground.confusion", "widgets.playground.scene",
    "widgets.playground.tf_link",
]

FORBIDDEN = ("matplotlib", "ipywidgets", "anywidget", "IPython.display")

PROBE = """
import importlib, sys
importlib.import_module({module!r})
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in {roots!r} or name == "IPython.display"
                or (name.startswith("widgets.views.") and name not in {allowed!r}))
print(",".join(loaded))
"""


@pytest.mark.slow  # a fresh process each: about 2.5 s, mostly importing torch
@pytest.mark.parametrize("module", PLAIN_MODULES)
def test_a_plain_module_loads_no_drawing_or_widget_code(module):
    roots = tuple(name.split(".")[0] for name in FORBIDDEN)
    allowed = tuple(m for m in PLAIN_MODULES if m.startswith("widgets.views."))
    script = PROBE.format(module=module, roots=roots, allowed=allowed)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {module} also loaded: {result.stdout.strip()}"
