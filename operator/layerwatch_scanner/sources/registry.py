"""`registry:REF` (or a plain reference) — an image in an OCI / Docker v2 registry."""

from __future__ import annotations

from typing import IO, Protocol

from ..digests import VerifyingReader, sha256_digest
from ..errors import DigestMismatchError
from ..model import ImageManifest, LayerRef
from ..registry.client import RegistryClient
from ..registry.credentials import Credentials
from ..registry.guard import HostGuard
from ..registry.reference import parse_reference
from .manifests import ACCEPT, MAX_BLOB_IN_MEMORY, resolve_manifest
from .options import SourceOptions


class BlobMemo(Protocol):
    """Where small blobs named by digest are kept between runs (the layer cache)."""

    def get_blob(self, digest: str) -> tuple[bytes, str] | None: ...

    def put_blob(self, digest: str, data: bytes, media: str = "") -> None: ...


def client_for(registry: str, options: SourceOptions) -> RegistryClient:
    credentials = Credentials(options.username, options.password or "") if options.username else None
    return RegistryClient(registry, credentials=credentials, ca_cert=options.ca_cert,
                          insecure=options.insecure_registries,
                          guard=HostGuard(options.allow_hosts, options.deny_hosts), timeout=options.timeout,
                          docker_config=options.docker_config)


class RegistrySource:
    def __init__(self, reference: str, options: SourceOptions | None = None):
        self.options = options or SourceOptions()
        self.ref = parse_reference(reference)
        self.description = f"registry:{self.ref}"
        self.client = client_for(self.ref.registry, self.options)
        # set by build_inventory when there is a layer cache: configs and manifests named by
        # digest are read from it (verified again) instead of asked for
        self.blob_memo: BlobMemo | None = None

    def _remembered(self, digest: str) -> tuple[bytes, str] | None:
        hit = self.blob_memo.get_blob(digest) if self.blob_memo is not None else None
        return hit if hit is not None and sha256_digest(hit[0]) == digest else None

    def _fetch(self, reference: str) -> tuple[bytes, str]:
        by_digest = reference.startswith("sha256:")
        if by_digest and (hit := self._remembered(reference)):
            return hit
        data, media = self.client.get_manifest(self.ref, reference, ACCEPT)
        if by_digest:
            if sha256_digest(data) != reference:
                raise DigestMismatchError(f"{self.ref}: manifest content does not match its digest {reference}")
            if self.blob_memo is not None:
                self.blob_memo.put_blob(reference, data, media)
        return data, media

    def _blob(self, digest: str) -> bytes:
        if hit := self._remembered(digest):
            return hit[0]
        what = f"{self.ref} config {digest}"
        with VerifyingReader(self.client.open_blob(self.ref, digest, what), digest, what) as reader:
            data = reader.read(MAX_BLOB_IN_MEMORY + 1)
            reader.drain()
        if self.blob_memo is not None:  # it keeps only small ones
            self.blob_memo.put_blob(digest, data)
        return data

    def manifest(self) -> ImageManifest:
        return resolve_manifest(self._fetch, self._blob, self.ref.ref, str(self.ref), self.options.platform,
                                str(self.ref))

    def open_layer(self, layer: LayerRef) -> IO[bytes]:
        what = f"{self.ref} layer {layer.digest}"
        return VerifyingReader(self.client.open_blob(self.ref, layer.digest, what), layer.digest, what,  # type: ignore[return-value]
                               layer.size or None)

    def base_layers(self, name: str, digest: str) -> list[str] | None:
        """The layer digests of the base image an annotation names (None when it cannot be read:
        the advice then assumes the first layer)."""
        from ..errors import LayerwatchError

        try:
            base = RegistrySource(f"{name.split('@')[0]}@{digest}", self.options)
        except LayerwatchError:
            return None
        base.blob_memo = self.blob_memo
        try:
            return [layer.digest for layer in base.manifest().layers]
        except LayerwatchError:
            return None
        finally:
            base.close()

    def resolve_digest(self) -> str:
        """The digest a tag points to now (what the operator records for a tag)."""
        if self.ref.digest:
            return self.ref.digest
        digest = self.client.head_manifest(self.ref, ACCEPT)
        return digest or sha256_digest(self._fetch(self.ref.ref)[0])

    def close(self) -> None:
        self.client.close()


def resolve(reference: str, options: SourceOptions | None = None) -> str:
    source = RegistrySource(reference, options)
    try:
        return source.resolve_digest()
    finally:
        source.close()
