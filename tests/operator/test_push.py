"""Scan on push: the three notification formats read into images (a real Debian docker-registry
capture, Harbor's and Quay's documented payloads), malformed and hostile bodies refused with a
reason, and the endpoint served for real: auth, size bound, dedupe, one ImageScan per push."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layerwatch_operator.push import MAX_BODY, PushReceiver, serve
from layerwatch_operator.push_events import PushEventError, pushed_images

from tests.conftest import TESTDATA
from tests.e2e.test_operator import _port

PUSH = TESTDATA / "push"
DIGEST = "sha256:271c0304158958cb16cb360b794c93798e89c9756062f11ec191c2dec43ff03a"


def _distribution() -> list[dict]:
    return json.loads((PUSH / "distribution-2.8-push.json").read_text())


def test_distribution_pushes_name_the_manifest_only() -> None:
    bodies = _distribution()
    found = [pushed_images(body) for body in bodies]
    assert found[0] == [] and found[1] == []  # the layer and the config blob
    [by_digest], [by_tag] = found[2], found[3]
    assert (by_digest.image, by_digest.digest) == ("127.0.0.1:55725/team/app", DIGEST)
    assert (by_tag.image, by_tag.digest) == ("127.0.0.1:55725/team/app:1.0", DIGEST)
    assert by_tag.event_id == "391cd049-37e9-4251-84a8-f7910b3a55cf"


def test_harbor_and_quay() -> None:
    [harbor] = pushed_images(json.loads((PUSH / "harbor-push-artifact.json").read_text()))
    assert harbor.image == "harbor.example.com/library/nginx:1.25" and harbor.digest.startswith("sha256:e4e9")
    quay = pushed_images(json.loads((PUSH / "quay-repo-push.json").read_text()))
    assert [(q.image, q.digest) for q in quay] == [("quay.io/mynamespace/repository:latest", ""),
                                                   ("quay.io/mynamespace/repository:1.2", "")]


@pytest.mark.parametrize(("body", "reason"), [
    ([], "not a JSON object"),
    ({"hello": 1}, "not a Distribution"),
    ({"events": {}}, "events is not a list"),
    ({"events": [{"action": "push"}]}, "events[0].target is missing"),
    ({"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                               "digest": "sha256:../../etc", "repository": "a"}}]},
     "events[0].target.digest is not a valid digest"),
    ({"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                               "digest": DIGEST, "repository": "A/../b"}}]},
     "events[0].target.repository is not a valid repository"),
    ({"events": [{"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                               "digest": DIGEST, "repository": "a",
                                               "url": "http://user@evil host/v2/"}}]}, "names no registry host"),
    ({"type": "PUSH_ARTIFACT", "event_data": {"resources": "x"}}, "event_data.resources is not a list"),
    ({"docker_url": "quay.io/ns/repo", "updated_tags": ["bad tag!"]}, "updated_tags[0] is not a valid tag"),
    ({"events": [{"action": "pull"}] * 1001}, "1001 events in one request"),
])
def test_malformed_notifications_say_which_field(body: object, reason: str) -> None:
    with pytest.raises(PushEventError, match=reason.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        pushed_images(body)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["events", "action", "target", "mediaType", "digest", "repository", "tag",
                                         "url", "request", "host", "event_data", "resources", "type", "docker_url",
                                         "updated_tags", "resource_url", "repository", "repo_full_name"]),
                        inner, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_is_read_or_refused_with_a_reason(doc: object) -> None:
    try:
        images = pushed_images(doc)
    except PushEventError as exc:
        assert str(exc)
    else:
        assert all(i.image and "/" in i.image for i in images)


async def test_the_endpoint(tmp_path) -> None:  # noqa: ANN001
    made: list = []

    async def create(images: list) -> int:
        made.extend(images)
        return len(images)

    receiver = PushReceiver("s3cret", create)
    port = _port()
    runner = await serve(receiver, port, host="127.0.0.1")
    url = f"http://127.0.0.1:{port}/v1/push"
    try:
        async with httpx.AsyncClient() as client:
            bodies = _distribution()
            assert (await client.post(url, json=bodies[3])).status_code == 401
            assert (await client.post(url, json=bodies[3], headers={"Authorization": "Bearer nope"})).status_code == 401
            auth = {"Authorization": "Bearer s3cret"}
            big = await client.post(url, content=b"{" + b" " * MAX_BODY + b"}", headers=auth)
            assert big.status_code == 413
            bad = await client.post(url, content=b"{not json", headers=auth)
            assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
            for body in bodies:  # the registry's four events of one push
                assert (await client.post(url, json=body, headers=auth)).status_code == 202
            again = await client.post(url, json=bodies[3], headers=auth)  # a redelivery
            assert again.json() == {"images": 1, "new": 0}
            assert await receiver.flush(now=math.inf) == 1
            [image] = made
            assert (image.image, image.digest) == ("127.0.0.1:55725/team/app:1.0", DIGEST)  # the tag is kept
            quay = json.loads((PUSH / "quay-repo-push.json").read_text())
            assert (await client.post(f"{url}?token=s3cret", json=quay)).json() == {"images": 2, "new": 2}
            assert await receiver.flush(now=math.inf) == 2
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).text == "ok"
    finally:
        await runner.cleanup()
    with pytest.raises(ValueError, match="needs a token"):
        PushReceiver("", create)
