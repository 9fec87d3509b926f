"""Where each page of the web app lives: one place for the app, its feeds and the messages.

Kept free of the web framework so that the notifiers (Telegram posts, email digests) can link
to pages without importing it.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["list_path", "brief_path", "filing_path", "manage_path", "confirm_path", "page_url"]


def list_path(kind: str, list_month: str) -> str:
    return f"/lists/{quote(kind, safe='')}/{quote(list_month, safe='')}"


def brief_path(kind: str, list_month: str, fmt: str = "pdf", lang: str = "both") -> str:
    """The brief of a list as a document (bot/web/briefs.py)."""
    return f"{list_path(kind, list_month)}/brief.{quote(fmt, safe='')}?lang={quote(lang, safe='')}"


def filing_path(kind: str, filing_number: str) -> str:
    return f"/filings/{quote(kind, safe='')}/{quote(filing_number, safe='')}"


def manage_path(token: str) -> str:
    """A subscriber's preferences page (bot/web/subscriptions.py): the link every digest carries."""
    return f"/subscriptions/manage?token={quote(token, safe='')}"


def confirm_path(token: str) -> str:
    """The double opt-in link of a sign-up's confirmation mail."""
    return f"/subscribe/confirm?token={quote(token, safe='')}"


def page_url(public_url: str | None, path: str) -> str | None:
    """``public_url`` + ``path``, or None when no public address is configured (no links then)."""
    return f"{public_url.rstrip('/')}{path}" if public_url else None
