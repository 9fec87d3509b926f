"""Ingest: one poll over the configured sources, stored through the repositories."""
