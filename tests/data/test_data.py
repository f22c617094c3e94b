"""widgets.data: the spirals, their Dataset and split, the offline MNIST sample."""

import builtins
import gzip
import hashlib
import math
import os
import shutil
import socket
import time
from pathlib import Path

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

from widgets import data
from widgets.data import SpiralDataset, prepare_offline_mnist, spiral_datasets, spirals
from widgets.data.mnist_sample import default_data_dir

# the official test split, found as the lessons find it (../shared/data/mnist or LIVETORCH_MNIST_DIR)
SHARED_MNIST = data.find_offline_mnist()


def arm(m, cycles=1.0):
    """The noiseless first arm with m points, computed in float64 from the formula."""
    w = torch.arange(m, dtype=torch.float64) * cycles / m
    r = (2 * w + 1) / 3
    return torch.stack([r * torch.cos(2 * math.pi * w), r * torch.sin(2 * math.pi * w)], 1), w


def by_radius(points):
    return points[torch.argsort(points.norm(dim=1))]


# --------------------------------------------------------------------------
# spirals


@pytest.mark.parametrize("n, cycles", [(500, 1), (7, 1), (301, 2.5)])
def test_noiseless_points_lie_on_the_two_arms(n, cycles):
    x, y = spirals(n, cycles=cycles, seed=3)
    first, second = x[y == 0].double(), x[y == 1].double()
    # mlbench: n // 2 points in the second class, each arm on its own w grid
    assert len(second) == n // 2 and len(first) == n - n // 2
    expected_first, w = arm(len(first), cycles)
    torch.testing.assert_close(first, expected_first, atol=1e-6, rtol=0)
    assert torch.allclose(first.norm(dim=1), (2 * w + 1) / 3, atol=1e-6)
    # the second class is the negated spiral (its points in random order)
    expected_second, _ = arm(len(second), cycles)
    torch.testing.assert_close(by_radius(-second), by_radius(expected_second), atol=1e-6, rtol=0)


def test_shapes_dtypes_and_balance():
    x, y = spirals(500, sd=0.1, seed=0)
    assert x.shape == (500, 2) and x.dtype == torch.float32
    assert y.shape == (500,) and y.dtype == torch.int64
    assert torch.bincount(y).tolist() == [250, 250]
    _, y_odd = spirals(501, seed=0)
    assert torch.bincount(y_odd).tolist() == [251, 250]


def test_second_class_positions_are_random():
    _, y = spirals(500, seed=1)
    # not a block at either end: both halves of the index hold both classes
    assert 0 < int(y[:250].sum()) < 250 and 0 < int(y[250:].sum()) < 250


