"""The Playground widget: one experiment live in a browser-drawn page, settings that rebuild or apply live,
clicks and hovers from the page, weights edited by hand and replayed, config and code that round-trip.

The page's pictures are read as a page opened later reads them: the channels stored in each picture's
`data` trait (`stored`), after `finish()`, which a run's end calls."""

import time

import numpy as np
import pytest
import torch
from frames import decode
from pictures import Outbox, hand_pacer, stored

from widgets import Playground
from widgets.playground import DATASETS, build
from widgets.playground.edits import WeightEdit, replay
from widgets.playground.panel import CONTROLS

SMALL = {"n": 120, "batch_size": 20}


def playground(**settings) -> Playground:
    pacer, _ = hand_pacer()  # time stands still: nothing is sent during training unless a test asks
    return Playground(pacer=pacer, **{**SMALL, **settings})


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in model.state_dict().values()]


def field(pg: Playground) -> np.ndarray:
    return stored(pg.output_picture, "field")


def now(pg: Playground) -> np.ndarray:
    return stored(pg.output_picture, "now")[0]


def test_every_dataset_builds_trains_and_its_page_shows_the_change():
    for dataset in DATASETS:
        settings = {"dataset": dataset}
        if dataset == "own":
            settings = {"data": (torch.randn(40, 2) * 3, torch.arange(40) % 2)}
        pg = playground(**settings)
        before, still = field(pg).copy(), pg.snapshot().data
        pg.trainer.fit(2, verbose=False)
        assert not np.array_equal(field(pg), before), \
            f"{dataset}: the stored output did not change after training"
        assert now(pg)[0] == 2 and now(pg)[1] == pg.trainer.global_step
        after = pg.snapshot().data
        assert after != still and decode(after).shape[0] > 300
        pg.close()


def test_the_page_holds_every_units_map_the_weights_and_the_figures():
    pg = playground(dataset="gauss", hidden=[6, 3], features=["x1", "x2", "x1^2"])
    pg.trainer.fit(15, verbose=False)
    maps = stored(pg.network_picture, "maps")
    assert maps.shape == (3 + 6 + 3 + 2, 32, 32)  # features, two layers, two logits
    assert stored(pg.network_picture, "weights").shape == (3 * 6 + 6 * 3 + 3 * 2,)
    assert np.allclose(stored(pg.network_picture, "weights")[:18],
                       pg.model[1].weight.detach().reshape(-1).numpy())
    assert np.allclose(stored(pg.network_picture, "biases")[-2:], pg.model[-1].bias.detach().numpy())
    output = field(pg)[0]
    assert (output < 100).mean() > 0.1 and (output > 156).mean() > 0.1  # both classes claim part of the plane
    train_loss, test_loss, train_acc, test_acc = now(pg)[2:]
    assert test_acc > 0.8 and 0 < test_loss < 0.5
    options = pg.network_picture.options
    assert options["active"] == ["x1", "x2", "x1^2"] and options["hidden"] == [6, 3]
    assert options["outputs"] == 2
    history = stored(pg.output_picture, "history")
    assert history.shape == (15, 5) and list(history[:, 0]) == list(range(1, 16))
    assert np.allclose(history[:, 1], pg.trainer.history.epoch_column("train_loss"))
    assert np.allclose(history[:, 2], pg.trainer.history.epoch_column("valid_loss"))
    pg.close()


def test_hovering_a_unit_puts_its_map_in_the_output_and_leaving_brings_the_output_back():
    pg = playground(dataset="circle", hidden=[4])
    output = field(pg).copy()
    pg.on_request({"type": "show", "column": 0, "unit": 0})  # input x1: -1 at the left, +1 at the right
    x1 = field(pg)[0]
    assert pg.focus == (0, 0) and pg.output_picture.options["focus"] == "x1"
    assert x1[32, 0] == 0 and x1[32, -1] == 255 and x1[0, 32] == x1[-1, 32]
    pg.on_request({"type": "show", "column": -1, "unit": -1})
    assert pg.focus is None and np.array_equal(field(pg), output)
    with pytest.raises(ValueError, match="must name a unit"):
        pg.show_unit(1, 4)  # the hidden layer has units 0 to 3
    pg.close()


