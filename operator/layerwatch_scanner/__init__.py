"""layerwatch scanning core: image access, layer-cached inventory, vulnerability matching."""

__version__ = "0.1.0"
