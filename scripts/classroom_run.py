"""Grade one submitted notebook: run it in a kernel of its own, cell by cell, and its checks out of the
student's reach.

The submitted notebook is read (a file that is not a notebook gets a note that
says why), every check cell is put back from the build (so edits gain nothing)
and the notebook runs top to bottom in a fresh kernel started by
``classroom_sandbox`` in an empty folder, under memory and CPU limits. Student
cells run as in Jupyter; an error in one does not stop the next. Each check runs
through ``classroom_guard`` instead of as a cell. A cell still running after
``cell_timeout`` seconds, or the notebook past ``timeout``, ends the run: the
kernel's whole process group is killed, the checks already passed keep their
points, the outputs so far are kept, and the later exercises get a note naming
the cell that was stuck.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from classroom_flags import suspicious_code
from classroom_sandbox import Limits, kernel_command, kill_group
from execute_course import KERNEL_ENV

if TYPE_CHECKING:
    from jupyter_client.client import KernelClient
    from nbclient import NotebookClient

GUARD_SOURCE = Path(__file__).with_name("classroom_guard.py")
KERNEL_NAME = "livetorch-grader"
HIDDEN_NOTE = "a hidden check failed (the teacher sees which)"


@dataclass(frozen=True)
class Check:
    """An exercise's check as the build recorded it: the visible asserts and the hidden ones."""

    grade_id: str
    answer_id: str
    title: str
    points: float
    visible: str
    hidden: str = ""


