"""The Dashboard, clicked as a learner clicks it, while a spiral MLP trains in the kernel.

The notebook builds a small Trainer on `widgets.data.spirals`, shows
`Dashboard(trainer, x, y)` and starts `trainer.play()`. The test then plays,
pauses, steps, runs an epoch, resets, types a new learning rate and plays
again, reading the status line after each press and asking the kernel itself
(a probe cell run while training goes on) what the trainer did.
"""

from __future__ import annotations

import math
import time

import pytest
from lab_page import NotebookPage
from live_status import PROBE_CELL, StatusWatcher, parse_probe
from notebook_files import spiral_trainer_setup, write_notebook

SETUP = spiral_trainer_setup("Dashboard", points=400, seed=0)

SHOW = "Dashboard(trainer, x, y)"
PLAY = "_ = trainer.play()"
CELLS = ["#md # Dashboard under a learner's clicks", SETUP, SHOW, PLAY, PROBE_CELL]
PROBE_INDEX = 4

NEW_LR = 0.005
PROBE_ANSWER_S = 2.5  # "answers at once": measured 146 to 464 ms here


def _close(a: float, b: float, rel: float = 0.01) -> bool:
    return math.isclose(a, b, rel_tol=rel)


@pytest.mark.browser
def test_dashboard_under_clicks(lab_app, lab_server, screenshot_dir):
    relpath = "dashboard/dashboard_clicks.ipynb"
    write_notebook(lab_server.root / relpath, CELLS)
    notebook = NotebookPage(lab_app, relpath)
    page = notebook.page
    stages: dict[str, float] = {}
    began = time.perf_counter()

    def done(stage: str) -> None:
        stages[stage] = time.perf_counter() - began

    try:
        notebook.open()
        notebook.run_all()
        assert notebook.error_outputs() == []
        notebook.wait_widgets_rendered()
        dashboard = page.locator(".lt-dashboard")
        play = dashboard.locator(".lt-play")
        curve = dashboard.locator(".lt-loss-curve [data-lt-paints]").first
        watcher = StatusWatcher(page, dashboard.locator(".lt-status"), curve)
        start = watcher.now()
        done("rendered")

        # Play (started by the notebook): steps rise and the loss curve redraws.
        watcher.wait(f"s.step > {start['step']} && r.pictureChanges >= 3", timeout_ms=10_000,
                     what="step count rising and 3 loss-curve paints while playing")
        assert play.inner_text().strip() == "Pause", "the Play toggle should offer Pause while training"
        shot = notebook.screenshot(screenshot_dir / "dashboard_playing.png", target=dashboard)
        done("playing")

        # A second cell answers at once while training goes on.
        before_probe = watcher.now()
        answer, latency = notebook.run_cell(PROBE_INDEX, timeout_ms=int(PROBE_ANSWER_S * 1000))
        probe = parse_probe(answer)
        assert probe["state"] == "running" and probe["step"] >= before_probe["step"], (probe, before_probe)
        watcher.wait(f"s.step > {probe['step']}", timeout_ms=5_000, what="training going on after the probe")
        done("probe while playing")

        # Pause: the step count stops within 1 s and stays still for 2 s.
        paused_step, stop_delay_ms = watcher.press_pause(play)
        assert parse_probe(notebook.run_cell(PROBE_INDEX)[0])["step"] == paused_step
        notebook.expect_text(play, "Play")
        done("pause")

        # Step: exactly one more step.
        dashboard.locator(".lt-step").click()
        stepped = watcher.wait(f"s.step === {paused_step + 1} && s.state !== 'running'", timeout_ms=10_000,
                               what="one step after Step")
        probe = parse_probe(notebook.run_cell(PROBE_INDEX)[0])
        assert probe["step"] == paused_step + 1 == stepped["step"], (probe, stepped)
        done("step")

        # Epoch: to the end of the current epoch, the epoch count one higher.
        epoch_before = stepped["epoch"]
        dashboard.locator(".lt-epoch").click()
        after_epoch = watcher.wait(
            f"s.epoch === {epoch_before + 1} && s.state !== 'running'",
            timeout_ms=15_000,
            what="one more epoch after Epoch",
        )
        probe = parse_probe(notebook.run_cell(PROBE_INDEX)[0])
        assert probe["epoch"] == epoch_before + 1 and probe["step"] == after_epoch["step"], (
            probe,
            after_epoch,
        )
        assert after_epoch["step"] > stepped["step"]
        done("epoch")

        # Reset: back to step 0.
        dashboard.locator(".lt-reset").click()
        watcher.wait("s.step === 0 && s.epoch === 0", timeout_ms=10_000, what="step 0 after Reset")
        probe = parse_probe(notebook.run_cell(PROBE_INDEX)[0])
        assert probe["step"] == 0 and probe["epoch"] == 0, probe
        done("reset")

        # Learning rate: typed into the slider's readout, shown by the status line, used by the next steps.
        readout = dashboard.locator(".lt-lr .widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(NEW_LR))
        page.keyboard.press("Enter")
        with_lr = watcher.wait(f"Math.abs(s.lr - {NEW_LR}) <= {NEW_LR} * 0.01", timeout_ms=10_000,
                               what=f"status showing lr {NEW_LR}")
        play.click()
        watcher.wait(f"s.step > {with_lr['step'] + 20} && s.state === 'running'", timeout_ms=10_000,
                     what="steps rising after Play with the new learning rate")
        probe = parse_probe(notebook.run_cell(PROBE_INDEX)[0])
        assert _close(probe["lr"], NEW_LR) and _close(probe["lr_used"], NEW_LR), probe
        assert _close(watcher.now()["lr"], NEW_LR)
        done("learning rate")

        print(f"\n[dashboard] probe answered in {latency * 1000:.0f} ms while playing; "
              f"pause took effect in {stop_delay_ms:.0f} ms; screenshot: {shot}")
        print("[dashboard] " + ", ".join(f"{name} {t:.1f} s" for name, t in stages.items()))
        assert notebook.page_errors == [], notebook.page_errors
        assert notebook.console_errors == [], notebook.console_errors
        assert notebook.foreign_requests() == []
    finally:
        notebook.close()

