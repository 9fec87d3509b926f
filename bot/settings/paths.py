"""Where each page of the web app lives: one place for the app, its feeds and the messages.

Kept free of the web framework so that the notifiers (Telegram posts, email digests) can link
to pages without importing it.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["list_path", "list_file_path", "archived_file_url", "brief_path", "filing_path", "manage_path", "confirm_path", "page_url"]


def list_path(kind: str, list_month: str) -> str:
    return f"/lists/{quote(kind, safe='')}/{quote(list_month, safe='')}"


def list_file_path(kind: str, list_month: str, version: int | None = None) -> str:
    """cacwatch's archived, sha256-checked copy of a list's file (bot/web/archive.py): the
    current version, or version ``version`` (1-based)."""
    return f"{list_path(kind, list_month)}/file" + (f"/{int(version)}" if version is not None else "")


def archived_file_url(public_url: str | None, kind: str, list_month: str, title: str, name: str) -> str | None:
    """The archived file a message about a list links (beside CAC's attachment link): None
    without ``public_url``, and for a 注销 notice (``/lists/{kind}/{month}`` is the month's
    list, not the notice)."""
    from scrapers.sources.cac.titles import is_cancellation_title

    if not public_url or not kind or not list_month or is_cancellation_title(title) or is_cancellation_title(name):
        return None
    return page_url(public_url, list_file_path(kind, list_month))


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
