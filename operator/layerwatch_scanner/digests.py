"""Content digests: parse them and verify blobs while they stream."""

from __future__ import annotations

import hashlib
import re
from typing import IO

from .errors import DigestMismatchError, LayerwatchError

_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$")


def parse_digest(digest: str) -> tuple[str, str]:
    """("sha256", "<hex>") or LayerwatchError naming the bad value."""
    m = _DIGEST.match(digest or "")
    if not m or len(m.group(2)) != hashlib.new(m.group(1)).digest_size * 2:
        raise LayerwatchError(f"invalid digest {digest!r}: expected sha256:<64 hex digits>")
    return m.group(1), m.group(2)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class VerifyingReader:
    """File-like wrapper that hashes what passes through and checks the digest at EOF.

    `what` names the blob in the error ("layer sha256:… of docker.io/library/nginx:1.25").
    """

    def __init__(self, raw: IO[bytes], expected: str, what: str, expected_size: int | None = None):
        algo, self._hex = parse_digest(expected)
        self._raw = raw
        self._hash = hashlib.new(algo)
        self._expected = expected
        self._what = what
        self._expected_size = expected_size
        self.bytes_read = 0
        self._verified = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk = self._raw.read(n)
        if chunk:
            self._hash.update(chunk)
            self.bytes_read += len(chunk)
            if self._expected_size is not None and self.bytes_read > self._expected_size:
                raise DigestMismatchError(
                    f"{self._what}: more data than the {self._expected_size} bytes the manifest declares"
                )
        if not chunk or (n is not None and n < 0):
            self._check()
        return chunk

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        if self._verified:
            return
        actual = self._hash.hexdigest()
        if actual != self._hex:
            raise DigestMismatchError(
                f"{self._what}: content digest {self._hash.name}:{actual} does not match {self._expected}"
            )
        self._verified = True

    def drain(self) -> None:
        """Read to EOF (e.g. past a tar end-of-archive marker) so the digest is checked."""
        while self.read(1 << 20):
            pass
        self._check()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
