"""clip_grad_norm, a before-step hook, accumulate, precision, closure optimizers: bitwise a hand loop, resumed
exactly."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Callback, Trainer

EPOCHS = 2
BATCH = 4
SAMPLES = 32  # 8 batches an epoch: with accumulate=3, groups of 3, 3 and a partial 2


def data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(SAMPLES, 5, generator=generator)
    y = (x[:, 0] - x[:, 1] > 0).long() + (x[:, 2] > 0.5).long()
    return TensorDataset(x, y)


def build(optimizer_kind="adam"):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    if optimizer_kind == "lbfgs":
        optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(data(), batch_size=BATCH, shuffle=True)
    return model, optimizer, loader


def weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def assert_same(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


class SkipLargeSteps(Callback):
    """Skips the optimizer step when the total gradient norm is above `limit` (a guard users write)."""

    def __init__(self, model, limit):
        self.model, self.limit, self.skipped = model, limit, 0

    def on_before_step(self, payload):
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in self.model.parameters()]))
        if norm > self.limit:
            self.skipped += 1
            return False
        return None


def hand_loop(settings):
    """What a learner writes for each switch, after Lightning's and PyTorch's recipes."""
    model, optimizer, loader = build(settings.get("optimizer", "adam"))
    k = settings.get("accumulate", 1)
    clip = settings.get("clip_grad_norm")
    limit = settings.get("skip_above")
    bf16 = settings.get("precision") == "bf16"
    skipped = 0
    for _ in range(EPOCHS):
        for index, (x, y) in enumerate(loader, start=1):
            if settings.get("optimizer") == "lbfgs":
                def closure(x=x, y=y):
                    optimizer.zero_grad()
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        loss = F.cross_entropy(model(x), y)
                    loss.backward()
                    return loss
                optimizer.step(closure)
                continue
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(x), y)
            (loss / k if k > 1 else loss).backward()
            if index % k == 0 or index == len(loader):
                if clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
                if limit is not None and norm > limit:
                    skipped += 1
                else:
                    optimizer.step()
                optimizer.zero_grad()
    return weights(model), skipped


def trainer_for(settings, model=None, optimizer=None, loader=None):
    if model is None:
        model, optimizer, loader = build(settings.get("optimizer", "adam"))
    kwargs = {key: value for key,
              value in settings.items() if key in ("accumulate", "clip_grad_norm", "precision")}
    callbacks = [SkipLargeSteps(model, settings["skip_above"])] if "skip_above" in settings else []
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device="cpu", verbose=False,
                   callbacks=callbacks,
                   **kwargs)


SETTINGS = {
    "clip": {"clip_grad_norm": 0.05},
    "skip": {"skip_above": 1.2},
    "accumulate": {"accumulate": 3},
    "accumulate+clip": {"accumulate": 3, "clip_grad_norm": 0.5},
    "bf16": {"precision": "bf16"},
    "lbfgs": {"optimizer": "lbfgs"},
    "lbfgs+bf16": {"optimizer": "lbfgs", "precision": "bf16"},
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_switch_trains_bitwise_as_the_hand_written_loop(name):
    settings = SETTINGS[name]
    expected, skipped = hand_loop(settings)
    trainer = trainer_for(settings)
    trainer.fit(EPOCHS)
    assert_same(expected, weights(trainer.model))
    if "skip_above" in settings:
        assert 0 < trainer.callbacks[0].skipped == skipped < EPOCHS * len(trainer.train_loader)
    if "accumulate" in settings:
        assert trainer.global_step == EPOCHS * 8


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("at", [4, 8])
def test_a_checkpoint_mid_group_resumes_exactly_in_another_trainer(name, at):
    settings = SETTINGS[name]
    straight = trainer_for(settings)
    straight.fit(EPOCHS)
    interrupted = trainer_for(settings)
    for _ in range(at):
        interrupted.step()
    buffer = io.BytesIO()
    torch.save(interrupted.state_dict(), buffer)
    buffer.seek(0)
    resumed = trainer_for(settings)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.fit(EPOCHS - resumed.epoch)
    assert_same(weights(straight.model), weights(resumed.model))
    assert resumed.history.step_column("loss").tolist() == straight.history.step_column("loss").tolist()


def test_a_checkpoint_of_other_switches_is_refused_before_anything_changes():
    source = trainer_for({"accumulate": 3})
    source.step()
    target = trainer_for({"accumulate": 2})
    before = weights(target.model)
    with pytest.raises(ValueError,
                       match=r"the checkpoint was made by a trainer with \{'clip_grad_norm': None, "
                                         r"'accumulate': 3, 'precision': '32'\}; this one has "
                                         r".*'accumulate': 2"):
        target.load_state_dict(source.state_dict())
    assert_same(before, weights(target.model))
    assert target.global_step == 0


def test_the_step_record_says_whether_the_optimizer_stepped():
    trainer = trainer_for({"accumulate": 3})
    assert [trainer.step()["optimizer_step"] for _ in range(8)] == [
        False,
        False,
        True,
        False,
        False,
        True,
        False,
        True,
    ]


def test_a_before_step_hook_that_raises_fails_the_step_and_leaves_the_weights():
    class Refuse(Callback):
        def on_before_step(self, payload):
            raise RuntimeError(f"refused step {payload['step']}")

    model, optimizer, loader = build()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, callbacks=[Refuse()], device="cpu",
                      verbose=False)
    before = weights(model)
    with pytest.raises(RuntimeError, match="refused step 1"):
        trainer.step()
    assert_same(before, weights(model))
    assert trainer.global_step == 0 and trainer.state == "error"


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(clip_grad_norm=0), ValueError, "clip_grad_norm must be a positive finite number .* got 0"),
    (dict(clip_grad_norm="1"), ValueError, "clip_grad_norm must be a positive finite number .* got '1'"),
    (dict(accumulate=0), ValueError,
     r"accumulate must be a positive int \(batches per optimizer step\), got 0"),
    (dict(accumulate=2.0), ValueError, "accumulate must be a positive int .* got 2.0"),
    (dict(precision="fp16"), ValueError,
     r"precision must be one of \('32', 'bf16', '16-mixed'\), got 'fp16'"),
    (dict(precision="16-mixed"), ValueError,
     "precision='16-mixed' needs a CUDA device .* the model runs on cpu: "
                                             "use precision='bf16' there"),
])
def test_bad_switches_are_refused_before_anything_changes(kwargs, error, message):
    model, optimizer, loader = build()
    before = weights(model)
    with pytest.raises(error, match=message):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device="cpu", **kwargs)
    assert_same(before, weights(model))


def test_lbfgs_cannot_accumulate_and_a_loader_without_len_cannot_either():
    model, optimizer, loader = build("lbfgs")
    with pytest.raises(ValueError,
                       match="LBFGS evaluates the loss several times per step through a closure; it cannot "
                                         "accumulate gradients over batches: use accumulate=1, got 2"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, device="cpu", accumulate=2)
    model, optimizer, loader = build()
    with pytest.raises(ValueError, match="accumulate needs a training loader with a len"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, iter(list(loader)), device="cpu", accumulate=2)


def test_bf16_validation_runs_under_autocast_too():
    model, optimizer, _ = build()
    loader = DataLoader(data(), batch_size=BATCH)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, loader, valid_loader=loader, device="cpu",
                      precision="bf16", verbose=False)
    expected = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model.eval()
        for x, y in loader:
            expected.append(F.cross_entropy(model(x), y).item() * len(y))
        model.train()
    assert trainer.evaluate(loader)["loss"] == sum(expected) / SAMPLES
