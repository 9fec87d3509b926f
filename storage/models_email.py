"""Tables of the email notifier (subscribers, subscriptions…). Migration: see storage/migrations/versions."""

from __future__ import annotations

from storage.models import Base  # noqa: F401  - tables declared here join the shared metadata
