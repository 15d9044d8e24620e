"""A finding: one vulnerability in one installed package of one image."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from layerwatch_api.severity import Severity


@dataclass(slots=True)
class Finding:
    """One vulnerability in one installed package (a dataclass docstring also spares its import an
    inspect.signature call, a fifth of its cost on a warm rescan)."""
    id: str
    severity: str  # normalised: Critical/High/Medium/Low/Negligible/Unknown
    package: str
    package_type: str
    version: str
    fixed_version: str  # "" when no fix is published
    layer: str
    source: str  # feed that reported it
    aliases: list[str] = field(default_factory=list)
    vendor_severity: str = ""  # the distribution's or ecosystem's own rating
    cvss_score: float | None = None
    cvss_severity: str = ""
    kev: bool = False
    epss: float | None = None
    status: str = "fixed"  # fixed / affected / wont-fix
    purl: str = ""
    path: str = ""
    source_package: str = ""
    vex: dict[str, str] = field(default_factory=dict)  # {"status", "justification"} when a VEX matched
    advice: str = ""  # where the fix lives: rebuild-base / upgrade / remove (match/remediation.py)

    @property
    def rank(self) -> int:
        return Severity.parse(self.severity).rank

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.id, self.package_type, self.package, self.version)

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: its deep copy was a third of re-matching a cluster
        out: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if value not in (None, [], {}, ""):
                out[name] = list(value) if name == "aliases" else dict(value) if name == "vex" else value
        out["fixed_version"] = self.fixed_version
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


_FIELDS = tuple(f.name for f in fields(Finding))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst first: severity, then known-exploited, then fixable, then id."""
    return sorted(findings, key=lambda f: (-f.rank, not f.kev, f.fixed_version == "", f.package, f.id))
