"""DecisionBoundary drawn in the page: what the kernel sends and when, kept epochs, the still PNG, the thread
rule, modes and randomness, the regression and K-class cases, bad input."""

import asyncio
import itertools
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from frames import decode
from small_trainers import small_trainer, training_points
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from widgets import Trainer
from widgets.data import spirals
from widgets.views.boundary import DEFAULT_SIZE, MARGINS, DecisionBoundary
from widgets.views.pacer import Pacer
from widgets.views.style import class_colours


def mlp(inputs: int = 2, outputs: int = 2, hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))


def spiral_trainer(
    n: int = 240, batch_size: int = 40, make_model=mlp
) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    trainer = small_trainer(n=n, sd=0.0, data_seed=2, batch_size=batch_size, model=make_model,
                            optimizer="adam",
                            lr=0.02, device="cpu")
    return (trainer, *training_points(trainer))


def p1_codes(boundary: DecisionBoundary, model: nn.Module, side: int) -> np.ndarray:
    """p(class 1) over a side x side grid of the boundary's box as uint8 codes, computed here from the
    model alone."""
    gx = torch.linspace(boundary.bounds[0], boundary.bounds[1], side)
    gy = torch.linspace(boundary.bounds[2], boundary.bounds[3], side)
    rows, cols = torch.meshgrid(gy, gx, indexing="ij")
    training = model.training
    model.eval()
    with torch.no_grad():
        p1 = torch.softmax(model(torch.stack([cols, rows], dim=-1).reshape(-1, 2)), dim=1)[:, 1]
    model.train(training)
    return (p1 * 255).round().to(torch.uint8).reshape(side, side).numpy()


def close_to(codes: np.ndarray, expected: np.ndarray) -> bool:
    """Equal up to one code: the view codes p1 as sigmoid(o1 - o0), softmax's p1 up to rounding."""
    return codes.shape == expected.shape and int(np.abs(codes.astype(int) - expected.astype(int)).max()) <= 1


def still_pixel(image: np.ndarray, boundary: DecisionBoundary, point, size=DEFAULT_SIZE) -> np.ndarray:
    """The RGB pixel of a still at a data point: the field fills the box inside MARGINS."""
    x0, x1, y0, y1 = boundary.bounds
    width, height = size
    px = MARGINS["left"] + (point[0] - x0) / (x1 - x0) * (width - MARGINS["left"] - MARGINS["right"])
    py = MARGINS["top"] + (y1 - point[1]) / (y1 - y0) * (height - MARGINS["top"] - MARGINS["bottom"])
    return image[int(round(py)), int(round(px))]


def grid_point(boundary: DecisionBoundary, side: int, row: int, col: int) -> tuple[float, float]:
    x0, x1, y0, y1 = boundary.bounds
    return x0 + (x1 - x0) * col / (side - 1), y0 + (y1 - y0) * row / (side - 1)


class Wire:
    """What a Picture puts on its comm: the custom messages (with their buffers) and the trait updates."""

    def __init__(self, picture) -> None:
        self.messages: list[tuple[dict, list[bytes]]] = []
        self.updates: list[str] = []
        send = picture.comm.send

        def recording_send(data=None, metadata=None, buffers=None):
            if data.get("method") == "custom":
                self.messages.append((data["content"], [bytes(b) for b in buffers or []]))
            else:
                self.updates.extend(data.get("state", {}))
            return send(data=data, metadata=metadata, buffers=buffers)

        picture.comm.send = recording_send

    def clear(self) -> None:
        self.messages.clear()
        self.updates.clear()


def page_says(picture, message: dict) -> None:
    """Deliver a message from the page the way the front end does: through the widget's comm."""
    picture.comm.handle_msg({"content": {"data": {"method": "custom", "content": message}}, "buffers": []})


@pytest.mark.slow
def test_a_trained_boundary_sends_its_field_and_its_still_shows_blue_and_red_where_the_model_says():
    trainer, x, y = spiral_trainer()
    boundary = DecisionBoundary(trainer, x, y)
    trainer.fit(60)
    assert boundary.caption == "epoch 60" and boundary.shown.resolution == 100
    expected = p1_codes(boundary, trainer.model, 100)
    assert close_to(boundary.picture.channel("field"), expected)  # the final field, at full resolution
    assert boundary.picture.data["field"]["shape"] == [100, 100]  # and stored, for a page opened later
    with torch.no_grad():
        accuracy = (trainer.model(x).argmax(dim=1) == y).float().mean().item()
    assert accuracy > 0.8
    image = decode(boundary.snapshot_png())
    assert image.shape[:2] == (DEFAULT_SIZE[1], DEFAULT_SIZE[0])
    # grid points far from every data point and from the caption: the field alone
    far = torch.cdist(torch.tensor([grid_point(boundary, 100, r, c) for r in range(100) for c in range(100)]),
                      x).min(dim=1)
    far = far.values.reshape(100, 100).numpy() > 0.12
    far[80:, :40] = False  # the caption's corner
    far[:2], far[-2:], far[:, :2], far[:, -2:] = False, False, False, False  # the axes' frame
    checked = {0: 0, 1: 0}
    for (row, col) in zip(*np.nonzero(far & ((expected < 20) | (expected > 235)))):
        red, _, blue = still_pixel(image, boundary, grid_point(boundary, 100, row, col))
        if expected[row, col] < 20:
            assert blue > red + 25, (row, col, red, blue)
            checked[0] += 1
        else:
            assert red > blue + 25, (row, col, red, blue)
            checked[1] += 1
    assert checked[0] > 50 and checked[1] > 50
    # a point is drawn over the field in its class colour, the wrong ones crossed out in black
    right = [i for i in range(len(x)) if not boundary.misclassified[i]
             and np.sort(torch.cdist(x[i:i + 1], x)[0].numpy())[1] > 0.04]
    for i in right[:10]:
        colour = np.round(np.array(class_colours(2)[int(y[i])]) * 255)
        assert np.abs(still_pixel(image, boundary, x[i].tolist()) - colour).max() <= 40
    boundary.close()


