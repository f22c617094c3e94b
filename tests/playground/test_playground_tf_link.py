"""TensorFlow Playground links, both ways, on links published with real experiments."""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import pytest

from widgets import Playground
from widgets.playground import from_tf_link, to_tf_link
from widgets.playground.tf_link import TF_DEFAULTS

TAIL = ("showTestData=false&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false"
        "&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false"
        "&problem=classification&initZero=false&hideText=false")
# Links as they were published in course notes and posts (each one TensorFlow Playground's own fragment).
LINKS = {
    "the default circle": "http://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=circle&regDataset="
                          "reg-plane&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2&"
                          "seed=0.66230&" + TAIL,
    "gauss, no hidden layer": "https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=gauss&"
                              "regDataset=reg-plane&learningRate=0.03&regularizationRate=0&noise=0&"
                              "networkShape=&seed=0.19214&" + TAIL,
    "spiral, batch 30": "https://playground.tensorflow.org/#activation=tanh&batchSize=30&dataset=spiral&regDataset="
                        "reg-plane&learningRate=0.3&regularizationRate=0&noise=0&networkShape=4,2&"
                        "seed=0.51575&" + TAIL,
    "xor, one unit": "http://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=xor&regDataset=reg-plane&"
                     "learningRate=0.03&regularizationRate=0&noise=0&networkShape=1&seed=0.60237&" + TAIL,
    "noisy gauss, relu, batch 1": (
        "https://playground.tensorflow.org/#activation=relu&batchSize=1&dataset=gauss&regDataset=reg-plane&learningRate="
        "0.00001&regularizationRate=0&noise=35&networkShape=&seed=0.17057&showTestData=false&discretize=true&"
        "percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&"
        "sinY=false&collectStats=false&problem=classification&initZero=false&hideText=false"),
    "spiral, L1, every feature": (
        "http://playground.tensorflow.org/#activation=relu&regularization=L1&batchSize=10&dataset=spiral&regDataset="
        "reg-plane&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2,2&seed=0.58835&showTestData=false&"
        "discretize=false&percTrainData=50&x=true&y=true&xTimesY=true&xSquared=true&ySquared=true&cosX=false&sinX=true&"
        "cosY=false&sinY=true&collectStats=false&problem=classification&initZero=false&hideText=false"),
    "linear regression, controls hidden": (
        "https://playground.tensorflow.org/#activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&"
        "learningRate=0.03&regularizationRate=0&noise=25&networkShape=&seed=0.27079&showTestData=false&discretize=false&"
        "percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&"
        "sinY=false&collectStats=false&problem=regression&initZero=false&hideText=false&showTestData_hide=false&"
        "activation_hide=true&noise_hide=false&discretize_hide=true&dataset_hide=true&batchSize_hide=true&"
        "percTrainData_hide=true&numHiddenLayers_hide=true&problem_hide=true"),
    "sigmoid regression, 90 % train": (
        "https://playground.tensorflow.org/#activation=sigmoid&batchSize=30&dataset=circle&regDataset=reg-plane&"
        "learningRate=0.1&regularizationRate=0&noise=0&networkShape=1,1&seed=0.12746&showTestData=false&discretize=false&"
        "percTrainData=90&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&"
        "sinY=false&collectStats=false&problem=regression&initZero=false&hideText=false"),
}

