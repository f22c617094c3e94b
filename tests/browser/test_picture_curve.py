"""The loss curve's page module, run alone in Chromium: what it paints from the rows the kernel sends."""

from __future__ import annotations

import numpy as np
import pytest

from widgets import LossCurve
from widgets.views.pacer import Pacer

pytestmark = pytest.mark.browser

TRAIN_BLUE = np.array([0x1F, 0x77, 0xB4])


def _blue_columns(pixels: np.ndarray) -> np.ndarray:
    """The x of every canvas column holding a pixel close to the training blue."""
    close = np.abs(pixels[..., :3].astype(int) - TRAIN_BLUE).sum(axis=2) < 60
    return np.flatnonzero(close.any(axis=0))


def _fed(curve: LossCurve, start: int, stop: int) -> None:
    for step in range(start, stop):
        curve.log(step, 2.0 / (1 + 0.01 * step))


def test_curve_paints_the_rows_it_receives_and_only_new_rows_travel(picture_page):
    curve = LossCurve(pacer=Pacer(fps=0.001))  # sends only when told to
    _fed(curve, 1, 201)
    curve.flush()
    index = picture_page.load(curve.picture)
    picture_page.settle()
    first = _blue_columns(picture_page.pixels(index))
    assert len(first) > 50, "the loss line should cross the panel"

    _fed(curve, 201, 2001)
    curve.collect()
    described, buffers = curve.picture.changes()
    assert {c["name"]: (c["op"], c["start"]) for c in described} == {"step": ("extend", 200),
                                                                     "loss": ("extend", 200)}
    assert sum(len(b) for b in buffers) == 1800 * (4 + 4), "only the 1,800 new rows travel"
    picture_page.deliver(index, curve.picture)
    picture_page.settle()
    later = _blue_columns(picture_page.pixels(index))
    assert later.max() >= first.max(), "the line reaches at least as far right"
    assert picture_page.paints(index)["count"] >= 2
    assert picture_page.errors == []
    picture_page.page.screenshot(path="artifacts/curve_alone.png")


def test_rows_missed_by_the_page_are_asked_for_again(picture_page):
    curve = LossCurve()
    _fed(curve, 1, 50)
    curve.update()  # sent before the page existed: the page opened later holds none of it
    index = picture_page.load(curve.picture)
    _fed(curve, 50, 60)
    curve.collect()
    picture_page.deliver(index, curve.picture)
    assert picture_page.sent(index) == [{"type": "resync"}]


def test_readout_names_the_step_under_the_pointer(picture_page):
    curve = LossCurve(smoothing=0.0)
    _fed(curve, 1, 101)
    curve.flush()
    index = picture_page.load(curve.picture)
    picture_page.settle()
    width = curve.picture.width
    text = picture_page.hover(index, width * 0.6 * 0.5, curve.picture.height / 2)
    assert text.startswith("step "), text
    step = int(text.split("\n")[0].split()[1].replace(",", ""))
    assert 1 <= step <= 100
    assert f"loss {2.0 / (1 + 0.01 * step):.4g}"[:9] in text


def test_log_scale_switched_in_the_page_reaches_the_kernel_side_option(picture_page):
    curve = LossCurve()
    _fed(curve, 1, 300)
    curve.flush()
    index = picture_page.load(curve.picture)
    picture_page.settle()
    linear = picture_page.pixels(index)
    picture_page.locator(index, ".lt-curve-log input").check()
    picture_page.settle()
    assert picture_page.model_value(index, "log_scale") is True
    assert not np.array_equal(linear,
                              picture_page.pixels(index)), "the log axis is drawn at once, in the page"
