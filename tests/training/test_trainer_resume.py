"""Exact resume: a checkpoint at any step, loaded in a new process, or any mix of step/run_epoch/fit/play,
ends with weights bitwise equal to an uninterrupted run (CPU, same seed, shuffling loader, dropout)."""

import asyncio
import io
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

# Built the same way here and in the subprocess: a shuffling loader with its
# last batch short, dropout (forward draws random numbers), and a numpy and a
# Python draw per step so their generators matter too.
SETUP = textwrap.dedent('''
    import random
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, IterableDataset, TensorDataset
    from widgets.training.metrics import accuracy
    from widgets.training.trainer import Trainer

    torch.set_num_threads(1)

    class Stream(IterableDataset):
        """No len: a fresh permutation from torch's generator, numpy noise on every batch (an
        augmentation)."""

        def __init__(self, x, y):
            self.x, self.y = x, y

        def __iter__(self):
            order = torch.randperm(len(self.x))
            for start in range(0, len(self.x), 16):
                index = order[start:start + 16]
                noise = torch.from_numpy(np.random.normal(0.0, 0.05, (len(index), 2))).float()
                yield self.x[index] + noise, self.y[index]

    def build(kind="shuffle"):
        torch.manual_seed(0)
        random.seed(0)
        np.random.seed(0)
        generator = torch.Generator().manual_seed(1)
        x = torch.randn(120, 2, generator=generator)
        y = (x[:, 0] * x[:, 1] > 0).long()
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
        if kind == "shuffle":
            train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=16, shuffle=True)
        elif kind == "own_generator":
            train = DataLoader(TensorDataset(x[:90], y[:90]), batch_size=16, shuffle=True,
                               generator=torch.Generator().manual_seed(7))
        else:
            train = Stream(x[:90], y[:90])
        valid = DataLoader(TensorDataset(x[90:], y[90:]), batch_size=16, shuffle=True)
        trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.01),
                          train, valid, metrics={"acc": accuracy}, device="cpu", verbose=False)
        # numpy and Python draws after every step: their generators must resume too
        trainer.on("step", lambda record: record.update(noise=np.random.rand() + random.random()))
        return trainer
''')

EPOCHS = 3
STEPS_PER_EPOCH = 6

namespace: dict = {}
exec(SETUP, namespace)
build = namespace["build"]


