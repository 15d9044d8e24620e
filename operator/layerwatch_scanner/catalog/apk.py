"""apk: Alpine's `/lib/apk/db/installed` (also Wolfi/Chainguard).

Hand-written: the format is single-letter "K:value" lines in blank-line separated records
(https://wiki.alpinelinux.org/wiki/Apk_spec) and no maintained Python parser exists.
"""

from __future__ import annotations

import re

from ..errors import CatalogError
from ..model import APK, Package
from . import CATALOGER_VERSIONS

INSTALLED = "/lib/apk/db/installed"


class ApkCataloger:
    name = "apk"
    version = CATALOGER_VERSIONS["apk"]
    path_hint = r"/lib/apk/db/installed$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path == INSTALLED

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        data = file.read()
        if b"\x00" in data[:4096]:
            raise CatalogError(f"{file.path}: binary data, not an apk installed database")
        text = data.decode("utf-8", "replace")
        packages: list[Package] = []
        record: dict[str, str] = {}
        seen_field = False
        for line in text.splitlines() + [""]:
            if not line.strip():
                if record:
                    pkg = _package(record, file.path)
                    if pkg:
                        packages.append(pkg)
                record = {}
                continue
            if len(line) < 2 or line[1] != ":":
                continue
            seen_field = True
            key, value = line[0], line[2:]
            if key not in record:  # repeated keys (R:, a:, Z:) are per-file; keep the package's own
                record[key] = value
        if text.strip() and not seen_field:
            raise CatalogError(f"{file.path}: no 'K:value' records: not an apk installed database")
        return packages


def _package(record: dict[str, str], path: str) -> Package | None:
    name, version = record.get("P", "").strip(), record.get("V", "").strip()
    if not name or not version:
        return None
    origin = record.get("o", "").strip()
    metadata = {}
    # what it needs (D:) and provides (p:), without version constraints ("so:libc.musl-x86_64.so.1",
    # "cmd:curl", "busybox"): for "remove from the final image" advice (match/remediation.py)
    for key, field in (("D", "depends"), ("p", "provides")):
        names = [re.split(r"[=<>~]", token, maxsplit=1)[0] for token in record.get(key, "").split()
                 if not token.startswith("!")]
        if names:
            metadata[field] = ",".join(dict.fromkeys(n for n in names if n))
    return Package(
        type=APK, name=name, version=version, path=path,
        source_name=origin if origin != name else "",
        arch=record.get("A", "").strip(),
        licenses=record.get("L", "").split() if record.get("L") else [],
        metadata=metadata,
    )


CATALOGER = ApkCataloger()
