"""Pick the manifest for one platform out of an OCI index / Docker manifest list."""

from __future__ import annotations

from ..errors import UnsupportedManifestError


def parse_platform(value: str) -> tuple[str, str, str]:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UnsupportedManifestError(f"invalid platform {value!r}: expected os/arch[/variant], e.g. linux/arm64")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def platform_string(desc_platform: dict) -> str:
    parts = [desc_platform.get("os", ""), desc_platform.get("architecture", "")]
    if desc_platform.get("variant"):
        parts.append(desc_platform["variant"])
    return "/".join(parts)


def select_platform(manifests: list[dict], platform: str, what: str) -> dict:
    """The index entry for `platform`; an arm64 request matches a v8 variant entry too."""
    want_os, want_arch, want_variant = parse_platform(platform)
    candidates = []
    for desc in manifests:
        p = desc.get("platform") or {}
        if p.get("os") != want_os or p.get("architecture") != want_arch:
            continue
        variant = p.get("variant", "")
        if want_variant and variant != want_variant:
            continue
        candidates.append(desc)
    if not candidates:
        available = sorted({platform_string(d.get("platform") or {}) for d in manifests} - {"", "/"})
        raise UnsupportedManifestError(
            f"{what}: no manifest for platform {platform}; available: {', '.join(available) or 'none'}"
        )
    return candidates[0]
