"""The Playground: TensorFlow Playground's experiments on a real PyTorch model.

The plain parts (problems, input features, the network, the configuration and
the code export) load without ipywidgets; the widget is `widgets.Playground`.

    from widgets.playground import build, to_code
    setup = build({"dataset": "spiral", "features": ["x1", "x2", "sin(x1)", "sin(x2)"], "hidden": [8, 8]})
    setup.trainer.fit(20)          # the Playground's test figures are the valid_* columns
    print(to_code(setup.config))   # the same experiment in ordinary PyTorch
"""

from .config import DATASETS, DEFAULTS, check_config
from .export import to_code
from .features import FEATURES, Features
from .losses import OneHotMSELoss
from .network import ACTIVATIONS, build_model
from .own_data import check_data
from .penalty import WeightPenalty
from .problems import PLANE, PROBLEMS, make_problem, split
from .setup import Setup, build
from .tf_link import TfLink, from_tf_link, to_tf_link

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULTS",
    "FEATURES",
    "PLANE",
    "PROBLEMS",
    "Features",
    "OneHotMSELoss",
    "Setup",
    "TfLink",
    "WeightPenalty",
    "build",
    "build_model",
    "check_config",
    "check_data",
    "from_tf_link",
    "make_problem",
    "split",
    "to_code",
    "to_tf_link",
]
