"""Fifteen well-known training scripts brought to the Trainer, on small stand-in data of the same shapes.

Each case builds its model, optimizer and data twice: once trained by the
script's own loop, written as the original writes it, once by the Trainer with
at most one hook (`batch_fn`) and the switches the script uses; the weights
must come out bitwise equal. docs/your-own-model.md has the same cases as recipes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.nn.utils.rnn import pack_sequence
from torch.utils.data import DataLoader, Dataset, TensorDataset

from widgets import EpochMetric, Trainer, lr_find
from widgets.training.metrics import accuracy


@dataclass
class Case:
    """One script: its parts, its own loop, and the Trainer's arguments beyond model, loss, optimizer,
    loader."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loader: Any
    loss_fn: Callable
    loop: Callable[["Case"], None]  # one epoch of the script's own loop
    options: dict = field(default_factory=dict)
    scheduler: Any = None


def weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def run_both(make: Callable[[], Case], epochs: int = 1) -> tuple[list[torch.Tensor], Trainer]:
    """The script's loop and the Trainer from the same seed; asserts equal weights, returns the trainer."""
    torch.manual_seed(0)
    case = make()
    for _ in range(epochs):
        case.loop(case)
    expected = weights(case.model)
    torch.manual_seed(0)
    case = make()
    options = dict(case.options)
    if case.scheduler is not None:
        options["scheduler"] = case.scheduler
    trainer = Trainer(case.model, case.loss_fn, case.optimizer, case.loader, device="cpu", verbose=False,
                      **options)
    trainer.fit(epochs)
    for a, b in zip(expected, weights(case.model), strict=True):
        assert torch.equal(a, b)
    return expected, trainer


def images(n, channels, size, classes, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.rand(n, channels, size, size, generator=generator),
                         torch.randint(0, classes, (n,), generator=generator))


def standard_loop(case: Case) -> None:
    """The Quickstart's train(): forward, loss, backward, step, zero_grad."""
    for x, y in case.loader:
        loss = case.loss_fn(case.model(x), y)
        loss.backward()
        case.optimizer.step()
        case.optimizer.zero_grad()


# 1. PyTorch Quickstart: FashionMNIST MLP ---------------------------------------------------------------


class QuickstartNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def quickstart(**options):
    model = QuickstartNet()
    return Case(model, torch.optim.SGD(model.parameters(), lr=1e-3),
                DataLoader(images(32, 1, 28, 10), batch_size=8),
                nn.CrossEntropyLoss(), standard_loop, options)


def test_case_01_quickstart_fashion_mnist_mlp():
    _, trainer = run_both(quickstart, epochs=2)
    assert trainer.epoch == 2 and len(trainer.history) == 8


# 2. The polynomial tutorial: sin(x) by a third-order polynomial, MSE summed, one batch ---------------------


def polynomial():
    x = torch.linspace(-torch.pi, torch.pi, 200)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)

    def loop(case):
        y_pred = case.model(xx)
        loss = loss_fn(y_pred, torch.sin(x))
        case.optimizer.zero_grad()
        loss.backward()
        case.optimizer.step()

    return Case(model, optimizer, [(xx, torch.sin(x))], loss_fn, loop)


def test_case_02_polynomial_tutorial_with_a_summed_loss_logged_per_sample():
    _, trainer = run_both(polynomial, epochs=30)
    losses = trainer.history.step_column("loss")
    assert losses[-1] < losses[0]
    # the summed loss is logged per sample (200 points), so it reads like a mean squared error
    model = trainer.model
    xx = trainer.train_loader[0][0]
    with torch.no_grad():
        assert trainer.evaluate(trainer.train_loader)["loss"] == pytest.approx(
            F.mse_loss(model(xx), torch.sin(torch.linspace(-torch.pi, torch.pi, 200))).item(), rel=1e-6)


# 3. d2l linear regression ---------------------------------------------------------------------------------


def d2l_linear():
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(1000, 2, generator=generator)
    y = x @ torch.tensor([[2.0], [-3.4]]) + 4.2 + 0.01 * torch.randn(1000, 1, generator=generator)
    model = nn.Linear(2, 1)
    model.weight.data.normal_(0, 0.01)
    model.bias.data.fill_(0)

    def loop(case):
        for xb, yb in case.loader:
            loss = nn.MSELoss()(case.model(xb), yb)
            case.optimizer.zero_grad()
            loss.backward()
            case.optimizer.step()

    return Case(model, torch.optim.SGD(model.parameters(), lr=0.03),
                DataLoader(TensorDataset(x, y), batch_size=10,
                shuffle=True), nn.MSELoss(), loop)


