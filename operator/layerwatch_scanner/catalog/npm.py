"""npm: installed `node_modules/**/package.json`, and lock files where nothing is installed.

The application's own package.json (not under node_modules) is not a dependency and is not
reported. Lock-file entries carry metadata {"lockfile": True}; the layer merge drops them when
the same project has installed packages (the installed tree is the truth).
"""

from __future__ import annotations

import json

from ..errors import CatalogError
from ..model import NPM, Package
from . import CATALOGER_VERSIONS

_MAX = 64 * 1024 * 1024
LOCK_NAMES = ("/package-lock.json", "/npm-shrinkwrap.json")


class NpmCataloger:
    name = "npm"
    version = CATALOGER_VERSIONS["npm"]
    path_hint = r"/(?:package\.json|package-lock\.json|npm-shrinkwrap\.json)$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if size > _MAX:
            return False
        if path.endswith("/package.json"):
            return "/node_modules/" in path
        return path.endswith(LOCK_NAMES) and "/node_modules/" not in path

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        try:
            doc = json.loads(file.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{file.path}: invalid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise CatalogError(f"{file.path}: expected a JSON object, got {type(doc).__name__}")
        if file.path.endswith("/package.json"):
            return _installed(doc, file.path)
        return _lockfile(doc, file.path)


def _installed(doc: dict, path: str) -> list[Package]:
    name, version = doc.get("name"), doc.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return []  # e.g. a nested package.json that only sets "type": "module"
    return [Package(type=NPM, name=name, version=version, path=path, licenses=_licenses(doc.get("license")))]


def _licenses(value: object) -> list[str]:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value["type"]]
    return []


def _lockfile(doc: dict, path: str) -> list[Package]:
    found: dict[tuple[str, str], Package] = {}

    def add(name: str, version: object) -> None:
        if not isinstance(version, str) or not version or not name:
            return
        if version.startswith("npm:"):  # alias: "npm:real-name@1.2.3"
            real, _, version = version[4:].rpartition("@")
            name = real or name
        if "/" in version or version.startswith(("file:", "link:", "git")):
            return  # local paths and git URLs are not registry releases
        found.setdefault((name, version), Package(type=NPM, name=name, version=version, path=path,
                                                  metadata={"lockfile": True}))

    packages = doc.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or entry.get("link"):
                continue  # "" is the root project; links point at workspaces
            if "node_modules/" not in key:
                continue  # a workspace's own package
            name = entry.get("name") if isinstance(entry.get("name"), str) else key.rsplit("node_modules/", 1)[1]
            add(name, entry.get("version"))
    else:  # lockfileVersion 1: nested "dependencies"
        stack = [doc.get("dependencies")]
        while stack:
            deps = stack.pop()
            if not isinstance(deps, dict):
                continue
            for name, entry in deps.items():
                if isinstance(entry, dict):
                    add(name, entry.get("version"))
                    stack.append(entry.get("dependencies"))
    return sorted(found.values(), key=lambda p: (p.name, p.version))


CATALOGER = NpmCataloger()
