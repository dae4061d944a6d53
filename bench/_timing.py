"""Median-of-batches timing: each batch times many calls, the median batch wins.

A batch is a function ``run(n) -> elapsed_ns`` that does ``n`` units of work and times only the
part that counts (inputs it needs are made before its clock starts). ``per_call_ns`` sizes the
batch so one takes about ``batch_ms``, runs one warm-up batch, then ``batches`` timed ones, and
returns the median batch's nanoseconds per call. The median shrugs off a GC pause or a noisy
neighbour in one batch; there are no timed assertions anywhere, only numbers to read.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

Batch = Callable[[int], int]


@dataclass(frozen=True)
class Timing:
    """One measured row."""

    ns: float
    """Median nanoseconds per call."""
    spread: float
    """(slowest - fastest batch) / median, a rough noise figure."""
    calls: int
    """Calls per batch."""


def per_call_ns(
    run: Batch, *, batches: int = 15, batch_ms: float = 25.0, max_calls: int = 200_000
) -> Timing:
    """Time ``run`` in ``batches`` batches of a calibrated size; median ns per call."""
    n = 1
    while n < max_calls:  # calibrate: grow n until a batch takes a tenth of the target
        if run(n) >= batch_ms * 1e5:
            break
        n *= 4
    calls = max(1, min(max_calls, int(n * batch_ms * 1e6 / max(run(n), 1))))
    run(calls)  # warm-up at full size
    per_call = sorted(_no_gc(run, calls) / calls for _ in range(batches))
    median = statistics.median(per_call)
    return Timing(median, (per_call[-1] - per_call[0]) / median, calls)


def _no_gc(run: Batch, n: int) -> int:
    """One batch with the cyclic garbage collector paused (as ``timeit`` does)."""
    gc.collect()
    gc.disable()
    try:
        return run(n)
    finally:
        gc.enable()


def calls(fn: Callable[[], Any]) -> Batch:
    """A batch that calls ``fn()`` ``n`` times."""

    def run(n: int) -> int:
        loop = range(n)
        start = perf_counter_ns()
        for _ in loop:
            fn()
        return perf_counter_ns() - start

    return run


def fresh_calls(make: Callable[[], Any], fn: Callable[[Any], Any]) -> Batch:
    """A batch that calls ``fn(x)`` on ``n`` fresh inputs from ``make()``, made untimed."""

    def run(n: int) -> int:
        inputs = [make() for _ in range(n)]
        start = perf_counter_ns()
        for x in inputs:
            fn(x)
        return perf_counter_ns() - start

    return run


def awaits(fn: Callable[[], Awaitable[Any]], loop: asyncio.AbstractEventLoop) -> Batch:
    """A batch that awaits ``fn()`` ``n`` times inside one running event loop.

    The loop is entered once per batch, so its start-up cost is spread over ``n`` awaits.
    """

    async def many(n: int) -> int:
        start = perf_counter_ns()
        for _ in range(n):
            await fn()
        return perf_counter_ns() - start

    def run(n: int) -> int:
        return loop.run_until_complete(many(n))

    return run


def counter(start: int = 0) -> Iterator[int]:
    """0, 1, 2, ... forever: unique suffixes for generated names."""
    n = start
    while True:
        yield n
        n += 1
