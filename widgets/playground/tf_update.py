"""TensorFlow Playground's update rule as a torch optimizer: plain SGD, then its L1 or L2 step, per weight."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from . import checks

KINDS = ("l1", "l2")


class TfSGD(torch.optim.Optimizer):
    """Plain SGD (no momentum) followed by TensorFlow Playground's regularization step, weight by weight.

    For each weight w with a gradient g (the batch's mean, as the loss is a
    mean): `w1 = w - lr * g`, then `w2 = w1 - lr * reg_rate * d(w)` with d the
    penalty's derivative at the weight before the step (L1: sign(w); L2: w).
    With L1, a weight that the penalty's step carries across zero
    (`w1 * w2 < 0`) becomes exactly 0 and is dead: it is never updated again
    (`dead(weight)` tells which). The weights are the parameters of two or more
    dimensions (an `nn.Linear`'s matrix); the biases take the plain SGD step
    only, never a penalty.

    `regularization` is None, "l1" or "l2"; `reg_rate` >= 0; `lr` > 0. Each
    is a parameter-group option, so `trainer.set_lr` reaches it. The dead
    weights are optimizer state: they travel in `state_dict()`.
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.03, regularization: str | None = None,
                 reg_rate: float = 0.0) -> None:
        lr = checks.real("lr", lr, 0.0, open_low=True)
        regularization = checks.choice("regularization", regularization, (None, *KINDS))
        reg_rate = checks.real("reg_rate", reg_rate, 0.0)
        super().__init__(params, {"lr": lr, "regularization": regularization, "reg_rate": reg_rate})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient; `closure`, if given, recomputes the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, kind, rate = float(group["lr"]), group["regularization"], group["reg_rate"]
            for weight in group["params"]:
                if weight.grad is None:
                    continue
                frozen = self._frozen(weight)
                if weight.dim() < 2 or (frozen is None and (kind is None or rate == 0)):
                    weight.add_(weight.grad, alpha=-lr)  # a bias, or no penalty: as torch.optim.SGD steps
                    continue
                before = weight.clone()
                stepped = before.add(weight.grad, alpha=-lr)
                if kind is not None and rate > 0:
                    slope = torch.sign(before) if kind == "l1" else before
                    penalised = stepped.add(slope, alpha=-(lr * rate))
                    if kind == "l1":
                        crossed = stepped * penalised < 0
                        penalised = torch.where(crossed, torch.zeros_like(penalised), penalised)
                        if frozen is not None:
                            crossed &= ~frozen
                        if bool(crossed.any()):
                            self.state[weight]["dead"] = crossed if frozen is None else crossed | frozen
                    stepped = penalised
                weight.copy_(stepped if frozen is None else torch.where(frozen, before, stepped))
        return loss

    def dead(self, weight: torch.Tensor) -> torch.Tensor:
        """Which entries of `weight` L1 has set to zero for good, as a bool tensor of its shape (a copy)."""
        dead = self._frozen(weight)
        return torch.zeros_like(weight, dtype=torch.bool) if dead is None else dead.clone()

    def _frozen(self, weight: torch.Tensor) -> torch.Tensor | None:
        """The dead mask as bool, or None while none is dead (`load_state_dict` casts the state to the
        weight's dtype: it is cast back here)."""
        dead = self.state[weight].get("dead") if weight in self.state else None
        if dead is not None and dead.dtype != torch.bool:
            dead = self.state[weight]["dead"] = dead != 0
        return dead
