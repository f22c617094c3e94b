"""The README's example in JupyterLab: every Dashboard picture repaints ten or more times a second while it
trains.

The notebook is the README's "In ten lines" with a longer `play`, so the rate
is measured over seconds, not over the README's quarter-second run. Paints are
counted in the page (a canvas whose pixels changed, checked on every animation
frame: paint_counter.py), and each picture's own cost per paint is read from
its counters. When the run is paused, the loss curve's last point is the
trainer's last step.
"""

from __future__ import annotations

import re
import time

import pytest
from lab_page import NotebookPage
from live_status import StatusWatcher
from notebook_files import REPO, write_notebook
from paint_counter import PaintCounter

PICTURES = ("lt-loss-curve-picture#1", "lt-boundary-picture#1", "lt-module-inspector-picture#1")
MIN_RATE = 10.0  # paints a second, each picture
MAX_PAINT_MS = 8.0  # mean cost of a paint, each picture
WINDOW_S = 5.0


def readme_cells() -> list[str]:
    """The README's ten lines, split where a learner splits them, with `play(3000)`: about 12 s here."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## In ten lines\n\n```python\n(.*?)```", readme, flags=re.S).group(1)
    setup, show, play = block.split("dashboard = Dashboard")[0], "dashboard = Dashboard", ""
    lines = block.splitlines()
    show = next(line for line in lines if line.startswith("dashboard = Dashboard")).split("#")[0].strip()
    assert any(line.startswith("trainer.play(") for line in lines), (
        "the README's example should end on trainer.play"
    )
    play = "_ = trainer.play(3000)"
    return ["#md # The README's example, played long", setup, show + "\ndashboard", play]


@pytest.mark.browser
def test_every_dashboard_picture_repaints_ten_times_a_second(lab_app, lab_server, screenshot_dir):
    relpath = "rates/readme_dashboard.ipynb"
    write_notebook(lab_server.root / relpath, readme_cells())
    notebook = NotebookPage(lab_app, relpath)
    page = notebook.page
    try:
        notebook.open()
        counter = PaintCounter(page, within=".jp-NotebookPanel:not(.lm-mod-hidden)")  # this notebook only
        notebook.run_all()
        assert notebook.error_outputs() == []
        notebook.wait_widgets_rendered()
        dashboard = page.locator(".lt-dashboard")
        watcher = StatusWatcher(page, dashboard.locator(".lt-status"),
                                dashboard.locator(".lt-loss-curve [data-lt-paints]").first)
        watcher.wait("s.state === 'running' && s.step > 50", timeout_ms=20_000, what="training under way")
        start = counter.now()
        time.sleep(WINDOW_S)
        end = counter.now()
        rates = counter.rates(start, end)
        gaps = counter.longest_gaps(start, end)
        costs = counter.costs()
        running = watcher.now()
        shot = notebook.screenshot(screenshot_dir / "readme_dashboard_playing.png", target=dashboard)
        print(f"\n[rates] paints/s over {WINDOW_S:.0f} s: " + ", ".join(f"{k} {v:.1f}" for k,
                                                                        v in sorted(rates.items())))
        print(
            "[rates] longest gap between paints (ms): "
            + ", ".join(f"{k} {v:.0f}" for k, v in sorted(gaps.items()))
        )
        print(
            "[rates] ms per paint: "
            + ", ".join(
                f"{k} mean {v['mean_ms']:.2f} max {v['max_ms']:.1f} ({v['paints']})"
                for k, v in sorted(costs.items())
            )
        )
        print(f"[rates] status while measuring: {running['text']}; screenshot: {shot}")
        assert running["state"] == "running", (
            "the run ended before the window closed: measure over a longer play"
        )
        for picture in PICTURES:
            assert rates.get(picture, 0.0) >= MIN_RATE, (
                f"{picture} repainted {rates.get(picture, 0.0):.1f} times a second"
            )
        for name, cost in costs.items():
            assert cost["mean_ms"] <= MAX_PAINT_MS, f"{name}: {cost['mean_ms']:.2f} ms a paint on average"

        # Pause: the curve's last point is the trainer's last step.
        paused_step, _ = watcher.press_pause(dashboard.locator(".lt-play"))
        canvas = dashboard.locator(".lt-loss-curve canvas").first
        box = canvas.bounding_box()
        readout = dashboard.locator(".lt-loss-curve .lt-readout")
        page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] / 2)
        # past the data: the last row
        page.mouse.move(box["x"] + box["width"] * 0.57, box["y"] + box["height"] / 2)
        text = readout.inner_text()
        last = int(text.splitlines()[0].split()[1].replace(",", ""))
        assert last == paused_step, f"the curve ends at step {last}, the trainer paused at {paused_step}"
        assert notebook.page_errors == [] and notebook.console_errors == []
        assert notebook.foreign_requests() == []
    finally:
        notebook.close()
