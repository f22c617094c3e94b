"""The Playground page in its two modes: TensorFlow Playground's own (palette, datasets, menus) and the richer
one; the mode and problem type menus; New weights beside Restart."""

import numpy as np
import torch
from pictures import hand_pacer, stored

from widgets import Playground
from widgets.playground import TF_LEARNING_RATES, TF_PROBLEMS

TF_LINK = ("https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=spiral&regDataset=reg-plane"
           "&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2&seed=0.12345&showTestData=false"
           "&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false"
           "&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&problem=classification"
           "&initZero=false&hideText=false")


def playground(**settings) -> Playground:
    pacer, _ = hand_pacer()
    return Playground(pacer=pacer, **settings)


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [tensor.detach().clone() for tensor in model.state_dict().values()]


def test_the_tf_mode_page_has_its_palette_datasets_labels_and_one_output():
    pg = playground(mode="tf", dataset="xor", hidden=[4])
    assert pg.data_picture.options["datasets"] == list(TF_PROBLEMS)
    assert pg.output_picture.options["palette"] == ["#f59322", "#e8eaeb", "#0877bd"]
    assert pg.output_picture.options["class_colours"] == ["#f59322", "#0877bd"]  # -1 orange, +1 blue
    labels = stored(pg.output_picture, "points")[:, 2]
    assert set(np.unique(labels)) == {0.0, 1.0}  # +1 is class 1, -1 class 0
    assert labels.mean() == (pg.setup.y_train.tolist() + pg.setup.y_test.tolist()).count(1.0) / len(labels)
    thumbs = stored(pg.data_picture, "thumbs").reshape(len(TF_PROBLEMS), -1, 3)
    assert set(np.unique(thumbs[0, :, 2])) == {0.0, 1.0} and thumbs[4, :, 2].min() < 0 < thumbs[4, :, 2].max()
    pg.trainer.fit(10, verbose=False)
    assert stored(pg.output_picture, "field").shape == (1, 64, 64)  # the tanh output itself, on [-1, 1]
    figures = stored(pg.output_picture, "now")[0]
    assert 0.5 < figures[5] <= 1 and np.isfinite(figures[2:4]).all()
    pg.set_weight(1, 0, 2, 0.75)  # the output layer, before its tanh
    assert pg.model[-2].weight[0, 2].item() == 0.75
    pg.close()


def test_the_mode_menu_moves_the_experiment_and_says_what_it_changed():
    pg = playground(dataset="spiral", optimizer="adam", lr=0.02)
    assert pg.lr_menu.layout.display == "none" and pg.panel.loss.layout.display != "none"
    pg.mode.value = "tf"
    assert pg.config["mode"] == "tf" and pg.config["optimizer"] == "sgd"
    assert pg.config["lr"] in TF_LEARNING_RATES
    assert "Adam" in pg.message.value or "adam" in pg.message.value
    assert pg.lr_menu.layout.display != "none" and pg.lr_menu.value == pg.config["lr"]
    assert all(pg.panel.groups[key].layout.display == "none" for key in ("loss", "optimizer", "dropout"))
    trainer = pg.trainer
    pg.lr_menu.value = 0.3  # a learning rate applies live, on the same trainer
    assert pg.trainer is trainer and pg.config["lr"] == 0.3 and trainer.lr == 0.3
    pg.mode.value = "rich"
    assert pg.config["mode"] == "rich" and pg.panel.loss.layout.display != "none"
    assert pg.lr_menu.layout.display == "none"
    pg.close()


def test_the_problem_menu_switches_between_classification_and_regression():
    for mode in ("rich", "tf"):
        pg = playground(mode=mode)
        pg.problem.value = "regression"
        assert pg.setup.task == "regression" and pg.config["dataset"] == "reg-plane"
        assert pg.output_picture.options["task"] == "regression"
        pg.problem.value = "classification"
        assert pg.setup.task == "classification" and pg.config["dataset"] == "circle"
        pg.close()


def test_new_weights_draw_the_next_seed_on_the_same_data_and_restart_keeps_them():
    pg = playground(mode="tf", dataset="circle", hidden=[3])
    data, first = pg.setup.x_train.clone(), weights(pg.model)
    assert "seed 0" in pg.weights_label.value and pg.controls.reset_button.description == "Restart"
    pg.new_weights.click()
    assert pg.config["init_seed"] == 1 and "seed 1" in pg.weights_label.value
    assert torch.equal(pg.setup.x_train, data)
    drawn = weights(pg.model)
    assert not all(torch.equal(a, b) for a, b in zip(drawn, first, strict=True))
    pg.trainer.fit(2, verbose=False)
    pg.controls.reset_button.click()  # Restart: back to these weights, not the first ones
    assert pg.trainer.global_step == 0
    assert all(torch.equal(a, b) for a, b in zip(weights(pg.model), drawn, strict=True))
    pg.new_weights.click()
    assert pg.config["init_seed"] == 2
    pg.close()


def test_a_link_opens_in_tensorflow_playgrounds_mode_or_the_rich_one():
    pg = Playground.from_tf_url(TF_LINK)
    assert pg.config["mode"] == "tf" and pg.config["dataset"] == "spiral" and pg.config["hidden"] == [4, 2]
    assert pg.output_picture.options["palette"][0] == "#f59322"
    pg.close()
    rich = Playground.from_tf_url(TF_LINK, mode="rich")
    assert rich.config["mode"] == "rich" and rich.config["hidden"] == [4, 2]
    rich.close()
