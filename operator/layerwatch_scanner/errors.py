"""Errors of the scanning core. Every message names the image, layer, file or URL at fault."""


class LayerwatchError(Exception):
    """Base class: a clear, user-facing error (the CLI prints it without a traceback)."""


class RegistryError(LayerwatchError):
    """The registry refused, failed or answered something we cannot use."""


class AuthError(RegistryError):
    """Credentials missing or refused."""


class BlockedHostError(RegistryError):
    """A host refused by the SSRF guard (link-local, metadata, deny list, not on allow list)."""


class UnsupportedManifestError(RegistryError):
    """Schema 1, an unknown media type, or no manifest for the requested platform."""


class DigestMismatchError(LayerwatchError):
    """A blob's content does not hash to the digest it was fetched by."""


class SourceError(LayerwatchError):
    """An image source (archive, OCI layout, directory) is missing or malformed."""


class LayerError(LayerwatchError):
    """A layer cannot be read: bad compression, hostile tar entry, oversized file."""


class CatalogError(LayerwatchError):
    """A package database inside the image is malformed (gives a warning, not a failed scan)."""


class VulnDBError(LayerwatchError):
    """The vulnerability database is missing, corrupt or of an unknown schema."""


class FeedError(LayerwatchError):
    """A feed could not be downloaded or parsed; the previous database stays in service."""
