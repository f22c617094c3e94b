"""Run the course notebooks and store their outputs in place.

    python scripts/execute_course.py                      # every lesson in course/
    python scripts/execute_course.py course/02_modules.ipynb [more ...]

Each notebook runs top to bottom in a fresh ``python3`` kernel from the Python
that runs this script, with ``course/`` as the working directory and the same
settings CI validates with: one OpenMP thread, the offline MNIST sample, and
matplotlib's inline backend. The widgets' final state is stored in the
notebook metadata, so JupyterLab shows each live view's last picture without
a kernel; and once every cell ran, the kernel is asked for each open view's
still (`widgets.views.live.stills`), which replaces the `image/png` beside the
view's widget, so viewers that run no JavaScript (GitHub, nbviewer) show the
last picture too. A notebook whose run fails is left untouched on disk and
the script exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = REPO_ROOT / "course"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
COURSE_BUDGET_S = 360.0

KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}

KERNEL_ENV = {
    # One thread: the stored outputs and the timings stay the same on a busy machine.
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # MNIST lessons use the offline sample, as in CI.
    "LIVETORCH_OFFLINE": "1",
    "PYTHONHASHSEED": "0",
}


def lesson_paths(names: list[str], course_dir: Path = COURSE_DIR) -> list[Path]:
    """Resolve the notebooks to run; every lesson in ``course_dir`` when ``names`` is empty.

    Raises ValueError, before anything runs, for a path that is missing, is not
    a notebook, or does not lie directly in ``course_dir``.
    """
    course_dir = Path(course_dir).resolve()
    if not names:
        found = sorted(course_dir.glob(LESSON_GLOB))
        if not found:
            raise ValueError(f"no lesson notebooks ({LESSON_GLOB}) found in {course_dir}")
        return found
    paths = []
    for name in names:
        path = Path(name).resolve()
        if path.suffix != ".ipynb":
            raise ValueError(f"expected a .ipynb notebook, got {name!r}")
        if not path.is_file():
            raise ValueError(f"notebook not found: {name!r}")
        if path.parent != course_dir:
            raise ValueError(f"expected a notebook directly in {course_dir}, got {name!r}")
        paths.append(path)
    return paths


@contextmanager
def kernel_environment() -> Iterator[None]:
    """Give kernels started inside the block the course's environment; restore os.environ after."""
    saved = dict(os.environ)
    os.environ.update(KERNEL_ENV)
    # The kernel picks matplotlib's inline backend only when MPLBACKEND is unset.
    os.environ.pop("MPLBACKEND", None)
    # Kernels launched as "python" resolve to this interpreter; keep its tools first on PATH too.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute_notebook(path: Path, cell_timeout: int) -> float:
    """Execute one notebook in place; return the seconds it took.

    The file is rewritten only when every cell ran (cells tagged
    ``raises-exception`` may raise).
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    runner = CourseRunner(
        timeout=cell_timeout,
        kernel_name=KERNELSPEC["name"],
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    with kernel_environment():
        runner.preprocess(notebook, {"metadata": {"path": str(path.parent)}})
    put_stills(notebook, runner.stills)
    seconds = time.perf_counter() - start
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return seconds


STILLS_PROBE = """
import json as _json, sys as _sys
_live = _sys.modules.get("widgets.views.live")
print(_json.dumps(_live.stills() if _live is not None else {}))
"""


class CourseRunner(ExecutePreprocessor):
    """Runs a lesson; after its last cell, asks the same kernel for every open view's still (`stills`)."""

    stills: dict[str, str] = {}

    def preprocess_cell(self, cell, resources, index):
        result = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            probe = nbformat.v4.new_code_cell(STILLS_PROBE)
            # the client stores a cell it runs at its index; taken out again below
            self.nb.cells.append(probe)
            try:
                self.execute_cell(probe, index + 1, store_history=False)
            finally:
                self.nb.cells.pop()
            text = "".join(out.get("text", "") for out in probe.outputs if out.get("output_type") == "stream")
            self.stills = json.loads(text) if text.strip() else {}
        return result


def put_stills(notebook: nbformat.NotebookNode, stills: dict[str, str]) -> int:
    """Replace the `image/png` beside each live view's widget with its last still; returns how many
    changed."""
    changed = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get("application/vnd.jupyter.widget-view+json")
            if view and "image/png" in data and view.get("model_id") in stills:
                data["image/png"] = stills[view["model_id"]]
                changed += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks in course/ (default: all lessons)")
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)

    try:
        paths = lesson_paths(args.notebooks)
    except ValueError as error:
        parser.error(str(error))

    total = 0.0
    failed = []
    for path in paths:
        label = path.relative_to(REPO_ROOT)
        print(f"{label} ...", end=" ", flush=True)
        try:
            seconds = execute_notebook(path, args.cell_timeout)
        except CellExecutionError as error:
            print("FAILED")
            print(error, file=sys.stderr)
            failed.append(str(label))
            continue
        total += seconds
        print(f"{seconds:6.1f} s", flush=True)

    print(f"total: {total:.1f} s for {len(paths) - len(failed)} notebook(s)")
    if len(paths) == len(list(COURSE_DIR.glob(LESSON_GLOB))) and total > COURSE_BUDGET_S:
        print(f"warning: the course took {total:.0f} s, over its {COURSE_BUDGET_S:.0f} s budget")
    if failed:
        print("failed (left unchanged): " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
