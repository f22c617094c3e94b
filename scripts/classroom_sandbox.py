"""Where a submission's kernel runs: its own folder, resource limits, and (with bubblewrap) nothing else.

Each graded notebook gets a kernel whose command line this module writes:

- **limits** (always): the kernel is started through this file, which sets
  ``RLIMIT_DATA`` (heap and anonymous memory, where tensors live; the address
  space limit would refuse torch's large virtual reservations) and
  ``RLIMIT_CPU`` (CPU seconds), then execs the kernel. Every process the kernel
  starts (DataLoader workers included) inherits the same limits, each its own.
- **bubblewrap** (``bwrap``, Debian package ``bubblewrap``) when it is installed
  and works here: the kernel sees a file system made only of the system and
  Python folders (read-only), the ``widgets`` package, the offline MNIST sample,
  an empty ``/tmp`` and its own writable folder. The build, the gradebook, the
  course's solutions, the other submissions and the grading results do not
  exist in it. It also gets its own process ids, and dies with the grader.

Without bubblewrap, the kernel runs as the grader's user in a folder of its own
with relative paths leading nowhere useful, but files are still readable by
absolute path; ``describe`` says which of the two a run used.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SANDBOXES = ("auto", "bwrap", "none")
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")


@dataclass(frozen=True)
class Limits:
    """Per-process limits of a grading kernel: memory in MiB (``RLIMIT_DATA``) and CPU seconds
    (``RLIMIT_CPU``)."""

    memory_mib: int = 3072
    cpu_seconds: int = 600

    def __post_init__(self) -> None:
        for name in ("memory_mib", "cpu_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")


def bwrap_works() -> bool:
    """Whether ``bwrap`` is installed and can make a sandbox here (user namespaces may be disallowed)."""
    path = shutil.which("bwrap")
    if path is None:
        return False
    try:
        probe = subprocess.run(
            [path, "--ro-bind", "/", "/", "--unshare-pid", "--", "true"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def choose_sandbox(requested: str) -> str:
    """``"bwrap"`` or ``"none"`` for a requested ``auto`` / ``bwrap`` / ``none``; an error when bwrap is
    asked for, unusable."""
    if requested not in SANDBOXES:
        raise ValueError(f"sandbox must be one of {', '.join(SANDBOXES)}, got {requested!r}")
    if requested == "none":
        return "none"
    if bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        raise RuntimeError(
            "--sandbox bwrap was asked for, but bwrap is not installed or cannot create a sandbox here "
            "(install Debian's bubblewrap package, or allow unprivileged user namespaces)"
        )
    return "none"


def describe(sandbox: str, limits: Limits) -> str:
    """One line for the teacher: what separated the submissions in this run."""
    base = (f"each kernel limited to {limits.memory_mib} MiB of data memory and {limits.cpu_seconds} CPU s "
            "per process")
    if sandbox == "bwrap":
        return (
            f"bubblewrap sandbox (only system, Python, widgets and data folders visible, read-only); {base}"
        )
    return (f"no file system sandbox (bwrap unavailable or not chosen): files are readable by absolute path; "
            f"{base}")


def package_folder(name: str) -> Path:
    """The folder an importable package lives in."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name!r} package is not importable by {sys.executable}")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def visible_folders(extra: list[Path]) -> list[Path]:
    """What a sandboxed kernel may read: system folders, this Python, its packages, and ``extra``."""
    folders = [Path(p) for p in SYSTEM_FOLDERS if Path(p).exists()]
    folders += [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package_folder("widgets")]
    folders += [Path(p).resolve() for p in extra]
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def kernel_command(workdir: Path, readable: list[Path], sandbox: str, limits: Limits) -> list[str]:
    """The kernelspec argv that starts a kernel in ``workdir`` under ``limits`` (and bwrap when ``sandbox ==
    "bwrap"``).

    ``{connection_file}`` is left for jupyter_client to fill in; its folder must be in ``readable``.
    """
    kernel = [
        sys.executable,
        str(Path(__file__).resolve()),
        str(limits.memory_mib),
        str(limits.cpu_seconds),
        "--",
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    if sandbox == "none":
        return kernel
    bwrap = [
        shutil.which("bwrap") or "bwrap",
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        # ipykernel would take the namespace's init (its parent there) for a dead grader; bwrap watches
        # instead
        "--unsetenv",
        "JPY_PARENT_PID",
    ]
    for folder in visible_folders([*readable, Path(__file__).resolve().parent]):
        bwrap += ["--ro-bind", str(folder), str(folder)]
    bwrap += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--"]
    return bwrap + kernel


def kill_group(pgid: int | None) -> None:
    """SIGKILL every process of the group ``pgid`` (a kernel started in a session of its own); quiet if
    none is left."""
    if pgid is None or pgid <= 1:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def apply_limits(memory_mib: int, cpu_seconds: int) -> None:
    """Set this process's data-memory and CPU-time limits (soft and hard), which its children inherit."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory_mib * 1024 * 1024,) * 2)
    # The soft limit sends SIGXCPU (a clean death); the hard one a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def main(argv: list[str]) -> None:
    """``classroom_sandbox.py MEMORY_MIB CPU_SECONDS -- COMMAND...``: set the limits, then become COMMAND."""
    if len(argv) < 4 or argv[2] != "--":
        raise SystemExit("usage: classroom_sandbox.py MEMORY_MIB CPU_SECONDS -- COMMAND [ARGS...]")
    apply_limits(int(argv[0]), int(argv[1]))
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    main(sys.argv[1:])
