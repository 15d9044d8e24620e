"""Re-matching by delta gives exactly what a full re-match gives, on random in-place updates of
a database built from the fixture feeds, over images built from the fixture package databases."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.layers.cache import LayerCache
from layerwatch_scanner.match.ecosystems import lookup_for
from layerwatch_scanner.rematching import rematch
from layerwatch_scanner.scanning import match
from layerwatch_scanner.sources import open_source
from layerwatch_scanner.vulndb.records import Affected, Range, VulnInfo
from layerwatch_scanner.vulndb.store import VulnDB, VulnDBWriter
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import SOURCES, source_urls
from tests.support.images import Image, file, make_layer, write_oci_layout

PKGDB = TESTDATA / "pkgdb"
IMAGES = {  # os-release, package database path in the image, fixture file
    "ubuntu": ("ubuntu-18.04", "var/lib/dpkg/status", "dpkg/ubuntu-18.04/var/lib/dpkg/status"),
    "debian": ("debian-10", "var/lib/dpkg/status", "dpkg/debian-10-nginx/var/lib/dpkg/status"),
    "alpine": ("alpine-3.18", "lib/apk/db/installed", "apk/alpine-3.18/lib/apk/db/installed"),
}


def _images(tmp_path: Path) -> list[str]:
    layouts = []
    for name, (release, target, source) in IMAGES.items():
        base = make_layer([file("etc/os-release", (PKGDB / "os-release" / release / "etc/os-release").read_bytes()),
                           file(target, (PKGDB / source).read_bytes())])
        # a second image on the same base with an app layer: two images share every base package
        app = make_layer([file("app/node_modules/lodash/package.json", '{"name": "lodash", "version": "4.17.15"}'),
                          file(f"app/{name}.txt", name)])
        layouts.append(write_oci_layout(tmp_path / name, Image([base])))
        layouts.append(write_oci_layout(tmp_path / f"{name}-app", Image([base, app])))
    return [f"oci-dir:{layout}" for layout in layouts]


def _findings(result) -> tuple[list[dict], list[str]]:  # noqa: ANN001
    return [f.to_dict() for f in result.findings], sorted(result.problems)


def _random_update(db_path: Path, rng: random.Random, keys: list[tuple[str, str, str]], round_: int) -> None:
    """Add advisories for installed packages (some fixed above, some below the installed
    version, some unreadable), drop the previous round's, and flip enrichment of real ids."""
    writer = VulnDBWriter(db_path, in_place=True)
    writer.begin_source("test-delta")
    writer.delete_source("test-delta")
    for i, (ecosystem, package, version) in enumerate(rng.sample(keys, min(len(keys), 25))):
        fixed = rng.choice([version + ".1", "0", "999:1", version, "not a version!"])
        writer.add_affected(Affected(f"TEST-{round_}-{i}", ecosystem, package, "test-delta",
                                     ranges=[Range(fixed=fixed)], severity=rng.choice(["High", "Low", ""])))
    writer.end_source(True)
    db = VulnDB.open(db_path)
    ids = [r[0] for r in db._db.execute("SELECT DISTINCT vuln_id FROM affected ORDER BY 1")]
    db.close()
    writer.begin_source("kev")
    for vuln_id in rng.sample(ids, 10):
        writer.add_info(VulnInfo(vuln_id=vuln_id, kev=True, aliases=[f"ALIAS-{round_}"]))
    writer.end_source(True)
    writer.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_delta_rematch_equals_full_rematch(feed_server, tmp_path: Path, seed: int) -> None:
    db_path = tmp_path / "vulndb.sqlite"
    assert not update_db(db_path, SOURCES, source_urls(feed_server)).failed
    cache = LayerCache(tmp_path / "cache.sqlite")
    inventories = [build_inventory(open_source(spec), cache=cache) for spec in _images(tmp_path)]
    keys = sorted({(*lookup[:2], pkg.version) for inv in inventories for pkg in inv.packages
                   if (lookup := lookup_for(pkg, inv.os))})
    assert rematch(cache, VulnDB.open(db_path)).mode == "full"
    rng = random.Random(seed)
    for round_ in range(4):
        _random_update(db_path, rng, keys, round_)
        copy = sqlite3.connect(tmp_path / "full.sqlite")
        cache._conn().backup(copy)  # the cache as it is (WAL pages included)
        copy.close()
        delta = rematch(cache, VulnDB.open(db_path))
        full = rematch(LayerCache(tmp_path / "full.sqlite"), VulnDB.open(db_path), full=True)
        assert delta.mode == "delta" and full.mode == "full"
        assert 0 < delta.changed_packages and delta.decisions < full.decisions
        assert {d.digest: d.advisories for d in delta.diffs} == {d.digest: d.advisories for d in full.diffs}
        assert delta.diffs  # the random advisories did hit
        for mine, theirs in zip(delta.diffs, full.diffs, strict=True):
            assert (mine.added, mine.removed, mine.modified) == (theirs.added, theirs.removed, theirs.modified)
        # and what each image shows now is what matching it from scratch shows
        db = VulnDB.open(db_path)
        for inventory in inventories:
            assert _findings(match(inventory, db, cache)) == _findings(match(inventory, db, None))


def test_an_unchanged_database_rematches_nothing(feed_server, tmp_path: Path) -> None:
    db_path = tmp_path / "vulndb.sqlite"
    assert not update_db(db_path, SOURCES, source_urls(feed_server)).failed
    cache = LayerCache(tmp_path / "cache.sqlite")
    for spec in _images(tmp_path):
        build_inventory(open_source(spec), cache=cache)
    assert rematch(cache, VulnDB.open(db_path)).decisions > 0
    assert not update_db(db_path, SOURCES, source_urls(feed_server)).failed  # the same feeds again
    again = rematch(cache, VulnDB.open(db_path))
    assert (again.mode, again.changed_packages, again.decisions, again.rematched, again.diffs) == (
        "delta", 0, 0, 0, [])


def test_a_match_against_a_database_the_rematches_moved_past_is_never_taken_for_current(
        feed_server, tmp_path: Path) -> None:
    """Delta re-matches keep unaffected matches current without rewriting them; a scan with an
    older copy of the database must not leave a match that then passes for current."""
    db_path, old_path = tmp_path / "vulndb.sqlite", tmp_path / "old.sqlite"
    assert not update_db(db_path, SOURCES, source_urls(feed_server)).failed
    cache = LayerCache(tmp_path / "cache.sqlite")
    inventories = [build_inventory(open_source(spec), cache=cache) for spec in _images(tmp_path)]
    keys = sorted({(*lookup[:2], pkg.version) for inv in inventories for pkg in inv.packages
                   if (lookup := lookup_for(pkg, inv.os))})
    rematch(cache, VulnDB.open(db_path))
    copy = sqlite3.connect(old_path)
    sqlite3.connect(db_path).backup(copy)
    copy.close()
    _random_update(db_path, random.Random(5), keys, 0)
    assert rematch(cache, VulnDB.open(db_path)).diffs
    old, new = VulnDB.open(old_path), VulnDB.open(db_path)
    for inventory in inventories:
        assert _findings(match(inventory, old, cache)) == _findings(match(inventory, old, None))
        assert _findings(match(inventory, new, cache)) == _findings(match(inventory, new, None))
