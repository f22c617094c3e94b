"""The training side: the stepwise Trainer, its events, history, metrics and checkpoints.

Nothing here imports ipywidgets or matplotlib: views depend on training, never the reverse.
"""

from .callbacks import EarlyStopping, EpochPrinter
from .history import History
from .metrics import accuracy
from .trainer import NonFiniteLossError, Trainer

__all__ = ["EarlyStopping", "EpochPrinter", "History", "NonFiniteLossError", "Trainer", "accuracy"]
