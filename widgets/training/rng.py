"""Every random state training depends on: captured cheaply, restored, and saved as
`torch.load(weights_only=True)` reads it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch


@dataclass(frozen=True)
class RandomState:
    """torch's CPU generator, CUDA's (when used), Python's `random`, numpy's global RNG, and a loader's
    own generators."""

    torch_state: torch.Tensor
    cuda_states: list[torch.Tensor] | None
    python_state: tuple | None
    numpy_state: tuple | None
    generator_states: list[torch.Tensor]

    def restore(self, generators: Sequence[torch.Generator] = ()) -> None:
        """Put every generator back as it was captured."""
        if len(self.generator_states) != len(generators):
            raise ValueError(
                f"the random state holds {len(self.generator_states)} data-loader generator(s); "
                f"this trainer's loader has {len(generators)}"
            )
        torch.set_rng_state(self.torch_state)
        if self.cuda_states is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.cuda_states)
        if self.python_state is not None:
            random.setstate(self.python_state)
        if self.numpy_state is not None:
            np.random.set_state(self.numpy_state)
        for generator, state in zip(generators, self.generator_states):
            generator.set_state(state)

    def check_fits(self, generators: Sequence[torch.Generator] = ()) -> None:
        """Raise a ValueError unless `restore(generators)` will work: every state of the right kind
        and size."""
        if len(self.generator_states) != len(generators):
            raise ValueError(
                f"the checkpoint's random state holds {len(self.generator_states)} data-loader generator(s); "
                f"this trainer's loader has {len(generators)}"
            )
        expected = torch.get_rng_state().numel()
        if self.torch_state.numel() != expected:
            raise ValueError(
                f"the saved torch random state has {self.torch_state.numel()} bytes, expected {expected}"
            )
        for index, (generator, state) in enumerate(zip(generators, self.generator_states)):
            if not isinstance(state, torch.Tensor) or state.numel() != generator.get_state().numel():
                raise ValueError(f"the saved state of data-loader generator {index} does not fit it")
        if self.python_state is not None and len(self.python_state[1]) != len(random.getstate()[1]):
            raise ValueError(f"the saved Python random state has {len(self.python_state[1])} words, "
                             f"expected {len(random.getstate()[1])}")
        if self.numpy_state is not None and len(self.numpy_state[1]) != len(_numpy_state()[1]):
            raise ValueError(f"the saved numpy random state has {len(self.numpy_state[1])} keys, "
                             f"expected {len(_numpy_state()[1])}")

    def to_dict(self) -> dict[str, Any]:
        """Tensors, lists and numbers only."""
        python = numpy = None
        if self.python_state is not None:
            version, internal, gauss = self.python_state
            python = {
                "version": version,
                "internal": torch.tensor(internal, dtype=torch.int64),
                "gauss": gauss,
            }
        if self.numpy_state is not None:
            kind, keys, pos, has_gauss, cached = self.numpy_state
            numpy = {
                "kind": kind,
                "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            }
        return {"torch": self.torch_state, "cuda": self.cuda_states, "python": python, "numpy": numpy,
                "generators": list(self.generator_states)}

    @classmethod
    def from_dict(cls, state: Any) -> RandomState:
        """The inverse of `to_dict`; raises ValueError for anything else."""
        if not isinstance(state, dict) or not {"torch", "python", "numpy", "generators"} <= set(state):
            raise ValueError("a random state must be a dict with 'torch', 'python', 'numpy' and 'generators' "
                             "(from the trainer's state_dict())")
        if not isinstance(state["torch"], torch.Tensor) or state["torch"].dtype != torch.uint8:
            raise ValueError("the saved torch random state must be a uint8 tensor")
        python, numpy = state["python"], state["numpy"]
        return cls(
            torch_state=state["torch"],
            cuda_states=state.get("cuda"),
            python_state=None if python is None else
            (python["version"], tuple(int(v) for v in python["internal"].tolist()), python["gauss"]),
            numpy_state=None if numpy is None else
            (numpy["kind"], numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
             numpy["cached_gaussian"]),
            generator_states=list(state["generators"]),
        )


def _numpy_state() -> tuple:
    """numpy's global random state in its legacy tuple form (kind, keys, pos, has_gauss, cached_gaussian)."""
    # the default (legacy=True) gives the tuple for the Mersenne Twister; numpy's stubs pick the dict overload
    return cast(tuple, np.random.get_state())


def capture(generators: Sequence[torch.Generator] = (), cuda: bool = False) -> RandomState:
    """The current state of every generator (copies; later draws do not change it)."""
    return RandomState(
        torch_state=torch.get_rng_state(),
        cuda_states=torch.cuda.get_rng_state_all() if cuda else None,
        python_state=random.getstate(),
        numpy_state=_numpy_state(),
        generator_states=[generator.get_state() for generator in generators],
    )


def capture_torch(generators: Sequence[torch.Generator] = ()) -> RandomState:
    """Only torch's CPU generator and `generators`: what making a DataLoader iterator draws from.

    Python's and numpy's generators take tens of microseconds to read, too much
    for every epoch of a small problem.
    """
    return RandomState(
        torch.get_rng_state(), None, None, None, [generator.get_state() for generator in generators]
    )


def loader_generators(loader: object) -> list[torch.Generator]:
    """The distinct torch generators a DataLoader draws from besides the global one (its own, its
    sampler's)."""
    found: list[torch.Generator] = []
    candidates = [
        getattr(loader, "generator", None),
        getattr(getattr(loader, "sampler", None), "generator", None),
        getattr(getattr(getattr(loader, "batch_sampler", None), "sampler", None), "generator", None),
    ]
    for candidate in candidates:
        if isinstance(candidate, torch.Generator) and all(candidate is not g for g in found):
            found.append(candidate)
    return found
