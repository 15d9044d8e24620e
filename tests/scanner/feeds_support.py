"""Real feed files served in their upstream layout by a local HTTP server (fixture in tests/scanner/conftest.py)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import yaml

from tests.conftest import TESTDATA
from tests.support.feedserver import FeedServer

FEEDS = TESTDATA / "feeds"


def zip_of(files: list[Path], to_json: bool = False) -> bytes:
    """An osv.dev-style all.zip: one JSON record per member."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            if to_json:  # the PyPA advisory database is YAML; osv.dev exports the same records as JSON
                archive.writestr(f.stem + ".json", json.dumps(yaml.safe_load(f.read_text()), default=str))
            else:
                archive.writestr(f.name, f.read_bytes())
    return buf.getvalue()


def upstream_files() -> dict[str, bytes]:
    files = {
        "/tracker/data/json": (FEEDS / "debian/vunnel-subset.json").read_bytes(),
        "/Ubuntu/all.zip": zip_of(sorted((FEEDS / "ubuntu/cve").rglob("*.json"))),
        "/PyPI/all.zip": zip_of(sorted((FEEDS / "osv-pypi").rglob("*.yaml")), to_json=True),
        "/Go/all.zip": zip_of(sorted((FEEDS / "osv-go").glob("*.json"))),
        "/kev.json": (FEEDS / "kev/valid-catalog-1.json").read_bytes(),
        "/epss.csv": (FEEDS / "epss/epss_scores-subset.csv").read_bytes(),
        "/nvd": (FEEDS / "nvd/cves-page-38-items.json").read_bytes(),
    }
    for f in (FEEDS / "alpine").rglob("*.json"):
        if f.parent.name.startswith(("v", "edge")) and f.name in ("main.json", "community.json"):
            files[f"/secdb/{f.parent.name}/{f.name}"] = f.read_bytes()
    return files


def source_urls(server: FeedServer) -> dict[str, str]:
    return {
        "debian": f"{server.url}/tracker/data/json",
        "ubuntu": f"{server.url}/Ubuntu/all.zip",
        "alpine": f"{server.url}/secdb",
        "osv-pypi": f"{server.url}/PyPI/all.zip",
        "osv-go": f"{server.url}/Go/all.zip",
        "kev": f"{server.url}/kev.json",
        "epss": f"{server.url}/epss.csv",
        "nvd": f"{server.url}/nvd",
        "ghsa": (FEEDS / "ghsa/advisories").as_uri(),
    }


SOURCES = ["debian", "ubuntu", "alpine", "osv-pypi", "osv-go", "kev", "epss", "nvd", "ghsa"]
