"""Playground: TensorFlow Playground's experiments, live in one page, on a real PyTorch model.

The widget holds one experiment at a time (`widgets.playground.build`): data,
an `nn.Sequential` and a `widgets.Trainer`. The page reads left to right:
the datasets as thumbnails with the data's settings, the network (features,
hidden layers, output) and the output with its figures and loss chart. The
browser draws them from numbers (`page_data`) that the kernel sends at most
`Pacer.fps` times a second while training. A change of the data or the
network builds the experiment again (new model, new trainer, step 0); the
learning rate applies live; a weight typed into the diagram changes the live
parameter and is recorded in `edits`.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any

import ipywidgets as ipw
import numpy as np
import torch
from matplotlib.colors import to_hex
from torch import nn

from widgets.training.trainer import Trainer
from widgets.views.base import close_tree
from widgets.views.controls import TrainerControls
from widgets.views.kernel_loop import running_loop
from widgets.views.live import LiveView
from widgets.views.pacer import Pacer
from widgets.views.picture import Picture
from widgets.views.png import png_bytes
from widgets.views.style import class_colours

from .config import OWN, check_config, to_mode
from .confusion import confusion_html, confusion_matrix
from .edits import WeightEdit, apply_edit, check_edit
from .export import to_code
from .features import FEATURES
from .maps import unit_names
from .modes import TF_LEARNING_RATES
from .network import MAX_LAYERS, MAX_NEURONS
from .page_data import codes, look, points, split_figures
from .panel import Panel, check_hide
from .problems import PLANE, PROBLEMS, REGRESSIONS, make_problem
from .scene import draw_scene
from .setup import Setup, build, weights_seed
from .tf_data import TF_PROBLEMS, TF_REGRESSIONS, make_tf_problem
from .tf_link import from_tf_link, to_tf_link

FPS = 20.0
"""Rounds a second while training: every picture of the page repaints after each (one epoch of the default
experiment takes a few milliseconds, so a round shows the newest epoch)."""
FIGURES_EVERY = 0.2
"""Seconds between two evaluations of the loss and accuracy on both splits while training (five a second
is as fast as a figure can be read; the pictures follow every round, and a run's end always has fresh
figures)."""
THUMB_POINTS = 100
"""Points drawn in each dataset's thumbnail."""
TF_COLOURS = ("#f59322", "#e8eaeb", "#0877bd")
"""TensorFlow Playground's scale from -1 through 0 to 1 (orange, grey, blue), its classes -1 and +1 at the
ends."""
MODE_NAMES = (("rich", "rich"), ("TensorFlow Playground", "tf"))
"""The mode menu: today's richer Playground, or one faithful to TensorFlow Playground."""
TASKS = {"classification": "circle", "regression": "reg-plane"}
"""The problem type menu, and the dataset each type starts on."""
MIDDLE = "#ececec"  # the rich mode's scale runs from class 0's colour through this grey to class 1's


