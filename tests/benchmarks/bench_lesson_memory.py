"""Peak memory and CPU time of each lesson's kernel: what one student costs on a shared server.

Every lesson in `course/` that exists when it runs (`NN_*.ipynb`) runs top to
bottom in a fresh `python3` kernel, with the course's settings
(`scripts/execute_course.py`: one OpenMP thread, the offline MNIST sample,
matplotlib's inline backend). After its last cell, one more cell asks the
kernel for its own figures: the peak resident memory (VmHWM in
/proc/self/status, Linux), the resident memory at the end, the part of it that
is the kernel's own (private pages in /proc/self/smaps_rollup: what a second
student's kernel adds, since the libraries' pages are shared) and the CPU
seconds it used. A first cell, added before the lesson's, starts a thread that
every 0.1 s adds up the memory of the kernel and every process it started
(DataLoader workers and the like): the kernel's resident memory plus each other
process's private pages (a forked worker shares the kernel's pages until it
writes them, so its shared pages are already counted once in the kernel's). The
peak of that sum is the lesson's whole cost in a per-student container, shown
with the plain sum of every process's RSS (which counts shared pages once per
process) and the most processes seen at once. The lessons are never
written back. Run it with

    python tests/benchmarks/bench_lesson_memory.py [course/04_spirals_mlp.ipynb ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_course import KERNELSPEC, kernel_environment, lesson_paths
from timing import print_table

MARK = "lesson-memory:"
# Run first: sample the kernel's whole process tree (the kernel and its descendants) every 0.1 s.
SAMPLER = """
import os as _os, threading as _threading, time as _time
_tree = {"whole_kib": 0, "rss_kib": 0, "processes": 1}
def _sample_tree(root=_os.getpid()):
    while True:
        parents = {}
        for entry in _os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parents[int(entry)] = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        tree, grew = {root}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        whole = rss = 0
        for pid in tree:
            try:
                text = open(f"/proc/{pid}/smaps_rollup").read()
                rollup = dict(line.split(":", 1) for line in text.splitlines()[1:])
            except OSError:
                continue
            own = int(rollup["Private_Clean"].split()[0]) + int(rollup["Private_Dirty"].split()[0])
            whole += int(rollup["Rss"].split()[0]) if pid == root else own
            rss += int(rollup["Rss"].split()[0])
        _tree["whole_kib"] = max(_tree["whole_kib"], whole)
        _tree["rss_kib"] = max(_tree["rss_kib"], rss)
        _tree["processes"] = max(_tree["processes"], len(tree))
        _time.sleep(0.1)
_threading.Thread(target=_sample_tree, daemon=True).start()
"""
# Run in the lesson's kernel after its last cell: its own peak and current resident memory, the part of
# it no other process shares (KiB; shared libraries such as torch's are shared by every kernel) and CPU
# seconds.
PROBE = f'''
import json as _json, resource as _resource
_status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
_rollup = dict(line.split(":", 1) for line in open("/proc/self/smaps_rollup").read().splitlines()[1:])
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
print("{MARK}" + _json.dumps({{"peak_kib": int(_status["VmHWM"].split()[0]),
                               "end_kib": int(_status["VmRSS"].split()[0]),
                               "private_kib": sum(int(_rollup[k].split()[0])
                                                  for k in ("Private_Clean", "Private_Dirty")),
                               "cpu_s": _usage.ru_utime + _usage.ru_stime, "tree": _tree}}))
'''


@dataclass(frozen=True)
class LessonCost:
    """What one lesson's kernel used: wall and CPU seconds; peak, final and final private resident memory
    (MiB)."""

    lesson: str
    wall_s: float
    cpu_s: float
    peak_mib: float
    end_mib: float
    private_mib: float
    tree_mib: float = 0.0
    tree_rss_mib: float = 0.0
    processes: int = 1


def measure(path: Path, cell_timeout: int = 600) -> LessonCost:
    """Run one lesson in a fresh kernel (the file stays as it is) and return what its kernel used."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(SAMPLER))
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
    runner = ExecutePreprocessor(timeout=cell_timeout, kernel_name=KERNELSPEC["name"], record_timing=False)
    began = time.perf_counter()
    with kernel_environment():
        runner.preprocess(notebook, {"metadata": {"path": str(path.parent)}})
    wall = time.perf_counter() - began
    outputs = notebook.cells[-1].outputs
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    line = next((row for row in printed.splitlines() if row.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"{path.name}: the memory probe printed no figures, got {printed!r}")
    figures = json.loads(line[len(MARK):])
    tree = figures["tree"]
    return LessonCost(path.stem, wall, figures["cpu_s"], figures["peak_kib"] / 1024,
                      figures["end_kib"] / 1024,
                      figures["private_kib"] / 1024, tree["whole_kib"] / 1024, tree["rss_kib"] / 1024,
                      tree["processes"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="lessons in course/ (default: every lesson there)")
    args = parser.parse_args(argv)
    try:
        paths = lesson_paths(args.notebooks)
    except ValueError as error:
        parser.error(str(error))
    costs = []
    for path in paths:
        print(f"{path.name} ...", flush=True)
        costs.append(measure(path))
    rows = [(c.lesson, f"{c.wall_s:.0f}", f"{c.cpu_s:.0f}", f"{c.peak_mib:.0f}", f"{c.end_mib:.0f}",
             f"{c.private_mib:.0f}",
             f"{c.tree_mib:.0f}", f"{c.tree_rss_mib:.0f}", str(c.processes)) for c in costs]
    print_table("Each lesson in a fresh kernel (OMP_NUM_THREADS=1, offline MNIST sample)",
                ["lesson", "wall s", "kernel CPU s", "peak RSS MiB", "RSS at end MiB", "private at end MiB",
                 "peak with workers MiB", "sum of RSS MiB", "processes"], rows)
    heaviest = max(costs, key=lambda c: c.tree_mib)
    print(f"\nhighest peak with workers: {heaviest.tree_mib:.0f} MiB ({heaviest.lesson}); "
          f"all lessons: {sum(c.cpu_s for c in costs):.0f} kernel CPU s in "
          f"{sum(c.wall_s for c in costs):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
