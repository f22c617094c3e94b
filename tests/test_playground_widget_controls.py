"""The Playground's controls stay visible unless asked away, and the "show" menu names what it shows."""

from __future__ import annotations

import pytest

from widgets import Playground

SETTINGS = ("dataset", "noise", "train_ratio", "batch_size", "activation", "dropout", "regularization", "reg_rate",
            "loss", "optimizer")


def _hidden(pg: Playground) -> set[str]:
    return {name for name in (*SETTINGS, "classes") if getattr(pg.panel, name).layout.display == "none"}


@pytest.fixture(scope="module")
def pg() -> Playground:
    return Playground(resolution=16, size=100)


def test_only_the_class_count_is_hidden_away_from_blobs(pg):
    assert _hidden(pg) == {"classes"}


def test_blobs_shows_the_class_count_and_everything_else(pg):
    pg.set(dataset="blobs")
    assert _hidden(pg) == set()
    pg.set(dataset="circle")
    assert _hidden(pg) == {"classes"}


def test_hiding_one_control_hides_only_that_one():
    pg = Playground(hide=["noise"], resolution=16, size=100)
    assert _hidden(pg) == {"noise", "classes"}


def test_show_menu_starts_on_output_and_returns_there_after_a_rebuild(pg):
    assert pg.focus.label == "output"
    pg.focus.index = len(pg.focus.options) - 1
    assert pg.focus.label.startswith("unit")
    pg.set(hidden=[3, 3])
    assert pg.focus.label == "output"
    assert pg.focus.value is None