def page_says(picture, message: dict) -> None:
    """A message from the page's JavaScript, as the widget's comm delivers it."""
    picture.comm.handle_msg({"content": {"data": {"method": "custom", "content": message}}, "buffers": []})


def test_messages_from_the_page_are_answered_at_once(recwarn):
    pg = playground(dataset="circle", hidden=[4])
    started = time.perf_counter()
    page_says(pg.network_picture, {"type": "show", "column": 1, "unit": 2})
    page_says(pg.network_picture, {"type": "weight", "layer": 0, "row": 2, "col": 1, "value": 0.5})
    page_says(pg.data_picture, {"type": "dataset", "name": "gauss"})
    assert time.perf_counter() - started < 5  # no request waits for a lock that the worker needs
    assert pg.config["dataset"] == "gauss" and pg.focus is None and pg.edits == []  # a new experiment
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
    assert stored(pg.output_picture, "history").shape == (0, 5) and now(pg)[1] == 0
    pg.close()


def test_a_bad_setting_is_refused_before_anything_changes():
    pg = playground()
    trainer, config, frame = pg.trainer, pg.config, field(pg).copy()
    for bad, message in (({"hidden": [0]}, "hidden"), ({"activation": "swish"}, "activation"),
                         ({"features": []}, "feature"), ({"dataset": "moons"}, "dataset"),
                         ({"depth": 3}, "unknown")):
        with pytest.raises((TypeError, ValueError), match=message):
            pg.set(**bad)
        assert pg.trainer is trainer and pg.config == config and np.array_equal(field(pg), frame)
    pg.close()


def test_clicks_in_the_page_change_the_experiment_and_an_impossible_one_is_explained():
    pg = playground(dataset="circle", features=["x1"])
    pg.on_request({"type": "dataset", "name": "xor"})
    assert pg.config["dataset"] == "xor" and pg.trainer.global_step == 0
    assert pg.data_picture.options["current"] == "xor"
    pg.on_request({"type": "layers", "delta": 1})
    assert pg.config["hidden"] == [4, 2, 2]
    pg.on_request({"type": "units", "layer": 0, "delta": -1})
    assert pg.config["hidden"] == [3, 2, 2] and pg.network_picture.options["hidden"] == [3, 2, 2]
    pg.on_request({"type": "feature", "name": "x2"})
    assert pg.config["features"] == ["x1", "x2"]
    assert stored(pg.network_picture, "maps").shape[0] == 2 + 3 + 2 + 2 + 2
    pg.on_request({"type": "feature", "name": "x1"})
    assert pg.config["features"] == ["x2"]
    pg.on_request({"type": "feature", "name": "x2"})  # the only input: refused, and said why
    assert pg.config["features"] == ["x2"] and "feature" in pg.message.value
    seed = pg.config["seed"]
    pg.panel.regenerate.click()
    assert pg.config["seed"] == seed + 1
    pg.close()


def test_a_weight_typed_into_a_link_changes_the_parameter_and_a_replay_repeats_the_run():
    config = {**SMALL, "dataset": "spiral", "hidden": [5, 3], "features": ["x1", "x2", "sin(x1)"]}
    pg = playground(**config)
    pg.trainer.fit(2, verbose=False)
    pg.on_request({"type": "weight", "layer": 1, "row": 2, "col": 4, "value": 1.5})
    assert pg.model[3].weight[2, 4].item() == 1.5
    assert pg.edits == [WeightEdit(pg.trainer.global_step, 1, 2, 4, 1.5)]
    assert stored(pg.network_picture, "weights")[5 * 3 + 2 * 5 + 4] == 1.5  # the page shows it at once
    pg.trainer.run_epoch()
    pg.set_weight(0, 0, 0, -2.0)
    pg.trainer.step()
    again = replay(pg.config, pg.edits, pg.trainer.global_step)
    assert all(torch.equal(a, b) for a, b in zip(weights(again.model), weights(pg.model), strict=True))
    unedited = replay(pg.config, [], pg.trainer.global_step)
    assert not torch.equal(unedited.model[3].weight, pg.model[3].weight)
    pg.close()


