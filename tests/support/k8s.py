"""A real Kubernetes control plane for end-to-end tests (the envtest convention).

Binaries come from the directory named by KUBEBUILDER_ASSETS: `etcd` and `kube-apiserver`.
Everything else — certificates (made with `cryptography`), free loopback ports, a kubeconfig
for an admin in system:masters — is made here. No scheduler, no kubelet: pods stay Pending.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.registry import free_port


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _cert(subject: x509.Name, key, issuer: x509.Name, signer, ca: bool = False, sans=None, usage=None) -> bytes:  # noqa: ANN001
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass
class ControlPlane:
    server: str
    kubeconfig: Path
    ca_path: Path
    client_cert: Path
    client_key: Path
    processes: list[subprocess.Popen]
    workdir: Path

    def http(self) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return httpx.Client(base_url=self.server, verify=ctx, timeout=30)

    def apply(self, doc: dict) -> dict:
        """Create (or replace) one object as the admin."""
        with self.http() as client:
            path = resource_path(doc)
            response = client.post(path, json=doc)
            if response.status_code == 409:
                name = doc["metadata"]["name"]
                current = client.get(f"{path}/{name}").json()
                doc = {**doc, "metadata": {**doc["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
                response = client.put(f"{path}/{name}", json=doc)
            assert response.status_code in (200, 201), f"{doc['kind']}: {response.status_code} {response.text}"
            return response.json()

    def wait_crds_established(self, names: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.http() as client:
            for name in names:
                while True:
                    crd = client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").json()
                    conditions = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions", [])}
                    if conditions.get("Established") == "True":
                        break
                    assert time.monotonic() < deadline, f"CRD {name} not established"
                    time.sleep(0.1)
        time.sleep(0.5)  # discovery catches up

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


CORE = {"Namespace": "namespaces", "Pod": "pods", "ServiceAccount": "serviceaccounts", "Secret": "secrets",
        "Service": "services", "ConfigMap": "configmaps"}
NAMESPACED = {"Pod", "ServiceAccount", "Secret", "Service", "ConfigMap", "Deployment", "Role", "RoleBinding",
              "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Event"}


def resource_path(doc: dict) -> str:
    kind, api_version = doc["kind"], doc["apiVersion"]
    plural = CORE.get(kind) or {"ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
                                "CustomResourceDefinition": "customresourcedefinitions",
                                "VulnerabilityPolicy": "vulnerabilitypolicies"}.get(kind) or kind.lower() + "s"
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    ns = doc["metadata"].get("namespace")
    if kind in NAMESPACED:
        return f"{base}/namespaces/{ns or 'default'}/{plural}"
    return f"{base}/{plural}"


def start_control_plane(workdir: Path) -> ControlPlane:
    assets = Path(os.environ["KUBEBUILDER_ASSETS"])
    etcd_bin, apiserver_bin = assets / "etcd", assets / "kube-apiserver"
    for binary in (etcd_bin, apiserver_bin):
        assert binary.exists(), f"{binary} missing: KUBEBUILDER_ASSETS must hold etcd and kube-apiserver"
    pki = workdir / "pki"
    pki.mkdir(parents=True)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layerwatch-envtest-ca")])
    (pki / "ca.crt").write_bytes(_cert(ca_name, ca_key, ca_name, ca_key, ca=True))
    server_key = _key()
    (pki / "apiserver.key").write_bytes(_pem(server_key))
    (pki / "apiserver.crt").write_bytes(_cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), server_key, ca_name, ca_key,
        sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
        usage=[ExtendedKeyUsageOID.SERVER_AUTH]))
    admin_key = _key()
    (pki / "admin.key").write_bytes(_pem(admin_key))
    (pki / "admin.crt").write_bytes(_cert(
        x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                   x509.NameAttribute(NameOID.COMMON_NAME, "admin")]), admin_key, ca_name, ca_key,
        usage=[ExtendedKeyUsageOID.CLIENT_AUTH]))
    sa_key = _key()
    (pki / "sa.key").write_bytes(_pem(sa_key))
    (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    logs = workdir / "logs"
    logs.mkdir()
    etcd = subprocess.Popen(
        [str(etcd_bin), "--name", "envtest", "--data-dir", str(workdir / "etcd"),
         "--listen-client-urls", f"http://127.0.0.1:{etcd_port}", "--advertise-client-urls",
         f"http://127.0.0.1:{etcd_port}", "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
         "--initial-cluster", f"envtest=http://127.0.0.1:{peer_port}", "--unsafe-no-fsync"],
        stdout=open(logs / "etcd.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    apiserver = subprocess.Popen(
        [str(apiserver_bin), f"--etcd-servers=http://127.0.0.1:{etcd_port}", "--bind-address=127.0.0.1",
         "--advertise-address=127.0.0.1", f"--secure-port={api_port}", f"--tls-cert-file={pki}/apiserver.crt",
         f"--tls-private-key-file={pki}/apiserver.key", f"--client-ca-file={pki}/ca.crt",
         f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
         "--service-account-issuer=https://kubernetes.default.svc", "--service-cluster-ip-range=10.96.0.0/12",
         "--authorization-mode=RBAC", "--allow-privileged=true",
         "--enable-admission-plugins=NamespaceLifecycle,ValidatingAdmissionWebhook",
         "--disable-admission-plugins=ServiceAccount"],
        stdout=open(logs / "kube-apiserver.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    server = f"https://127.0.0.1:{api_port}"
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "envtest",
        "clusters": [{"name": "envtest", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": str(pki / "admin.crt"),
                                             "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": "envtest", "context": {"cluster": "envtest", "user": "admin"}}],
    }))
    plane = ControlPlane(server, kubeconfig, pki / "ca.crt", pki / "admin.crt", pki / "admin.key",
                         [etcd, apiserver], workdir)
    deadline = time.monotonic() + 90
    while True:
        for proc, name in ((etcd, "etcd"), (apiserver, "kube-apiserver")):
            if proc.poll() is not None:
                plane.stop()
                raise RuntimeError(f"{name} exited:\n{(logs / f'{name}.log').read_text()[-3000:]}")
        try:
            with plane.http() as client:
                if client.get("/readyz").status_code == 200:
                    break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            plane.stop()
            raise RuntimeError("kube-apiserver not ready within 90 s")
        time.sleep(0.5)
    return plane


def kubectl() -> str | None:
    return shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(__file__).resolve().parents[2] / ".tools/bin"))
