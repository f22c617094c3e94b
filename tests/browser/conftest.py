"""Fixtures for the browser tests: one JupyterLab server (and a Notebook 7 one when asked) and one Chromium
per session.

Chromium is Debian's (`/usr/bin/chromium`, or `CHROMIUM_PATH`), driven by the
Python playwright package; no browser is ever downloaded. Without it the tests
skip, except where `CI=true`, where a missing browser is a failure.

The server runs in a throw-away folder that mirrors the repository's place
next to the shared data (`<root>/main/course`, `<root>/shared/data/mnist`), with
`LIVETORCH_OFFLINE=1` and `LIVETORCH_DATA_DIR` in the throw-away folder, so
lessons run on copies and never write into the repository.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from jlab_server import LabServer, start_lab_server
from notebook_files import REPO

SHARED_MNIST = (REPO.parent / "shared" / "data" / "mnist").resolve()
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_PATH = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ON_CI = os.environ.get("CI", "").lower() == "true"

# Loopback only, nothing in the background; anything else fails DNS at once.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def _unavailable(reason: str) -> None:
    """Skip, or fail where CI promises a browser."""
    if ON_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lab_browser():
    """A headless Chromium context with a fresh profile, shared by every browser test."""
    if not CHROMIUM_PATH.exists():
        _unavailable(f"no Chromium at {CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    began = time.perf_counter()
    profile = tempfile.mkdtemp(prefix="livetorch-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM_PATH),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                service_workers="block",
            )
            context.set_default_timeout(30_000)
            print(f"\n[browser] Chromium started in {time.perf_counter() - began:.1f} s")
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _lay_out_shared_data(root: Path) -> Path:
    """Copy the offline MNIST sample where lessons look for it, beside the repository copy."""
    target = root / "shared" / "data" / "mnist"
    if SHARED_MNIST.is_dir():
        shutil.copytree(SHARED_MNIST, target)
    return target


def _course_server(base: Path, front_end: str) -> LabServer:
    """A server whose root mirrors the repository beside the shared data, lessons offline."""
    mnist_dir = _lay_out_shared_data(base / "root")
    (base / "root" / "main" / "course").mkdir(parents=True)
    server = start_lab_server(base, front_end=front_end, extra_env={
        "LIVETORCH_OFFLINE": "1",
        "LIVETORCH_MNIST_DIR": str(mnist_dir),
        # Prepared data goes here, not into the checkout's data/ folder.
        "LIVETORCH_DATA_DIR": str(base / "data"),
    })
    print(
        f"[server] {front_end} at {server.url} started in {server.started_in:.1f} s; log: {server.log_path}"
    )
    return server


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> LabServer:
    """`jupyter lab` on 127.0.0.1 in a throw-away folder, stopped at the end of the session."""
    server = _course_server(tmp_path_factory.mktemp("jupyterlab"), "lab")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory) -> LabServer:
    """Notebook 7 (`python -m notebook`) set up like `lab_server`, stopped at the end of the session."""
    server = _course_server(tmp_path_factory.mktemp("notebook7"), "notebook")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_app(lab_browser, lab_server):
    """JupyterLab loaded once in one tab; each test opens and closes its notebooks in it."""
    from lab_page import LabApp

    app = LabApp(lab_browser, lab_server)
    app.boot()
    print(f"[browser] JupyterLab loaded in {app.boot_seconds:.1f} s")
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="session")
def notebook7_app(lab_browser, notebook7_server):
    """A tab on Notebook 7's file browser (/tree); each test opens its notebooks' own pages in it."""
    from notebook7_page import Notebook7App

    app = Notebook7App(lab_browser, notebook7_server)
    app.boot()
    print(f"[browser] Notebook 7 loaded in {app.boot_seconds:.1f} s")
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def picture_page(lab_browser):
    """A blank page for pictures run alone, without Jupyter (see picture_page.py)."""
    from picture_page import PicturePage

    page = PicturePage(lab_browser)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go (`artifacts/` is ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(autouse=True)
def _report_test_time(request):
    """Print how long each browser test took."""
    began = time.perf_counter()
    yield
    print(f"\n[time] {request.node.name}: {time.perf_counter() - began:.1f} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, name the jupyter server's log so it can be read."""
    outcome = yield
    report = outcome.get_result()
    funcargs = item.funcargs if hasattr(item, "funcargs") else {}
    for name in ("lab_server", "notebook7_server"):
        server = funcargs.get(name)
        if report.failed and isinstance(server, LabServer):
            report.sections.append((f"{name} log", str(server.log_path)))
            print(f"\n[server] log of the failing run: {server.log_path}")
