"""The views' worker thread: newest job per owner, settle, failures reported without killing the thread."""

from __future__ import annotations

import threading

import pytest

from widgets.views.worker import Worker


def test_jobs_run_on_the_worker_thread_and_settle_waits_for_them():
    worker = Worker(name="test-worker")
    owner = object()
    ran = []
    release = threading.Event()
    worker.submit(owner, lambda: (release.wait(5), ran.append(threading.current_thread().name)))
    assert worker.busy(owner)
    assert not worker.settle(owner, timeout=0.05)  # still running
    release.set()
    assert worker.settle(owner) and ran == ["test-worker"] and not worker.busy(owner)


def test_a_newer_job_replaces_the_owners_job_that_has_not_started():
    worker = Worker()
    first, second = object(), object()
    gate, ran = threading.Event(), []
    worker.submit(first, lambda: (gate.wait(5), ran.append("first, started")))
    worker.settle(second)  # nothing queued for it: returns at once
    for n in range(5):
        worker.submit(second, lambda n=n: ran.append(f"second {n}"))
    gate.set()
    assert worker.settle(first) and worker.settle(second)
    assert ran == ["first, started", "second 4"]


def test_a_failing_job_is_reported_and_the_next_one_runs():
    worker = Worker()
    owner = object()
    ran = []
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError"):
        worker.submit(owner, lambda: 1 / 0)
        worker.settle(owner)
    worker.submit(owner, lambda: ran.append(1))
    assert worker.settle(owner) and ran == [1]


def test_settle_inside_a_job_does_not_wait_for_itself():
    worker = Worker()
    owner = object()
    answers = []
    worker.submit(owner, lambda: answers.append(worker.settle(owner, timeout=1)))
    assert worker.settle(owner) and answers == [True]


def test_cancel_drops_the_job_that_has_not_started():
    worker = Worker()
    first, second = object(), object()
    gate, ran = threading.Event(), []
    worker.submit(first, lambda: gate.wait(5))
    worker.submit(second, lambda: ran.append("second"))
    worker.cancel(second)
    gate.set()
    assert worker.settle(first) and worker.settle(second) and ran == []
