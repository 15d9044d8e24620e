"""The scan queue: bounded concurrency, in-flight dedupe, retries with exponential backoff, and
priorities: images never scanned come first, rescans (a new scanner) next, retries last, so a
churning cluster or a failing registry never starves the images that have no report at all."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
BASE_DELAY, MAX_DELAY = 30.0, 3600.0
NEW, RESCAN, RETRY = 0, 1, 2  # priorities, lowest first


class ScanQueue:
    """`scan(name)` returns None when done, or the delay before the next attempt."""

    def __init__(self, scan: Callable[[str], Awaitable[float | None]], concurrency: int, metrics=None):  # noqa: ANN001
        self._scan = scan
        self._concurrency = concurrency
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue()
        self._seq = 0  # first come, first served within a priority
        self._queued: set[str] = set()  # waiting or running: submitting again is a no-op
        self._attempts: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._metrics = metrics

    def submit(self, name: str, priority: int = NEW) -> bool:
        if name in self._queued:
            return False
        self._queued.add(name)
        self._seq += 1
        self._queue.put_nowait((priority, self._seq, name))
        self._depth()
        return True

    def queued(self, name: str) -> bool:
        return name in self._queued

    def due(self, name: str) -> bool:
        return time.monotonic() >= self._not_before.get(name, 0.0)

    def attempts(self, name: str) -> int:
        return self._attempts.get(name, 0)

    def backoff(self, name: str) -> float:
        attempt = self._attempts.get(name, 0) + 1
        self._attempts[name] = attempt
        delay = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
        self._not_before[name] = time.monotonic() + delay
        return delay

    def _depth(self) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth.set(len(self._queued))

    async def run(self, ready: asyncio.Event | None = None) -> None:
        if ready is not None:
            await ready.wait()  # no scan before there is a vulnerability database
        workers = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()

    async def _worker(self) -> None:
        while True:
            _, _, name = await self._queue.get()
            try:
                retry = await self._scan(name)
            except Exception as exc:  # a bug in one scan must not stop the worker
                log.exception("scan of %s crashed: %s", name, exc)
                retry = self.backoff(name)
            finally:
                self._queued.discard(name)
                self._depth()
            if retry is None:
                self._attempts.pop(name, None)
                self._not_before.pop(name, None)
            else:
                asyncio.get_running_loop().call_later(retry, self.submit, name, RETRY)
