"""Imports every model module so that Base.metadata (Alembic, tests) sees all tables."""

from storage import models, models_accounts, models_email, models_identity, models_outbox, models_search, models_service, models_telegram, models_totals, models_web  # noqa: F401
from storage.models import Base

__all__ = ["Base"]
