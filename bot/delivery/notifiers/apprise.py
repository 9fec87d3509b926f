"""Apprise channels for internal tools: DingTalk, Feishu, WeCom, Slack, Teams, json:// …

Each configured ``apprise`` entry is one notifier; each of its URLs is its own outbox
destination, so a failure at one service is retried there alone and never re-sends to the
others. The text is ``plain_summary`` — the same story every channel tells.

Apprise URLs carry tokens, so destinations are ``apprise:<scheme>:<hash>``, never the URL,
and errors name the scheme only. Targets whose host the user chooses and that speak HTTP
(json://, form://, xml:// and their secure ``s`` forms) go through the outbound-URL guard
(``bot.delivery.netguard``) before every send, unless ``allow_private`` is set. Apprise connects
with its own HTTP stack, so the guard's connect-time (DNS-rebinding) check does not cover
it: the send-time check is the protection there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from urllib.parse import urlsplit

import apprise
from storage.db import Database, Session

from bot.app.config import AppriseSettings
from bot.changes.event_schema import Event
from bot.delivery.netguard import UnresolvableHost, UnsafeURL, avalidate_outbound_url, check
from bot.delivery.notifiers.base import DeliveryError, Notifier, passes_filters
from bot.delivery.notifiers.text import plain_summary, summary_title

__all__ = ["AppriseNotifier", "http_equivalent"]

# Apprise schemes that POST to a host the user names → the http(s) URL the guard judges.
_HTTP_LIKE = {"json": "http", "jsons": "https", "form": "http", "forms": "https", "xml": "http", "xmls": "https"}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def http_equivalent(url: str) -> str | None:
    """``json://user:pw@host:8080/p?x`` → ``http://host:8080/p`` (credentials dropped: Apprise
    uses them as basic auth, which is fine); None for schemes with fixed public hosts."""
    scheme = _HTTP_LIKE.get(_scheme(url))
    if scheme is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":invalid"  # the guard reports it as malformed
    return f"{scheme}://{host}{port}{parts.path}"


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class AppriseNotifier(Notifier):
    """One ``apprise`` entry of config.yaml (several Apprise URLs)."""

    kind = "apprise"

    @classmethod
    def from_settings(cls, settings: AppriseSettings, db: Database | None = None) -> Notifier:
        return cls(settings)

    def __init__(self, settings: AppriseSettings) -> None:
        self.settings = settings
        asset = apprise.AppriseAsset(app_id="cacwatch", app_desc="cacwatch")
        self._targets: dict[str, tuple[str, apprise.Apprise]] = {}  # destination → (url, apprise)
        for index, url in enumerate(settings.urls):
            scheme = _scheme(url)
            equivalent = http_equivalent(url)
            if equivalent is not None:
                # Static part of the guard (no DNS): a literal private address fails here.
                problem = check(equivalent, allow_private=settings.allow_private, resolve=False)
                if problem:
                    raise ValueError(f"apprise urls[{index}] ({scheme}://): {problem}")
            one = apprise.Apprise(asset=asset)
            if not one.add(url):
                raise ValueError(f"apprise urls[{index}]: not a usable Apprise URL (scheme {scheme!r})")
            self._targets[f"apprise:{scheme}:{_url_key(url)}"] = (url, one)
        self._key = _url_key("\n".join(settings.urls))

    def __repr__(self) -> str:  # URLs hold tokens
        return f"AppriseNotifier({', '.join(self._targets)})"

    @property
    def destination(self) -> str:
        return f"apprise:{self._key}"

    @property
    def destinations(self) -> list[str]:
        """One per URL, in config order."""
        return list(self._targets)

    def accepts(self, event: Event) -> bool:
        return passes_filters(self.settings, event)

    def fan_out(self, event: Event, session: Session) -> list[str]:
        return self.destinations if self.accepts(event) else []

    def problems(self) -> list[str]:
        """What is wrong with the HTTP-like targets now (resolves DNS): for startup checks/logs."""
        found = []
        for destination, (url, _) in self._targets.items():
            equivalent = http_equivalent(url)
            if equivalent is not None:
                problem = check(equivalent, allow_private=self.settings.allow_private)
                if problem:
                    found.append(f"{destination}: {problem}")
        return found

    def message(self, event: Event) -> tuple[str, str]:
        """(title, body) as sent."""
        title = summary_title(event, self.settings.language)
        if self.settings.title_prefix:
            title = f"{self.settings.title_prefix}: {title}"
        return title, plain_summary(event, self.settings.language)

    async def _send(self, destination: str, title: str, body: str) -> None:
        url, one = self._targets[destination]
        scheme = _scheme(url)
        equivalent = http_equivalent(url)
        if equivalent is not None:
            try:
                await avalidate_outbound_url(equivalent, allow_private=self.settings.allow_private)
            except UnresolvableHost as err:
                raise DeliveryError(f"{scheme}://: {err}", retryable=True) from None
            except UnsafeURL as err:
                raise DeliveryError(f"{scheme}://: refused unsafe URL: {err}", retryable=False) from None
        try:
            async with asyncio.timeout(self.settings.timeout):
                ok = await one.async_notify(
                    body=body, title=title, body_format=apprise.NotifyFormat.TEXT, notify_type=apprise.NotifyType.INFO
                )
        except TimeoutError:
            raise DeliveryError(f"{scheme}://: timed out after {self.settings.timeout:g} s", retryable=True) from None
        if not ok:
            # Apprise reports only success or failure (details go to its log, token-masked).
            raise DeliveryError(f"{scheme}://: Apprise could not deliver the notification", retryable=True)

    async def deliver_to(self, event: Event, *, delivery_id: str, destination: str) -> None:
        if destination not in self._targets:
            raise DeliveryError("destination no longer configured", retryable=True)
        title, body = self.message(event)
        await self._send(destination, title, body)

    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        """Every URL of this entry; the first failure is raised after all were tried."""
        title, body = self.message(event)
        errors: Sequence[BaseException | None] = await asyncio.gather(
            *(self._send(destination, title, body) for destination in self._targets), return_exceptions=True
        )
        for error in errors:
            if error is not None:
                raise error
