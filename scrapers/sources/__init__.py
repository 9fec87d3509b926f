"""Sources: the places cacwatch watches, one class per kind (see ``base``)."""

__all__ = ["base", "cac"]
