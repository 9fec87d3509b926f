"""Transactional outbox: events and their deliveries (one per event and destination)."""

from __future__ import annotations

from storage.models import Base  # noqa: F401
