"""MNIST for the lessons: full from torchvision where there is network, the offline sample elsewhere."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from .mnist_sample import (
    DEFAULT_TRAIN,
    FULL_DESCRIPTION,
    IMAGE_BYTES,
    MARKER,
    default_data_dir,
    find_offline_mnist,
    prepare_offline_mnist,
    sample_description,
)

__all__ = ["TORCHVISION_FOR_TORCH", "import_torchvision", "mnist", "network_reachable"]

#: torch minor version -> the torchvision minor version built against it.
TORCHVISION_FOR_TORCH = {
    "2.5": "0.20",
    "2.6": "0.21",
    "2.7": "0.22",
    "2.8": "0.23",
    "2.9": "0.24",
    "2.10": "0.25",
    "2.11": "0.26",
    "2.12": "0.27",
    "2.13": "0.28",
    "2.14": "0.29",
}


# the ranges pyproject.toml allows
TORCH_RANGE = ">=2.13,<2.15"
VISION_RANGE = ">=0.28,<0.30"


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def import_torchvision():
    """Import torchvision, or explain a torch/torchvision mismatch with an ImportError."""
    try:
        import torchvision
    except Exception as err:  # a mismatched build fails with RuntimeError or OSError too
        try:
            vision = metadata.version("torchvision")
        except metadata.PackageNotFoundError:
            vision = None
        wanted = TORCHVISION_FOR_TORCH.get(_minor(torch.__version__), "the matching version")
        if vision is None:
            problem = f"torchvision is not installed (torch is {torch.__version__})"
        else:
            problem = f"torchvision {vision} does not load with torch {torch.__version__} ({err})"
        pypi_pair = f"pip install --upgrade 'torch{TORCH_RANGE}' 'torchvision{VISION_RANGE}'"
        if "+cpu" in torch.__version__:
            fix = (
                f"pip install 'torchvision=={wanted}.*' --index-url https://download.pytorch.org/whl/cpu "
                f"(the CPU pair), or {pypi_pair} (PyPI's pair)"
            )
        else:
            fix = pypi_pair
        raise ImportError(
            f"{problem}. torchvision must be the build made for this torch: torch "
            f"{_minor(torch.__version__)} pairs with torchvision {wanted}, and a '+cpu' torch needs a '+cpu' "
            f"torchvision. Fix: {fix}"
        ) from err
    return torchvision


_MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)


def network_reachable(address: tuple[str, int] = _MNIST_HOST, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds.

    Name resolution has no timeout of its own, so the probe runs in a daemon
    thread and is abandoned when the time is up.
    """
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(outcome and outcome[0])


def _full_mnist_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    sizes = {
        "train-images-idx3-ubyte": 16 + 60_000 * IMAGE_BYTES,
        "train-labels-idx1-ubyte": 8 + 60_000,
        "t10k-images-idx3-ubyte": 16 + 10_000 * IMAGE_BYTES,
        "t10k-labels-idx1-ubyte": 8 + 10_000,
    }
    return not (raw / MARKER).exists() and all(
        (raw / name).is_file() and (raw / name).stat().st_size == size for name, size in sizes.items()
    )


def mnist(root: str | os.PathLike | None = None, train: bool = True, transform: Callable | None = None,
          offline: bool | None = None) -> tuple[Any, str]:
    """MNIST for a lesson: ``(torchvision dataset, which data it is)``.

    The policy, chosen so a machine without network never waits on it:

    1. the full set when it is already under ``root`` (default `default_data_dir`);
    2. the offline sample when ``offline=True`` or ``LIVETORCH_OFFLINE=1``;
    3. otherwise, when an offline sample is found (`find_offline_mnist`), one TCP
       probe of the download host (2 s at most): the full download if it answers,
       else the sample, which is also the fallback when the download fails;
    4. with no offline sample around, torchvision's download, whose error is raised.

    The second value reads ``"full MNIST (60,000 train / 10,000 test)"`` or
    ``"offline sample (8,000 train / 2,000 test from the official test split)"``;
    the sample lives in ``root/offline-sample`` (see `prepare_offline_mnist`).
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    if offline not in (None, True, False):
        raise TypeError(f"offline must be True, False or None, got {offline!r}")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
    root = default_data_dir() if root is None else Path(root)
    torchvision = import_torchvision()
    forced = offline is True or (offline is None and os.environ.get("LIVETORCH_OFFLINE", "") == "1")

    if _full_mnist_present(root) and not forced:
        return torchvision.datasets.MNIST(root, train=train, transform=transform), FULL_DESCRIPTION
    source = find_offline_mnist()
    if not forced and (source is None or network_reachable()):
        try:
            dataset = torchvision.datasets.MNIST(root, train=train, transform=transform, download=True)
            return dataset, FULL_DESCRIPTION
        except (RuntimeError, OSError):  # torchvision's download errors
            if source is None:
                raise
    if source is None:
        raise FileNotFoundError(
            "the offline MNIST sample was asked for but none was found: set LIVETORCH_MNIST_DIR "
            "to a folder holding the official t10k-*-ubyte.gz files, or put it at ../shared/data/mnist"
        )
    sample_root = prepare_offline_mnist(source, root / "offline-sample", n_train=DEFAULT_TRAIN)
    dataset = torchvision.datasets.MNIST(sample_root, train=train, transform=transform, download=True)
    return dataset, sample_description(DEFAULT_TRAIN)
