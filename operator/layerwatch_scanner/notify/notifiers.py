"""Message formats: a notifier renders a payload (payloads.py) as the bytes a receiver expects.

Built in: `json` (the payload itself), `slack` (an incoming-webhook message: `text` plus
blocks), `cloudevents` (a CloudEvents 1.0 structured-mode event whose `data` is the payload).
Third-party formats come from the entry-point group `layerwatch.notifiers`: the entry point is
named by the format and its value is an object with `name`, `content_type` and
`render(payload: dict) -> bytes` (docs/plugins.md); a target names it in `spec.format`.
"""

from __future__ import annotations

import json
from typing import Protocol

from ..plugins import entry_points

PLUGIN_GROUP = "layerwatch.notifiers"


class Notifier(Protocol):
    name: str
    content_type: str

    def render(self, payload: dict) -> bytes: ...


class JSONNotifier:
    name = "json"
    content_type = "application/json"

    def render(self, payload: dict) -> bytes:
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _line(f: dict) -> str:
    fix = f"fixed in {f['fixedVersion']}" if f.get("fixedVersion") else "no fix yet"
    return f"• *{f['id']}* ({f['severity']}) {f['package']} {f['version']}: {fix}"


class SlackNotifier:
    """Slack's incoming-webhook JSON (`text` is the notification's fallback, blocks the message)."""

    name = "slack"
    content_type = "application/json"
    SHOWN = 20  # lines per section: Slack limits a section's text to 3,000 characters

    def render(self, payload: dict) -> bytes:
        image = payload["image"]
        where = f" ({', '.join(image['namespaces'][:5])})" if image.get("namespaces") else ""
        page = payload["page"]
        paged = f" [{page['number']}/{page['of']}]" if page["of"] > 1 else ""
        headline = (f"layerwatch: {len(payload['added'])} new and {len(payload['resolved'])} resolved findings in "
                    f"{image['name']}{where}{paged}")
        blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": headline}}]
        for title, findings in (("New", payload["added"]), ("Resolved", payload["resolved"])):
            if findings:
                lines = [_line(f) for f in findings[:self.SHOWN]]
                if len(findings) > self.SHOWN:
                    lines.append(f"…and {len(findings) - self.SHOWN} more")
                blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                           "text": f"*{title}*\n" + "\n".join(lines)}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{image['digest']}`"}]})
        return json.dumps({"text": headline, "blocks": blocks}, separators=(",", ":")).encode()


class CloudEventsNotifier:
    """CloudEvents 1.0, structured content mode (the JSON event format)."""

    name = "cloudevents"
    content_type = "application/cloudevents+json"
    TYPES = {"FindingsChanged": "dev.layerwatch.findings.changed", "ImageScanned": "dev.layerwatch.image.scanned"}

    def render(self, payload: dict) -> bytes:
        event = {"specversion": "1.0", "type": self.TYPES.get(payload["kind"], "dev.layerwatch.notification"),
                 "source": f"/layerwatch/notificationtargets/{payload['target']}", "id": payload["id"],
                 "time": payload["time"], "subject": payload["image"]["digest"],
                 "datacontenttype": "application/json", "dataschema": "https://layerwatch.dev/schemas/notification/v1",
                 "data": payload}
        return json.dumps(event, separators=(",", ":")).encode()


BUILTIN: dict[str, Notifier] = {n.name: n for n in (JSONNotifier(), SlackNotifier(), CloudEventsNotifier())}


def notifier(name: str) -> Notifier:
    """The notifier of a format; KeyError names the formats known."""
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(PLUGIN_GROUP):
        if ep.name == name:
            found = ep.load()
            if not all(hasattr(found, a) for a in ("name", "content_type", "render")):
                raise TypeError(f"entry point {ep.name} = {ep.value} ({PLUGIN_GROUP}) is not a Notifier")
            return found
    raise KeyError(f"unknown notification format {name!r}; known: {', '.join(formats())}")


def formats() -> list[str]:
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(PLUGIN_GROUP))})