def test_what_goes_once_and_what_each_round_carries():
    trainer, x, y = spiral_trainer(n=200, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, x_valid=x[:40], y_valid=y[:40], pacer=Pacer(fps=120))
    points = 240
    data = boundary.picture.data
    # once: the points, their labels, the palettes; options: bounds, colours, title, which points are for
    # validation
    assert data["points"]["dtype"] == "float32" and data["points"]["shape"] == [points, 2]
    assert np.array_equal(np.frombuffer(data["points"]["buffer"], np.float32).reshape(-1, 2)[:200], x.numpy())
    assert data["labels"]["shape"] == [points] and data["palette"]["shape"] == [256, 3]
    assert np.array_equal(np.frombuffer(data["palette"]["buffer"], np.uint8).reshape(256, 3),
                          boundary.palette)
    options = boundary.picture.options
    assert options["train_count"] == 200 and options["bounds"] == list(boundary.bounds)
    assert options["title"] == "p(class 1)" and options["class_colours"] == ["#1a5eb5", "#bf1c29"]
    wire = Wire(boundary.picture)
    trainer.fit(2)
    boundary.settle()  # while training, the worker makes and sends the field of a copy of the weights
    fields = 0
    for content, buffers in wire.messages[:-1]:
        assert content["type"] == "data"
        changes = {change["name"]: (change["dtype"], change["shape"]) for change in content["changes"]}
        if "field" in changes:
            fields += 1
            assert changes.pop("field") == ("uint8", [32, 32]) and changes.pop("wrong") == ("uint8", [points])
            assert changes.pop("live") == ("float64", [4])
            if not set(changes) - {"shown"}:
                # a plain round's bytes
                assert sum(len(b) for b in buffers) == 32 * 32 + points + 32 + 8 * len(changes)
        # the kept epochs' list when it grew, the live model shown at a start
        assert set(changes) <= {"kept", "shown"}
    assert fields >= 3  # rounds while it trained, at most 120 a second
    content, _ = wire.messages[-1]  # after the last step (and perhaps the epoch's round): the stop's message
    assert wire.updates == ["data"]  # and the whole data stored once
    changes = {change["name"]: change["shape"] for change in content["changes"]}
    # the final field: the last epoch's
    assert changes["field"] == [100, 100] and changes["field:2"] == [100, 100]
    # kept as weights: evaluated off the training loop, here (no loop) when asked
    assert "field:1" not in changes
    wire.clear()
    boundary.flush()
    (content, _), = wire.messages
    assert {change["name"]: change["shape"] for change in content["changes"]}["field:1"] == [100, 100]
    print(f"\n[boundary] bytes per round at 32 x 32 with {points} points: {32 * 32 + points + 32}")
    boundary.close()


def count_full_calls(model: nn.Module, boundary_side: int, points: int, trainer: Trainer) -> list:
    """(trainer state, inference mode) of every call of the model on a full grid, kept epochs' copies
    included."""
    calls = []
    model.register_forward_pre_hook(lambda module,
                                    args: calls.append((trainer.state, torch.is_inference_mode_enabled()))
                                    if len(args[0]) == boundary_side ** 2 + points else None)
    return calls


@pytest.mark.parametrize(("epochs", "keep", "expected"), [
    (6, 8, [1, 2, 3, 4, 5, 6]),  # fewer epochs than `keep`: every one
    # a run of known length: strided from its start, the last one besides
    (32, 8, [1, 5, 10, 15, 20, 25, 30, 32]),
])
def test_kept_epochs_are_evaluated_after_the_run_and_equal_the_model_at_their_epoch_end(
    epochs, keep, expected
):
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=24, live_resolution=12, keep=keep)
    grids = {}
    trainer.on("epoch",
               lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 24)))
    calls = count_full_calls(trainer.model, 24, len(x), trainer)
    trainer.fit(epochs)
    assert boundary.epochs == expected and not trainer.callback_errors
    # only the final field so far
    assert len(calls) == 1 and boundary.picture.rows(f"field:{expected[0]}") == 0
    boundary.flush()  # a script has no kernel loop to evaluate them on: they wait until asked for
    # none on the training loop
    assert calls and all(state != "running" and inference for state, inference in calls)
    # the live model at the stop and the flush; every other kept epoch once
    assert len(calls) == 1 + len(expected)
    for epoch in expected:
        field = boundary.picture.channel(f"field:{epoch}")
        assert field.dtype == np.uint8 and field.shape == (24, 24)
        assert close_to(field, grids[epoch]), epoch  # the model as it was at that epoch's end
        assert close_to(boundary.stored[epoch].codes, grids[epoch])
    kept = boundary.picture.channel("kept")
    assert kept.shape == (len(expected), 4) and kept[:, 0].tolist() == expected
    stored = boundary.picture.data
    # a page opened later has them all
    assert all(stored[f"field:{epoch}"]["shape"] == [24, 24] for epoch in expected)
    assert not np.array_equal(boundary.stored[expected[0]].codes, boundary.stored[expected[-1]].codes)
    assert trainer.model.training and torch.is_grad_enabled()
    boundary.close()


