"""One kernel per lesson proves its whole exercise contract (course/README.md).

The lesson runs top to bottom as a learner who leaves every ``# Your turn``
cell blank would run it. Every other cell runs for real, and at each exercise's
check these trials run:

1. the check as it is, every exercise blank: it must fail with an AssertionError
   that says what is missing (never a pass, never another error);
2. the same check with what the earlier reference solutions bound put back (an
   earlier solution may define a name this check guards): it must still fail so;
3. each named wrong answer, then the check: the answer runs, the check rejects it
   with a message that names what is wrong;
4. each other right answer, then the check: the check accepts it;
5. the reference solution, then the check: the solution runs and the check passes.

Trials 2 to 5 run in a shallow copy of the learner's namespace, so nothing they
bind is left for later cells: those still see a learner who left the exercise
blank, and each later teaching cell must run without any solution. Hidden checks
may fail only with an AssertionError. A cell named in ``reruns`` runs twice and
must print the same both times, and what it is given to print.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from course_notebooks import (
    HIDDEN_CHECK_MARKER,
    Exercise,
    course_kernel_environment,
    find_exercises,
    lesson_client,
)
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# Kernel-side state of the trials, under names no lesson uses.
SETUP = "_trial_bindings = {}"
TRY_ANSWER = """\
_trial_namespace = dict(globals())
exec(compile({answer!r}, {label!r}, "exec"), _trial_namespace)
"""
# What the reference solution bound or rebound, kept with the learner's value at that moment, so
# later trials can put it back only where no teaching cell has since rebound the name.
KEEP_BINDINGS = """\
for _name, _value in _trial_namespace.items():
    if not _name.startswith("_") and (_name not in globals() or globals()[_name] is not _value):
        _trial_bindings[_name] = (_value, globals().get(_name, _trial_bindings))
del _name, _value
"""
RUN_CHECK = """\
try:
    exec(compile({check!r}, "<check>", "exec"), _trial_namespace)
finally:
    del _trial_namespace
"""
CHECK_SOLVED_BEFORE = """\
_trial_namespace = dict(globals())
_trial_namespace.update({{_name: _value for _name, (_value, _was) in _trial_bindings.items()
                         if globals().get(_name, _trial_bindings) is _was}})
try:
    exec(compile({check!r}, "<check>", "exec"), _trial_namespace)
finally:
    del _trial_namespace
"""


@dataclass
class Answer:
    """An answer to try at one exercise; ``named``: what the check's message must say (None: it must pass)."""

    case: str
    exercise: str
    source: str
    named: str | None = None


@dataclass
class LessonTrials:
    """What to try in one lesson beyond its own solutions."""

    answers: list[Answer] = field(default_factory=list)
    # cells to run twice: text that picks the cell -> text it must print each time
    reruns: dict[str, str] = field(default_factory=dict)


class Kernel:
    """Runs code as cells of one notebook in one kernel; each run gives back its error and what it printed."""

    def __init__(self, client: NotebookClient, notebook) -> None:
        self.client = client
        self.notebook = notebook

    def run(self, index: int, source: str | None = None) -> tuple[CellExecutionError | None, str]:
        cell = self.notebook.cells[index].copy()
        cell.outputs = []
        if source is not None:
            cell.source = source
        try:
            self.client.execute_cell(cell, index)
            error = None
        except CellExecutionError as caught:
            error = caught
        printed = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
        return error, printed


def weak_check(error: CellExecutionError | None) -> str | None:
    """How a check run on an empty answer falls short of the contract; None when it fails as it should."""
    if error is None:
        return "passes"
    if error.ename != "AssertionError":
        return f"fails with {error.ename}: {error.evalue}, not an AssertionError"
    if not error.evalue.strip():
        return "fails with an AssertionError that has no message"
    return None


