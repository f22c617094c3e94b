"""L1 and L2 regularization as a trainer callback that works on the gradients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from . import checks

KINDS = ("l1", "l2")


class WeightPenalty:
    """Adds the gradient of an L1 or L2 penalty on the weights between backward and the optimizer step.

    `WeightPenalty("l1", rate)` adds `rate * sign(w)` to each weight's gradient
    (the gradient of `rate * sum |w|`); `WeightPenalty("l2", rate)` adds
    `rate * w` (the gradient of `rate * sum w^2 / 2`). The weights are the
    trainable parameters of two or more dimensions (a Linear's weight matrix),
    never the biases. The trainer's recorded losses stay the data loss, as the
    Playground shows them. Give it to one trainer:
    `Trainer(..., callbacks=[WeightPenalty("l2", 0.01)])`. `kind` and `rate`
    may be changed while training; a weight without a gradient (unused in the
    step) is left alone, as the optimizer leaves it.
    """

    def __init__(self, kind: str = "l2", rate: float = 0.001) -> None:
        self.kind = kind
        self.rate = rate
        self.trainer: Any = None
        self.weights: list[torch.Tensor] = []

    @property
    def kind(self) -> str:
        """'l1' or 'l2'."""
        return self._kind

    @kind.setter
    def kind(self, kind: str) -> None:
        self._kind = checks.choice("kind", kind, KINDS)

    @property
    def rate(self) -> float:
        """The regularization rate, a finite number >= 0 (0 changes nothing)."""
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        self._rate = checks.real("rate", rate, 0.0)

    def attach(self, trainer: Any) -> None:
        """Take the weights of `trainer.model` (called by the trainer when it takes this callback)."""
        if self.trainer is not None and self.trainer is not trainer:
            raise ValueError("this WeightPenalty already works for another trainer; make one per trainer")
        self.trainer = trainer
        self.weights = [p for p in trainer.model.parameters() if p.requires_grad and p.dim() > 1]

    def on_backward(self, payload: Mapping[str, Any]) -> None:
        """Add the penalty's gradient to every weight's gradient."""
        if self.trainer is None:
            raise RuntimeError("WeightPenalty has no weights yet: give it to a trainer, "
                               "Trainer(..., callbacks=[penalty])")
        kind, rate = self._kind, self._rate  # read once: a live change lands between steps, not half-way
        if rate == 0:
            return
        with torch.no_grad():
            for weight in self.weights:
                if weight.grad is not None:
                    weight.grad.add_(torch.sign(weight) if kind == "l1" else weight, alpha=rate)

    def __repr__(self) -> str:
        return f"WeightPenalty({self._kind!r}, rate={self._rate!r})"
