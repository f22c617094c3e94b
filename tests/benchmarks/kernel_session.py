"""A real ipykernel for the benchmarks: code runs where a learner's runs, and its messages really leave.

Views send through the kernel's comm and IOPub thread; timing them outside a
kernel would leave out the serialization and the GIL hand-over that a learner
pays for. `KernelSession.run(code)` executes code and returns what it printed;
a thread drains IOPub meanwhile and counts the widget messages that arrive,
with their time of arrival, as a front end would receive them.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time

from jupyter_client.manager import start_new_kernel


class KernelSession:
    """One kernel started for a benchmark; stop it with `close()` (or use it as a context manager)."""

    def __init__(self) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", LIVETORCH_OFFLINE="1")
        self.manager, self.client = start_new_kernel(kernel_name="python3", env=env)
        self.arrivals: list[tuple[float, str]] = []  # (perf_counter, comm id) of each custom widget message
        self._outputs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._drain = threading.Thread(target=self._read_iopub, daemon=True)
        self._drain.start()

    def _read_iopub(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            kind = message["msg_type"]
            content = message["content"]
            if kind == "comm_msg" and content.get("data", {}).get("method") == "custom":
                self.arrivals.append((time.perf_counter(), content["comm_id"]))
            elif kind == "stream":
                self._outputs.put((message["parent_header"].get("msg_id"), content["text"]))
            elif kind == "error":
                self._outputs.put((message["parent_header"].get("msg_id"), "\n".join(content["traceback"])))

    def run(self, code: str, timeout: float = 600) -> str:
        """Execute `code` and return everything it printed (errors raise RuntimeError)."""
        msg_id = self.client.execute(code)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        time.sleep(0.2)  # the last stream messages trail the reply on IOPub
        printed = []
        while not self._outputs.empty():
            parent, text = self._outputs.get()
            if parent == msg_id:
                printed.append(text)
        text = "".join(printed)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the benchmark's kernel code failed:\n{text}")
        return text

    def run_json(self, code: str, timeout: float = 600) -> object:
        """Execute `code`, whose last printed line is JSON, and return that value."""
        lines = [line for line in self.run(code, timeout).splitlines() if line.strip()]
        return json.loads(lines[-1])

    def close(self) -> None:
        self._stop.set()
        self._drain.join(timeout=2)
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
