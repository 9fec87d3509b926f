"""The cacwatch application: app (CLI, service), ingest, changes, delivery."""
