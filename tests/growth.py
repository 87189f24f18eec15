"""How a cost grows with its input's size, as a ratio of medians: no wall-clock limit (docs/hostile-input.md).

Work on inputs of sizes n and 8n (8n at the input's cap) is timed several times each, and the median of
8n is divided by the median of n (the sizes between are not timed: no ratio reads them). Linear work
(plus any fixed cost) gives at most 8; a quadratic one gives up to 64. The bound, 20, leaves a 2-core
machine shared with other test runs room for noise that a quadratic would still exceed threefold; a
ratio over it is measured again (twice at most) before it fails, as noise seldom repeats and a
quadratic always does.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

SIZE_STEPS = (1, 2, 4, 8)
MAX_GROWTH = 20.0  # of the cost, for 8 times the size
_REPEATS = 7
_ATTEMPTS = 3
R = TypeVar("R")


def sizes_up_to(cap: int) -> list[int]:
    """n, 2n, 4n, 8n with 8n = cap."""
    return [cap * step // 8 for step in SIZE_STEPS]


def _smallest_and_largest(make: Callable[[int], R], cap: int) -> tuple[R, R]:
    """The work at cap/8 and at `cap`: the two sizes the ratio divides."""
    sizes = sizes_up_to(cap)
    return make(sizes[0]), make(sizes[-1])


def _median_seconds(run: Callable[[], object], loops: int, repeats: int = _REPEATS) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def growth(make: Callable[[int], Callable[[], object]], cap: int, *, loops: int = 20) -> float:
    """The ratio of the median cost at `cap` to the median cost at cap/8: measured again when over
    MAX_GROWTH, the smallest of the attempts kept."""
    runs = _smallest_and_largest(make, cap)
    first_look = _first_look(runs[0], runs[-1], loops)
    if first_look > 3 * MAX_GROWTH:
        return first_look
    ratios = []
    for _ in range(_ATTEMPTS):
        with _collector_paused():
            for run in runs:
                run()  # warm: caches, imports, first-call costs
            medians = [_median_seconds(run, loops) for run in runs]
        ratios.append(medians[-1] / medians[0])
        if ratios[-1] <= MAX_GROWTH:
            break
    return min(ratios)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cycle collection while timing: its pauses would land on either size at random. Paused rather
    than run first: a full collection in a test worker whose heap earlier tests grew takes seconds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _first_look(smallest: Callable[[], object], largest: Callable[[], object], loops: int) -> float:
    """The growth from one run at the cap (the fastest of three) against `loops` runs at cap/8: a
    quadratic shows here at once, before repeated runs at its cap would take minutes."""
    smallest()
    per_call = _median_seconds(smallest, loops) / loops
    return min(_median_seconds(largest, 1, repeats=1) for _ in range(3)) / per_call if per_call else 0.0


async def _median_seconds_async(run: Callable[[], Awaitable[object]], repeats: int = _REPEATS) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def growth_async(make: Callable[[int], Callable[[], Awaitable[object]]], cap: int) -> float:
    """`growth` for whole requests: `make(size)` gives a coroutine function that sends one."""
    runs = _smallest_and_largest(make, cap)
    await runs[0]()
    smallest = await _median_seconds_async(runs[0])
    first_look = min([await _median_seconds_async(runs[-1], repeats=1) for _ in range(3)]) / smallest  # as `growth`
    if first_look > 3 * MAX_GROWTH:
        return first_look
    ratios = []
    for _ in range(_ATTEMPTS):
        with _collector_paused():
            for run in runs:
                await run()
            medians = [await _median_seconds_async(run) for run in runs]
        ratios.append(medians[-1] / medians[0])
        if ratios[-1] <= MAX_GROWTH:
            break
    return min(ratios)
