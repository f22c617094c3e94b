"""Input checks for the trainer: cheap ones on every step, a closer diagnosis only when something looks
wrong."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import metrics as _our_metrics
from . import structure
from .callbacks import HOOKS, STEP_HOOKS

CLASSIFICATION_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)
CLASSIFICATION_FUNCTIONS = (F.cross_entropy, F.nll_loss)
REGRESSION_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)
REGRESSION_FUNCTIONS = (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss)
BINARY_LOSSES = (nn.BCELoss, nn.BCEWithLogitsLoss)
BINARY_FUNCTIONS = (F.binary_cross_entropy, F.binary_cross_entropy_with_logits)


# torch.nn modules whose forward never draws random numbers, by the module
# file that defines them (RReLU and attention, which do, are excluded below).
_DETERMINISTIC_MODULE_FILES = {
    "torch.nn.modules.linear", "torch.nn.modules.conv", "torch.nn.modules.activation",
    "torch.nn.modules.batchnorm", "torch.nn.modules.normalization", "torch.nn.modules.instancenorm",
    "torch.nn.modules.pooling", "torch.nn.modules.flatten", "torch.nn.modules.container",
    "torch.nn.modules.padding", "torch.nn.modules.sparse", "torch.nn.modules.upsampling",
    "torch.nn.modules.pixelshuffle", "torch.nn.modules.channelshuffle", "torch.nn.modules.loss",
}
_RANDOM_MODULES = (nn.RReLU, nn.MultiheadAttention)


def may_draw_random(model: nn.Module, loss_fn: Callable, metrics: Mapping[str, Callable]) -> bool:
    """False only when the model is built from torch.nn layers known not to draw random numbers,
    the loss is a torch loss and the metrics are ours: then a step needs no random-state snapshot."""
    for module in model.modules():
        if isinstance(module, _RANDOM_MODULES) or type(module).__module__ not in _DETERMINISTIC_MODULE_FILES:
            return True
    torch_loss = isinstance(loss_fn, nn.Module) and type(loss_fn).__module__ == "torch.nn.modules.loss"
    if loss_kind(loss_fn) == "other" and not torch_loss:
        return True
    return any(getattr(fn, "__module__", None) != _our_metrics.__name__ for fn in metrics.values())


def loss_kind(loss_fn: Callable) -> str:
    """'classification' for cross-entropy/NLL, 'regression' for MSE/L1/SmoothL1/Huber,
    'binary' for binary cross-entropy, else 'other' (a loss of the user's: checked only when it raises)."""
    if isinstance(loss_fn, CLASSIFICATION_LOSSES) or any(loss_fn is f for f in CLASSIFICATION_FUNCTIONS):
        return "classification"
    if isinstance(loss_fn, REGRESSION_LOSSES) or any(loss_fn is f for f in REGRESSION_FUNCTIONS):
        return "regression"
    if isinstance(loss_fn, BINARY_LOSSES) or any(loss_fn is f for f in BINARY_FUNCTIONS):
        return "binary"
    return "other"


def loss_label(loss_fn: Callable) -> str:
    """A short name for a loss function or module."""
    if isinstance(loss_fn, nn.Module):
        return type(loss_fn).__name__
    return getattr(loss_fn, "__name__", type(loss_fn).__name__)


def check_constructor(
    model: object, loss_fn: object, optimizer: object, metrics: object
) -> dict[str, Callable]:
    """Validate the trainer's main arguments; returns the metrics as a plain dict."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(loss_fn, type) and issubclass(loss_fn, nn.Module):
        raise TypeError(
            f"loss_fn must be a loss instance such as {loss_fn.__name__}(), got the class {loss_fn.__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(output, target), got {type(loss_fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    check_lazy(model)
    model_params = {id(p) for p in model.parameters()}
    if not model_params:
        raise ValueError("the model has no parameters to train")
    optimizer_params = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not model_params & optimizer_params:
        raise ValueError(
            f"the optimizer holds none of the model's parameters (model: {len(model_params)} tensors, "
            f"optimizer: {len(optimizer_params)} other tensors); build it from this model, e.g. "
            "torch.optim.SGD(model.parameters(), lr=0.1)"
        )
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict of name -> fn(output, target), got {type(metrics).__name__}")
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"metric names must be non-empty strings, got {name!r}")
        if name == "loss":
            raise ValueError("'loss' is reserved for the loss; give the metric another name")
        if not callable(fn):
            raise TypeError(
                f"metric {name!r} must be callable as fn(output, target) -> float, got {type(fn).__name__}"
            )
    return dict(metrics)


def resolve_device(device: object) -> torch.device | None:
    """'auto' -> CUDA, else Apple's MPS, else the CPU; None -> leave model and data where they are; else a
    checked device."""
    if device is None:
        return None
    if isinstance(device, str) and device == "auto":
        return torch.device(best_device())
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            "device must be 'auto', None, a device string such as 'cpu' or 'cuda', or a torch.device; "
            f"got {type(device).__name__}"
        )
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(
            f"unknown device {device!r}; expected 'auto', 'cpu', 'cuda', 'cuda:0', 'mps' ... ({error})"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for, but CUDA is not available here; use device='auto' or 'cpu'"
        )
    return resolved


def best_device() -> str:
    """'cuda' when a CUDA device is available, else 'mps' when Apple's Metal is, else 'cpu'."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def check_callbacks(callbacks: object) -> list:
    """A list of callbacks, each with at least one `on_<event>` method."""
    if isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of callback objects, got {type(callbacks).__name__}")
    hooks = (*HOOKS, *STEP_HOOKS)
    for callback in callbacks:
        if not any(callable(getattr(callback, hook, None)) for hook in hooks):
            raise TypeError(
                f"a callback needs at least one of the methods {', '.join(hooks)}; got "
                f"{type(callback).__name__} (subscribe a plain function with trainer.on(event, fn) instead)"
            )
    return list(callbacks)


def check_scheduler(
    scheduler: object, optimizer: torch.optim.Optimizer, every: object, choices: tuple
) -> None:
    """A torch learning-rate scheduler of this very optimizer, stepped every 'epoch' or 'step'."""
    if every not in choices:
        raise ValueError(f"scheduler_every must be one of {choices}, got {every!r}")
    if scheduler is None:
        return
    schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if not isinstance(scheduler, schedulers):
        raise TypeError(
            "scheduler must be a torch.optim.lr_scheduler object (StepLR, OneCycleLR, ...), got "
            f"{type(scheduler).__name__}"
        )
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError(
            "the scheduler was made for another optimizer: build it on the optimizer given to the Trainer"
        )
    if every == "step" and isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise ValueError(
            "ReduceLROnPlateau steps on an epoch's validation loss, so it needs scheduler_every='epoch', "
            "got scheduler_every='step'"
        )


SEVERAL_INPUTS_HINT = (
    "for a model of several inputs, make each batch (inputs, target) with the inputs grouped: "
    "a tuple goes to model(*inputs), a dict to model(**inputs); or build the Trainer with "
    "batch_fn=lambda batch: (inputs, target)"
)


def unpack_batch(batch: Any) -> tuple[Any, Any]:
    """(x, y) from a pair (tuple or list) or a dict with keys 'x' and 'y'."""
    if type(batch) is tuple or type(batch) is list or isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        raise ValueError("a batch must be a pair (x, y) or a dict with keys 'x' and 'y'; "
                         f"got a {type(batch).__name__} of {len(batch)} items; {SEVERAL_INPUTS_HINT}")
    if isinstance(batch, Mapping):
        if "x" in batch and "y" in batch:
            return batch["x"], batch["y"]
        raise ValueError(
            f"a batch dict must have keys 'x' and 'y'; got keys {sorted(map(str, batch))}; for a dict "
            "of model inputs (input_ids, attention_mask, labels ...) build the Trainer with "
            "batch_fn=lambda b: ({k: v for k, v in b.items() if k != 'labels'}, b['labels'])"
        )
    raise ValueError(
        f"a batch must be a pair (x, y) or a dict with keys 'x' and 'y'; got {type(batch).__name__}; "
        "build the Trainer with batch_fn= to map it to (inputs, target)"
    )


def check_pair(pair: Any, batch: Any) -> tuple[Any, Any]:
    """What `batch_fn` returned must be a pair (inputs, target)."""
    if isinstance(pair, (tuple, list)) and not structure.is_namedtuple(pair) and len(pair) == 2:
        return pair[0], pair[1]
    raise ValueError(
        f"batch_fn must return a pair (inputs, target); for a batch that is {structure.describe(batch)} "
        f"it returned {structure.describe(pair)}"
    )


def check_not_numpy(x: Any, y: Any) -> None:
    """numpy arrays in a batch are refused with the conversion to use."""
    for role, value in (("inputs", x), ("target", y)):
        if structure.find_numpy(value):
            raise TypeError(
                f"the batch's {role} hold a numpy array ({structure.describe(value)}); the Trainer needs "
                "torch tensors: convert the data once with torch.from_numpy(array) (add .float() for numpy's "
                "float64 inputs, .long() for class labels), or wrap the arrays in a TensorDataset"
            )


def check_forward_arguments(error: Exception) -> None:
    """A forward that wanted more arguments than one input: say how a batch gives several."""
    text = str(error)
    if isinstance(error, TypeError) and (
        "required positional argument" in text
        or "positional arguments but" in text
        or "unexpected keyword argument" in text
    ):
        raise TypeError(f"{text}: the model was called with the batch's inputs as they came; "
                        f"{SEVERAL_INPUTS_HINT}") from error


def check_lazy(model: nn.Module) -> None:
    """Lazy layers must have run once before training: their parameters have no shape yet."""
    lazy = sorted(
        {
            type(module).__name__
            for module in model.modules()
            if any(isinstance(p, nn.parameter.UninitializedParameter) for p in module._parameters.values())
        }
    )
    if lazy:
        raise ValueError(
            f"the model has lazy layers ({', '.join(lazy)}) whose parameters are not made yet (they get "
            "their shapes from the first batch); run one batch through the model first, e.g. "
            "model(next(iter(train_loader))[0]), then build the Trainer (an optimizer made before keeps "
            "working)"
        )


def epoch_columns(metric_names: list[str], validating: bool, callbacks: list) -> list[str]:
    """The numeric columns an epoch record will hold: losses, metrics and the columns callbacks declare."""
    names = ["loss", *metric_names]
    columns = [f"train_{n}" for n in names] + ([f"valid_{n}" for n in names] if validating else [])
    for callback in callbacks:
        columns += [c for c in getattr(callback, "columns", ()) if c not in columns]
    return columns


def check_monitors(callbacks: list, columns: list[str]) -> None:
    """A callback watching a column (`monitor`) must name one the epoch record will have."""
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor not in columns:
            close = difflib.get_close_matches(monitor, columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            why = (
                ""
                if any(c.startswith("valid_") for c in columns)
                else " (there is no valid_loader, so no valid_ columns)"
            )
            raise ValueError(
                f"{type(callback).__name__} monitors {monitor!r}, but the epoch records will hold "
                f"{columns}{why}{hint}"
            )


def to_device(value: Any, device: torch.device | None) -> Any:
    """Move every tensor in `value` (a tensor, or tuples, lists, namedtuples, dicts of them) to `device`."""
    return structure.to_device(value, device)


def check_devices(parameter: torch.Tensor, x: Any) -> None:
    """The model's parameters and the batch must be on one device."""
    if isinstance(x, torch.Tensor) and x.device != parameter.device:
        raise RuntimeError(
            f"the model's parameters are on {parameter.device} but the batch is on {x.device}; "
            f"move the model with model.to({str(x.device)!r}) or build the Trainer with device='auto'"
        )


def check_dtypes(parameter: torch.Tensor, x: Any) -> None:
    """Floating-point inputs must have the dtype of the model's weights (numpy's and pandas' float64 do
    not)."""
    if (isinstance(x, torch.Tensor) and x.is_floating_point() and parameter.is_floating_point()
            and x.dtype != parameter.dtype):
        hint = " (numpy and pandas make float64, R's double)" if x.dtype == torch.float64 else ""
        raise TypeError(
            f"the batch's inputs are {x.dtype}{hint} but the model's weights are {parameter.dtype}; convert "
            f"the data once, e.g. torch.tensor(array, dtype={parameter.dtype}) or x.to({parameter.dtype}), "
            f"or the model with model.to({x.dtype})"
        )


def check_same_parameters(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer must still hold the model's parameters (moving a model can replace them)."""
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not any(id(p) in held for p in model.parameters()):
        raise RuntimeError(
            "the optimizer no longer holds the model's parameters: the model was moved or rebuilt after the "
            "optimizer was made (model.to(...) can replace its parameters); build the optimizer after moving "
            "the model, or let the Trainer move it with device='auto'"
        )


def regression_shapes_agree(output: Any, target: Any) -> bool:
    """The common case of `check_output` for a regression loss: True when output and target shapes agree.

    The trainer runs this ahead of the loss on every batch for regression losses only: they
    broadcast [N, 1] against [N] silently (a warning, then a wrong model). Cross-entropy, NLL
    and binary cross-entropy refuse wrong shapes and dtypes themselves, and the trainer then
    explains the error with `check_output`.
    """
    if type(output) is not torch.Tensor or type(target) is not torch.Tensor:
        return True
    out_shape, target_shape = output.shape, target.shape
    return not out_shape or not target_shape or out_shape == target_shape


def check_output(kind: str, output: Any, target: Any) -> None:
    """Cheap shape and dtype checks of one batch's output against its target (attribute reads only)."""
    if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
        return
    if output.dim() == 0 or target.dim() == 0:
        return
    if output.shape[0] != target.shape[0]:
        raise ValueError(
            f"the model's output has {output.shape[0]} samples (shape {list(output.shape)}) but the target "
            f"has {target.shape[0]} (shape {list(target.shape)}); they must have the same batch size"
        )
    if kind == "classification":
        if target.is_floating_point():
            if target.shape == output.shape:
                return  # class probabilities, which cross-entropy accepts
            raise ValueError(
                f"cross-entropy expects class indices as an integer tensor of shape {[output.shape[0]]}, got "
                f"a {target.dtype} target of shape {list(target.shape)}; convert it with y.long()"
            )
        if target.dim() != output.dim() - 1:
            hint = (
                "; squeeze it with y.squeeze(1) (or y.view(-1))"
                if target.dim() == 2 and target.shape[1] == 1
                else ""
            )
            raise ValueError(
                f"cross-entropy expects a target of rank {output.dim() - 1} (one class index per sample, "
                f"shape {[output.shape[0]] + list(output.shape[2:])}) for an output of shape "
                f"{list(output.shape)}, got a target of shape {list(target.shape)}{hint}"
            )
    elif kind == "binary":
        if output.shape != target.shape:
            hint = (
                ": use y.float().unsqueeze(1)"
                if output.dim() == 2 and output.shape[1] == 1 and target.dim() == 1
                else ""
            )
            raise ValueError(
                "binary cross-entropy needs output and target of the same shape; got output "
                f"{list(output.shape)} and target {list(target.shape)}{hint}"
            )
        if not target.is_floating_point():
            raise ValueError(
                f"binary cross-entropy needs a float target of 0s and 1s, got {target.dtype}; use y.float()"
            )
    elif kind == "regression" and output.shape != target.shape:
        hint = ""
        if output.dim() == 2 and output.shape[1] == 1 and target.dim() == 1:
            hint = (": the loss would broadcast [N, 1] against [N] to [N, N] and learn the mean; "
                    "use y.unsqueeze(1) (or output.squeeze(1))")
        elif output.dim() == 1 and target.dim() == 2 and target.shape[1] == 1:
            hint = ": use y.squeeze(1) (or output.unsqueeze(1))"
        raise ValueError(
            f"a regression loss needs output and target of the same shape; got output {list(output.shape)} "
            f"and target {list(target.shape)}{hint}"
        )


def check_loss_value(loss: Any) -> None:
    """The loss function must return one number as a 0-d tensor."""
    if isinstance(loss, torch.Tensor) and loss.dim() == 0:
        return
    shape = list(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
    raise ValueError(
        f"the loss function must return one number (a 0-d tensor), got {shape}; use reduction='mean' (the "
        "default)"
    )


def diagnose_loss_error(kind: str, loss_fn: Callable, output: Any, target: Any) -> None:
    """After the loss function raised: raise a clearer error when the cause is a known mistake."""
    check_output(kind, output, target)
    if kind == "classification" or (
        isinstance(output, torch.Tensor)
        and isinstance(target, torch.Tensor)
        and target.dim() == output.dim() - 1
    ):
        check_class_range(loss_fn, output, target)


def check_class_range(loss_fn: Callable, output: torch.Tensor, target: torch.Tensor) -> None:
    """Class indices must lie in [0, C); the diagnosis costs a device sync, so it runs only on demand."""
    if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
        return
    if target.is_floating_point() or output.dim() < 2 or target.numel() == 0:
        return
    classes = output.shape[1]
    ignore = getattr(loss_fn, "ignore_index", -100)
    labels = target[target != ignore]
    if labels.numel() == 0:
        return
    low, high = int(labels.min()), int(labels.max())
    if low >= 0 and high < classes:
        return
    message = (f"class indices must lie in 0..{classes - 1} for an output with {classes} classes, "
               f"got labels from {low} to {high}")
    if high == classes and low >= 1:
        message += ("; classes count from 0 in PyTorch (unlike R torch, where they count from 1): "
                    "subtract 1 from the labels")
    raise ValueError(message)