def test_seeding():
    a = spirals(200, sd=0.2, seed=5)
    b = spirals(200, sd=0.2, seed=5)
    c = spirals(200, sd=0.2, seed=6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    torch.manual_seed(11)
    g1 = spirals(200, sd=0.2)
    torch.manual_seed(11)
    g2 = spirals(200, sd=0.2)
    g3 = spirals(200, sd=0.2)
    assert torch.equal(g1[0], g2[0]) and torch.equal(g1[1], g2[1])
    assert not torch.equal(g2[0], g3[0])


def test_a_seed_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    spirals(100, sd=0.1, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_noise_moves_points_along_the_normal():
    n, sd = 4000, 0.1
    clean, y = spirals(n, sd=0.0, seed=2)
    noisy, y_noisy = spirals(n, sd=sd, seed=2)
    assert torch.equal(y, y_noisy)  # the same classes: noise is drawn after the split
    shift = (noisy - clean).double()
    # tangent direction of each point's arm; the second arm is negated, so is its tangent
    m_first = int((y == 0).sum())
    _, w = arm(m_first)
    tangent = torch.stack(
        [torch.cos(2 * math.pi * w) - math.pi * (2 * w + 1) * torch.sin(2 * math.pi * w),
         torch.sin(2 * math.pi * w) + math.pi * (2 * w + 1) * torch.cos(2 * math.pi * w)], 1)
    tangent = tangent / tangent.norm(dim=1, keepdim=True)
    along = (shift[y == 0] * tangent).sum(1)
    assert along.abs().max() < 1e-5
    assert shift.norm(dim=1).max() > 0.2  # it did move
    signed = (shift[y == 0] * torch.stack([tangent[:, 1], -tangent[:, 0]], 1)).sum(1)
    assert abs(signed.std().item() - sd) < 0.01 and abs(signed.mean().item()) < 0.01
    # second arm: each shift is perpendicular to the line from the origin's arm point too
    radial_error = (noisy[y == 1].double().norm(dim=1) - clean[y == 1].double().norm(dim=1)).abs()
    assert radial_error.mean() < 0.1


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"n": 1}, ValueError, "n must be at least 2, got 1"),
        ({"n": 10.0}, TypeError, "n must be an int, got float"),
        ({"n": True}, TypeError, "n must be an int"),
        ({"n": 10, "cycles": 0}, ValueError, "cycles must be a finite number > 0, got 0.0"),
        ({"n": 10, "cycles": "1"}, TypeError, "cycles must be a number, got str"),
        ({"n": 10, "sd": -0.1}, ValueError, "sd must be a finite number >= 0, got -0.1"),
        ({"n": 10, "sd": float("nan")}, ValueError, "sd must be a finite number >= 0"),
        ({"n": 10, "seed": 1.5}, TypeError, "seed must be an int or None, got float"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(")):
        spirals(**kwargs)


# --------------------------------------------------------------------------
# the Dataset


class PerItemOnly(Dataset):
    """The same data through __getitem__ alone, as torch would read it without __getitems__."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


def assert_same_batches(batches_a, batches_b):
    batches_a, batches_b = list(batches_a), list(batches_b)
    assert len(batches_a) == len(batches_b)
    for a, b in zip(batches_a, batches_b):
        assert set(a) == set(b) == {"x", "y"}
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
        assert a["x"].dtype == torch.float32 and a["y"].dtype == torch.int64


@pytest.fixture(scope="module")
def dataset():
    return SpiralDataset.generate(n=500, sd=0.1, seed=0)


def test_items(dataset):
    x, y = spirals(500, sd=0.1, seed=0)
    assert len(dataset) == 500
    item = dataset[3]
    assert set(item) == {"x", "y"}
    assert item["x"].shape == (2,) and item["y"].shape == () and item["y"].dtype == torch.int64
    assert torch.equal(item["x"], x[3]) and torch.equal(item["y"], y[3])
    assert torch.equal(dataset[-1]["x"], x[-1])
    assert torch.equal(dataset[torch.tensor(7)]["x"], x[7])
    with pytest.raises(IndexError, match="index 500 is out of range for a dataset of 500 items"):
        dataset[500]


def test_getitems_and_get_batch_match_single_items(dataset):
    indices = [4, 0, 499, 17, 17]
    samples = dataset.__getitems__(indices)
    assert len(samples) == 5
    for i, sample in zip(indices, samples):
        assert torch.equal(sample["x"], dataset[i]["x"]) and torch.equal(sample["y"], dataset[i]["y"])
    batch = dataset.get_batch(indices)
    assert batch["x"].shape == (5, 2) and batch["y"].shape == (5,)
    assert torch.equal(batch["x"], torch.stack([dataset[i]["x"] for i in indices]))
    assert torch.equal(dataset[indices]["y"], batch["y"])
    with pytest.raises(IndexError, match="index 600 is out of range"):
        dataset.get_batch([1, 600])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        dataset.get_batch([[1, 2]])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        dataset.get_batch([0.5])


def test_dataloader_batches_equal_per_item_batches(dataset):
    # default collate over __getitems__ must give what it gives over __getitem__
    loader = DataLoader(dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(4))
    reference = DataLoader(PerItemOnly(dataset), batch_size=64, shuffle=True,
                           generator=torch.Generator().manual_seed(4))
    assert_same_batches(loader, reference)
    # and the stacked fast path (batch_size=None, a batch sampler) gives the same batches too
    sequential = DataLoader(dataset, batch_size=64)
    stacked = DataLoader(dataset, batch_size=None,
                         sampler=BatchSampler(SequentialSampler(dataset), batch_size=64, drop_last=False))
    assert_same_batches(sequential, stacked)


@pytest.mark.slow
def test_spawned_workers_load_the_dataset(dataset):
    train, _ = dataset.split(400, seed=0)
    # the R lesson: 400 training points in batches of 64 make 7 batches
    in_process = DataLoader(train, batch_size=64)
    assert len(in_process) == 7
    spawned = DataLoader(train, batch_size=64, num_workers=2, multiprocessing_context="spawn")
    assert_same_batches(spawned, in_process)


def test_split(dataset):
    train, valid = dataset.split(400, seed=1)
    assert (len(train), len(valid)) == (400, 100)

    def rows(d):
        return sorted(map(tuple, torch.cat([d.x, d.y[:, None].float()], 1).tolist()))

    assert rows(SpiralDataset(torch.cat([train.x, valid.x]), torch.cat([train.y, valid.y]))) == rows(dataset)
    again, _ = dataset.split(400, seed=1)
    other, _ = dataset.split(400, seed=2)
    assert torch.equal(again.x, train.x) and not torch.equal(other.x, train.x)
    with pytest.raises(ValueError, match="n_train must be at least 1 and at most 499, got 500"):
        dataset.split(500)


def test_spiral_datasets_as_in_the_r_lesson():
    train, valid = spiral_datasets()
    assert (len(train), len(valid)) == (400, 100)
    train2, valid2 = spiral_datasets()
    assert torch.equal(train.x, train2.x) and torch.equal(valid.y, valid2.y)
    counts = torch.bincount(torch.cat([train.y, valid.y])).tolist()
    assert counts == [250, 250]
    with pytest.raises(ValueError, match="n_train must be at least 1 and at most 49, got 50"):
        spiral_datasets(n=50, n_train=50)


def test_constructor_rejects_bad_tensors():
    with pytest.raises(
        ValueError, match=r"x must be a float tensor of shape \[N, 2\], got torch.float32 of shape \[4, 3\]"
    ):
        SpiralDataset(torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"y must be an integer tensor of shape \[N\], got torch.float32"):
        SpiralDataset(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="same number of points, got 4 and 3"):
        SpiralDataset(torch.zeros(4, 2), torch.zeros(3, dtype=torch.int64))


# --------------------------------------------------------------------------
# MNIST offline sample

# Without the split (a laptop with no ../shared) these tests cannot run; under CI
# (CI set) its absence is a failure, not a skip.
needs_shared_mnist = pytest.mark.skipif(
    SHARED_MNIST is None and not os.environ.get("CI"),
    reason="the offline MNIST split is neither at ../shared/data/mnist nor in LIVETORCH_MNIST_DIR",
)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture(scope="session")
def offline_root(tmp_path_factory):
    return prepare_offline_mnist(SHARED_MNIST, tmp_path_factory.mktemp("mnist") / "sample")


def source_labels():
    return gzip.decompress((SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:]


@needs_shared_mnist
def test_torchvision_loads_the_sample_without_network(offline_root, no_network):
    torchvision = data.import_torchvision()
    train = torchvision.datasets.MNIST(offline_root, train=True, download=True)
    test = torchvision.datasets.MNIST(offline_root, train=False, download=True)
    assert (len(train), len(test)) == (8000, 2000)
    assert train.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    labels = torch.tensor(list(source_labels()))
    assert torch.equal(train.targets, labels[:8000]) and torch.equal(test.targets, labels[8000:])
    assert train.data.shape == (8000, 28, 28) and test.data.dtype == torch.uint8
    images = gzip.decompress((SHARED_MNIST / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert bytes(test.data[0].flatten().tolist()) == images[16 + 8000 * 784 : 16 + 8001 * 784]
    assert no_network == []
    raw = offline_root / "MNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert gzip.decompress((raw / (name + ".gz")).read_bytes()) == (raw / name).read_bytes()


@needs_shared_mnist
def test_per_class_counts_in_the_docstring_are_the_real_ones():
    labels = torch.tensor(list(source_labels()))
    doc = " ".join(prepare_offline_mnist.__doc__.split())
    for part in (labels[:8000], labels[8000:], labels):
        assert " ".join(map(str, torch.bincount(part).tolist())) in doc


@needs_shared_mnist
def test_second_prepare_reuses_the_folder(offline_root):
    raw = offline_root / "MNIST" / "raw"
    before = (raw / "train-images-idx3-ubyte").stat().st_mtime_ns
    assert prepare_offline_mnist(SHARED_MNIST, offline_root) == offline_root
    assert (raw / "train-images-idx3-ubyte").stat().st_mtime_ns == before


@needs_shared_mnist
def test_a_corrupted_source_is_refused_before_anything_is_written(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(SHARED_MNIST / "t10k-images-idx3-ubyte.gz", source)
    labels = bytearray(gzip.decompress((SHARED_MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10
    (source / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    wrong = hashlib.md5(bytes(labels)).hexdigest()
    with pytest.raises(ValueError, match=f"not the official MNIST test split: md5 {wrong}"):
        prepare_offline_mnist(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_prepare_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_train must be at least 1 and at most 9999, got 10000"):
        prepare_offline_mnist(tmp_path, tmp_path / "out", n_train=10_000)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        prepare_offline_mnist(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(ValueError, match="lies inside the source folder"):
        prepare_offline_mnist(tmp_path, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="neither t10k-images-idx3-ubyte.gz"):
        prepare_offline_mnist(tmp_path, tmp_path.parent / (tmp_path.name + "-out"))


@needs_shared_mnist
def test_mnist_forced_offline_never_probes_the_network(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("LIVETORCH_OFFLINE", "1")
    monkeypatch.setenv("LIVETORCH_MNIST_DIR", str(SHARED_MNIST))
    monkeypatch.setattr("widgets.data.mnist_data.network_reachable", lambda *a,
                        **k: pytest.fail("network probed"))
    train, description = data.mnist(tmp_path, train=True)
    test, _ = data.mnist(tmp_path, train=False)
    assert description == "offline sample (8,000 train / 2,000 test from the official test split)"
    assert (len(train), len(test)) == (8000, 2000)
    assert (tmp_path / "offline-sample" / "MNIST" / "raw").is_dir()
    assert no_network == []


@needs_shared_mnist
def test_mnist_falls_back_fast_when_the_network_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.delenv("LIVETORCH_OFFLINE", raising=False)
    monkeypatch.setenv("LIVETORCH_MNIST_DIR", str(SHARED_MNIST))
    probes = []

    def unreachable(*args, **kwargs):
        probes.append(args)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    started = time.perf_counter()
    dataset, description = data.mnist(tmp_path, train=False)
    assert description.startswith("offline sample") and len(dataset) == 2000
    assert len(probes) == 1
    assert time.perf_counter() - started < 2 + 15  # the probe is capped at 2 s; the rest is writing files


def test_network_probe_gives_up_after_its_timeout(monkeypatch):
    def hangs(*args, **kwargs):
        time.sleep(3)  # like a name lookup that never answers
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hangs)
    started = time.perf_counter()
    assert data.network_reachable(timeout=0.3) is False
    assert time.perf_counter() - started < 1.5


def test_mismatched_torchvision_gives_an_import_error_naming_both_versions(monkeypatch):
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(ImportError) as caught:
        data.import_torchvision()
    message = str(caught.value)
    from importlib.metadata import version

    assert f"torchvision {version('torchvision')} does not load with torch {torch.__version__}" in message
    assert "operator torchvision::nms does not exist" in message
    assert "pip install" in message


def test_finding_the_offline_sample_loads_no_torch():
    # what a grader or a script asks before any lesson runs: it must not pay for importing torch
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys\nfrom widgets.data import find_offline_mnist, prepare_offline_mnist\n"
              "find_offline_mnist()\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', "
              "'numpy')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_data_folder_is_livetorch_data_dir_else_the_checkouts_data(monkeypatch, tmp_path):
    monkeypatch.setenv("LIVETORCH_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("LIVETORCH_DATA_DIR")
    assert default_data_dir() == Path(__file__).resolve().parents[2] / "data"
