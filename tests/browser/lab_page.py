"""One notebook open in JupyterLab, driven and watched through Playwright.

`NotebookPage` opens a notebook in a fresh workspace, waits until its kernel is
connected and idle, runs every cell with "Run All", and records what the page
did on the way: every request and websocket address, page errors and console
errors. Everything waits on conditions (never a fixed sleep).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jlab_server import LabServer

if TYPE_CHECKING:  # playwright may be missing: the fixtures then skip (or fail on CI) with a reason
    from playwright.sync_api import BrowserContext, Locator, Page

LOOPBACK = "127.0.0.1"

# Outputs our widgets must never leave behind.
WIDGET_FAILURE_TEXTS = ("Loading widget...", "Error displaying widget")

# Cells tagged `raises-exception` are meant to raise: JupyterLab runs on past
# them, and so do these checks.
JS_EXPECTS_ERROR = """(cell) => {
    const tags = (cell.getMetadata ? cell.getMetadata('tags') : cell.metadata.tags) || [];
    return tags.includes('raises-exception');
}"""

JS_APP_READY = """async () => {
    const app = window.jupyterapp;
    await app.started;
    await app.restored;
    return true;
}"""

JS_KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

# Resolves when every non-empty code cell has an execution count, or as soon as
# one has an error output (run-all stops there), or a dialog opens.
JS_RUN_SETTLED = """() => {
    const dialog = document.querySelector('.jp-Dialog');
    if (dialog) return 'dialog: ' + dialog.innerText.slice(0, 300);
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = Array.from(panel.content.model.cells)
        .filter(c => c.type === 'code' && c.sharedModel.getSource().trim());
    const expectsError = __EXPECTS_ERROR__;
    for (const cell of cells) {
        if (expectsError(cell)) continue;
        for (let i = 0; i < cell.outputs.length; i++) {
            if (cell.outputs.get(i).type === 'error') return 'error';
        }
    }
    return cells.every(c => c.executionCount !== null) ? 'done' : false;
}""".replace("__EXPECTS_ERROR__", JS_EXPECTS_ERROR)

# {unexpected: ["cell N: Name: message", ...], missing: [indices of cells tagged
# raises-exception that did not raise]}
JS_ERROR_REPORT = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const expectsError = __EXPECTS_ERROR__;
    const report = {unexpected: [], missing: []};
    Array.from(panel.content.model.cells).forEach((cell, index) => {
        if (cell.type !== 'code') return;
        let raised = false;
        for (let i = 0; i < cell.outputs.length; i++) {
            const out = cell.outputs.get(i).toJSON();
            if (out.output_type !== 'error') continue;
            raised = true;
            if (!expectsError(cell)) report.unexpected.push(`cell ${index}: ${out.ename}: ${out.evalue}`);
        }
        if (expectsError(cell) && !raised) report.missing.push(index);
    });
    return report;
}""".replace("__EXPECTS_ERROR__", JS_EXPECTS_ERROR)

JS_UNEXECUTED_CELLS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const missing = [];
    Array.from(panel.content.model.cells).forEach((cell, index) => {
        if (cell.type === 'code' && cell.sharedModel.getSource().trim() && cell.executionCount === null) {
            missing.push(index);
        }
    });
    return missing;
}"""

# Marks each top-level output node the moment a widget view appears in it, so a
# view a lesson closes later (its output then empties) still counts as rendered.
JS_WATCH_WIDGET_OUTPUTS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const mark = () => {
        for (const view of panel.node.querySelectorAll('.jp-OutputArea-output .jupyter-widgets')) {
            const out = view.closest('.jp-OutputArea-output');
            if (out && !out.parentElement.closest('.jupyter-widgets')) out.dataset.ltRendered = '1';
        }
    };
    new MutationObserver(mark).observe(panel.node, {childList: true, subtree: true});
    mark();
}"""

JS_EXECUTION_COUNT = """(index) =>
    window.jupyterapp.shell.currentWidget.content.model.cells.get(index).executionCount"""

# The text a cell printed or returned (streams and text/plain), in order.
JS_CELL_TEXT = """(index) => {
    const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
    const parts = [];
    for (let i = 0; i < cell.outputs.length; i++) {
        const out = cell.outputs.get(i).toJSON();
        if (out.output_type === 'stream') parts.push([].concat(out.text).join(''));
        else if (out.data && out.data['text/plain']) parts.push([].concat(out.data['text/plain']).join(''));
    }
    return parts.join('');
}"""

