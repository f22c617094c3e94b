"""The training side: the stepwise Trainer, its events, history, metrics and checkpoints.

Nothing here imports ipywidgets or matplotlib: views depend on training, never the reverse.
"""

from .callbacks import EarlyStopping, EpochPrinter
from .history import History
from .metrics import accuracy
from .threads import apply_cpu_limit
from .trainer import NonFiniteLossError, Trainer

# In a container torch would start one thread per host core; fit it to the CPU limit once.
apply_cpu_limit()

__all__ = ["EarlyStopping", "EpochPrinter", "History", "NonFiniteLossError", "Trainer", "accuracy"]
