"""The training side: the stepwise Trainer, its events, history, metrics and checkpoints.

Nothing here imports ipywidgets or matplotlib: views depend on training, never the reverse.
"""

from .callbacks import Callback, EarlyStopping, EpochPrinter
from .history import History
from .loggers import CSVLogger, TensorBoardLogger
from .metrics import EpochMetric, accuracy
from .model_checkpoint import ModelCheckpoint
from .threads import apply_cpu_limit
from .trainer import NonFiniteLossError, Trainer

# In a container torch would start one thread per host core; fit it to the CPU limit once.
apply_cpu_limit()

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "EpochMetric", "EpochPrinter", "History", "ModelCheckpoint",
           "NonFiniteLossError", "TensorBoardLogger", "Trainer", "accuracy"]
