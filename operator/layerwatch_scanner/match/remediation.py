"""Per package, the smallest version that fixes all its findings, grouped by layer.

A package in the image's first layer came with the base image: the fix is to rebuild on a
newer base. A package added by a later layer is upgraded in that layer. (Images do not say
reliably where the base ends; the first layer is the base for single-layer bases such as
debian, alpine and ubi. Multi-layer bases show up as "your layer" — documented limitation.)
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .ecosystems import lookup_for
from .versions import compare

if TYPE_CHECKING:
    from ..model import Inventory
    from .findings import Finding


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
    """Where the fix of one layer's findings lives (base image or own layer) and the upgrades."""
    layer: str
    index: int
    advice: str  # "rebuild on a newer base image" / "upgrade in your own layer"
    upgrades: list[Upgrade] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerAdvice:
        return cls(**{**data, "upgrades": [Upgrade(**u) for u in data.get("upgrades", [])]})


def remediate(inventory: Inventory, findings: list[Finding]) -> list[LayerAdvice]:
    by_package: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        by_package.setdefault((f.layer, f.package_type, f.package, f.version), []).append(f)
    schemes = {}
    for pkg in inventory.packages:
        lookup = lookup_for(pkg, inventory.os)
        if lookup:
            schemes[(pkg.type, pkg.name)] = lookup[2]
    layers: dict[str, LayerAdvice] = {}
    for (layer, ptype, name, version), group in sorted(by_package.items()):
        scheme = schemes.get((ptype, name))
        fixed = [f.fixed_version for f in group if f.fixed_version]
        best = max(fixed, key=functools.cmp_to_key(lambda a, b, s=scheme: compare(s, a, b))) if fixed and scheme else ""
        index = inventory.layers.index(layer) if layer in inventory.layers else -1
        advice = layers.setdefault(layer, LayerAdvice(
            layer=layer, index=index,
            advice="rebuild on a newer base image" if index == 0 else "upgrade in your own layer"))
        advice.upgrades.append(Upgrade(package=name, package_type=ptype, version=version, fixed_version=best,
                                       fixes=sorted(f.id for f in group if f.fixed_version),
                                       unfixed=sorted(f.id for f in group if not f.fixed_version)))
    return sorted(layers.values(), key=lambda a: a.index)