@dataclass(frozen=True)
class Job:
    """Everything needed to grade one notebook; ``scratch`` is an empty folder of this job's own."""

    student: str
    lesson: str
    notebook: Path
    checks: tuple[Check, ...]
    released: frozenset[str]
    preload: tuple[str, ...]
    scratch: Path
    timeout: float
    cell_timeout: float
    limits: Limits
    sandbox: str
    readable: tuple[Path, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    """One exercise's outcome: points, the note for the student, and the teacher's (hidden check messages)."""

    points: float
    note: str = ""
    teacher_note: str = ""


@dataclass
class Outcome:
    """What grading one notebook gave: a Result per check's grade id, the graded notebook, flags."""

    student: str
    lesson: str
    results: dict[str, Result]
    graded: str | None = None  # the graded notebook as JSON text, hidden checks left out
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0


class StopRunError(Exception):
    """The run ended early at a cell; the message is the note later exercises get."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``; a ValueError saying in plain words why it is not one."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"the file is not a notebook: it is not UTF-8 text (byte {error.start})") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"the file is not a notebook: it is not JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno}); was it saved from Jupyter, or renamed from another file?"
        ) from None
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many kinds for JSON that is not a notebook
        raise ValueError(
            f"the file is JSON but not a Jupyter notebook ({type(error).__name__}: {error})"[:300]
        ) from None
    if not isinstance(notebook.get("cells"), list):
        raise ValueError("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    return notebook


def split_check(source: str) -> tuple[str, str]:
    """A built check cell's (visible code, hidden code), split at nbgrader's hidden-test markers."""
    begin, end = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
    if begin not in source:
        return source, ""
    visible, rest = source.split(begin, 1)
    hidden, after = rest.split(end, 1) if end in rest else (rest, "")
    return (visible.rstrip("\n") + "\n" + after.lstrip("\n")).strip("\n"), hidden.strip("\n")


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def describe_cell(index: int, cell: nbformat.NotebookNode, checks: tuple[Check, ...]) -> str:
    """``cell 7 (the answer to Exercise 2)``: how notes name a cell."""
    for check in checks:
        if grade_id(cell) == check.answer_id:
            return f"cell {index} (the answer to {check.title})"
        if grade_id(cell) == check.grade_id:
            return f"cell {index} (the check of {check.title})"
    line = cell.source.strip().split("\n", 1)[0][:60]
    return f"cell {index} ({line!r})"


def kernel_environment(workdir: Path, extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The kernel's whole environment: the course's settings, a home in ``workdir``, nothing of the
    grader's."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "LIVETORCH_DATA_DIR": str(workdir / "data"),
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
        **KERNEL_ENV,
    }
    env.update(dict(extra))
    return env


def write_kernelspec(control: Path, argv: list[str]) -> Path:
    folder = control / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True)
    spec = {"argv": argv, "display_name": "grading kernel", "language": "python", "interrupt_mode": "signal"}
    (folder / "kernel.json").write_text(json.dumps(spec))
    return control / "kernels"


def grade_notebook(job: Job) -> Outcome:
    """Grade ``job.notebook``; never raises for anything the notebook does (problems become notes)."""
    start = time.perf_counter()
    outcome = Outcome(job.student, job.lesson, {})
    try:
        notebook = read_notebook(job.notebook)
    except (OSError, ValueError) as error:
        outcome.results = {c.grade_id: Result(0.0, str(error)) for c in job.checks}
        outcome.seconds = time.perf_counter() - start
        return outcome
    outcome.flags = suspicious_code(notebook, job.released)
    try:
        asyncio.run(run_cells(job, notebook, outcome))
    finally:
        shutil.rmtree(job.scratch, ignore_errors=True)
    for check in job.checks:
        outcome.results.setdefault(
            check.grade_id,
            Result(
                0.0,
                "its check cell is missing from the submitted notebook (not a student copy of this build?)",
            ),
        )
    notebook.metadata.pop("widgets", None)
    outcome.graded = nbformat.writes(notebook)
    outcome.seconds = time.perf_counter() - start
    return outcome


async def run_cells(job: Job, notebook: nbformat.NotebookNode, outcome: Outcome) -> None:
    """Run the notebook's cells and checks in a fresh sandboxed kernel, filling ``outcome``; always kill
    the kernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    # cells without an id: None
    checks: dict[str | None, Check] = {check.grade_id: check for check in job.checks}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "code" and grade_id(cell) in checks:
            cell.source = checks[grade_id(cell)].visible
    workdir, control = job.scratch / "work", job.scratch / "control"
    workdir.mkdir(parents=True)
    control.mkdir(parents=True)
    argv = kernel_command(workdir, [control, *job.readable], job.sandbox, job.limits)
    specs = KernelSpecManager(kernel_dirs=[str(write_kernelspec(control, argv))])
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME, kernel_spec_manager=specs, connection_file=str(control / "kernel.json")
    )
    client = NotebookClient(
        notebook,
        km=km,
        timeout=int(job.cell_timeout),
        allow_errors=True,
        store_widget_state=False,
        record_timing=False,
        shutdown_kernel="immediate",
        startup_timeout=120,
    )
    pgid = None
    # What the kernel process itself prints (ipykernel's banners, a crash) goes to a log, not the teacher's
    # terminal.
    log = (control / "kernel.log").open("wb")
    try:
        async with client.async_setup_kernel(
            env=kernel_environment(workdir, job.environment),
            cwd=str(workdir),
            cleanup_kc=True,
            stdout=log,
            stderr=log,
        ):
            pgid = getattr(km.provisioner, "pgid", None)  # the local provisioner's process group
            token, module = secrets.token_hex(16), "_grader_" + secrets.token_hex(8)
            await install_guard(client, module, token, job.preload)
            deadline = time.monotonic() + job.timeout
            done: set[str] = set()
            try:
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type != "code":
                        continue
                    remaining = deadline - time.monotonic()
                    limit = min(job.cell_timeout, remaining)
                    what = describe_cell(index, cell, job.checks)
                    if limit <= 0:
                        raise StopRunError(
                            f"timed out after {job.timeout:g} s: the notebook stopped at {what}"
                        )
                    client.timeout = max(1, math.ceil(limit))
                    try:
                        check = checks.get(grade_id(cell))
                        if check is None:
                            await client.async_execute_cell(cell, index)
                        elif check.grade_id not in done:
                            done.add(check.grade_id)
                            await run_check(client, module, token, check, cell, outcome)
                    except CellTimeoutError:
                        kill_group(pgid)
                        if limit < job.cell_timeout:
                            raise StopRunError(
                                f"timed out after {job.timeout:g} s: the notebook stopped at {what}"
                            ) from None
                        raise StopRunError(
                            f"{what} was still running after {job.cell_timeout:g} s (the limit per cell); "
                            "the notebook stopped there"
                        ) from None
                    except DeadKernelError:
                        raise StopRunError(
                            f"the kernel died in {what} (over the memory limit of {job.limits.memory_mib} "
                            "MiB or the CPU limit?); the notebook stopped there"
                        ) from None
            except StopRunError as stop:
                for check in job.checks:
                    if check.grade_id not in outcome.results and check.grade_id in {
                        grade_id(c) for c in notebook.cells
                    }:
                        outcome.results[check.grade_id] = Result(0.0, f"not graded: {stop}")
            finally:
                kill_group(pgid)
    finally:
        kill_group(pgid)
        log.close()


