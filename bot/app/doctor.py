"""``cacwatch doctor`` (also ``cacwatch check --once --dry-run``): does this setup work?

For a new operator, one line per piece — the proxy, each source's site, the database, each
configured notifier — saying whether it works and, when it does not, why. Nothing is stored,
migrated or sent: the site is read (channel page 1 and the notice API, through the proxy when
one is set), the database is connected to and its schema revision compared (never created),
SMTP is connected to up to EHLO, STARTTLS and AUTH, Telegram answers ``getMe``, a webhook URL
passes the URL guard and resolves, Apprise URLs are parsed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from bot.settings.config import Settings

if TYPE_CHECKING:
    from bot.settings.config import AppriseSettings, EmailSettings, TelegramSettings, WebhookSettings
    from scrapers.sources.cac.settings import CacSourceSettings

__all__ = ["Finding", "run_checks", "Level"]

Level = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    what: str  # "site cac", "database", "webhook https://hooks.example/***" …
    detail: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.what}: {self.detail}"


def _elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"


async def _guarded(what: str, check: Awaitable[Finding], timeout: float) -> Finding:
    """A check that raises or hangs is a failed check, named, never a traceback."""
    try:
        return await asyncio.wait_for(check, timeout)
    except TimeoutError:
        return Finding("FAIL", what, f"no answer within {timeout:g}s")
    except Exception as err:  # noqa: BLE001 - any failure is this check's result
        from bot.settings.redact import mask_urls_in

        return Finding("FAIL", what, mask_urls_in(f"{err.__class__.__name__}: {err}")[:300])


# --- the proxy and the site ------------------------------------------------------------------


async def _proxy(cac: "CacSourceSettings") -> Finding:
    from scrapers.fetch import proxy_label

    assert cac.proxy is not None
    what = f"proxy {proxy_label(cac.proxy)}"
    parts = urlsplit(cac.proxy)
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower(), 1080)
    host, port = parts.hostname or "", parts.port or default_port
    start = time.monotonic()
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), cac.timeout)
    except (OSError, TimeoutError) as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or err.__class__.__name__)
        return Finding("FAIL", what, f"cannot connect to {host}:{port}: {reason}")
    writer.close()
    return Finding("ok", what, f"accepts connections ({_elapsed(start)}); whether it carries requests: see the site lines")


async def _site(cac: "CacSourceSettings") -> list[Finding]:
    from scrapers.fetch import Blocked, Fetcher, FetchError, MemoryValidatorStore, Unreachable
    from scrapers.sources.cac.discovery import NOTICE_API_PATH
    from scrapers.sources.cac.pages import parse_channel_page

    findings: list[Finding] = []
    async with Fetcher(cac, MemoryValidatorStore()) as fetcher:
        route = fetcher.route
        channel = cac.base_url + cac.channel_path.format(n=1)
        what = f"site {urlsplit(cac.base_url).hostname}"
        start = time.monotonic()
        try:
            page = await fetcher.get_page(channel, conditional=False)
        except FetchError as err:
            kind = "unreachable" if isinstance(err, Unreachable) else "blocked" if isinstance(err, Blocked) else "error"
            findings.append(Finding("FAIL", what, f"{kind}: {err.reason}"))
        else:
            items, _next = parse_channel_page(page.text(), channel)
            size = len(page.content or b"")
            if items:
                findings.append(Finding("ok", what, f"channel page 1 read {route}: {len(items)} items, {size} bytes, {_elapsed(start)}"))
            else:
                findings.append(Finding("FAIL", what, f"channel page 1 read {route} but it lists nothing (layout changed, or a soft block): {channel}"))
        if cac.use_notice_api:
            api = cac.beian_url + NOTICE_API_PATH
            what = f"notice API {urlsplit(cac.beian_url).hostname}"
            start = time.monotonic()
            try:
                data = await fetcher.get_json(api, referer=cac.beian_url + "/")
            except FetchError as err:
                # A second signal only: polls go on without it.
                findings.append(Finding("warn", what, f"{err.reason} (polls go on without it)"))
            else:
                ok = isinstance(data, dict) and data.get("errno") in (0, "0")
                findings.append(
                    Finding("ok", what, f"answered {route}, {_elapsed(start)}")
                    if ok
                    else Finding("warn", what, "answered, but not with a notice list (polls go on without it)")
                )
    return findings


# --- the database ----------------------------------------------------------------------------


def _database(settings: Settings) -> Finding:
    import os
    from pathlib import Path

    from storage.db import Database

    from bot.settings.redact import mask_urls_in

    db = Database(settings.database.url, create=False)  # nothing made on disk
    what = f"database {db.location}"
    try:
        try:
            state = db.state()
        except Exception as err:  # noqa: BLE001 - any driver error: the store cannot be used
            detail = " ".join(mask_urls_in(str(err)).split())[:200]
            return Finding("FAIL", what, f"cannot connect: {err.__class__.__name__}: {detail}")
        if state == "current":
            return Finding("ok", what, "connected, schema up to date")
        if state == "behind":
            return Finding("warn", what, "connected, schema from an older cacwatch: `cacwatch migrate` (or the next check / run) upgrades it")
        if db.is_sqlite:
            folder = Path(db.location).parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            if not os.access(folder, os.W_OK):
                return Finding("FAIL", what, f"no store yet, and {folder} is not writable: the first check cannot create it")
            return Finding("ok", what, "no store yet: `cacwatch migrate` or the first `check --once` creates it")
        return Finding("ok", what, "connected, empty: `cacwatch migrate` (or the first check / run) creates the schema")
    finally:
        db.dispose()


# --- notifiers -------------------------------------------------------------------------------


async def _webhook(hook: "WebhookSettings") -> Finding:
    from bot.settings.redact import mask_url
    from bot.settings.netguard import UnsafeURL, avalidate_outbound_url

    what = f"webhook {mask_url(hook.url)}"
    try:
        # The guard resolves the host: DNS answers and every address is allowed.
        await avalidate_outbound_url(hook.url, allow_private=hook.allow_private)
    except UnsafeURL as err:
        return Finding("FAIL", what, f"refused by the URL guard: {err}")
    if hook.allow_private:
        from bot.settings.netguard import _parse  # host and port as the notifier reads them

        host, port = _parse(hook.url)
        try:
            await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError as err:
            return Finding("FAIL", what, f"host does not resolve: {err.strerror or err}")
    return Finding("ok", what, "URL allowed and resolves (nothing sent)")


async def _telegram(telegram: "TelegramSettings") -> Finding:
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.delivery.telegram.notifier import make_bot

    what = f"telegram {telegram.channel}"
    bot = make_bot(telegram)
    try:
        async with bot:  # initialize() asks getMe
            me = bot.bot
    except InvalidToken:
        return Finding("FAIL", what, "token refused by Telegram (getMe: Unauthorized)")
    except NetworkError as err:
        # Never print what a transport error says: it may carry the URL, and the URL the token.
        return Finding("FAIL", what, f"cannot reach {urlsplit(telegram.api_base_url).hostname}: {err.__class__.__name__}")
    except TelegramError as err:
        return Finding("FAIL", what, f"getMe refused: {err.message}")
    return Finding("ok", what, f"getMe: @{me.username} (nothing sent)")


async def _email(email: "EmailSettings") -> Finding:
    import aiosmtplib

    from bot.delivery.email.notifier import smtp_connection

    what = f"email {email.smtp_host}:{email.smtp_port}"
    kwargs = smtp_connection(email)
    username, password = kwargs.pop("username", None), kwargs.pop("password", None)
    client = aiosmtplib.SMTP(**kwargs)
    steps: list[str] = []
    try:
        await client.connect()  # EHLO, and STARTTLS when configured
        steps.append("connected")
        if email.security != "none":
            steps.append("TLS")
        if username is not None:
            await client.login(username, password or "")
            steps.append("AUTH")
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as err:
        return Finding("FAIL", what, f"login refused: {err.code} {err.message}"[:300])
    except (aiosmtplib.SMTPException, OSError) as err:
        done = ", ".join(steps) or "nothing"
        return Finding("FAIL", what, f"{err.__class__.__name__}: {err} (got as far as: {done})"[:300])
    finally:
        if client.is_connected:
            client.close()
    return Finding("ok", what, f"{' + '.join(steps)} (nothing sent)")


async def _apprise(apprise: "AppriseSettings") -> Finding:
    import apprise as apprise_lib

    from bot.settings.redact import mask_url

    what = f"apprise {', '.join(mask_url(u) for u in apprise.urls)}"
    bad = [mask_url(u) for u in apprise.urls if apprise_lib.Apprise.instantiate(u) is None]
    if bad:
        return Finding("FAIL", what, f"not a URL Apprise can use: {', '.join(bad)}")
    return Finding("ok", what, "URLs understood (Apprise cannot check a target without sending to it)")


# --- all of it -------------------------------------------------------------------------------


async def run_checks(settings: Settings) -> list[Finding]:
    """Every check, in the order an operator reads them; nothing stored."""
    findings: list[Finding] = []
    cac = settings.sources.cac
    budget = 4 * cac.timeout * (cac.retries + 1) + 10  # a hung check ends; the fetcher's own limits come first
    if cac.proxy:
        findings.append(await _guarded("proxy", _proxy(cac), budget))
    try:
        findings.extend(await asyncio.wait_for(_site(cac), budget * 2))
    except TimeoutError:
        findings.append(Finding("FAIL", "site", f"no answer within {budget * 2:g}s"))
    findings.append(await asyncio.to_thread(_database, settings))
    from bot.settings.redact import mask_url

    notify = settings.notify
    for hook in notify.webhooks:
        findings.append(await _guarded(f"webhook {mask_url(hook.url)}", _webhook(hook), hook.timeout + 10))
    if notify.telegram is not None:
        telegram = notify.telegram
        findings.append(await _guarded("telegram", _telegram(telegram), telegram.timeout + 10))
    if notify.email is not None:
        email = notify.email
        findings.append(await _guarded("email", _email(email), email.timeout * 3 + 5))
    for entry in notify.apprise:
        findings.append(await _guarded("apprise", _apprise(entry), entry.timeout + 10))
    if not any([notify.webhooks, notify.telegram, notify.email, notify.apprise]):
        findings.append(Finding("warn", "notifiers", "none configured: new lists are stored but nobody is told"))
    return findings
