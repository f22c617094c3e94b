"""Memory and open widgets left behind by re-running a Dashboard cell.

Each "re-run" does what a learner's cell does when it runs again: build a
Dashboard on a trainer (the README's spirals setup), train one epoch with it,
and close it (which a re-run does automatically in JupyterLab). The table shows
the resident memory and the number of open ipywidgets after 0, 30 and 100
re-runs, and the growth per re-run. Run it against any version of the package:

    python tests/benchmarks/bench_rerun_memory.py
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
from pathlib import Path

import ipywidgets.widgets.widget as ipywidgets_registry
import torch

from widgets import Dashboard, Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_readme import readme_trainer


def open_widgets() -> int:
    """ipywidgets keeps every widget that is not closed in this registry (its own name for it)."""
    return len(ipywidgets_registry._instances)


def resident_mib() -> float:
    """This process's resident memory now (Linux: /proc), in MiB."""
    status = Path("/proc/self/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return kib / 1024


def rerun(trainer: Trainer, x: torch.Tensor, y: torch.Tensor) -> None:
    dashboard = Dashboard(trainer, x, y)
    trainer.run_epoch()
    dashboard.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[30, 100],
                        help="checkpoints in re-runs (default 30 100)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    trainer, x, y = readme_trainer()
    rerun(trainer, x, y)  # the first run loads and caches what every later one shares
    gc.collect()
    start_mib, start_widgets = resident_mib(), open_widgets()
    rows = [(0, start_mib, start_widgets)]
    done = 0
    for target in sorted(args.runs):
        while done < target:
            rerun(trainer, x, y)
            done += 1
        gc.collect()
        rows.append((done, resident_mib(), open_widgets()))
    print(
        f"{'re-runs':>8} {'RSS MiB':>9} {'+MiB':>7} {'open widgets':>13} {'+widgets':>9} {'MiB/run':>8} "
        f"{'widgets/run':>12}"
    )
    for runs, mib, count in rows:
        per_mib = (mib - start_mib) / runs if runs else 0.0
        per_widget = (count - start_widgets) / runs if runs else 0.0
        print(f"{runs:>8} {mib:>9.1f} {mib - start_mib:>+7.1f} {count:>13} {count - start_widgets:>+9} "
              f"{per_mib:>8.2f} {per_widget:>12.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.1f} MiB; package {sys.modules['widgets'].__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
