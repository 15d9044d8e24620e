"""Notifications delivered to a real HTTP(S) receiver: exactly once per target and signed, once
after a receiver outage (the dedupe key), nothing lost across a restart, the SSRF guard and the
URL's secrets kept out of errors, TLS with a target's own CA, every format, and a plug-in's."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import trustme
from layerwatch_api.severity import Severity
from layerwatch_scanner.notify.delivery import BACKOFF_MAX, Deliverer, Target, backoff
from layerwatch_scanner.notify.notifiers import formats, notifier
from layerwatch_scanner.notify.outbox import Outbox
from layerwatch_scanner.notify.payloads import MAX_FINDINGS, FindingFilter, ImageChange, pages
from layerwatch_scanner.notify.signing import HEADER, verify

from tests.support.receiver import Receiver

KEY = b"s3cret-hmac-key"
DIGEST = "sha256:" + "ab" * 32


def _finding(i: int, severity: str = "Critical", fixed: str = "3.0.13-1~deb12u1") -> dict:
    return {"id": f"CVE-2024-{1000 + i}", "severity": severity, "package": "openssl", "packageType": "deb",
            "version": "3.0.11-1~deb12u2", "fixedVersion": fixed or None, "layer": "sha256:" + "cd" * 32}


def _change(n: int = 1, **kw) -> ImageChange:  # noqa: ANN003
    added = [_finding(i) for i in range(n)]
    return ImageChange("docker.io/library/app:1", DIGEST, added=added, advisories=[f["id"] for f in added],
                       namespaces=["shop"], **kw)


@pytest.fixture
def receiver():  # noqa: ANN201
    r = Receiver().start()
    yield r
    r.stop()


def _queue(outbox: Outbox, target: str, change: ImageChange) -> int:
    return sum(outbox.add(target, p) for p in pages(target, change, FindingFilter()))


def test_one_signed_message_per_target(tmp_path: Path, receiver: Receiver) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    targets = {"sec": Target("sec", receiver.url, key=KEY), "events": Target("events", receiver.url, "cloudevents")}
    for name in targets:
        assert _queue(outbox, name, _change()) == 1
        assert _queue(outbox, name, _change()) == 0  # the same change again: its dedupe key is known
    deliverer = Deliverer(outbox)
    assert deliverer.send_due(targets) == 2
    assert deliverer.send_due(targets) == 0
    event, signed = sorted(receiver.requests, key=lambda r: r.headers["Content-Type"])  # cloudevents first
    payload = json.loads(signed.body)
    assert payload["apiVersion"] == "layerwatch.dev/notification/v1" and payload["kind"] == "FindingsChanged"
    assert payload["image"] == {"name": "docker.io/library/app:1", "digest": DIGEST, "namespaces": ["shop"]}
    assert [f["id"] for f in payload["added"]] == ["CVE-2024-1000"]
    assert verify(KEY, signed.body, signed.headers[HEADER]) and not verify(b"other", signed.body, signed.headers[HEADER])
    assert not verify(KEY, signed.body + b" ", signed.headers[HEADER])
    assert signed.headers["X-Layerwatch-Delivery"] == payload["id"]
    cloud = json.loads(event.body)
    assert event.headers["Content-Type"] == "application/cloudevents+json" and HEADER not in event.headers
    assert (cloud["specversion"], cloud["type"], cloud["subject"]) == ("1.0", "dev.layerwatch.findings.changed", DIGEST)
    assert cloud["data"]["target"] == "events" and cloud["id"] == cloud["data"]["id"]
    assert outbox.pending() == {}


def test_a_receiver_down_for_a_while_gets_it_once(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=3).start()
    try:
        outbox = Outbox(tmp_path / "outbox.sqlite")
        targets = {"t": Target("t", receiver.url, key=KEY)}
        _queue(outbox, "t", _change())
        deliverer = Deliverer(outbox)
        now = time.time()
        for _ in range(10):  # the clock moves past each backoff
            deliverer.send_due(targets, now=now)
            _queue(outbox, "t", _change())  # the next refresh makes the same message: no repeat
            now += BACKOFF_MAX
        assert len(receiver.requests) == 4 and len(receiver.delivered) == 1
        ids = {r.headers["X-Layerwatch-Delivery"] for r in receiver.requests}
        assert len(ids) == 1  # every attempt is the same message, as the receiver can tell
        assert [r.headers["X-Layerwatch-Attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
        assert deliverer.stats["t"].sent == 1 and deliverer.stats["t"].failed == 3
        assert "HTTP 500" in deliverer.stats["t"].last_error
    finally:
        receiver.stop()


def test_a_restart_with_a_pending_outbox_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path)
    _queue(outbox, "t", _change(3))
    down = Deliverer(outbox)
    down.send_due({"t": Target("t", "http://127.0.0.1:9/hook")})  # nothing listens there
    assert outbox.pending() == {"t": 1}
    outbox.close()  # the operator stops
    again = Outbox(path)  # and starts
    assert again.pending() == {"t": 1}
    assert Deliverer(again).send_due({"t": Target("t", receiver.url)}, now=time.time() + BACKOFF_MAX) == 1
    [got] = receiver.requests
    assert len(json.loads(got.body)["added"]) == 3 and again.pending() == {}


def test_guarded_and_secrets_never_in_errors(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    targets = {"meta": Target("meta", "http://169.254.169.254/latest/meta-data"),
               "creds": Target("creds", "http://user:hunter2@127.0.0.1:9/services/T0/B0/XXSECRET?token=abc")}
    for name in targets:
        _queue(outbox, name, _change())
    deliverer = Deliverer(outbox)
    assert deliverer.send_due(targets) == 0
    assert "metadata" in deliverer.stats["meta"].last_error
    error = deliverer.stats["creds"].last_error
    assert "127.0.0.1:9" in error and not any(s in error for s in ("hunter2", "user", "XXSECRET", "token", "services"))


def test_tls_with_the_targets_ca_bundle(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ca.issue_cert("127.0.0.1").configure_cert(server := __import__("ssl").SSLContext(
        __import__("ssl").PROTOCOL_TLS_SERVER)) or server
    receiver = Receiver(tls=context).start()
    try:
        outbox = Outbox(tmp_path / "outbox.sqlite")
        _queue(outbox, "t", _change())
        deliverer = Deliverer(outbox)
        assert deliverer.send_due({"t": Target("t", receiver.url)}) == 0  # not a CA the system trusts
        assert "TLS" in deliverer.stats["t"].last_error or "ConnectError" in deliverer.stats["t"].last_error
        trusted = Target("t", receiver.url, ca_bundle=ca.cert_pem.bytes().decode())
        assert deliverer.send_due({"t": trusted}, now=2e9) == 1
    finally:
        receiver.stop()


def test_pages_filters_and_formats() -> None:
    change = _change(MAX_FINDINGS * 2 + 5)
    change.added.append(_finding(999, "Low"))
    change.resolved.append(_finding(998, "High", fixed=""))
    made = pages("t", change, FindingFilter(Severity.HIGH))
    assert [p["page"] for p in made] == [{"number": n, "of": 3} for n in (1, 2, 3)]
    assert sum(len(p["added"]) for p in made) == MAX_FINDINGS * 2 + 5  # the Low one is filtered out
    assert made[-1]["resolved"][0]["id"] == "CVE-2024-1998"
    assert len({p["id"] for p in made}) == 3 and [p["id"] for p in pages("t", change, FindingFilter())] == \
        [p["id"] for p in made]  # stable: made again, the same keys
    assert not pages("t", _change(0), FindingFilter())
    fixable = pages("t", change, FindingFilter(Severity.HIGH, only_fixable=True))
    assert all(f["fixedVersion"] for p in fixable for f in (*p["added"], *p["resolved"]))
    slack = json.loads(notifier("slack").render(made[0]))
    assert "50 new and 0 resolved findings in docker.io/library/app:1 (shop) [1/3]" in slack["text"]
    assert slack["blocks"][1]["text"]["text"].count("•") == 20 and "…and 30 more" in slack["blocks"][1]["text"]["text"]
    assert {"json", "slack", "cloudevents", "text"} <= set(formats())
    with pytest.raises(KeyError, match="unknown notification format 'teams'"):
        notifier("teams")


def test_a_plugin_notifier_is_delivered(tmp_path: Path, receiver: Receiver) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    _queue(outbox, "t", _change(2))
    assert Deliverer(outbox).send_due({"t": Target("t", receiver.url, "text")}) == 1
    [got] = receiver.requests
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert got.body.decode().splitlines()[1:] == ["+ CVE-2024-1000 Critical openssl 3.0.11-1~deb12u2",
                                                  "+ CVE-2024-1001 Critical openssl 3.0.11-1~deb12u2"]


def test_rate_limit_and_backoff(tmp_path: Path, receiver: Receiver) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    for n in range(5):
        _queue(outbox, "t", ImageChange("img", f"sha256:{n:064d}", added=[_finding(n)]))
    deliverer = Deliverer(outbox)
    assert deliverer.send_due({"t": Target("t", receiver.url, max_per_minute=6)}) == 1  # the rest wait their turn
    assert outbox.pending() == {"t": 4}
    rng = random.Random(1)
    delays = [backoff(n, rng) for n in range(1, 15)]
    assert 1.0 <= delays[0] <= 2.0 and all(d <= BACKOFF_MAX for d in delays) and delays[-1] >= BACKOFF_MAX / 2
