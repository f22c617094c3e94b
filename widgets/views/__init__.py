"""The views side: live views on ipywidgets and matplotlib, on one `View` base and `FrameClock`."""

from .base import View
from .boundary import DecisionBoundary
from .clock import FrameClock
from .compare import Compare
from .controls import TrainerControls
from .dashboard import Dashboard
from .filters import FilterGrid
from .frame import Frame
from .gradient_flow import GradientFlow
from .inspect import ModuleInspector
from .loss_curve import LossCurve
from .lr_plot import lr_find
from .module_tree import summary
from .state_dict import StateDictInspector

__all__ = ["Compare", "Dashboard", "DecisionBoundary", "FilterGrid", "Frame", "FrameClock", "GradientFlow", "LossCurve",
           "ModuleInspector", "StateDictInspector", "TrainerControls", "View", "lr_find", "summary"]
