"""Every lesson keeps the exercise contract of course/README.md, proven in one kernel per lesson.

See ``lesson_trials.py`` for what runs at each exercise. Beyond each lesson's
own solutions, the answers below are tried: named wrong answers the checks must
reject with a message that names the mistake, and other right answers they
must accept.
"""

from __future__ import annotations

import nbformat
import pytest
from course_notebooks import lesson_files
from lesson_trials import Answer, LessonTrials, lesson_problems

ONE_ONE = """a1 = torch.tensor([-1.0], requires_grad=True)
b1 = torch.tensor([-1.0], requires_grad=True)
loss1 = ((a1 * x + b1 - y) ** 2).mean()
loss1.backward()
grad_a_autograd = a1.grad.item()
grad_a_formula = (2 * ((-1.0 * x - 1.0 - y) * x).mean()).item()
"""
TYPED_COUNT = """def count_params(module):
    return 55


n_params = count_params(nn.Linear(10, 5))
"""
FIXED_LOOP = """def fixed_loop(model, loader, epochs, lr=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    accuracies = []
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            log_probs = torch.log_softmax(model(x), dim=1)
            loss = nn.functional.nll_loss(log_probs, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        accuracies.append(0.0)
    return accuracies
"""
# the bug: (what the fix wrote, what the bug writes instead, what the check's message must name)
LOOP_BUGS = {
    "zero_grad forgotten": ("            optimizer.zero_grad()\n", "", "zero_grad"),
    "eval mode left on": ("        model.train()\n", "", "model.train()"),
    "softmax along the batch": (
        "log_softmax(model(x), dim=1)", "log_softmax(model(x), dim=0)", "dimension 1",
    ),
}


def fixed_loop_with(bug: str) -> str:
    """Lesson 11's reference loop with one of its three bugs put back."""
    old, new, _ = LOOP_BUGS[bug]
    assert FIXED_LOOP.count(old) == 1, bug
    return FIXED_LOOP.replace(old, new)


SAME_PADDING = """lenet = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 10),
)
lenet_params = sum(p.numel() for p in lenet.parameters())
"""

TRIALS = {
    "01_autograd_linear_model": LessonTrials(
        answers=[Answer("01 Exercise 1 at a = b = -1", "Exercise 1", ONE_ONE, "a = 1, b = 0")],
        reruns={"autograd agrees with the formulas": "dL/da"},
    ),
    "02_modules": LessonTrials(answers=[
        Answer("02 Exercise 2 with 55 typed in", "Exercise 2", "n_params = 55", "count_params"),
        Answer("02 Exercise 2 with a count_params that returns 55", "Exercise 2", TYPED_COUNT, "numel()"),
    ]),
    "11_when_it_does_not_learn": LessonTrials(answers=[
        Answer(f"11 Exercise 3 with the {bug}", "Exercise 3", fixed_loop_with(bug), LOOP_BUGS[bug][2])
        for bug in LOOP_BUGS
    ]),
    "12_convolutions": LessonTrials(answers=[
        Answer("12 Exercise 2 with padding='same'", "Exercise 2", SAME_PADDING),
    ]),
}
LESSONS = lesson_files()


def test_every_trial_names_a_lesson():
    assert set(TRIALS) <= {path.stem for path in LESSONS}


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_keeps_the_exercise_contract(path):
    problems = lesson_problems(path, TRIALS.get(path.stem))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def exercise(number: int, solution: str, check: str) -> list:
    hidden = {"jupyter": {"source_hidden": True}}
    return [
        nbformat.v4.new_markdown_cell(f"**Exercise {number}.** A task."),
        nbformat.v4.new_code_cell("# Your turn\n" + solution, metadata=hidden),
        nbformat.v4.new_code_cell("# Check\n" + check),
    ]


def probe(tmp_path, *cells) -> object:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    return path


GUARDED = (
    "assert '{name}' in globals(), 'store {what} in {name}'\n"
    "assert {name} == {value}, '{name} should be {value}'"
)


@pytest.mark.slow
def test_the_trials_name_every_kind_of_weak_check(tmp_path):
    path = probe(
        tmp_path,
        nbformat.v4.new_code_cell("x = 3\nbox = []"),
        *exercise(1, "y = 2 * x", GUARDED.format(name="y", what="2 * x", value=6)),
        nbformat.v4.new_code_cell("z = x + 1"),
        *exercise(2, "w = y + 1", GUARDED.format(name="w", what="y + 1", value=7)),
        *exercise(3, "box.append(1)", "assert len(box) <= 1, 'box grew twice'"),
        *exercise(4, "v = x", "assert v == 3"),
        *exercise(5, "u = x / 0", GUARDED.format(name="u", what="x / 0", value=1)),
        *exercise(6, "y = 6", GUARDED.format(name="y", what="6", value=6)),
        nbformat.v4.new_code_cell("t = v"),
    )
    assert lesson_problems(path) == [
        "Exercise 2: its reference solution fails with NameError: name 'y' is not defined",
        "Exercise 3: its check passes with every exercise blank",
        "Exercise 3: its check passes with the learner's cell empty and the earlier exercises solved",
        "Exercise 4: with every exercise blank its check fails with NameError: name 'v' is not defined, "
        "not an AssertionError",
        "Exercise 4: with the learner's cell empty and the earlier exercises solved its check fails with "
        "NameError: name 'v' is not defined, not an AssertionError",
        "Exercise 5: its reference solution fails with ZeroDivisionError: division by zero",
        "Exercise 6: its check passes with the learner's cell empty and the earlier exercises solved",
        "cell 20 fails with the exercises blank: NameError: name 'v' is not defined",
    ]


@pytest.mark.slow
def test_the_trials_try_the_given_answers_and_rerun_cells(tmp_path):
    path = probe(
        tmp_path,
        nbformat.v4.new_code_cell("import random\nx = 3"),
        *exercise(1, "y = 2 * x", GUARDED.format(name="y", what="2 * x", value=6)),
        nbformat.v4.new_code_cell("print('steady', x)"),
        nbformat.v4.new_code_cell("print(random.random())"),
    )
    trials = LessonTrials(
        answers=[
            Answer("typed in", "Exercise 1", "y = 6"),
            Answer("off by one", "Exercise 1", "y = 2 * x + 1", "should be 6"),
            Answer("named wrongly", "Exercise 1", "y = 5", "store"),
            Answer("accepted", "Exercise 1", "y = 6", "should be 6"),
            Answer("rejected", "Exercise 1", "y = 2 * x + 0.5"),
            Answer("broken", "Exercise 1", "y = 1 / 0", "6"),
            Answer("elsewhere", "Exercise 9", "y = 6"),
        ],
        reruns={"steady": "steady 3"},
    )
    assert lesson_problems(path, trials) == ["elsewhere: the lesson has no Exercise 9"]
    del trials.answers[-1]
    assert lesson_problems(path, trials) == [
        "named wrongly: the check fails with AssertionError: y should be 6, "
        "not an AssertionError that names 'store'",
        "accepted: the check accepts it",
        "rejected: the check rejects this right answer with AssertionError: y should be 6",
        "broken: the answer itself fails with ZeroDivisionError: division by zero",
    ]
    trials.reruns = {"random.random()": "0."}
    problems = lesson_problems(path, trials)
    assert problems[-1].startswith("cell 5 prints something else when run a second time: "), problems