def test_with_a_kernel_loop_the_kept_epochs_are_evaluated_after_the_run_one_turn_at_a_time():
    async def lesson() -> None:
        trainer, x, y = spiral_trainer(n=80, batch_size=40)
        boundary = DecisionBoundary(trainer, x, y, resolution=16, live_resolution=8, pacer=Pacer(fps=0.01))
        grids = {}
        trainer.on("epoch",
                   lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 16)))
        await trainer.play(5)
        evaluated = [e for e in boundary.epochs if boundary.picture.rows(f"field:{e}")]
        # the stop evaluated the last; the others wait for the loop
        assert 5 in evaluated and len(evaluated) <= 2
        for _ in range(10):
            await asyncio.sleep(0)
        assert boundary.epochs == [1, 2, 3, 4, 5]
        assert all(close_to(boundary.picture.channel(f"field:{e}"), grids[e]) for e in boundary.epochs)
        # stored at the end
        assert all(boundary.picture.data[f"field:{e}"]["shape"] == [16, 16] for e in boundary.epochs)
        # a run that starts while kept epochs wait: none is evaluated between its steps, all of them after it
        # every full-grid call of the model or of a copy of it (the copy is older than a hook on the model)
        calls = []
        hook = torch.nn.modules.module.register_module_forward_pre_hook(
            lambda module, args: calls.append((trainer.state, threading.current_thread().name))
            if isinstance(module, nn.Sequential) and len(args[0]) == 16 ** 2 + len(x) else None)
        trainer.on("epoch", lambda record: trainer.pause() if record["epoch"] == 8 else None)
        await trainer.play(4)  # paused after epoch 8: epochs 6 and 7 kept as weights, 7 evaluated first
        assert boundary.picture.rows("field:6") == 0
        task = trainer.play(3)  # 6 steps
        for _ in range(2):
            await asyncio.sleep(0)  # the waiting epochs' turns come while the new run goes on: they wait on
        assert trainer.state == "running" and boundary.picture.rows("field:6") == 0
        await task
        for _ in range(10):
            await asyncio.sleep(0)
        boundary.settle()
        hook.remove()
        # while the run goes on, only the views' worker runs a copy of the model (the paused run's last field)
        assert calls and all(state != "running" or thread == "livetorch-views" for state, thread in calls)
        assert sum(state == "running" for state, _ in calls) <= 1
        assert boundary.epochs == list(range(1, 12)) and all(
            boundary.picture.rows(f"field:{e}") for e in boundary.epochs
        )
        boundary.close()

    asyncio.run(lesson())


def test_show_epoch_and_the_page_asking_for_an_epoch_it_lacks():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=20, live_resolution=10, pacer=Pacer(fps=0.01))
    wire = Wire(boundary.picture)
    answers = {}

    def ask_at_epoch_3(record: dict) -> None:
        if record["epoch"] == 3:
            wire.clear()
            page_says(boundary.picture, {"type": "want", "epoch": 2})  # kept as weights: evaluated when asked
            answers["want"] = list(wire.messages)
            answers["grid"] = p1_codes(boundary, trainer.model, 20)
            # not kept: the page gets the list of those kept
            page_says(boundary.picture, {"type": "want", "epoch": 99})
            answers["unknown"] = list(wire.messages[1:])
            page_says(boundary.picture, {"type": "what"})  # not a request the view knows: ignored
            answers["ignored"] = len(wire.messages) == 2

    trainer.on("epoch", ask_at_epoch_3)
    grids = {}
    trainer.on("epoch",
               lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 20)))
    trainer.fit(6)
    (content, buffers), = answers["want"]
    names = [change["name"] for change in content["changes"]]
    assert "field:2" in names and "wrong:2" in names and "kept" in names
    field = np.frombuffer(buffers[names.index("field:2")], np.uint8).reshape(20, 20)
    assert close_to(field, grids[2])
    (content, _), = answers["unknown"]
    assert [change["name"] for change in content["changes"]] == ["kept"] and answers["ignored"]

    assert boundary.epochs == [1, 2, 3, 4, 5, 6] and boundary.caption == "epoch 6"
    live_png = boundary.snapshot_png()
    wire.clear()
    boundary.show_epoch(2)
    assert boundary.shown is boundary.stored[2] and boundary.caption == "epoch 2"
    assert boundary.picture.channel("shown")[0] == 2  # the page's slider goes there too
    two = boundary.snapshot_png()
    assert two != live_png
    boundary.show_epoch(4)
    assert boundary.caption == "epoch 4" and boundary.snapshot_png() != two
    boundary.show_epoch(0)  # before the first kept epoch: the first
    assert boundary.caption == "epoch 1"
    boundary.show_epoch(None)
    assert boundary.caption == "epoch 6" and boundary.picture.channel("shown")[0] == -1
    boundary.show_epoch(3)
    trainer.fit(1)  # a new run shows the live model again
    assert boundary.caption == "epoch 7" and boundary.picture.channel("shown")[0] == -1
    with pytest.raises(ValueError, match="epoch must be a non-negative int or None, got -1"):
        boundary.show_epoch(-1)
    with pytest.raises(ValueError, match="got '3'"):
        boundary.show_epoch("3")
    boundary.close()


