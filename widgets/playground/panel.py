"""The Playground's settings as ipywidgets: one control per setting, read back as a partial config.

`Panel(config, on_change)` builds the controls from a checked config and calls
`on_change({key: value})` when the learner changes one. `show(config)` puts a
config back into the controls without calling out (after a rebuild, or when a
change was refused). `hide(names)` takes controls away, for a lesson that poses
one question at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as ipw

from widgets.views.base import close_tree

from .config import DATASETS, LOSSES, OPTIMIZERS, OWN
from .features import FEATURES
from .network import ACTIVATIONS, DROPOUT, MAX_LAYERS, MAX_NEURONS
from .penalty import KINDS
from .problems import BLOB_CLASSES

REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # the Playground's choices
NO_PENALTY = "none"  # the regularization menu's value for None: a dropdown whose value is None shows nothing
BATCH_SLIDER_MAX = 30  # the batch-size slider's usual end; a larger configured batch widens it

CONTROLS = ("dataset", "classes", "noise", "train_ratio", "batch_size", "regenerate", "features",
            "layers", "activation", "dropout", "regularization", "reg_rate", "loss", "optimizer", "lr",
            "test_points", "discretize", "focus", "controls", "network", "chart", "confusion", "mode",
            "problem", "new_weights")
"""What `Playground(hide=[...])` can hide: the settings' controls, the view options and the pictures
("features" and "layers" lock the diagram's clicks, "focus" its hover, "chart" the loss chart)."""


def check_hide(hide: Iterable[str]) -> tuple[str, ...]:
    """The names to hide, each one of `CONTROLS`; a clear error otherwise."""
    if isinstance(hide, str) or not isinstance(hide, Iterable):
        raise TypeError(f"hide must be a list of control names, got {hide!r}")
    names = tuple(hide)
    unknown = [name for name in names if name not in CONTROLS]
    if unknown:
        raise ValueError(f"hide names unknown controls {unknown!r}; the controls are {', '.join(CONTROLS)}")
    return names


class Panel:
    """Every settings control of the Playground, built from a checked config."""

    def __init__(self, config: dict[str, Any], on_change: Callable[[dict[str, Any]], None]) -> None:
        self._on_change = on_change
        self._quiet = False
        style = {"description_width": "100px"}

        def wide() -> ipw.Layout:  # one Layout per control: hiding one must not hide the others
            return ipw.Layout(width="270px")

        datasets = [name for name in DATASETS if name != OWN or config["dataset"] == OWN]
        self.dataset = ipw.Dropdown(options=datasets, description="data", style=style, layout=wide())
        self.classes = ipw.IntSlider(min=BLOB_CLASSES[0], max=BLOB_CLASSES[1], description="classes",
                                     style=style, layout=wide(), continuous_update=False)
        self.noise = ipw.FloatSlider(min=0.0, max=0.5, step=0.05, description="noise", style=style,
                                     layout=wide(), continuous_update=False)
        self.train_ratio = ipw.FloatSlider(min=0.1, max=0.9, step=0.1, description="train share", style=style,
                                           layout=wide(), continuous_update=False)
        self.batch_size = ipw.IntSlider(min=1, max=BATCH_SLIDER_MAX, description="batch size", style=style,
                                        layout=wide(), continuous_update=False)
        self.regenerate = ipw.Button(description="Regenerate", icon="refresh",
                                     tooltip="new data: the next seed")
        self.features = {name: ipw.ToggleButton(description=name, layout=ipw.Layout(width="78px"))
                         for name in FEATURES}
        self.add_layer = ipw.Button(description="+ layer", layout=ipw.Layout(width="80px"))
        self.remove_layer = ipw.Button(description="− layer", layout=ipw.Layout(width="80px"))
        self.layer_box = ipw.HBox()
        self.activation = ipw.Dropdown(options=list(ACTIVATIONS), description="activation", style=style,
                                       layout=wide())
        self.dropout = ipw.FloatSlider(min=DROPOUT[0], max=DROPOUT[1], step=0.05, description="dropout",
                                       style=style, layout=wide(), continuous_update=False,
                                       readout_format=".3g")
        penalties = [(NO_PENALTY, NO_PENALTY)] + [(kind.upper(), kind) for kind in KINDS]
        self.regularization = ipw.Dropdown(options=penalties, description="regularization", style=style,
                                           layout=wide())
        self.reg_rate = ipw.Dropdown(options=list(REG_RATES), description="reg. rate", style=style,
                                     layout=wide())
        self.loss = ipw.Dropdown(options=list(LOSSES), description="loss", style=style, layout=wide())
        self.optimizer = ipw.Dropdown(options=list(OPTIMIZERS), description="optimizer", style=style,
                                      layout=wide())
        self._hidden: list[int] = []

        self.show(config)
        for key in ("dataset", "classes", "noise", "train_ratio", "batch_size", "activation", "dropout",
                    "reg_rate", "loss", "optimizer"):
            getattr(self, key).observe(lambda change, key=key: self._changed({key: change["new"]}),
                                       names="value")
        self.regularization.observe(
            lambda change: self._changed(
                {"regularization": None if change["new"] == NO_PENALTY else change["new"]}),
            names="value")
        for toggle in self.features.values():
            toggle.observe(lambda _: self._changed({"features": self.chosen_features()}), names="value")
        self.regenerate.on_click(lambda _: self._changed({"seed": self._seed + 1}))
        self.add_layer.on_click(
            lambda _: self._changed({"hidden": [*self._hidden, self._hidden[-1] if self._hidden else 4]}))
        self.remove_layer.on_click(lambda _: self._changed({"hidden": self._hidden[:-1]}))

        self.groups: dict[str, ipw.Widget] = {
            "dataset": self.dataset, "classes": self.classes, "noise": self.noise,
            "train_ratio": self.train_ratio,
            "batch_size": self.batch_size, "regenerate": self.regenerate,
            "features": ipw.HBox(list(self.features.values()),
                                 layout=ipw.Layout(flex_flow="row wrap", width="330px")),
            "layers": ipw.VBox([ipw.HBox([self.add_layer, self.remove_layer]), self.layer_box]),
            "activation": self.activation, "dropout": self.dropout, "regularization": self.regularization,
            "reg_rate": self.reg_rate, "loss": self.loss, "optimizer": self.optimizer,
        }
        for name, widget in self.groups.items():
            widget.add_class(f"lt-pg-{name.replace('_', '-')}")

    def chosen_features(self) -> list[str]:
        """The features whose toggles are pressed, in `FEATURES` order."""
        return [name for name, toggle in self.features.items() if toggle.value]

    def show(self, config: dict[str, Any]) -> None:
        """Put `config` into the controls without reporting changes."""
        self._quiet = True
        try:
            # every value as it is: an off-menu rate joins the menu, a batch past the slider's end widens it
            self.reg_rate.options = sorted({*REG_RATES, config["reg_rate"]})
            self.batch_size.max = max(BATCH_SLIDER_MAX, config["batch_size"])
            self.regularization.value = config["regularization"] or NO_PENALTY
            for key in ("dataset", "classes", "noise", "train_ratio", "batch_size", "activation", "dropout",
                        "reg_rate", "loss", "optimizer"):
                getattr(self, key).value = config[key]
            for name, toggle in self.features.items():
                toggle.value = name in config["features"]
            self._seed = config["seed"]
            self._hidden = list(config["hidden"])
            self._show_layers()
            self.classes.layout.display = "" if config["dataset"] == "blobs" else "none"
        finally:
            self._quiet = False

    def _show_layers(self) -> None:
        """One column per hidden layer: its width, with + and − buttons."""
        for child in self.layer_box.children:
            close_tree(child)
        columns = []
        for index, units in enumerate(self._hidden):
            more = ipw.Button(description="+", layout=ipw.Layout(width="32px"), disabled=units >= MAX_NEURONS)
            fewer = ipw.Button(description="−", layout=ipw.Layout(width="32px"), disabled=units <= 1)
            more.on_click(lambda _, i=index: self._resize(i, +1))
            fewer.on_click(lambda _, i=index: self._resize(i, -1))
            label = ipw.HTML(f"<span class='lt-pg-units'>{units}</span>")
            columns.append(ipw.VBox([label, more, fewer], layout=ipw.Layout(align_items="center")))
        self.layer_box.children = columns
        self.add_layer.disabled = len(self._hidden) >= MAX_LAYERS
        self.remove_layer.disabled = not self._hidden

    def _resize(self, layer: int, by: int) -> None:
        hidden = list(self._hidden)
        hidden[layer] += by
        self._changed({"hidden": hidden})

    def _changed(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._on_change(change)

    def close(self) -> None:
        """Close every control (the layer columns included)."""
        for widget in self.groups.values():
            close_tree(widget)
