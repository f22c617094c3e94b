"""The Playground: TensorFlow Playground's experiments on a real PyTorch model.

The plain parts (problems, input features, the network, the configuration and
the code export) load without ipywidgets; the widget is `widgets.Playground`.

    from widgets.playground import build, to_code
    setup = build({"dataset": "spiral", "features": ["x1", "x2", "sin(x1)", "sin(x2)"], "hidden": [8, 8]})
    setup.trainer.fit(20)          # the Playground's test figures are the valid_* columns
    print(to_code(setup.config))   # the same experiment in ordinary PyTorch

`build({"mode": "tf", ...})` runs TensorFlow Playground's own program instead
(`widgets.playground.modes`).
"""

from .config import DATASETS, DEFAULTS, check_config, to_mode
from .edits import WeightEdit, replay
from .export import to_code
from .features import FEATURES, Features
from .losses import OneHotMSELoss
from .modes import MODES, REG_RATES, TF_LEARNING_RATES, TF_PALETTE, TF_REG_RATES, menus
from .network import ACTIVATIONS, build_model
from .own_data import check_data
from .penalty import WeightPenalty
from .problems import PLANE, PROBLEMS, make_problem, split
from .setup import Setup, build
from .tf_data import TF_PROBLEMS, make_tf_problem, make_tf_split
from .tf_link import TfLink, from_tf_link, to_tf_link
from .tf_loss import HalfSquaredError, sign_accuracy
from .tf_network import build_tf_model, tf_initialize
from .tf_update import TfSGD

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "DEFAULTS",
    "FEATURES",
    "MODES",
    "PLANE",
    "PROBLEMS",
    "REG_RATES",
    "TF_LEARNING_RATES",
    "TF_PALETTE",
    "TF_PROBLEMS",
    "TF_REG_RATES",
    "Features",
    "HalfSquaredError",
    "OneHotMSELoss",
    "Setup",
    "TfLink",
    "TfSGD",
    "WeightEdit",
    "WeightPenalty",
    "build",
    "build_model",
    "build_tf_model",
    "check_config",
    "check_data",
    "from_tf_link",
    "make_problem",
    "make_tf_problem",
    "make_tf_split",
    "menus",
    "sign_accuracy",
    "split",
    "tf_initialize",
    "to_code",
    "to_mode",
    "replay",
    "to_tf_link",
]