def test_views_run_the_model_only_between_steps_and_in_eval_mode_whatever_thread_asks():
    torch.manual_seed(0)
    x, y = spirals(160, seed=3)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 2))
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      # 10 steps an epoch
                      DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), verbose=False)
    boundary = DecisionBoundary(trainer, x, y, resolution=16, live_resolution=8, keep=6, pacer=Pacer(fps=120))
    count_lock = threading.Lock()
    passes = {(by_view, training): 0 for by_view in (True, False) for training in (True, False)}

    def count(module, args, output) -> None:
        with count_lock:  # the view's passes run in inference mode; training's never do
            passes[torch.is_inference_mode_enabled(), module.training] += 1

    model[2].register_forward_hook(count)  # the kept epochs' private copies carry the hook too
    done = threading.Event()
    asked = {"slider": 0, "evaluate": 0}

    # the page's slider and its requests, as the kernel's comm thread would deliver them
    def slider() -> None:
        rng = np.random.default_rng(0)
        while not done.is_set():
            epochs = boundary.epochs
            if epochs:
                boundary.show_epoch(int(rng.choice(epochs)))
                page_says(boundary.picture, {"type": "want", "epoch": int(rng.choice(epochs))})
                asked["slider"] += 1
            time.sleep(0.001)

    def evaluate() -> None:  # the live model, from another thread: it waits for a step to end
        while not done.is_set():
            boundary.evaluate(resolution=4)
            asked["evaluate"] += 1
            time.sleep(0.001)

    others = [threading.Thread(target=slider), threading.Thread(target=evaluate)]
    for other in others:
        other.start()
    try:
        trainer.fit(12)
    finally:
        done.set()
        for other in others:
            other.join()
    assert passes[True, True] == 0, "a view ran the model in training mode"
    assert passes[False, False] == 0, "a training step ran in eval mode"
    assert passes[False, True] == 12 * 10  # every training pass, in train mode
    assert passes[True, False] > 12 and asked["slider"] > 10 and asked["evaluate"] >= 1
    assert not trainer.callback_errors and model.training
    boundary.close()


def test_a_hand_written_loop_updates_and_keeps_epochs_thinned_evenly():
    torch.manual_seed(2)
    x, y = spirals(60, seed=4)
    model = mlp(hidden=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    boundary = DecisionBoundary(model, x, y, resolution=20, keep=4)
    assert boundary.caption == "" and boundary.epochs == []
    wire = Wire(boundary.picture)
    grids = {}
    for epoch in range(1, 21):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        wire.clear()
        boundary.update(epoch=epoch)
        grids[epoch] = p1_codes(boundary, model, 20)
        (content, _), = wire.messages  # one message: the field now, and the epoch kept
        names = {change["name"] for change in content["changes"]}
        assert {"field", "wrong", "live", f"field:{epoch}", f"wrong:{epoch}", "kept"} <= names
        assert boundary.caption == f"epoch {epoch}" and epoch in boundary.epochs and len(boundary.epochs) <= 4
    kept = boundary.epochs
    assert kept[0] == 1 and kept[-1] == 20 and len(kept) >= 3  # the first and the newest
    gaps = np.diff(kept[1:-1])
    assert len(set(gaps)) <= 1 and kept[-1] - kept[-2] <= kept[1]  # evenly spaced in between
    assert all(close_to(boundary.picture.channel(f"field:{epoch}"), grids[epoch]) for epoch in kept)
    # thinned
    assert all(boundary.picture.rows(f"field:{epoch}") == 0 for epoch in range(1, 21) if epoch not in kept)
    boundary.update()  # now, without keeping it
    assert boundary.caption == "" and boundary.epochs == kept
    assert close_to(boundary.picture.channel("field"), grids[20])
    with pytest.raises(ValueError, match="epoch must be a non-negative int or None"):
        boundary.update(epoch=-3)
    boundary.close()


@pytest.mark.slow
def test_recording_keeps_a_frame_at_every_epoch_end():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=20, live_resolution=10, pacer=Pacer(fps=0.01))
    boundary.start_recording()
    trainer.fit(4)
    labels = [frame.label for frame in boundary.recording.frames]
    assert labels[0] == "epoch 0" and labels[1:5] == ["epoch 1", "epoch 2", "epoch 3", "epoch 4"]
    pngs = boundary.recorded_pngs()
    assert all(png.startswith(b"\x89PNG") for png in pngs) and len(set(pngs)) == len(pngs)
    boundary.close()


def test_modes_and_grad_state_are_restored():
    torch.manual_seed(3)
    x, y = spirals(40, seed=5)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2))
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    boundary = DecisionBoundary(model, x, y, resolution=10)
    boundary.update()
    assert model.training and not model[1].training and model[3].training
    assert torch.is_grad_enabled()
    with torch.no_grad():
        boundary.update()
        assert not torch.is_grad_enabled()
    model.eval()
    boundary.update()
    assert not any(module.training for module in model.modules())
    model.train()  # the grid goes through the model in eval mode: dropout off, so two evaluations agree
    assert np.array_equal(boundary.evaluate().codes, boundary.evaluate().codes)


