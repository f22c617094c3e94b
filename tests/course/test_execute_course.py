"""scripts/execute_course.py: which notebooks it runs, the kernel's settings, what it stores."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import CellExecutionError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "execute_course.py"


def load_script():
    spec = importlib.util.spec_from_file_location("execute_course", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute_course = load_script()


def write_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(source, metadata={"tags": (tags or {}).get(i, [])})
        for i, source in enumerate(sources)
    ]
    nbformat.write(notebook, path)
    return path


def test_default_is_every_lesson_in_order(tmp_path):
    for name in ("01_b.ipynb", "00_a.ipynb", "notes.ipynb", "02_c.txt"):
        (tmp_path / name).write_text("{}")
    found = execute_course.lesson_paths([], course_dir=tmp_path)
    assert [p.name for p in found] == ["00_a.ipynb", "01_b.ipynb"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("lesson.py", "expected a .ipynb notebook"),
        ("00_missing.ipynb", "notebook not found"),
        ("elsewhere/00_a.ipynb", "expected a notebook directly in"),
    ],
)
def test_bad_names_are_refused_before_anything_runs(tmp_path, name, message):
    (tmp_path / "elsewhere").mkdir()
    write_notebook(tmp_path / "elsewhere" / "00_a.ipynb", "1")
    (tmp_path / "lesson.py").write_text("")
    with pytest.raises(ValueError, match=message):
        execute_course.lesson_paths([str(tmp_path / name)], course_dir=tmp_path)


def test_empty_course_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no lesson notebooks"):
        execute_course.lesson_paths([], course_dir=tmp_path)


def test_kernel_environment_is_applied_then_restored(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("LIVETORCH_OFFLINE", raising=False)
    before = dict(os.environ)
    with execute_course.kernel_environment():
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert os.environ["LIVETORCH_OFFLINE"] == "1"
        assert "MPLBACKEND" not in os.environ
    assert dict(os.environ) == before


@pytest.mark.slow
def test_a_notebook_runs_in_place_with_outputs_state_and_settings(tmp_path):
    path = write_notebook(
        tmp_path / "00_probe.ipynb",
        "import os\nprint(os.environ['OMP_NUM_THREADS'], os.environ['LIVETORCH_OFFLINE'], os.getcwd())",
        "import ipywidgets as ipw\nipw.IntSlider(value=7)",
        "raise ValueError('on purpose')",
        tags={2: ["raises-exception"]},
    )
    seconds = execute_course.execute_notebook(path, cell_timeout=60)
    assert seconds > 0
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec["name"] == "python3"
    assert notebook.metadata.language_info["name"] == "python"
    assert [cell.execution_count for cell in notebook.cells] == [1, 2, 3]
    assert notebook.cells[0].outputs[0].text == f"1 1 {tmp_path}\n"
    assert notebook.cells[2].outputs[0].ename == "ValueError"
    states = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(model["state"].get("value") == 7 for model in states.values()), "widget state was not stored"
    assert not any("execution" in cell.metadata for cell in notebook.cells), (
        "timing metadata should not be stored"
    )


@pytest.mark.slow
def test_a_failing_notebook_is_left_unchanged(tmp_path):
    path = write_notebook(tmp_path / "00_broken.ipynb", "print('ran')", "1 / 0")
    original = path.read_bytes()
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute_course.execute_notebook(path, cell_timeout=60)
    assert path.read_bytes() == original


@pytest.mark.slow
def test_each_live_view_stores_its_last_still_beside_its_widget(tmp_path):
    import base64
    import io

    import numpy as np
    from PIL import Image

    path = write_notebook(
        tmp_path / "00_still.ipynb",
        "from widgets import LossCurve\ncurve = LossCurve(smoothing=0)\ncurve",  # shown empty
        "for step in range(1, 200):\n    curve.log(step, 1 / step)\ncurve.flush()",  # filled in a later cell
    )
    execute_course.execute_notebook(path, cell_timeout=120)
    notebook = nbformat.read(path, as_version=4)
    (output,) = notebook.cells[0].outputs
    assert (
        output.data["text/plain"] == "LossCurve()"
        and "application/vnd.jupyter.widget-view+json" in output.data
    )
    still = np.asarray(
        Image.open(io.BytesIO(base64.b64decode(output.data["image/png"]))).convert("RGB")
    ).astype(int)
    blue = (np.abs(still - [0x1F, 0x77, 0xB4]).sum(axis=2) < 60).sum()
    assert blue > 200, "the stored still should be the curve as it ended, not the empty one shown at first"
