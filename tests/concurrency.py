"""Run blocking calls at the same instant on threads (races against the real backend)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def race(*calls: Callable[[], object], tolerated: tuple[type[BaseException], ...] = ()) -> None:
    """Start every call together (a barrier) and wait for all; an exception not `tolerated` fails."""
    barrier = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except tolerated:
            pass
        except BaseException as failure:  # noqa: BLE001 (reported to the test below)
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
