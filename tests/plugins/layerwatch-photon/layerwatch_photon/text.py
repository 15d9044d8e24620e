"""A notifier (the layerwatch.notifiers entry-point group): findings as plain text lines, as a
mail or pager gateway takes them."""

from __future__ import annotations


class TextNotifier:
    name = "text"
    content_type = "text/plain; charset=utf-8"

    def render(self, payload: dict) -> bytes:
        image = payload["image"]
        lines = [f"{payload['kind']} {image['name']}@{image['digest']} (page {payload['page']['number']}"
                 f"/{payload['page']['of']}, id {payload['id']})"]
        lines += [f"+ {f['id']} {f['severity']} {f['package']} {f['version']}" for f in payload["added"]]
        lines += [f"- {f['id']} {f['severity']} {f['package']} {f['version']}" for f in payload["resolved"]]
        return ("\n".join(lines) + "\n").encode()


NOTIFIER = TextNotifier()
