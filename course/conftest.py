"""nbval settings for the course notebooks.

- stderr is not compared: warnings carry a kernel-specific path. Everything a
  learner reads (stdout, text/plain, text/html, errors) still is.
- Each notebook's kernel starts with the environment ``scripts/execute_course.py``
  stores the outputs with (one OpenMP thread, the offline MNIST sample, and
  matplotlib's inline backend even when the test process set ``MPLBACKEND``),
  so a validation run reproduces exactly what the stored run did.
- Every notebook cell is marked ``slow``: the fast tier (``pytest`` alone)
  leaves the course out, ``pytest --full`` runs it.
- nbval waits 5 s for each output message of a cell that has already finished;
  on a loaded CI machine that is too short, so each cell gets OUTPUT_TIMEOUT.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "LIVETORCH_OFFLINE": "1",
    "PYTHONHASHSEED": "0",
}
KERNEL_ENV_UNSET = ("MPLBACKEND",)
OUTPUT_TIMEOUT = 60


@contextmanager
def kernel_environment():
    """Apply KERNEL_ENV to os.environ for the duration, then restore it."""
    names = list(KERNEL_ENV) + list(KERNEL_ENV_UNSET)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(KERNEL_ENV)
    for name in KERNEL_ENV_UNSET:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_collectstart(collector):
    if isinstance(collector, IPyNbFile):
        collector.skip_compare += ("stderr",)


def pytest_itemcollected(item):
    # a lesson's cells belong to the slow tier: `pytest` alone leaves them out, `pytest --full` runs them
    if isinstance(item, IPyNbCell):
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    if isinstance(item, IPyNbCell):
        item.output_timeout = OUTPUT_TIMEOUT
    # The notebook's kernel is started while its first cell is set up; the
    # kernel process inherits os.environ at that moment.
    if isinstance(item, IPyNbCell) and item.parent.kernel is None:
        with kernel_environment():
            yield
    else:
        yield
