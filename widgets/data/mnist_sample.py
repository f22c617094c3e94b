"""MNIST's offline sample: where the official test split lies, and the sample made from it (no torch needed).

The sample splits the official 10,000-image test split into 8,000 training and
2,000 test images, written in MNIST's own file format where torchvision reads
MNIST, so a machine without network runs the MNIST lessons.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from .checks import count

__all__ = ["FULL_DESCRIPTION", "default_data_dir", "find_offline_mnist", "prepare_offline_mnist"]

# The source files: name, md5 of the uncompressed content, IDX magic number.
_SOURCE = {
    "images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", 2051),
    "labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", 2049),
}
_SOURCE_COUNT = 10_000
IMAGE_BYTES = 28 * 28
MARKER = "LIVETORCH_OFFLINE_SAMPLE.txt"
DEFAULT_TRAIN = 8000
FULL_DESCRIPTION = "full MNIST (60,000 train / 10,000 test)"


def _repo_root() -> Path | None:
    """The checkout this package runs from (an editable install), if any."""
    root = Path(__file__).resolve().parents[2]
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
        if (candidate / (_SOURCE["labels"][0] + ".gz")).is_file() or (
            candidate / _SOURCE["labels"][0]
        ).is_file():
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
        raise ValueError(
            f"{name} in {folder} is not the official MNIST test split: md5 {digest}, expected {md5}"
        )
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


def sample_description(n_train: int) -> str:
    return (
        f"offline sample ({n_train:,} train / {_SOURCE_COUNT - n_train:,} test "
        "from the official test split)"
    )


def prepare_offline_mnist(source: str | os.PathLike | None = None, root: str | os.PathLike | None = None,
                          n_train: int = DEFAULT_TRAIN) -> Path:
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
    n_train = count("n_train", n_train, minimum=1, maximum=_SOURCE_COUNT - 1)
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
        raise ValueError(
            f"root {str(root)!r} lies inside the source folder {str(source)!r}, which is read-only input"
        )
    raw = root / "MNIST" / "raw"
    marker = raw / MARKER
    stamp = f"{sample_description(n_train)}\nn_train={n_train}\n"
    names = [f"{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte" for part in ("train", "t10k")
             for kind in ("images", "labels")]
    if marker.is_file() and marker.read_text() == stamp and all((raw / n).is_file() for n in names):
        return root

    images = _read_source(Path(source), "images")[16:]
    labels = _read_source(Path(source), "labels")[8:]
    parts = {
        "train": (images[: n_train * IMAGE_BYTES], labels[:n_train], n_train),
        "t10k": (images[n_train * IMAGE_BYTES :], labels[n_train:], _SOURCE_COUNT - n_train),
    }
    raw.mkdir(parents=True, exist_ok=True)
    if marker.exists():
        marker.unlink()
    for part, (image_body, label_body, images_in_part) in parts.items():
        for kind, body, magic in (("images", image_body, 2051), ("labels", label_body, 2049)):
            name = f"{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            content = _idx(magic, images_in_part, body, image=kind == "images")
            _write_atomically(raw / name, content)
            _write_atomically(raw / (name + ".gz"), gzip.compress(content, compresslevel=6, mtime=0))
    # the marker last: its presence means the folder is complete
    _write_atomically(marker, stamp.encode())
    return root
