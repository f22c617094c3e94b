"""Settings every pytest run gets, whatever it selects: how pytest-xdist shares the tests out."""

from __future__ import annotations

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With `-n N`: files, and tests/browser as one unit, run whole on one worker (tests/xdist_units.py)."""
    from xdist_units import FileScheduling

    return FileScheduling(config, log)
