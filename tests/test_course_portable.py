"""The course's stored outputs hold under a second family of torch CPU kernels.

torch chooses its CPU kernels when it starts (default, AVX2 or AVX-512 on
x86-64), and the last bit of a float can differ between them. The normal test
run checks the course under the machine's own kernels; this test runs the whole
course once more under strict nbval with ``ATEN_CPU_CAPABILITY`` forcing another
family, so that every run compares two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
# Native family -> the one the extra run forces: the vector families are compared with the
# scalar kernels, the scalar family with AVX2 where the CPU has it.
OTHER_FAMILY = {"AVX512": "default", "AVX2": "default", "DEFAULT": "avx2"}


def other_capability(native: str) -> str:
    """The ATEN_CPU_CAPABILITY the extra course run uses on a machine whose own family is ``native``."""
    try:
        return OTHER_FAMILY[native.upper()]
    except KeyError:
        raise ValueError(f"expected a torch CPU capability among {sorted(OTHER_FAMILY)}, got {native!r}") from None


def test_other_capability_differs_from_the_native_one():
    for native in ("AVX512", "AVX2", "DEFAULT"):
        assert other_capability(native).upper() != native
    with pytest.raises(ValueError, match="got 'NEON'"):
        other_capability("NEON")


def forced_capability(capability: str) -> str:
    """The family torch reports in a fresh process started with ATEN_CPU_CAPABILITY=capability."""
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.slow
def test_course_passes_strict_nbval_under_a_second_kernel_family():
    native = torch.backends.cpu.get_cpu_capability()
    if native.upper() not in OTHER_FAMILY:
        pytest.skip(f"torch reports CPU capability {native!r}: not an x86-64 kernel family this test can switch")
    capability = other_capability(native)
    forced = forced_capability(capability)
    if forced.upper() == native.upper():
        pytest.skip(f"this CPU has only the {native} kernels: there is no second family to compare with")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "course", "-q", "-p", "no:cacheprovider", "--no-header"],
        cwd=REPO_ROOT, env={**os.environ, "ATEN_CPU_CAPABILITY": capability},
        capture_output=True, text=True, timeout=1800,
    )
    tail = "\n".join(result.stdout.strip().splitlines()[-40:])
    assert result.returncode == 0, (
        f"the course's stored outputs differ under ATEN_CPU_CAPABILITY={capability} "
        f"(torch reports {forced}; this machine's own kernels: {native}):\n{tail}"
    )
    assert " passed" in tail and "failed" not in tail, tail
