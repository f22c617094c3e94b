"""The Playground widget: one experiment live, settings that rebuild or apply live, config and code that round-trip."""

import numpy as np
import pytest
import torch
from frames import FakeTime, decode

from widgets import Playground
from widgets.playground import DATASETS, build
from widgets.playground.panel import CONTROLS
from widgets.views.clock import FrameClock
from widgets.views.style import class_colours

SMALL = {"n": 120, "batch_size": 20}


def playground(**settings) -> Playground:
    """A Playground whose frames cost nothing on a frozen clock, so every event may draw."""
    return Playground(clock=FrameClock(time_fn=FakeTime()), **{**SMALL, **settings})


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in model.state_dict().values()]


def test_every_dataset_builds_trains_and_draws_a_frame():
    for dataset in DATASETS:
        settings = {"dataset": dataset}
        if dataset == "own":
            settings = {"data": (torch.randn(40, 2) * 3, torch.arange(40) % 2)}
        pg = playground(**settings)
        before = pg.snapshot().data
        pg.trainer.fit(2, verbose=False)
        after = pg.snapshot().data
        assert before != after, f"{dataset}: the frame did not change after training"
        assert decode(after).shape[0] > 300
        pg.close()


def test_the_plane_shows_both_classes_and_the_network_one_map_per_unit():
    pg = playground(dataset="gauss", hidden=[6, 3], features=["x1", "x2", "x1^2"])
    pg.trainer.fit(15, verbose=False)
    scene = pg.scene
    plane = decode(pg.plane_image.value)
    blue, red = (np.argmax(colour) for colour in class_colours(2))  # the channel each class colour leans to
    leaning = plane[..., blue] - plane[..., red]
    assert (leaning > 15).mean() > 0.1 and (leaning < -15).mean() > 0.1  # the field takes both classes' hues
    assert [len(column) for column in scene.network.boxes] == [3, 6, 3, 2]  # features, two layers, two logits
    assert scene.test_accuracy is not None and scene.test_accuracy > 0.8
    units = [label for label, value in pg.focus.options if value is not None]
    assert len(units) == 3 + 6 + 3 + 2
    pg.close()


def test_focus_puts_one_units_map_in_the_large_view():
    pg = playground(dataset="circle", hidden=[4])
    output = decode(pg.plane_image.value)
    pg.focus.value = (0, 0)  # input x1: negative at the left, positive at the right
    x1 = decode(pg.plane_image.value)
    assert not np.array_equal(output, x1)
    middle = x1.shape[0] // 2
    left, right = x1[middle, 5], x1[middle, -6]
    assert left[2] > left[0] and right[0] > right[2]  # blue on the left, red on the right
    pg.focus.value = None
    assert np.array_equal(decode(pg.plane_image.value), output)
    pg.close()


def test_a_learning_rate_change_applies_live_and_a_structure_change_rebuilds():
    pg = playground(dataset="xor", hidden=[4])
    trainer = pg.trainer
    trainer.fit(1, verbose=False)
    steps = trainer.global_step
    pg.set(lr=0.1)
    assert pg.trainer is trainer and trainer.global_step == steps and pg.config["lr"] == 0.1
    trainer.step()
    assert trainer.history.step_column("lr")[-1] == pytest.approx(0.1)
    pg.set(hidden=[4, 4], activation="relu")
    assert pg.trainer is not trainer and pg.trainer.global_step == 0
    assert pg.config["hidden"] == [4, 4] and pg.config["activation"] == "relu" and pg.config["lr"] == 0.1
    assert not trainer.listeners("step")  # the old trainer is left alone
    pg.close()


def test_a_bad_setting_is_refused_before_anything_changes():
    pg = playground()
    trainer, config, frame = pg.trainer, pg.config, pg.snapshot().data
    for bad, message in (({"hidden": [0]}, "hidden"), ({"activation": "swish"}, "activation"),
                         ({"features": []}, "feature"), ({"dataset": "moons"}, "dataset"), ({"depth": 3}, "unknown")):
        with pytest.raises((TypeError, ValueError), match=message):
            pg.set(**bad)
        assert pg.trainer is trainer and pg.config == config and pg.snapshot().data == frame
    pg.close()


def test_the_controls_change_the_experiment_and_an_impossible_choice_is_explained():
    pg = playground(dataset="circle", features=["x1"])
    pg.panel.dataset.value = "xor"
    assert pg.config["dataset"] == "xor" and pg.trainer.global_step == 0
    pg.panel.add_layer.click()
    assert pg.config["hidden"] == [4, 2, 2]
    pg.panel.features["x1"].value = False  # the only input: refused, and the toggle comes back
    assert pg.config["features"] == ["x1"] and pg.panel.features["x1"].value
    assert "feature" in pg.message.value
    seed = pg.config["seed"]
    pg.panel.regenerate.click()
    assert pg.config["seed"] == seed + 1
    pg.close()


def test_config_and_code_rebuild_the_same_experiment_bitwise():
    pg = playground(dataset="spiral", hidden=[5, 3], features=["x1", "x2", "sin(x1)"], regularization="l1",
                    reg_rate=0.001, optimizer="adam", lr=0.01)
    again = Playground(**pg.config)
    assert again.config == pg.config
    assert all(torch.equal(a, b) for a, b in zip(weights(again.model), weights(pg.model), strict=True))
    namespace: dict = {}
    exec(pg.code(), namespace)
    pg.trainer.fit(3, verbose=False)
    namespace["trainer"].fit(3, verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(weights(namespace["model"]), weights(pg.model), strict=True))
    again.close()
    pg.close()


def test_own_data_shows_a_confusion_matrix_of_its_classes_and_a_regression_none():
    torch.manual_seed(0)
    x = torch.randn(60, 2) * 3
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()  # three classes
    pg = playground(data=(x, y))
    pg.trainer.fit(3, verbose=False)
    assert pg.config["dataset"] == "own" and pg.confusion.value.count("<tr>") == 1 + 3
    pg.close()
    regression = playground(dataset="reg-plane")
    regression.trainer.fit(2, verbose=False)
    assert regression.confusion.value == "" and regression.scene.test_accuracy is None
    regression.close()
    with pytest.raises(TypeError, match="data must be a pair"):
        Playground(data=x)


def test_hide_takes_controls_away_and_names_the_known_ones():
    pg = playground(hide=["activation", "features", "lr"])
    assert pg.panel.activation.layout.display == "none" and pg.controls.lr_slider.layout.display == "none"
    assert pg.panel.dataset.layout.display != "none"
    pg.set(hidden=[3])  # a rebuild keeps the learning rate hidden
    assert pg.controls.lr_slider.layout.display == "none"
    pg.close()
    with pytest.raises(ValueError, match="unknown controls"):
        Playground(hide=["colour"])
    assert "activation" in CONTROLS and "layers" in CONTROLS


def test_close_leaves_no_subscriber_on_the_trainer():
    pg = playground()
    trainer = pg.trainer
    pg.close()
    assert all(not trainer.listeners(event) for event in ("step", "epoch", "state", "reset"))
    assert pg.closed


def test_the_widget_trains_the_same_weights_as_the_plain_setup():
    config = {**SMALL, "dataset": "circle", "hidden": [3], "dropout": 0.2}
    pg = playground(**config)
    pg.trainer.fit(2, verbose=False)
    trained = weights(pg.model)
    plain = build(config)  # seeds torch's global generator as the Playground did when it was built
    plain.trainer.fit(2, verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(weights(plain.model), trained, strict=True))
    pg.close()
