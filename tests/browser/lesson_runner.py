"""Runs the lessons two at a time: while one is checked, the next already runs in a second tab.

Lessons spend most of their time training in their kernels, so overlapping
one lesson's run with the previous one's checks shortens the suite without
changing what each test sees: every lesson still runs alone in its own
notebook, kernel and JupyterLab tab, from a fresh copy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab_page import LabApp, NotebookPage
from notebook_files import fresh_copy


class LessonRunner:
    """Hands out lessons already opened and running, and starts the next one in a free tab."""

    def __init__(self, first_app: LabApp, make_app: Callable[[], LabApp], order: list[Path], copy_dir: Path,
                 copy_prefix: str, tabs: int = 2) -> None:
        self._apps = [first_app]
        self._tabs = tabs
        self._make_app = make_app
        self._order = list(order)
        self._copy_dir = copy_dir
        self._copy_prefix = copy_prefix
        self._started: dict[str, NotebookPage] = {}
        self._busy: set[int] = set()  # ids of apps holding an open notebook
        self.extra_apps: list[LabApp] = []

    def _free_app(self, may_create: bool) -> LabApp | None:
        for app in self._apps:
            if id(app) not in self._busy:
                return app
        if not may_create:
            return None
        app = self._make_app()
        self._apps.append(app)
        self.extra_apps.append(app)
        return app

    def _start(self, lesson: Path, app: LabApp) -> NotebookPage:
        fresh_copy(lesson, self._copy_dir / lesson.name)
        notebook = NotebookPage(app, f"{self._copy_prefix}/{lesson.name}")
        self._busy.add(id(app))
        try:
            notebook.open()
            notebook.start_run_all()
        except BaseException:
            self.release(notebook)
            raise
        return notebook

    def take(self, lesson: Path) -> NotebookPage:
        """The lesson opened and running (the caller checks it and then calls `release`); the next one
        starts."""
        notebook = self._started.pop(lesson.name, None)
        if notebook is None:
            notebook = self._start(lesson, self._free_app(may_create=True))
        self._prefetch_after(lesson)
        return notebook

    def _prefetch_after(self, lesson: Path) -> None:
        names = [path.name for path in self._order]
        if lesson.name not in names:
            return
        following = names.index(lesson.name) + 1
        if following >= len(names) or names[following] in self._started:
            return
        app = self._free_app(may_create=len(self._apps) < self._tabs)
        if app is None:
            return
        try:
            self._started[names[following]] = self._start(self._order[following], app)
        except Exception as error:  # that lesson's own test starts it again and reports the failure
            print(f"\n[runner] could not start {names[following]} ahead: {error}")

    def release(self, notebook: NotebookPage) -> None:
        """Close the notebook (kernel shut down) and free its tab."""
        try:
            notebook.close()
        finally:
            self._busy.discard(id(notebook.app))

    def close(self) -> None:
        """Close lessons started ahead that no test took, and the tabs this runner opened."""
        for notebook in self._started.values():
            self.release(notebook)
        self._started.clear()
        for app in self.extra_apps:
            app.close()
