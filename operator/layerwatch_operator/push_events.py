"""Registry push notifications, read into the images they name: no I/O here (push.py serves them).

Three senders:
* CNCF Distribution / Docker registry notifications: `{"events": [...]}` with media type
  `application/vnd.docker.distribution.events.v1+json`; a `push` event of a manifest names its
  repository, digest, tag and URL (blob pushes are skipped).
* Harbor webhooks: `{"type": "PUSH_ARTIFACT", "event_data": {"resources": [...], "repository":
  {...}}}`, each resource with its digest, tag and `resource_url`.
* Quay repository-push notifications: `{"repository": "ns/repo", "docker_url": "quay.io/ns/repo",
  "updated_tags": [...]}`: tags only, the operator resolves their digests.

Anything else is a PushEventError naming the field that is wrong, answered with 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MANIFEST_TYPES = frozenset({
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws", "application/vnd.docker.distribution.manifest.v1+json",
})
MAX_EVENTS = 1000  # per request
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$")


class PushEventError(ValueError):
    """A malformed push notification: the message says which field."""


@dataclass(frozen=True)
class PushedImage:
    image: str  # "registry.example.com/team/app:1.2", or without a tag (pushed by digest)
    digest: str  # "" when the sender names tags only (Quay): the operator resolves it
    event_id: str  # the sender's id when it gives one: a duplicate delivery is dropped by it


def _str(obj: dict, key: str, where: str, pattern: re.Pattern | None = None, required: bool = True) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise PushEventError(f"{where}.{key} is missing")
        return ""
    if not isinstance(value, str) or len(value) > 512 or (pattern is not None and not pattern.match(value)):
        raise PushEventError(f"{where}.{key} is not a valid {key}: {str(value)[:80]!r}")
    return value


def _image(host: str, repository: str, tag: str) -> str:
    return f"{host}/{repository}" + (f":{tag}" if tag else "")


def _distribution(doc: dict) -> list[PushedImage]:
    events = doc["events"]
    if not isinstance(events, list):
        raise PushEventError("events is not a list")
    if len(events) > MAX_EVENTS:
        raise PushEventError(f"{len(events)} events in one request (at most {MAX_EVENTS})")
    pushed = []
    for n, event in enumerate(events):
        where = f"events[{n}]"
        if not isinstance(event, dict):
            raise PushEventError(f"{where} is not an object")
        if event.get("action") != "push":
            continue  # pulls, deletes, mounts
        target = event.get("target")
        if not isinstance(target, dict):
            raise PushEventError(f"{where}.target is missing")
        if target.get("mediaType") not in MANIFEST_TYPES:
            continue  # a layer or config blob
        digest = _str(target, "digest", f"{where}.target", _DIGEST)
        repository = _str(target, "repository", f"{where}.target", _REPOSITORY)
        tag = _str(target, "tag", f"{where}.target", _TAG, required=False)
        url = _str(target, "url", f"{where}.target", required=False)
        request = event.get("request") if isinstance(event.get("request"), dict) else {}
        host = urlsplit(url).netloc if url else _str(request, "host", f"{where}.request", _HOST)
        if not _HOST.match(host or ""):
            raise PushEventError(f"{where}.target.url names no registry host")
        pushed.append(PushedImage(_image(host, repository, tag), digest, str(event.get("id") or "")[:100]))
    return pushed


def _harbor(doc: dict) -> list[PushedImage]:
    data = doc.get("event_data")
    if not isinstance(data, dict):
        raise PushEventError("event_data is missing")
    resources = data.get("resources")
    if not isinstance(resources, list) or len(resources) > MAX_EVENTS:
        raise PushEventError("event_data.resources is not a list (of at most 1000)")
    repo = data.get("repository") if isinstance(data.get("repository"), dict) else {}
    full_name = _str(repo, "repo_full_name", "event_data.repository", _REPOSITORY)
    pushed = []
    for n, resource in enumerate(resources):
        where = f"event_data.resources[{n}]"
        if not isinstance(resource, dict):
            raise PushEventError(f"{where} is not an object")
        digest = _str(resource, "digest", where, _DIGEST)
        tag = _str(resource, "tag", where, _TAG, required=False)
        url = _str(resource, "resource_url", where)
        host = url.split("/", 1)[0]
        if not _HOST.match(host):
            raise PushEventError(f"{where}.resource_url names no registry host")
        pushed.append(PushedImage(_image(host, full_name, tag), digest, f"harbor:{doc.get('occur_at', '')}:{digest}"))
    return pushed


def _quay(doc: dict) -> list[PushedImage]:
    docker_url = _str(doc, "docker_url", "")
    host, _, repository = docker_url.partition("/")
    if not _HOST.match(host) or not _REPOSITORY.match(repository):
        raise PushEventError(f"docker_url is not REGISTRY/REPOSITORY: {docker_url[:80]!r}")
    tags = doc.get("updated_tags")
    if not isinstance(tags, list) or not tags or len(tags) > MAX_EVENTS:
        raise PushEventError("updated_tags is not a non-empty list (of at most 1000)")
    pushed = []
    for n, tag in enumerate(tags):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise PushEventError(f"updated_tags[{n}] is not a valid tag")
        pushed.append(PushedImage(_image(host, repository, tag), "", ""))
    return pushed


def pushed_images(doc: object) -> list[PushedImage]:
    """The images a notification says were pushed (possibly none: a pull, a blob)."""
    if not isinstance(doc, dict):
        raise PushEventError("the body is not a JSON object")
    if "events" in doc:
        return _distribution(doc)
    if "event_data" in doc:
        if doc.get("type") not in ("PUSH_ARTIFACT", "pushImage"):
            return []
        return _harbor(doc)
    if "updated_tags" in doc or "docker_url" in doc:
        return _quay(doc)
    raise PushEventError("not a Distribution (events), Harbor (event_data) or Quay (updated_tags) notification")