def exercise_trials(kernel: Kernel, index: int, exercise: Exercise, answers: list[Answer]) -> list[str]:
    """Trials 1 to 5 at the check cell ``index`` of ``exercise``; the problems found."""
    problems = []
    title = exercise.title
    check = kernel.notebook.cells[index].source
    error, _ = kernel.run(index)
    if (weak := weak_check(error)) == "passes":
        problems.append(f"{title}: its check passes with every exercise blank")
    elif weak:
        problems.append(f"{title}: with every exercise blank its check {weak}")
    error, _ = kernel.run(index, CHECK_SOLVED_BEFORE.format(check=check))
    solved = "the learner's cell empty and the earlier exercises solved"
    if (weak := weak_check(error)) == "passes":
        problems.append(f"{title}: its check passes with {solved}")
    elif weak:
        problems.append(f"{title}: with {solved} its check {weak}")
    for answer in answers:
        error, _ = kernel.run(index, TRY_ANSWER.format(answer=answer.source, label=f"<{answer.case}>"))
        if error is not None:
            kernel.run(index, "del _trial_namespace")
            problems.append(f"{answer.case}: the answer itself fails with {error.ename}: {error.evalue}")
            continue
        error, _ = kernel.run(index, RUN_CHECK.format(check=check))
        named = answer.named
        if named is None:
            if error is not None:
                problems.append(f"{answer.case}: the check rejects this right answer with "
                                f"{error.ename}: {error.evalue}")
        elif error is None:
            problems.append(f"{answer.case}: the check accepts it")
        elif error.ename != "AssertionError" or named not in error.evalue:
            problems.append(f"{answer.case}: the check fails with {error.ename}: {error.evalue}, "
                            f"not an AssertionError that names {named!r}")
    solution = kernel.notebook.cells[exercise.solution_index].source
    error, _ = kernel.run(index, TRY_ANSWER.format(answer=solution, label="<reference solution>"))
    if error is not None:
        kernel.run(index, "del _trial_namespace")
        problems.append(f"{title}: its reference solution fails with {error.ename}: {error.evalue}")
        return problems
    kernel.run(index, KEEP_BINDINGS)
    error, _ = kernel.run(index, RUN_CHECK.format(check=check))
    if error is not None:
        problems.append(f"{title}: its check, after the reference solution, fails with "
                        f"{error.ename}: {error.evalue}")
    return problems


def lesson_problems(path: Path, trials: LessonTrials | None = None) -> list[str]:
    """Everything the lesson at ``path`` breaks of the exercise contract; empty when it keeps all of it."""
    trials = trials or LessonTrials()
    notebook = nbformat.read(path, as_version=4)
    exercises = find_exercises(notebook)
    problems = [f"{e.title}: {'; '.join(e.problems)}" for e in exercises if e.problems]
    titles = {e.title for e in exercises}
    problems += [f"{a.case}: the lesson has no {a.exercise}" for a in trials.answers
                 if a.exercise not in titles]
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    reruns = {text: [i for i in code if text in notebook.cells[i].source] for text in trials.reruns}
    problems += [f"no code cell holds {text!r} to run twice" for text, found in reruns.items() if not found]
    if problems:
        return problems
    rerun_cells = {index: trials.reruns[text] for text, found in reruns.items() for index in found}
    solutions = {e.solution_index for e in exercises}
    checks = {e.check_index: e for e in exercises}
    # nbclient stores each cell it runs into its notebook: give it a copy, keep the stored sources here
    client = lesson_client(copy.deepcopy(notebook), path)
    with course_kernel_environment(), client.setup_kernel():
        kernel = Kernel(client, notebook)
        kernel.run(code[0], SETUP)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or index in solutions:
                continue
            if index in checks:
                exercise = checks[index]
                answers = [a for a in trials.answers if a.exercise == exercise.title]
                problems += exercise_trials(kernel, index, exercise, answers)
                continue
            error, printed = kernel.run(index)
            if cell.source.startswith(HIDDEN_CHECK_MARKER):
                if error is not None and error.ename != "AssertionError":
                    problems.append(f"cell {index} (a hidden check) fails with {error.ename}: {error.evalue}")
            elif error is not None:
                problems.append(f"cell {index} fails with the exercises blank: {error.ename}: {error.evalue}")
            elif index in rerun_cells:
                again, printed_again = kernel.run(index)
                if again is not None:
                    problems.append(f"cell {index} fails when run a second time: "
                                    f"{again.ename}: {again.evalue}")
                elif printed_again != printed:
                    problems.append(f"cell {index} prints something else when run a second time: "
                                    f"{printed!r}, then {printed_again!r}")
                elif rerun_cells[index] not in printed:
                    problems.append(f"cell {index} does not print {rerun_cells[index]!r}: {printed!r}")
    return problems
