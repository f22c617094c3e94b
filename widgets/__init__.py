"""livetorch: live widgets and a stepwise trainer for PyTorch.

Two sides: `widgets.training` (the Trainer and what it records; never imports
ipywidgets or matplotlib) and `widgets.views` (the live views, which know a
trainer only through its events and read-only state). The public names below
load lazily (PEP 562), so `from widgets import Trainer` loads no drawing code.
"""

from __future__ import annotations

from .lazy import lazy_names

_PUBLIC = {
    # training
    "Trainer": "widgets.training.trainer",
    "NonFiniteLossError": "widgets.training.trainer",
    "History": "widgets.training.history",
    "accuracy": "widgets.training.metrics",
    "EarlyStopping": "widgets.training.callbacks",
    "EpochPrinter": "widgets.training.callbacks",
    "Callback": "widgets.training.callbacks",
    "EpochMetric": "widgets.training.metrics",
    "ModelCheckpoint": "widgets.training.model_checkpoint",
    "CSVLogger": "widgets.training.loggers",
    "TensorBoardLogger": "widgets.training.loggers",
    "set_threads": "widgets.training.threads",
    # views
    "View": "widgets.views.base",
    "LiveView": "widgets.views.live",
    "Pacer": "widgets.views.pacer",
    "FrameClock": "widgets.views.clock",
    "Recording": "widgets.views.recording",
    "write_gif": "widgets.views.recording",
    "LossCurve": "widgets.views.loss_curve",
    "DecisionBoundary": "widgets.views.boundary",
    "ModuleInspector": "widgets.views.inspect",
    "summary": "widgets.views.module_tree",
    "StateDictInspector": "widgets.views.state_dict",
    "TrainerControls": "widgets.views.controls",
    "Dashboard": "widgets.views.dashboard",
    "Playground": "widgets.playground.widget",
    "Compare": "widgets.views.compare",
    "GradientFlow": "widgets.views.gradient_flow",
    "FilterGrid": "widgets.views.filters",
    "lr_find": "widgets.views.lr_plot",
    # data
    "SpiralDataset": "widgets.data",
    "spirals": "widgets.data",
    "spiral_datasets": "widgets.data",
    "mnist": "widgets.data",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())

