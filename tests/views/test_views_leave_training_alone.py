"""Views never change a training run: bitwise the same weights with and without every view attached."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from widgets import Compare, Dashboard, GradientFlow, Pacer, StateDictInspector, Trainer, accuracy
from widgets.data import spirals


class SamplesInEval(nn.Module):
    """A model that draws random numbers in eval mode too: dropout forced on, and input noise."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 32)
        self.out = nn.Linear(32, 2)

    def forward(self, x):
        x = x + 0.01 * torch.randn_like(x)
        return self.out(F.dropout(torch.relu(self.hidden(x)), 0.3, training=True))


def run(with_views: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    x, y = spirals(160, sd=0.1, seed=0)
    model = SamplesInEval()
    trainer = Trainer(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      DataLoader(TensorDataset(x[:128], y[:128]), batch_size=32, shuffle=True),
                      valid_loader=DataLoader(TensorDataset(x[128:], y[128:]), batch_size=32),
                      metrics={"acc": accuracy}, verbose=False)
    # a round at nearly every step: the views run the model as often as they can
    every_step = Pacer(fps=120, pause=0.0)
    views = [Dashboard(trainer, x[:128], y[:128], x[128:], y[128:], fps=120),
             StateDictInspector(trainer),
             Compare({"run": trainer}, pacer=every_step),
             GradientFlow(trainer, pacer=every_step)] if with_views else []
    trainer.fit(4)
    trainer.predict(x[:5])
    trainer.fit(2)
    for view in views:
        view.close()
    return [t.detach().clone() for t in model.state_dict().values()]


def test_every_view_attached_leaves_the_weights_bitwise_the_same():
    bare, watched = run(with_views=False), run(with_views=True)
    assert all(torch.equal(a, b) for a, b in zip(bare, watched, strict=True))
