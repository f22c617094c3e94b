"""How pytest-xdist (`pytest --full -n 2`) shares the tests out between its workers; the root conftest.py
installs it.

A unit runs whole on one worker: a file (a notebook's cells share one kernel, a module's tests their
fixtures), or all of tests/browser (one JupyterLab, one Chromium). Units go out in collection order
(`--no-loadscope-reorder` in pyproject.toml), so the browser unit, collected last, runs after everything
else on its worker: once Playwright starts, its event loop stays in that worker's main thread.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

BROWSER_UNIT = "tests/browser"


def unit_of(nodeid: str) -> str:
    """The unit a test belongs to, from its node id."""
    path = nodeid.split("::", 1)[0]
    return BROWSER_UNIT if path.startswith(BROWSER_UNIT + "/") else path


class FileScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with `unit_of` as the scope."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
