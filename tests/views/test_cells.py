"""Re-running a notebook cell closes the views its earlier run made (widgets.views.cells)."""

import sys
import types

import pytest
from small_trainers import small_trainer

from widgets.data import spirals
from widgets.training.trainer import Trainer
from widgets.views import cells
from widgets.views.dashboard import Dashboard
from widgets.views.loss_curve import LossCurve


class FakeKernel:
    """Answers get_parent() as ipykernel does: the execute request now being handled."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def run(self, cell_id: str | None, msg_id: str) -> None:
        metadata = {} if cell_id is None else {"cellId": cell_id}
        self.parent = {"header": {"msg_id": msg_id}, "metadata": metadata, "content": {}}

    def get_parent(self, channel: str | None = None) -> dict:
        assert channel == "shell"
        return self.parent


@pytest.fixture
def kernel(monkeypatch):
    fake = FakeKernel()
    shell = types.SimpleNamespace(kernel=fake)
    monkeypatch.setattr(cells, "_shell", lambda: shell)
    monkeypatch.setattr(cells, "_views_by_cell", {})
    return fake


def make_trainer() -> Trainer:
    return small_trainer(n=64, sd=0.0, data_seed=0, hidden=(8,), batch_size=16, shuffle=False)


def step_listeners(trainer: Trainer) -> int:
    return len(trainer.listeners("step"))


def test_a_second_run_of_a_cell_closes_the_views_of_the_first(kernel):
    trainer = make_trainer()
    kernel.run("cell-a", "run-1")
    first = LossCurve(trainer)
    assert step_listeners(trainer) == 1 and first.widget.comm is not None
    kernel.run("cell-a", "run-2")
    second = LossCurve(trainer)
    assert first.widget.comm is None, "the first run's view is still open"
    assert step_listeners(trainer) == 1
    assert second.widget.comm is not None
    assert cells.views_of("cell-a") == [second]
    sent_before = first.picture.messages_sent, second.picture.messages_sent
    trainer.step()
    assert first.picture.messages_sent == sent_before[0]  # only the live view sends again
    assert second.picture.messages_sent > sent_before[1]


def test_views_of_one_run_and_of_other_cells_stay(kernel):
    trainer = make_trainer()
    kernel.run("cell-a", "run-1")
    pair = [LossCurve(trainer), LossCurve(trainer)]
    kernel.run("cell-b", "run-2")
    other = LossCurve(trainer)
    assert all(view.widget.comm is not None for view in [*pair, other])
    assert step_listeners(trainer) == 3
    assert cells.views_of("cell-a") == pair and cells.views_of("cell-b") == [other]


def test_a_dashboard_run_again_replaces_the_old_one_whole(kernel):
    trainer = make_trainer()
    x, y = spirals(64, seed=0)
    kernel.run("cell-d", "run-1")
    old = Dashboard(trainer, x, y)
    listeners = step_listeners(trainer)
    kernel.run("cell-d", "run-2")
    new = Dashboard(trainer, x, y)
    assert old.widget.comm is None and all(view.widget.comm is None for view in old.views)
    assert all(view.widget.comm is not None for view in new.views)
    assert step_listeners(trainer) == listeners


def test_without_a_cell_id_nothing_is_closed(kernel):
    trainer = make_trainer()
    kernel.run(None, "run-1")  # a front end (or nbclient) that does not name the cell
    first = LossCurve(trainer)
    kernel.run(None, "run-2")
    LossCurve(trainer)
    assert first.widget.comm is not None and step_listeners(trainer) == 2


def test_outside_a_kernel_there_is_no_cell(monkeypatch):
    assert "IPython" in sys.modules and cells._shell() is None  # pytest: IPython imported, no shell running
    assert cells.current_cell() is None
    monkeypatch.delitem(sys.modules, "IPython")
    assert cells._shell() is None and cells.current_cell() is None
    monkeypatch.setattr(cells, "_shell", lambda: types.SimpleNamespace())  # a terminal IPython: no kernel
    assert cells.current_cell() is None


def test_a_view_that_fails_to_close_is_reported_and_the_new_one_still_made(kernel):
    class Stubborn:
        def close(self) -> None:
            raise RuntimeError("comm already gone")

    stubborn = Stubborn()
    kernel.run("cell-s", "run-1")
    cells.adopt(stubborn)
    kernel.run("cell-s", "run-2")
    with pytest.warns(RuntimeWarning,
                      match="could not close an earlier Stubborn of this cell: comm already gone"):
        view = LossCurve(make_trainer())
    assert cells.views_of("cell-s") == [view]
