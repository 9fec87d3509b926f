"""Fetching, discovery and parsing of the CAC filing lists."""
