"""Notifications: tell a team when findings of an image they run change, and be sure it arrives.

`payloads.py` builds the versioned message of one image's change (paged, bounded), `notifiers.py`
renders it in a target's format (json, slack, cloudevents, or a plug-in's from the
`layerwatch.notifiers` entry-point group), `signing.py` signs it, `outbox.py` keeps it on disk
until delivered (at least once, across restarts, one row per dedupe key), and `delivery.py`
sends what is due with retries, backoff and a rate limit per target, through the SSRF guard.
No Kubernetes here: the operator decides what to send and to whom (layerwatch_operator).
"""
