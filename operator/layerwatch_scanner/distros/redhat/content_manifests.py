"""Red Hat images' content manifests: which repositories (content sets) their rpms came from.

Images built by Red Hat's build systems (UBI, RHEL-based product images) carry
`/root/buildinfo/content_manifests/<component>.json` with a `content_sets` list such as
`rhel-9-for-x86_64-baseos-eus-rpms`. With Red Hat's repository-to-cpe.json those name the
product stream (EUS, E4S, AUS, TUS) whose fixes apply, instead of the major release alone.
The layer walker keeps these files as text, like os-release; this module reads them.
"""

from __future__ import annotations

import json
import posixpath

MANIFEST_OS = frozenset({"rhel"})  # os-release IDs whose images carry them (UBI says "rhel")
MANIFEST_DIRS = ("/root/buildinfo/content_manifests/", "/usr/share/buildinfo/content_manifests/")
MAX_MANIFEST = 1024 * 1024  # real ones are a few KiB; they may list cachito components
MAX_CONTENT_SETS = 256
_MAX_NAME = 200


def is_content_manifest(path: str) -> bool:
    """A manifest directly in one of the manifest directories."""
    return path.endswith(".json") and posixpath.dirname(path) + "/" in MANIFEST_DIRS


def content_sets(files: dict[str, str]) -> tuple[list[str], list[str]]:
    """(content sets of every manifest left in the image, sorted; warnings for unreadable ones)."""
    found: set[str] = set()
    warnings: list[str] = []
    for path in sorted(p for p in files if is_content_manifest(p)):
        try:
            doc = json.loads(files[path])
        except ValueError as exc:
            warnings.append(f"{path}: not a valid content manifest ({exc}); its content sets are not used")
            continue
        sets = doc.get("content_sets") if isinstance(doc, dict) else None
        if sets is None:
            continue
        if not isinstance(sets, list) or not all(isinstance(s, str) and 0 < len(s) <= _MAX_NAME for s in sets):
            warnings.append(f"{path}: content_sets is not a list of repository names; not used")
            continue
        found.update(sets)
    if len(found) > MAX_CONTENT_SETS:
        warnings.append(f"content manifests name {len(found)} content sets (at most {MAX_CONTENT_SETS} are used)")
    return sorted(found)[:MAX_CONTENT_SETS], warnings
