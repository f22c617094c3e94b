"""The Playground's controls stay visible unless asked away, and the "show" menu names what it shows."""

from __future__ import annotations

import pytest

from widgets import Playground

SMALL = {"n": 60, "resolution": 16, "size": 100}

SETTINGS = ("dataset", "noise", "train_ratio", "batch_size", "activation", "dropout", "regularization",
            "reg_rate", "loss", "optimizer")


def _hidden(pg: Playground) -> set[str]:
    """The settings hidden from the page; the dataset dropdown only shows for a learner's own data (the
    thumbnails choose among the problems), so it is left out."""
    hidden = {name for name in (*SETTINGS, "classes") if getattr(pg.panel, name).layout.display == "none"}
    return hidden - {"dataset"}


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


def test_the_output_shows_itself_again_after_a_rebuild(pg):
    assert pg.focus is None
    pg.show_unit(1, 0)
    assert pg.focus == (1, 0) and pg.output_picture.options["focus"] == "h1.0"
    pg.set(hidden=[3, 3])
    assert pg.focus is None and pg.output_picture.options["focus"] is None


def test_every_value_the_settings_take_is_shown_as_it_is():
    # off-menu rates join the menus; the dropout slider reaches the end of the range the check takes
    pg = Playground(**SMALL, reg_rate=0.05, regularization="l2", dropout=0.85, batch_size=64, lr=10)
    panel = pg.panel
    assert panel.reg_rate.value == 0.05 and 0.05 in panel.reg_rate.options and 0.03 in panel.reg_rate.options
    assert panel.dropout.value == 0.85 and panel.batch_size.value == 64 and panel.regularization.value == "l2"
    assert pg.controls.lr_slider.value == 10 and pg.trainer.lr == 10
    pg.set(reg_rate=0.7, dropout=0.15, batch_size=5, lr=1e-5)
    assert (panel.reg_rate.value, panel.dropout.value, panel.batch_size.value) == (0.7, 0.15, 5)
    assert pg.controls.lr_slider.value == pytest.approx(1e-5) and pg.trainer.lr == 1e-5
    assert pg.config["reg_rate"] == 0.7 and pg.config["lr"] == 1e-5
    pg.close()


def test_the_regularization_menu_always_shows_a_choice():
    pg = Playground(**SMALL)
    menu = pg.panel.regularization
    assert menu.value == "none" and menu.label == "none" and pg.config["regularization"] is None
    for kind in ("l1", "l2", "none"):
        menu.value = kind  # as the learner picks it
        assert menu.label == kind.upper() if kind != "none" else menu.label == "none"
        assert pg.config["regularization"] == (None if kind == "none" else kind)
    pg.close()


@pytest.mark.parametrize(("change", "message"), [
    ({"lr": 20}, r"lr must be a number in \[1e-05, 10\], got 20.0"),
    ({"lr": 1e-7}, r"lr must be a number in \[1e-05, 10\], got 1e-07"),
    ({"reg_rate": 11}, r"reg_rate must be a number in \[0, 10\], got 11.0"),
    ({"dropout": 0.9}, r"dropout must be a number in \[0, 0.85\], got 0.9"),
])
def test_a_rate_out_of_range_is_refused_alike_by_the_constructor_and_set_before_anything_changes(
        change, message):
    with pytest.raises(ValueError, match=message):
        Playground(**SMALL, **change)
    pg = Playground(**SMALL)
    trainer, config, lr = pg.trainer, pg.config, pg.controls.lr_slider.value
    with pytest.raises(ValueError, match=message):
        pg.set(hidden=[3], **change)  # all or nothing: the valid part of the change is not applied either
    assert pg.trainer is trainer and pg.config == config and pg.controls.lr_slider.value == lr
    assert pg.panel.dropout.value == config["dropout"] and pg.panel.reg_rate.value == config["reg_rate"]
    pg.close()