def _kernel_client(client: NotebookClient) -> KernelClient:
    """The client's connection to its kernel, which exists inside ``async_setup_kernel``."""
    if client.kc is None:
        raise RuntimeError("the grader talked to a kernel before starting it")
    return client.kc


async def install_guard(client: NotebookClient, module: str, token: str, preload: tuple[str, ...]) -> None:
    """Load ``classroom_guard`` into the kernel as a module of its own name, before any student code runs."""
    code = (f"import sys as _s, types as _t\n_m = _t.ModuleType({module + '_source'!r})\n"
            f"exec(compile({GUARD_SOURCE.read_text()!r}, 'classroom_guard', 'exec'), _m.__dict__)\n"
            f"_m.install({module!r}, {token!r}, {list(preload)!r})\ndel _s, _t, _m\n")
    msg_id = _kernel_client(client).execute(code, silent=True, store_history=False)
    client.timeout = 120
    # a stand-in cell, so that a kernel which never answers raises nbclient's CellTimeoutError
    reply = await client.async_wait_for_reply(msg_id, nbformat.v4.new_code_cell("# the grader's setup"))
    if reply is None or reply["content"]["status"] != "ok":
        detail = reply["content"].get("evalue", "") if reply else "no reply"
        raise RuntimeError(f"the grader could not prepare the kernel: {detail}")


async def run_check(
    client: NotebookClient,
    module: str,
    token: str,
    check: Check,
    cell: nbformat.NotebookNode,
    outcome: Outcome,
) -> None:
    """Evaluate the check through the guard (no run_cell, so no transformers); record the Result and the
    cell's outputs."""
    expression = f"__import__('sys').modules[{module!r}].guard.run({check.visible!r}, {check.hidden!r})"
    msg_id = _kernel_client(client).execute(
        "", silent=True, store_history=False, user_expressions={"result": expression}
    )
    reply = await client.async_wait_for_reply(msg_id, cell)
    answer = parse_answer(reply, token)
    if answer is None:
        outcome.flags.append(
            f"{check.title}: the check's answer did not come back intact (the grader was tampered with?)"
        )
        outcome.results[check.grade_id] = Result(0.0, "the check gave no answer the grader could trust")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="The check could not be run.\n")]
        return
    outcome.flags += [f"{check.title}: {flag}" for flag in answer["flags"]]
    visible, hidden = answer["visible"], answer.get("hidden")
    outputs = []
    if visible["printed"]:
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=visible["printed"]))
    if not visible["ok"]:
        name, _, value = visible["error"].partition(": ")
        outputs.append(
            nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[visible["error"]])
        )
        result = Result(0.0, visible["error"][:300])
    elif hidden is not None and not hidden["ok"]:
        outputs.append(
            nbformat.v4.new_output(
                "error", ename="HiddenCheckFailed", evalue=HIDDEN_NOTE, traceback=[HIDDEN_NOTE]
            )
        )
        result = Result(0.0, HIDDEN_NOTE, f"hidden check: {hidden['error']}"[:300])
    else:
        outputs.append(
            nbformat.v4.new_output(
                "stream", name="stdout", text=f"Passed: {check.points:g} / {check.points:g}\n"
            )
        )
        result = Result(float(check.points))
    cell.outputs = outputs
    outcome.results[check.grade_id] = result


def parse_answer(reply: dict | None, token: str) -> dict | None:
    """The guard's answer from an execute reply, or None when it is missing, malformed or lacks the token."""
    if reply is None or reply["content"].get("status") != "ok":
        return None
    value = reply["content"].get("user_expressions", {}).get("result", {})
    if value.get("status") != "ok":
        return None
    try:
        answer = json.loads(ast.literal_eval(value["data"]["text/plain"]))
    except (KeyError, ValueError, SyntaxError, TypeError):
        return None
    if not isinstance(answer, dict) or answer.get("token") != token or "visible" not in answer:
        return None
    return answer
