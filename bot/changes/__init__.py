"""Changes: events built from what a poll stored, findings, companies and the watchlist."""