class NoisyNet(nn.Module):
    """Draws random numbers in every call, eval mode included (dropout forced on, noise added)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = F.dropout(torch.relu(self.hidden(x)), 0.5, training=True)
        return self.out(hidden + 0.01 * torch.randn_like(hidden))


def test_a_view_never_changes_a_training_run():
    def train(with_view: bool) -> dict[str, torch.Tensor]:
        trainer, x, y = spiral_trainer(n=80, batch_size=20, make_model=NoisyNet)
        if with_view:
            ticks = itertools.count()  # every look at the clock is a second later: a round at every step
            boundary = DecisionBoundary(trainer, x, y, resolution=16, live_resolution=8,
                                        pacer=Pacer(fps=120, time_fn=lambda: float(next(ticks))))
        trainer.fit(4)
        if with_view:
            # the view did call the model
            assert boundary.epochs == [1, 2, 3, 4] and boundary.pacer.rounds > 4
        return trainer.model.state_dict()

    without, with_view = train(False), train(True)
    assert all(torch.equal(without[name], with_view[name]) for name in without)


class Uncopyable(nn.Module):
    """A network holding a generator: deepcopy refuses it, so its epochs cannot be kept as weights."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()
        self.source = (n for n in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("make_model", [Uncopyable, lambda: mlp(hidden=512)],
                         ids=["uncopyable", "too large to keep"])
def test_epochs_of_a_model_that_cannot_be_kept_as_weights_are_evaluated_when_kept(make_model, monkeypatch):
    from widgets.views import model_replica

    # 64 copies of mlp(hidden=512)'s 1 MiB pass it
    monkeypatch.setattr(model_replica, "MAX_KEPT_BYTES", 8 * 2**20)
    trainer, x, y = spiral_trainer(n=80, batch_size=40, make_model=make_model)
    boundary = DecisionBoundary(trainer, x, y, resolution=24, live_resolution=12, pacer=Pacer(fps=0.01))
    grids = {}
    trainer.on("epoch",
               lambda record: grids.__setitem__(record["epoch"], p1_codes(boundary, trainer.model, 12)))
    trainer.fit(4)
    assert boundary.epochs == [1, 2, 3, 4] and not trainer.callback_errors
    for epoch in (1, 2, 3):  # evaluated at the epoch's end, on the live grid
        assert boundary.picture.channel(f"field:{epoch}").shape == (12, 12)
        assert close_to(boundary.stored[epoch].codes, grids[epoch])
    assert boundary.picture.channel("field:4").shape == (24, 24)  # the run's last: the final field
    boundary.close()


def test_a_kept_epoch_runs_with_the_modules_it_was_trained_with():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=24, live_resolution=12, pacer=Pacer(fps=0.01))
    trainer.fit(2)
    relu_grid = p1_codes(boundary, trainer.model, 24)
    trainer.fit(1)  # epoch 3: kept, then evaluated when the run stopped
    trainer.fit(1)  # epoch 4, kept as weights until this run stops
    trainer.model[1] = nn.Tanh()  # the learner swaps an activation; the weights keep their names and shapes
    tanh_grid = p1_codes(boundary, trainer.model, 24)
    trainer.fit(2)
    boundary.show_epoch(2)
    assert close_to(boundary.shown.codes, relu_grid)
    boundary.show_epoch(4)
    assert not close_to(boundary.shown.codes, tanh_grid)  # epoch 4 ran with ReLU, as it was trained
    assert not trainer.callback_errors
    boundary.close()


def test_a_reset_forgets_the_kept_epochs_in_the_kernel_and_in_the_page():
    trainer, x, y = spiral_trainer(n=80, batch_size=40)
    boundary = DecisionBoundary(trainer, x, y, resolution=12, live_resolution=6, pacer=Pacer(fps=0.01))
    trainer.fit(3)
    assert boundary.epochs == [1, 2, 3]
    trainer.reset()
    assert boundary.epochs == [] and boundary.caption == "epoch 0"
    assert boundary.picture.channel("kept").shape == (0, 4)
    assert all(boundary.picture.rows(f"field:{epoch}") == 0 for epoch in (1, 2, 3))
    trainer.fit(1)
    assert boundary.epochs == [1] and close_to(boundary.picture.channel("field:1"),
                                               p1_codes(boundary, trainer.model, 12))
    boundary.close()