def weights(trainer):
    return [t.detach().clone() for t in trainer.model.state_dict().values()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def finish(trainer):
    trainer.fit(EPOCHS - trainer.epoch)
    return trainer


@pytest.fixture(scope="module")
def references():
    result = {}
    for kind in ("shuffle", "own_generator", "stream"):
        trainer = finish(build(kind))
        result[kind] = (weights(trainer), trainer.history.step_column("loss").tolist(),
                        trainer.history.epochs)
    return result


def test_the_reference_really_depends_on_the_random_state(references):
    """Guard: without the random state restored, a resumed run differs (so the equality tests can fail)."""
    trainer = build()
    for _ in range(4):
        trainer.step()
    checkpoint = trainer.state_dict()
    torch.manual_seed(123)
    other = build()
    other.load_state_dict(checkpoint)
    torch.manual_seed(99)  # disturb the generator the next dropout mask comes from
    assert not same(weights(finish(other)), references["shuffle"][0])


@pytest.mark.slow
def test_a_checkpoint_at_any_step_resumes_exactly_in_a_new_process(tmp_path, references):
    total = EPOCHS * STEPS_PER_EPOCH
    rng = random.Random(2026)
    stops = sorted({0, 1, STEPS_PER_EPOCH, STEPS_PER_EPOCH + 1,
                    total - 1} | set(rng.sample(range(2, total), 4)))
    jobs = []
    for kind in ("shuffle", "own_generator", "stream"):
        for stop in stops if kind == "shuffle" else (3, STEPS_PER_EPOCH + 4):
            trainer = build(kind)
            for _ in range(stop):
                trainer.step()
            path = tmp_path / f"{kind}-{stop}.pt"
            torch.save(trainer.state_dict(), path)
            jobs.append((kind, stop, str(path), str(tmp_path / f"{kind}-{stop}-out.pt")))
    script = tmp_path / "resume.py"
    script.write_text(SETUP + textwrap.dedent(f'''
        for kind, stop, checkpoint, out in {jobs!r}:
            trainer = build(kind)
            trainer.load_state_dict(torch.load(checkpoint, weights_only=True))
            assert trainer.global_step == stop, (trainer.global_step, stop)
            trainer.fit({EPOCHS} - trainer.epoch)
            torch.save({{"weights": list(trainer.model.state_dict().values()),
                         "losses": trainer.history.step_column("loss").tolist(),
                         "epochs": trainer.history.epochs}}, out)
    '''))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for kind, stop, _, out in jobs:
        result = torch.load(out, weights_only=True)
        expected_weights, expected_losses, expected_epochs = references[kind]
        assert same(result["weights"], expected_weights), (kind, stop)
        assert result["losses"] == expected_losses, (kind, stop)
        assert [e["valid_loss"] for e in result["epochs"]] == [e["valid_loss"] for e in expected_epochs]
        assert [e["train_acc"] for e in result["epochs"]] == [e["train_acc"] for e in expected_epochs]


def test_the_checkpoint_carries_the_random_generators():
    trainer = build()
    for _ in range(3):
        trainer.step()
    checkpoint = trainer.state_dict()
    expected = (torch.rand(3), np.random.rand(), random.random())
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    other = build()
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    other.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(torch.rand(3), expected[0])
    assert np.random.rand() == expected[1] and random.random() == expected[2]


@pytest.mark.parametrize("seed", range(4))
def test_any_mix_of_step_run_epoch_fit_play_and_reload(references, seed):
    rng = random.Random(seed)
    trainer = build()
    moves = []
    while trainer.epoch < EPOCHS:
        move = rng.choice(["step", "step", "run_epoch", "fit", "play", "pause_play", "reload"])
        moves.append(move)
        if move == "step":
            trainer.step()
        elif move == "run_epoch":
            trainer.run_epoch()
        elif move == "fit":
            trainer.fit(1)
        elif move == "play":
            asyncio.run(_play(trainer, 1))
        elif move == "pause_play":
            stop_at = trainer.global_step + rng.randint(1, 4)
            handle = trainer.on("step", pause_at(trainer, stop_at))
            asyncio.run(_play(trainer, None))
            handle.remove()
        else:
            checkpoint = trainer.state_dict()
            trainer = build()
            trainer.load_state_dict(checkpoint)
    assert trainer.epoch == EPOCHS and trainer.global_step == EPOCHS * STEPS_PER_EPOCH, moves
    assert same(weights(trainer), references["shuffle"][0]), moves
    assert trainer.history.step_column("loss").tolist() == references["shuffle"][1]


def pause_at(trainer, step):
    """A step subscriber that pauses `trainer` once it reaches `step`."""
    return lambda record: trainer.pause() if record["step"] >= step else None


async def _play(trainer, epochs):
    await trainer.play(epochs)


def test_a_checkpoint_after_a_failed_step_retries_the_held_batch(references):
    trainer = build()
    for _ in range(2):
        trainer.step()
    flaky = [True]

    def fail_once(module, args):
        if flaky:
            flaky.pop()
            raise RuntimeError("transient")

    handle = trainer.model[0].register_forward_pre_hook(fail_once)
    with pytest.raises(RuntimeError, match="transient"):
        trainer.step()
    handle.remove()
    checkpoint = trainer.state_dict()
    assert checkpoint["loader"]["held"]
    assert same(weights(finish(trainer)), references["shuffle"][0])
    resumed = build()  # the random generators are global: the checkpoint puts them back
    resumed.load_state_dict(checkpoint)
    assert same(weights(finish(resumed)), references["shuffle"][0])


def test_reset_after_loading_goes_back_to_the_original_start(references):
    trainer = build()
    for _ in range(5):
        trainer.step()
    checkpoint = trainer.state_dict()
    torch.manual_seed(42)
    other = build()
    other.model[0].weight.data.add_(1.0)  # a different start that reset must not come back to
    other.load_state_dict(checkpoint)
    other.reset()
    assert same(weights(finish(other)), references["shuffle"][0])
