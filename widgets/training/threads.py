"""torch's CPU threads: a count the caller chooses, or as many as a container's CPU limit allows.

Nothing here runs on import: a lesson or a script calls ``set_threads`` itself.

torch starts as many threads as the host has cores, not as many as the
container may use: in a container limited to 2 CPUs on a 64-core host, 64
threads share 2 CPUs' worth of time and every step slows down. The limit lives
in the cgroup files: ``cpu.max`` (cgroup v2: ``"max 100000"`` or
``"200000 100000"``, quota then period in microseconds) or
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (cgroup v1, quota -1 when unlimited).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CFS_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CFS_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
CPUINFO = Path("/proc/cpuinfo")
# torch sizes its pool from these when they are set: the user has chosen
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _read(path: Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cpus(quota: int, period: int) -> int | None:
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def cpu_limit(
    cpu_max: Path = CPU_MAX, cfs_quota: Path = CFS_QUOTA, cfs_period: Path = CFS_PERIOD
) -> int | None:
    """The number of CPUs the cgroup allows (quota / period rounded up, at least 1), or None.

    None when there is no limit (``max``, a quota of -1) or the files are
    missing or unreadable. cgroup v2's ``cpu_max`` is read first; cgroup v1's
    pair only when ``cpu_max`` is missing or garbled.
    """
    text = _read(cpu_max)
    if text is not None:
        fields = text.split()
        if len(fields) == 2 and fields[0] == "max" and fields[1].isdigit():
            return None
        if len(fields) == 2 and all(field.isdigit() for field in fields):
            return _cpus(int(fields[0]), int(fields[1]))
    quota, period = _read(cfs_quota), _read(cfs_period)
    if quota is None or period is None:
        return None
    try:
        return _cpus(int(quota), int(period))
    except ValueError:
        return None


def physical_cores(cpuinfo: Path = CPUINFO) -> int | None:
    """The number of distinct (socket, core) pairs in /proc/cpuinfo, or None where it does not say."""
    text = _read(cpuinfo)
    if not text:
        return None
    cores = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        if "physical id" in fields and "core id" in fields:
            cores.add((fields["physical id"], fields["core id"]))
    return len(cores) or None


def torch_default_threads() -> set[int]:
    """The thread counts torch may start with on this host, by its build: logical CPUs or physical cores."""
    counts = {os.cpu_count(), physical_cores()}
    if hasattr(os, "sched_getaffinity"):
        counts.add(len(os.sched_getaffinity(0)))
    return {count for count in counts if count}


@dataclass(frozen=True)
class ThreadsApplied:
    """What ``set_threads`` found and did: the CPU limit (None: none), torch's threads before and after,
    and why."""

    limit: int | None
    before: int
    after: int
    reason: str

    @property
    def changed(self) -> bool:
        """Whether torch's thread count is another than before."""
        return self.after != self.before


def apply_cpu_limit(cpu_max: Path = CPU_MAX, cfs_quota: Path = CFS_QUOTA, cfs_period: Path = CFS_PERIOD,
                    environ: Mapping[str, str] | None = None) -> ThreadsApplied:
    """Lower torch's thread count to the cgroup's CPU limit, unless the user chose a count.

    The user chose when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set in
    ``environ`` (default ``os.environ``), or when torch's count is none of the
    counts torch starts with on this host (``torch.set_num_threads`` was called).
    A count equal to one of those defaults is taken as torch's own choice.
    """
    environ = os.environ if environ is None else environ
    before = torch.get_num_threads()
    limit = cpu_limit(cpu_max, cfs_quota, cfs_period)
    chosen = [name for name in THREAD_VARIABLES if environ.get(name, "").strip()]
    if limit is None:
        reason = "no CPU limit found"
    elif chosen:
        reason = f"{chosen[0]} is set: the user's choice is kept"
    elif before not in torch_default_threads():
        reason = f"torch.set_num_threads({before}) was called: the user's choice is kept"
    elif limit >= before:
        reason = f"the limit ({limit} CPUs) is not below torch's {before} threads"
    else:
        torch.set_num_threads(limit)
        reason = f"torch lowered from {before} to {limit} threads, the CPU limit"
    return ThreadsApplied(limit, before, torch.get_num_threads(), reason)


def set_threads(count: int | None = None) -> ThreadsApplied:
    """Set torch's CPU thread count; returns what it found and did (a ``ThreadsApplied``).

    ``set_threads(1)``, as every lesson's first cell calls it: one thread, so a
    sum adds its terms in the same order on every run and small models lose no
    speed. ``set_threads(n)`` sets ``n`` threads, whatever the environment says.
    ``set_threads()`` fits torch to a container's CPU limit (``apply_cpu_limit``):
    fewer threads where the limit is below torch's count, nothing changed where
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` is set or the count was chosen.
    """
    if count is None:
        return apply_cpu_limit()
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"set_threads takes a whole number of threads (or nothing, to fit the CPU limit), "
                        f"got {type(count).__name__} {count!r}")
    if count < 1:
        raise ValueError(f"set_threads needs at least 1 thread, got {count}")
    before, limit = torch.get_num_threads(), cpu_limit()
    torch.set_num_threads(count)
    reason = f"{count} thread{'s' if count > 1 else ''}, as asked"
    if limit is not None and count > limit:
        reason += f" (more than the {limit} CPUs the container may use: they share them)"
    return ThreadsApplied(limit, before, torch.get_num_threads(), reason)
