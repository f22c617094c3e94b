"""Compare: several runs on one live plot, one colour per run, train solid and validation dashed, legend beside the data."""

import asyncio

import numpy as np
import pytest
import torch
from frames import FakeTime, decode
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Compare, Trainer, accuracy
from widgets.data import spirals
from widgets.views.clock import FrameClock
from widgets.views.compare import MIN_FIGSIZE

EVENTS = ("step", "epoch", "state", "reset", "backward")


def run(lr: float = 0.1, batch_size: int = 32, metrics: bool = True, valid: bool = True, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    x, y = spirals(192, sd=0.05, seed=seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    return Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=lr),
                   DataLoader(TensorDataset(x[:128], y[:128]), batch_size=batch_size, shuffle=True),
                   valid_loader=DataLoader(TensorDataset(x[128:], y[128:]), batch_size=64) if valid else None,
                   metrics={"acc": accuracy} if metrics else None, device="cpu", verbose=False)


def near(pixels: np.ndarray, colour: str, tolerance: int = 40) -> np.ndarray:
    return np.abs(pixels - np.round(np.array(to_rgb(colour)) * 255)).max(axis=-1) <= tolerance


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    return image[top + 2 : bottom - 2, left + 2 : right - 2]


def test_each_run_has_its_colour_in_every_panel():
    runs = {"slow": run(0.003), "fast": run(0.05, seed=1), "big batches": run(0.02, batch_size=64, seed=2)}
    view = Compare(runs)
    for trainer in runs.values():
        trainer.fit(3)
    image = decode(view.snapshot().data)
    assert view.panels == ["loss", "acc"]
    colours = view.colours
    assert len(set(colours.values())) == 3
    for panel in view.panels:
        pixels = crop(image, view.panel_box(panel))
        for name, colour in colours.items():
            assert near(pixels, colour, tolerance=12).sum() >= 15, f"{name} missing from the {panel} panel"
    view.close()