def test_case_03_d2l_linear_regression():
    _, trainer = run_both(d2l_linear, epochs=3)
    assert trainer.model.weight.detach().sub(torch.tensor([[2.0, -3.4]])).abs().max() < 0.1


# 4. d2l softmax regression ---------------------------------------------------------------------------------


def d2l_softmax():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    return Case(model, torch.optim.SGD(model.parameters(), lr=0.1),
                DataLoader(images(40, 1, 28, 10), batch_size=8),
                nn.CrossEntropyLoss(reduction="mean"), standard_loop, {"metrics": {"acc": accuracy}})


def test_case_04_d2l_softmax_regression():
    _, trainer = run_both(d2l_softmax, epochs=2)
    assert 0 <= trainer.history.epochs[-1]["train_acc"] <= 1


# 5. d2l LeNet with lazy layers: one batch through the model before the Trainer ----------------------------


def lenet_model():
    model = nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.LazyLinear(120), nn.Sigmoid(), nn.LazyLinear(84), nn.Sigmoid(), nn.LazyLinear(10))
    return model


def lenet():
    model = lenet_model()
    model(torch.zeros(1, 1, 28, 28))  # d2l's dry run: the lazy layers get their shapes
    return Case(model, torch.optim.SGD(model.parameters(), lr=0.9),
                DataLoader(images(24, 1, 28, 10), batch_size=8),
                nn.CrossEntropyLoss(), standard_loop)


def test_case_05_d2l_lenet_with_lazy_layers():
    run_both(lenet)
    model = lenet_model()
    with pytest.raises(ValueError, match="lazy layers"):
        Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.9),
                images(8, 1, 28, 10))


# 6. The char-RNN name classifier: names as PackedSequences
# ----------------------------------------------------


LETTERS = 57


class Names(Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(5)
        lengths = torch.randint(2, 9, (24,), generator=generator)
        self.names = [F.one_hot(torch.randint(0, LETTERS, (int(n),), generator=generator), LETTERS).float()
                      for n in lengths]
        self.labels = torch.randint(0, 4, (24,), generator=generator)

    def __len__(self):
        return len(self.names)

    def __getitem__(self, i):
        return self.names[i], self.labels[i]


def pack_names(samples):
    return pack_sequence([name for name, _ in samples],
                         enforce_sorted=False), torch.stack([label for _, label in samples])


class CharRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(LETTERS, 32)
        self.h2o = nn.Linear(32, 4)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        _, hidden = self.rnn(line_tensor)
        return self.softmax(self.h2o(hidden[0]))


def char_rnn():
    model = CharRNN()
    return Case(model, torch.optim.SGD(model.parameters(), lr=0.15),
                DataLoader(Names(), batch_size=6, shuffle=True, collate_fn=pack_names), nn.NLLLoss(),
                standard_loop,
                {"metrics": {"acc": accuracy}})


def test_case_06_char_rnn_name_classifier_with_packed_sequences():
    _, trainer = run_both(char_rnn, epochs=2)
    assert trainer.history.epochs[-1]["train_acc"] >= 0
    assert trainer.history.step_column("step").tolist() == list(range(1, 9))


# 7. torchvision ResNet-18 with BatchNorm ------------------------------------------------------------------


def resnet():
    model = torchvision.models.resnet18(weights=None, num_classes=3)
    return Case(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                DataLoader(images(8, 3, 32, 3), batch_size=4), nn.CrossEntropyLoss(), standard_loop)


@pytest.mark.slow
def test_case_07_resnet18_with_batchnorm():
    _, trainer = run_both(resnet)
    assert trainer.model.bn1.num_batches_tracked.item() == 2


# 8. The frozen-backbone fine-tune with StepLR
# -----------------------------------------------------------------


def fine_tune():
    model = torchvision.models.resnet18(weights=None)  # stands in for the pretrained weights
    for parameter in model.parameters():
        parameter.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, 3)
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)

    def loop(case):
        standard_loop(case)
        case.scheduler.step()

    return Case(model, optimizer, DataLoader(images(8, 3, 32, 3), batch_size=4), nn.CrossEntropyLoss(), loop,
                scheduler=scheduler)


