"""Sources: fetching, discovery (per source kind) and parsing into typed records."""
