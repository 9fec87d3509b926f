"""Email digests for law firms: subscribers, the rendered digest, the SMTP notifier.

``subscribers`` (who, how often, which filters), ``digest`` (one MIME message over several
events: text + HTML, inline chart, CSV and XLSX of the rows), ``notifier`` (``EmailNotifier``,
outbox destinations ``email:<address>``, sending with aiosmtplib).
"""

__all__ = ["validation", "subscribers", "sections", "attachments", "digest", "notifier"]