def test_more_classes_and_a_single_output():
    torch.manual_seed(4)
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    x = torch.cat([c + 0.3 * torch.randn(30, 2) for c in centres])
    y = torch.arange(3).repeat_interleave(30)
    model = mlp(outputs=3, hidden=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    boundary = DecisionBoundary(model, x, y, resolution=40)
    codes = boundary.picture.channel("field")
    assert codes.shape == (2, 40, 40) and boundary.picture.channel("palette").shape == (3 * 256, 3)
    assert boundary.picture.options["title"] == "predicted class (faded: unsure)"
    for cls, (cx, cy) in enumerate(centres.tolist()):
        col = int(round((cx - boundary.bounds[0]) / (boundary.bounds[1] - boundary.bounds[0]) * 39))
        row = int(round((cy - boundary.bounds[2]) / (boundary.bounds[3] - boundary.bounds[2]) * 39))
        assert codes[0, row, col] == cls and codes[1, row, col] > 128  # the right class, confidently
    image = decode(boundary.snapshot_png())
    # beside each cluster, the field takes the class's colour (faded)
    for cls, centre in enumerate(centres.tolist()):
        colour = np.array(class_colours(3)[cls]) * 255
        pixel = still_pixel(image, boundary, (centre[0] + 0.6, centre[1] + 0.6))
        assert np.argmax(pixel) == np.argmax(colour) or np.abs(pixel - (colour * 0.6 + 102)).max() < 40

    logit = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        logit[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        logit[0].bias.zero_()
    line_x = torch.tensor([[-1.0, 0.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    single = DecisionBoundary(logit, line_x, torch.tensor([0.0, 1.0, 1.0, 1.0]), resolution=21)
    assert single.outputs == 1 and not single.regression
    assert list(single.shown.predicted) == [0, 1, 0, 1]
    assert single.misclassified.tolist() == [False, False, True, False]  # the point at x = -1 labelled 1
    assert single.picture.channel("wrong").tolist() == [0, 0, 1, 0]
    assert single.shown.codes[10, 0] < 127 < single.shown.codes[10, 20]  # the value grows left to right


def test_a_one_output_model_fitted_to_values_shows_them():
    torch.manual_seed(6)
    x = torch.rand(120, 2) * 4 - 2
    target = x[:, 0] * 2.0  # a plane rising left to right
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    loader = DataLoader(TensorDataset(x, target[:, None]), batch_size=30, shuffle=True)
    trainer = Trainer(model, nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=0.05), loader,
                      verbose=False)
    trainer.fit(40)
    boundary = DecisionBoundary(trainer, x, target)  # float targets for 1 output: a regression, not refused
    assert boundary.regression and boundary.shown.predicted.dtype.kind == "f"
    assert not boundary.misclassified.any()  # no classes, nothing to cross out
    assert boundary.caption.startswith("epoch 40") and "±" in boundary.caption
    live = boundary.picture.channel("live")
    assert live[0] == 40 and live[1] == -1 and live[3] == boundary.shown.scale  # [epoch, step, centre, scale]
    assert np.allclose(boundary.picture.channel("labels"), target.numpy())  # the page colours points by value
    image = decode(boundary.snapshot_png())
    low, high = x[:, 0].argmin().item(), x[:, 0].argmax().item()
    red_low, _, blue_low = still_pixel(image, boundary, x[low].tolist())
    red_high, _, blue_high = still_pixel(image, boundary, x[high].tolist())
    # points coloured by their value: low blue, high red
    assert blue_low > red_low + 60 and red_high > blue_high + 60


def test_a_model_ending_in_softmax_is_read_as_probabilities():
    torch.manual_seed(5)
    x, y = spirals(50, seed=7)
    logits = mlp(hidden=8)
    with_softmax = nn.Sequential(logits, nn.Softmax(dim=1))
    from_logits = DecisionBoundary(logits, x, y, resolution=12).shown.codes
    from_probabilities = DecisionBoundary(with_softmax, x, y, resolution=12).shown.codes
    assert close_to(from_logits, from_probabilities)


def test_a_double_precision_model_gets_a_double_grid():
    x, y = spirals(30, seed=8)
    model = mlp(hidden=4).double()
    dtypes = []
    model.register_forward_pre_hook(lambda module, args: dtypes.append(args[0].dtype))
    boundary = DecisionBoundary(model, x, y, resolution=6)
    assert dtypes and set(dtypes) == {torch.float64} and boundary.shown.codes.shape == (6, 6)


@pytest.mark.slow
def test_repr_css_and_display():
    x, y = spirals(20, seed=6)
    boundary = DecisionBoundary(mlp(hidden=4), x, y, resolution=8, size=(300, 260))
    assert repr(boundary) == "DecisionBoundary()"
    assert "lt-boundary" in boundary.widget.get_state()["_dom_classes"]
    assert "lt-boundary-picture" in boundary.picture.get_state()["_dom_classes"]
    bundle = boundary._repr_mimebundle_()[0]
    assert bundle["text/plain"] == "DecisionBoundary()" and "image/png" in bundle
    assert (boundary.picture.width, boundary.picture.height) == (300, 260)
    assert decode(boundary.snapshot().data).shape[:2] == (260, 300)


def test_closing_unsubscribes_and_closes_the_widgets_and_queued_work_then_does_nothing():
    async def lesson() -> None:
        trainer, x, y = spiral_trainer(n=80, batch_size=40)
        before = {event: trainer.listeners(event) for event in ("step", "epoch", "state", "reset")}
        boundary = DecisionBoundary(trainer, x, y, resolution=12, live_resolution=6, pacer=Pacer(fps=0.01))
        await trainer.play(3)  # kept epochs queued on the loop
        sent = boundary.picture.messages_sent
        boundary.close()
        for _ in range(5):
            await asyncio.sleep(0)
        assert boundary.closed and boundary.picture.comm is None and boundary.widget.comm is None
        assert boundary.picture.messages_sent == sent  # the queued work saw the view closed
        assert {event: trainer.listeners(event) for event in before} == before
        trainer.fit(1)
        assert not trainer.callback_errors

    asyncio.run(lesson())


@pytest.mark.slow
def test_importing_and_using_the_view_loads_no_matplotlib():
    code = ("import sys, torch\nfrom widgets.views.boundary import DecisionBoundary\n"
            "b = DecisionBoundary(torch.nn.Linear(2, 3), torch.randn(20, 2), torch.arange(20) % 3, "
            "resolution=8)\nb.update(epoch=1)\nassert 'matplotlib' not in sys.modules, 'matplotlib loaded'\n"
            "b.snapshot_png()\nassert 'matplotlib' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_long_fast_run_keeps_at_least_fifty_spread_epochs():
    torch.manual_seed(0)
    x, y = spirals(64, seed=9)
    model = mlp(hidden=8)
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x, y), batch_size=64), verbose=False)
    boundary = DecisionBoundary(trainer, x, y, resolution=12, live_resolution=6)
    trainer.fit(150)
    boundary.flush()
    epochs = boundary.epochs
    assert len(epochs) >= 50 and epochs[0] == 1 and epochs[-1] == 150
    assert max(np.diff(epochs)) <= 150 // 50  # spread evenly over the whole run
    assert all(boundary.picture.rows(f"field:{epoch}") == 12 for epoch in epochs)


def test_kernel_cost_per_round():
    """Measured and printed, not held to a time: the README's network and data, at 50 x 50 and 100 x 100."""
    from widgets.data import spiral_datasets

    torch.manual_seed(0)
    train_set, _ = spiral_datasets(n=500, sd=0.1, n_train=400, seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    assert sum(p.numel() for p in model.parameters()) == 8642
    report = []
    for side in (50, 100):
        boundary = DecisionBoundary(model, train_set.x, train_set.y, live_resolution=side, resolution=side)
        grid = torch.rand(side * side + len(train_set.x), 2)
        timings = {"forward": [], "evaluate": [], "update": []}
        for _ in range(15):
            start = time.perf_counter()
            with torch.inference_mode():
                model(grid)
            timings["forward"].append(time.perf_counter() - start)
            start = time.perf_counter()
            boundary.evaluate(resolution=side)
            timings["evaluate"].append(time.perf_counter() - start)
            start = time.perf_counter()
            boundary.update()  # evaluate, code, put and send
            timings["update"].append(time.perf_counter() - start)
        ms = {name: 1000 * float(np.median(values)) for name, values in timings.items()}
        message = side * side + len(train_set.x) + 32
        report.append(
            f"{side} x {side}: forward {ms['forward']:.2f} ms, evaluation with coding {ms['evaluate']:.2f} "
            f"ms, putting and sending {ms['update'] - ms['evaluate']:.2f} ms; {message:,} bytes a round"
        )
        assert ms["update"] > 0
        boundary.close()
    print("\n[boundary] kernel cost per round, one torch thread:\n  " + "\n  ".join(report))


def test_bad_input_is_refused_before_anything_changes():
    trainer, x, y = spiral_trainer(n=40, batch_size=20)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    listeners = {event: trainer.listeners(event) for event in ("step", "epoch", "state", "reset")}
    three_inputs = mlp(inputs=3)
    with pytest.raises(ValueError, match=r"2 input features.*expects 3 input features"):
        DecisionBoundary(three_inputs, x, y)
    with pytest.raises(ValueError, match=r"x must be \[N, 2\].*\[40, 3\]"):
        DecisionBoundary(trainer, torch.zeros(40, 3), y)
    with pytest.raises(ValueError, match="y has 39 labels but x has 40 points"):
        DecisionBoundary(trainer, x, y[:39])
    with pytest.raises(ValueError, match="x is on meta but the model is on cpu"):
        DecisionBoundary(trainer.model, x.to("meta"), y)
    with pytest.raises(ValueError, match="class 2 but the model has 2 outputs"):
        DecisionBoundary(trainer, x, torch.full((40,), 2))
    with pytest.raises(ValueError, match="whole class numbers"):
        DecisionBoundary(trainer, x, torch.full((40,), 0.5))
    with pytest.raises(ValueError, match="x_valid and y_valid go together"):
        DecisionBoundary(trainer, x, y, x_valid=x)
    with pytest.raises(ValueError, match="resolution must be an int from 2 to 1000"):
        DecisionBoundary(trainer, x, y, resolution=1)
    with pytest.raises(ValueError, match="live_resolution must be an int from 2 to 1000.*got 0"):
        DecisionBoundary(trainer, x, y, live_resolution=0)
    with pytest.raises(ValueError, match="keep must be an int of at least 2"):
        DecisionBoundary(trainer, x, y, keep=1)
    with pytest.raises(ValueError, match=r"size must be at least \(200, 200\) pixels.*\(150, 300\)"):
        DecisionBoundary(trainer, x, y, size=(150, 300))
    with pytest.raises(TypeError, match="size must be \\(width, height\\) in pixels"):
        DecisionBoundary(trainer, x, y, size=360)
    with pytest.raises(TypeError, match="nn.Module or a Trainer"):
        DecisionBoundary("model", x, y)
    with pytest.raises(TypeError, match="pacer must be a widgets.views.Pacer or None, got int"):
        DecisionBoundary(trainer, x, y, pacer=10)
    assert all(torch.equal(v, weights[k]) for k, v in trainer.model.state_dict().items())
    assert {event: trainer.listeners(event) for event in listeners} == listeners  # nothing subscribed
    assert len(trainer.history) == 0 and trainer.model.training
    trainer.fit(1)
    assert not trainer.callback_errors


class PairNet(nn.Module):
    """A model whose forward takes a tuple (x1, x2), not one [N, 2] tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        first, second = pair
        return self.layer(torch.stack([first, second], dim=1))


def test_refusals_say_what_really_failed():
    x, y = spirals(20, seed=1)
    with pytest.raises(ValueError) as refused:
        DecisionBoundary(PairNet(), x, y)
    message = str(refused.value)
    assert "takes 2 input features" in message and "expects" not in message  # no contradiction
    assert "ValueError: not enough values to unpack" in message and "a tuple" in message
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    conv = r"its first layer is Conv2d\(1, 4, kernel_size=\(3, 3\).*\), which does not take \[N, 2\]"
    with pytest.raises(ValueError, match=conv):
        DecisionBoundary(cnn, x, y)


def test_lazy_layers_are_refused_without_drawing_random_numbers():
    x, y = spirals(20, seed=1)
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 2))
    state = torch.get_rng_state()
    with pytest.raises(ValueError, match=r"0 \(LazyLinear\) is not initialized yet: run the model once"):
        DecisionBoundary(model, x, y)
    assert torch.equal(torch.get_rng_state(), state)
    assert model[0].has_uninitialized_params()  # the view initialized nothing
    model(x)
    assert DecisionBoundary(model, x, y, resolution=8).shown is not None  # once it ran, it is welcome


class OwnModule(nn.Module):
    """A learner's own module: the view cannot know whether it draws random numbers in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = mlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@pytest.mark.parametrize(("make_model", "thread"), [
    (mlp, "livetorch-views"),  # torch.nn's modules only: a copy of the weights, on the views' worker
    (OwnModule, "MainThread"),  # anything else: the live model, between two steps on the training thread
])
def test_while_training_the_field_is_made_beside_the_steps_for_a_torch_model(make_model, thread):
    trainer, x, y = spiral_trainer(n=80, batch_size=8, make_model=make_model)
    boundary = DecisionBoundary(trainer, x, y, resolution=20, live_resolution=10, pacer=Pacer(fps=120))
    live_calls = []
    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda module, args: live_calls.append((threading.current_thread().name, trainer.state))
        if type(module) is type(boundary.model) and len(args[0]) == 10 ** 2 + len(x) else None)
    try:
        trainer.fit(3)
        boundary.settle()
    finally:
        hook.remove()
    while_running = {name for name, state in live_calls if state == "running"}
    assert while_running == {thread}
    # the final field, at full resolution
    assert boundary.shown.resolution == 20 and boundary.caption == "epoch 3"
    assert close_to(boundary.shown.codes, p1_codes(boundary, trainer.model, 20))
    boundary.close()


