"""The course's stored outputs hold under every other family of torch CPU kernels.

torch chooses its CPU kernels when it starts (default, AVX2 or AVX-512 on
x86-64), and the last bit of a float can differ between them. The normal test
run checks the course under the machine's own kernels; these tests run the whole
course again under strict nbval with ``ATEN_CPU_CAPABILITY`` forcing each other
family the CPU has, so every run compares them all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("default", "avx2", "avx512")


def forced_capability(capability: str) -> str:
    """The family torch reports in a fresh process started with ATEN_CPU_CAPABILITY=capability.

    A CPU without the family asked for falls back to the best one it has.
    """
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


CPU_FLAGS = {"avx2": "avx2", "avx512": "avx512f"}
"""The /proc/cpuinfo flag a family's kernels need. torch accepts ATEN_CPU_CAPABILITY=avx512 on a CPU without
AVX-512 and reports it, but its kernels then die on an illegal instruction (a notebook kernel vanished at
once)."""


def cpu_lacks(capability: str) -> bool:
    """True when /proc/cpuinfo says this CPU lacks the instructions of `capability` (False where it cannot
    tell)."""
    flag = CPU_FLAGS.get(capability)
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = {
        word
        for line in text.splitlines()
        if line.startswith("flags")
        for word in line.split(":", 1)[1].split()
    }
    return flag is not None and bool(flags) and flag not in flags


@pytest.mark.slow
@pytest.mark.parametrize("capability", FAMILIES)
def test_course_passes_strict_nbval_under_another_kernel_family(capability):
    native = torch.backends.cpu.get_cpu_capability()
    if native.upper() == capability.upper():
        pytest.skip(f"{capability} is this machine's own family: the normal course run checks it")
    if cpu_lacks(capability):
        pytest.skip(
            f"this CPU has no {capability} instructions (/proc/cpuinfo lacks {CPU_FLAGS[capability]})"
        )
    forced = forced_capability(capability)
    if forced.upper() != capability.upper():
        pytest.skip(f"this CPU has no {capability} kernels (asking for them gives {forced})")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "course", "-q", "-p", "no:cacheprovider", "--no-header"],
        cwd=REPO_ROOT, env={**os.environ, "ATEN_CPU_CAPABILITY": capability},
        capture_output=True, text=True, timeout=1800,
    )
    tail = "\n".join(result.stdout.strip().splitlines()[-40:])
    assert result.returncode == 0, (
        f"the course's stored outputs differ under ATEN_CPU_CAPABILITY={capability} "
        f"(this machine's own kernels: {native}):\n{tail}"
    )