def share_on_the_line(image: np.ndarray, view: Compare, panel: str, split: str, colour: str, markers: bool) -> float:
    """The share of points along a drawn line, 1 px apart (5 px clear of its markers), that show the line's colour."""
    vertices = view.line_pixels("only", panel, split)
    lengths = np.hypot(*np.diff(vertices, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    at = np.arange(0.0, along[-1], 1.0)
    points = np.column_stack([np.interp(at, along, vertices[:, 0]), np.interp(at, along, vertices[:, 1])])
    if markers:
        gaps = np.hypot(points[:, None, 0] - vertices[None, :, 0], points[:, None, 1] - vertices[None, :, 1])
        points = points[gaps.min(axis=1) > 5]
    points = np.floor(points).astype(int)  # pixel i spans [i, i + 1)
    assert len(points) >= 100
    return float(near(image[points[:, 1], points[:, 0]], colour).mean())


def test_validation_is_dashed_and_training_solid():
    trainer = run()
    view = Compare({"only": trainer}, metrics=[])
    trainer.fit(12)
    image = decode(view.snapshot().data)
    colour = view.colours["only"]
    solid = share_on_the_line(image, view, "loss", "train", colour, markers=False)
    dashed = share_on_the_line(image, view, "loss", "valid", colour, markers=True)
    assert solid >= 0.95 and 0.4 <= dashed <= 0.85, (solid, dashed)  # the dashes leave gaps along the line


def test_the_legend_lies_beside_every_panel_and_every_line():
    runs = {"a": run(), "b": run(0.02, seed=1)}
    view = Compare(runs)
    for trainer in runs.values():
        trainer.fit(2)
    view.snapshot()
    left, top, right, bottom = view.legend_box
    for panel in view.panels:
        panel_left, panel_top, panel_right, panel_bottom = view.panel_box(panel)
        assert panel_right <= left or right <= panel_left or panel_bottom <= top or bottom <= panel_top
    for key in view.series:
        pixels = view.line_pixels(*key)
        pixels = pixels[np.isfinite(pixels).all(axis=1)]
        assert len(pixels) and not ((pixels[:, 0] >= left) & (pixels[:, 0] <= right)
                                    & (pixels[:, 1] >= top) & (pixels[:, 1] <= bottom)).any(), key


def test_frames_follow_interleaved_runs_of_different_lengths_and_close_unsubscribes():
    now = FakeTime()
    short, long = run(batch_size=64), run(batch_size=16, seed=1)  # 2 and 8 steps an epoch
    view = Compare({"short": short, "long": long}, clock=FrameClock(max_fps=10, budget=1.0, time_fn=now))
    frames = [view.frame.png]

    def tick(record: dict) -> None:
        now.t += 0.03  # every step of either run takes 30 ms
        if record["step"] % 4 == 0:
            frames.append(view.frame.png)

    tick_handles = [t.on("step", tick) for t in (short, long)]

    async def both() -> None:  # two play tasks on one loop: their steps interleave
        await asyncio.gather(short.play(3), long.play(3))

    drawn = view.frames_drawn
    asyncio.run(both())
    assert short.global_step == 6 and long.global_step == 24
    assert 5 <= view.frames_drawn - drawn < 30  # live while they train, throttled by the clock
    assert len(set(frames)) >= 5 and not view.stale  # the pictures changed, the last frame is current
    short.fit(1)  # a run that stops gets its final frame
    assert not view.stale and view.series[("short", "loss", "train")][0][-1] == pytest.approx(short.global_step / 2)
    assert view.x_limits[1] >= short.global_step / 2
    view.x_toggle.value = "steps"
    assert view.x_limits[1] >= long.global_step and view.series[("long", "loss", "train")][0][-1] == long.global_step
    view.log_toggle.value = True
    assert view.loss_scale == "log" and view.y_limits("loss")[0] > 0
    view.close()
    for handle in tick_handles:
        handle.remove()
    for trainer in (short, long):
        assert all(trainer.listeners(event) == [] for event in EVENTS)


def test_a_run_added_live_joins_the_plot_and_a_reset_clears_only_its_run():
    first, second = run(), run(0.02, metrics=False, valid=False, seed=1)
    view = Compare({"first": first})
    first.fit(2)
    assert view.panels == ["loss", "acc"]
    added = []
    handle = first.on("step", lambda record: added.append(view.add("second", second)) if record["step"] == 9 else None)
    first.fit(1)  # added while the first run trains
    handle.remove()
    assert added == [None] and list(view.runs) == ["first", "second"]
    assert view.panels == ["loss"]  # the second run has no accuracy: only the loss is shared
    second.fit(2)
    series = view.snapshot() and view.series
    assert ("second", "loss", "valid") not in series and len(series[("second", "loss", "train")][0]) == 8
    second.reset()
    assert len(view.series[("second", "loss", "train")][0]) == 0
    assert len(view.series[("first", "loss", "train")][0]) == 12


def texts_out_of(view: Compare) -> list[str]:
    """Shown texts (labels, tick labels inside the limits, legend entries) that stick out of the canvas."""
    figure = view.frame.figure
    renderer = figure.canvas.get_renderer()
    texts: list = [*figure.legends, *(t for legend in figure.legends for t in legend.get_texts())]
    for ax in figure.axes:
        texts += [ax.xaxis.label, ax.yaxis.label, ax.yaxis.get_offset_text()]
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            texts += [label for loc, label in zip(axis.get_ticklocs(), axis.get_ticklabels(), strict=True)
                      if low <= loc <= high]
    shown = [t for t in texts if t.get_visible() and (not isinstance(t, Text) or t.get_text())]
    assert len(shown) >= 15
    canvas = figure.bbox.padded(0.5)
    boxes = [t.get_window_extent(renderer) for t in shown]
    return [t.get_text() if isinstance(t, Text) else "legend" for t, box in zip(shown, boxes)
            if not (canvas.contains(box.x0, box.y0) and canvas.contains(box.x1, box.y1))]


@pytest.mark.parametrize("figsize", [MIN_FIGSIZE, (8.0, 3.2)], ids=["smallest", "default"])
def test_no_text_is_cut(figsize):
    runs = {"sgd, lr 0.1": run(), "adam, lr 0.01": run(0.01, seed=1), "adam, batch 64": run(0.01, 64, seed=2)}
    view = Compare(runs, figsize=figsize, log_scale=True)
    for trainer in runs.values():
        trainer.fit(2)
    view.snapshot()
    assert texts_out_of(view) == []


def test_bad_input_is_refused_with_a_clear_message():
    trainer, other = run(), run(seed=1)
    cases = [
        (([trainer],), TypeError, "Compare expects a dict of run name -> Trainer, got list"),
        (({},), ValueError, "needs at least one run"),
        (({"a": trainer.model},), TypeError, "run 'a' must be a Trainer, got Sequential"),
        (({1: trainer},), TypeError, "run names must be non-empty strings, got 1"),
        (({"a": trainer, "b": trainer},), ValueError, "runs 'a' and 'b' are the same Trainer"),
    ]
    for args, kind, message in cases:
        with pytest.raises(kind, match=message):
            Compare(*args)
    with pytest.raises(ValueError, match="metric 'f1' is not a metric of run"):
        Compare({"a": trainer}, metrics=["f1"])
    with pytest.raises(ValueError, match=r"figsize must be at least \(5.0, 2.6\)"):
        Compare({"a": trainer}, figsize=(4.0, 3.0))
    with pytest.raises(ValueError, match="x_axis must be one of"):
        Compare({"a": trainer}, x_axis="time")
    view = Compare({"a": trainer})
    with pytest.raises(ValueError, match="a run named 'a' is already compared"):
        view.add("a", other)
    with pytest.raises(TypeError, match="run 'b' must be a Trainer"):
        view.add("b", None)
    assert list(view.runs) == ["a"] and other.listeners("step") == []
    assert repr(view) == "Compare()"