# What is still wrong with the widgets on the page: placeholders or error texts in
# outputs, widget outputs with no rendered view, and images inside our views
# (`lt-*` classes) that did not load.
JS_WIDGET_PROBLEMS = """(failureTexts) => {
    const problems = [];
    const panel = window.jupyterapp.shell.currentWidget;
    const outputs = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output'));
    for (const out of outputs) {
        for (const text of failureTexts) {
            if (out.textContent.includes(text)) {
                problems.push(`output says "${out.textContent.trim().slice(0, 120)}"`);
            }
        }
    }
    let widgetOutputs = 0;
    for (const cell of panel.content.model.cells) {
        if (cell.type !== 'code') continue;
        for (let i = 0; i < cell.outputs.length; i++) {
            const data = cell.outputs.get(i).data || {};
            if (data['application/vnd.jupyter.widget-view+json']) widgetOutputs++;
        }
    }
    const rendered = panel.node.querySelectorAll('.jp-OutputArea-output[data-lt-rendered]').length;
    if (rendered < widgetOutputs) problems.push(`${widgetOutputs} widget outputs, ${rendered} rendered`);
    const ours = panel.node.querySelectorAll('[class^="lt-"], [class*=" lt-"]');
    for (const el of ours) {
        const images = el.tagName === 'IMG' ? [el] : Array.from(el.querySelectorAll('img'));
        for (const img of images) {
            if (!(img.complete && img.naturalWidth > 0)) {
                const where = Array.from(el.classList).filter(c => c.startsWith('lt-')).join('.');
                const source = String(img.getAttribute('src')).slice(0, 40);
                problems.push(`image in .${where} not loaded (src ${source})`);
            }
        }
    }
    return Array.from(new Set(problems));
}"""

