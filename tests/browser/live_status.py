"""Reading a TrainerControls status line and a probe cell's answer, in the page and in Python.

The status line reads like "epoch 3 · step 412 · loss 0.2314 · lr 0.3 · 1,234 steps/s · running"
(`widgets.views.controls.STATUS_FORMAT`). A recorder installed in the page notes the
time of every change of its step count and every change of a picture (a new
`src` of an image, or a paint of a live view's canvas: its `data-lt-paints`), so
tests can wait on conditions ("the step count has not moved for 2 s") instead
of sleeping.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

STATUS_PATTERN = re.compile(
    # the loss is left out where a page shows losses of its own (TrainerControls(show_loss=False))
    r"epoch (?P<epoch>[\d,]+) · step (?P<step>[\d,]+) · (?:loss (?P<loss>\S+) · )?lr (?P<lr>\S+) · "
    r"(?P<rate>[\d,.]+) steps/s · (?P<state>\w+)"
)

# Same pattern in JavaScript: window.__ltStatus(text) -> {epoch, step, lr, state} or null.
JS_DEFINE_PARSER = r"""() => {
    window.__ltStatus = (text) => {
        const pattern = new RegExp("epoch ([\\d,]+) · step ([\\d,]+) · (?:loss (\\S+) · )?"
                                   + "lr (\\S+) · ([\\d,.]+) steps/s · (\\w+)");
        const m = pattern.exec(text || '');
        const int = (digits) => Number(digits.replace(/,/g, ''));
        return m ? {epoch: int(m[1]), step: int(m[2]), lr: Number(m[4]), state: m[6]} : null;
    };
}"""

# Records into window.__ltRecord: steps [[ms, step], ...] (a row per change), pictureChanges (new src or
# paint).
JS_INSTALL_RECORDER = r"""([status, picture]) => {
    const record = window.__ltRecord = {steps: [], pictureChanges: 0};
    const step = () => { const s = window.__ltStatus(status.textContent); return s ? s.step : null; };
    let last = step();
    record.steps.push([performance.now(), last]);
    new MutationObserver(() => {
        const now = step();
        if (now !== last) { last = now; record.steps.push([performance.now(), now]); }
    }).observe(status, {subtree: true, childList: true, characterData: true});
    new MutationObserver(() => { record.pictureChanges += 1; })
        .observe(picture, {attributes: true, attributeFilter: ['src', 'data-lt-paints']});
}"""

PROBE_PATTERN = re.compile(
    r"probe step=(?P<step>\d+) epoch=(?P<epoch>\d+) lr=(?P<lr>\S+) lr_used=(?P<lr_used>\S+) "
    r"state=(?P<state>\w+)"
)

PROBE_CELL = """
lr_used = trainer.history.step_column("lr")[-1] if len(trainer.history) else float("nan")
print(f"probe step={trainer.global_step} epoch={trainer.epoch} lr={trainer.lr:.6g} lr_used={lr_used:.6g} "
      f"state={trainer.state}")
"""


def parse_status(text: str) -> dict:
    """The status line's fields: epoch, step (ints), lr (float), state (str)."""
    match = STATUS_PATTERN.search(text)
    if match is None:
        raise AssertionError(f"status line not in the expected format: {text!r}")
    return {"epoch": int(match["epoch"].replace(",", "")), "step": int(match["step"].replace(",", "")),
            "lr": float(match["lr"]),
            "state": match["state"], "text": text}


def parse_probe(text: str) -> dict:
    """The probe cell's answer: step, epoch (ints), lr, lr_used (floats), state."""
    match = PROBE_PATTERN.search(text)
    if match is None:
        raise AssertionError(f"probe output not in the expected format: {text!r}")
    return {"step": int(match["step"]), "epoch": int(match["epoch"]), "lr": float(match["lr"]),
            "lr_used": float(match["lr_used"]), "state": match["state"]}


class StatusWatcher:
    """Watches one status line (and one picture: an <img>, or a live view's element with data-lt-paints)."""

    def __init__(self, page: Page, status: Locator, picture: Locator) -> None:
        self.page = page
        self.status = status
        self.picture = picture
        page.evaluate(JS_DEFINE_PARSER)
        page.evaluate(JS_INSTALL_RECORDER, [status.element_handle(), picture.element_handle()])

    def now(self) -> dict:
        """The status line as it reads now."""
        return parse_status(self.status.inner_text())

    def page_clock(self) -> float:
        """The page's `performance.now()` in ms, the clock the recorder stamps changes with."""
        return self.page.evaluate("() => performance.now()")

    def wait(self, condition: str, timeout_ms: int = 10_000, what: str = "") -> dict:
        """Wait until a JS `condition` holds; it sees `s` (the parsed status) and `r` (the record)."""
        script = f"""(status) => {{
            const s = window.__ltStatus(status.textContent);
            const r = window.__ltRecord;
            return !!s && ({condition});
        }}"""
        try:
            self.page.wait_for_function(script, arg=self.status.element_handle(), timeout=timeout_ms)
        except Exception as error:
            record = self.record()
            raise AssertionError(
                f"{what or condition}: not seen within {timeout_ms} ms; status reads "
                f"{self.status.inner_text()!r}; {len(record['steps']) - 1} step-count changes and "
                f"{record['pictureChanges']} picture changes recorded"
            ) from error
        return self.now()

    def record(self) -> dict:
        """The recorder's data: steps [[ms, step], ...] and pictureChanges."""
        return self.page.evaluate("() => window.__ltRecord")

    def reset_picture_count(self) -> None:
        """Start counting picture changes from zero."""
        self.page.evaluate("() => { window.__ltRecord.pictureChanges = 0; }")

    def press_pause(
        self, button: Locator, within_ms: float = 1000, still_ms: int = 2000
    ) -> tuple[int, float]:
        """Click Pause; the step count must stop within `within_ms` of the click, stay still `still_ms`, and
        the status must say paused at that step. Returns the paused step and the ms from the click to its last
        change."""
        clicked_at = self.page_clock()
        button.click()
        self.wait(f"performance.now() - r.steps[r.steps.length - 1][0] >= {still_ms}", timeout_ms=10_000,
                  what=f"step count still for {still_ms} ms after Pause")
        last_change_ms, paused_step = self.record()["steps"][-1]
        stop_delay_ms = max(0.0, last_change_ms - clicked_at)
        assert stop_delay_ms <= within_ms, f"the step count still moved {stop_delay_ms:.0f} ms after Pause"
        paused = self.wait("s.state === 'paused'", timeout_ms=5_000, what="status saying paused")
        assert paused["step"] == paused_step
        return paused_step, stop_delay_ms
