"""Download one feed file: http(s) with conditional GET, or file:// (also a directory)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from .. import __version__
from ..errors import FeedError
from ..interfaces import Progress
from ..registry import neterrors

MAX_FEED_BYTES = 4 * 1024**3


@dataclass
class Fetched:
    path: Path | None  # None when not modified (304) or missing (404 on an optional file)
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    missing: bool = False
    size: int = 0  # bytes downloaded


def fetch(url: str, dest: Path, client: httpx.Client | None = None, etag: str = "", last_modified: str = "",
          progress: Progress | None = None, what: str = "") -> Fetched:
    what = what or url
    parts = urlsplit(url)
    if parts.scheme == "file":
        source = Path(unquote(parts.path))
        if not source.exists():
            return Fetched(None, missing=True)
        return Fetched(source)  # read in place: a file or a directory of records
    if parts.scheme not in ("http", "https"):
        raise FeedError(f"{what}: unsupported URL scheme {parts.scheme!r} (use https://, http:// or file://)")
    headers = {"User-Agent": f"layerwatch/{__version__}"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own = client is None
    client = client or httpx.Client(timeout=120, follow_redirects=True)
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(None, etag=etag, last_modified=last_modified, not_modified=True)
            if response.status_code == 404:
                return Fetched(None, missing=True)
            if response.status_code != 200:
                raise FeedError(f"{what}: {url} answered HTTP {response.status_code}")
            total = int(response.headers.get("content-length") or 0) or None
            done = 0
            with open(dest, "wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    done += len(chunk)
                    if done > MAX_FEED_BYTES:
                        raise FeedError(f"{what}: {url} is larger than {MAX_FEED_BYTES} bytes")
                    out.write(chunk)
                    if progress:
                        progress(what, done, total)
            return Fetched(dest, etag=response.headers.get("etag", ""),
                           last_modified=response.headers.get("last-modified", ""), size=done)
    except httpx.HTTPError as exc:
        raise FeedError(f"{what}: download of {url} failed: {neterrors.describe(exc, urlsplit(url).netloc)}") from exc
    finally:
        if own:
            client.close()


def copy_to(path: Path, dest: Path) -> Path:
    if path.is_dir():
        shutil.copytree(path, dest)
    else:
        shutil.copy(path, dest)
    return dest