def _settings(data: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The config asked for: `settings`, with a learner's `(x, y)` as the "own" dataset."""
    if data is None or isinstance(data, Mapping):
        return {**settings, "data": data} if data is not None or "data" in settings else dict(settings)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return {"dataset": OWN, **settings, "data": {"x": data[0], "y": data[1]}}
    raise TypeError(f"data must be a pair (x, y): x [N, 2] points, y their classes or values; "
                    f"got {type(data).__name__}")


def _colours(classes: int | None) -> list[str]:
    return [to_hex(colour) for colour in class_colours(max(classes or 2, 2))]


def palette(config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The page's colours for a config: the fixed scale [-1 end, 0, 1 end] (units, weights, biases, the
    output's
    value or 2 p(class 1) - 1) and the classes' colours, class 1 at the scale's positive end."""
    if config.get("mode") == "tf":
        return list(TF_COLOURS), [TF_COLOURS[0], TF_COLOURS[2]]
    colours = _colours(config.get("classes") if config["dataset"] == "blobs" else 2)
    return [colours[0], MIDDLE, colours[1]], colours


@dataclass(frozen=True)
class _Frame:
    """One still's state: what it shows (`key`, compared), the experiment and a copy of its weights."""

    key: tuple
    setup: Setup = field(compare=False)
    weights: dict = field(compare=False)

    @property
    def nbytes(self) -> int:
        return sum(value.numel() * value.element_size() for value in self.weights.values())


class _TrainerThen:
    """What a still of an earlier frame reads of the trainer: its loss function and its first `epochs`
    records."""

    def __init__(self, trainer: Trainer, epochs: int) -> None:
        self.loss_fn = trainer.loss_fn
        self.history = self
        self._history, self._epochs = trainer.history, epochs

    def epoch_column(self, name: str) -> np.ndarray:
        return self._history.epoch_column(name)[: self._epochs]


class Playground(LiveView):
    """TensorFlow Playground in a notebook cell, training a real `torch.nn.Module` with the project's Trainer.

    `Playground(dataset="spiral", hidden=[8, 8], ...)` takes any setting of
    `widgets.playground.DEFAULTS`; `Playground(data=(x, y))` trains on a
    learner's own [N, 2] points. `hide=[...]` takes controls away (names in
    `widgets.playground.panel.CONTROLS`). `pg.model` and `pg.trainer` are the
    live objects, `pg.config` the settings as a plain dict
    (`Playground(**pg.config)` rebuilds the same experiment), `pg.code()` the
    same experiment as Python, `pg.set(...)` changes settings as the page does,
    `pg.set_weight(...)` changes one weight as a click on a link does (kept in
    `pg.edits`), and `pg.snapshot()` is a still of the page.
    """

    def __init__(self, data: Any = None, *, hide: Iterable[str] = (), pacer: Pacer | None = None,
                 resolution: int = 100, size: int = 300, **settings: Any) -> None:
        # every bad setting is named before anything is built
        config = check_config(_settings(data, settings))
        hidden = check_hide(hide)
        for name, value, low, high in (("resolution", resolution, 8, 400), ("size", size, 100, 1000)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
        self._setup: Setup = build(config)
        self._resolution, self._size = resolution, size
        self._focus: tuple[int, int] | None = None
        self._hidden_names: set[str] = set(hidden)
        self._epochs_sent = 0
        # when, step, figures, of which experiment
        self._figures: tuple[float, int, np.ndarray, Setup] | None = None
        # a private copy of the model, evaluated over the plane outside the trainer's lock
        self._replica: tuple[Setup, nn.Sequential] | None = None
        # the pictures' channels are put and sent from the training thread and the kernel's loop, in turn
        self._send_lock = threading.Lock()
        self._loop = running_loop()
        self.edits: list[WeightEdit] = []
        """Weights changed by hand in this run, oldest first (`widgets.playground.replay` repeats
        them)."""

        self.data_picture = Picture("pg_data", width=120, height=100)
        self.network_picture = Picture("pg_network", width=470, height=404)
        self.output_picture = Picture("pg_output", width=292, height=420)
        self.confusion = ipw.HTML()
        self.message = ipw.HTML()
        self.test_points = ipw.Checkbox(value=False, description="show test data", indent=False,
                                        layout=ipw.Layout(width="130px"))
        self.discretize = ipw.Checkbox(value=False, description="discretize output", indent=False,
                                       layout=ipw.Layout(width="140px"))
        self.panel = Panel(self._setup.config, self._on_panel)
        self.mode = ipw.Dropdown(options=MODE_NAMES, description="mode", layout=ipw.Layout(width="232px"))
        self.problem = ipw.Dropdown(options=list(TASKS), description="problem",
                                    layout=ipw.Layout(width="232px"))
        self.lr_menu = ipw.Dropdown(options=list(TF_LEARNING_RATES), description="learning rate",
                                    layout=ipw.Layout(width="232px"))
        self.new_weights = ipw.Button(description="New weights", icon="random",
                                      tooltip="Reset with new random weights from the next seed "
                                              "(Restart keeps these)")
        self.weights_label = ipw.HTML()
        self._quiet = False  # True while the menus are set to what the experiment has: no change to report
        self._show_menus()
        self.mode.observe(self._on_mode, names="value")
        self.problem.observe(lambda change: self._from_menu({"dataset": TASKS[change["new"]]}), names="value")
        self.lr_menu.observe(lambda change: self._from_menu({"lr": change["new"]}), names="value")
        self.new_weights.on_click(lambda _: self._dispatch(self._draw_new_weights))
        # no last-batch loss in the status line: the page shows the losses on both splits
        self.controls = TrainerControls(self._setup.trainer, show_loss=False)
        self._controls_box = ipw.VBox([self.controls.widget])
        self._restart_named()
        groups = self.panel.groups
        for key in ("classes", "noise", "train_ratio", "batch_size", "dataset"):
            groups[key].layout.width = "196px"
            groups[key].style.description_width = "72px"  # the style widget itself: a new one would stay open
        for menu in (self.mode, self.problem, self.lr_menu, *(groups[key] for key in (
                "activation", "dropout", "regularization", "reg_rate", "loss", "optimizer"))):
            menu.layout.width = "196px"
            menu.style.description_width = "72px"
        groups["regularization"].layout.width = "220px"
        groups["regularization"].style.description_width = "96px"
        self._data_column = ipw.VBox([ipw.HTML("<b>Data</b>"), self.data_picture, groups["dataset"],
                                      groups["classes"], groups["noise"], groups["train_ratio"],
                                      groups["batch_size"], groups["regenerate"]],
                                     layout=ipw.Layout(width="200px", flex="0 0 auto"))
        # the confusion matrix sits under the diagram, where the column has room, so the page stays
        # one screen tall
        self._network_column = ipw.VBox([ipw.HTML("<b>Features, hidden layers</b>"), self.network_picture,
                                         self.confusion],
                                        layout=ipw.Layout(flex="0 0 auto", align_items="center"))
        self._view_options = ipw.HBox([self.test_points, self.discretize])
        self._output_column = ipw.VBox([ipw.HTML("<b>Output</b>"), self.output_picture, self._view_options],
                                       layout=ipw.Layout(width="300px", flex="0 0 auto"))
        self._settings_row = ipw.HBox([self.mode, self.problem, self.lr_menu]
                                      + [groups[key] for key in ("activation", "regularization", "reg_rate",
                                                                 "loss", "optimizer", "dropout")]
                                      + [self.new_weights, self.weights_label],
                                      layout=ipw.Layout(flex_flow="row wrap", align_items="center"))
        page = ipw.HBox([self._data_column, self._network_column, self._output_column],
                        layout=ipw.Layout(flex_flow="row wrap", align_items="flex-start"))
        widget = ipw.VBox([self._controls_box, self._settings_row, page, self.message])
        self._shown = {"test_points": self.test_points, "discretize": self.discretize,
                       "controls": self._controls_box, "network": self._network_column, "chart": None,
                       "confusion": self.confusion, "focus": None, "mode": self.mode, "problem": self.problem,
                       "new_weights": self.new_weights, **groups}
        super().__init__(widget, self.network_picture, "playground",
                         pacer if pacer is not None else Pacer(fps=FPS))
        self.data_picture.add_class("lt-pg-data-picture")
        self.output_picture.add_class("lt-pg-output-picture")
        for name, part in (("data", self.data_picture), ("output", self.output_picture),
                           ("message", self.message), ("test-points", self.test_points),
                           ("discretize", self.discretize), ("confusion", self.confusion)):
            part.add_class(f"lt-pg-{name}")
        for picture in (self.data_picture, self.output_picture):
            picture.on_request(lambda message: self.loop.run(lambda: self._answer(message)))
        self._apply_hidden()
        self.test_points.observe(lambda _: self._show_options(), names="value")
        self.discretize.observe(lambda _: self._show_options(), names="value")
        self._watch_lr()
        self._show_experiment()
        self.follow(self._setup.trainer)

    # --- the live objects -------------------------------------------------------------
    @property
    def setup(self) -> Setup:
        """The current experiment: data, model, trainer (a new one after every rebuild)."""
        return self._setup

    @property
    def model(self) -> nn.Sequential:
        """The model being trained."""
        return self._setup.model

    @property
    def trainer(self) -> Trainer:
        """The trainer of the current experiment."""
        return self._setup.trainer

    @property
    def config(self) -> dict[str, Any]:
        """The settings as a plain dict; `Playground(**pg.config)` builds the same experiment."""
        return check_config(self._setup.config)

    @property
    def focus(self) -> tuple[int, int] | None:
        """The unit whose map the output shows, as (column, unit) of `unit_names(pg.model)`; None: the
        output."""
        return self._focus

    def code(self) -> str:
        """Python source that builds this experiment's data, `model` and `trainer` with torch and widgets."""
        return to_code(self._setup.config)

    @classmethod
    def from_tf_url(cls, url: str, mode: str = "tf", **options: Any) -> Playground:
        """The experiment of a TensorFlow Playground link (`playground.tensorflow.org/#activation=...`), on
        PyTorch.

        Every key the link defines is read (`widgets.playground.tf_link`); what
        cannot be carried over is named in a warning. `options` go to the
        constructor (`resolution=`, `size=`, `hide=` added to the link's own).
        It opens in TensorFlow Playground's own program (`mode="tf"`), or in the
        richer one with `mode="rich"`.
        """
        link = from_tf_link(url, mode=mode)
        hide = [*link.hide, *options.pop("hide", ())]
        playground = cls(**link.config, hide=hide, **options)
        playground.test_points.value = link.view["test_points"]
        playground.discretize.value = link.view["discretize"]
        return playground

    def tf_url(self) -> str:
        """The TensorFlow Playground link of these settings; a warning names what the link cannot say."""
        view = {"test_points": self.test_points.value, "discretize": self.discretize.value}
        url, cannot = to_tf_link(self._setup.config, view, self._hidden_names)
        if cannot:
            warnings.warn("TensorFlow Playground cannot show: " + "; ".join(cannot), UserWarning,
                          stacklevel=2)
        return url

    # --- changing settings -------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        """Change settings as the page does: the learning rate applies live; any other change builds the
        experiment again (new model and trainer, at step 0; it keeps playing if it was). A bad value raises
        before anything changes."""
        current = self._setup.config
        config = check_config({**current, **changes})
        changed = {key for key in config if config[key] != current[key]}
        if not changed:
            return
        if changed == {"lr"}:
            self.trainer.set_lr(config["lr"])
            self._setup = replace(self._setup, config=config)
            self.controls.lr_slider.value = config["lr"]
            return
        self._rebuild(config)

    def set_weight(self, layer: int, row: int, col: int, value: float) -> WeightEdit:
        """Set `weight[row, col]` of the `layer`-th nn.Linear (0: features to the first hidden layer)
        between two steps, as typing a value into a link of the diagram does; the edit is kept in `edits` and
        returned."""
        layer, row, col, value = check_edit(self.model, layer, row, col, value)
        with self.trainer.between_steps():
            edit = WeightEdit(self.trainer.global_step, layer, row, col, value)
            apply_edit(self.model, edit)
            self.edits.append(edit)
        self.finish()
        return edit

    def show_unit(self, column: int | None, unit: int | None = None) -> None:
        """Show the map of unit `unit` of `column` (as in `unit_names(pg.model)`) large in the output, as
        hovering it does; `show_unit(None)` shows the output again."""
        if column is None or column < 0:
            focus = None
        else:
            names = unit_names(self.model)
            if isinstance(column, bool) or not isinstance(column, int) or not 0 <= column < len(names) \
                    or isinstance(unit, bool) or not isinstance(unit, int) \
                    or not 0 <= unit < len(names[column]):
                raise ValueError(f"(column, unit) must name a unit of this network: "
                                 f"columns 0 to {len(names) - 1} with {[len(c) for c in names]} units; "
                                 f"got ({column!r}, {unit!r})")
            focus = (column, unit)
        if focus != self._focus:
            self._focus = focus
            self._show_options()
            self.finish()

    def _rebuild(self, config: dict[str, Any]) -> None:
        setup = build(config)  # may raise: nothing has changed yet
        try:
            self.panel.show(setup.config)
        except Exception:
            # the controls go back to what is trained; nothing else changed
            self.panel.show(self._setup.config)
            raise
        old, was_playing = self._setup.trainer, self._setup.trainer.is_playing
        old.pause()
        self.unfollow()
        old_controls = self.controls
        self._setup = setup
        self._focus = None
        self.edits = []
        self.controls = TrainerControls(setup.trainer, show_loss=False)
        self._controls_box.children = [self.controls.widget]
        self._restart_named()
        old_controls.close()
        self._show_menus()
        self._watch_lr()
        self._apply_hidden()
        self._show_experiment()
        self.follow(setup.trainer)
        if was_playing:
            self.controls.play_button.value = True

    def _restart_named(self) -> None:
        """TrainerControls' Reset goes back to the same initial weights: here it is Restart, beside New
        weights."""
        self.controls.reset_button.description = "Restart"
        self.controls.reset_button.tooltip = "back to the same initial weights (New weights draws others)"

    def _show_menus(self) -> None:
        """The mode, problem type, learning-rate menu and weights' seed as the experiment has them, without
        calling out."""
        config = self._setup.config
        tf = config["mode"] == "tf"
        for menu, value in ((self.mode, config["mode"]), (self.problem, self._setup.task),
                            (self.lr_menu, config["lr"] if config["lr"] in TF_LEARNING_RATES else None)):
            self._quietly(menu, value)
        self.lr_menu.layout.display = "" if tf and "lr" not in self._hidden_names else "none"
        for key in ("loss", "optimizer", "dropout"):  # TensorFlow Playground has no choice of these
            if key not in self._hidden_names:
                self.panel.groups[key].layout.display = "none" if tf else ""
        self.weights_label.value = f"<span class='lt-pg-seed'>weights: seed {weights_seed(config)}</span>"

    def _quietly(self, menu: ipw.Dropdown, value: Any) -> None:
        self._quiet = True
        try:
            if value is None:
                menu.index = None
            elif menu.value != value:
                menu.value = value
        finally:
            self._quiet = False

    def _on_mode(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._dispatch(lambda: self.set_mode(change["new"]))

    def _from_menu(self, change: dict[str, Any]) -> None:
        if not self._quiet and change.get("lr", 0) is not None:
            self._dispatch(lambda: self._apply(change))

    def set_mode(self, mode: str) -> list[str]:
        """Move the experiment to `mode` ("rich" or "tf"), as the mode menu does; returns what changed with it
        (TensorFlow Playground lacks some choices: each is replaced by its nearest one, and said)."""
        config, changes = to_mode(self._setup.config, mode)
        if config != self._setup.config:
            self._rebuild(config)
        self.message.value = escape("; ".join(changes))
        return changes

    def _draw_new_weights(self) -> None:
        self._apply({"init_seed": weights_seed(self._setup.config) + 1})

    def _on_panel(self, change: dict[str, Any]) -> None:
        self._dispatch(lambda: self._apply(change))

    def _apply(self, change: dict[str, Any]) -> None:
        try:
            self.set(**change)
        except (TypeError, ValueError) as error:
            self.message.value = f"<span style='color:#b00'>{escape(str(error))}</span>"
            self.panel.show(self._setup.config)  # the controls go back to what is trained
        else:
            self.message.value = ""

    def _dispatch(self, work: Callable[[], object]) -> None:
        """Run `work` on the kernel's event loop, between two training steps (widget messages may come on
        another thread); without a running loop, at once."""
        loop = self._loop
        if loop is None or loop.is_closed() or running_loop() is loop:
            work()
        else:
            loop.call_soon_threadsafe(work)

    def on_request(self, message: dict) -> None:
        """A click or hover in the page: a dataset, a feature, layers or units, a weight, the unit shown."""
        kind = str(message.get("type", ""))
        config = self._setup.config
        locked = {"dataset": "dataset", "feature": "features", "layers": "layers", "units": "layers"}
        if locked.get(kind) in self._hidden_names:
            # a page drawn before the lock, or one that sends by hand: a hidden control changes nothing
            return
        if kind == "dataset" and message.get("name") in PROBLEMS:
            self._apply({"dataset": message["name"]})
        elif kind == "feature" and message.get("name") in FEATURES:
            name = message["name"]
            used = [f for f in FEATURES if (f in config["features"]) != (f == name)]
            self._apply({"features": used})
        elif kind == "layers" and message.get("delta") in (1, -1):
            hidden = list(config["hidden"])
            self._apply({"hidden": [*hidden, hidden[-1] if hidden else 4] if message["delta"] == 1
                         else hidden[:-1]})
        elif kind == "units" and message.get("delta") in (1, -1) and isinstance(message.get("layer"), int):
            hidden = list(config["hidden"])
            if 0 <= message["layer"] < len(hidden):
                hidden[message["layer"]] += message["delta"]
                self._apply({"hidden": hidden})
        elif kind == "weight":
            try:
                # set_weight checks them
                where: list[Any] = [message.get(key) for key in ("layer", "row", "col", "value")]
                self.set_weight(*where)
            except (TypeError, ValueError) as error:
                self.message.value = f"<span style='color:#b00'>{escape(str(error))}</span>"
        elif kind == "show":
            column = message.get("column")
            try:
                self.show_unit(None if not isinstance(column, int) or column < 0 else column,
                               message.get("unit"))
            except ValueError:
                self.show_unit(None)  # a hover from a diagram drawn before a rebuild

    def _watch_lr(self) -> None:
        self.controls.lr_slider.observe(self._on_lr_slider, names="value")

    def _on_lr_slider(self, change: dict[str, Any]) -> None:
        lr = float(change["new"])
        if lr > 0 and lr != self._setup.config["lr"]:
            self._setup = replace(self._setup, config={**self._setup.config, "lr": lr})

    # --- what it shows -----------------------------------------------------------------
    def _apply_hidden(self) -> None:
        for name in self._hidden_names:
            widget = self.controls.lr_slider if name == "lr" else self._shown.get(name)
            if widget is not None:
                widget.layout.display = "none"
        own = self._setup.config["dataset"] == OWN
        self.panel.dataset.layout.display = "" if own and "dataset" not in self._hidden_names else "none"
        data_settings = ("dataset", "classes", "noise", "train_ratio", "batch_size", "regenerate")
        data_hidden = all(name in self._hidden_names for name in data_settings)
        self._data_column.layout.display = "none" if data_hidden else ""
        self.data_picture.layout.display = "none" if own or "dataset" in self._hidden_names else ""
        hidden = self._hidden_names
        self.weights_label.layout.display = "none" if "new_weights" in hidden else ""
        self._view_options.layout.display = "none" if {"test_points", "discretize"} <= hidden else ""
        if all(name in hidden for name in ("mode", "problem", "activation", "regularization", "reg_rate",
                                           "loss", "optimizer", "dropout", "new_weights")):
            self._settings_row.layout.display = "none"

    def _show_options(self) -> None:
        setup = self._setup
        classification = setup.classes is not None
        names = unit_names(setup.model)
        scale, classes = palette(setup.config)
        self.network_picture.options = {
            "features": list(FEATURES), "active": list(setup.config["features"]),
            "hidden": list(setup.config["hidden"]), "outputs": len(names[-1]), "palette": scale,
            "max_layers": MAX_LAYERS, "max_units": MAX_NEURONS,
            "lock_features": "features" in self._hidden_names, "lock_layers": "layers" in self._hidden_names,
            "lock_focus": "focus" in self._hidden_names}
        focus = None if self._focus is None else names[self._focus[0]][self._focus[1]]
        self.output_picture.options = {
            "palette": scale,
            "class_colours": _colours(setup.classes) if setup.classes and setup.classes > 2 else classes,
            "task": setup.task, "plane": list(PLANE), "focus": focus, "show_test": self.test_points.value,
            "discretize": self.discretize.value, "probability": classification and len(names[-1]) == 2,
            "hide_chart": "chart" in self._hidden_names}

    def _show_experiment(self) -> None:
        """Put a new experiment in the page: thumbnails, options, points, and the first state."""
        config = self._setup.config
        tf = config["mode"] == "tf"
        datasets = (list(TF_PROBLEMS) if tf
                    else [name for name in PROBLEMS if name != "blobs" or config["dataset"] == "blobs"])
        thumbs = np.zeros((len(datasets), THUMB_POINTS * 3), dtype=np.float32)
        for index, name in enumerate(datasets):
            if tf:
                x, y = make_tf_problem(name, noise=config["noise"], seed=config["seed"], n=THUMB_POINTS)
                y = y if name in TF_REGRESSIONS else (y > 0).float()  # class 1 is +1
            else:
                classes = config["classes"] if name == "blobs" else None
                x, y = make_problem(name, n=THUMB_POINTS, noise=config["noise"], seed=config["seed"],
                                    classes=classes)
            block = thumbs[index].reshape(THUMB_POINTS, 3)
            block[:, :2] = x[:THUMB_POINTS].numpy()
            block[:, 2] = y[:THUMB_POINTS].float().numpy()
        self.data_picture.put("thumbs", thumbs)
        scale, classes = palette(config)
        blobs = config["dataset"] == "blobs"
        self.data_picture.options = {"datasets": datasets, "current": config["dataset"],
                                     "regression": list(REGRESSIONS),
                                     "class_colours": _colours(config["classes"]) if blobs else classes,
                                     "palette": scale,
                                     "plane": list(PLANE), "lock": "dataset" in self._hidden_names}
        self.data_picture.store()
        with self._send_lock:
            self.output_picture.put("points", points(self._setup))
            self.output_picture.put("history", np.zeros((0, 5), dtype=np.float32))
            self._epochs_sent = 0
        self._show_options()
        self.finish()

    def collect(self, fresh: bool = False) -> None:
        """The history's new rows, and a copy of the weights evaluated over the plane and on both splits
        (`_evaluate`) outside the trainer's lock.

        On the training thread, not the views' worker: measured quiet with `bench_playground.py`, training
        ran at 0.88 (rich) and 0.94 (tf) of the bare speed this way, against 0.83 and 0.86 with the worker,
        whose small torch operations took the interpreter from the training thread thousands of times a
        second."""
        setup = self._setup
        trainer = setup.trainer
        with trainer.between_steps():
            if self._replica is None or self._replica[0] is not setup:
                self._replica = (setup, copy.deepcopy(setup.model))
            weights = [parameter.detach().clone() for parameter in setup.model.parameters()]
            counters = (trainer.epoch, trainer.global_step)
            epochs = trainer.history.epochs
        with self._send_lock:
            if len(epochs) < self._epochs_sent:
                self.output_picture.put("history", np.zeros((0, 5), dtype=np.float32))
                self._epochs_sent = 0
            if len(epochs) > self._epochs_sent:
                rows = [[record.get("epoch", index + 1), record.get("train_loss", np.nan),
                         record.get("valid_loss", np.nan), record.get("train_acc", np.nan),
                         record.get("valid_acc", np.nan)]
                        for index, record in enumerate(epochs[self._epochs_sent:], start=self._epochs_sent)]
                self.output_picture.extend("history", np.asarray(rows, dtype=np.float32))
                self._epochs_sent = len(epochs)
        replica, focus = self._replica[1], self._focus
        self._evaluate(setup, replica, weights, counters, focus, fresh)

    def _evaluate(self, setup: Setup, replica: nn.Sequential, weights: list[torch.Tensor],
                  counters: tuple[int, int], focus: tuple[int, int] | None, fresh: bool) -> None:
        """The weights' maps, output and figures, put into the pictures and sent."""
        if self._closed or setup is not self._setup:
            return
        with torch.no_grad():
            for parameter, value in zip(replica.parameters(), weights, strict=True):
                parameter.copy_(value)
        numbers = look(replica, setup.classes is not None)
        figures = self._split_figures(setup, replica, counters[1], fresh)
        shown = numbers.output if focus is None else codes(numbers.fields[focus[0]][focus[1]][None])
        with self._send_lock:
            if self._closed or setup is not self._setup:
                return
            self.network_picture.put("maps", numbers.maps)
            self.network_picture.put("weights", numbers.weights)
            self.network_picture.put("biases", numbers.biases)
            self.output_picture.put("field", shown)
            self.output_picture.put("now", np.array([[*counters, *figures]], dtype=np.float32))
            self.network_picture.send()
            self.output_picture.send()

    def _split_figures(self, setup: Setup, model: nn.Module, step: int, fresh: bool) -> np.ndarray:
        now, last = time.perf_counter(), self._figures
        if (fresh or last is None or (last[1] != step and now - last[0] >= FIGURES_EVERY)
                or last[3] is not setup):
            self._figures = last = (now, step, split_figures(setup, model), setup)
        return last[2]

    def push(self, fresh: bool = False) -> bool:
        with self._lock:
            self.collect(fresh)
            with self._send_lock:
                self.output_picture.send()  # the history's new rows (`_evaluate` sent the rest)
            return True

    def finish(self) -> None:
        with self._lock:
            self.collect(fresh=True)
            with self._send_lock:
                self.output_picture.send()
                self.network_picture.store()
                self.output_picture.store()
            self._show_confusion()

    def on_reset(self, payload: dict) -> None:
        self.edits = []
        self.finish()

    def _show_confusion(self) -> None:
        setup = self._setup
        if setup.classes is None or "confusion" in self._hidden_names:
            self.confusion.value = ""
            return
        with torch.no_grad(), setup.trainer.between_steps():
            was = setup.model.training
            setup.model.eval()
            try:
                output = setup.model(setup.x_test)
            finally:
                setup.model.train(was)
        predicted = (output[:, 0] > 0).long() if output.shape[1] == 1 else output.argmax(dim=1)
        truth = (setup.y_test > 0).long() if setup.mode == "tf" else setup.y_test  # tf: labels -1 and +1
        matrix = confusion_matrix(predicted.numpy(), truth.numpy(), setup.classes)
        self.confusion.value = confusion_html(matrix, [f"class {k}" for k in range(setup.classes)])

    # --- still pictures ------------------------------------------------------------------
    def frame_state(self) -> Any:
        trainer = self._setup.trainer
        with trainer.between_steps():
            weights = {name: value.detach().clone() for name, value in self._setup.model.state_dict().items()}
            key = (id(self._setup), trainer.global_step, len(self.edits), len(trainer.history.epochs),
                   self._focus, self.discretize.value, self.test_points.value)
        return _Frame(key, self._setup, weights)

    def render_png(self, state: Any) -> bytes:
        setup, weights = state.setup, state.weights
        _, _, _, epochs, focus, discretize, show_test = state.key
        replica = copy.deepcopy(setup.model)
        replica.load_state_dict(weights)
        then = replace(setup, model=replica, trainer=_TrainerThen(setup.trainer, epochs))
        scene = draw_scene(then, resolution=self._resolution, size=self._size, focus=focus,
                           discretize=discretize, show_test=show_test)
        return png_bytes(scene.composed())

    def release(self) -> None:
        self.trainer.pause()
        self.controls.close()
        self.panel.close()
        for picture in (self.data_picture, self.output_picture):
            picture.close()
        close_tree(self._controls_box)

    def __repr__(self) -> str:
        return "Playground()"
