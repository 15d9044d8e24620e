"""The vulnerability database as an OCI artifact: `layerwatch db push|pull REGISTRY/REPO:TAG`.

One builder downloads the feeds and pushes the database to a registry the fleet (or an
air-gapped cluster) already trusts; everyone else pulls one digest-verified blob, as Trivy does
with its DB. The artifact is an OCI image manifest (artifactType ARTIFACT_TYPE) whose config
describes the build and whose one layer is the SQLite file, zstd-compressed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..digests import VerifyingReader
from ..errors import RegistryError, VulnDBError
from ..registry.reference import parse_reference
from ..sources.manifests import OCI_MANIFEST
from ..sources.options import SourceOptions
from ..sources.registry import client_for
from .store import SCHEMA_VERSION, VulnDB, install, snapshot

ARTIFACT_TYPE = "application/vnd.layerwatch.vulndb.v1"
CONFIG_TYPE = "application/vnd.layerwatch.vulndb.config.v1+json"
LAYER_TYPE = f"application/vnd.layerwatch.vulndb.schema{SCHEMA_VERSION}.sqlite+zstd"
MAX_DB_BYTES = 16 * 1024**3  # uncompressed: a pulled blob may not decompress beyond this


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def push_db(db_path: Path, reference: str, options: SourceOptions | None = None) -> str:
    """Push the database; returns the manifest digest."""
    import zstandard

    reader = VulnDB.open(db_path)  # refuse to push something unreadable
    meta = reader.metadata()
    reader.close()
    ref = parse_reference(reference)
    if not ref.tag and not ref.digest:
        raise RegistryError(f"{reference}: name a tag to push to")
    client = client_for(ref.registry, options or SourceOptions())
    try:
        with tempfile.TemporaryDirectory(prefix="layerwatch-push-") as tmp:
            copy, blob = Path(tmp) / "db.sqlite", Path(tmp) / "db.sqlite.zst"
            snapshot(db_path, copy)
            with open(copy, "rb") as src, open(blob, "wb") as dst:
                zstandard.ZstdCompressor(level=10, threads=-1).copy_stream(src, dst)
            config = json.dumps({"schema_version": SCHEMA_VERSION, "built_at": meta.built_at,
                                 "build_id": meta.build_id, "size": copy.stat().st_size,
                                 "sources": {n: s.last_success for n, s in meta.sources.items()}},
                                sort_keys=True).encode()
            layer_digest = _sha256_file(blob)
            config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
            with open(blob, "rb") as body:
                _upload(client, ref.repository, layer_digest, body, reference)
            _upload(client, ref.repository, config_digest, config, reference)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": blob.stat().st_size,
                            "annotations": {"org.opencontainers.image.title": "vulndb.sqlite.zst"}}],
                "annotations": {"org.opencontainers.image.created": meta.built_at},
            }).encode()
        response = client.request("PUT", f"/v2/{ref.repository}/manifests/{ref.tag or ref.digest}", ref.repository,
                                  reference, headers={"Content-Type": OCI_MANIFEST}, body=manifest, push=True)
        response.close()
        if response.status_code not in (200, 201):
            raise RegistryError(f"{reference}: registry answered HTTP {response.status_code} to the manifest")
        return "sha256:" + hashlib.sha256(manifest).hexdigest()
    finally:
        client.close()


def _upload(client, repo: str, digest: str, body, what: str) -> None:  # noqa: ANN001
    """A monolithic blob upload (POST, then PUT with the digest), skipped when the blob is there."""
    head = client.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo, what, push=True)
    head.close()
    if head.status_code == 200:
        return
    start = client.request("POST", f"/v2/{repo}/blobs/uploads/", repo, what, body=b"", push=True)
    start.close()
    location = start.headers.get("location", "")
    if start.status_code != 202 or not location:
        raise RegistryError(f"{what}: registry answered HTTP {start.status_code} to a blob upload")
    base = f"{client._base()}/"
    target = urljoin(base, location)
    if urlsplit(target).netloc != urlsplit(base).netloc:  # credentials never go to another host
        raise RegistryError(f"{what}: the registry sent the upload to another host ({urlsplit(target).netloc})")
    target += ("&" if "?" in target else "?") + f"digest={digest}"
    done = client.request("PUT", target, repo, what, headers={"Content-Type": "application/octet-stream"},
                          body=body, push=True)
    done.close()
    if done.status_code not in (201, 204):
        raise RegistryError(f"{what}: registry answered HTTP {done.status_code} to blob {digest}")


def pull_db(reference: str, db_path: Path, options: SourceOptions | None = None) -> str:
    """Pull, verify (digests, artifact type, schema) and install the database; the one in
    service is replaced only when every check passed. Returns the manifest digest."""
    import zstandard

    ref = parse_reference(reference)
    client = client_for(ref.registry, options or SourceOptions())
    try:
        data, _ = client.get_manifest(ref, ref.digest or ref.tag, OCI_MANIFEST)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if ref.digest and digest != ref.digest:
            raise RegistryError(f"{reference}: manifest content does not match its digest")
        try:
            manifest = json.loads(data)
            layer = manifest["layers"][0]
            config_type = manifest["config"]["mediaType"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RegistryError(f"{reference}: not a layerwatch database artifact ({exc})") from exc
        if config_type != CONFIG_TYPE or not str(layer.get("mediaType", "")).startswith(
                "application/vnd.layerwatch.vulndb."):
            raise RegistryError(f"{reference}: not a layerwatch database artifact (config {config_type})")
        marker = Path(f"{db_path}.pulled")  # the manifest digest of what is in place
        if db_path.exists() and marker.exists() and marker.read_text().strip() == digest:
            return digest  # already this build: nothing to download
        if layer["mediaType"] != LAYER_TYPE:
            raise VulnDBError(f"{reference}: database schema {layer['mediaType']} is not the one this layerwatch "
                              f"reads ({LAYER_TYPE}): push one built by the same version")
        db_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".pull", dir=db_path.parent)
        tmp = Path(tmp_name)
        try:
            what = f"{reference} database blob"
            with os.fdopen(fd, "wb") as out, \
                    VerifyingReader(client.open_blob(ref, layer["digest"], what), layer["digest"], what,
                                    int(layer.get("size") or 0) or None) as blob:
                reader = zstandard.ZstdDecompressor().stream_reader(blob)
                written = 0
                while chunk := reader.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_DB_BYTES:
                        raise VulnDBError(f"{reference}: database larger than {MAX_DB_BYTES} bytes refused")
                    out.write(chunk)
                blob.drain()
            VulnDB.open(tmp).close()  # a readable database of this schema, or the current one stays
            install(tmp, db_path)
            marker.write_text(digest + "\n")
        except zstandard.ZstdError as exc:
            raise VulnDBError(f"{reference}: corrupt database blob ({exc}); the current database is kept") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return digest
    finally:
        client.close()