JS_OUR_CLASSES = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const names = new Set();
    for (const el of panel.node.querySelectorAll('[class^="lt-"], [class*=" lt-"]')) {
        for (const c of el.classList) if (c.startsWith('lt-')) names.add(c);
    }
    return Array.from(names).sort();
}"""

# SHA-256 of what an <img> shows (its src fetched), so frames can be compared by
# content: ipywidgets gives every new value a new blob: address.
JS_IMAGE_DIGEST = """async (el) => {
    // an <img>: the bytes it shows; a live view: the pixels of its first canvas
    const canvas = el.tagName === 'CANVAS' ? el : el.querySelector('canvas');
    const bytes = canvas
        ? canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.buffer
        : await (await fetch(el.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def _host_of(url: str) -> str | None:
    """The host a URL reaches: a blob: URL's origin host, None for data: and about:."""
    parts = urlsplit(url)
    if parts.scheme == "blob":
        return _host_of(parts.path)
    if parts.scheme in ("data", "about"):
        return None
    return parts.hostname or f"<no host in {url!r}>"


class LabApp:
    """One browser tab with JupyterLab loaded once, recording every request, page error and console error.

    Notebooks open and close inside it (`NotebookPage`), so the app boots once
    per session rather than once per notebook.
    """

    def __init__(self, context: BrowserContext, server: LabServer, workspace: str = "tests") -> None:
        self.server = server
        # A tab of its own needs a workspace of its own: a second tab on the same
        # workspace is redirected to a new one while it loads.
        self.workspace = workspace
        self.page: Page = context.new_page()
        self.requested_urls: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", lambda request: self.requested_urls.append(request.url))
        self.page.on("websocket", lambda socket: self.requested_urls.append(socket.url))
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("console", lambda message: self.console_errors.append(message.text)
                     if message.type == "error" else None)
        self.boot_seconds = 0.0

    def boot(self) -> None:
        """Load JupyterLab on an empty workspace and wait until it is started, restored and shown."""
        began = time.perf_counter()
        page = self.page
        page.goto(f"{self.server.url}/lab/workspaces/{self.workspace}?reset&token={self.server.token}",
                  wait_until="domcontentloaded")
        page.wait_for_function("() => typeof window.jupyterapp === 'object'")
        page.evaluate(JS_APP_READY)
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        page.evaluate("""async () => {
            const app = window.jupyterapp;
            if (!app.shell.leftCollapsed) await app.commands.execute('application:toggle-left-area');
            for (const widget of Array.from(app.shell.widgets('main'))) widget.close();  // the Launcher
        }""")
        self.boot_seconds = time.perf_counter() - began

    def close(self) -> None:
        """Close the tab."""
        self.page.close()


class NotebookPage:
    """One notebook opened in a `LabApp`, with the traffic and errors recorded while it is open."""

    def __init__(self, app: LabApp, relpath: str) -> None:
        self.app = app
        self.server = app.server
        self.relpath = relpath
        self.page: Page = app.page
        self.timings: dict[str, float] = {}
        self._began = time.perf_counter()
        # Everything the tab recorded before this notebook belongs to earlier ones.
        self._first_url = len(app.requested_urls)
        self._first_page_error = len(app.page_errors)
        self._first_console_error = len(app.console_errors)

    @property
    def requested_urls(self) -> list[str]:
        """Every request and websocket address since this notebook was opened."""
        return self.app.requested_urls[self._first_url:]

    @property
    def page_errors(self) -> list[str]:
        """Uncaught page errors since this notebook was opened."""
        return self.app.page_errors[self._first_page_error:]

    @property
    def console_errors(self) -> list[str]:
        """Console errors since this notebook was opened."""
        return self.app.console_errors[self._first_console_error:]

    def mark(self, name: str) -> None:
        """Remember how long since the notebook was asked for this point was reached."""
        self.timings[name] = time.perf_counter() - self._began

    # -- opening and running -------------------------------------------------
    def open(self, kernel_timeout_ms: int = 90_000) -> None:
        """Bring the tab to the front, open the notebook in it, wait until its kernel is connected and idle.

        A tab behind another one (Notebook 7's, a second lesson tab) gets one animation frame a second.
        """
        page = self.page
        page.bring_to_front()
        self.ask_to_open()
        page.wait_for_function(
            """(path) => {
                const w = window.jupyterapp.shell.currentWidget;
                return !!(w && w.context && w.context.path === path
                          && w.sessionContext && w.sessionContext.isReady);
            }""",
            arg=self.relpath,
            timeout=kernel_timeout_ms,
        )
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for()
        page.evaluate(JS_WATCH_WIDGET_OUTPUTS)
        # "Run All" before the kernel is there opens a kernel picker and never settles.
        page.wait_for_function(JS_KERNEL_IDLE, timeout=kernel_timeout_ms)
        self.assert_no_dialog()
        self.mark("kernel idle")

    def ask_to_open(self) -> None:
        """Ask the app to open the notebook, without waiting for it (`open` waits)."""
        # Not awaited: the command's promise would hang on a dialog, and evaluate has no timeout.
        self.page.evaluate("""(path) => {
            void window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
        }""", self.relpath)

    def run_all(self, timeout_ms: int = 120_000) -> None:
        """Run every cell with "Run All" and wait until each code cell has run (see `wait_run_all`)."""
        self.start_run_all()
        self.wait_run_all(timeout_ms)

    def start_run_all(self) -> None:
        """Fire "Run All" and return at once."""
        # Not awaited: the command's promise never settles while a dialog is open.
        self.page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def wait_run_all(self, timeout_ms: int = 120_000) -> None:
        """Wait until each code cell has run.

        Fails with the error outputs when a cell raises (the kernel then skips
        the rest), and with the dialog's text when one opens.
        """
        try:
            outcome = self.page.wait_for_function(JS_RUN_SETTLED, timeout=timeout_ms).json_value()
        except Exception as error:
            raise AssertionError(
                f"{self.relpath}: cells {self.unexecuted_cells()} had not run after {timeout_ms / 1000:.0f} s"
            ) from error
        self.mark("cells run")
        if outcome == "error":
            # Let the kernel finish with the cell that raised so the traceback is complete.
            self.page.wait_for_function(JS_KERNEL_IDLE, timeout=30_000)
            raise AssertionError(f"{self.relpath}: a cell raised: {self.error_outputs()}")
        if outcome != "done":
            raise AssertionError(f"{self.relpath}: {outcome}")

    def assert_no_dialog(self) -> None:
        """Fail with its text when a JupyterLab dialog (kernel picker, error box) is open."""
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count():
            raise AssertionError(f"{self.relpath}: dialog open: {dialog.first.inner_text()[:300]}")

    # -- what is on the page ---------------------------------------------------
    def error_outputs(self) -> list[str]:
        """`cell N: Name: message` for every error output, except in cells tagged raises-exception."""
        return self.page.evaluate(JS_ERROR_REPORT)["unexpected"]

    def expected_errors_missing(self) -> list[int]:
        """Indices of cells tagged raises-exception that did not raise."""
        return self.page.evaluate(JS_ERROR_REPORT)["missing"]

    def unexecuted_cells(self) -> list[int]:
        """Indices of non-empty code cells with no execution count."""
        return self.page.evaluate(JS_UNEXECUTED_CELLS)

    def widget_problems(self) -> list[str]:
        """What is still wrong with the rendered widgets (empty when all is well)."""
        return self.page.evaluate(JS_WIDGET_PROBLEMS, list(WIDGET_FAILURE_TEXTS))

    def wait_widgets_rendered(self, timeout_ms: int = 30_000) -> None:
        """Wait until every widget output is rendered and every image in our views loaded."""
        try:
            self.page.wait_for_function(
                f"() => ({JS_WIDGET_PROBLEMS})({list(WIDGET_FAILURE_TEXTS)!r}).length === 0",
                timeout=timeout_ms,
            )
        except Exception as error:
            raise AssertionError(f"{self.relpath}: widgets not rendered: {self.widget_problems()}") from error
        self.mark("widgets rendered")

    def our_classes(self) -> list[str]:
        """The `lt-*` CSS classes present in the notebook's outputs."""
        return self.page.evaluate(JS_OUR_CLASSES)

    def foreign_requests(self) -> list[str]:
        """Every recorded address that does not point at 127.0.0.1."""
        return [url for url in self.requested_urls if _host_of(url) not in (None, LOOPBACK)]

    def image_digest(self, image: Locator) -> str:
        """SHA-256 of the bytes an <img> currently shows, or of the pixels of a live view's canvas."""
        return self.page.evaluate(JS_IMAGE_DIGEST, image.element_handle())

    def cell(self, index: int) -> Locator:
        """The notebook's cell number `index` (0-based, markdown included)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)

    def run_cell(self, index: int, timeout_ms: int = 30_000) -> tuple[str, float]:
        """Run one cell as a learner does (click into it, Ctrl+Enter); return its text output and seconds to
        answer.

        The answer is there when the cell has a new execution count and an output.
        """
        count_before = self.page.evaluate(JS_EXECUTION_COUNT, index)
        self.cell(index).locator(".jp-InputArea-editor").click()
        began = time.perf_counter()
        self.page.keyboard.press("Control+Enter")
        try:
            self.page.wait_for_function(
                """([index, before]) => {
                    const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(index);
                    return cell.executionCount !== null && cell.executionCount !== before
                        && cell.outputs.length > 0;
                }""",
                arg=[index, count_before],
                timeout=timeout_ms,
            )
        except Exception as error:
            raise AssertionError(
                f"{self.relpath}: cell {index} gave no answer within {timeout_ms} ms"
            ) from error
        latency = time.perf_counter() - began
        return self.page.evaluate(JS_CELL_TEXT, index), latency

    def expect_text(self, locator: Locator, text: str, timeout_ms: int = 5_000) -> None:
        """Wait until `locator`'s text is exactly `text` (surrounding whitespace ignored)."""
        from playwright.sync_api import expect

        expect(locator).to_have_text(text, timeout=timeout_ms)

    # -- pictures and closing ----------------------------------------------------
    def screenshot(self, path: Path, target: Locator | None = None, whole_notebook: bool = False) -> Path:
        """Save a screenshot of the window, of `target`, or of the whole notebook (side bar closed).

        `whole_notebook` makes the window as tall as the notebook (up to 8,000 px)
        for the picture, then gives it back its size.
        """
        self.page.evaluate("""async () => {
            const app = window.jupyterapp;
            if (!app.shell.leftCollapsed) await app.commands.execute('application:toggle-left-area');
        }""")
        path.parent.mkdir(parents=True, exist_ok=True)
        if target is not None:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
            return path
        size = self.page.viewport_size
        if whole_notebook:
            height = self.page.evaluate("""() => {
                const scroller = window.jupyterapp.shell.currentWidget.content.node;
                const outer = scroller.querySelector('.jp-WindowedPanel-outer') || scroller;
                return outer.scrollHeight - outer.clientHeight + window.innerHeight;
            }""")
            self.page.set_viewport_size({"width": size["width"],
                                         "height": min(8000, max(size["height"], height))})
            # Run All leaves the notebook scrolled to its end; the picture starts at the top.
            self.page.evaluate("""() => new Promise(resolve => {
                const scroller = window.jupyterapp.shell.currentWidget.content.node;
                (scroller.querySelector('.jp-WindowedPanel-outer') || scroller).scrollTop = 0;
                requestAnimationFrame(() => requestAnimationFrame(resolve));
            })""")
        try:
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(size)
        return path

    def close(self) -> None:
        """Shut the kernel down (stopping any training it runs) and close the notebook unsaved.

        A dialog left open by a failure is dismissed first, so the next notebook
        starts on a clean app.
        """
        dialogs = self.page.locator(".jp-Dialog .jp-mod-reject")
        while dialogs.count():
            dialogs.first.click()
        self.page.evaluate("""async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            if (!panel || !panel.sessionContext) return;
            await panel.sessionContext.shutdown();
            panel.context.model.dirty = false;
            panel.dispose();
        }""")
