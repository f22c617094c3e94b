"""Test-wide settings and the two test tiers.

- One torch thread (steady timings on a small shared machine) and matplotlib's Agg backend.
- ``pytest`` with no path runs the fast tier: every test not marked ``slow`` or ``browser``.
  Slow tests, the course notebooks (marked ``slow`` by course/conftest.py) and everything in
  tests/browser/ (marked ``browser`` here) are left out.
- ``pytest --full`` runs every tier. A run given paths, ``-m`` or ``-k`` runs what it names,
  slow tests included: ``pytest course/03_data.ipynb`` validates that notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

torch.set_num_threads(1)

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
SLOW_MARKERS = ("slow", "browser")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full", action="store_true", default=False,
        help="run every tier: the slow tests, the course notebooks under strict nbval, the browser suite",
    )


def fast_tier(config: pytest.Config) -> bool:
    """True when this run is the fast tier: no paths, no --full, no -m or -k selection."""
    return (
        not config.getoption("full")
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.getoption("markexpr")
        and not config.getoption("keyword")
    )


def in_fast_tier(item: pytest.Item) -> bool:
    return not any(item.get_closest_marker(name) for name in SLOW_MARKERS)


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.path.is_relative_to(BROWSER_DIR) and item.get_closest_marker("browser") is None:
        item.add_marker(pytest.mark.browser)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Keep only the fast tier where it applies; run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session once its browser fixture starts, and `asyncio.run` (the
    play/pause tests) refuses to start inside a running loop.
    """
    if fast_tier(config):
        left_out = [item for item in items if not in_fast_tier(item)]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if in_fast_tier(item)]
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
