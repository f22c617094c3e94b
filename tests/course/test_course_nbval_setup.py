"""The course's nbval setup (course/conftest.py, course/sanitize.cfg) on small notebooks.

Outputs are stored with scripts/execute_course.py and validated by strict nbval in a
separate pytest process, as CI does: memory addresses and stderr must not break a
notebook, the kernel must get the course's environment, and a changed output must
still fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "execute_course.py"

PROBE_CELLS = [
    "import os, sys, warnings\nclass Thing:\n    pass\nThing()",
    "warnings.warn('a warning with a path in it')\nprint('to stderr', os.getpid(), file=sys.stderr)",
    "print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('LIVETORCH_OFFLINE'))",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([0, 1])\nplt.show()",
]


def load_script():
    spec = importlib.util.spec_from_file_location("execute_course", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stored_notebook(path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in PROBE_CELLS]
    nbformat.write(notebook, path)
    load_script().execute_notebook(path, cell_timeout=60)
    return path


@pytest.mark.slow
def test_stored_outputs_validate_and_a_changed_output_fails(tmp_path):
    shutil.copy(REPO_ROOT / "course" / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(REPO_ROOT / "course" / "sanitize.cfg", tmp_path / "sanitize.cfg")
    good = stored_notebook(tmp_path / "good.ipynb")

    notebook = nbformat.read(good, as_version=4)
    assert "0x" in notebook.cells[0].outputs[0].data["text/plain"], "the probe should store an address"
    assert notebook.cells[2].outputs[0].text == "1 1\n", (
        "outputs must be stored with the course's environment"
    )
    notebook.cells[2].outputs[0].text = "2 1\n"
    nbformat.write(notebook, tmp_path / "changed.ipynb")

    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "sanitize.cfg",
            "good.ipynb", "changed.ipynb",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 7 passed" in summary, result.stdout[-3000:]
    assert "FAILED changed.ipynb::Cell 2" in result.stdout, result.stdout[-3000:]
