"""A file-like reader over a producer of chunks, without quadratic re-slicing.

Decompressors and HTTP bodies hand out data in chunks of their own size; the tar reader
asks for 10 KiB at a time. Keeping an offset into the current chunk (instead of re-slicing a
growing buffer) keeps every byte copied once.
"""

from __future__ import annotations

from collections.abc import Callable


class ChunkReader:
    def __init__(self, next_chunk: Callable[[], bytes]):
        self._next = next_chunk  # returns b"" at the end
        self._chunk = b""
        self._pos = 0
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._chunk[self._pos:]]
            self._chunk, self._pos = b"", 0
            while not self._eof:
                chunk = self._next()
                if not chunk:
                    self._eof = True
                    break
                parts.append(chunk)
            return b"".join(parts)
        available = len(self._chunk) - self._pos
        if available >= n:  # the common case: served from the current chunk
            data = self._chunk[self._pos:self._pos + n]
            self._pos += n
            return data
        parts = [self._chunk[self._pos:]] if available else []
        wanted = n - available
        self._chunk, self._pos = b"", 0
        while wanted > 0 and not self._eof:
            chunk = self._next()
            if not chunk:
                self._eof = True
                break
            if len(chunk) <= wanted:
                parts.append(chunk)
                wanted -= len(chunk)
            else:
                parts.append(chunk[:wanted])
                self._chunk, self._pos = chunk, wanted
                wanted = 0
        return b"".join(parts)

    def skip(self, n: int) -> bool:
        """Discard n bytes without copying them; False if the stream ends first."""
        available = len(self._chunk) - self._pos
        if n <= available:
            self._pos += n
            return True
        n -= available
        self._chunk, self._pos = b"", 0
        while n > 0:
            if self._eof:
                return False
            chunk = self._next()
            if not chunk:
                self._eof = True
                return False
            if len(chunk) > n:
                self._chunk, self._pos = chunk, n
                return True
            n -= len(chunk)
        return True

    def readable(self) -> bool:
        return True
