"""The training side: the stepwise Trainer, its events, history, metrics and checkpoints.

Nothing here imports ipywidgets or matplotlib: views depend on training, never the reverse.
"""

from .callbacks import Callback, EarlyStopping, EpochPrinter
from .history import History
from .loggers import CSVLogger, TensorBoardLogger
from .metrics import EpochMetric, accuracy
from .model_checkpoint import ModelCheckpoint
from .trainer import NonFiniteLossError, Trainer

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "EpochMetric",
    "EpochPrinter",
    "History",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "TensorBoardLogger",
    "Trainer",
    "accuracy",
]
