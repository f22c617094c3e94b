"""One batch through the model and the loss, shared by the training step and evaluation.

`BatchRunner.inputs` unpacks a batch and moves it to the device;
`BatchRunner.output_and_loss` runs the model and the loss. Both explain the
usual mistakes (a batch on another device, class indices counted from 1, a
[N, 1] output against a [N] target, ...) when torch raises, so a good batch
pays almost nothing for the diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from . import checks, structure

_Tensor = torch.Tensor  # read on every batch: a global lookup is cheaper than an attribute chain


class BatchRunner:
    """Unpacks, moves and runs batches for one model, loss function and device."""

    def __init__(self, model: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer,
                 device: torch.device | None, batch_fn: Callable[[Any], Any] | None = None) -> None:
        self.batch_fn = batch_fn
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.device = device
        self.kind = checks.loss_kind(loss_fn)
        # Regression losses broadcast [N, 1] against [N] silently: checked ahead on every batch.
        self.check_ahead = checks.regression_shapes_agree if self.kind == "regression" else None
        # A class index out of range is a fatal device assert off the CPU: there it is checked on
        # every batch (when the device is not known in advance, the output says where it is).
        self.check_range = self.kind == "classification" and (device is None or device.type != "cpu")
        # One parameter, found again by name on every batch: cheap, and it notices a model
        # moved (or rebuilt) after construction.
        self.probe_owner, self.probe_name = first_parameter_slot(model)
        self.probe = self.live_probe()

    def live_probe(self) -> torch.Tensor:
        """The probe parameter as the model holds it now (moving or rebuilding the model can replace it)."""
        # the slot held a parameter when it was found, and a model sets a parameter slot to None only by hand
        return cast(torch.Tensor, self.probe_owner._parameters[self.probe_name])

    def inputs(self, batch: Any) -> tuple[Any, Any]:
        """(inputs, target) of a batch, on the device: `batch_fn(batch)` when given, else a pair or a
        dict with 'x' and 'y'."""
        if self.batch_fn is not None:
            x, y = checks.check_pair(self.batch_fn(batch), batch)
        elif (type(batch) is tuple or type(batch) is list) and len(batch) == 2:
            x, y = batch
        else:
            x, y = checks.unpack_batch(batch)
        device = self.device
        if device is not None:
            x = x.to(device) if type(x) is _Tensor else structure.to_device(x, device)
            y = y.to(device) if type(y) is _Tensor else structure.to_device(y, device)
        return x, y

    def output_and_loss(self, x: Any, y: Any) -> tuple[Any, torch.Tensor]:
        """The model's output for `x` and the loss against `y`; a clear error for the usual mistakes."""
        probe = self.live_probe()
        if probe is not self.probe:
            checks.check_devices(probe, x)
            checks.check_same_parameters(self.model, self.optimizer)
            self.probe = probe
        try:
            output = self.model(x) if type(x) is _Tensor else structure.call_model(self.model, x)
        except Exception as error:
            checks.check_not_numpy(x, y)
            checks.check_forward_arguments(error)
            checks.check_devices(probe, x)  # a clearer error when the batch is on another device
            try:
                checks.check_dtypes(probe, x)
            except TypeError as clearer:
                raise clearer from error
            if "Expected more than 1 value per channel when training" in str(error):
                raise ValueError(
                    f"{error}: a batch of one sample cannot go through BatchNorm in training mode; give the "
                    "DataLoader drop_last=True, or discard this batch with trainer.skip_batch()"
                ) from error
            raise
        if self.check_ahead is not None and not self.check_ahead(output, y):
            checks.check_output(self.kind, output, y)  # raises the clear error
        if self.check_range and type(output) is _Tensor and not output.is_cpu:
            checks.check_class_range(self.loss_fn, output, y)
        try:
            loss = self.loss_fn(output, y)
        except Exception as error:
            checks.check_not_numpy(x, y)
            checks.check_devices(probe, x)
            checks.diagnose_loss_error(self.kind, self.loss_fn, output, y)
            raise error
        return output, loss


def loss_number(loss: Any) -> float:
    """The loss as a Python float; refuses anything but one number (reduction='none', a list, ...)."""
    if type(loss) is not _Tensor:
        checks.check_loss_value(loss)
    try:
        return loss.item()
    except Exception:
        checks.check_loss_value(loss)
        raise


def batch_size(y: Any, x: Any) -> int:
    """How many samples a batch holds: the first dimension of its target, else of its inputs (tensors inside
    tuples and dicts count; a PackedSequence counts its sequences)."""
    if type(y) is _Tensor:
        try:
            return len(y)
        except TypeError:  # a 0-d target: one sample (a DataLoader with batch_size=None)
            return 1
    for value in (y, x):
        count = structure.count_samples(value)
        if count is not None:
            return count
    try:
        return len(y)
    except TypeError:
        return 1


def first_parameter_slot(model: nn.Module) -> tuple[nn.Module, str]:
    """The module and name of the model's first parameter."""
    for module in model.modules():
        for name, parameter in module._parameters.items():
            if parameter is not None:
                return module, name
    raise ValueError("the model has no parameters to train")
