"""The layer workers: results in the order given whatever finishes first, the first error raised
once the workers are done, and nothing taken after it."""

from __future__ import annotations

import threading
import time

import pytest
from layerwatch_scanner.inventory import in_threads


def test_results_in_order_and_parallel() -> None:
    seen: set[str] = set()

    def slow_first(n: int) -> int:
        seen.add(threading.current_thread().name)
        time.sleep(0.05 if n == 0 else 0.0)
        return n * n

    assert list(in_threads(slow_first, [0, 1, 2, 3, 4], 2)) == [0, 1, 4, 9, 16]
    assert len(seen) == 2


def test_the_first_error_stops_the_rest() -> None:
    taken: list[int] = []

    def fail_at_one(n: int) -> int:
        taken.append(n)
        if n == 1:
            raise ValueError("layer 1 is corrupt")
        time.sleep(0.01)
        return n

    got = []
    with pytest.raises(ValueError, match="layer 1 is corrupt"):
        for value in in_threads(fail_at_one, list(range(20)), 1):
            got.append(value)
    assert got == [0] and taken == [0, 1]
