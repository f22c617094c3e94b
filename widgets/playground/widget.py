"""Playground: TensorFlow Playground's experiments, live in one widget, on a real PyTorch model.

The widget holds one experiment at a time (`widgets.playground.build`): data,
an `nn.Sequential` and a `widgets.Trainer`. Its controls change the settings;
a change of the data or the network builds the experiment again (new model,
new trainer, training back at step 0), a change of the learning rate applies
live. Everything it shows is drawn by `scene.draw_scene` on one frame clock.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from html import escape
from typing import Any

import ipywidgets as ipw
from torch import nn

from widgets.training.trainer import Trainer
from widgets.views.base import View, close_tree
from widgets.views.clock import FrameClock, check_clock
from widgets.views.controls import TrainerControls
from widgets.views.kernel_loop import running_loop
from widgets.views.png import png_bytes

from .config import OWN, check_config
from .confusion import confusion_html, confusion_matrix
from .export import to_code
from .maps import unit_names
from .panel import Panel, check_hide
from .scene import Scene, draw_scene
from .setup import Setup, build
from .tf_link import from_tf_link, to_tf_link

BUDGET = 0.05
"""Share of the training time the Playground's frames may take (its own clock; a frame of a small network takes 10-15 ms)."""


def _settings(data: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The config asked for: `settings`, with a learner's `(x, y)` as the "own" dataset."""
    if data is None or isinstance(data, Mapping):
        return {**settings, "data": data} if data is not None or "data" in settings else dict(settings)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return {"dataset": OWN, **settings, "data": {"x": data[0], "y": data[1]}}
    raise TypeError(f"data must be a pair (x, y): x [N, 2] points, y their classes or values; got {type(data).__name__}")


class Playground(View):
    """TensorFlow Playground in a notebook cell, training a real `torch.nn.Module` with the project's Trainer.

    `Playground(dataset="spiral", hidden=[8, 8], ...)` takes any setting of
    `widgets.playground.DEFAULTS`; `Playground(data=(x, y))` trains on a
    learner's own [N, 2] points. `hide=[...]` takes controls away (names in
    `widgets.playground.panel.CONTROLS`). `pg.model` and `pg.trainer` are the live
    objects, `pg.config` the settings as a plain dict (`Playground(**pg.config)`
    rebuilds the same experiment), `pg.code()` the same experiment as Python,
    `pg.set(...)` changes settings as the controls do, and `pg.snapshot()` is
    the current frame.
    """

    def __init__(self, data: Any = None, *, hide: Iterable[str] = (), clock: FrameClock | None = None,
                 resolution: int = 100, size: int = 300, **settings: Any) -> None:
        config = check_config(_settings(data, settings))  # every bad setting is named before anything is built
        hidden = check_hide(hide)
        check_clock(clock)
        for name, value, low, high in (("resolution", resolution, 8, 400), ("size", size, 100, 1000)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
        clock = clock if clock is not None else FrameClock(budget=BUDGET)
        self._setup: Setup = build(config)
        self._resolution, self._size = resolution, size
        self._focus: tuple[int, int] | None = None
        self._hidden_names: set[str] = set()
        self._scene: Scene | None = None
        self._loop = running_loop()

        self.plane_image = ipw.Image(format="png")
        self.network_image = ipw.Image(format="png")
        self.chart_image = ipw.Image(format="png")
        self.figures = ipw.HTML()
        self.confusion = ipw.HTML()
        self.message = ipw.HTML()
        self.test_points = ipw.Checkbox(value=True, description="show test data", indent=False)
        self.discretize = ipw.Checkbox(value=False, description="discretize output", indent=False)
        self.focus = ipw.Dropdown(description="show", layout=ipw.Layout(width="220px"))
        self.panel = Panel(self._setup.config, self._on_panel)
        self.controls = TrainerControls(self._setup.trainer, clock=clock)
        self._controls_box = ipw.VBox([self.controls.widget])
        self._shown = {"test_points": self.test_points, "discretize": self.discretize, "focus": self.focus,
                       "controls": self._controls_box, "network": self.network_image, "chart": self.chart_image,
                       "confusion": self.confusion, **self.panel.groups}
        for name, widget in (("plane", self.plane_image), ("network", self.network_image), ("chart", self.chart_image),
                             ("figures", self.figures), ("confusion", self.confusion), ("message", self.message),
                             ("test-points", self.test_points), ("discretize", self.discretize), ("focus", self.focus)):
            widget.add_class(f"lt-pg-{name}")
        groups = self.panel.groups
        data_column = ipw.VBox([ipw.HTML("<b>Data</b>"), groups["dataset"], groups["classes"], groups["noise"],
                                groups["train_ratio"], groups["batch_size"], groups["regenerate"]],
                               layout=ipw.Layout(width="290px", flex="0 0 auto"))
        network_column = ipw.VBox([ipw.HTML("<b>Features and layers</b>"), groups["features"], groups["layers"],
                                   self.network_image], layout=ipw.Layout(min_width="340px", flex="0 0 auto"))
        output_column = ipw.VBox([ipw.HTML("<b>Output</b>"), self.plane_image, ipw.HBox([self.focus]),
                                  ipw.HBox([self.test_points, self.discretize]), self.chart_image, self.figures,
                                  self.confusion])
        training_row = ipw.HBox([groups[key] for key in ("activation", "dropout", "regularization", "reg_rate",
                                                         "loss", "optimizer")],
                                layout=ipw.Layout(flex_flow="row wrap"))
        widget = ipw.VBox([self._controls_box, training_row,
                           ipw.HBox([data_column, network_column, output_column]), self.message])
        super().__init__(widget, "playground", clock)
        self._hide(hidden)
        self.test_points.observe(lambda _: self.redraw(), names="value")
        self.discretize.observe(lambda _: self.redraw(), names="value")
        self.focus.observe(self._on_focus, names="value")
        self._watch_lr()
        self._refresh_focus_options()
        self.follow(self._setup.trainer)
        self.draw_first_frame()

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
    def scene(self) -> Scene | None:
        """The pictures and figures of the last frame drawn."""
        return self._scene

    def code(self) -> str:
        """Python source that builds this experiment's data, `model` and `trainer` with torch and widgets."""
        return to_code(self._setup.config)

    @classmethod
    def from_tf_url(cls, url: str, **options: Any) -> Playground:
        """The experiment of a TensorFlow Playground link (`playground.tensorflow.org/#activation=...`), on PyTorch.

        Every key the link defines is read (`widgets.playground.tf_link`); what
        cannot be carried over is named in a warning. `options` go to the
        constructor (`resolution=`, `size=`, `hide=` added to the link's own).
        """
        link = from_tf_link(url)
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
            warnings.warn("TensorFlow Playground cannot show: " + "; ".join(cannot), UserWarning, stacklevel=2)
        return url

    # --- changing settings -------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        """Change settings as the controls do: the learning rate applies live; any other change builds the
        experiment again (new model and trainer, at step 0; it keeps playing if it was). A bad value raises
        before anything changes."""
        current = self._setup.config
        config = check_config({**current, **changes})
        changed = {key for key in config if config[key] != current[key]}
        if not changed:
            return
        if changed == {"lr"}:
            self.trainer.set_lr(config["lr"])
            self._setup = _with_config(self._setup, config)
            self.controls.lr_slider.value = config["lr"]
            return
        self._rebuild(config)

    def _rebuild(self, config: dict[str, Any]) -> None:
        setup = build(config)  # may raise: nothing has changed yet
        try:
            self.panel.show(setup.config)
        except Exception:
            self.panel.show(self._setup.config)  # the controls go back to what is trained; nothing else changed
            raise
        old, was_playing = self._setup.trainer, self._setup.trainer.is_playing
        old.pause()
        self.unfollow()
        old_controls = self.controls
        self._setup = setup
        self._focus = None
        self.controls = TrainerControls(setup.trainer, clock=self.clock)
        self._controls_box.children = [self.controls.widget]
        old_controls.close()
        self._watch_lr()
        self._hide(())  # the new controls' learning-rate slider stays hidden if it was
        self._refresh_focus_options()
        self.follow(setup.trainer)
        self.request_frame("final")
        if was_playing:
            self.controls.play_button.value = True

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

    def _dispatch(self, work: Callable[[], None]) -> None:
        """Run `work` on the kernel's event loop, between two training steps (widget messages may come on another
        thread); without a running loop, at once."""
        loop = self._loop
        if loop is None or loop.is_closed() or running_loop() is loop:
            work()
        else:
            loop.call_soon_threadsafe(work)

    def _watch_lr(self) -> None:
        self.controls.lr_slider.observe(self._on_lr_slider, names="value")

    def _on_lr_slider(self, change: dict[str, Any]) -> None:
        lr = float(change["new"])
        if lr > 0 and lr != self._setup.config["lr"]:
            self._setup = _with_config(self._setup, {**self._setup.config, "lr": lr})

    # --- what it shows -----------------------------------------------------------------
    def _hide(self, names: Iterable[str]) -> None:
        self._hidden_names |= set(names)
        for name in self._hidden_names:
            widget = self.controls.lr_slider if name == "lr" else self._shown.get(name)
            if widget is not None:
                widget.layout.display = "none"

    def _refresh_focus_options(self) -> None:
        options: list[tuple[str, Any]] = [("output", None)]
        for column, names in enumerate(unit_names(self.model)):
            options += [(f"unit {name}" if column else f"input {name}", (column, unit)) for unit, name in enumerate(names)]
        self.focus.unobserve(self._on_focus, names="value")
        self.focus.options = options
        # By index: options first set on an empty dropdown leave it with no selection, and value None is then no change.
        values = [value for _, value in options]
        self.focus.index = values.index(self._focus) if self._focus in values else 0
        self.focus.observe(self._on_focus, names="value")

    def _on_focus(self, change: dict[str, Any]) -> None:
        self._focus = change["new"]
        self.redraw()

    def draw(self) -> None:
        scene = draw_scene(self._setup, resolution=self._resolution, size=self._size, focus=self._focus,
                           discretize=self.discretize.value, show_test=self.test_points.value)
        self._scene = scene
        self.plane_image.value = png_bytes(scene.plane)
        self.network_image.value = png_bytes(scene.network.image)
        self.chart_image.value = png_bytes(scene.chart)
        self.figures.value = _figures_html(scene, self.trainer)
        if self._setup.classes is not None and scene.test_predictions is not None:
            matrix = confusion_matrix(scene.test_predictions, self._setup.y_test.numpy(), self._setup.classes)
            self.confusion.value = confusion_html(matrix, [f"class {k}" for k in range(self._setup.classes)])
        else:
            self.confusion.value = ""

    def snapshot_png(self) -> bytes:
        if self._scene is None:
            self.redraw()
        return png_bytes(self._scene.composed())

    def release(self) -> None:
        self.trainer.pause()
        self.controls.close()
        self.panel.close()
        close_tree(self._controls_box)

    def __repr__(self) -> str:
        return "Playground()"


def _with_config(setup: Setup, config: dict[str, Any]) -> Setup:
    """`setup` with settings that change nothing built (the learning rate)."""
    return replace(setup, config=config)


def _figures_html(scene: Scene, trainer: Trainer) -> str:
    parts = [f"epoch {trainer.epoch}", f"train loss {scene.train_loss:.3f}", f"test loss {scene.test_loss:.3f}"]
    if scene.train_accuracy is not None:
        parts += [f"train accuracy {scene.train_accuracy:.3f}", f"test accuracy {scene.test_accuracy:.3f}"]
    return "<span class='lt-pg-numbers' style='font-size:12px'>" + " · ".join(parts) + "</span>"
