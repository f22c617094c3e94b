"""torch's threads and a container's CPU limit, read from fake cgroup files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from widgets import set_threads
from widgets.training.threads import apply_cpu_limit, cpu_limit, physical_cores

ROOT = Path(__file__).resolve().parents[2]


def files(tmp_path: Path, cpu_max: str | None = None, quota: str | None = None,
          period: str | None = None) -> dict:
    """Paths for cpu_limit's parameters; the ones given None do not exist."""
    paths = {"cpu_max": tmp_path / "cpu.max", "cfs_quota": tmp_path / "cpu.cfs_quota_us",
             "cfs_period": tmp_path / "cpu.cfs_period_us"}
    for key, text in (("cpu_max", cpu_max), ("cfs_quota", quota), ("cfs_period", period)):
        if text is not None:
            paths[key].write_text(text)
    return paths


@pytest.mark.parametrize(("cpu_max", "quota", "period", "expected"), [
    ("200000 100000\n", None, None, 2),          # cgroup v2, two CPUs
    ("150000 100000", None, None, 2),            # 1.5 CPUs rounds up
    ("5000 100000", None, None, 1),              # a twentieth of a CPU is still one thread
    ("max 100000\n", "100000", "100000", None),  # v2 says unlimited: v1 files are not consulted
    (None, "-1\n", "100000\n", None),            # cgroup v1, unlimited
    (None, "300000\n", "100000\n", 3),           # cgroup v1, three CPUs
    ("garbage", "400000", "100000", 4),          # v2 garbled: v1 decides
    ("max", None, None, None),                   # v2 garbled (one field), no v1
    (None, "lots", "100000", None),              # v1 garbled
    (None, "100000", "0", None),                 # a zero period is no limit
    (None, None, None, None),                    # no cgroup files at all
])
def test_cpu_limit_reads_cgroup_files(tmp_path, cpu_max, quota, period, expected):
    assert cpu_limit(**files(tmp_path, cpu_max, quota, period)) == expected


def test_physical_cores_counts_distinct_socket_core_pairs(tmp_path):
    info = tmp_path / "cpuinfo"
    blocks = [f"processor\t: {n}\nphysical id\t: {n // 4}\ncore id\t\t: {n % 2}\n" for n in range(8)]
    info.write_text("\n".join(blocks))
    assert physical_cores(info) == 4
    assert physical_cores(tmp_path / "missing") is None


