"""Going back through a DecisionBoundary's epochs with its slider, in the page.

The boundary view (`.lt-boundary`) paints a canvas and holds its epoch slider,
an `<input type=range>` of the page's own (`.lt-boundary-epoch`): the kept
epochs are in the page already, so moving it repaints without asking the
kernel. Frames are compared by the SHA-256 of the canvas pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab_page import NotebookPage
    from playwright.sync_api import Locator

# A new paint that shows the epoch itself, not the grey of a kept epoch still on its way from the kernel.
JS_PAINTED_SINCE = "([el, before]) => Number(el.dataset.ltPaints) > before && el.dataset.ltWaiting !== '1'"


@dataclass
class SliderFrames:
    """What the slider showed: the epochs at its ends and the canvas digests at each position visited."""

    first_epoch: int
    last_epoch: int
    first_digest: str
    last_digest: str
    first_again_digest: str
    last_again_digest: str


def _move_and_wait(notebook: NotebookPage, slider: Locator, picture: Locator, epoch: int) -> str:
    """Move the slider to `epoch` as a learner drags it, wait for the repaint, return the canvas's digest."""
    before = int(picture.get_attribute("data-lt-paints") or 0)
    slider.fill(str(epoch))  # sets the value and fires "input", as a drag does
    try:
        notebook.page.wait_for_function(
            JS_PAINTED_SINCE, arg=[picture.element_handle(), before], timeout=10_000
        )
    except Exception as error:
        raise AssertionError(
            f"the boundary did not repaint within 10 s after moving its slider to epoch {epoch}"
        ) from error
    notebook.page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return notebook.image_digest(picture)


def walk_epoch_slider(notebook: NotebookPage, boundary: Locator) -> SliderFrames:
    """Visit the slider's first, last, first and last epochs; return the digests seen."""
    slider = boundary.locator("input.lt-boundary-epoch")
    picture = boundary.locator("[data-lt-paints]").first
    try:
        notebook.page.wait_for_function("el => !el.disabled", arg=slider.element_handle(), timeout=10_000)
    except Exception as error:
        raise AssertionError(
            f"the epoch slider stays disabled; it spans epochs {slider.get_attribute('min')} to "
            f"{slider.get_attribute('max')} (a slider needs two kept epochs or more)"
        ) from error
    low, high = int(slider.get_attribute("min")), int(slider.get_attribute("max"))
    assert high > low, f"the epoch slider spans a single epoch ({low}); two or more were expected"
    first = _move_and_wait(notebook, slider, picture, low)
    last = _move_and_wait(notebook, slider, picture, high)
    first_again = _move_and_wait(notebook, slider, picture, low)
    last_again = _move_and_wait(notebook, slider, picture, high)
    return SliderFrames(low, high, first, last, first_again, last_again)