def test_a_bad_weight_is_refused_before_anything_changes():
    pg = playground(hidden=[3])
    before = weights(pg.model)
    for layer, row, col, value, message in ((2, 0, 0, 1.0, "layer must be"),
                                            (0, 3, 0, 1.0, "row must be below 3"),
                                            (0, 0, 0, float("nan"), "finite number"),
                                            (0, 0, 0, "1", "finite")):
        with pytest.raises(ValueError, match=message):
            pg.set_weight(layer, row, col, value)
    pg.on_request({"type": "weight", "layer": 0, "row": 9, "col": 0, "value": 1.0})
    assert "row must be below" in pg.message.value
    assert all(torch.equal(a, b) for a, b in zip(weights(pg.model), before, strict=True)) and pg.edits == []
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
    assert field(pg).shape == (3, 64, 64)  # one probability per class
    assert pg.panel.dataset.layout.display != "none" and pg.data_picture.layout.display == "none"
    pg.close()
    regression = playground(dataset="reg-plane")
    regression.trainer.fit(2, verbose=False)
    assert regression.confusion.value == "" and np.isnan(now(regression)[4:]).all()
    assert regression.output_picture.options["task"] == "regression"
    regression.close()
    with pytest.raises(TypeError, match="data must be a pair"):
        Playground(data=x)


def test_hide_takes_controls_away_and_names_the_known_ones():
    pg = playground(hide=["activation", "features", "lr", "layers"])
    assert pg.panel.activation.layout.display == "none" and pg.controls.lr_slider.layout.display == "none"
    assert pg.network_picture.options["lock_features"] and pg.network_picture.options["lock_layers"]
    # a page drawn before the lock cannot change them either
    pg.on_request({"type": "feature", "name": "x1^2"})
    pg.on_request({"type": "layers", "delta": 1})
    assert pg.config["features"] == ["x1", "x2"] and pg.config["hidden"] == [4, 2]
    pg.set(hidden=[3])  # a rebuild keeps the learning rate hidden
    assert pg.controls.lr_slider.layout.display == "none"
    pg.close()
    with pytest.raises(ValueError, match="unknown controls"):
        Playground(hide=["colour"])
    assert "activation" in CONTROLS and "layers" in CONTROLS


def test_sends_during_training_carry_only_what_is_new(monkeypatch):
    pacer, clock = hand_pacer(fps=20)
    pg = Playground(pacer=pacer, **SMALL)
    outbox = Outbox(pg.output_picture, monkeypatch)
    for _ in range(4):
        clock.t += 0.06
        pg.trainer.run_epoch()
    sent = [change for change in outbox.changes() if change["name"] == "history"]
    assert sent and all(change["op"] == "extend" for change in sent)
    assert sum(change["shape"][0] for change in sent) <= 4  # one row per epoch, never the whole series again
    pg.close()


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


def _empty_boxes(widget, path="page") -> list[str]:
    """Boxes shown although everything in them is hidden: an empty column or row on the page."""
    if getattr(widget.layout, "display", "") == "none":
        return []
    children = getattr(widget, "children", None)
    if children is None:
        return []
    shown = [child for child in children if getattr(child.layout, "display", "") != "none"]
    empty = [] if shown else [path]
    for index, child in enumerate(children):
        empty += _empty_boxes(child, f"{path}/{type(child).__name__}[{index}]")
    return empty


def test_hiding_controls_leaves_no_empty_column():
    data = ["dataset", "classes", "noise", "train_ratio", "batch_size", "regenerate"]
    settings = ["mode", "problem", "activation", "regularization", "reg_rate", "loss", "optimizer", "dropout",
                "new_weights"]
    for hide in ([], data, settings, [*data, *settings, "network", "confusion", "test_points", "discretize"]):
        pg = playground(hide=hide)
        assert _empty_boxes(pg.widget) == [], f"hide={hide}"
        pg.close()


def test_the_page_shows_one_pair_of_losses_and_no_last_batch_loss():
    pg = playground(dataset="xor", hidden=[3])
    pg.trainer.fit(1, verbose=False)
    assert "loss" not in pg.controls.status_text()  # the status line leaves the losses to the figures
    train_loss, test_loss = stored(pg.output_picture, "now")[0][2:4]
    assert 0 < train_loss < 2 and 0 < test_loss < 2
    pg.set(hidden=[2])  # the rebuilt controls too
    assert "loss" not in pg.controls.status_text()
    pg.close()
