"""The operator's only door into the scanning core: scan, re-match, resolve, update the DB."""

from __future__ import annotations

import base64
import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from layerwatch_scanner import __version__ as SCANNER_VERSION
from layerwatch_scanner.catalog import catalogers_version
from layerwatch_scanner.config import feed_urls
from layerwatch_scanner.errors import LayerwatchError
from layerwatch_scanner.layers.cache import LayerCache
from layerwatch_scanner.match.coverage import DEFAULT_MAX_AGE, WARN_AGE, parse_time, sources_needed
from layerwatch_scanner.rematching import RematchReport, rematch
from layerwatch_scanner.scanning import ScanResult, match, scan_image
from layerwatch_scanner.sources.options import SourceOptions
from layerwatch_scanner.sources.registry import resolve
from layerwatch_scanner.vulndb.artifact import pull_db
from layerwatch_scanner.vulndb.store import DBMetadata, VulnDB
from layerwatch_scanner.vulndb.update import SourceResult, UpdateReport, update_db

from .settings import OperatorSettings

# Rescan when either changes: the layer cache key already covers the catalogers' versions.
SCANNER_IDENTITY = f"{SCANNER_VERSION}/{catalogers_version()}"
RESOLVE_TTL = 300.0
ENRICHMENT_SOURCES = ("kev", "epss")  # every cluster wants them: they rank what was found


@dataclass
class PullAuth:
    """Docker config JSON documents from the pod's and its service account's imagePullSecrets."""

    configs: list[dict]

    def merged_file(self, workdir: Path) -> str | None:
        auths: dict = {}
        for config in self.configs:
            auths.update(config.get("auths") or {})
        if not auths:
            return None
        path = Path(tempfile.mkstemp(prefix="pull-", suffix=".json", dir=workdir)[1])
        path.write_text(json.dumps({"auths": auths}))
        path.chmod(0o600)
        return str(path)


def dockerconfig_from_secret(secret: dict) -> dict | None:
    data = secret.get("data") or {}
    raw = data.get(".dockerconfigjson") or data.get(".dockercfg")
    if not raw:
        return None
    doc = json.loads(base64.b64decode(raw))
    return doc if ".dockerconfigjson" in data else {"auths": doc}


