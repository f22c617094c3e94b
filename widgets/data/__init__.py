"""Data for the lessons: the two-spirals problem and its Dataset (`spiral_data`), MNIST (`mnist_data`) and its
offline sample (`mnist_sample`, which loads without torch).

The public names load lazily (PEP 562): `from widgets.data import find_offline_mnist` imports no torch.
"""

from __future__ import annotations

from ..lazy import lazy_names

_PUBLIC = {
    "spirals": ".spiral_data",
    "SpiralDataset": ".spiral_data",
    "spiral_datasets": ".spiral_data",
    "prepare_offline_mnist": ".mnist_sample",
    "find_offline_mnist": ".mnist_sample",
    "default_data_dir": ".mnist_sample",
    "FULL_DESCRIPTION": ".mnist_sample",
    "mnist": ".mnist_data",
    "import_torchvision": ".mnist_data",
    "network_reachable": ".mnist_data",
    "TORCHVISION_FOR_TORCH": ".mnist_data",
    "TORCH_RANGE": ".mnist_data",
    "VISION_RANGE": ".mnist_data",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())

