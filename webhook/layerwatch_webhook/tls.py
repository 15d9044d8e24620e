"""TLS for the webhook: a CA and a serving certificate made with `cryptography`.

Mode "auto": the pair lives in a Secret shared by all replicas (the first to start creates it;
the others read it), and the CA goes into the ValidatingWebhookConfiguration's caBundle.
The CA lives 10 years; the serving certificate 1 year and is renewed 30 days before expiry
with the same CA, so the caBundle does not change and no request fails during rotation.
Mode "files": the same pair in a directory only (local runs and tests).
Mode "certManager": files mounted from a cert-manager Secret; nothing is generated.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = logging.getLogger(__name__)
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass
class Bundle:
    ca_cert: bytes
    ca_key: bytes
    cert: bytes  # serving certificate (PEM)
    key: bytes

    def not_after(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert).not_valid_after_utc

    def needs_renewal(self, now: dt.datetime | None = None) -> bool:
        return (now or dt.datetime.now(dt.UTC)) >= self.not_after() - RENEW_BEFORE

    def write(self, directory: Path) -> tuple[Path, Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.crt").write_bytes(self.ca_cert)
        (directory / "tls.crt").write_bytes(self.cert)
        key = directory / "tls.key"
        key.touch(mode=0o600)
        key.write_bytes(self.key)
        return directory / "tls.crt", key, directory / "ca.crt"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(now: dt.datetime | None = None) -> tuple[bytes, bytes]:
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layerwatch webhook CA")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def issue(ca_cert: bytes, ca_key: bytes, service: str, namespace: str, now: dt.datetime | None = None,
          days: int = 365) -> Bundle:
    now = now or dt.datetime.now(dt.UTC)
    ca = x509.load_pem_x509_certificate(ca_cert)
    signer = serialization.load_pem_private_key(ca_key, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local", service, "localhost"]
    san = x509.SubjectAlternativeName([x509.DNSName(n) for n in names]
                                      + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(signer, hashes.SHA256()))  # type: ignore[arg-type]
    return Bundle(ca_cert, ca_key, cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def new_bundle(service: str, namespace: str) -> Bundle:
    return issue(*make_ca(), service=service, namespace=namespace)


# -- the shared Secret and the caBundle ------------------------------------------------------------

_FIELDS = {"ca.crt": "ca_cert", "ca.key": "ca_key", "tls.crt": "cert", "tls.key": "key"}


def _from_secret(secret: dict) -> Bundle | None:
    data = secret.get("data") or {}
    if not all(k in data for k in _FIELDS):
        return None
    return Bundle(**{attr: base64.b64decode(data[k]) for k, attr in _FIELDS.items()})


def ensure_secret_bundle(client: httpx.Client, namespace: str, secret: str, service: str) -> Bundle:
    """Read the shared pair; create or renew it when missing or near expiry (one writer wins)."""
    path = f"/api/v1/namespaces/{namespace}/secrets/{secret}"
    response = client.get(path)
    existing = response.json() if response.status_code == 200 else None
    if response.status_code not in (200, 404):
        response.raise_for_status()
    bundle = _from_secret(existing) if existing else None
    if bundle and not bundle.needs_renewal():
        return bundle
    # renew with the same CA when there is one: the caBundle in the API server stays valid
    bundle = issue(bundle.ca_cert, bundle.ca_key, service, namespace) if bundle else new_bundle(service, namespace)
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": secret, "namespace": namespace},
            "data": {k: base64.b64encode(getattr(bundle, attr)).decode() for k, attr in _FIELDS.items()}}
    if existing:
        meta = existing["metadata"]
        body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
        # keep Helm's labels and annotations: the release must still own the Secret it rendered
        for key in ("labels", "annotations", "ownerReferences"):
            if meta.get(key):
                body["metadata"][key] = meta[key]
        written = client.put(path, json=body)
    else:
        written = client.post(f"/api/v1/namespaces/{namespace}/secrets", json=body)
    if written.status_code == 409:  # another replica was faster: use its pair
        again = _from_secret(client.get(path).json())
        if again:
            return again
    written.raise_for_status()
    log.info("webhook serving certificate issued, valid until %s", bundle.not_after().isoformat())
    return bundle


def ca_patch(live: dict, ca_cert: bytes | None) -> list[dict]:
    """JSON patch operations that put `ca_cert` into every webhook's caBundle where it differs."""
    if not ca_cert:
        return []
    encoded = base64.b64encode(ca_cert).decode()
    return [{"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": encoded}
            for i, hook in enumerate(live.get("webhooks") or [])
            if (hook.get("clientConfig") or {}).get("caBundle") != encoded]


def patch_ca_bundle(client: httpx.Client, config_name: str, ca_cert: bytes) -> None:
    path = f"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/{config_name}"
    current = client.get(path)
    current.raise_for_status()
    patch = ca_patch(current.json(), ca_cert)
    if patch:
        client.patch(path, json=patch, headers={"Content-Type": "application/json-patch+json"}).raise_for_status()
