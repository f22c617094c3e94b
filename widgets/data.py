"""Data for the lessons: the two-spirals problem, its Dataset, and MNIST.

MNIST comes in full from torchvision where there is network, and otherwise as
an offline sample built from the official 10,000-image test split (see
`prepare_offline_mnist` and `mnist`).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import numbers
import os
import socket
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

__all__ = [
    "spirals",
    "SpiralDataset",
    "spiral_datasets",
    "prepare_offline_mnist",
    "find_offline_mnist",
    "default_data_dir",
    "mnist",
    "import_torchvision",
    "TORCHVISION_FOR_TORCH",
]


# --------------------------------------------------------------------------
# argument checks


def _count(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value


def _real(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a finite number > 0" if positive else "a finite number >= 0"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def _generator(seed: Any) -> torch.Generator | None:
    """A seeded generator, or None for torch's global RNG."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    return torch.Generator().manual_seed(int(seed))


# --------------------------------------------------------------------------
# the two spirals (mlbench.spirals)


def _one_spiral(m: int, cycles: float, sd: float, generator: torch.Generator | None) -> torch.Tensor:
    """m points along one spiral arm, w = 0, c/m, 2c/m, ..., (m-1)c/m."""
    w = torch.arange(m, dtype=torch.float64) * (cycles / m)
    angle = 2 * math.pi * w
    radius = (2 * w + 1) / 3
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    if sd > 0:
        shift = torch.randn(m, dtype=torch.float64, generator=generator) * sd
        # tangent of the curve (up to a factor 2/3); the noise moves along its normal
        xs = torch.cos(angle) - math.pi * (2 * w + 1) * torch.sin(angle)
        ys = torch.sin(angle) + math.pi * (2 * w + 1) * torch.cos(angle)
        norm = torch.hypot(xs, ys)
        points += shift[:, None] * torch.stack([ys / norm, -xs / norm], dim=1)
    return points