def one_logit_trainer(
    loss: nn.Module, sigmoid: bool = False, outputs: int = 1
) -> tuple[Trainer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(200, 2)
    y = (x[:, 0] + x[:, 1] > 0).float()
    layers = [nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, outputs)] + ([nn.Sigmoid()] if sigmoid else [])
    model = nn.Sequential(*layers)
    targets = y[:, None].repeat(1, outputs)
    trainer = Trainer(model, loss, torch.optim.Adam(model.parameters(), lr=0.05),
                      DataLoader(TensorDataset(x, targets), batch_size=50, shuffle=True), verbose=False)
    return trainer, x, y


@pytest.mark.parametrize(("loss", "sigmoid"), [(nn.BCEWithLogitsLoss(), False), (nn.BCELoss(), True)])
def test_a_one_output_classifier_whose_loss_says_so_is_drawn_as_p_class_1(loss, sigmoid):
    trainer, x, y = one_logit_trainer(loss, sigmoid)
    trainer.fit(60)
    boundary = DecisionBoundary(trainer, x, y, resolution=21)
    assert boundary.title == "p(class 1)" and boundary.caption == "epoch 60"  # no value range: a probability
    assert boundary.picture.options["outputs"] == 2  # the page reads it as p(class 1) too
    grid = torch.stack(
        torch.meshgrid(
            torch.linspace(boundary.bounds[0], boundary.bounds[1], 21),
            torch.linspace(boundary.bounds[2], boundary.bounds[3], 21),
            indexing="xy",
        ),
        -1,
    )
    with torch.no_grad():
        out = trainer.model(grid.reshape(-1, 2))[:, 0]
    p1 = out if sigmoid else torch.sigmoid(out)
    expected = (p1 * 255).round().reshape(21, 21).numpy()
    assert np.abs(boundary.shown.codes.astype(int) - expected).max() <= 1
    # sharp: both classes' far corners are near-certain, as a trained 2-output model's would be
    assert boundary.shown.codes.min() < 20 and boundary.shown.codes.max() > 235
    assert boundary.misclassified.mean() < 0.05
    boundary.close()


def test_a_multi_label_model_is_refused_with_what_to_do():
    trainer, x, y = one_logit_trainer(nn.BCEWithLogitsLoss(), outputs=3)
    with pytest.raises(
        ValueError,
        match=r"3 outputs are trained with BCEWithLogitsLoss.*multi-label.*model\(x\)\[:, k:k \+ 1\]",
    ):
        DecisionBoundary(trainer, x, y)
    assert not trainer.listeners("step")  # nothing was subscribed


def test_the_points_take_the_class_colours_of_every_view():
    trainer, x, y = spiral_trainer(n=40)
    boundary = DecisionBoundary(trainer, x, y)
    blue, red = boundary.class_colours
    assert boundary.class_colours == class_colours(2)
    assert blue[2] > blue[0] and red[0] > red[2]
    boundary.close()
