"""The webhook sets its own scope, so layerwatch down never locks a cluster up.

The chart's ValidatingWebhookConfiguration holds two webhooks that call the same endpoint:

* `enforce.layerwatch.dev` — `failurePolicy: Fail` (the chart's `webhook.failurePolicy`), for
  exactly the namespaces an `Enforce` VulnerabilityPolicy selects. At install it selects no
  namespace at all; the webhook writes the list once it has listed policies and namespaces, and
  keeps it current as they change.
* `workloads.layerwatch.dev` — `failurePolicy: Ignore`, every other namespace (Warn and Audit
  policies, queueing unscanned images). When no webhook pod answers, these admit as if
  layerwatch were not installed.

Failure modes: webhook pods down or not yet ready -> only namespaces under an Enforce policy
refuse workloads (what the user asked for), with the API server's "failed calling webhook"
message; a namespace that just gained an Enforce policy's labels is enforced after the next
watch event (about a second). `helm uninstall` deletes the configuration with the release.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Iterable

import httpx
from layerwatch_api.policy import VulnerabilityPolicy

log = logging.getLogger(__name__)

ENFORCE = "enforce.layerwatch.dev"
OBSERVE = "workloads.layerwatch.dev"
NAME_KEY = "kubernetes.io/metadata.name"
# Namespace names are DNS labels: one with an underscore cannot exist, so this selects nothing.
NO_NAMESPACE = "no_namespace_is_enforced"
RECHECK_SECONDS = 30.0  # re-read the live object this often (a `helm upgrade` may have reset it)


def enforced_namespaces(policies: Iterable[VulnerabilityPolicy], namespaces: dict[str, dict[str, str]],
                        ignored: Iterable[str]) -> list[str]:
    """Namespaces (sorted) that at least one Enforce policy selects."""
    skip = set(ignored)
    enforcing = [p for p in policies if p.spec.action == "Enforce"]
    chosen = []
    for name, labels in namespaces.items():
        if name in skip:
            continue
        full = {NAME_KEY: name, **labels}
        if any(p.spec.namespaceSelector.matches(full) for p in enforcing):
            chosen.append(name)
    return sorted(chosen)


def selectors(enforced: list[str], ignored: Iterable[str]) -> dict[str, dict]:
    skip = sorted(set(ignored))
    return {
        ENFORCE: {"matchExpressions": [{"key": NAME_KEY, "operator": "In", "values": enforced or [NO_NAMESPACE]}]},
        OBSERVE: {"matchExpressions": [{"key": NAME_KEY, "operator": "NotIn",
                                        "values": sorted(set(skip) | set(enforced))}]},
    }


def patch_for(live: dict, enforced: list[str], ignored: Iterable[str], ca_cert: bytes | None) -> list[dict]:
    """JSON patch operations that bring the live configuration to the desired scope (and CA)."""
    wanted = selectors(enforced, ignored)
    encoded = base64.b64encode(ca_cert).decode() if ca_cert else None
    ops: list[dict] = []
    for i, hook in enumerate(live.get("webhooks") or []):
        name = hook.get("name")
        if name in wanted and hook.get("namespaceSelector") != wanted[name]:
            ops.append({"op": "add", "path": f"/webhooks/{i}/namespaceSelector", "value": wanted[name]})
        if name == OBSERVE and hook.get("failurePolicy") != "Ignore":
            ops.append({"op": "add", "path": f"/webhooks/{i}/failurePolicy", "value": "Ignore"})
        if encoded and (hook.get("clientConfig") or {}).get("caBundle") != encoded:
            ops.append({"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": encoded})
    return ops


def reconcile(client: httpx.Client, config_name: str, enforced: list[str], ignored: Iterable[str],
              ca_cert: bytes | None = None) -> bool:
    """Patch the configuration when it differs; True when something was written."""
    path = f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{config_name}"
    response = client.get(path)
    response.raise_for_status()
    live = response.json()
    ops = patch_for(live, enforced, ignored, ca_cert)
    if not ops:
        return False
    # the resourceVersion test makes a concurrent writer (another replica, helm) retry, not clobber
    ops.insert(0, {"op": "test", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]})
    client.patch(path, json=ops, headers={"Content-Type": "application/json-patch+json"}).raise_for_status()
    log.info("admission scope: Fail in %d enforced namespace(s) %s, Ignore elsewhere", len(enforced),
             ", ".join(enforced[:10]) + (" …" if len(enforced) > 10 else ""))
    return True


class Registrar:
    """Keeps the live configuration in line with the view: on every change of the enforced set,
    and every RECHECK_SECONDS. Does nothing until the view has listed everything once."""

    def __init__(self, view, client_factory: Callable[[], httpx.Client], config_name: str,  # noqa: ANN001
                 ignored: list[str], ca_cert: bytes | None = None, interval: float = 1.0):
        self.view = view
        self.client_factory = client_factory
        self.config_name = config_name
        self.ignored = ignored
        self.ca_cert = ca_cert
        self.interval = interval
        self.applied: list[str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registrar", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def desired(self) -> list[str]:
        res = self.view.resources.get("namespaces")
        namespaces = dict(res.objects) if res else {}
        return enforced_namespaces(self.view.policies, namespaces, self.ignored)

    def _run(self) -> None:
        since_check = RECHECK_SECONDS
        while not self._stop.wait(self.interval):
            since_check += self.interval
            if not self.view.ready:
                continue
            wanted = self.desired()
            if wanted == self.applied and since_check < RECHECK_SECONDS:
                continue
            try:
                with self.client_factory() as client:
                    reconcile(client, self.config_name, wanted, self.ignored, self.ca_cert)
                self.applied, since_check = wanted, 0.0
            except httpx.HTTPError as exc:
                log.warning("could not update ValidatingWebhookConfiguration %s: %s", self.config_name, exc)
