"""Build an image's inventory: manifest, then each layer once (from the cache when it can)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from .catalog import catalogers_version

if TYPE_CHECKING:
    from .interfaces import Cataloger, ImageSource, Progress
    from .layers.cache import LayerCache
    from .model import ImageManifest, Inventory, LayerRef, LayerResult

T = TypeVar("T")
R = TypeVar("R")

# Layers are independent: they are streamed and decompressed in parallel (zlib, ISA-L and zstd
# release the GIL while they work), up to one per core and never more than this (each worker
# holds at most one file it is reading, bounded by the catalogers' size limits).
MAX_LAYER_WORKERS = 4


def layer_workers(layers: int) -> int:
    return max(1, min(layers, MAX_LAYER_WORKERS, os.cpu_count() or 1))


def in_threads(fn: Callable[[T], R], items: list[T], workers: int) -> Iterator[R]:
    """fn over items on `workers` threads, taken in order; results yielded in that order. The
    first error stops the workers taking more, and is raised once they are done. (Plain threads:
    concurrent.futures imports logging, ~10 ms of a cold scan's start.)"""
    results: dict[int, R] = {}
    errors: dict[int, BaseException] = {}
    finished = [threading.Event() for _ in items]
    pending = iter(range(len(items)))
    lock, stop = threading.Lock(), threading.Event()

    def work() -> None:
        while not stop.is_set():
            with lock:
                k = next(pending, None)
            if k is None:
                return
            try:
                results[k] = fn(items[k])
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                errors[k] = exc
                stop.set()
            finally:
                finished[k].set()

    threads = [threading.Thread(target=work, name=f"layer-{n}", daemon=True) for n in range(max(1, workers))]
    for thread in threads:
        thread.start()
    try:
        for k in range(len(items)):
            finished[k].wait()  # items are taken in order: every one before a failed one finishes
            if k in errors:
                break
            yield results.pop(k)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[min(errors)]


BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def image_base(source: ImageSource, manifest: ImageManifest) -> dict:
    """The base image the OCI annotations (or labels) name, with the count of the image's bottom
    layers that are the base's own when its manifest can be read; {} when nothing names one."""
    labels = ((manifest.config or {}).get("config") or {}).get("Labels")
    marks = {**(labels if isinstance(labels, dict) else {}), **manifest.annotations}
    name, digest = str(marks.get(BASE_NAME) or "")[:300], str(marks.get(BASE_DIGEST) or "")
    if not name and not digest:
        return {}
    base: dict = {"name": name, "digest": digest if _DIGEST.match(digest) else "", "from": "first-layer"}
    lookup = getattr(source, "base_layers", None)
    if lookup is not None and name and base["digest"]:
        theirs = lookup(name, base["digest"])
        mine = [layer.digest for layer in manifest.layers]
        count = 0
        while theirs and count < min(len(theirs), len(mine)) and theirs[count] == mine[count]:
            count += 1
        if count:
            base.update({"layers": count, "from": "annotation"})
    return base


def _catalog_one(source: ImageSource, manifest: ImageManifest, layer: LayerRef,
                 catalogers: list[Cataloger]) -> LayerResult:
    from .layers.walk import catalog_entries, catalog_layer

    what = f"{manifest.reference} layer {layer.digest}"
    entries = getattr(source, "entries", None)
    if entries is not None:  # a directory: walk the filesystem, no blob
        return catalog_entries(entries(), layer.digest, catalogers, what)
    with source.open_layer(layer) as blob:  # type: ignore[attr-defined]
        return catalog_layer(blob, layer.digest, catalogers, what)


def build_inventory(
    source: ImageSource,
    catalogers: list[Cataloger] | None = None,
    cache: LayerCache | None = None,
    progress: Progress | None = None,
) -> Inventory:
    version = catalogers_version(catalogers)
    cacheable = cache is not None and getattr(source, "cacheable", True)
    if cacheable and hasattr(source, "blob_memo"):
        source.blob_memo = cache  # a registry's configs and manifests by digest, kept between runs
    manifest = source.manifest()
    digest = manifest.index_digest or manifest.digest
    if cacheable and cache:
        # a warm rescan: this image was cataloged from these very layers by these catalogers
        warm = cache.warm_inventory(digest, [layer.digest for layer in manifest.layers], version)
        if warm is not None and warm.platform == manifest.platform:
            warm.image = manifest.reference
            return warm
    return _catalog_layers(source, manifest, catalogers, version, cache if cacheable else None, progress)


def _catalog_layers(source: ImageSource, manifest: ImageManifest, catalogers: list[Cataloger] | None, version: str,
                    cache: LayerCache | None, progress: Progress | None) -> Inventory:
    from .catalog import all_catalogers
    from .layers.merge import build
    from .purl import purls_of

    catalogers = catalogers if catalogers is not None else all_catalogers()
    total = len(manifest.layers)
    results: dict[int, LayerResult] = {}
    missing: list[int] = []
    for i, layer in enumerate(manifest.layers):
        hit = cache.get_layer(layer.digest, version) if cache else None
        if hit is not None:
            results[i] = hit
        else:
            missing.append(i)
    done = total - len(missing)
    if progress:
        progress(f"{manifest.reference}: layers", done, total)
    if missing:
        workers = layer_workers(len(missing)) if getattr(source, "parallel_layers", True) else 1
        # the largest first: the image is done when its biggest layer is, so start that one early
        order = sorted(missing, key=lambda i: -manifest.layers[i].size)
        layer_of = lambda i: _catalog_one(source, manifest, manifest.layers[i], catalogers)  # noqa: E731
        for i, result in zip(order, in_threads(layer_of, order, workers), strict=True):
            results[i] = result
            if cache:
                cache.put_layer(result, version)
            done += 1
            if progress:
                progress(f"{manifest.reference}: layers", done, total)
    inventory = build(manifest.reference, manifest.index_digest or manifest.digest, manifest.platform,
                      [results[i] for i in range(total)])
    inventory.base = image_base(source, manifest)
    inventory.warnings[:0] = getattr(source, "warnings", [])
    if cache:
        from .match.ecosystems import package_rows

        purls_of(inventory)  # stored with it: reports of a warm rescan read them
        cache.store_inventory(inventory, version, package_rows(inventory.packages, inventory.os))
    return inventory
