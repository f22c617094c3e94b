"""The two test tiers (tests/conftest.py, course/conftest.py) on a small project laid out like this one."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
UNIT = """\
import pytest

def test_quick():
    pass

@pytest.mark.slow
def test_long():
    pass
"""
PAGE = "def test_in_the_page():\n    pass\n"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """tests/ with this repository's conftest, a unit file and a browser file; course/ with one notebook."""
    pytester.makepyprojecttoml("""
[tool.pytest.ini_options]
testpaths = ["tests", "course"]
addopts = "--nbval --nbval-current-env -p no:cacheprovider"
markers = ["slow: slow", "browser: browser"]
""")
    for folder in ("tests/browser", "course"):
        (pytester.path / folder).mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", pytester.path / "tests" / "conftest.py")
    shutil.copy(ROOT / "course" / "conftest.py", pytester.path / "course" / "conftest.py")
    (pytester.path / "tests" / "test_unit.py").write_text(UNIT)
    (pytester.path / "tests" / "browser" / "test_page.py").write_text(PAGE)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(notebook, pytester.path / "course" / "00_probe.ipynb")
    return pytester


def collected(result: pytest.RunResult) -> list[str]:
    return sorted(line.split("::")[-1] for line in result.outlines if "::" in line)


def test_pytest_alone_runs_the_fast_tier_only(project):
    result = project.runpytest("-q", "--collect-only")
    assert collected(result) == ["test_quick"]
    result.stdout.fnmatch_lines(["*1/4 tests collected (3 deselected)*"])


def test_full_runs_every_tier_with_the_browser_tests_last(project):
    result = project.runpytest("-q", "--collect-only", "--full")
    names = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert sorted(names) == ["Cell 0", "test_in_the_page", "test_long", "test_quick"]
    assert names[-1] == "test_in_the_page"


@pytest.mark.parametrize(("args", "expected"), [
    (["tests/test_unit.py"], ["test_long", "test_quick"]),
    (["course"], ["Cell 0"]),
    (["-m", "slow"], ["Cell 0", "test_long"]),
    (["-m", "not slow and not browser", "tests"], ["test_quick"]),
    (["-k", "page"], ["test_in_the_page"]),
])
def test_a_path_or_a_selection_runs_what_it_names_slow_tests_included(project, args, expected):
    assert collected(project.runpytest("-q", "--collect-only", *args)) == expected


RECORD = """\
import os
import time


def record(name):
    with open({log!r}, "a") as log:
        log.write(f"{{os.environ['PYTEST_XDIST_WORKER']}} {{time.monotonic()}} {{name}}\\n")
"""
RECORDED = "from record import record\n\n" + "".join(
    f"def test_{index}():\n    record('{{kind}} {index}')\n\n\n" for index in range(6))


@pytest.mark.slow
def test_two_workers_keep_a_notebook_on_one_kernel_and_the_browser_tests_last(project):
    """`pytest --full -n 2` (tests/xdist_units.py): a notebook's cells run in order in one kernel, and the
    browser tests, on one worker, after every other test that worker ran."""
    shutil.copy(ROOT / "conftest.py", project.path / "conftest.py")
    shutil.copy(ROOT / "tests" / "xdist_units.py", project.path / "tests" / "xdist_units.py")
    project.makepyprojecttoml("""
[tool.pytest.ini_options]
testpaths = ["tests", "course"]
pythonpath = ["tests"]
addopts = "--nbval --nbval-current-env -p no:cacheprovider --no-loadscope-reorder"
markers = ["slow: slow", "browser: browser"]
""")
    log = project.path / "order.log"
    (project.path / "tests" / "record.py").write_text(RECORD.format(log=str(log)))
    for folder, kind in (("tests", "unit"), ("tests/browser", "browser")):
        for letter in "ab":
            (project.path / folder / f"test_{kind}_{letter}.py").write_text(RECORDED.format(kind=kind))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 0")] + [
        nbformat.v4.new_code_cell(f"assert x == {count}, x\nx += 1") for count in range(20)]
    nbformat.write(notebook, project.path / "course" / "00_probe.ipynb")
    result = project.runpytest_subprocess("-q", "--full", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=3 + 2 * 6 + 2 * 6 + 21)  # the project's own 3, ours, the notebook's cells
    rows = [line.split() for line in log.read_text().splitlines()]
    browser_workers = {worker for worker, _, kind, _ in rows if kind == "browser"}
    assert len(browser_workers) == 1, rows
    first_page = min(float(when) for _, when, kind, _ in rows if kind == "browser")
    assert all(float(when) < first_page for worker, when, kind, _ in rows
               if kind == "unit" and worker in browser_workers), rows
