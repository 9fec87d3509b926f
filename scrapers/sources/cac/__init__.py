"""The ``cac`` source: the CAC website's channel pages, in-place pages and notice API."""

__all__ = ["settings", "discovery", "source"]