def run_python(code: str, env: dict[str, str]) -> dict:
    """Run ``code`` in a fresh interpreter (torch's threads are per process); it prints one JSON object."""
    environment = {key: value for key,
                   value in os.environ.items() if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    environment.update(env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True,
                          text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


PROBE = """
import json, sys, torch
from widgets.training.threads import apply_cpu_limit
set_to = {set_to}
if set_to:
    torch.set_num_threads(set_to)
applied = apply_cpu_limit(cpu_max={cpu_max!r})
print(json.dumps({{"before": applied.before, "after": applied.after, "threads": torch.get_num_threads(),
                  "reason": applied.reason}}))
"""


needs_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs a host with 2 CPUs or more")


@needs_cores
@pytest.mark.slow
def test_a_limit_below_torchs_threads_lowers_them(tmp_path):
    cpu_max = files(tmp_path, "100000 100000")["cpu_max"]
    result = run_python(PROBE.format(set_to=0, cpu_max=str(cpu_max)), {})
    assert result["before"] >= 2
    assert (result["after"], result["threads"]) == (1, 1)
    assert result["reason"] == f"torch lowered from {result['before']} to 1 threads, the CPU limit"


@needs_cores
@pytest.mark.slow
def test_an_explicit_omp_num_threads_is_kept(tmp_path):
    cpu_max = files(tmp_path, "100000 100000")["cpu_max"]
    result = run_python(PROBE.format(set_to=0, cpu_max=str(cpu_max)), {"OMP_NUM_THREADS": "2"})
    assert (result["before"], result["after"], result["threads"]) == (2, 2, 2)
    assert result["reason"] == "OMP_NUM_THREADS is set: the user's choice is kept"


@pytest.mark.slow
def test_an_explicit_set_num_threads_is_kept(tmp_path):
    cpu_max = files(tmp_path, "100000 100000")["cpu_max"]
    unusual = (os.cpu_count() or 1) + 3  # no host default is this
    result = run_python(PROBE.format(set_to=unusual, cpu_max=str(cpu_max)), {})
    assert (result["after"], result["threads"]) == (unusual, unusual)
    assert result["reason"] == f"torch.set_num_threads({unusual}) was called: the user's choice is kept"


def test_no_limit_changes_nothing(tmp_path):
    import torch

    before = torch.get_num_threads()
    applied = apply_cpu_limit(**files(tmp_path, "max 100000"), environ={})
    assert (applied.limit, applied.before, applied.after, applied.changed) == (None, before, before, False)
    assert applied.reason == "no CPU limit found"
    assert torch.get_num_threads() == before


IMPORT_PROBE = """
import json, pathlib, torch
read, calls = [], []
real_read, real_set = pathlib.Path.read_text, torch.set_num_threads

def spy_read(self, *args, **kwargs):
    read.append(str(self))
    return real_read(self, *args, **kwargs)

def spy_set(count):
    calls.append(count)
    real_set(count)

pathlib.Path.read_text, torch.set_num_threads = spy_read, spy_set
import widgets, widgets.training
from widgets import Trainer, set_threads
print(json.dumps({"read": [path for path in read if "cgroup" in path], "set": calls}))
"""


@pytest.mark.slow
def test_importing_widgets_reads_no_cpu_limit_and_sets_no_threads():
    assert run_python(IMPORT_PROBE, {}) == {"read": [], "set": []}


SET_PROBE = """
import json, torch
from widgets import set_threads
results = {}
for count in (None, 1, 3):  # torch's own count first: set_threads() keeps a count chosen before
    applied = set_threads(count)
    results[str(count)] = {"after": applied.after, "threads": torch.get_num_threads(),
                           "reason": applied.reason, "limit": applied.limit}
print(json.dumps(results))
"""


@pytest.mark.slow
def test_set_threads_sets_the_count_asked_even_over_omp_num_threads():
    results = run_python(SET_PROBE, {"OMP_NUM_THREADS": "2"})
    one, three = results["1"], results["3"]
    assert (one["after"], one["threads"], one["reason"]) == (1, 1, "1 thread, as asked")
    assert (three["after"], three["threads"]) == (3, 3)
    assert three["reason"].startswith("3 threads, as asked")
    fitted = results["None"]  # OMP_NUM_THREADS=2 is the user's choice, or there is no limit at all
    assert (fitted["limit"], fitted["after"], fitted["threads"]) == (cpu_limit(), 2, 2)
    kept = "OMP_NUM_THREADS is set: the user's choice is kept"
    assert fitted["reason"] == ("no CPU limit found" if fitted["limit"] is None else kept)


def test_set_threads_says_when_the_count_is_above_the_cpu_limit(monkeypatch):
    import torch

    from widgets.training import threads

    monkeypatch.setattr(threads, "cpu_limit", lambda: 2)
    try:
        applied = set_threads(3)
    finally:
        torch.set_num_threads(1)
    assert (applied.limit, applied.after) == (2, 3)
    assert applied.reason == ("3 threads, as asked (more than the 2 CPUs the container may use: "
                              "they share them)")


@pytest.mark.parametrize(("count", "error", "message"), [
    (0, ValueError, "set_threads needs at least 1 thread, got 0"),
    (-2, ValueError, "set_threads needs at least 1 thread, got -2"),
    (True, TypeError, "got bool True"),
    (1.5, TypeError, "got float 1.5"),
    ("2", TypeError, "got str '2'"),
])
def test_set_threads_refuses_a_count_that_is_not_a_positive_int(count, error, message):
    import torch

    before = torch.get_num_threads()
    with pytest.raises(error, match=message):
        set_threads(count)
    assert torch.get_num_threads() == before
