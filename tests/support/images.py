"""Build real container images in Python: tar layers, OCI/Docker manifests, indexes.

Used by the tests (and benchmarks) in place of a Docker daemon. Images can be written as an
OCI image layout, as a `docker save` archive, or pushed to a registry over the distribution API.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import zstandard

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", "none"): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ("docker", "none"): "application/vnd.docker.image.rootfs.diff.tar",
}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# Entry constructors for make_layer -------------------------------------------------------------

def file(path: str, content: bytes | str, mode: int = 0o644) -> dict:
    return {"type": "file", "path": path, "content": content.encode() if isinstance(content, str) else content,
            "mode": mode}


def directory(path: str, mode: int = 0o755) -> dict:
    return {"type": "dir", "path": path, "mode": mode}


def symlink(path: str, target: str) -> dict:
    return {"type": "symlink", "path": path, "target": target}


def hardlink(path: str, target: str) -> dict:
    return {"type": "hardlink", "path": path, "target": target}


def whiteout(path: str) -> dict:
    """Deletes `path` of the layers below (a `.wh.<name>` entry)."""
    parent, _, name = path.strip("/").rpartition("/")
    return {"type": "file", "path": f"{parent}/.wh.{name}" if parent else f".wh.{name}", "content": b"", "mode": 0o644}


def opaque(path: str) -> dict:
    """Hides everything the layers below put in directory `path`."""
    return {"type": "file", "path": path.strip("/") + "/.wh..wh..opq", "content": b"", "mode": 0o644}


def raw_member(info: tarfile.TarInfo, content: bytes = b"") -> dict:
    """Any tar header, as is (for hostile-input tests)."""
    return {"type": "raw", "info": info, "content": content}


def tar_bytes(entries: list[dict]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            if e["type"] == "raw":
                tar.addfile(e["info"], io.BytesIO(e["content"]) if e["content"] else None)
                continue
            info = tarfile.TarInfo(e["path"].lstrip("/"))
            info.mtime = 1700000000
            info.uname = info.gname = "root"
            if e["type"] == "file":
                info.size, info.mode = len(e["content"]), e["mode"]
                tar.addfile(info, io.BytesIO(e["content"]))
            elif e["type"] == "dir":
                info.type, info.mode = tarfile.DIRTYPE, e["mode"]
                tar.addfile(info)
            elif e["type"] == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e["target"]
                tar.addfile(info)
            elif e["type"] == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e["target"].lstrip("/")
                tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


@dataclass
class Layer:
    tar: bytes  # uncompressed
    blob: bytes  # as stored
    compression: str

    @property
    def digest(self) -> str:
        return digest_of(self.blob)

    @property
    def diff_id(self) -> str:
        return digest_of(self.tar)


def make_layer(entries: list[dict], compression: str = "gzip") -> Layer:
    tar = tar_bytes(entries)
    return Layer(tar=tar, blob=compress(tar, compression), compression=compression)


@dataclass
class Image:
    """One platform's image: its layers, config and manifest bytes."""

    layers: list[Layer]
    platform: str = "linux/amd64"
    style: str = "oci"  # "oci" or "docker" media types
    config_extra: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)  # the manifest's

    def config_bytes(self) -> bytes:
        os_, arch, *variant = self.platform.split("/")
        config = {
            "architecture": arch, "os": os_,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in self.layers]},
            "config": {}, "history": [{"created_by": f"layer {i}"} for i in range(len(self.layers))],
            **self.config_extra,
        }
        if variant:
            config["variant"] = variant[0]
        return json.dumps(config, sort_keys=True).encode()

    def manifest_bytes(self) -> bytes:
        config = self.config_bytes()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if self.style == "oci" else DOCKER_MANIFEST,
            "config": {"mediaType": OCI_CONFIG if self.style == "oci" else DOCKER_CONFIG,
                       "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": LAYER_TYPES[(self.style, layer.compression)], "digest": layer.digest,
                        "size": len(layer.blob)} for layer in self.layers],
        }
        if self.annotations:
            manifest["annotations"] = self.annotations
        return json.dumps(manifest, sort_keys=True).encode()

    @property
    def digest(self) -> str:
        return digest_of(self.manifest_bytes())

    def blobs(self) -> dict[str, bytes]:
        blobs = {layer.digest: layer.blob for layer in self.layers}
        config = self.config_bytes()
        blobs[digest_of(config)] = config
        return blobs

    @property
    def media_type(self) -> str:
        return OCI_MANIFEST if self.style == "oci" else DOCKER_MANIFEST


