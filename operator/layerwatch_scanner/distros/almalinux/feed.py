"""AlmaLinux errata (ALSA) in OSV form: osv.dev's `AlmaLinux/all.zip` (incremental through its
`modified_id.csv`)."""

from __future__ import annotations

from ...feeds.osv import OSV_BASE, osv_feed

FEEDS = [osv_feed("almalinux", f"{OSV_BASE}/AlmaLinux/all.zip")]
