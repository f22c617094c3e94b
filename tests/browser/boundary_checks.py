"""Going back through a DecisionBoundary's epochs with its slider.

The boundary view (`.lt-boundary`) holds its image and an epoch slider
(`.lt-boundary-slider`). Frames are compared by the SHA-256 of the image bytes,
since every new image gets a new blob: address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lab_page import NotebookPage
    from playwright.sync_api import Locator

JS_IMAGE_REPLACED = "([img, old]) => img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0"


@dataclass
class SliderFrames:
    """What the slider showed: epoch readouts and image digests at each position visited."""

    first_epoch: int
    last_epoch: int
    first_digest: str
    last_digest: str
    first_again_digest: str
    last_again_digest: str


def _type_and_wait(notebook: NotebookPage, readout: Locator, image: Locator, epoch: int) -> str:
    """Type `epoch` into the slider's readout (as a learner can), wait for the new frame, return its digest.

    The readout rather than Home/End: with ipywidgets 8.1 the End key of a
    slider whose range grew after it was drawn lands on the old maximum.
    """
    old_src = image.get_attribute("src")
    readout.click()
    notebook.page.keyboard.press("Control+A")
    notebook.page.keyboard.type(str(epoch))
    notebook.page.keyboard.press("Enter")
    try:
        notebook.page.wait_for_function(JS_IMAGE_REPLACED, arg=[image.element_handle(), old_src], timeout=10_000)
    except Exception as error:
        raise AssertionError(f"no new boundary image within 10 s after choosing epoch {epoch} on the slider") from error
    notebook.expect_text(readout, str(epoch))
    return notebook.image_digest(image)


def walk_epoch_slider(notebook: NotebookPage, boundary: Locator) -> SliderFrames:
    """Visit the slider's first, last, first and last epochs; return the digests seen."""
    slider = boundary.locator(".lt-boundary-slider")
    handle = slider.locator(".noUi-handle")
    readout = slider.locator(".widget-readout")
    image = boundary.locator("img").first
    try:
        notebook.page.wait_for_function("el => !el.closest('.noUi-target').hasAttribute('disabled')",
                                        arg=handle.element_handle(), timeout=10_000)
    except Exception as error:
        raise AssertionError(
            f"the epoch slider stays disabled; it spans epochs {handle.get_attribute('aria-valuemin')} to "
            f"{handle.get_attribute('aria-valuemax')} (a slider needs two stored epochs or more)"
        ) from error
    low = int(float(handle.get_attribute("aria-valuemin")))
    high = int(float(handle.get_attribute("aria-valuemax")))
    assert high > low, f"the epoch slider spans a single epoch ({low}); two or more were expected"

    first = _type_and_wait(notebook, readout, image, low)
    last = _type_and_wait(notebook, readout, image, high)
    first_again = _type_and_wait(notebook, readout, image, low)
    last_again = _type_and_wait(notebook, readout, image, high)
    return SliderFrames(low, high, first, last, first_again, last_again)
