"""Plain data shared by every part of the scanning core.

Dataclasses (not pydantic) because an inventory holds thousands of packages and is built on
the hot path of every scan; `to_dict`/`from_dict` give the JSON used by the layer cache and
the reports.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Package types, named as in Package URLs (https://github.com/package-url/purl-spec).
DEB = "deb"
APK = "apk"
RPM = "rpm"
PYPI = "pypi"
NPM = "npm"
GOLANG = "golang"
MAVEN = "maven"
GEM = "gem"
CARGO = "cargo"
NUGET = "nuget"
COMPOSER = "composer"
GENERIC = "generic"  # software found in files no package manager installed (catalog/binaries.py)

OS_PACKAGE_TYPES = frozenset({DEB, APK, RPM})


@dataclass(slots=True)
class Package:
    """One installed package, as a cataloger found it."""

    type: str  # one of the constants above
    name: str  # binary package name (dpkg/apk/rpm) or the ecosystem's package name
    version: str  # full version as the ecosystem writes it (dpkg: "1:2.3-4", rpm: "[E:]V-R")
    path: str  # file it was read from, absolute inside the image ("/var/lib/dpkg/status")
    source_name: str = ""  # dpkg Source, apk origin, rpm source RPM name; "" if same as name
    source_version: str = ""  # dpkg source version when it differs from the binary version
    arch: str = ""
    namespace: str = ""  # Maven groupId, npm scope is part of name ("@scope/pkg")
    licenses: list[str] = field(default_factory=list)
    layer: str = ""  # digest of the layer that introduced it (set when layers are merged)
    metadata: dict[str, Any] = field(default_factory=dict)  # cataloger-specific extras

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Identity used to tell whether a later layer changed the package."""
        return (self.type, self.namespace, self.name, self.version, self.arch)

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: its deep copy was a tenth of a cold scan (every package
        # is written to the layer cache twice)
        out: dict[str, Any] = {}
        for name in _PACKAGE_FIELDS:
            value = getattr(self, name)
            if value not in ("", [], {}):
                out[name] = list(value) if name == "licenses" else copy.deepcopy(value) if name == "metadata" else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Package:
        return cls(**data)


_PACKAGE_FIELDS = tuple(f.name for f in fields(Package))


@dataclass(slots=True)
class OSInfo:
    """The distribution of an image, from os-release and friends."""

    id: str  # "debian", "ubuntu", "alpine", "rhel", ...
    version_id: str = ""  # "12", "22.04", "3.18.4"
    version_codename: str = ""  # "bookworm", "jammy"
    pretty_name: str = ""
    id_like: list[str] = field(default_factory=list)
    distroless: bool = False
    # repositories the image's rpms came from, from Red Hat content manifests
    # (distros/redhat/content_manifests.py): they name the product stream (EUS...)
    content_sets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", [], {}, False)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OSInfo:
        return cls(**data)


@dataclass(slots=True)
class LayerResult:
    """What cataloging one layer found: the unit stored in the layer cache.

    Packages are grouped by the file they came from, because a later layer that rewrites
    that file (an upgraded dpkg `status`) replaces its whole list, and a whiteout of the file
    or a directory above it removes it.
    """

    digest: str
    files: dict[str, list[Package]] = field(default_factory=dict)  # path -> packages read from it
    os_files: dict[str, str] = field(default_factory=dict)  # os-release-like path -> text
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target, for wanted paths
    whiteouts: list[str] = field(default_factory=list)  # paths deleted by this layer
    opaque_dirs: list[str] = field(default_factory=list)  # dirs whose lower contents are hidden
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "files": {p: [pkg.to_dict() for pkg in pkgs] for p, pkgs in self.files.items()},
            "os_files": self.os_files,
            "symlinks": self.symlinks,
            "whiteouts": self.whiteouts,
            "opaque_dirs": self.opaque_dirs,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerResult:
        return cls(
            digest=data["digest"],
            files={p: [Package.from_dict(d) for d in pkgs] for p, pkgs in data.get("files", {}).items()},
            os_files=data.get("os_files", {}),
            symlinks=data.get("symlinks", {}),
            whiteouts=data.get("whiteouts", []),
            opaque_dirs=data.get("opaque_dirs", []),
            warnings=data.get("warnings", []),
        )


@dataclass(slots=True)
class LayerRef:
    """A layer as the manifest names it."""

    digest: str  # digest of the blob as stored (compressed)
    media_type: str = ""
    size: int = 0
    diff_id: str = ""  # digest of the uncompressed tar, from the image config, when known


@dataclass(slots=True)
class ImageManifest:
    """The platform-specific manifest of an image, with its config already fetched."""

    reference: str  # what the user asked for, normalised ("docker.io/library/nginx:1.25")
    digest: str  # manifest digest (for a multi-arch image: the index digest is index_digest)
    media_type: str
    config_digest: str
    config: dict[str, Any]
    layers: list[LayerRef]
    platform: str = "linux/amd64"
    index_digest: str = ""
    annotations: dict[str, str] = field(default_factory=dict)  # the manifest's (OCI base annotations)


@dataclass(slots=True)
class Inventory:
    """Everything installed in one image: the merge of its layers."""

    image: str
    digest: str
    os: OSInfo | None
    packages: list[Package]
    layers: list[str]  # layer digests, bottom first
    platform: str = "linux/amd64"
    warnings: list[str] = field(default_factory=list)
    # Package URLs parallel to `packages`, when known (kept in the layer cache: see purl.purls_of)
    purls: list[str] = field(default_factory=list)
    # the base image: {"name", "digest" (from the OCI base annotations), "layers": how many bottom
    # layers are its own, "from": "annotation" | "first-layer"} (inventory.image_base)
    base: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "image": self.image,
            "digest": self.digest,
            "platform": self.platform,
            "os": self.os.to_dict() if self.os else None,
            "layers": self.layers,
            "packages": [p.to_dict() for p in self.packages],
            "warnings": self.warnings,
        }
        if self.base:
            out["base"] = self.base
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inventory:
        return cls(
            image=data["image"],
            digest=data["digest"],
            platform=data.get("platform", "linux/amd64"),
            os=OSInfo.from_dict(data["os"]) if data.get("os") else None,
            layers=data.get("layers", []),
            packages=[Package.from_dict(p) for p in data.get("packages", [])],
            warnings=data.get("warnings", []),
            base=data.get("base") if isinstance(data.get("base"), dict) else {},
        )


def describe_os(os: OSInfo | None) -> str:
    """"debian 12" / "unknown OS": used in messages and tables."""
    if os is None:
        return "unknown OS"
    return f"{os.id} {os.version_id}".strip()
