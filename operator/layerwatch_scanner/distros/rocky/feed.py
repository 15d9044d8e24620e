"""Rocky Linux errata (RLSA) in OSV form: osv.dev's `Rocky Linux/all.zip`, with its incremental
`modified_id.csv` like every osv.dev ecosystem."""

from __future__ import annotations

from ...feeds.osv import OSV_BASE, osv_feed

FEEDS = [osv_feed("rocky", f"{OSV_BASE}/Rocky%20Linux/all.zip")]
