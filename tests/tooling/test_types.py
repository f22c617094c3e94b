"""The package and the scripts type-check under the project's mypy configuration ([tool.mypy]).

A cold mypy run reads the stubs of torch, numpy and matplotlib: about 40 s of CPU. Its cache lives in the
system's temporary folder (one per checkout), so later runs take about a second; mypy checks every cached
file against its source, so a stale cache cannot hide an error.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
CACHE_DIR = Path(tempfile.gettempdir()) / "livetorch-mypy" / CHECKOUT


def run_mypy(*arguments: str) -> subprocess.CompletedProcess[str]:
    """mypy with the project's configuration, from the repository root."""
    command = [sys.executable, "-m", "mypy", "--config-file", str(REPO_ROOT / "pyproject.toml"),
               "--cache-dir", str(CACHE_DIR), *arguments]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert "No module named mypy" not in result.stderr, "mypy is not installed: pip install -e '.[dev]'"
    return result


def test_widgets_and_scripts_type_check():
    result = run_mypy()  # the files come from [tool.mypy] files: widgets/ and scripts/
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}{result.stderr}"
    assert "no issues found" in result.stdout


def test_the_configured_strictness_catches_what_it_promises(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def half_typed(count: int, name):\n    return name * count\n\ndef untyped(values):\n    total: int "
        "= 'none'\n    return total\n\ndef maybe(text: str | None) -> int:\n    return len(text)\n"
    )
    result = run_mypy(str(sample))
    assert result.returncode == 1, result.stdout + result.stderr
    found = result.stdout
    # disallow_incomplete_defs: a function with some hints must have them all
    assert "sample.py:1: error: Function is missing a type annotation for one or more parameters" in found
    # check_untyped_defs: the body of a function without hints is checked too
    assert ('sample.py:5: error: Incompatible types in assignment (expression has type "str", '
            'variable has type "int")') in found
    # strict optional: None is not a str
    assert 'sample.py:9: error: Argument 1 to "len" has incompatible type "str | None"' in found
