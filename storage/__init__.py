"""Persistence: models, migrations and queries (SQLAlchemy 2, SQLite or PostgreSQL)."""