@pytest.mark.slow
def test_case_08_frozen_backbone_fine_tune_with_steplr():
    _, trainer = run_both(fine_tune, epochs=2)
    assert trainer.lr == pytest.approx(1e-5)


# 9. fastai's two-input TabularModel: (x_cat, x_cont) --------------------------------------------------------


class TabularModel(nn.Module):
    """fastai's shape: embeddings for the categorical columns, BatchNorm on the continuous ones, then
    layers."""

    def __init__(self, cardinalities=(5, 3), n_cont=4, out=2):
        super().__init__()
        self.embeds = nn.ModuleList([nn.Embedding(c, 3) for c in cardinalities])
        self.emb_drop = nn.Dropout(0.1)
        self.bn_cont = nn.BatchNorm1d(n_cont)
        self.layers = nn.Sequential(
            nn.Linear(3 * len(cardinalities) + n_cont, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, out)
        )

    def forward(self, x_cat, x_cont):
        x = torch.cat([embed(x_cat[:, i]) for i, embed in enumerate(self.embeds)], 1)
        return self.layers(torch.cat([self.emb_drop(x), self.bn_cont(x_cont)], 1))


class Table(Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(6)
        self.cat = torch.stack([torch.randint(0, 5, (32,), generator=generator),
                                torch.randint(0, 3, (32,), generator=generator)], 1)
        self.cont = torch.randn(32, 4, generator=generator)
        self.y = torch.randint(0, 2, (32,), generator=generator)

    def __len__(self):
        return 32

    def __getitem__(self, i):
        return (self.cat[i], self.cont[i]), self.y[i]


def tabular():
    model = TabularModel()

    def loop(case):
        for (x_cat, x_cont), y in case.loader:
            loss = case.loss_fn(case.model(x_cat, x_cont), y)
            case.optimizer.zero_grad()
            loss.backward()
            case.optimizer.step()

    return Case(model, torch.optim.Adam(model.parameters(), lr=1e-2),
                DataLoader(Table(), batch_size=8, shuffle=True),
                nn.CrossEntropyLoss(), loop)


def test_case_09_fastai_tabular_model_with_two_inputs():
    run_both(tabular, epochs=2)


# 10. Hugging-Face-style dict batches -----------------------------------------------------------------------


class TinyClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = nn.Embedding(30, 8)
        self.classifier = nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).float()
        return self.classifier((self.embeddings(input_ids) * mask).sum(1) / mask.sum(1))


