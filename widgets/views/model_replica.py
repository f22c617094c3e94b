"""A model's weights kept for later and evaluated on a private copy of the model, never on the live one.

Keeping an epoch for the boundary's slider as its weights costs a copy of the
tensors (about 0.04 ms for the README's 8,642-parameter network), where
evaluating the epoch's 100 x 100 grid costs a forward pass of 10,000 points
(about 8 ms on one core). The decision boundary keeps epochs this way while a
run goes on and evaluates them when it stops, off the training loop. The copy
runs under the view's lock only: it shares nothing with the live model, so it
never waits for a training step.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

MAX_KEPT_BYTES = 64 * 2**20
"""Bytes of weights the kept epochs of one view may hold; a larger model has its epochs evaluated when
kept."""


def structure(model: nn.Module, state: dict[str, torch.Tensor]) -> tuple:
    """What a copy of the model must share with it to run its weights: module types, tensor names, shapes,
    dtypes, devices."""
    modules = tuple((name, type(module)) for name, module in model.named_modules())
    tensors = tuple((name, tuple(t.shape), t.dtype, t.device) for name, t in state.items())
    return modules, tensors


@dataclass(frozen=True)
class KeptWeights:
    """One moment's parameters and buffers, with the private copy of the model that runs them."""

    replica: nn.Module
    state: dict[str, torch.Tensor]

    def load(self) -> nn.Module:
        """The private copy with these weights in it (a copy shared by the weights of one structure)."""
        self.replica.load_state_dict(self.state)
        return self.replica


class ModelReplica:
    """Captures a model's weights cheaply; a deep copy of the model, made once per structure, evaluates them.

    The copy is made again when the model's modules or tensors change (an
    activation swapped, a layer added), so every kept moment runs with the
    modules it was trained with. `capture` returns None when the weights
    cannot be kept this way: the model cannot be deep-copied, or `keep` copies
    of its weights would pass `max_bytes` (default `MAX_KEPT_BYTES`).
    """

    def __init__(self, model: nn.Module, keep: int, max_bytes: int | None = None) -> None:
        self.model = model
        self.keep = keep
        self.max_bytes = MAX_KEPT_BYTES if max_bytes is None else max_bytes
        self._replica: nn.Module | None = None
        self._structure: tuple | None = None
        self._uncopyable: tuple | None = None

    def capture(self) -> KeptWeights | None:
        """The model's parameters and buffers now, copied; None when they are to be evaluated at once
        instead."""
        state = self.model.state_dict()
        if sum(t.numel() * t.element_size() for t in state.values()) * self.keep > self.max_bytes:
            return None
        shape = structure(self.model, state)
        if shape != self._structure:
            if shape == self._uncopyable:
                return None
            try:
                replica = copy.deepcopy(self.model)
            except Exception:  # a module holding something deepcopy refuses (a generator, a lock, a file)
                self._uncopyable = shape
                return None
            for parameter in replica.parameters():
                parameter.grad = None
            replica.requires_grad_(False)
            self._replica, self._structure = replica, shape
        with torch.no_grad():
            kept = {name: tensor.detach().clone() for name, tensor in state.items()}
        return KeptWeights(cast(nn.Module, self._replica), kept)  # made above when it was missing
