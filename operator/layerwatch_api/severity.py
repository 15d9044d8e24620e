"""Severity levels and their order, shared by the scanner, the operator and the webhook."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    NEGLIGIBLE = "Negligible"
    UNKNOWN = "Unknown"

    @property
    def rank(self) -> int:
        """Higher is worse. Unknown ranks just above Negligible: not ignorable, not alarming."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str | None) -> Severity:
        """Case-insensitive; anything unrecognised is Unknown."""
        if not value:
            return cls.UNKNOWN
        return _BY_LOWER.get(value.strip().lower(), cls.UNKNOWN)


_RANK = {
    Severity.CRITICAL: 5,
    Severity.HIGH: 4,
    Severity.MEDIUM: 3,
    Severity.LOW: 2,
    Severity.UNKNOWN: 1,
    Severity.NEGLIGIBLE: 0,
}
_BY_LOWER = {s.value.lower(): s for s in Severity} | {"moderate": Severity.MEDIUM, "important": Severity.HIGH}

# Worst first: the order of summaries, tables and status lists.
SEVERITIES_WORST_FIRST = sorted(Severity, key=lambda s: -s.rank)
