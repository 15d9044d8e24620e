"""`layerwatch server`: the scanning core as a JSON API for CI (match an inventory, scan an
image, read a stored report), so pipelines need no database of their own."""