EXPECTED = {  # what each link asks for, in the Playground's settings
    "the default circle": {"dataset": "circle", "hidden": [4, 2], "seed": 66230},
    "gauss, no hidden layer": {"dataset": "gauss", "hidden": []},
    "spiral, batch 30": {"dataset": "spiral", "batch_size": 30, "lr": 0.3},
    "xor, one unit": {"dataset": "xor", "hidden": [1]},
    "noisy gauss, relu, batch 1": {"activation": "relu", "batch_size": 1, "lr": 1e-5, "noise": 0.35,
                                   "hidden": []},
    "spiral, L1, every feature": {"regularization": "l1", "hidden": [4, 2, 2], "activation": "relu",
                                  "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]},
    "linear regression, controls hidden": {"dataset": "reg-plane", "n": 1200, "noise": 0.25, "hidden": []},
    "sigmoid regression, 90 % train": {"dataset": "reg-plane", "activation": "sigmoid", "hidden": [1, 1],
                                       "train_ratio": 0.9, "batch_size": 30, "lr": 0.1},
}


def fragment(url: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in urlsplit(url).fragment.split("&"))


def same_value(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


@pytest.mark.parametrize("mode", ["tf", "rich"])
@pytest.mark.parametrize("name", list(LINKS))
def test_a_published_link_reads_as_its_experiment_and_writes_back_the_same_state(name, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these links hold nothing the Playground cannot do
        link = from_tf_link(LINKS[name]) if mode == "tf" else from_tf_link(LINKS[name], mode=mode)
    for key, value in EXPECTED[name].items():
        expected = pytest.approx(value) if isinstance(value, float) else value
        assert link.config[key] == expected, key
    assert link.config["loss"] == "mse" and link.config["optimizer"] == "sgd" and link.left_out == []
    assert link.config["mode"] == mode  # TensorFlow Playground's own program unless "rich" is asked for
    assert link.config["n"] == (1200 if link.config["dataset"].startswith("reg-") else 500)
    url, cannot = to_tf_link(link.config, link.view, link.hide)
    assert cannot == []  # TensorFlow Playground can show all of it
    original, written = fragment(LINKS[name]), fragment(url)
    assert ({key for key in written if not key.endswith("_hide")}
            == {key for key in original if not key.endswith("_hide")})
    for key in TF_DEFAULTS.keys() & original.keys():
        assert same_value(written[key], original[key]), (key, written[key], original[key])
    assert {k for k, v in written.items() if k.endswith("_hide")} == {
        k for k, v in original.items() if k.endswith("_hide") and v == "true" and k != "problem_hide"}
    again = from_tf_link(url, mode=mode)
    assert (again.config, again.view, again.hide) == (link.config, link.view, link.hide)


def test_the_view_options_and_hidden_controls_come_along():
    noisy = from_tf_link(LINKS["noisy gauss, relu, batch 1"])
    assert noisy.view == {"test_points": False, "discretize": True}
    hidden = from_tf_link(LINKS["linear regression, controls hidden"])
    assert sorted(hidden.hide) == ["activation", "batch_size", "dataset", "discretize", "layers",
                                   "train_ratio"]


def test_what_cannot_come_along_is_named_in_one_warning():
    url = (LINKS["the default circle"].replace("cosX=false", "cosX=true")
           .replace("initZero=false", "initZero=true"))
    with pytest.warns(UserWarning,
                      match=r"cosX: the Playground has no cos features.*initZero.*wobble: a key") as caught:
        link = from_tf_link(url + "&wobble=3")
    assert len(caught) == 1 and len(link.left_out) == 3
    assert link.config["features"] == ["x1", "x2"]


@pytest.mark.parametrize(("change", "message"), [
    (("dataset=circle", "dataset=moons"), r"classification data set 'moons' is not one the Playground makes"),
    (("problem=classification", "problem=ranking"),
     r"problem in the link must be 'classification' or 'regression'"),
    (("learningRate=0.03", "learningRate=fast"), r"learningRate in the link must be a number, got 'fast'"),
    (("learningRate=0.03", "learningRate=20"), r"lr must be a number in \[1e-05, 10\], got 20.0"),
    (("networkShape=4,2", "networkShape=4,x"),
     r"networkShape in the link must be widths such as 4,2, got '4,x'"),
    (("activation=tanh", "activation=swish"),
     r"activation in the link must be one of relu, tanh, sigmoid, linear"),
])
def test_a_bad_value_in_a_link_is_named(change, message):
    with pytest.raises(ValueError, match=message):
        from_tf_link(LINKS["the default circle"].replace(*change))


@pytest.mark.parametrize(("change", "key"), [
    (("learningRate=0.03", "learningRate=0.05"), "lr"),
    (("regularizationRate=0", "regularizationRate=0.05"), "reg_rate"),
])
def test_a_rate_off_its_menus_opens_in_the_rich_mode_only(change, key):
    url = LINKS["the default circle"].replace(*change)
    with pytest.raises(ValueError, match=rf"{key} in mode 'tf' must be one of TensorFlow Playground's menu"):
        from_tf_link(url)
    assert from_tf_link(url, mode="rich").config[key] == 0.05
    with pytest.raises(ValueError, match=r"mode must be one of 'rich', 'tf'; got str 'keras'"):
        from_tf_link(url, mode="keras")


def test_the_link_cannot_say_a_seed_of_the_initial_weights():
    link = from_tf_link(LINKS["xor, one unit"])
    url, cannot = to_tf_link({**link.config, "init_seed": 7}, link.view)
    assert cannot == ["init_seed 7: a TensorFlow Playground link has no seed for the initial weights"]
    assert from_tf_link(url).config == link.config  # the rest comes back


def test_not_a_tensorflow_playground_link_is_refused():
    with pytest.raises(ValueError, match="expected a link to playground.tensorflow.org"):
        from_tf_link("https://example.org/#activation=tanh")
    with pytest.raises(ValueError, match="no '#key=value&...' part"):
        from_tf_link("https://playground.tensorflow.org/")
    with pytest.raises(TypeError, match="must be a TensorFlow Playground link"):
        from_tf_link(None)


def test_the_link_of_a_richer_experiment_says_what_tensorflow_playground_cannot_show():
    url, cannot = to_tf_link({"dataset": "blobs", "activation": "gelu", "dropout": 0.2, "optimizer": "adam"})
    assert [reason.split(":")[0] for reason in cannot] == [
        "dataset 'blobs'", "activation 'gelu'", "dropout", "optimizer 'adam'", "loss 'cross_entropy'"]
    # its defaults instead
    assert fragment(url)["activation"] == "tanh" and fragment(url)["dataset"] == "circle"


def test_the_widget_opens_a_link_and_gives_it_back():
    pg = Playground.from_tf_url(LINKS["linear regression, controls hidden"], resolution=16, size=100)
    assert pg.config == from_tf_link(LINKS["linear regression, controls hidden"]).config
    assert pg.test_points.value is False and pg.panel.dataset.layout.display == "none"
    assert pg.panel.noise.layout.display != "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        url = pg.tf_url()
    assert from_tf_link(url).config == pg.config
    pg.close()
    plain = Playground(resolution=16, size=100)  # one output per class and cross-entropy: said in a warning
    with pytest.warns(UserWarning, match="TensorFlow Playground cannot show: loss 'cross_entropy'"):
        assert fragment(plain.tf_url())["dataset"] == "circle"
    plain.close()


def test_the_playground_page_example_runs_as_written():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "playground.md").read_text()
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/playground.md", "exec"), namespace)
    pg = namespace["pg"]
    assert pg.config["dataset"] == "spiral" and pg.config["activation"] == "relu"
    assert pg.config["features"] == ["x1", "x2", "sin(x1)", "sin(x2)"]
    assert fragment(pg.tf_url())["sinX"] == "true"
    pg.close()
