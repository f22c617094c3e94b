"""Bad input and faults: a clear error, raised before any weight, counter, history row, optimizer or random
state changes."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from widgets.training.metrics import accuracy
from widgets.training.trainer import NonFiniteLossError, Trainer


def good_batch(n=8, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=generator), torch.randint(0, classes, (n,), generator=generator)


def classifier(classes=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(8, classes))


def trainer_over(batches, loss_fn=None, model=None, metrics=None, **kwargs):
    """A trainer whose loader is a plain list of batches; two good steps first give it history and
    optimizer state."""
    model = model if model is not None else classifier()
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    kwargs.setdefault("device", "cpu")
    trainer = Trainer(model, loss_fn, optimizer, batches, metrics=metrics, verbose=False, **kwargs)
    return trainer


def snapshot(trainer):
    return {
        "tensors": [t.detach().clone() for t in trainer.model.state_dict().values()],
        "optimizer": copy.deepcopy(trainer.optimizer.state_dict()),
        "counters": (trainer.global_step, trainer.epoch, trainer.batch_in_epoch, trainer.last_loss),
        "history": (len(trainer.history), trainer.history.step_column("loss").tolist(),
                    list(trainer.history.epochs)),
        "rng": torch.get_rng_state(),
        "grads": [None if p.grad is None else p.grad.clone() for p in trainer.model.parameters()],
    }


def assert_unchanged(trainer, before, grads_kept=True):
    after = snapshot(trainer)
    if grads_kept:  # an error found before backward leaves the last step's gradients in place
        assert all(a is None and b is None or a is not None and b is not None and torch.equal(a, b)
                   for a, b in zip(before["grads"], after["grads"])), "gradients changed"
    assert all(torch.equal(a, b) for a,
               b in zip(before["tensors"], after["tensors"])), "weights or buffers changed"
    assert _equal_nested(before["optimizer"], after["optimizer"]), "optimizer state changed"
    assert before["counters"] == after["counters"]
    assert before["history"] == after["history"]
    assert torch.equal(before["rng"], after["rng"]), "random state changed"


def _equal_nested(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal_nested(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal_nested(x, y) for x, y in zip(a, b))
    return a == b


def fails_cleanly(trainer, error, match, grads_kept=True):
    """Two good steps, then the bad third batch: the error, and nothing changed."""
    trainer.step()
    trainer.step()
    before = snapshot(trainer)
    assert any(g is not None for g in before["grads"])
    with pytest.raises(error, match=match):
        trainer.step()
    assert_unchanged(trainer, before, grads_kept)
    assert trainer.state == "error"
    return trainer


def test_output_and_target_batch_sizes_must_agree():
    x, y = good_batch()
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, y[:6])]), ValueError,
                  r"output has 8 samples \(shape \[8, 3\]\) but the target has 6 \(shape \[6\]\)")


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), F.cross_entropy])
def test_cross_entropy_with_a_float_target(loss_fn):
    x, y = good_batch()
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, y.float())], loss_fn=loss_fn),
                  ValueError,
                  r"cross-entropy expects class indices as an integer tensor of shape \[8\], got a "
                  r"torch.float32 "
                  r"target of shape \[8\]; convert it with y.long\(\)")


def test_cross_entropy_with_a_target_of_the_wrong_rank():
    x, y = good_batch()
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, y.unsqueeze(1))]), ValueError,
                  r"cross-entropy expects a target of rank 1 .* got a target of shape \[8, 1\]; squeeze it "
                  r"with y.squeeze\(1\)")


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), F.cross_entropy])
def test_class_indices_counted_from_one_get_the_r_hint(loss_fn):
    x, y = good_batch()
    labels = torch.arange(8) % 3 + 1  # 1, 2, 3 as R counts them
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, labels)], loss_fn=loss_fn), ValueError,
                  r"class indices must lie in 0..2 for an output with 3 classes, got labels from 1 to 3; "
                  r"classes count from 0 in PyTorch \(unlike R torch, where they count from 1\)")


def test_float64_inputs_get_the_numpy_hint():
    x, y = good_batch()
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x.double(), y)]), TypeError,
                  r"the batch's inputs are torch.float64 \(numpy and pandas make float64, R's double\) but "
                  r"the model's "
                  r"weights are torch.float32; convert the data once, e.g. torch.tensor\(array, "
                  r"dtype=torch.float32\)")


def test_class_index_far_out_of_range():
    x, y = good_batch()
    y = y.clone()
    y[3] = 7
    trainer = fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, y)]), ValueError,
                            r"class indices must lie in 0..2 .* got labels from 0 to 7$")
    assert "R torch" not in str(trainer.last_error)


@pytest.mark.parametrize("loss_fn",
                         [nn.MSELoss(), nn.L1Loss(), nn.SmoothL1Loss(), nn.HuberLoss(), F.mse_loss])
def test_a_column_output_against_a_flat_target_is_refused(loss_fn):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))
    x = torch.randn(8, 4)
    good = (x, torch.randn(8, 1))
    fails_cleanly(trainer_over([good, good, (x, torch.randn(8))], loss_fn=loss_fn, model=model), ValueError,
                  r"regression loss needs output and target of the same shape; got output \[8, 1\] and "
                  r"target \[8\]: "
                  r"the loss would broadcast \[N, 1\] against \[N\] .* use y.unsqueeze\(1\)")


@pytest.mark.parametrize("loss_fn", [nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits])
def test_binary_cross_entropy_needs_a_float_target_of_the_output_shape(loss_fn):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 1))
    x = torch.randn(8, 4)
    good = (x, torch.randint(0, 2, (8, 1)).float())
    fails_cleanly(
        trainer_over([good, good, (x, torch.randint(0, 2, (8,)).float())], loss_fn=loss_fn, model=model),
        ValueError,
        r"binary cross-entropy needs output and target of the same shape; got output \[8, 1\] "
        r"and target \[8\]: use y.float\(\).unsqueeze\(1\)",
    )
    fails_cleanly(trainer_over([good, good, (x, torch.randint(0, 2, (8, 1)))], loss_fn=loss_fn, model=model),
                  ValueError,
                  r"binary cross-entropy needs a float target of 0s and 1s, got torch.int64; use y.float\(\)")


def test_a_loss_of_ones_own_is_diagnosed_only_when_it_raises():
    def pairs_anything(output, target):
        return output.mean() + 0.0 * target.float().mean()

    trainer = trainer_over([(torch.randn(8, 4), torch.zeros(5, dtype=torch.long))] * 2,
                           loss_fn=pairs_anything)
    assert trainer.step()["step"] == 1  # different batch sizes are this loss's business

    def elementwise(output, target):
        return ((output[:, 0] - target) ** 2).mean()

    x, y = good_batch()
    fails_cleanly(trainer_over([(x, y.float()), (x, y.float()), (x, y[:6].float())], loss_fn=elementwise),
                  ValueError,
                  r"output has 8 samples \(shape \[8, 3\]\) but the target has 6")


def test_a_loss_that_is_not_one_number():
    trainer = trainer_over([good_batch()] * 3, loss_fn=nn.CrossEntropyLoss(reduction="none"))
    before = snapshot(trainer)
    with pytest.raises(ValueError,
                       match=r"must return one number \(a 0-d tensor\), got \[8\]; use reduction='mean'"):
        trainer.step()
    assert_unchanged(trainer, before)


@pytest.mark.parametrize("bad",
                         [(torch.randn(8, 4),), torch.randn(8, 4), {"x": torch.randn(8, 4), "label": 0},
                                 (torch.randn(8, 4), torch.zeros(8), torch.zeros(8))])
def test_a_batch_that_is_neither_a_pair_nor_a_dict(bad):
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), bad]), ValueError,
                  r"a batch (must be a pair \(x, y\) or a dict with keys 'x' and 'y'|dict must have keys 'x' "
                  r"and 'y')")


def test_a_metric_that_fails_leaves_no_trace():
    x, y = good_batch()
    calls = []

    def flaky(output, target):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("metric bug")
        return 0.0

    trainer = trainer_over([good_batch(), good_batch(seed=1), (x, y)],
                           metrics={"acc": accuracy, "flaky": flaky})
    fails_cleanly(trainer, ValueError, "metric bug")


def test_a_failed_step_keeps_its_batch_and_retries_it():
    """A forward that fails once: the retry trains on the same batch, ending where an unbroken run ends."""
    batches = [good_batch(seed=s) for s in range(4)]
    plain = trainer_over(batches)
    plain.fit(2)

    model = classifier()
    failures = iter([False, False, True])
    def fail_while_flaky(module, args):
        if next(failures, False):
            raise RuntimeError("flaky")

    model[1].register_forward_pre_hook(fail_while_flaky)
    flaky = trainer_over(batches, model=model)
    fails_cleanly(flaky, RuntimeError, "flaky")
    record = flaky.step()
    assert record["step"] == 3 and record["batch"] == 3 and flaky.state == "idle"
    flaky.fit(2 - flaky.epoch)
    assert all(torch.equal(a, b) for a,
               b in zip(plain.model.state_dict().values(), flaky.model.state_dict().values()))


def test_a_non_finite_loss_stops_before_the_optimizer_step():
    x, y = good_batch()
    x = x.clone()
    x[2, 1] = float("nan")
    trainer = trainer_over([good_batch(), good_batch(seed=1), (x, y)])
    states = []
    trainer.on("state", states.append)
    fails_cleanly(trainer, NonFiniteLossError,
                  r"training loss became nan at epoch 1, step 3 \(batch 3\); the optimizer step was not "
                  r"taken.* "
                  r"The batch's inputs hold NaN or infinite values: the data is the cause, not the learning "
                  r"rate")
    assert states[-1]["state"] == "error" and "became nan" in states[-1]["error"]
    with pytest.raises(NonFiniteLossError):  # the same batch again
        trainer.step()
    skipped = trainer.skip_batch()  # a batch that can never succeed is discarded on purpose
    assert skipped == {"epoch": 1, "batch": 3,
                       "reason": str(skipped["reason"])} and "became nan" in skipped["reason"]
    with pytest.raises(RuntimeError, match="there is no failed batch to skip"):
        trainer.skip_batch()
    record = trainer.step()  # the next epoch: the loader had 3 batches, one was skipped
    assert (record["epoch"], record["batch"]) == (2, 1)
    assert trainer.history.epochs[0]["skipped"] == 1 and trainer.history.epochs[0]["step"] == 2


def test_a_loss_that_overflows_on_finite_data_points_to_the_learning_rate():
    x, _ = good_batch()
    trainer = trainer_over([(x, torch.randn(8, 3)), (x, torch.randn(8, 3)), (x * 1e38, torch.randn(8, 3))],
                           loss_fn=nn.MSELoss(), model=nn.Linear(4, 3))
    fails_cleanly(trainer, NonFiniteLossError, r"became inf .*Try a smaller learning rate \(now 0.01\)")


def test_a_model_on_another_device_than_the_data():
    model = classifier().to("meta")
    trainer = trainer_over([good_batch()] * 3, model=model, device=None)
    before = (trainer.global_step, len(trainer.history), torch.get_rng_state())
    with pytest.raises(RuntimeError,
                       match=r"the model's parameters are on meta but the batch is on cpu; move the model "
                                           r"with model.to\('cpu'\) or build the Trainer with device='auto'"):
        trainer.step()
    assert (trainer.global_step, len(trainer.history)) == before[:2] and torch.equal(
        torch.get_rng_state(), before[2]
    )

    moved_later = trainer_over([good_batch()] * 4, device="cpu")
    moved_later.step()
    moved_later.model.to("meta")
    with pytest.raises(RuntimeError, match="parameters are on meta but the batch is on cpu"):
        moved_later.step()
    assert moved_later.global_step == 1 and len(moved_later.history) == 1


def test_a_model_moved_after_its_optimizer_was_made():
    trainer = trainer_over([good_batch()] * 4, device=None)
    trainer.step()
    # same device, but the dtype round trip replaces nothing
    trainer.model.to(torch.float64).to(torch.float32)
    trainer.step()
    model = classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, [good_batch()] * 4, device=None, verbose=False)
    trainer.step()
    model.to("meta").to_empty(device="cpu")  # new parameter objects, back on the CPU
    with pytest.raises(RuntimeError, match="the optimizer no longer holds the model's parameters"):
        trainer.step()
    assert trainer.global_step == 1


def test_a_failing_validation_leaves_the_epoch_open_until_it_can_close():
    valid = [(torch.randn(8, 4), torch.zeros(8, 1, dtype=torch.long))]
    model = classifier()
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      [good_batch(), good_batch(seed=1)], valid_loader=valid, verbose=False)
    trainer.step()
    with pytest.raises(ValueError, match="cross-entropy expects a target of rank 1"):
        trainer.step()
    assert trainer.global_step == 2 and trainer.epoch == 0 and trainer.state == "error"
    valid[0] = good_batch()
    record = trainer.step()
    assert trainer.epoch == 1 and record["epoch"] == 2 and trainer.history.epochs[0]["step"] == 2


def test_an_optimizer_without_the_model_parameters():
    model = classifier()
    other = nn.Linear(4, 3)
    with pytest.raises(
        ValueError, match=r"the optimizer holds none of the model's parameters .* build it from this model"
    ):
        Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(other.parameters(), lr=0.1), [good_batch()])


class Nothing(IterableDataset):
    def __iter__(self):
        return iter(())


def test_an_empty_training_loader():
    model = classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    empty = DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match=r"the training loader is empty \(len 0\)"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, empty)
    with pytest.raises(ValueError, match=r"the validation loader is empty \(len 0\); pass valid_loader=None"):
        Trainer(model, nn.CrossEntropyLoss(), optimizer, [good_batch()], valid_loader=empty)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, DataLoader(Nothing(), batch_size=None))
    before = snapshot(trainer)
    with pytest.raises(ValueError, match="the training loader yielded no batch"):
        trainer.step()
    assert_unchanged(trainer, before)
    assert trainer.state == "error"


def test_bad_constructor_arguments():
    model = classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    batches = [good_batch()]
    cases = [
        (dict(model="net"), TypeError, "model must be a torch.nn.Module, got str"),
        (dict(loss_fn="mse"), TypeError, r"loss_fn must be callable as loss_fn\(output, target\), got str"),
        (dict(loss_fn=nn.CrossEntropyLoss), TypeError,
         r"a loss instance such as CrossEntropyLoss\(\), got the class"),
        (dict(optimizer=model.parameters()), TypeError,
         "optimizer must be a torch.optim.Optimizer, got generator"),
        (dict(metrics=[accuracy]), TypeError, "metrics must be a dict of name -> fn"),
        (dict(metrics={"acc": "accuracy"}), TypeError,
         r"metric 'acc' must be callable as fn\(output, target\) -> float, got str"),
        (dict(metrics={"loss": accuracy}), ValueError, "'loss' is reserved"),
        (dict(device="gpu0"), ValueError, r"unknown device 'gpu0'; expected 'auto', 'cpu', 'cuda'"),
        (dict(device=3), TypeError, "device must be 'auto', None, a device string"),
        (dict(train_loader=5), TypeError,
         "train_loader must be an iterable of batches such as a DataLoader, got int"),
        (dict(verbose="yes"), TypeError, "verbose must be True or False"),
    ]
    if not torch.cuda.is_available():
        cases.append((dict(device="cuda"), ValueError, "CUDA is not available here"))
    for change, error, match in cases:
        arguments = dict(model=model, loss_fn=loss, optimizer=optimizer, train_loader=batches) | change
        with pytest.raises(error, match=match):
            Trainer(**arguments)
    with pytest.raises(ValueError, match="the model has no parameters"):
        Trainer(nn.ReLU(), loss, optimizer, batches)


def test_play_and_fit_check_their_epochs():
    trainer = trainer_over([good_batch()])
    with pytest.raises(ValueError, match="epochs must be a positive int or None"):
        trainer.play(0)
    with pytest.raises(ValueError, match="epochs must be a non-negative int, got -1"):
        trainer.fit(-1)


def test_load_state_dict_refuses_a_mismatched_checkpoint():
    trainer = trainer_over([good_batch()] * 2)
    trainer.step()
    checkpoint = trainer.state_dict()
    other = trainer_over([good_batch()] * 2, model=classifier(classes=4))
    before = snapshot(other)
    with pytest.raises(ValueError,
                       match=r"the checkpoint's '4.weight' has shape \[3, 8\], this model's has \[4, 8\]"):
        other.load_state_dict(checkpoint)
    with pytest.raises(ValueError, match=r"not a Trainer state dict: missing \['counters'"):
        other.load_state_dict({k: v for k, v in checkpoint.items() if k != "counters"})
    assert_unchanged(other, before)


def test_which_steps_need_a_random_state_snapshot():
    from widgets.training import checks as _checks

    plain = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    assert not _checks.may_draw_random(plain, nn.CrossEntropyLoss(), {"acc": accuracy})
    assert not _checks.may_draw_random(plain, F.cross_entropy, {})
    assert _checks.may_draw_random(nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.1)), nn.CrossEntropyLoss(), {})
    assert _checks.may_draw_random(nn.Sequential(nn.Linear(4, 3), nn.RReLU()), nn.CrossEntropyLoss(), {})

    class Custom(nn.Module):  # its forward might draw
        def forward(self, x):
            return x

    assert _checks.may_draw_random(Custom(), nn.CrossEntropyLoss(), {})
    assert _checks.may_draw_random(plain, lambda output, target: output.sum(), {})
    assert _checks.may_draw_random(plain, nn.CrossEntropyLoss(), {"mine": lambda output, target: 0.0})


def test_a_custom_module_drawing_random_numbers_is_rolled_back():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 3)

        def forward(self, x):
            return self.linear(x + 0.1 * torch.randn_like(x))

    torch.manual_seed(0)
    x, y = good_batch()
    fails_cleanly(trainer_over([good_batch(), good_batch(seed=1), (x, y.float())], model=Noisy()), ValueError,
                  "cross-entropy expects class indices")


def trainer_with(make_optimizer, scheduler=None):
    model = classifier()
    optimizer = make_optimizer(model)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, [good_batch()] * 3, verbose=False,
                      device="cpu",
                      scheduler=scheduler(optimizer) if scheduler else None)
    trainer.step()
    return trainer


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def two_groups(split):
    def make(model):
        params = list(model.parameters())
        return torch.optim.SGD([{"params": params[:split]}, {"params": params[split:]}], lr=0.1, momentum=0.9)
    return make


def without(mapping, *path):
    """A deep copy of `mapping` with the key at `path` removed."""
    changed = copy.deepcopy(mapping)
    inner = changed
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return changed


def replaced(mapping, value, *path):
    changed = copy.deepcopy(mapping)
    inner = changed
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    return changed


def test_a_refused_checkpoint_leaves_the_trainer_exactly_as_it_was():
    adam = trainer_with(lambda model: torch.optim.Adam(model.parameters(), lr=0.01)).state_dict()
    good = trainer_with(sgd).state_dict()
    grouped = trainer_with(two_groups(2)).state_dict()
    stepped = trainer_with(sgd, scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 2)).state_dict()
    cases = [
        (adam,
         r"not a SGD like this one: its group 0 has the settings \[.*'betas'.*\], this SGD has "
         r"\[.*'momentum'"),
        (grouped, "the checkpoint's optimizer has 2 parameter groups, this one has 1"),
        (without(good, "history", "columns", "lr"), r"history state lacks step columns \['lr'\]"),
        (without(good, "counters", "epoch"), r"the checkpoint's counters lack \['epoch'\]"),
        (replaced(good, good["rng"]["torch"][:100], "rng", "torch"),
         "the saved torch random state has 100 bytes"),
        (stepped, "the checkpoint has a learning-rate scheduler, but this trainer has none"),
        (replaced(good, [1, 2], "counters", "metric_sums"), "counters hold 2 metric sums for 0 metrics"),
    ]
    target = trainer_with(sgd)
    target.step()
    before = snapshot(target)
    for checkpoint, message in cases:
        with pytest.raises(ValueError, match=message):
            target.load_state_dict(checkpoint)
        assert_unchanged(target, before)
    target.load_state_dict(good)  # and a fitting one still loads
    assert target.global_step == 1
    split_differently = trainer_with(two_groups(3))
    before = snapshot(split_differently)
    with pytest.raises(ValueError, match="optimizer group 0 holds 2 parameters, this one holds 3"):
        split_differently.load_state_dict(grouped)
    assert_unchanged(split_differently, before)


def test_a_checkpoint_of_another_schedule_is_refused():
    cosine = trainer_with(sgd, scheduler=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5))
    step = trainer_with(sgd, scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 2))
    before = snapshot(step)
    with pytest.raises(ValueError,
                       match=r"the checkpoint's scheduler does not fit this StepLR: expected keys \["):
        step.load_state_dict(cosine.state_dict())
    assert_unchanged(step, before)
