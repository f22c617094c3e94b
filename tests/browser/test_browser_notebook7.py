"""A lesson in Notebook 7 (the `notebook` package): its Dashboard played and paused by a learner's clicks.

Notebook 7 is the classic notebook's successor, built from JupyterLab's parts
but with pages of its own: the file browser at `/tree`, each notebook at
`/notebooks/<path>`. The test opens the file browser, then the optimizers
lesson's page from a fresh copy, runs it with "Run All" and takes the
playground Dashboard at its end: Play makes the step count rise and the loss
curve and the decision boundary paint their canvases anew; Pause stops the step count
within a second, and the pictures stay as they are while it is paused. The
same checks as in JupyterLab hold: no error output, every widget rendered, no
request to any host but 127.0.0.1, and no page or console error beyond those
Notebook 7 itself raises on a notebook with one `print` cell (measured first).
"""

from __future__ import annotations

import time

import pytest
from live_status import StatusWatcher
from notebook7_page import Notebook7Page, front_end_errors
from notebook_files import REPO, fresh_copy

LESSON = REPO / "course" / "07_optimizers.ipynb"  # ends on a playground Dashboard with a decision boundary
RELPATH = f"main/course/{LESSON.name}"

# Counts the paints of a live view's canvas, in window.__ltBoundaryPaints.
JS_COUNT_PAINTS = """(el) => {
    window.__ltBoundaryPaints = 0;
    new MutationObserver(() => { window.__ltBoundaryPaints += 1; })
        .observe(el, {attributes: true, attributeFilter: ['data-lt-paints']});
}"""


@pytest.mark.browser
def test_lesson_dashboard_plays_and_pauses_in_notebook7(notebook7_app, notebook7_server, screenshot_dir):
    assert "main" in notebook7_app.tree_entries(), "the /tree file browser should list the server's root"
    own_page_errors, own_console_errors = front_end_errors(notebook7_app, notebook7_server.root)
    fresh_copy(LESSON, notebook7_server.root / RELPATH)
    notebook = Notebook7Page(notebook7_app, RELPATH)
    page = notebook.page
    stages: dict[str, float] = {}
    began = time.perf_counter()
    try:
        notebook.open()
        assert f"/notebooks/{RELPATH}" in page.url
        notebook.run_all(timeout_ms=240_000)
        assert notebook.error_outputs() == []
        assert notebook.expected_errors_missing() == []
        notebook.wait_widgets_rendered()
        stages["lesson run"] = time.perf_counter() - began

        dashboard = page.locator(".lt-dashboard").last
        play = dashboard.locator(".lt-play")
        curve = dashboard.locator(".lt-loss-curve [data-lt-paints]").first
        boundary = dashboard.locator(".lt-boundary [data-lt-paints]").first
        watcher = StatusWatcher(page, dashboard.locator(".lt-status"), curve)
        start = watcher.now()
        assert start["state"] != "running", (
            f"the playground should wait for Play, status reads {start['text']!r}"
        )
        notebook.expect_text(play, "Play")
        first_curve, first_boundary = notebook.image_digest(curve), notebook.image_digest(boundary)
        page.evaluate(JS_COUNT_PAINTS, boundary.element_handle())

        # Play: the steps rise, an epoch ends, and both pictures change.
        play.click()
        playing = watcher.wait(
            f"s.step > {start['step']} && s.epoch >= {start['epoch'] + 2} && r.pictureChanges >= 3",
            timeout_ms=20_000,
            what="steps rising, two epochs and 3 loss-curve paints after Play",
        )
        assert playing["state"] == "running", playing
        notebook.expect_text(play, "Pause")
        assert notebook.image_digest(curve) != first_curve, "the loss curve shows the same picture after Play"
        page.wait_for_function("() => window.__ltBoundaryPaints >= 1", timeout=10_000)
        assert notebook.image_digest(boundary) != first_boundary, (
            "the decision boundary did not change while playing"
        )
        shot = notebook.screenshot(screenshot_dir / "notebook7_playing.png", target=dashboard)
        stages["playing"] = time.perf_counter() - began

        # Pause: the step count stops within 1 s and stays still for 2 s; the pictures stay.
        paused_step, stop_delay_ms = watcher.press_pause(play)
        notebook.expect_text(play, "Play")
        watcher.reset_picture_count()
        paused_curve = notebook.image_digest(curve)
        watcher.wait("performance.now() - r.steps[r.steps.length - 1][0] >= 3000", timeout_ms=10_000,
                     what="step count still for 3 s after Pause")
        assert watcher.record()["pictureChanges"] == 0, "the loss curve kept painting while paused"
        assert notebook.image_digest(curve) == paused_curve
        stages["paused"] = time.perf_counter() - began

        print(
            f"\n[notebook7] {notebook.app.server.url}/notebooks/{RELPATH}: steps {start['step']} -> "
            f"{paused_step}, pause took effect in {stop_delay_ms:.0f} ms; screenshot: {shot}"
        )
        print("[notebook7] " + ", ".join(f"{name} {t:.1f} s" for name, t in stages.items()))
        # Only the errors Notebook 7 raises on any notebook page are allowed.
        assert set(notebook.page_errors) <= set(own_page_errors), (notebook.page_errors, own_page_errors)
        assert set(notebook.console_errors) <= set(own_console_errors), (
            notebook.console_errors,
            own_console_errors,
        )
        assert notebook.foreign_requests() == []
    finally:
        notebook.close()
