"""The floor every room stands on: the settings models (``config``) and the pure checks they are
validated with — outbound URLs (``netguard``), email addresses and schedules
(``email_validation``), watch patterns (``patterns``), event type names (``event_types``) — plus
what every room needs from them without anything above: where each web page lives (``paths``),
how a URL is shown (``redact``) and how the service logs (``logs``).

Nothing here imports another room of ``bot``; every room may import this one.
"""
