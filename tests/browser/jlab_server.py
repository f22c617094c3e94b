"""A `jupyter lab` (or Notebook 7) server in throw-away directories, for the browser tests.

The server listens on 127.0.0.1 only, with a random token, and keeps its root,
settings, workspaces, config, runtime files and log under one temporary folder.
The UI is quietened (no news, no update check, no build prompt, no notebook
windowing) so that nothing pops up over the notebooks under test.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# User settings written for this server only: plugin id -> values.
QUIET_SETTINGS: dict[str, dict] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    # Every cell stays in the DOM, so outputs far down a lesson can be checked.
    "@jupyterlab/notebook-extension:tracker": {
        "windowingMode": "none",
        "codeCellConfig": {"cursorBlinkRate": 0},
    },
    "@jupyterlab/apputils-extension:sessionDialogs": {"skipKernelRestartDialog": True},
}


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running `jupyter lab`: where it listens, its root folder and its log."""

    base: Path
    url: str
    token: str
    proc: subprocess.Popen
    log_path: Path
    started_in: float = 0.0
    _log_file: object = field(default=None, repr=False)

    @property
    def root(self) -> Path:
        """The folder the server serves; notebooks under test are copied here."""
        return self.base / "root"

    def api(self, path: str, method: str = "GET") -> object:
        """Call the server's REST API and return the decoded JSON (None when empty)."""
        data = b"" if method != "GET" else None
        request = urllib.request.Request(f"{self.url}{path}?token={self.token}", method=method, data=data)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stop(self) -> None:
        """Ask the server to shut down (it stops its kernels), then end its own process if needed."""
        try:
            self.api("/api/shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()


# The two front ends this helper starts: their Python module and the config class
# of their page (settings and workspace folders, the app exposed as window.jupyterapp).
FRONT_ENDS = {"lab": ("jupyterlab", "LabApp"), "notebook": ("notebook", "JupyterNotebookApp")}


def start_lab_server(base: Path, extra_env: dict[str, str] | None = None, timeout: float = 90.0,
                     front_end: str = "lab") -> LabServer:
    """Start `jupyter lab` (or, with `front_end="notebook"`, Notebook 7) with everything it writes under
    `base`.

    Returns once the server answers. Both front ends get the same quiet
    settings, folders and token; Notebook 7 serves /tree and /notebooks/<path>.
    """
    if front_end not in FRONT_ENDS:
        raise ValueError(f"front_end must be one of {sorted(FRONT_ENDS)}, got {front_end!r}")
    module, app_class = FRONT_ENDS[front_end]
    began = time.perf_counter()
    root = base / "root"
    config_dir = base / "config"
    settings_dir = base / "user-settings"
    workspaces_dir = base / "workspaces"
    for folder in (root, config_dir, settings_dir, workspaces_dir):
        folder.mkdir(parents=True, exist_ok=True)
    _write_json(config_dir / "labconfig" / "page_config.json", {"buildCheck": False, "buildAvailable": False})
    for plugin_id, values in QUIET_SETTINGS.items():
        package, plugin = plugin_id.split(":")
        _write_json(settings_dir / package / f"{plugin}.jupyterlab-settings", values)

    env = dict(os.environ)
    # The test process forces matplotlib's Agg backend; learners' kernels use the inline one.
    env.pop("MPLBACKEND", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
    )
    env.update(extra_env or {})

    port = _free_port()
    token = secrets.token_hex(16)
    command = [
        sys.executable, "-m", module,
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        f"--{app_class}.expose_app_in_browser=True",
        f"--{app_class}.workspaces_dir={workspaces_dir}",
        f"--{app_class}.user_settings_dir={settings_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if app_class != "LabApp":
        # JupyterLab's extension loads beside Notebook 7 too: its folders go under `base` as well
        command += [f"--LabApp.workspaces_dir={workspaces_dir}", f"--LabApp.user_settings_dir={settings_dir}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")

    log_path = base / "jupyter-server.log"
    log_file = open(log_path, "w")  # noqa: SIM115 - kept open for the server's life, closed in LabServer.stop
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(base=base, url=f"http://127.0.0.1:{port}", token=token, proc=proc,
                       log_path=log_path, _log_file=log_file)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log_file.close()
            raise RuntimeError(f"{module} exited with code {proc.returncode}; log: {log_path}")
        try:
            server.api("/api/status")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"{module} did not answer within {timeout:.0f} s; log: {log_path}")
        time.sleep(0.2)  # polling interval while the server boots
    server.started_in = time.perf_counter() - began
    return server
