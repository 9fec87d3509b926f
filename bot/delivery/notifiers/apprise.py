"""Apprise channels for internal tools: DingTalk, Feishu, WeCom, Slack, Teams, json:// …

Each configured ``apprise`` entry is one notifier; each of its URLs is its own outbound
destination, so a failure at one service is retried there alone and never re-sends to the
others. The text is ``plain_summary`` — the same story every channel tells.

Apprise URLs carry tokens, so destinations are ``apprise:<scheme>:<hash>``, never the URL,
and errors name the scheme only.

The outbound-URL policy (``bot.settings.netguard``) covers every Apprise URL, not only the
HTTP-like ones: ``contacted_host`` reads, from the URL as Apprise parsed it, the host the
plugin will talk to (ntfy://, gotify://, matrix://, rsyslog://, json:// … name it; the
SMTP host for mailto://). That host is checked at build time (literal addresses) and before
every send (DNS) unless ``allow_private`` is set. Services whose plugin only ever talks to
the service's own public hosts (DingTalk, Feishu, Slack, Telegram …) are listed by scheme;
a scheme whose target cannot be determined is refused unless ``allow_private``. Redirects
are off for every plugin (a 3xx would take Apprise's own HTTP stack to a host nobody
checked; it counts as a failed send). Apprise connects with its own stack, so the guard's
connect-time (DNS-rebinding) check does not cover it: the send-time check is the
protection there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import apprise
from storage.db import Database, Session

from bot.settings.config import AppriseSettings
from bot.changes.event_schema import Event
from bot.settings.netguard import UnresolvableHost, UnsafeURL, avalidate_host, check_host
from bot.delivery.notifiers.base import DeliveryError, Notifier, passes_filters
from bot.delivery.notifiers.text import plain_summary, summary_title

__all__ = ["AppriseNotifier", "Contact", "contacted_host"]

# Reviewed against apprise 2.3: these plugins send only to their service's own hosts (a
# constant in the plugin); what sits in the host part of their URL is a token, a mail
# domain or a workspace id, never an address they connect to.
_FIXED_HOST_SCHEMES = frozenset(
    {
        "dingtalk", "feishu", "lark", "wecombot", "wecom", "pushplus", "schan", "wxpusher", "wechat",
        "slack", "tgram", "discord", "gchat", "pover", "pbul", "ifttt", "signl4", "pagerduty",
        "opsgenie", "line", "join", "mailgun", "sparkpost", "smtp2go", "sendpulse",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Contact:
    """The host (and port) an Apprise plugin will connect to."""

    host: str
    port: int


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def contacted_host(scheme: str, plugin: apprise.plugins.NotifyBase) -> Contact | Literal["fixed"] | None:
    """Where ``plugin`` (built from a ``scheme``:// URL) sends: a ``Contact`` to check,
    ``"fixed"`` for a service's own public hosts, None when it cannot be told."""
    if scheme in _FIXED_HOST_SCHEMES:
        return "fixed"
    mode = str(getattr(plugin, "mode", "") or "")
    if scheme in ("ntfy", "ntfys") and mode == "cloud":
        return "fixed"  # no host in the URL: ntfy.sh
    if scheme in ("matrix", "matrixs") and mode == "t2bot":
        return "fixed"  # webhooks.t2bot.io; the "host" is the hook id
    default_port = 443 if getattr(plugin, "secure", False) else 80
    port = getattr(plugin, "port", None) or default_port
    if scheme in ("mailto", "mailtos"):
        smtp_host = getattr(plugin, "smtp_host", None)
        return Contact(str(smtp_host), int(port)) if smtp_host else None
    host = getattr(plugin, "host", None)
    # A plugin whose URL templates name {host} connects to it (self-hosted services).
    if host and any("{host}" in template for template in getattr(type(plugin), "templates", ())):
        return Contact(str(host), int(port))
    return None


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class _Target:
    scheme: str
    one: apprise.Apprise
    contact: Contact | None  # None: nothing to check (a fixed public service, or allow_private)


class AppriseNotifier(Notifier):
    """One ``apprise`` entry of config.yaml (several Apprise URLs)."""

    kind = "apprise"

    @classmethod
    def from_settings(cls, settings: AppriseSettings, db: Database | None = None) -> Notifier:
        return cls(settings)

    def __init__(self, settings: AppriseSettings) -> None:
        self.settings = settings
        # Redirects off for every plugin unless a URL asks (it may not: see _target).
        asset = apprise.AppriseAsset(app_id="cacwatch", app_desc="cacwatch", http_redirects=False)
        self._targets: dict[str, _Target] = {}
        for index, url in enumerate(settings.urls):
            self._targets[f"apprise:{_scheme(url)}:{_url_key(url)}"] = self._target(index, url, asset)
        self._key = _url_key("\n".join(settings.urls))

    def _target(self, index: int, url: str, asset: apprise.AppriseAsset) -> _Target:
        scheme = _scheme(url)
        where = f"apprise urls[{index}] ({scheme}://)"
        plugin = apprise.Apprise.instantiate(url, asset=asset)
        if plugin is None:
            raise ValueError(f"apprise urls[{index}]: not a usable Apprise URL (scheme {scheme!r})")
        # "?redirect=yes" in a URL would override the asset: a 3xx must never lead anywhere.
        plugin.redirects = False
        contact = contacted_host(scheme, plugin)
        allow_private = self.settings.allow_private
        if contact is None and not allow_private:
            raise ValueError(
                f"{where}: cannot tell which host this service connects to, so the outbound-URL guard "
                "cannot check it (set allow_private: true to allow it)"
            )
        if isinstance(contact, Contact):
            # Static part of the guard (no DNS): a literal private address fails here.
            problem = check_host(contact.host, contact.port, allow_private=allow_private, resolve=False)
            if problem:
                raise ValueError(f"{where}: {problem} (set allow_private: true for a service on your own network)")
        one = apprise.Apprise(asset=asset)
        one.add(plugin)
        checked = contact if isinstance(contact, Contact) and not allow_private else None
        return _Target(scheme, one, checked)

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
        """What is wrong with the checked targets now (resolves DNS): for startup checks/logs."""
        found = []
        for destination, target in self._targets.items():
            if target.contact is not None:
                problem = check_host(target.contact.host, target.contact.port)
                if problem:
                    found.append(f"{destination}: {problem}")
        return found

    def message(self, event: Event) -> tuple[str, str]:
        """(title, body) as sent."""
        title = summary_title(event, self.settings.language)
        if self.settings.title_prefix:
            title = f"{self.settings.title_prefix}: {title}"
        return title, plain_summary(event, self.settings.language, self.public_url)

    async def _send(self, destination: str, title: str, body: str) -> None:
        target = self._targets[destination]
        scheme = target.scheme
        if target.contact is not None:
            try:
                await avalidate_host(target.contact.host, target.contact.port)
            except UnresolvableHost as err:
                raise DeliveryError(f"{scheme}://: {err}", retryable=True) from None
            except UnsafeURL as err:
                raise DeliveryError(f"{scheme}://: refused unsafe URL: {err}", retryable=False) from None
        one = target.one
        try:
            async with asyncio.timeout(self.settings.timeout):
                ok = await one.async_notify(
                    body=body, title=title, body_format=apprise.NotifyFormat.TEXT, notify_type=apprise.NotifyType.INFO
                )
        except TimeoutError:
            raise DeliveryError(f"{scheme}://: timed out after {self.settings.timeout:g} s", retryable=True) from None
        if not ok:
            # Apprise reports only success or failure (details go to its log, token-masked);
            # a redirect answer is a failure too, since redirects are off.
            raise DeliveryError(f"{scheme}://: Apprise could not deliver the notification", retryable=True)

    async def send_text(self, title: str, body: str) -> None:
        """A plain message to every URL of this entry (operator alerts); the first failure is raised."""
        errors = await asyncio.gather(*(self._send(d, title, body) for d in self._targets), return_exceptions=True)
        for error in errors:
            if error is not None:
                raise error

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
