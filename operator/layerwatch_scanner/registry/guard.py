"""SSRF guard: which hosts the registry client may talk to.

A registry answers blob requests with redirects to storage; a hostile or compromised registry
could point them at the cloud metadata service or at link-local addresses inside the cluster.
Every host — the registry itself and every redirect target — passes this check, after DNS.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket

from ..errors import BlockedHostError

METADATA_HOSTS = frozenset({
    "metadata.google.internal", "metadata", "metadata.azure.com", "instance-data", "instance-data.ec2.internal",
})
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})


def _blocked_address(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if addr in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return _blocked_address(addr.ipv4_mapped)
    if addr.is_link_local:
        return "a link-local address"
    return None


def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []  # the connection itself will fail with a clear error
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


class HostGuard:
    def __init__(self, allow: list[str] | None = None, deny: list[str] | None = None):
        self.allow = [p.lower() for p in allow or []]
        self.deny = [p.lower() for p in deny or []]

    def _listed(self, patterns: list[str], host: str, port: int | None) -> bool:
        names = {host}
        if port:
            names.add(f"{host}:{port}")
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)

    def check_registry(self, host: str, port: int | None = None) -> None:
        """The registry named in an image reference: allow/deny lists, then addresses."""
        host = host.lower()
        if self._listed(self.deny, host, port):
            raise BlockedHostError(f"registry host {host} is on the deny list")
        if self.allow and not self._listed(self.allow, host, port):
            raise BlockedHostError(f"registry host {host} is not on the allow list")
        self.check_address(host)

    def check_redirect(self, host: str) -> None:
        """A redirect target (blob storage): never metadata or link-local, deny list applies."""
        host = host.lower()
        if self._listed(self.deny, host, None):
            raise BlockedHostError(f"redirect to {host} refused: host is on the deny list")
        self.check_address(host, what="redirect to")

    def check_address(self, host: str, what: str = "registry host") -> None:
        if host.strip("[]") in METADATA_HOSTS:
            raise BlockedHostError(f"{what} {host} refused: a cloud metadata service")
        for addr in resolve(host):
            reason = _blocked_address(addr)
            if reason:
                raise BlockedHostError(f"{what} {host} refused: {addr} is {reason}")
