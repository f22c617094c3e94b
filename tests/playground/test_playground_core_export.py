"""The Playground's code export and config round trips, bitwise; the core loads no drawing code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from widgets.playground import DATASETS, build, check_config, to_code

REPO_ROOT = Path(__file__).resolve().parents[2]


def awkward_points(n: int = 40) -> dict[str, list]:
    """Float32 values whose shortest text is long, tiny, huge or a negative zero."""
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(n, 2, generator=generator) * 3
    x[0] = torch.tensor([-0.0, 1e-30])
    x[1] = torch.tensor([3.0e38, 16777217.0])
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    return {"x": x.tolist(), "y": y.tolist()}


CONFIGS = {
    "dropout-l1-epochs": {"dataset": "spiral", "n": 100, "noise": 0.3, "dropout": 0.3, "regularization": "l1",
                          "reg_rate": 0.003, "hidden": [6, 5], "activation": "relu", "seed": 4, "lr": 0.1,
                          "features": ["x1", "x2", "sin(x1)", "sin(x2)"]},
    "regression-l2-adam": {"dataset": "reg-gauss", "n": 80, "noise": 0.1, "regularization": "l2",
                           "reg_rate": 0.01,
                           "optimizer": "adam", "hidden": [3], "train_ratio": 0.6, "batch_size": 7},
    "blobs-mse-gelu": {"dataset": "blobs", "classes": 5, "n": 90, "loss": "mse", "activation": "gelu",
                       "hidden": [], "dropout": 0.2, "seed": 9},
    "own-classes": {"dataset": "own", "data": awkward_points(), "dropout": 0.1, "hidden": [4, 4],
                    "batch_size": 4},
    "own-values": {"dataset": "own", "data": {"x": awkward_points()["x"],
                                              "y": (torch.linspace(-1, 1, 40) ** 3).tolist()},
                   "regularization": "l1", "reg_rate": 0.05, "activation": "sigmoid"},
}
STEPS = 12  # several epochs: the training splits hold 24 to 60 points


def train(trainer, steps=STEPS):
    for _ in range(steps):
        trainer.step()
    return trainer.model.state_dict()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_exported_code_trains_bitwise_as_build_does(name):
    config = CONFIGS[name]
    source = to_code(config)
    namespace: dict = {}
    exec(compile(source, f"<to_code {name}>", "exec"), namespace)
    exported = train(namespace["trainer"])
    assert namespace["trainer"].epoch >= 1
    torch.manual_seed(12345)  # each path seeds torch's global generator itself
    setup = build(config)
    built = train(setup.trainer)
    assert list(exported) == list(built)
    for key in built:
        assert torch.equal(exported[key], built[key]), key
    for part in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(namespace[part], getattr(setup, part)), part
    losses = namespace["trainer"].history.step_column("loss").tolist()
    assert losses == setup.trainer.history.step_column("loss").tolist()


def test_dropout_makes_the_seeding_matter():
    config = CONFIGS["dropout-l1-epochs"]
    namespace: dict = {}
    exec(to_code(config), namespace)
    torch.manual_seed(777)  # another global state after the model is made: dropout's masks differ
    exported = train(namespace["trainer"])
    built = train(build(config).trainer)
    assert not all(torch.equal(exported[key], built[key]) for key in built)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_code_is_valid_and_writes_the_network_layer_by_layer(dataset):
    config = {"dataset": dataset, "hidden": [5, 3, 2], "dropout": 0.1, "features": ["x1", "x1*x2"]}
    if dataset == "own":
        config["data"] = awkward_points()
    source = to_code(config)
    compile(source, "<to_code>", "exec")
    assert "model = nn.Sequential(" in source and 'Features(["x1", "x1*x2"])' in source
    assert re.findall(r"nn\.Linear\((\d+), (\d+)\)", source)[:3] == [("2", "5"), ("5", "3"), ("3", "2")]
    assert source.count("nn.Tanh()") == 3 and source.count("nn.Dropout(0.1)") == 3
    imported = re.findall(r"^from widgets[\w.]* import (.+)$", source, flags=re.M)
    assert imported and not any(name.strip().startswith("_") for line in imported for name in line.split(","))
    assert "model" in source and "trainer = Trainer(" in source
    assert max(len(line) for line in source.splitlines()) <= 120


def test_own_data_is_embedded_compactly():
    source = to_code(CONFIGS["own-classes"])
    assert "x = torch.tensor([" in source and "make_problem" not in source
    assert "-0.0, 1e-30" in source and "[1.0, 2.0]" not in source
    assert len(source) < 3000


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_setups_config_rebuilds_bitwise_the_same_data_and_weights(name):
    first = build(CONFIGS[name])
    for config in (check_config(first.config), json.loads(json.dumps(first.config))):
        again = build(config)
        assert again.config == first.config
        for part in ("x_train", "y_train", "x_test", "y_test"):
            assert torch.equal(getattr(again, part), getattr(first, part)), part
        weights, other = first.model.state_dict(), again.model.state_dict()
        assert all(torch.equal(weights[key], other[key]) for key in weights)


@pytest.mark.slow  # a fresh Python process
def test_the_core_never_imports_ipywidgets_or_matplotlib():
    script = (
        "import sys\n"
        "import widgets.playground as pg\n"
        "setup = pg.build({'dataset': 'xor', 'n': 40, 'dropout': 0.1, 'regularization': 'l1', "
        "'reg_rate': 0.01})\n"
        "setup.trainer.fit(2)\n"
        "namespace = {}\n"
        "exec(pg.to_code(setup.config), namespace)\n"
        "namespace['trainer'].step()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'matplotlib')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120,
                            env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