class ScannerPort:
    def __init__(self, settings: OperatorSettings):
        self.settings = settings
        Path(settings.cache_dir).mkdir(parents=True, exist_ok=True)
        self.cache = LayerCache(settings.layer_cache)
        self.workdir = Path(tempfile.mkdtemp(prefix="layerwatch-operator-"))
        self._resolved: dict[tuple, tuple[str, float]] = {}

    def options(self, auth: PullAuth | None) -> SourceOptions:
        return SourceOptions(insecure_registries=self.settings.insecure_registries,
                             allow_hosts=self.settings.registry_allow_hosts,
                             deny_hosts=self.settings.registry_deny_hosts,
                             docker_config=auth.merged_file(self.workdir) if auth else None)

    def resolve(self, image: str, auth: PullAuth | None, auth_key: tuple = ()) -> str:
        """Tag -> digest, once per (image reference, pull secrets) for a few minutes and shared by
        every pod that uses it: pods without an imageID would otherwise each ask the registry."""
        key = (image, auth_key)
        cached = self._resolved.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        digest = resolve(image, self.options(auth))
        self._resolved[key] = (digest, time.monotonic() + RESOLVE_TTL)
        return digest

    def scan(self, image: str, digest: str, auth: PullAuth | None) -> ScanResult:
        name = image.partition("@")[0]
        ref = f"{name}@{digest}" if digest else image
        return scan_image(f"registry:{ref}", self.settings.vulndb, self.options(auth), self.cache)

    def db_ready(self) -> bool:
        return self.settings.vulndb.exists()

    def db_metadata(self) -> DBMetadata:
        db = VulnDB.open(self.settings.vulndb)
        try:
            return db.metadata()
        finally:
            db.close()

    def update_db(self) -> UpdateReport:
        """Pull the database from LAYERWATCH_DB_REPOSITORY when set; else update the feeds the
        cluster needs: LAYERWATCH_SOURCES, or those of the images scanned so far plus kev/epss
        (a Debian-only cluster never downloads Red Hat's archive)."""
        if self.settings.db_repository:
            return self._pull_db()
        return update_db(self.settings.vulndb, self.settings.sources or self.needed_sources(), urls=feed_urls())

    def needed_sources(self) -> list[str]:
        needed = set(ENRICHMENT_SOURCES)
        for inventory in self.cache.iter_inventories():
            needed |= sources_needed(inventory)
        return sorted(needed)

    def missing_sources(self, result: ScanResult) -> bool:
        """Whether a refresh would cover more of this image (the operator fetches feeds on demand)."""
        return not self.settings.db_repository and not self.settings.sources and any(
            g.kind == "missing-source" for g in result.coverage.gaps)

    def _pull_db(self) -> UpdateReport:
        started = time.monotonic()
        options = SourceOptions(insecure_registries=self.settings.insecure_registries,
                                allow_hosts=self.settings.registry_allow_hosts,
                                deny_hosts=self.settings.registry_deny_hosts)
        report = UpdateReport(self.settings.vulndb)
        try:
            digest = pull_db(self.settings.db_repository, self.settings.vulndb, options)
            report.installed = True
            report.results.append(SourceResult("db-repository", f"pulled {digest}",
                                               seconds=time.monotonic() - started))
        except LayerwatchError as exc:  # the database in service stays
            report.results.append(SourceResult("db-repository", "failed", error=str(exc)))
        return report

    def rematch_many(self, digests: list[str]) -> list[ScanResult | None]:
        """Findings and coverage of each image from its cached inventory (None: never scanned
        here), sharing one database handle and one matcher. Images with the same packages in
        the same layers (one base, another config) are matched once."""
        from layerwatch_scanner.match.matcher import Matcher

        db = VulnDB.open(self.settings.vulndb)
        try:
            matcher, meta = Matcher(db), db.metadata()
            made: dict[tuple, ScanResult] = {}
            results: list[ScanResult | None] = []
            copies: list[tuple[str, str]] = []
            for digest in digests:
                inventory = self.cache.load_inventory(digest)
                if inventory is None:
                    results.append(None)
                    continue
                # what findings, advice and coverage depend on: the OS, the layers, the packages
                key = (repr(inventory.os), tuple(inventory.layers), repr(inventory.packages))
                same = made.get(key)
                if same is None:
                    made[key] = same = match(inventory, db, self.cache, matcher=matcher, meta=meta)
                    results.append(same)
                else:
                    copies.append((same.inventory.digest, digest))
                    results.append(dataclasses.replace(same, inventory=inventory))
            self.cache.copy_matches(copies)
            return results
        finally:
            db.close()

    def rematch_all(self) -> RematchReport:
        """Every cached image against the database now in place: only what changed is re-decided."""
        db = VulnDB.open(self.settings.vulndb)
        try:
            return rematch(self.cache, db)
        finally:
            db.close()

    def coverage_fingerprint(self) -> str:
        """Changes when an image's coverage may have (sources held per ecosystem, their age)."""
        db = VulnDB.open(self.settings.vulndb)
        try:
            meta = db.metadata()
            # read as coverage reads them, so the flags agree with the gaps it reports
            ages = {n: time.time() - t.timestamp() if (t := parse_time(s.last_success or "")) else float("inf")
                    for n, s in meta.sources.items()}
            stale = sorted((n, age > WARN_AGE.total_seconds(), age > DEFAULT_MAX_AGE.total_seconds())
                           for n, age in ages.items())
            # which sources hold each ecosystem, not how many records: a refresh that adds
            # advisories changes no image's coverage, and must not re-evaluate every ImageScan
            held = {eco: sorted(sources) for eco, sources in db.sources_by_ecosystem().items()}
            return json.dumps([held, stale], sort_keys=True)
        finally:
            db.close()

