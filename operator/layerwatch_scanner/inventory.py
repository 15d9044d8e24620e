"""Build an image's inventory: manifest, then each layer once (from the cache when it can)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .catalog import all_catalogers, catalogers_version
from .interfaces import Cataloger, ImageSource, Progress
from .layers.cache import LayerCache
from .layers.merge import build
from .layers.walk import catalog_entries, catalog_layer
from .model import ImageManifest, Inventory, LayerRef, LayerResult

# Layers are independent: two are streamed at once (decompression releases the GIL).
LAYER_WORKERS = 2


def _catalog_one(source: ImageSource, manifest: ImageManifest, layer: LayerRef,
                 catalogers: list[Cataloger]) -> LayerResult:
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
    catalogers = catalogers if catalogers is not None else all_catalogers()
    version = catalogers_version(catalogers)
    manifest = source.manifest()
    cacheable = cache is not None and getattr(source, "cacheable", True)
    total = len(manifest.layers)
    results: dict[int, LayerResult] = {}
    missing: list[int] = []
    for i, layer in enumerate(manifest.layers):
        hit = cache.get_layer(layer.digest, version) if cacheable and cache else None
        if hit is not None:
            results[i] = hit
        else:
            missing.append(i)
    done = total - len(missing)
    if progress:
        progress(f"{manifest.reference}: layers", done, total)
    if missing:
        workers = LAYER_WORKERS if getattr(source, "parallel_layers", True) else 1
        with ThreadPoolExecutor(max_workers=min(workers, len(missing))) as pool:
            futures = {i: pool.submit(_catalog_one, source, manifest, manifest.layers[i], catalogers)
                       for i in missing}
            for i in missing:
                results[i] = futures[i].result()
                if cacheable and cache:
                    cache.put_layer(results[i], version)
                done += 1
                if progress:
                    progress(f"{manifest.reference}: layers", done, total)
    inventory = build(manifest.reference, manifest.index_digest or manifest.digest, manifest.platform,
                      [results[i] for i in range(total)])
    inventory.warnings[:0] = getattr(source, "warnings", [])
    # a warm rescan of a known image changes nothing stored: skip the write (it is most of its time)
    if cacheable and cache and (missing or not cache.has_inventory(inventory.digest)):
        cache.store_inventory(inventory)
    return inventory
