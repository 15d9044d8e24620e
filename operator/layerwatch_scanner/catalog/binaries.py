"""Software no package manager installed, recognised from version strings inside its files
(Docker's "binary-level" scanning; Syft's binary classifiers, whose patterns these follow):
Python interpreters and libpython, Node.js, OpenSSL (the `openssl` tool, libssl/libcrypto),
BusyBox, curl and libcurl, nginx, Redis, PostgreSQL, the Go toolchain, and Java runtimes (their
`release` file). Each is reported as `pkg:generic/<name>@<version>` with metadata {"binary": True}.

A file is read as a stream, a window at a time (a Node.js binary is ~90 MB), through the same
seekable view the Go and Rust catalogers use. The layer merge drops a binary that a package of
the image's package manager provides (a `python3.11` next to Debian's `python3.11` package):
only software the package database does not know is reported from its bytes.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass

from ..model import GENERIC, Package
from . import CATALOGER_VERSIONS
from .golang import is_executable

MAX_BINARY = 256 * 1024 * 1024
_WINDOW = 1 << 20
_OVERLAP = 512  # longer than any pattern's match


@dataclass(frozen=True)
class Classifier:
    """Files whose base name matches `names` are searched for `source` (its `version` group)."""

    package: str
    names: re.Pattern
    source: bytes  # compiled on first use: most scans meet none of these files
    provided_by: str  # OS package names that install this software: the binary is theirs
    # literal bytes every match contains: found with bytes.find (C speed over megabytes), the
    # pattern is then tried only around them (a pattern that starts with NUL would be tried at
    # every NUL of a binary otherwise)
    needles: tuple[bytes, ...] = ()

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.source)


@functools.cache
def _compiled(source: bytes | str) -> re.Pattern:
    return re.compile(source)


def _c(package: str, names: str, pattern: bytes, provided_by: str, needles: tuple[bytes, ...]) -> Classifier:
    return Classifier(package, re.compile(names), pattern, provided_by, needles)


CLASSIFIERS = [
    # python3.11 next to "\x003.11.4\x00"; libpython3.11.so.1.0 likewise
    _c("python", r"^(?:python|libpython)(\d+\.\d+)[a-z]?(?:\.so.*)?$", rb"\x00(?P<version>3\.\d+\.\d+[a-z0-9]*|2\.\d+\.\d+[a-z0-9]*)\x00",
       r"^(?:lib)?python\d", (b"\x003.", b"\x002.")),
    _c("node", r"^node$", rb"(?:node\.js/v(?P<version>\d+\.\d+\.\d+))|(?:\x00(?:node )?v(?P<old>(?:0|4|5|6)\.\d+\.\d+)\x00)",
       r"^(?:nodejs|node)$", (b"node.js/v", b"\x00node v", b"\x00v0.", b"\x00v4.", b"\x00v5.", b"\x00v6.")),
    _c("openssl", r"^(?:openssl|libssl\.so.*|libcrypto\.so.*)$",
       rb"\x00OpenSSL (?P<version>\d+\.\d+\.\d+(?:[a-z]+|-alpha\d|-beta\d|-rc\d)?)", r"^(?:openssl|libssl|libcrypto|openssl-libs)",
       (b"\x00OpenSSL ",)),
    _c("busybox", r"^busybox$", rb"BusyBox\s+v(?P<version>\d+\.\d+\.\d+)", r"^busybox", (b"BusyBox",)),
    _c("curl", r"^(?:curl|libcurl\.so.*)$", rb"(?:lib)?curl/(?P<version>\d+\.\d+\.\d+)", r"^(?:curl|libcurl)", (b"curl/",)),
    _c("nginx", r"^nginx$", rb"(?:\x00|\?)nginx version: [^/]+/(?P<version>\d+\.\d+\.\d+)", r"^nginx",
       (b"nginx version: ",)),
    _c("redis", r"^redis-server$",
       rb"(?:[^\d](?P<version>\d+\.\d+\.\d+)buildkitsandbox-\d+)|(?:Redis version (?P<old>\d+\.\d+\.\d+))", r"^redis",
       (b"buildkitsandbox-", b"Redis version ")),
    _c("postgresql", r"^postgres$", rb"(?:\x00|\?)PostgreSQL (?P<version>\d+(?:\.\d+)?(?:\.\d+)?(?:alpha\d|beta\d|rc\d)?)",
       r"^postgresql", (b"PostgreSQL ",)),
    _c("go", r"^go$", rb"go(?P<version>\d+\.\d+(?:\.\d+|beta\d+|alpha\d+|rc\d+)?)\x00", r"^golang", (b"go1.",)),
]
# What NVD calls each (vendor:product of its CPEs): the binaries are matched against NVD's CPE
# ranges (feeds/nvd.py). The Go toolchain is not: the Go cataloger reads its build info and
# matches its stdlib against the Go vulnerability database.
NVD_PRODUCTS: dict[str, tuple[str, ...]] = {
    "python": ("python:python",), "node": ("nodejs:node.js",), "openssl": ("openssl:openssl",),
    "busybox": ("busybox:busybox",), "curl": ("haxx:curl", "haxx:libcurl"), "nginx": ("f5:nginx", "nginx:nginx"),
    "redis": ("redis:redis", "redislabs:redis"), "postgresql": ("postgresql:postgresql",),
    "java": ("oracle:openjdk", "oracle:jdk", "oracle:jre"),
}
# one look per file in wants(): it runs for every file of every layer
_ANY_NAME = re.compile("|".join(f"(?:{c.names.pattern})" for c in CLASSIFIERS))
_JAVA_VERSION = re.compile(rb'^JAVA_VERSION="(?P<version>[^"]+)"', re.M)
_IMPLEMENTOR = re.compile(rb'^IMPLEMENTOR="(?P<name>[^"]+)"', re.M)


class BinaryCataloger:
    name = "binaries"
    version = CATALOGER_VERSIONS["binaries"]
    path_hint = r"(?:/release|\.so[.0-9]*)$"
    executables = True

    def wants(self, path: str, mode: int, size: int) -> bool:
        base = posixpath.basename(path)
        if base == "release":  # a Java runtime's /opt/java/openjdk/release
            return size <= 64 * 1024 and "/usr/share/" not in path and "/etc/" not in path
        if size > MAX_BINARY or size < 64 or not (is_executable(mode) or ".so" in base):
            return False
        return _ANY_NAME.match(base) is not None

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        base = posixpath.basename(file.path)
        if base == "release":
            return _java(file)
        for classifier in CLASSIFIERS:
            if named := classifier.names.match(base):
                version = _search(file, classifier)
                # python3.11 holds other version strings too: only its own series counts
                if version and named.groups() and named.group(1) and not version.startswith(named.group(1) + "."):
                    continue
                if version:
                    return [Package(type=GENERIC, name=classifier.package, version=version, path=file.path,
                                    metadata={"binary": True})]
        return []


def _search(file, classifier: Classifier) -> str:  # noqa: ANN001 - a wanted file
    stream = file.open() if hasattr(file, "open") else None
    if stream is None:
        return _around_needles(file.read(), classifier)
    tail = b""
    while chunk := stream.read(_WINDOW):
        window = tail + chunk
        if version := _around_needles(window, classifier):
            return version
        tail = window[-_OVERLAP:]
    return ""


def _around_needles(data: bytes, classifier: Classifier) -> str:
    pattern = classifier.pattern
    for needle in classifier.needles:
        at = data.find(needle)
        while at >= 0:
            if version := _first(pattern.search(data, max(0, at - 64), at + 256)):
                return version
            at = data.find(needle, at + 1)
    return ""


def _first(m: re.Match | None) -> str:
    if m is None:
        return ""
    groups = m.groupdict()
    return next((v.decode("ascii", "replace") for v in groups.values() if v), "")


def _java(file) -> list[Package]:  # noqa: ANN001
    data = file.read()
    version = _JAVA_VERSION.search(data)
    if not version:
        return []
    implementor = _IMPLEMENTOR.search(data)
    metadata = {"binary": True}
    if implementor:
        metadata["implementor"] = implementor.group("name").decode("utf-8", "replace")
    return [Package(type=GENERIC, name="java", version=version.group("version").decode("ascii", "replace"),
                    path=file.path, metadata=metadata)]


def provided_by_os(pkg: Package, os_package_names: set[str]) -> bool:
    """Whether an OS package installs the software this binary package was read from."""
    classifier = next((c for c in CLASSIFIERS if c.package == pkg.name), None)
    if classifier is None:
        return any(n.startswith(("openjdk", "java-", "temurin", "zulu")) for n in os_package_names) \
            if pkg.name == "java" else False
    return any(_compiled(classifier.provided_by).match(n) for n in os_package_names)


CATALOGER = BinaryCataloger()
