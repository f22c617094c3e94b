"""The trainer's counters, and the checks a checkpoint passes before it is loaded.

`Trainer.state_dict()` is made of tensors, lists and numbers (so
`torch.load(weights_only=True)` reads it). `read_checkpoint` parses one and
matches it against the trainer it is loaded into, raising before anything
changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .history import History
from .rng import RandomState
from .switches import needs_closure

STATE_DICT_FORMAT = 1
PARTS = ("format", "model", "optimizer", "counters", "loader", "history", "rng", "initial")
COUNTER_KEYS = ("global_step", "epoch", "batch_in_epoch", "last_loss", "loss_sum", "samples", "metric_sums",
                "metric_names", "train_time", "epoch_time", "close_pending")


@dataclass(slots=True)
class Counters:
    """Where training stands: steps, epochs, the running sums of the open epoch, training time."""

    global_step: int = 0
    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0
    last_loss: float | None = None
    loss_sum: float = 0.0  # sum of loss x batch size over the open epoch
    samples: int = 0
    metric_sums: list[float] = field(default_factory=list)
    train_time: float = 0.0
    epoch_start_time: float = 0.0  # the training time at which the open epoch began
    close_pending: bool = False  # the epoch's last step is done; its validation and record are still to come
    skipped: int = 0  # batches of the open epoch discarded by skip_batch()

    @classmethod
    def fresh(cls, metric_count: int) -> Counters:
        return cls(metric_sums=[0.0] * metric_count)

    def start_epoch(self) -> None:
        """Counters of a new epoch: the running sums back to zero."""
        self.batch_in_epoch = 0
        self.loss_sum = 0.0
        self.samples = 0
        self.metric_sums = [0.0] * len(self.metric_sums)
        self.epoch_start_time = self.train_time
        self.close_pending = False
        self.skipped = 0

    def to_dict(self, metric_names: Sequence[str]) -> dict[str, Any]:
        return {
            "global_step": self.global_step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "last_loss": self.last_loss, "loss_sum": self.loss_sum, "samples": self.samples,
            "metric_sums": list(self.metric_sums), "metric_names": list(metric_names),
            "train_time": self.train_time, "epoch_time": self.train_time - self.epoch_start_time,
            "close_pending": self.close_pending, "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, counters: Mapping[str, Any]) -> Counters:
        missing = [key for key in COUNTER_KEYS if key not in counters]
        if missing:
            raise ValueError(f"the checkpoint's counters lack {missing} (use Trainer.state_dict() output)")
        train_time = float(counters["train_time"])
        return cls(
            global_step=int(counters["global_step"]), epoch=int(counters["epoch"]),
            batch_in_epoch=int(counters["batch_in_epoch"]),
            last_loss=None if counters["last_loss"] is None else float(counters["last_loss"]),
            loss_sum=float(counters["loss_sum"]), samples=int(counters["samples"]),
            metric_sums=[float(v) for v in counters["metric_sums"]], train_time=train_time,
            epoch_start_time=train_time - float(counters["epoch_time"]),
            close_pending=bool(counters["close_pending"]), skipped=int(counters.get("skipped", 0)),
        )


@dataclass
class Checkpoint:
    """A checkpoint parsed and matched against a trainer: safe to apply part by part."""

    model: Mapping[str, torch.Tensor]
    optimizer: dict
    counters: Counters
    loader: Mapping[str, Any]
    history: Mapping[str, Any]
    rng: RandomState
    epoch_rng: RandomState | None
    initial_model: Mapping[str, torch.Tensor]
    initial_optimizer_groups: list
    initial_rng: RandomState
    scheduler: dict | None
    initial_scheduler: dict | None
    callbacks: list


def read_checkpoint(state: object, *, model: nn.Module, optimizer: torch.optim.Optimizer,
                    metric_names: Sequence[str], generators: Sequence[torch.Generator],
                    steps_per_epoch: int | None, scheduler: Any, callbacks: Sequence[Any]) -> Checkpoint:
    """Parse `state` (from `Trainer.state_dict()`) for a trainer with these parts; raise ValueError or
    TypeError on a mismatch."""
    if not isinstance(state, Mapping):
        raise TypeError(
            f"load_state_dict expects the dict from Trainer.state_dict(), got {type(state).__name__}"
        )
    missing = set(PARTS) - set(state)
    if missing:
        raise ValueError(
            f"not a Trainer state dict: missing {sorted(missing)} (use Trainer.state_dict() output)"
        )
    if state["format"] != STATE_DICT_FORMAT:
        raise ValueError(
            f"unsupported Trainer state format {state['format']!r}; expected {STATE_DICT_FORMAT}"
        )
    initial = state["initial"]
    if not isinstance(initial, Mapping) or not {"model", "optimizer_groups", "rng"} <= set(initial):
        raise ValueError("the checkpoint's 'initial' part lacks 'model', 'optimizer_groups' or 'rng'")
    saved_scheduler = state.get("scheduler")
    if (saved_scheduler is None) != (scheduler is None):
        has = (
            "has a learning-rate scheduler"
            if saved_scheduler is not None
            else "has no learning-rate scheduler"
        )
        mine = "this trainer has one" if scheduler is not None else "this trainer has none"
        raise ValueError(f"the checkpoint {has}, but {mine}: build the trainer as the checkpoint's was built")
    if scheduler is not None:
        for what, saved in (("scheduler", saved_scheduler), ("initial scheduler", initial.get("scheduler"))):
            check_same_keys(
                scheduler.state_dict(), saved, f"the checkpoint's {what}", type(scheduler).__name__
            )
    check_model_state(model, state["model"], "model")
    check_model_state(model, initial["model"], "initial model")
    check_optimizer_state(optimizer, state["optimizer"])
    check_optimizer_state(optimizer, {"state": {}, "param_groups": initial["optimizer_groups"]}, "initial ")
    counters = Counters.from_dict(state["counters"])
    names = state["counters"]["metric_names"]
    if list(names) != list(metric_names):
        raise ValueError(
            f"the checkpoint was made with metrics {names}, this trainer has {list(metric_names)}"
        )
    if len(counters.metric_sums) != len(metric_names):
        raise ValueError(f"the checkpoint's counters hold {len(counters.metric_sums)} metric sums for "
                         f"{len(metric_names)} metrics")
    check_history_state(state["history"])
    loader = state["loader"]
    drawn = loader.get("drawn")
    if drawn and loader.get("epoch_rng") is None:
        raise ValueError("the checkpoint is mid-epoch but lacks the epoch's starting random state")
    if drawn and steps_per_epoch is not None and drawn > steps_per_epoch:
        raise ValueError(
            f"the checkpoint had drawn {drawn} batches this epoch; this loader has only {steps_per_epoch}"
        )
    now, initial_rng = RandomState.from_dict(state["rng"]), RandomState.from_dict(initial["rng"])
    epoch_rng = RandomState.from_dict(loader["epoch_rng"]) if drawn else None
    for random_state in (now, epoch_rng, initial_rng):
        if random_state is not None:
            random_state.check_fits(generators)
    saved_callbacks = list(state.get("callbacks", []))
    stateful = [callback for callback in callbacks if callable(getattr(callback, "state_dict", None))]
    if len(saved_callbacks) != len(stateful):
        raise ValueError(f"the checkpoint holds the state of {len(saved_callbacks)} callback(s), "
                         f"this trainer has {len(stateful)} that keep state")
    for callback, saved in zip(stateful, saved_callbacks):
        check_same_keys(
            callback.state_dict(), saved, "the checkpoint's callback state", type(callback).__name__
        )
    return Checkpoint(
        model=state["model"], optimizer=state["optimizer"], counters=counters, loader=loader,
        history=state["history"], rng=now, epoch_rng=epoch_rng,
        initial_model=initial["model"],
        initial_optimizer_groups=initial["optimizer_groups"], initial_rng=initial_rng,
        scheduler=saved_scheduler, initial_scheduler=initial.get("scheduler"),
        callbacks=saved_callbacks,
    )


def check_model_state(model: nn.Module, theirs: Mapping[str, torch.Tensor], what: str) -> None:
    """`theirs` must have this model's keys and shapes."""
    own = model.state_dict()
    if set(own) != set(theirs):
        raise ValueError(
            f"the checkpoint's {what} does not match this model: missing keys "
            f"{sorted(set(own) - set(theirs))}, unexpected keys {sorted(set(theirs) - set(own))}"
        )
    for key, tensor in own.items():
        if tuple(theirs[key].shape) != tuple(tensor.shape):
            raise ValueError(f"the checkpoint's {key!r} has shape {list(theirs[key].shape)}, "
                             f"this model's has {list(tensor.shape)}")


