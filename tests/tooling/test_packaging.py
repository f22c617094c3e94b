"""Packaging and setup: what the wheel holds, the torch/torchvision pair, the README's commands, CI."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

from widgets import data

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
KEEP_OUT = {".git", ".venv", "data", "build", "dist", "tmp", "artifacts"}  # at the checkout's top only
CACHES = {"__pycache__", ".ipynb_checkpoints"}


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_requirement(name):
    return next(r for r in map(Requirement, pyproject()["project"]["dependencies"]) if r.name == name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the working tree (the build writes egg-info and build/ where it runs)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda folder, names: [
            n
            for n in names
            if (Path(folder) == ROOT and n in KEEP_OUT) or n in CACHES or n.endswith(".egg-info")
        ],
    )
    out = work / "out"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", str(source), "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("livetorch-*.whl")
    return built


@pytest.mark.slow
def test_wheel_holds_only_the_widgets_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"widgets"}, f"the wheel installs {sorted(top - dist_info)}"
    assert {"widgets/__init__.py", "widgets/data/mnist_sample.py", "widgets/training/trainer.py",
            "widgets/views/base.py"} <= set(names)
    # every module of the package and its sub-packages is in it, nothing from course/, tests/ or binder/
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "widgets").rglob("*.py")}
    assert modules <= set(names)


@pytest.mark.slow
def test_wheel_metadata_carries_the_pinned_ranges(wheel):
    archive = zipfile.ZipFile(wheel)
    (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(archive.read(meta_name).decode())
    assert meta["Name"] == "livetorch"
    requires = {Requirement(r).name: Requirement(r) for r in meta.get_all("Requires-Dist")}
    assert str(requires["torch"].specifier) == str(runtime_requirement("torch").specifier)
    assert str(requires["torchvision"].specifier) == str(runtime_requirement("torchvision").specifier)
    assert "dev" in meta.get_all("Provides-Extra")


def test_installed_torchvision_loads_and_runs_nms():
    torchvision = data.import_torchvision()
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # the second box overlaps the first with IoU 81/119 > 0.5: it goes; the third stays
    assert torchvision.ops.nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2]
    assert torchvision.ops.nms(boxes, scores, iou_threshold=0.7).tolist() == [0, 1, 2]


def test_installed_pair_agrees_with_the_compatibility_table():
    torchvision = data.import_torchvision()
    torch_version, vision_version = Version(torch.__version__), Version(torchvision.__version__)
    torch_minor = f"{torch_version.major}.{torch_version.minor}"
    assert torch_minor in data.TORCHVISION_FOR_TORCH, f"torch {torch_version} is not in the table"
    assert f"{vision_version.major}.{vision_version.minor}" == data.TORCHVISION_FOR_TORCH[torch_minor]
    # a '+cpu' build on one side needs one on the other
    assert (torch_version.local == "cpu") == (vision_version.local == "cpu")
    assert runtime_requirement("torch").specifier.contains(torch_version)
    assert runtime_requirement("torchvision").specifier.contains(vision_version)


def test_pyproject_ranges_allow_only_matching_pairs():
    torch_spec = runtime_requirement("torch").specifier
    vision_spec = runtime_requirement("torchvision").specifier
    allowed = {t: v for t, v in data.TORCHVISION_FOR_TORCH.items() if torch_spec.contains(f"{t}.0")}
    assert allowed, "pyproject's torch range allows no version of the table"
    for torch_minor, vision_minor in data.TORCHVISION_FOR_TORCH.items():
        # each torch the range allows has its torchvision allowed, and no other
        assert torch_spec.contains(f"{torch_minor}.0") == vision_spec.contains(f"{vision_minor}.0"), (
            torch_minor
        )
    # the error message quotes the same ranges
    assert str(torch_spec) == str(Requirement(f"torch{data.TORCH_RANGE}").specifier)
    assert str(vision_spec) == str(Requirement(f"torchvision{data.VISION_RANGE}").specifier)


def test_only_widgets_is_packaged():
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["widgets*"]
    for folder in ("course", "tests", "binder"):
        assert not (ROOT / folder / "__init__.py").exists(), f"{folder}/ must not become a package"


def readme_commands():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("python3 -m venv")]


def test_readme_has_the_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    lab, tests = commands
    install = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" && '
    assert lab == install + ".venv/bin/jupyter lab course/00_start_here.ipynb"
    assert tests == install + ".venv/bin/python -m pytest --full -n 2"
    assert (ROOT / "course" / "00_start_here.ipynb").is_file()


def test_readme_shows_the_fast_tier_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert ".venv/bin/python -m pytest" in [line.strip() for block in blocks for line in block.splitlines()]


def test_ci_runs_exactly_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    code = [line.strip() for line in script.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]
    assert "set -euo pipefail" in code
    # the last command is the README's test command, and no other pytest or pip runs
    assert code[-1] == readme_commands()[1]
    assert sum("pytest" in line for line in code) == 1
    assert sum(bool(re.search(r"\bpip\b", line)) for line in code) == 1
    # Chromium and bubblewrap are installed only where they are missing, in one apt-get run
    assert "[ -x /usr/bin/chromium ] || missing+=(chromium)" in code
    assert "command -v bwrap >/dev/null || missing+=(bubblewrap)" in code
    assert 'if [ ${#missing[@]} -gt 0 ]; then' in code
    assert sum("apt-get install" in line for line in code) == 1
    assert any(line.endswith('apt-get install -y "${missing[@]}" </dev/null') for line in code)
