"""`python -m layerwatch_scanner` is the `layerwatch` command."""

from .cli import entry

entry()
