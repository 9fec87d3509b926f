"""The ``cac`` source: the CAC website's channel pages, in-place pages and notice API.

Importing the package registers ``CacSource`` under its kind (``scrapers.sources.base``),
so whoever reads ``sources.cac`` settings can build the source by name.
"""

from scrapers.sources.cac.source import CacSource

__all__ = ["CacSource", "settings", "titles", "pages", "discovery", "source"]