def check_optimizer_state(optimizer: torch.optim.Optimizer, saved: Any, what: str = "") -> None:
    """`saved` must be a state of this kind of optimizer for these parameters: groups, settings, tensor
    shapes."""
    name = type(optimizer).__name__
    if not isinstance(saved, Mapping) or not isinstance(saved.get("param_groups"), list):
        raise ValueError(
            f"the checkpoint's {what}optimizer state must be a dict with 'param_groups' and 'state'"
        )
    groups, own = saved["param_groups"], optimizer.param_groups
    if len(groups) != len(own):
        raise ValueError(
            f"the checkpoint's {what}optimizer has {len(groups)} parameter groups, this one has {len(own)}"
        )
    shapes = []
    for index, (theirs, mine) in enumerate(zip(groups, own)):
        # a scheduler adds "initial_lr" to the groups; whether there is one is checked apart
        settings, own_settings = set(theirs) - {"params", "initial_lr"}, set(mine) - {"params", "initial_lr"}
        if settings != own_settings:
            raise ValueError(
                f"the checkpoint's {what}optimizer is not a {name} like this one: its group {index} has the "
                f"settings {sorted(settings)}, this {name} has {sorted(own_settings)}"
            )
        if len(theirs.get("params", ())) != len(mine["params"]):
            raise ValueError(
                f"the checkpoint's {what}optimizer group {index} holds {len(theirs.get('params', ()))} "
                f"parameters, this one holds {len(mine['params'])}"
            )
        shapes += [tuple(p.shape) for p in mine["params"]]
    # LBFGS keeps its state under the first parameter as flat vectors over all of them: no shapes to match.
    flat = needs_closure(optimizer)
    for key, entry in (saved.get("state") or {}).items():
        if not isinstance(key, int) or not 0 <= key < len(shapes):
            raise ValueError(
                f"the checkpoint's {what}optimizer state names parameter {key!r}; this one has {len(shapes)}"
            )
        for field_name, value in entry.items():
            if (
                not flat
                and isinstance(value, torch.Tensor)
                and value.dim() > 0
                and tuple(value.shape) != shapes[key]
            ):
                raise ValueError(
                    f"the checkpoint's {what}optimizer state {field_name!r} of parameter {key} has shape "
                    f"{list(value.shape)}, the parameter has {list(shapes[key])}"
                )


def check_history_state(saved: Any) -> None:
    """`saved` must load into a History (checked on a throw-away one)."""
    History().load_state_dict(saved)


def check_same_keys(own: Mapping[str, Any], saved: Any, what: str, kind: str) -> None:
    """A saved state must have the keys this object's own state has."""
    if not isinstance(saved, Mapping) or set(saved) != set(own):
        found = sorted(saved) if isinstance(saved, Mapping) else type(saved).__name__
        raise ValueError(f"{what} does not fit this {kind}: expected keys {sorted(own)}, found {found}")


def clone_tensors(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached copies of a state dict's tensors."""
    return {key: value.detach().clone() for key, value in tensors.items()}
