"""The custom view of docs/custom-views.md, its page half run in Chromium: one line per layer."""

from __future__ import annotations

import pytest
from guide_view import guide_view

pytestmark = pytest.mark.browser


def test_the_guide_s_view_paints_a_line_per_layer(picture_page):
    view, trainer = guide_view()
    trainer.fit(3)
    index = picture_page.load(view.picture)
    picture_page.settle()
    pixels = picture_page.pixels(index)[..., :3].astype(int)
    saturated = pixels[(pixels.max(axis=2) - pixels.min(axis=2)) > 80]
    hues = {tuple((c // 64).tolist()) for c in saturated}
    assert len(hues) >= 3, f"three coloured lines expected, saw colour groups {hues}"
    assert picture_page.errors == []
    view.close()
