"""The webhook sets its own fail-closed scope, so layerwatch down never locks a cluster up.

The chart installs two ValidatingWebhookConfigurations:

* `<release>.layerwatch.dev` with `workloads.layerwatch.dev` — `failurePolicy: Ignore`, every
  namespace but kube-system and layerwatch's own (Warn and Audit policies, unscanned images
  queued). With no webhook pod answering, workloads are admitted as if layerwatch were absent.
* `<release>-enforce.layerwatch.dev` — shipped with no webhooks. Once the webhook has listed
  policies and namespaces it writes one, `enforce.layerwatch.dev`, with `failurePolicy` from
  the chart (`webhook.failurePolicy`, default Fail) for exactly the namespaces an `Enforce`
  policy selects, and keeps that list current. Calls to `workloads` from those namespaces are
  answered "allowed" at once: `enforce` decides there.

Why two objects: Helm owns what it renders. The webhook only writes fields Helm never renders
(the enforce entry, the caBundle), so `helm upgrade`/`rollback` (client- or server-side apply)
neither conflict with nor undo it, and `helm uninstall` deletes both objects.

Failure modes: webhook pods down or not ready -> only namespaces under an Enforce policy refuse
workloads ("failed calling webhook"); a namespace that just gained an Enforce policy's labels is
enforced after the next watch event and reconcile (about a second).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterable

import httpx
from layerwatch_api.policy import VulnerabilityPolicy

from .tls import ca_patch

log = logging.getLogger(__name__)

ENFORCE = "enforce.layerwatch.dev"
OBSERVE = "workloads.layerwatch.dev"
ENFORCE_PATH = "/validate/enforce"
NAME_KEY = "kubernetes.io/metadata.name"
RECHECK_SECONDS = 10.0  # re-read the live objects this often (an upgrade may have changed timeouts)
_VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


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


def enforce_entry(observe: dict, enforced: list[str], failure_policy: str) -> dict:
    """The enforce webhook: the chart's `workloads` entry (service, rules, timeout, CA) with
    Fail (or the configured policy), the enforce path and exactly the enforced namespaces."""
    entry = copy.deepcopy(observe)
    entry["name"] = ENFORCE
    entry["failurePolicy"] = failure_policy
    entry["namespaceSelector"] = {"matchExpressions": [{"key": NAME_KEY, "operator": "In", "values": enforced}]}
    client = entry.setdefault("clientConfig", {})
    if "service" in client:
        client["service"] = {**client["service"], "path": ENFORCE_PATH}
    elif "url" in client:
        client["url"] = client["url"].split("/validate")[0] + ENFORCE_PATH
    return entry


def desired_enforce_webhooks(observe_config: dict, enforced: list[str], failure_policy: str) -> list[dict]:
    observe = next((h for h in observe_config.get("webhooks") or [] if h.get("name") == OBSERVE), None)
    if observe is None or not enforced:
        return []
    return [enforce_entry(observe, enforced, failure_policy)]


class Registrar:
    """Keeps the enforce configuration in line with the view: on every change of the enforced
    set and every RECHECK_SECONDS. Does nothing until the view has listed everything once."""

    def __init__(self, view, client_factory: Callable[[], httpx.Client], config_name: str,  # noqa: ANN001
                 enforce_config_name: str, failure_policy: str, ignored: list[str],
                 ca_cert: bytes | None = None, interval: float = 0.5):
        self.view = view
        self.client_factory = client_factory
        self.config_name = config_name
        self.enforce_config_name = enforce_config_name
        self.failure_policy = failure_policy
        self.ignored = ignored
        self.ca_cert = ca_cert
        self.interval = interval
        self.applied: frozenset[str] = frozenset()  # namespaces the enforce webhook is registered for
        self._last: list[str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registrar", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def delegated(self, namespace: str) -> bool:
        """Is `namespace` judged by the enforce webhook (so `workloads` may just allow)?"""
        return namespace in self.applied

    def desired(self) -> list[str]:
        res = self.view.resources.get("namespaces")
        namespaces = dict(res.objects) if res else {}
        return enforced_namespaces(self.view.policies, namespaces, self.ignored)

    def reconcile(self, client: httpx.Client, enforced: list[str]) -> bool:
        observe = client.get(f"{_VWC}/{self.config_name}")
        observe.raise_for_status()
        observe_config = observe.json()
        ops = ca_patch(observe_config, self.ca_cert)
        if ops:
            client.patch(f"{_VWC}/{self.config_name}", json=ops,
                         headers={"Content-Type": "application/json-patch+json"}).raise_for_status()
            observe_config = client.get(f"{_VWC}/{self.config_name}").json()
        target = client.get(f"{_VWC}/{self.enforce_config_name}")
        target.raise_for_status()
        live = target.json()
        wanted = desired_enforce_webhooks(observe_config, enforced, self.failure_policy)
        # no namespace enforced yet: nothing shrinks below the last answer we confirmed
        self.applied = frozenset(enforced) & frozenset(
            v for h in live.get("webhooks") or [] if h.get("name") == ENFORCE
            for e in (h.get("namespaceSelector") or {}).get("matchExpressions", []) for v in e.get("values", []))
        if (live.get("webhooks") or []) == wanted:
            self.applied = frozenset(enforced)
            return False
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": live["metadata"]["resourceVersion"]},
                 {"op": "add", "path": "/webhooks", "value": wanted}]
        client.patch(f"{_VWC}/{self.enforce_config_name}", json=patch,
                     headers={"Content-Type": "application/json-patch+json"}).raise_for_status()
        self.applied = frozenset(enforced)
        log.info("admission: %s in %d enforced namespace(s) %s; Ignore elsewhere", self.failure_policy,
                 len(enforced), ", ".join(enforced[:10]) + (" …" if len(enforced) > 10 else ""))
        return True

    def _run(self) -> None:
        since_check = RECHECK_SECONDS
        while not self._stop.wait(self.interval):
            since_check += self.interval
            if not self.view.ready:
                continue
            wanted = self.desired()
            if wanted == self._last and since_check < RECHECK_SECONDS:
                continue
            try:
                with self.client_factory() as client:
                    self.reconcile(client, wanted)
                self._last, since_check = wanted, 0.0
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any one bad answer
                log.warning("could not update the webhook configurations: %s", exc)
