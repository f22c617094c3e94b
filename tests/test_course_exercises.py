"""Every exercise of every lesson really checks the learner's answer.

Each lesson runs top to bottom in one kernel with the course's environment. At
each exercise the learner's cell is first left empty: the check must then fail
with an AssertionError whose message says what is missing (never a NameError,
never a pass). Then the reference solution runs and the same check must pass.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from course_notebooks import course_kernel_environment, find_exercises, lesson_client, lesson_files, run_cell
from nbclient.exceptions import CellExecutionError


def exercise_problems(path: Path) -> list[str]:
    """What is wrong with the exercises of the notebook at ``path``; empty when every one really checks."""
    notebook = nbformat.read(path, as_version=4)
    exercises = {exercise.index: exercise for exercise in find_exercises(notebook)}
    problems = [f"{e.title}: {'; '.join(e.problems)}" for e in exercises.values() if e.problems]
    if problems:
        return problems
    solution_cells = {e.solution_index for e in exercises.values()}
    client = lesson_client(notebook, path)
    with course_kernel_environment(), client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            if index in solution_cells:
                exercise = exercises[index - 1]
                empty = run_cell(client, notebook, exercise.check_index)
                if empty is None:
                    problems.append(f"{exercise.title}: its check passes with the learner's cell left empty")
                elif empty.ename != "AssertionError":
                    problems.append(f"{exercise.title}: with the learner's cell empty its check fails with "
                                    f"{empty.ename}: {empty.evalue}, not an AssertionError")
                elif not empty.evalue.strip():
                    problems.append(f"{exercise.title}: with the learner's cell empty its check fails "
                                    "with an AssertionError that has no message")
            error = run_cell(client, notebook, index)
            if error is not None:
                where = f"cell {index}"
                if index - 1 in exercises:
                    where = f"{exercises[index - 1].title}: its reference solution"
                if index - 2 in exercises:
                    where = f"{exercises[index - 2].title}: its check, after the reference solution,"
                problems.append(f"{where} fails with {error.ename}: {error.evalue}")
                break
    return problems


LESSONS = lesson_files()


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_every_exercise_rejects_an_empty_answer_and_accepts_the_solution(path):
    problems = exercise_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def exercise(number: int, solution: str, check: str) -> list:
    hidden = {"jupyter": {"source_hidden": True}}
    return [
        nbformat.v4.new_markdown_cell(f"**Exercise {number}.** A task."),
        nbformat.v4.new_code_cell("# Your turn\n" + solution, metadata=hidden),
        nbformat.v4.new_code_cell("# Check\n" + check),
    ]


@pytest.mark.slow
def test_the_exercise_runner_names_every_kind_of_weak_check(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 3"),
        *exercise(1, "y = 2 * x", "assert 'y' in globals(), 'store 2 * x in y'\nassert y == 6, f'y should be 6, got {y}'"),
        *exercise(2, "z = x", "print('no assert here')\nassert True, 'always'"),
        *exercise(3, "w = x + 1", "assert w == 4, 'w should be x + 1'"),
        *exercise(4, "v = x", "assert 'v' in globals()"),
        *exercise(5, "u = x / 0", "assert 'u' in globals(), 'store u'\nassert u == 1, 'u should be 1'"),
        nbformat.v4.new_code_cell("after = 1"),
    ]
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    problems = exercise_problems(path)
    assert problems == [
        "Exercise 2: its check passes with the learner's cell left empty",
        "Exercise 3: with the learner's cell empty its check fails with NameError: name 'w' is not defined, "
        "not an AssertionError",
        "Exercise 4: with the learner's cell empty its check fails with an AssertionError that has no message",
        "Exercise 5: its reference solution fails with ZeroDivisionError: division by zero",
    ], problems


@pytest.mark.slow
def test_the_exercise_runner_reports_a_check_that_rejects_the_solution(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = exercise(1, "y = 5", "assert 'y' in globals(), 'store y'\nassert y == 6, f'y should be 6, got {y}'")
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(notebook, path)
    assert exercise_problems(path) == [
        "Exercise 1: its check, after the reference solution, fails with AssertionError: y should be 6, got 5"
    ]


def run_up_to(path: Path, stop: int, sources: dict[int, str], rerun: int | None = None) -> dict:
    """Run cells 0..stop of a lesson (``sources`` replacing some cells' code); each code cell's error by index.

    With ``rerun``, that cell runs a second time right after its first run: its
    error then is under ``("again", rerun)`` and the stdout of both runs under
    ``("stdout", rerun)``.
    """
    notebook = nbformat.read(path, as_version=4)
    client = lesson_client(notebook, path)
    results: dict = {}
    with course_kernel_environment(), client.setup_kernel():
        for index in range(stop + 1):
            if notebook.cells[index].cell_type != "code":
                continue
            if index == rerun:
                runs = [run_cell_with_stdout(client, notebook, index) for _ in range(2)]
                results[index], results[("again", index)] = runs[0][0], runs[1][0]
                results[("stdout", index)] = [text for _, text in runs]
            else:
                results[index] = run_cell(client, notebook, index, sources.get(index))
    return results


def run_cell_with_stdout(client, notebook, index: int) -> tuple:
    """Run cell ``index`` as it is; its error (or None) and what it printed."""
    cell = notebook.cells[index].copy()
    cell.outputs = []
    try:
        client.execute_cell(cell, index)
        error = None
    except CellExecutionError as caught:
        error = caught
    return error, "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


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
def fixed_loop_with(bug: str) -> str:
    """Lesson 11's reference loop with one of its three bugs put back."""
    old, new, _ = LOOP_BUGS[bug]
    assert FIXED_LOOP.count(old) == 1, bug
    return FIXED_LOOP.replace(old, new)


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
LOOP_BUGS = {  # the bug: (what the fix wrote, what the bug writes instead, what the check's message must name)
    "zero_grad forgotten": ("            optimizer.zero_grad()\n", "", "zero_grad"),
    "eval mode left on": ("        model.train()\n", "", "model.train()"),
    "softmax along the batch": ("log_softmax(model(x), dim=1)", "log_softmax(model(x), dim=0)", "dimension 1"),
}


WRONG_ANSWERS = {  # case: (lesson, exercise, the wrong answer, what the check's message must say)
    "01 Exercise 1 at a = b = -1": ("01_autograd_linear_model", "Exercise 1", ONE_ONE, "a = 1, b = 0"),
    "02 Exercise 2 with 55 typed in": ("02_modules", "Exercise 2", "n_params = 55", "count_params"),
    "02 Exercise 2 with a count_params that returns 55": ("02_modules", "Exercise 2", TYPED_COUNT, "numel()"),
    **{f"11 Exercise 3 with the {bug}": ("11_when_it_does_not_learn", "Exercise 3", fixed_loop_with(bug), LOOP_BUGS[bug][2])
       for bug in LOOP_BUGS},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", WRONG_ANSWERS)
def test_named_wrong_answers_are_rejected_with_a_message(case):
    lesson, title, wrong, named = WRONG_ANSWERS[case]
    path = next(path for path in LESSONS if path.stem == lesson)
    exercise = next(e for e in find_exercises(nbformat.read(path, as_version=4)) if e.title == title)
    results = run_up_to(path, exercise.check_index, {exercise.solution_index: "# Your turn\n" + wrong})
    assert results[exercise.solution_index] is None, results[exercise.solution_index]
    error = results[exercise.check_index]
    assert error is not None, f"{case}: the check accepts it"
    assert error.ename == "AssertionError" and named in error.evalue, f"{case}: {error.ename}: {error.evalue}"


@pytest.mark.slow
def test_lesson_01_gradient_cell_gives_the_same_on_a_second_run():
    path = next(path for path in LESSONS if path.stem == "01_autograd_linear_model")
    notebook = nbformat.read(path, as_version=4)
    index = next(i for i, cell in enumerate(notebook.cells) if "autograd agrees with the formulas" in cell.source)
    results = run_up_to(path, index, {}, rerun=index)
    assert results[index] is None and results[("again", index)] is None, results[("again", index)]
    first, second = results[("stdout", index)]
    assert first == second and "dL/da" in first, (first, second)


SAME_PADDING = """lenet = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 10),
)
lenet_params = sum(p.numel() for p in lenet.parameters())
"""
OTHER_RIGHT_ANSWERS = {
    "12 Exercise 2 with padding='same'": ("12_convolutions", "Exercise 2", SAME_PADDING),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", OTHER_RIGHT_ANSWERS)
def test_other_right_answers_pass_the_check(case):
    lesson, title, answer = OTHER_RIGHT_ANSWERS[case]
    path = next(path for path in LESSONS if path.stem == lesson)
    exercise = next(e for e in find_exercises(nbformat.read(path, as_version=4)) if e.title == title)
    results = run_up_to(path, exercise.check_index, {exercise.solution_index: "# Your turn\n" + answer})
    assert results[exercise.solution_index] is None, results[exercise.solution_index]
    assert results[exercise.check_index] is None, f"{case}: {results[exercise.check_index]}"
