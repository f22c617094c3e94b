"""Test-wide settings: one torch thread (steady timings on a small shared machine), Agg."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import torch

torch.set_num_threads(1)


def pytest_collection_modifyitems(session, config, items):
    """Run the browser tests last, whatever order the paths were given in.

    Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session once its browser fixture starts, and `asyncio.run` (the
    play/pause tests) refuses to start inside a running loop.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
