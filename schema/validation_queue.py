"""The queue of new documents waiting for the one validating thread (docs/hostile-input.md, "Fair
validation"): callers with a verified token go first, and anonymous work waits behind them, at most
ANONYMOUS_WAITING_MAX of it at once. Past that an anonymous document is refused at once with a
retryable error, so that a flood of costly new documents from anonymous clients delays each other,
never a signed-in caller's, and never piles up without bound. Known documents never reach the queue
(schema.prepared_documents answers them from its cache).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

# Anonymous documents that may wait at once: enough for a burst of a page's frontends, few enough that
# the last waits at most this many budgets.
ANONYMOUS_WAITING_MAX = 8
# How long the validating thread waits for work before it ends; the next new document starts another.
# A schema that stops being used (a test's app, a replaced app) then leaves no thread behind.
IDLE_SECONDS = 30.0
_AUTHENTICATED, _ANONYMOUS = 0, 1


class ValidationQueue:
    """One worker thread (the GIL makes more compete with the event loop), two priorities."""

    def __init__(self, anonymous_waiting_max: int = ANONYMOUS_WAITING_MAX, idle_seconds: float = IDLE_SECONDS) -> None:
        self.anonymous_waiting_max = anonymous_waiting_max
        self.idle_seconds = idle_seconds
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any], Future[Any]]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._anonymous_waiting = 0
        self._worker: threading.Thread | None = None

    def submit(self, work: Callable[[], T], *, authenticated: bool) -> Future[T] | None:
        """`work`'s future, run after every signed-in caller's work queued before it (and, for an
        anonymous caller, after all work queued before it); None when anonymous work is full."""
        with self._lock:
            if not authenticated:
                if self._anonymous_waiting >= self.anonymous_waiting_max:
                    return None
                self._anonymous_waiting += 1
            future: Future[T] = Future()
            # Queued under the lock the worker ends under: work is never left behind a thread that ended.
            self._queue.put((_AUTHENTICATED if authenticated else _ANONYMOUS, next(self._order), work, future))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="graphql-prepare", daemon=True)
                self._worker.start()
        return future

    def wait_idle(self) -> None:
        """Block until the work queued so far is done (tests, and an orderly shutdown)."""
        self._queue.join()

    @property
    def has_thread(self) -> bool:
        """Whether the validating thread is running (it ends after `idle_seconds` without work)."""
        with self._lock:
            return self._worker is not None

    def _run(self) -> None:
        while True:
            try:
                priority, _, work, future = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._worker = None
                        return
                continue
            try:
                if priority == _ANONYMOUS:
                    with self._lock:
                        self._anonymous_waiting -= 1
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(work())
                    except BaseException as failure:  # noqa: BLE001 (handed to the waiting request)
                        future.set_exception(failure)
            finally:
                self._queue.task_done()