@dataclass
class Index:
    """A multi-platform image: an OCI index or a Docker manifest list."""

    images: list[Image]
    style: str = "oci"

    def index_bytes(self) -> bytes:
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX if self.style == "oci" else DOCKER_LIST,
            "manifests": [{"mediaType": img.media_type, "digest": img.digest, "size": len(img.manifest_bytes()),
                           "platform": _platform(img.platform)} for img in self.images],
        }
        return json.dumps(index, sort_keys=True).encode()

    @property
    def digest(self) -> str:
        return digest_of(self.index_bytes())

    @property
    def media_type(self) -> str:
        return OCI_INDEX if self.style == "oci" else DOCKER_LIST


def _platform(value: str) -> dict:
    os_, arch, *variant = value.split("/")
    p = {"os": os_, "architecture": arch}
    if variant:
        p["variant"] = variant[0]
    return p


# Writers ---------------------------------------------------------------------------------------

def write_oci_layout(target: Path, image: Image | Index, tag: str = "latest") -> Path:
    target.mkdir(parents=True, exist_ok=True)
    (target / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    blobs = target / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        d = digest_of(data)
        (blobs / d.split(":")[1]).write_bytes(data)
        return d

    images = image.images if isinstance(image, Index) else [image]
    for img in images:
        for data in img.blobs().values():
            put(data)
        put(img.manifest_bytes())
    top = image.index_bytes() if isinstance(image, Index) else image.manifest_bytes()
    put(top)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
        "mediaType": image.media_type, "digest": digest_of(top), "size": len(top),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (target / "index.json").write_text(json.dumps(index))
    return target


def write_docker_archive(target: Path, image: Image, repo_tag: str = "example/app:latest",
                         gzipped: bool = False) -> Path:
    """An old-style `docker save` tar: manifest.json, <config>.json, <id>/layer.tar (uncompressed)."""
    buf = io.BytesIO()
    config = image.config_bytes()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        config_name = digest_of(config).split(":")[1] + ".json"
        add(config_name, config)
        names = []
        for layer in image.layers:
            name = f"{layer.diff_id.split(':')[1]}/layer.tar"
            add(name, layer.tar)
            names.append(name)
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [repo_tag], "Layers": names}]).encode())
    data = buf.getvalue()
    target.write_bytes(gzip.compress(data) if gzipped else data)
    return target


def push(client: httpx.Client, base_url: str, repo: str, tag: str, image: Image | Index) -> str:
    """Push blobs and manifests over the distribution API (monolithic uploads). Returns the digest."""
    images = image.images if isinstance(image, Index) else [image]
    for img in images:
        for digest, data in img.blobs().items():
            _push_blob(client, base_url, repo, digest, data)
        _put_manifest(client, base_url, repo, img.digest, img.manifest_bytes(), img.media_type)
    if isinstance(image, Index):
        _put_manifest(client, base_url, repo, tag, image.index_bytes(), image.media_type)
        return image.digest
    _put_manifest(client, base_url, repo, tag, image.manifest_bytes(), image.media_type)
    return image.digest


def _push_blob(client: httpx.Client, base_url: str, repo: str, digest: str, data: bytes) -> None:
    if client.head(f"{base_url}/v2/{repo}/blobs/{digest}").status_code == 200:
        return
    start = client.post(f"{base_url}/v2/{repo}/blobs/uploads/")
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base_url + location
    sep = "&" if "?" in location else "?"
    done = client.put(f"{location}{sep}digest={digest}", content=data,
                      headers={"Content-Type": "application/octet-stream"})
    done.raise_for_status()


def _put_manifest(client: httpx.Client, base_url: str, repo: str, ref: str, data: bytes, media_type: str) -> None:
    r = client.put(f"{base_url}/v2/{repo}/manifests/{ref}", content=data, headers={"Content-Type": media_type})
    r.raise_for_status()
