"""Manifest media types and turning a manifest + config into an ImageManifest."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..digests import sha256_digest
from ..errors import DigestMismatchError, UnsupportedManifestError
from ..model import ImageManifest, LayerRef
from .platform import select_platform

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
MAX_MANIFEST = 4 * 1024 * 1024
MAX_BLOB_IN_MEMORY = 16 * 1024 * 1024  # manifests and configs; layers are streamed
MAX_INDEX_DEPTH = 4


def media_type_of(doc: dict, declared: str = "") -> str:
    """The manifest's own mediaType, else the transport's, else inferred from its shape."""
    media = doc.get("mediaType") or declared or ""
    if not media:
        if "manifests" in doc:
            media = OCI_INDEX
        elif "layers" in doc and "config" in doc:
            media = OCI_MANIFEST
        elif doc.get("schemaVersion") == 1:
            media = DOCKER_SCHEMA1[0]
    return media


def parse_json(data: bytes, what: str) -> dict:
    if len(data) > MAX_MANIFEST:
        raise UnsupportedManifestError(f"{what}: manifest of {len(data)} bytes is too large")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UnsupportedManifestError(f"{what}: manifest is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise UnsupportedManifestError(f"{what}: manifest is not a JSON object")
    return doc


def resolve_manifest(
    fetch: Callable[[str], tuple[bytes, str]],
    fetch_blob: Callable[[str], bytes],
    root: str,
    reference: str,
    platform: str,
    what: str,
) -> ImageManifest:
    """Follow indexes down to one platform's manifest, then read its config.

    `fetch(ref)` returns (manifest bytes, declared media type) for a tag or digest;
    `fetch_blob(digest)` returns a verified blob.
    """
    data, declared = fetch(root)
    digest = sha256_digest(data)
    index_digest = ""
    for _ in range(MAX_INDEX_DEPTH):
        doc = parse_json(data, what)
        media = media_type_of(doc, declared)
        if media in DOCKER_SCHEMA1 or doc.get("schemaVersion") == 1:
            raise UnsupportedManifestError(
                f"{what}: Docker schema 1 manifests are not supported (deprecated since 2017); "
                "rebuild and push the image with a current Docker or buildah"
            )
        if media in INDEX_TYPES:
            index_digest = index_digest or digest
            entries = doc.get("manifests")
            if not isinstance(entries, list):
                raise UnsupportedManifestError(f"{what}: index without a 'manifests' list")
            chosen = select_platform(entries, platform, what) if _has_platforms(entries) else entries[0]
            digest = chosen.get("digest", "")
            data, declared = fetch(digest)
            if sha256_digest(data) != digest:
                raise DigestMismatchError(f"{what}: manifest {digest} content does not match its digest")
            declared = chosen.get("mediaType", declared)
            continue
        if media not in MANIFEST_TYPES:
            raise UnsupportedManifestError(f"{what}: unsupported manifest media type {media!r}")
        return _image_manifest(doc, media, digest, index_digest, reference, platform, fetch_blob, what)
    raise UnsupportedManifestError(f"{what}: indexes nested deeper than {MAX_INDEX_DEPTH} levels")


def _has_platforms(entries: list) -> bool:
    return any(isinstance(e, dict) and e.get("platform") for e in entries)


def _image_manifest(doc: dict, media: str, digest: str, index_digest: str, reference: str, platform: str,
                    fetch_blob: Callable[[str], bytes], what: str) -> ImageManifest:
    config_desc = doc.get("config") or {}
    layers = doc.get("layers")
    if not isinstance(config_desc, dict) or not config_desc.get("digest") or not isinstance(layers, list):
        raise UnsupportedManifestError(f"{what}: manifest lacks config or layers")
    config = json.loads(fetch_blob(config_desc["digest"]))
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    refs = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or not layer.get("digest"):
            raise UnsupportedManifestError(f"{what}: layer {i} has no digest")
        refs.append(LayerRef(digest=layer["digest"], media_type=layer.get("mediaType", ""),
                             size=int(layer.get("size") or 0),
                             diff_id=diff_ids[i] if i < len(diff_ids) else ""))
    cfg_platform = "/".join(p for p in (config.get("os"), config.get("architecture"), config.get("variant")) if p)
    annotations = doc.get("annotations") if isinstance(doc.get("annotations"), dict) else {}
    return ImageManifest(reference=reference, digest=digest, media_type=media, config_digest=config_desc["digest"],
                         config=config, layers=refs, platform=cfg_platform or platform, index_digest=index_digest,
                         annotations={str(k): str(v) for k, v in annotations.items()})
