"""The read side: one ASGI app with the pages, the JSON API and the feeds (``cacwatch serve``)."""
