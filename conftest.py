"""How pytest-xdist (`pytest --full -n 2`) shares the tests out between its workers.

Here, at the root, so that it applies to any selection of tests or notebooks.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Each file runs whole on one worker (a notebook's cells share one kernel, a module's tests their
    fixtures), and tests/browser as one unit (one JupyterLab, one Chromium). The units go out in collection
    order (`--no-loadscope-reorder` in pyproject.toml), so the browser unit, collected last, runs after
    everything else on its worker: once Playwright starts, its event loop stays in the main thread."""
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/browser" if path.startswith("tests/browser/") else path

    return FileScheduling(config, log)
