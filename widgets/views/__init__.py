"""The views side: live views on ipywidgets and matplotlib, on one `View` base and `FrameClock`."""

from .base import View
from .boundary import DecisionBoundary
from .clock import FrameClock
from .controls import TrainerControls
from .dashboard import Dashboard
from .frame import Frame
from .inspect import ModuleInspector
from .loss_curve import LossCurve
from .module_tree import summary
from .state_dict import StateDictInspector

__all__ = ["Dashboard", "DecisionBoundary", "Frame", "FrameClock", "LossCurve", "ModuleInspector",
           "StateDictInspector", "TrainerControls", "View", "summary"]
