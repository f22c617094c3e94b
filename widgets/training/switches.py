"""How a training step runs when it is more than zero_grad, forward, loss, backward, step.

`StepSwitches` holds the switches their users know from Lightning and Keras:
`clip_grad_norm` (clip the gradients' total norm before the optimizer step),
`accumulate=k` (one optimizer step per k batches, each batch's loss divided by k
as Lightning's `accumulate_grad_batches` does, the last partial group of an
epoch stepped at its end), `precision` ("32"; "bf16": autocast to bfloat16 on
the CPU or CUDA; "16-mixed": autocast to float16 on CUDA with a GradScaler),
optimizers that need a closure (LBFGS), and the callbacks' `on_before_step`
hooks, which may skip an optimizer step. Each does what the hand-written loop
does, in the same order, so the numbers are bitwise those of that loop.
"""

from __future__ import annotations

import inspect
import numbers
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import nn
from torch.amp.grad_scaler import _refresh_per_optimizer_state

PRECISIONS = ("32", "bf16", "16-mixed")


def needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    """Whether `optimizer.step` takes a closure it cannot do without (LBFGS does; SGD and Adam only may)."""
    try:
        parameter = inspect.signature(type(optimizer).step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.default is inspect.Parameter.empty


class StepSwitches:
    """The checked switches of one trainer, and the parts of a step they change."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        clip_grad_norm: Any,
        accumulate: Any,
        precision: Any,
        steps_per_epoch: int | None,
        before_step: Sequence[Callable[[dict], Any]],
    ) -> None:
        """Check every switch (raising before anything changes); `device` is where the model will run."""
        if clip_grad_norm is not None and (
            isinstance(clip_grad_norm, bool)
            or not isinstance(clip_grad_norm, numbers.Real)
            or not 0 < float(clip_grad_norm) < float("inf")
        ):
            raise ValueError(
                f"clip_grad_norm must be a positive finite number (the largest total gradient norm) or "
                f"None, got {clip_grad_norm!r}"
            )
        if (
            isinstance(accumulate, bool)
            or not isinstance(accumulate, numbers.Integral)
            or int(accumulate) < 1
        ):
            raise ValueError(
                f"accumulate must be a positive int (batches per optimizer step), got {accumulate!r}"
            )
        accumulate = int(accumulate)
        precision = (
            str(precision) if isinstance(precision, int) and not isinstance(precision, bool) else precision
        )
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        closure = needs_closure(optimizer)
        kind = device.type
        if precision == "16-mixed" and kind != "cuda":
            raise ValueError(
                f"precision='16-mixed' needs a CUDA device (float16 autocast with a GradScaler); the "
                f"model runs on {kind}: use precision='bf16' there, or '32'"
            )
        if precision == "bf16" and kind not in ("cpu", "cuda"):
            raise ValueError(f"precision='bf16' autocasts on the CPU or CUDA; the model runs on {kind}")
        if accumulate > 1 and steps_per_epoch is None:
            raise ValueError(
                "accumulate needs a training loader with a len, to step the last partial group at the "
                "epoch's end; this loader has no len"
            )
        if closure and accumulate > 1:
            raise ValueError(
                f"{type(optimizer).__name__} evaluates the loss several times per step through a closure; "
                f"it cannot accumulate gradients over batches: use accumulate=1, got {accumulate}"
            )
        if closure and precision == "16-mixed":
            raise ValueError(
                f"{type(optimizer).__name__} needs a closure, which a GradScaler cannot step; use "
                "precision='bf16' or '32'"
            )
        self.clip = None if clip_grad_norm is None else float(clip_grad_norm)
        self.accumulate = int(accumulate)
        self.precision = precision
        self.closure = closure
        self.before_step = list(before_step)
        self.device_type = kind
        self.autocast_dtype = {"bf16": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler(kind) if precision == "16-mixed" else None
        self.plain = (self.clip is None and self.accumulate == 1 and precision == "32" and not closure
                      and not self.before_step)

    def settings(self) -> dict[str, Any]:
        """What a checkpoint records of the switches (a trainer built otherwise refuses it)."""
        return {"clip_grad_norm": self.clip, "accumulate": self.accumulate, "precision": self.precision}

    def autocast(self) -> Any:
        """The autocast context of the precision ("32": one that changes nothing)."""
        if self.autocast_dtype is None:
            return _NO_AUTOCAST
        return torch.autocast(self.device_type, dtype=self.autocast_dtype)

    def steps_after(self, batch_number: int, steps_per_epoch: int | None) -> bool:
        """Whether the optimizer steps after this batch: every `accumulate` batches and at the epoch's
        last."""
        k = self.accumulate
        return k == 1 or batch_number % k == 0 or batch_number == steps_per_epoch

    def mid_group(self, batches_done: int) -> bool:
        """Whether gradients of an accumulation group not yet stepped are pending after `batches_done`
        batches."""
        return self.accumulate > 1 and batches_done % self.accumulate != 0

    def clear_or_keep_grads(self, parameters: list[nn.Parameter], optimizer: torch.optim.Optimizer,
                            batch_number: int) -> list:
        """Clear the gradients when this batch starts a group; return what a failed step puts back."""
        grads = [p.grad for p in parameters]
        if not self.mid_group(batch_number - 1):
            optimizer.zero_grad(set_to_none=True)
            return grads
        # Mid-group, backward adds into the gradients in place: keep copies to put back.
        return [None if grad is None else grad.clone() for grad in grads]

    def backward_and_step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        parameters: list[nn.Parameter],
        emit_backward: Callable[[dict], None],
        payload: dict[str, int],
        steps_per_epoch: int | None,
        evaluate: Callable[[], torch.Tensor],
    ) -> bool:
        """Backward, the "backward" event, and at a group's end clipping, the hooks and the optimizer step.

        `evaluate()` computes the loss again (forward and loss, no backward) for a closure optimizer's
        later calls. Returns whether the optimizer stepped.
        """
        self.backward(loss)
        stepping = self.steps_after(payload["batch"], steps_per_epoch)
        if stepping:
            self.unscale(optimizer)
        emit_backward(payload)
        if not stepping:
            return False
        if not self.clip_and_ask(parameters, payload):
            self.skipped_step()
            return False
        self.optimizer_step(
            optimizer, self.closure_for(loss, optimizer, parameters, evaluate) if self.closure else None
        )
        return True

    def closure_for(
        self,
        first_loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        parameters: list[nn.Parameter],
        evaluate: Callable[[], torch.Tensor],
    ) -> Callable[[], torch.Tensor]:
        """The closure an LBFGS-like optimizer calls: its first call returns the evaluation the step
        already made."""
        pending = [first_loss]

        def closure() -> torch.Tensor:
            if pending:
                return pending.pop()
            optimizer.zero_grad(set_to_none=True)
            with self.autocast():
                loss = evaluate()
            loss.backward()
            if self.clip is not None:
                nn.utils.clip_grad_norm_(parameters, self.clip)
            return loss

        return closure

    def backward(self, loss: torch.Tensor) -> None:
        """Backward of the loss divided by `accumulate`, scaled by the GradScaler in '16-mixed'."""
        if self.accumulate > 1:
            loss = loss / self.accumulate
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        loss.backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Gradients back to their true size before anything reads them ('16-mixed' only)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def clip_and_ask(self, parameters: list[nn.Parameter], payload: dict) -> bool:
        """Clip the gradients, then ask the `on_before_step` hooks; False when one of them skips the step."""
        if self.clip is not None:
            nn.utils.clip_grad_norm_(parameters, self.clip)
        go = True
        for hook in self.before_step:
            if hook(payload) is False:
                go = False
        return go

    def optimizer_step(
        self, optimizer: torch.optim.Optimizer, closure: Callable[[], torch.Tensor] | None
    ) -> None:
        """The optimizer step: through the GradScaler in '16-mixed', with the closure for LBFGS."""
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        elif closure is not None:
            # torch types a closure as returning a float; every optimizer also takes the loss tensor
            optimizer.step(cast(Callable[[], float], closure))
        else:
            optimizer.step()

    def rollback(self) -> None:
        """A step failed: a GradScaler that unscaled this step's gradients must not count them as unscaled."""
        if self.scaler is not None:
            # GradScaler keeps "unscale_ was called" per optimizer until update(); update() would also change
            # the scale, so only that record is reset, as update() itself resets it.
            self.scaler._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def skipped_step(self) -> None:
        """An optimizer step a hook skipped: the GradScaler still moves on, as after a skipped inf step."""
        if self.scaler is not None:
            self.scaler.update()

    def state_dict(self) -> dict[str, Any] | None:
        """The GradScaler's state ('16-mixed'), else None."""
        return None if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state is not None:
            self.scaler.load_state_dict(state)


class _NoAutocast:
    """A context that does nothing (cheaper than making a nullcontext per step)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_AUTOCAST = _NoAutocast()


def check_settings(saved: Any, own: dict[str, Any]) -> None:
    """A checkpoint's switches must be this trainer's: accumulated gradients or a scaler would not fit
    otherwise."""
    if saved is None:
        saved = {"clip_grad_norm": None, "accumulate": 1, "precision": "32"}
    if dict(saved) != own:
        raise ValueError(
            f"the checkpoint was made by a trainer with {dict(saved)}; this one has {own}: build the "
            "trainer with the same clip_grad_norm, accumulate and precision"
        )
