"""Where each finding's fix lives, per package and per image — the advice Clair's authors gave:

* a package the image's **base** brought → rebuild on a newer base image;
* a package the image's **own layers** added → upgrade it in your Dockerfile;
* an OS package that is a typical **build-time tool** (compilers, make, `-dev`/`-devel` packages,
  git, …, or Node.js/Python with no application package of theirs) and that no other installed
  package depends on → remove it from the final image (a multi-stage build).

Where the base ends: the `org.opencontainers.image.base.name`/`base.digest` annotations (or
labels) when present, with the base's own layers counted by fetching its manifest
(inventory.base); otherwise the first layer — right for single-layer bases such as debian, alpine
and ubi, while a multi-layer base shows up as "your layers" (documented). Per package, the
smallest version that fixes all its findings.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import APK, DEB, NPM, PYPI
from .ecosystems import lookup_for
from .versions import compare

if TYPE_CHECKING:
    from ..model import Inventory
    from .findings import Finding

REBUILD, UPGRADE, REMOVE = "rebuild-base", "upgrade", "remove"
ADVICE_TEXT = {REBUILD: "rebuild on a newer base image", UPGRADE: "upgrade in your Dockerfile",
               REMOVE: "remove from the final image (a build-time tool nothing else installed needs)"}
# typical build-time tools by package name (Debian, Alpine); "-dev" headers and static libraries
BUILD_TOOL = re.compile(
    r"^(?:gcc|g\+\+|cpp|clang|llvm|lld|make|cmake|ninja-build|meson|autoconf|automake|libtool|m4|bison|flex|"
    r"binutils|build-essential|build-base|pkg-config|pkgconf|dpkg-dev|fakeroot|patch|git|gdb|musl-dev)"
    r"(?:$|[-.\d])|-dev$|-static$")
# runtimes often installed only to build (npm install, pip wheel): a build tool when the image
# holds no application package of theirs
BUILD_RUNTIMES = {"nodejs": NPM, "npm": NPM, "python3": PYPI, "python3-pip": PYPI, "python3-venv": PYPI}


@dataclass
class Upgrade:
    """One package upgrade that fixes findings: to which version, and how many it fixes."""
    package: str
    package_type: str
    version: str
    fixed_version: str  # fixes every fixable finding of the package
    fixes: list[str]  # ids it fixes
    unfixed: list[str] = field(default_factory=list)  # ids with no fix yet


@dataclass
class LayerAdvice:
    """Where the fix of one layer's findings lives and what to do: rebuild the base, upgrade, remove."""
    layer: str
    index: int
    advice: str  # ADVICE_TEXT of `action`
    upgrades: list[Upgrade] = field(default_factory=list)
    action: str = UPGRADE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerAdvice:
        return cls(**{**data, "upgrades": [Upgrade(**u) for u in data.get("upgrades", [])]})


def base_layers(inventory: Inventory) -> int:
    """How many of the image's bottom layers are its base's (at least the first)."""
    counted = (inventory.base or {}).get("layers")
    return counted if isinstance(counted, int) and counted > 0 else 1


def removable(inventory: Inventory) -> set[str]:
    """OS build-time tools that may go together: no package outside the set depends on any of them."""
    os_packages = [p for p in inventory.packages if p.type in (DEB, APK)]
    ecosystems = {p.type for p in inventory.packages if not p.path.startswith(("/usr/lib/node_modules/npm/",
                                                                               "/usr/share/nodejs/"))}
    candidates = {p.name for p in os_packages if BUILD_TOOL.search(p.name)
                  or (p.name in BUILD_RUNTIMES and BUILD_RUNTIMES[p.name] not in ecosystems)}
    if not candidates:
        return set()
    providers: dict[str, set[str]] = {}
    for p in os_packages:
        providers.setdefault(p.name, set()).add(p.name)
        for virtual in _split(p.metadata.get("provides")):
            providers.setdefault(virtual, set()).add(p.name)
    changed = True
    while changed:  # drop every candidate a package outside the set needs, until none is
        changed = False
        for p in os_packages:
            if p.name in candidates:
                continue
            for dep in _split(p.metadata.get("depends")):
                needed = providers.get(dep, set()) & candidates
                if needed and len(providers.get(dep, ())) == len(needed):  # no other provider
                    candidates -= needed
                    changed = True
    return candidates


def _split(names: object) -> list[str]:
    return names.split(",") if isinstance(names, str) and names else []


def action_for(pkg_layer: str, name: str, ptype: str, inventory: Inventory, gone: set[str], base: int) -> str:
    if ptype in (DEB, APK) and name in gone:
        return REMOVE
    index = inventory.layers.index(pkg_layer) if pkg_layer in inventory.layers else -1
    return REBUILD if 0 <= index < base else UPGRADE


def remediate(inventory: Inventory, findings: list[Finding]) -> list[LayerAdvice]:
    """Advice per layer and action; each finding's `advice` is set to its action."""
    by_package: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        by_package.setdefault((f.layer, f.package_type, f.package, f.version), []).append(f)
    schemes = {}
    for pkg in inventory.packages:
        lookup = lookup_for(pkg, inventory.os)
        if lookup:
            schemes[(pkg.type, pkg.name)] = lookup[2]
    gone = removable(inventory) if findings else set()
    base = base_layers(inventory)
    advice_of: dict[tuple[str, str], LayerAdvice] = {}
    for (layer, ptype, name, version), group in sorted(by_package.items()):
        scheme = schemes.get((ptype, name))
        fixed = [f.fixed_version for f in group if f.fixed_version]
        best = max(fixed, key=functools.cmp_to_key(lambda a, b, s=scheme: compare(s, a, b))) if fixed and scheme else ""
        action = action_for(layer, name, ptype, inventory, gone, base)
        for f in group:
            f.advice = action
        index = inventory.layers.index(layer) if layer in inventory.layers else -1
        advice = advice_of.setdefault((layer, action), LayerAdvice(layer=layer, index=index,
                                                                   advice=ADVICE_TEXT[action], action=action))
        advice.upgrades.append(Upgrade(package=name, package_type=ptype, version=version, fixed_version=best,
                                       fixes=sorted(f.id for f in group if f.fixed_version),
                                       unfixed=sorted(f.id for f in group if not f.fixed_version)))
    return sorted(advice_of.values(), key=lambda a: (a.index, a.action))


def summary(inventory: Inventory, findings: list[Finding], max_packages: int = 20) -> dict[str, Any]:
    """Per action, how many findings (and fixable ones) and which packages: for the ImageScan."""
    out: dict[str, Any] = {}
    base_info = inventory.base or {}
    for action in (REBUILD, UPGRADE, REMOVE):
        mine = [f for f in findings if getattr(f, "advice", "") == action]
        if not mine:
            continue
        packages = sorted({f.package for f in mine})
        entry: dict[str, Any] = {"findings": len(mine), "fixable": sum(1 for f in mine if f.fixed_version),
                                 "packages": packages[:max_packages], "advice": ADVICE_TEXT[action]}
        if action == REBUILD:
            entry["base"] = {"name": base_info.get("name", ""), "digest": base_info.get("digest", ""),
                             "layers": base_layers(inventory), "from": base_info.get("from", "first-layer")}
        out[{REBUILD: "rebuildBase", UPGRADE: "upgrade", REMOVE: "remove"}[action]] = entry
    return out