def _spirals(n: int, cycles: float, sd: float, generator: torch.Generator | None):
    # As mlbench: n // 2 random positions hold the second class (the negated
    # spiral, its points in the order the positions were drawn); the rest hold
    # the first class in index order. Each arm has its own w grid, so for odd n
    # the first arm has one point more and a slightly finer grid.
    second = torch.randperm(n, generator=generator)[: n // 2]
    y = torch.zeros(n, dtype=torch.int64)
    y[second] = 1
    first = torch.nonzero(y == 0).squeeze(1)
    x = torch.empty(n, 2, dtype=torch.float64)
    x[first] = _one_spiral(len(first), cycles, sd, generator)
    x[second] = -_one_spiral(len(second), cycles, sd, generator)
    return x.to(torch.float32), y


def spirals(n: int, cycles: float = 1, sd: float = 0.0, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The two-spirals problem of R's ``mlbench.spirals``, same geometry.

    Returns ``(x, y)``: ``x`` float32 ``[n, 2]``, ``y`` int64 ``[n]`` with classes
    0 and 1 (mlbench's 1 and 2). Class 1 holds ``n // 2`` points at random
    positions and is the negated spiral. Each arm is
    ``((2w+1) cos(2πw) / 3, (2w+1) sin(2πw) / 3)`` for ``w = 0, c/m, 2c/m, ...``
    with ``m`` the arm's number of points and ``c = cycles``; ``sd > 0`` moves
    every point by a normal draw of that sd along the curve's unit normal.

    ``seed`` makes the data reproducible on its own; ``None`` draws from torch's
    global RNG, so ``torch.manual_seed`` at the top of a lesson fixes it.
    """
    n = _count("n", n, minimum=2)
    cycles = _real("cycles", cycles, positive=True)
    sd = _real("sd", sd, positive=False)
    return _spirals(n, cycles, sd, _generator(seed))


def _indices(indices: Any, length: int) -> torch.Tensor:
    """A 1-D int64 tensor of valid (non-negative) positions."""
    try:
        index = torch.as_tensor(indices)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"indices must be a sequence of ints, got {type(indices).__name__}") from err
    if index.dim() != 1 or not (index.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
                                or index.numel() == 0):
        raise TypeError(
            f"indices must be a 1-D sequence of ints, got shape {list(index.shape)} of {index.dtype}"
        )
    index = index.to(torch.int64)
    if index.numel() and (index.min() < -length or index.max() >= length):
        bad = index[(index < -length) | (index >= length)][0].item()
        raise IndexError(f"index {bad} is out of range for a dataset of {length} items")
    return torch.where(index < 0, index + length, index)


class SpiralDataset(Dataset):
    """Points and classes of a 2-D classification problem, as a torch Dataset.

    Each item is ``{"x": float32 tensor [2], "y": int64 scalar tensor}``.
    ``__getitems__`` serves a whole batch of indices with one gather (the
    DataLoader's default collate then stacks the samples); ``get_batch`` (and
    indexing with a list of indices) gives the stacked ``{"x": [B, 2], "y": [B]}``
    directly, so ``DataLoader(ds, batch_size=None, sampler=BatchSampler(...))``
    yields the same batches without collating at all.
    """

    def __init__(self, x: Any, y: Any) -> None:
        x = torch.as_tensor(x)
        y = torch.as_tensor(y)
        if x.dim() != 2 or x.shape[1] != 2 or not x.is_floating_point():
            raise ValueError(f"x must be a float tensor of shape [N, 2], got {x.dtype} of shape {list(x.shape)}")
        if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise ValueError(f"y must be an integer tensor of shape [N], got {y.dtype} of shape {list(y.shape)}")
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of points, got {len(x)} and {len(y)}")
        self.x = x.to(torch.float32).contiguous()
        self.y = y.to(torch.int64).contiguous()

    @classmethod
    def generate(cls, n: int = 500, cycles: float = 1, sd: float = 0.0, seed: int | None = None) -> SpiralDataset:
        """A dataset of ``spirals(n, cycles, sd, seed)``."""
        return cls(*spirals(n, cycles=cycles, sd=sd, seed=seed))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: Any) -> dict[str, torch.Tensor]:
        whole_number = isinstance(index, numbers.Integral) and not isinstance(index, bool)
        integer_scalar = isinstance(index, torch.Tensor) and index.dim() == 0 and not index.is_floating_point()
        if whole_number or integer_scalar:
            position = int(index)
        else:
            return self.get_batch(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"index {position} is out of range for a dataset of {len(self)} items")
        return {"x": self.x[position], "y": self.y[position]}

    def get_batch(self, indices: Any) -> dict[str, torch.Tensor]:
        """The items at ``indices`` stacked: ``{"x": [B, 2], "y": [B]}``."""
        index = _indices(indices, len(self))
        return {"x": self.x[index], "y": self.y[index]}

    def __getitems__(self, indices: Any) -> list[dict[str, torch.Tensor]]:
        # torch's DataLoader hands what this returns to its collate_fn, and
        # default_collate expects a list of samples; so the batch is gathered
        # once and handed back as one sample per index.
        batch = self.get_batch(indices)
        return [{"x": x, "y": y} for x, y in zip(batch["x"], batch["y"])]

    def split(self, n_train: int, seed: int | None = None) -> tuple[SpiralDataset, SpiralDataset]:
        """A random ``(train, valid)`` split: ``n_train`` items, then the rest."""
        return self._split(n_train, _generator(seed))

    def _split(self, n_train: Any, generator: torch.Generator | None):
        n_train = _count("n_train", n_train, minimum=1, maximum=len(self) - 1)
        order = torch.randperm(len(self), generator=generator)
        train, valid = order[:n_train], order[n_train:]
        return type(self)(self.x[train], self.y[train]), type(self)(self.x[valid], self.y[valid])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} points, classes {torch.unique(self.y).tolist()})"


def spiral_datasets(
    n: int = 500, sd: float = 0.1, n_train: int = 400, cycles: float = 1, seed: int | None = 0
) -> tuple[SpiralDataset, SpiralDataset]:
    """Spirals split into ``(train, valid)``, as in the R lesson (500 points, sd 0.1, 400/100).

    One seed fixes both the points and the split; ``seed=None`` uses torch's global RNG.
    """
    n = _count("n", n, minimum=2)
    cycles = _real("cycles", cycles, positive=True)
    sd = _real("sd", sd, positive=False)
    _count("n_train", n_train, minimum=1, maximum=n - 1)
    generator = _generator(seed)
    return SpiralDataset(*_spirals(n, cycles, sd, generator))._split(n_train, generator)


# --------------------------------------------------------------------------
# torchvision, loaded only when MNIST is asked for

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
_TORCH_RANGE = ">=2.13,<2.15"
_VISION_RANGE = ">=0.28,<0.30"


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
        pypi_pair = f"pip install --upgrade 'torch{_TORCH_RANGE}' 'torchvision{_VISION_RANGE}'"
        if "+cpu" in torch.__version__:
            fix = (
                f"pip install 'torchvision=={wanted}.*' --index-url https://download.pytorch.org/whl/cpu "
                f"(the CPU pair), or {pypi_pair} (PyPI's pair)"
            )
        else:
            fix = pypi_pair
        raise ImportError(
            f"{problem}. torchvision must be the build made for this torch: torch {_minor(torch.__version__)} "
            f"pairs with torchvision {wanted}, and a '+cpu' torch needs a '+cpu' torchvision. Fix: {fix}"
        ) from err
    return torchvision


# --------------------------------------------------------------------------
# MNIST: the offline sample

# The source files: name, md5 of the uncompressed content, IDX magic number.
_SOURCE = {
    "images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", 2051),
    "labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", 2049),
}
_SOURCE_COUNT = 10_000
_IMAGE_BYTES = 28 * 28
_MARKER = "LIVETORCH_OFFLINE_SAMPLE.txt"
_DEFAULT_TRAIN = 8000
FULL_DESCRIPTION = "full MNIST (60,000 train / 10,000 test)"


def _repo_root() -> Path | None:
    """The checkout this package runs from (an editable install), if any."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "widgets").is_dir() else None


def default_data_dir() -> Path:
    """Where downloaded and prepared data go: ``LIVETORCH_DATA_DIR``, else the checkout's
    ``data/`` folder (ignored by git), else ``./data``."""
    if os.environ.get("LIVETORCH_DATA_DIR"):
        return Path(os.environ["LIVETORCH_DATA_DIR"])
    root = _repo_root()
    return root / "data" if root is not None else Path("data")


def find_offline_mnist() -> Path | None:
    """The folder holding the official test split for the offline sample, or None.

    ``LIVETORCH_MNIST_DIR`` when set (it must exist); otherwise ``shared/data/mnist``
    beside the checkout (``../shared`` from the repository), or beside any folder
    above the working directory.
    """
    configured = os.environ.get("LIVETORCH_MNIST_DIR")
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise FileNotFoundError(f"LIVETORCH_MNIST_DIR is {configured!r}, which is not a folder")
        return path
    places = []
    root = _repo_root()
    if root is not None:
        places.append(root)
    places += [Path.cwd(), *Path.cwd().parents]
    for place in places:
        candidate = place.parent / "shared" / "data" / "mnist"
        if (candidate / (_SOURCE["labels"][0] + ".gz")).is_file() or (candidate / _SOURCE["labels"][0]).is_file():
            return candidate
    return None


def _read_source(folder: Path, kind: str) -> bytes:
    name, md5, magic = _SOURCE[kind]
    if (folder / name).is_file():
        content = (folder / name).read_bytes()
    elif (folder / (name + ".gz")).is_file():
        content = gzip.decompress((folder / (name + ".gz")).read_bytes())
    else:
        raise FileNotFoundError(f"{folder} holds neither {name}.gz nor {name}")
    digest = hashlib.md5(content).hexdigest()
    if digest != md5:
        raise ValueError(f"{name} in {folder} is not the official MNIST test split: md5 {digest}, expected {md5}")
    header = (magic, _SOURCE_COUNT, 28, 28) if kind == "images" else (magic, _SOURCE_COUNT)
    found = tuple(int.from_bytes(content[4 * i : 4 * i + 4], "big") for i in range(len(header)))
    if found != header:
        raise ValueError(f"{name} in {folder} has IDX header {found}, expected {header}")
    return content


def _idx(magic: int, count: int, body: bytes, image: bool) -> bytes:
    dims = [magic, count] + ([28, 28] if image else [])
    return b"".join(d.to_bytes(4, "big") for d in dims) + body


def _write_atomically(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)


def _sample_description(n_train: int) -> str:
    return (
        f"offline sample ({n_train:,} train / {_SOURCE_COUNT - n_train:,} test "
        "from the official test split)"
    )


def prepare_offline_mnist(source: str | os.PathLike | None = None, root: str | os.PathLike | None = None,
                          n_train: int = _DEFAULT_TRAIN) -> Path:
    """Write the offline MNIST sample as a torchvision MNIST folder; return its root.

    Reads the official 10,000-image test split (``t10k-*-idx?-ubyte.gz``, md5 of the
    content checked) from ``source`` (default: `find_offline_mnist`), and writes
    ``root/MNIST/raw/`` with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` and their ``.gz`` twins,
    so ``torchvision.datasets.MNIST(root, train=..., download=True)`` finds
    everything and never downloads. ``root`` defaults to
    ``default_data_dir() / "offline-sample"``.

    The split is fixed: the first ``n_train`` images are the training part, the
    rest the test part. With the default 8,000 / 2,000 the digits 0..9 count
    773 905 834 803 788 723 756 813 787 818 in training and
    207 230 198 207 194 169 202 215 187 191 in the test part
    (the whole split: 980 1135 1032 1010 982 892 958 1028 974 1009).
    A second call with the same split leaves the files as they are.
    """
    n_train = _count("n_train", n_train, minimum=1, maximum=_SOURCE_COUNT - 1)
    source = find_offline_mnist() if source is None else Path(source)
    if source is None:
        raise FileNotFoundError(
            "no offline MNIST found: set LIVETORCH_MNIST_DIR to a folder holding "
            "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, or put it at ../shared/data/mnist"
        )
    if not Path(source).is_dir():
        raise FileNotFoundError(f"source {str(source)!r} is not a folder")
    root = default_data_dir() / "offline-sample" if root is None else Path(root)
    resolved_source = Path(source).resolve()
    if root.resolve() == resolved_source or resolved_source in root.resolve().parents:
        raise ValueError(f"root {str(root)!r} lies inside the source folder {str(source)!r}, which is read-only input")
    raw = root / "MNIST" / "raw"
    marker = raw / _MARKER
    stamp = f"{_sample_description(n_train)}\nn_train={n_train}\n"
    names = [f"{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte" for part in ("train", "t10k")
             for kind in ("images", "labels")]
    if marker.is_file() and marker.read_text() == stamp and all((raw / n).is_file() for n in names):
        return root

    images = _read_source(Path(source), "images")[16:]
    labels = _read_source(Path(source), "labels")[8:]
    parts = {
        "train": (images[: n_train * _IMAGE_BYTES], labels[:n_train], n_train),
        "t10k": (images[n_train * _IMAGE_BYTES :], labels[n_train:], _SOURCE_COUNT - n_train),
    }
    raw.mkdir(parents=True, exist_ok=True)
    if marker.exists():
        marker.unlink()
    for part, (image_body, label_body, count) in parts.items():
        for kind, body, magic in (("images", image_body, 2051), ("labels", label_body, 2049)):
            name = f"{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            content = _idx(magic, count, body, image=kind == "images")
            _write_atomically(raw / name, content)
            _write_atomically(raw / (name + ".gz"), gzip.compress(content, compresslevel=6, mtime=0))
    # the marker last: its presence means the folder is complete
    _write_atomically(marker, stamp.encode())
    return root


# --------------------------------------------------------------------------
# MNIST for lessons: full where there is network, the offline sample elsewhere

_MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)


def _network_reachable(address: tuple[str, int] = _MNIST_HOST, timeout: float = 2.0) -> bool:
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
        "train-images-idx3-ubyte": 16 + 60_000 * _IMAGE_BYTES,
        "train-labels-idx1-ubyte": 8 + 60_000,
        "t10k-images-idx3-ubyte": 16 + 10_000 * _IMAGE_BYTES,
        "t10k-labels-idx1-ubyte": 8 + 10_000,
    }
    return not (raw / _MARKER).exists() and all(
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
    if not forced and (source is None or _network_reachable()):
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
    sample_root = prepare_offline_mnist(source, root / "offline-sample", n_train=_DEFAULT_TRAIN)
    dataset = torchvision.datasets.MNIST(sample_root, train=train, transform=transform, download=True)
    return dataset, _sample_description(_DEFAULT_TRAIN)
