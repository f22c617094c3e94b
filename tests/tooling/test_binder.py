"""binder/: what mybinder.org builds from, checked offline against pyproject.toml and the README.

No machine here runs repo2docker, so these tests check what can be checked
without it: the pins, the files' shape, the launch URL.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from widgets.data import TORCHVISION_FOR_TORCH

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements(entries):
    return {canonicalize_name(r.name): r for r in map(Requirement, entries)}


def binder_lines():
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def binder_pins():
    """name -> (Requirement, pinned Version) for every requirement line."""
    pins = {}
    for line in binder_lines():
        if line.startswith("-"):
            continue
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{line!r} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = (requirement, Version(specifiers[0].version))
    return pins


def test_only_requirements_files_drive_the_build():
    # a Dockerfile or environment.yml would win over requirements.txt and runtime.txt
    names = {p.name for p in BINDER.iterdir()}
    assert {"requirements.txt", "runtime.txt", "postBuild", "start"} <= names
    assert not names & {"Dockerfile", "environment.yml", "environment.yaml"}


def test_option_lines_add_the_cpu_index_as_an_extra_index():
    options = [line for line in binder_lines() if line.startswith("-")]
    assert options == [f"--extra-index-url {CPU_INDEX}"]
    # a replacing index would hide ipywidgets and the rest of PyPI
    assert not any(re.match(r"(-i|--index-url)\b", line) for line in options)


def test_every_pin_satisfies_pyproject():
    project = pyproject()["project"]
    allowed = requirements(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        for name, requirement in requirements(extra).items():
            allowed.setdefault(name, requirement)
    checked = 0
    for name, (_requirement, version) in binder_pins().items():
        if name in allowed:
            assert allowed[name].specifier.contains(version, prereleases=True), (
                f"binder pins {name}=={version}, outside pyproject's {allowed[name]}"
            )
            checked += 1
    assert checked == len(binder_pins()), "binder pins a package pyproject does not ask for"


def test_every_runtime_dependency_is_pinned():
    runtime = requirements(pyproject()["project"]["dependencies"])
    missing = sorted(set(runtime) - set(binder_pins()))
    assert missing == [], f"pyproject's runtime dependencies not pinned in binder/requirements.txt: {missing}"


def test_torch_pair_is_a_matching_cpu_pair():
    pins = binder_pins()
    torch_version, vision_version = pins["torch"][1], pins["torchvision"][1]
    assert torch_version.local == "cpu" and vision_version.local == "cpu"
    torch_minor = f"{torch_version.major}.{torch_version.minor}"
    assert f"{vision_version.major}.{vision_version.minor}" == TORCHVISION_FOR_TORCH[torch_minor]
    # patch releases come in step too (torch 2.13.0 with torchvision 0.28.0)
    assert torch_version.micro == vision_version.micro


def test_ipykernel_is_newer_than_the_base_image():
    version = binder_pins()["ipykernel"][1]
    assert version >= Version("7.1"), f"ipykernel {version}: the base image's 7.0.1 crashes on widget threads"


def test_runtime_is_a_python_the_project_supports():
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"runtime.txt must read like 'python-3.11', got {text!r}"
    requires = pyproject()["project"]["requires-python"]
    assert Requirement(f"python{requires}").specifier.contains(match.group(1) + ".0")


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash(name):
    path = BINDER / name
    assert os.access(path, os.X_OK), f"binder/{name} is not executable"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n") or text.startswith("#!/usr/bin/env bash\n")
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_post_build_installs_the_package_without_resolving_again():
    commands = [line for line in (BINDER / "postBuild").read_text().splitlines() if "pip install" in line]
    assert len(commands) == 1
    words = commands[0].split()
    # "." is the repository: repo2docker runs postBuild from its root
    assert "--no-deps" in words and words[-1] == "."


def test_start_sets_one_thread_and_hands_over():
    lines = [line.strip() for line in (BINDER / "start").read_text().splitlines()]
    code = [line for line in lines if line and not line.startswith("#")]
    assert "export OMP_NUM_THREADS=1" in code
    assert code[-1] == 'exec "$@"'
    # it really hands over: the launch command runs with the thread setting
    result = subprocess.run(["bash", str(BINDER / "start"), "bash", "-c", "echo $OMP_NUM_THREADS"],
                            capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert result.stdout.strip() == "1"


def binder_links():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"\[!\[[^\]]*\]\((https://mybinder\.org/badge_logo\.svg)\)\]\(([^)\s]+)\)", readme)


def test_readme_badge_opens_a_notebook_that_exists():
    links = binder_links()
    assert len(links) == 1, f"README.md must hold one Binder badge, found {len(links)}"
    url = urlsplit(links[0][1])
    assert (url.scheme, url.netloc) == ("https", "mybinder.org")
    parts = url.path.strip("/").split("/")
    assert parts[:2] == ["v2", "gh"] and len(parts) == 5 and parts[4] == "HEAD", url.path
    assert parts[2:4] == ["livetorch", "livetorch"]
    query = parse_qs(url.query)
    assert list(query) == ["urlpath"] and len(query["urlpath"]) == 1
    urlpath = query["urlpath"][0]
    assert urlpath.startswith("lab/tree/"), urlpath
    notebook = ROOT / urlpath[len("lab/tree/"):]
    assert notebook.suffix == ".ipynb"
    assert notebook.is_file(), f"the Binder badge opens {notebook.relative_to(ROOT)}, which does not exist"
    assert json.loads(notebook.read_text())["nbformat"] == 4
