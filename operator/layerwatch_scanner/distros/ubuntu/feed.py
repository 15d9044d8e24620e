"""Ubuntu: the OSV records of canonical/ubuntu-security-notices, as exported by osv.dev.

Ecosystems `Ubuntu:22.04:LTS` (-> "ubuntu:22.04") and `Ubuntu:Pro:22.04:LTS` (-> "ubuntu-pro:22.04");
the Ubuntu priority is the severity.
"""

from __future__ import annotations

from ...feeds.osv import OSV_BASE, osv_feed

FEEDS = [osv_feed("ubuntu", f"{OSV_BASE}/Ubuntu/all.zip")]
