"""Notebook 7 (the `notebook` package) driven like JupyterLab: the same page checks, other addresses.

Notebook 7 is built from JupyterLab's parts: its page exposes the same
`window.jupyterapp` (with `--JupyterNotebookApp.expose_app_in_browser`), the
same notebook panel as `shell.currentWidget` and the same `notebook:*`
commands, so every check of `NotebookPage` works unchanged. What differs is
how a notebook is opened: the file browser lives at `/tree`, and each notebook
gets a page of its own at `/notebooks/<path>` (`docmanager:open` would open a
new browser tab).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

from lab_page import JS_APP_READY, LabApp, NotebookPage
from notebook_files import write_notebook


class Notebook7App(LabApp):
    """One browser tab on a Notebook 7 server; notebooks replace each other in it."""

    def boot(self) -> None:
        """Load the file browser at /tree and wait until the app is started and restored."""
        began = time.perf_counter()
        self.page.goto(f"{self.server.url}/tree?token={self.server.token}", wait_until="domcontentloaded")
        self.wait_app()
        self.boot_seconds = time.perf_counter() - began

    def wait_app(self) -> str:
        """Wait until the page's app is started and restored; return its name ("Jupyter Notebook")."""
        self.page.wait_for_function("() => typeof window.jupyterapp === 'object'")
        self.page.evaluate(JS_APP_READY)
        return self.page.evaluate("() => window.jupyterapp.name")

    def tree_entries(self) -> list[str]:
        """The names the /tree file browser lists (it must be the page shown)."""
        items = self.page.locator(".jp-DirListing-item .jp-DirListing-itemText")
        items.first.wait_for()
        return [text.strip() for text in items.all_inner_texts()]


class Notebook7Page(NotebookPage):
    """One notebook on its own Notebook 7 page, `/notebooks/<path>`, with the checks of `NotebookPage`."""

    app: Notebook7App

    def ask_to_open(self) -> None:
        """Go to the notebook's page; `open` then waits for its kernel as in JupyterLab."""
        url = f"{self.server.url}/notebooks/{quote(self.relpath)}?token={self.server.token}"
        self.page.goto(url, wait_until="domcontentloaded")
        name = self.app.wait_app()
        if name != "Jupyter Notebook":
            raise AssertionError(f"{url} serves {name!r}, expected Notebook 7's 'Jupyter Notebook'")


def front_end_errors(app: Notebook7App, root: Path) -> tuple[list[str], list[str]]:
    """The page and console errors Notebook 7 itself raises on a notebook with one `print` cell.

    Measured on the same server and browser, so a test can tell the front
    end's own errors (Notebook 7.6's shortcuts plugin throws one on every
    notebook page) from those of the code under test.
    """
    relpath = "front-end-baseline/print.ipynb"
    write_notebook(root / relpath, ['print("baseline")'])
    notebook = Notebook7Page(app, relpath)
    try:
        notebook.open()
        notebook.run_all()
        return list(notebook.page_errors), list(notebook.console_errors)
    finally:
        notebook.close()
