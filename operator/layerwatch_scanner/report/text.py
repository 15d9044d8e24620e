"""Plain-text tables for terminals and CI logs.

Hand-written: columns padded to their widest cell, two spaces apart, nothing wrapped (a long
cell widens its column, as `kubectl get` does). rich made the same table with box drawing but
cost ~40 ms to import, most of a warm rescan's budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    cells = [list(headers), *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return "\n".join(lines) + "\n"