class Tokenized(Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(7)
        self.ids = torch.randint(0, 30, (24, 10), generator=generator)
        self.lengths = torch.randint(3, 11, (24,), generator=generator)
        self.labels = torch.randint(0, 2, (24,), generator=generator)

    def __len__(self):
        return 24

    def __getitem__(self, i):
        mask = (torch.arange(10) < self.lengths[i]).long()
        return {"input_ids": self.ids[i] * mask, "attention_mask": mask, "labels": self.labels[i]}


def split_labels(batch):
    return {k: v for k, v in batch.items() if k != "labels"}, batch["labels"]


def hugging_face():
    model = TinyClassifier()

    def loop(case):
        for batch in case.loader:
            labels = batch.pop("labels")
            loss = F.cross_entropy(case.model(**batch), labels)
            loss.backward()
            case.optimizer.step()
            case.optimizer.zero_grad()

    return Case(model, torch.optim.AdamW(model.parameters(), lr=5e-3), DataLoader(Tokenized(), batch_size=8),
                nn.CrossEntropyLoss(), loop, {"batch_fn": split_labels})


def test_case_10_hugging_face_style_dict_batches():
    run_both(hugging_face, epochs=2)


# 11. pytorch/examples VAE: a tuple output, the input as target, a summed loss
# ---------------------------------


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc21 = nn.Linear(64, 8)
        self.fc22 = nn.Linear(64, 8)
        self.fc3 = nn.Linear(8, 64)
        self.fc4 = nn.Linear(64, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def vae_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def vae():
    model = VAE()

    def loop(case):
        for data, _ in case.loader:
            case.optimizer.zero_grad()
            recon_batch, mu, logvar = case.model(data)
            loss = vae_loss(recon_batch, data, mu, logvar)
            loss.backward()
            case.optimizer.step()

    return Case(model, torch.optim.Adam(model.parameters(), lr=1e-3),
                DataLoader(images(32, 1, 28, 10), batch_size=8,
                shuffle=True), lambda output, x: vae_loss(output[0], x, *output[1:]), loop,
                {"batch_fn": lambda batch: (batch[0], batch[0]), "loss_reduction": "sum"})


def test_case_11_vae_from_pytorch_examples():
    _, trainer = run_both(vae, epochs=2)
    # per sample, as the example prints it (its `train_loss / len(dataset)`)
    assert 300 < trainer.history.epochs[-1]["train_loss"] < 700
    sweep = lr_find(trainer, start=1e-5, end=1.0, steps=20)
    assert len(sweep.lrs) > 1


# 12. GoogLeNet's auxiliary outputs
# ---------------------------------------------------------------------------


def googlenet_loss(output, target):
    """torchvision's reference: the main loss plus 0.3 times each auxiliary loss while training."""
    if isinstance(output, torchvision.models.GoogLeNetOutputs):
        return (F.cross_entropy(output.logits, target) + 0.3 * F.cross_entropy(output.aux_logits1, target)
                + 0.3 * F.cross_entropy(output.aux_logits2, target))
    return F.cross_entropy(output, target)


def main_accuracy(output, target):
    return accuracy(output.logits if isinstance(output, tuple) else output, target)


def googlenet():
    model = torchvision.models.googlenet(weights=None, aux_logits=True, num_classes=4, init_weights=True)
    return Case(model, torch.optim.SGD(model.parameters(), lr=0.01),
                DataLoader(images(4, 3, 64, 4), batch_size=2),
                googlenet_loss, standard_loop,
                {"metrics": {"acc": main_accuracy}, "valid_loader": DataLoader(images(2, 3, 64, 4, seed=9))})


@pytest.mark.slow
def test_case_12_googlenet_auxiliary_outputs():
    _, trainer = run_both(googlenet)
    record = trainer.history.epochs[-1]
    assert {"train_acc", "valid_acc", "valid_loss"} <= set(record)


# 13. Gradient clipping
# ----------------------------------------------------------------------------------------


def clipped():
    case = char_rnn()

    def loop(case):
        for x, y in case.loader:
            case.optimizer.zero_grad()
            loss = case.loss_fn(case.model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(case.model.parameters(), 0.25)
            case.optimizer.step()

    case.loop = loop
    case.options = {"clip_grad_norm": 0.25}
    return case


def test_case_13_gradient_clipping():
    run_both(clipped, epochs=2)


# 14. CPU bf16 autocast
# -------------------------------------------------------------------------------------------


def bf16():
    case = quickstart(precision="bf16")

    def loop(case):
        for x, y in case.loader:
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                loss = case.loss_fn(case.model(x), y)
            loss.backward()
            case.optimizer.step()
            case.optimizer.zero_grad()

    case.loop = loop
    return case


def test_case_14_cpu_bf16_autocast():
    run_both(bf16, epochs=2)


# 15. A multi-label BCE problem with an F1 over the epoch
# --------------------------------------------------------


def micro_f1(logits, target):
    predicted = logits > 0
    truth = target > 0.5
    tp = (predicted & truth).sum().item()
    return 2 * tp / (predicted.sum().item() + truth.sum().item())


def multi_label():
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(48, 6, generator=generator)
    y = (x[:, :4] + 0.3 * torch.randn(48, 4, generator=generator) > 0).float()
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    return Case(model, torch.optim.Adam(model.parameters(), lr=0.01),
                DataLoader(TensorDataset(x, y), batch_size=8),
                nn.BCEWithLogitsLoss(), standard_loop, {"metrics": {"f1": EpochMetric(micro_f1)}})


def test_case_15_multi_label_bce_with_an_epoch_f1():
    _, trainer = run_both(multi_label, epochs=3)
    x, y = trainer.train_loader.dataset.tensors
    assert trainer.evaluate(trainer.train_loader)["f1"] == micro_f1(trainer.predict(x), y)
