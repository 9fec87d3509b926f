"""config.yaml → typed settings.

``${ENV}`` (or ``${ENV:-default}``) is interpolated from the environment before
validation; unknown keys are errors so a typo never silently disables a notifier.
Every error names the dotted key and the problem (``ConfigError``), and is raised
before anything touches the network.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.settings.event_types import EVENT_TYPES, OPERATOR_ALERT, WEBHOOK_EVENT_TYPES
from bot.settings.email_validation import Cadence
from scrapers.records import Kind
from scrapers.sources.base import Duration, parse_duration
from scrapers.sources.cac.settings import BusyHoursSettings, CacSourceSettings

__all__ = [
    "ConfigError",
    "Settings",
    "CacSourceSettings",
    "NotifierSettings",
    "WebhookSettings",
    "AppriseSettings",
    "TelegramSettings",
    "EmailSettings",
    "EmailSubscriberSettings",
    "NotifySettings",
    "BusyHoursSettings",
    "ServiceSettings",
    "WebSettings",
    "WebAuthSettings",
    "SessionSettings",
    "ProxyAuthSettings",
    "load_settings",
    "resolve_relative_paths",
    "parse_duration",
    "DEFAULT_CONFIG_PATH",
]

DEFAULT_CONFIG_PATH = Path("config.yaml")

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration problem; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifierSettings(_Strict):
    """Settings of one notifier kind. ``kind`` names the notifier class in the registry
    (``bot.delivery.notifiers.base.NOTIFIER_KINDS``) and ``module`` the module that
    defines (and so registers) it, imported only when the notifier is configured."""

    kind: ClassVar[str]
    module: ClassVar[str]


class DatabaseSettings(_Strict):
    url: str = "sqlite:///data/cacwatch.db"

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return url


class SourcesSettings(_Strict):
    """``sources:``: one key per source kind (``scrapers.sources``), its value that source's settings.

    A new source adds its field here, typed by its own settings model; the poll pipeline
    builds every configured (non-null) source from the registry by this key.
    """

    cac: CacSourceSettings = Field(default_factory=CacSourceSettings)


def _known_kinds(kinds: list[str] | None) -> list[str] | None:
    # A typo in a filter would silently mute an endpoint: refuse unknown names.
    known = [kind.value for kind in Kind]
    for kind in kinds or []:
        if kind not in known:
            raise ValueError(f"unknown kind {kind!r} (one of {', '.join(known)})")
    return kinds


def _known_events(events: list[str] | None, allowed: tuple[str, ...] = EVENT_TYPES) -> list[str] | None:
    for event in events or []:
        if event not in allowed:
            hint = " (Apprise entries carry operator alerts with operator_alerts: true)" if event == OPERATOR_ALERT else ""
            raise ValueError(f"unknown event type {event!r} (one of {', '.join(allowed)}){hint}")
    return events


def _webhook_events(events: list[str] | None) -> list[str] | None:
    return _known_events(events, WEBHOOK_EVENT_TYPES)


def _http_url(problem: str) -> AfterValidator:
    """The check that a URL is http(s) with a host; ``problem`` is the config error's wording."""

    def check(url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(problem)
        return url

    return AfterValidator(check)


def _without_trailing_slash(url: str) -> str:
    return url.rstrip("/")


# Filters that refuse unknown names where they are declared.
_KnownKinds = Annotated[list[str] | None, AfterValidator(_known_kinds)]
_KnownEvents = Annotated[list[str] | None, AfterValidator(_known_events)]
# A webhook may also ask for operator alerts by name (never implied by leaving ``events`` out).
_WebhookEvents = Annotated[list[str] | None, AfterValidator(_webhook_events)]


class _DestinationFilters(NotifierSettings):
    """What every outbound destination shares: which events it wants, how long an attempt may take."""

    kinds: _KnownKinds = None
    events: _KnownEvents = None
    watchlist_only: bool = False
    timeout: Duration = 10.0

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, timeout: float) -> float:
        if timeout <= 0:
            raise ValueError("must be more than 0")
        return timeout


class WebhookSettings(_DestinationFilters):
    kind: ClassVar[str] = "webhook"
    module: ClassVar[str] = "bot.delivery.notifiers.webhook"
    url: Annotated[str, _http_url("must be an http(s) URL")]
    # Event types this endpoint gets (default: every list and baseline event). Per-filing events
    # (filing.new, filing.cancelled, filing.renamed, watchlist.matched) and ``operator.alert``
    # (incidents opened and resolved) only when named here.
    events: _WebhookEvents = None
    # "whsec_<base64>" (Standard Webhooks); any other string is used as raw key bytes.
    secret: str
    allow_private: bool = False
    timeout: Duration = 10.0  # whole attempt: connect + send + response

    @field_validator("secret")
    @classmethod
    def _secret_present(cls, secret: str) -> str:
        if not secret.strip():
            raise ValueError("is empty (set it from the environment, e.g. ${CACWATCH_WEBHOOK_SECRET})")
        if secret.startswith("whsec_"):
            body = secret[len("whsec_") :].rstrip("=")
            try:
                key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
            except ValueError:
                key = b""
            if not key:  # the message never repeats the secret
                raise ValueError("starts with whsec_ but the rest is not base64")
        return secret

    @model_validator(mode="after")
    def _safe_target(self) -> "WebhookSettings":
        # Static part of the outbound-URL guard (no DNS here: config load makes no network
        # call); the full check runs again before every send.
        from bot.settings.netguard import check

        problem = check(self.url, allow_private=self.allow_private, resolve=False)
        if problem:
            hint = "" if self.allow_private else " (set allow_private: true for an endpoint on your own network)"
            raise ValueError(f"url: {problem}{hint}")
        return self


class AppriseSettings(_DestinationFilters):
    kind: ClassVar[str] = "apprise"
    module: ClassVar[str] = "bot.delivery.notifiers.apprise"
    """An ``apprise`` notifier: Apprise URLs (dingtalk://, feishu://, wecombot://, json://…)."""

    urls: list[str] = Field(min_length=1)
    title_prefix: str = "cacwatch"
    language: Literal["both", "zh", "en"] = "both"
    # Lets targets be on loopback / private networks, and schemes whose host cannot be checked.
    allow_private: bool = False
    timeout: Duration = 30.0
    # Also carry operator alerts (the source failing, a list that no longer parses, a held
    # re-issue), beside notify.telegram.admin_chat and service.alert_email.
    operator_alerts: bool = False

    @field_validator("urls")
    @classmethod
    def _apprise_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$", url):
                raise ValueError("each entry must be an Apprise URL such as dingtalk://token/ or json://host/path")
        return urls


class TelegramSettings(NotifierSettings):
    kind: ClassVar[str] = "telegram"
    module: ClassVar[str] = "bot.delivery.telegram.notifier"
    """The ``telegram`` notifier (channel posts, per-user alerts) and the interactive bot."""

    token: str
    # python-telegram-bot appends the token and the method: "<api_base_url><token>/sendMessage".
    api_base_url: Annotated[str, _http_url("must be an http(s) URL such as https://api.telegram.org/bot")] = (
        "https://api.telegram.org/bot"
    )
    channel: str  # "@name" or a numeric chat id ("-100…")
    language: Literal["both", "zh", "en"] = "both"
    admin_ids: list[int] = Field(default_factory=list)
    admin_chat: str | None = None  # operator alerts (source blocked, list unreadable): chat id or @name
    kinds: _KnownKinds = None  # channel posts only for these kinds (users choose their own)
    chart: bool = True  # list-size chart ahead of each list.published post
    # The operator's watchlist is often a law firm's client list: its hits stay out of the
    # public channel post unless this says otherwise (users' own /watch alerts are private).
    show_watchlist: bool = False
    interactive: bool = True  # run the command bot inside `cacwatch run`
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # public https URL Telegram posts updates to
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: str | None = None  # X-Telegram-Bot-Api-Secret-Token
    # Telegram's flood limits: 30 messages per second per bot, 20 per minute per group or
    # channel. The rate limiter keeps every sliding window (as Telegram sees it) within these.
    max_per_second: int = Field(default=30, ge=1)
    max_per_minute_per_chat: int = Field(default=20, ge=1)
    # The interactive bot: updates served at once, and what one user may ask for (a minute,
    # at once) before a polite "wait a moment" (bot.delivery.telegram.throttle).
    concurrent_updates: int = Field(default=8, ge=1, le=256)
    user_requests_per_minute: int = Field(default=20, ge=1)
    user_requests_in_flight: int = Field(default=2, ge=1)
    timeout: Duration = 30.0

    @field_validator("token")
    @classmethod
    def _token_present(cls, token: str) -> str:
        if not token.strip():
            raise ValueError("is empty (set it from the environment, e.g. ${TELEGRAM_BOT_TOKEN})")
        return token.strip()

    @field_validator("channel")
    @classmethod
    def _channel(cls, channel: str) -> str:
        channel = channel.strip()
        if not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+", channel):
            raise ValueError("must be @channelname or a numeric chat id")
        return channel

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, secret: str | None) -> str | None:
        # Telegram accepts 1-256 characters A-Z a-z 0-9 _ - as secret_token.
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if secret is not None and len(secret) < 16:  # guessable; the message never echoes it
            raise ValueError("is too short to be a secret (use 16 or more characters, e.g. from `openssl rand -hex 16`)")
        return secret

    @model_validator(mode="after")
    def _webhook_complete(self) -> "TelegramSettings":
        if self.mode == "webhook" and not (self.webhook_url and self.webhook_url.startswith("https://")):
            raise ValueError("webhook_url: mode webhook needs an https:// webhook_url")
        if self.mode == "webhook" and not self.webhook_secret:
            # Without it anyone who finds the URL can post updates "from" an admin.
            raise ValueError(
                "webhook_secret: mode webhook needs a secret token; set it from the environment, "
                "e.g. webhook_secret: ${TELEGRAM_WEBHOOK_SECRET} (16+ characters of A-Z a-z 0-9 _ -)"
            )
        return self


def _check_patterns(patterns: list[str]) -> list[str]:
    """An invalid watch pattern (``re:[``) is a config error now, not a warning on every poll."""
    from bot.settings.patterns import check_pattern

    for index, pattern in enumerate(patterns):
        try:
            check_pattern(pattern)
        except ValueError as err:
            raise ValueError(f"entry {index}: {err}") from None
    return patterns


_WatchPatterns = Annotated[list[str], AfterValidator(_check_patterns)]


class EmailSubscriberSettings(_Strict):
    """One entry of ``notify.email.subscribers``: a recipient with its own cadence and filters.

    Unset values fall back to the ``notify.email`` defaults (digest, digest_at, …).
    """

    address: str
    name: str | None = None
    language: Literal["zh", "en", "both"] | None = None
    cadence: Cadence | None = None  # immediate | daily | weekly | monthly (bot.settings.email_validation)
    at: str | None = None  # "HH:MM" in timezone
    weekday: str | None = None  # weekly digests: monday … sunday
    timezone: str | None = None  # IANA name, e.g. Asia/Shanghai
    kinds: list[str] | None = None
    provinces: list[str] | None = None  # 北京市 / 北京 / Beijing
    watchlist: _WatchPatterns = Field(default_factory=list)  # company names, fuzzy-matched
    watch_only: bool = True  # with a watchlist: only lists that touch a watched company
    attach_brief: bool | None = None  # the PDF brief of each new list attached (default: notify.email)

    @model_validator(mode="after")
    def _valid(self) -> "EmailSubscriberSettings":
        from bot.settings.email_validation import check_schedule, normalize_address

        object.__setattr__(self, "address", normalize_address(self.address))
        check_schedule(at=self.at, weekday=self.weekday, timezone=self.timezone)
        _known_kinds(self.kinds)
        return self



class EmailSettings(NotifierSettings):
    kind: ClassVar[str] = "email"
    module: ClassVar[str] = "bot.delivery.email.notifier"
    smtp_host: str
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] | None = None
    username: str | None = None
    password: str | None = None
    sender: str
    sender_name: str = "cacwatch"
    recipients: list[str] = Field(default_factory=list)
    subscribers: list[EmailSubscriberSettings] = Field(default_factory=list)
    digest: Cadence = "immediate"  # immediate | daily | weekly | monthly (the 1st of each month at digest_at)
    digest_at: str = "08:00"  # daily, weekly and monthly digests, "HH:MM" in timezone
    digest_weekday: str = "monday"  # weekly digests and the heartbeat
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en", "both"] = "both"
    # https://… where /email/unsubscribe?token=… is served: adds one-click unsubscribe (RFC 8058).
    public_base_url: str | None = None
    heartbeat: bool = False  # a weekly "no news" mail to subscribers who got nothing that week
    chart: bool = True  # list-size chart inline in the digest
    attach_brief: bool = False  # the PDF brief of each new list attached, in the subscriber's language
    ca_file: str | None = None  # extra CA bundle for a relay with a private certificate
    timeout: Duration = 30.0
    # The sender's letterhead in every digest and period report (escaped in HTML, shown in the
    # text part too): the firm's name, an introduction above the news, a disclaimer below it.
    firm_name: str = ""
    introduction: str = ""
    disclaimer: str = ""

    @model_validator(mode="after")
    def _default_security(self) -> "EmailSettings":
        if self.security is None:
            chosen = {465: "ssl", 587: "starttls"}.get(self.smtp_port, "none")
            object.__setattr__(self, "security", chosen)
        return self

    @model_validator(mode="after")
    def _valid_email(self) -> "EmailSettings":
        # The checks live beside the code that relies on them (bot.delivery.email.subscribers).
        from bot.settings.email_validation import check_schedule, clean_letter_text, normalize_address

        if not self.smtp_host.strip() or re.search(r"[\s/]", self.smtp_host.strip()):
            raise ValueError("smtp_host: must be a host name or address")
        object.__setattr__(self, "sender", normalize_address(self.sender, key="sender"))
        object.__setattr__(
            self, "recipients", [normalize_address(a, key=f"recipients[{i}]") for i, a in enumerate(self.recipients)]
        )
        check_schedule(at=self.digest_at, weekday=self.digest_weekday, timezone=self.timezone, prefix="digest_")
        for key in ("firm_name", "introduction", "disclaimer"):
            object.__setattr__(self, key, clean_letter_text(getattr(self, key), key=key))
        if self.public_base_url is not None and not re.match(r"^https://[^/\s]+", self.public_base_url):
            raise ValueError("public_base_url: must be an https:// URL (one-click unsubscribe needs https)")
        if self.timeout <= 0:
            raise ValueError("timeout: must be more than 0")
        return self


class NotifySettings(_Strict):
    first_run: Literal["baseline", "all"] = "baseline"
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    apprise: list[AppriseSettings] = Field(default_factory=list)
    telegram: TelegramSettings | None = None
    email: EmailSettings | None = None
    watchlist: _WatchPatterns = Field(default_factory=list)


class ServiceSettings(_Strict):
    """``service:``: the long-running ``cacwatch run`` (health endpoint, alerts, logs, backoff)."""

    health_port: int | None = Field(default=8080, ge=0, le=65535)  # None: no HTTP server; 0: any free port
    health_host: str = "0.0.0.0"
    readiness_max_age: Duration = 7200.0  # /readyz fails when the last successful poll is older
    alert_after: int = Field(default=3, ge=1)  # consecutive failed polls before an operator alert
    alert_email: list[str] = Field(default_factory=list)  # sent with notify.email's SMTP settings
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    backoff_max: Duration = 21600.0  # while failing, polls slow down up to this gap (or interval, if longer)
    delivery_interval: Duration = 2.0  # how often idle delivery workers look for due deliveries
    leader_retry: Duration = 3.0  # PostgreSQL: how often a follower tries to take the scheduler
    shutdown_grace: Duration = 8.0  # SIGTERM: longest wait for in-flight deliveries (docker stop waits 10 s)
    # A poll's work (fetching and parsing lists, storing, events) in a short-lived child process:
    # what it imports and allocates (parsers, pypinyin, rows) is returned to the system when it
    # ends, so the service idles small. The look at the front door runs in the service; a poll
    # with nothing to fetch ends there, without a child (bot/ingest/pipeline.py, look_first).
    poll_process: bool = True
    # Notifiers' heavy rendering (Telegram charts, email digests with chart and CSV/XLSX
    # attachments) in a child kept while deliveries are made and stopped when they are done,
    # so matplotlib and openpyxl never stay in the service (bot/delivery/render.py).
    render_process: bool = True

    @field_validator("delivery_interval", "leader_retry", "readiness_max_age")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @model_validator(mode="after")
    def _valid_addresses(self) -> "ServiceSettings":
        from bot.settings.email_validation import normalize_address

        object.__setattr__(
            self,
            "alert_email",
            [normalize_address(a, key=f"alert_email[{i}]") for i, a in enumerate(self.alert_email)],
        )
        return self


MIN_WEB_SECRET = 16  # characters of web.auth.password / web.auth.token


class WebAuthSettings(_Strict):
    """``web.auth``: HTTP basic (``password``) and/or bearer (``token``), both from the environment."""

    username: str = "cacwatch"
    password: str | None = None
    token: str | None = None
    # Wrong credentials from one client this many times within failure_window: 429 until the
    # window moves on (a browser's first request, without credentials, does not count).
    max_failures: int = Field(default=10, ge=1, le=1000)
    failure_window: Duration = 300.0

    @field_validator("password", "token")
    @classmethod
    def _long_enough(cls, secret: str | None) -> str | None:
        # Guessing is rate-limited, but a short secret still falls to a patient botnet.
        if secret is not None and len(secret) < MIN_WEB_SECRET:
            raise ValueError(f"is shorter than {MIN_WEB_SECRET} characters (use a long random one, e.g. `openssl rand -hex 16`)")
        return secret

    @model_validator(mode="after")
    def _one_secret(self) -> "WebAuthSettings":
        if not self.password and not self.token:
            raise ValueError("needs password or token (e.g. token: \"${CACWATCH_WEB_TOKEN}\")")
        return self


class SessionSettings(_Strict):
    """``web.sessions``: signed-in browsers (accounts of the self-service side) and sign-in limits."""

    # A session ends this long after sign-in, or after this long without a request.
    lifetime: Duration = 14 * 86400.0
    idle: Duration = 12 * 3600.0
    # Wrong passwords for one account (or from one client) this many times within
    # failure_window: 429 with Retry-After until the window moves on.
    account_failures: int = Field(default=5, ge=1, le=1000)
    client_failures: int = Field(default=20, ge=1, le=10000)
    failure_window: Duration = 900.0

    @model_validator(mode="after")
    def _positive(self) -> "SessionSettings":
        for name in ("lifetime", "idle", "failure_window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be more than 0")
        return self


_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class ProxyAuthSettings(_Strict):
    """``web.proxy_auth``: sign-in by a trusted reverse proxy (SSO) that puts the user's email in
    ``header``; honoured only on connections from the ``trusted`` networks (the proxy's address)."""

    header: str = "X-Forwarded-Email"
    trusted: list[str] = Field(min_length=1, max_length=64)
    # An address the proxy vouches for but no account has yet: made a member (true) or refused.
    create_members: bool = False

    @field_validator("header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        if not _HEADER_NAME.match(header):
            raise ValueError("must be an HTTP header name (letters, digits and '-')")
        if header.lower() in ("authorization", "cookie", "host"):
            raise ValueError(f"{header} cannot carry the user's email")
        return header

    @field_validator("trusted")
    @classmethod
    def _networks(cls, trusted: list[str]) -> list[str]:
        import ipaddress

        for value in trusted:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an address or network (e.g. 127.0.0.1/32)") from None
        return trusted


# The site's address as links give it: http(s), without a trailing slash.
_PublicUrl = Annotated[str, _http_url("must be an http:// or https:// URL"), AfterValidator(_without_trailing_slash)]


class WebSettings(_Strict):
    """``web:``: the read side (``cacwatch serve``): public address for links, optional access control."""

    public_url: _PublicUrl | None = None  # e.g. https://cac.example.org — links in feeds (and messages) use it
    auth: WebAuthSettings | None = None
    # Accounts (``cacwatch users``, /signin): session lifetime and sign-in limits.
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    proxy_auth: ProxyAuthSettings | None = None
    # Whole answers kept per state of the data, so repeated requests cost no query (0: off).
    cache_mb: int = Field(default=8, ge=0, le=1024)
    # Requests whose queries run at once (threads). Python runs one thread at a time: past a few,
    # threads only fight over the interpreter (measured at 16 clients on 2 cores, 100k filings:
    # 8 threads 5.4 ms of CPU per request and p95 ~300 ms, 3 threads 4.3 ms and ~215 ms). More
    # than 2 so that one long computation (a first aggregate, an index refresh) leaves others.
    threads: int = Field(default=3, ge=1, le=64)
    # `cacwatch run` on an address off loopback (service.health_host) without auth answers the
    # web app to clients on this machine only; true serves it to everyone, unauthenticated.
    open: bool = False
    # CSV/XLSX downloads of a search: at most this many at once (more get 503 + Retry-After)
    # and this many rows each (the rest: narrow the search, or `cacwatch export`).
    max_downloads: int = Field(default=2, ge=1, le=64)
    download_rows: int = Field(default=100_000, ge=1, le=10_000_000)


class BriefsSettings(_Strict):
    """``briefs:``: list briefs as PDF / DOCX / HTML (``cacwatch brief``, the list pages)."""

    # A CJK TrueType font (.ttf or .ttc) embedded in PDF briefs; default: Debian's
    # fonts-wqy-zenhei at /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc.
    font: Path | None = None
    # PDFs rendered at once by the web app (each takes seconds of CPU and tens of MB).
    renders: int = Field(default=1, ge=1, le=4)
    # Rendered briefs kept under data_dir/briefs (0: in memory only).
    cache_mb: int = Field(default=64, ge=0, le=4096)


class Settings(_Strict):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    # Where raw attachments (content-addressed) are kept.
    data_dir: Path = Path("data")
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    # Processes that parse attachments (CPU-bound, beside the main process that fetches and
    # stores); 0 parses in a thread of the main process.
    parse_workers: int = Field(default=1, ge=0, le=16)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    briefs: BriefsSettings = Field(default_factory=BriefsSettings)

    @model_validator(mode="after")
    def _alert_email_needs_smtp(self) -> "Settings":
        if self.service.alert_email and self.notify.email is None:
            raise ValueError("service.alert_email: needs notify.email (its SMTP settings send the alerts)")
        return self


def _unset_placeholder(path: str) -> str | None:
    """What a read command puts in place of an unset variable under ``notify``: a value that
    passes validation and is never used (reads send nothing); None elsewhere (still an error)."""
    if not path.startswith("notify."):
        return None
    key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
    if key in ("url", "urls", "api_base_url", "webhook_url", "public_base_url"):
        return "https://unset.invalid/"
    if key in ("sender", "recipients", "address"):
        return "unset@unset.invalid"
    return "unset"


def _interpolate(node: Any, path: str, env: dict[str, str], lenient: bool = False) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else str(k), env, lenient) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]", env, lenient) for i, v in enumerate(node)]
    if isinstance(node, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            placeholder = _unset_placeholder(path) if lenient else None
            if placeholder is not None:
                return placeholder
            raise ConfigError(f"{path}: environment variable {name} is not set")

        return _ENV_REF.sub(replace, node)
    return node


def _format_validation_error(err: ValidationError) -> str:
    problems = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{key}: {message}")
    return "; ".join(problems)


def settings_from_mapping(raw: Any, env: dict[str, str] | None = None, *, for_reading: bool = False) -> Settings:
    """Validate a parsed config. ``for_reading``: notifier secrets may be unset (read commands
    send nothing), so an unset ``${VAR}`` under ``notify`` becomes a placeholder, not an error."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("(top level): expected a mapping of keys")
    interpolated = _interpolate(raw, "", dict(os.environ) if env is None else env, for_reading)
    try:
        return Settings.model_validate(interpolated)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err)) from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    """Where and what, from PyYAML's structured error (no snippet of the file)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or "cannot be parsed"
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _sqlite_relative_to(url: str, base: Path) -> str:
    prefix = next((p for p in ("sqlite:///", "sqlite+pysqlite:///") if url.startswith(p)), None)
    if prefix is None:
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith(("/", ":memory:", "?")) or Path(rest).is_absolute():
        return url
    return prefix + str(base / rest)


def resolve_relative_paths(settings: Settings, base: Path) -> Settings:
    """Paths in a config file mean the same from any working directory: relative ones
    (the SQLite file, ``data_dir``, ``notify.email.ca_file``) are taken from ``base``, the
    config file's folder."""
    base = base.resolve()
    update: dict[str, Any] = {}
    url = _sqlite_relative_to(settings.database.url, base)
    if url != settings.database.url:
        update["database"] = settings.database.model_copy(update={"url": url})
    if not settings.data_dir.is_absolute():
        update["data_dir"] = base / settings.data_dir
    email = settings.notify.email
    if email is not None and email.ca_file and not Path(email.ca_file).is_absolute():
        notify_email = email.model_copy(update={"ca_file": str(base / email.ca_file)})
        update["notify"] = settings.notify.model_copy(update={"email": notify_email})
    font = settings.briefs.font
    if font is not None and not font.is_absolute():
        update["briefs"] = settings.briefs.model_copy(update={"font": base / font})
    return settings.model_copy(update=update) if update else settings


def load_settings(path: Path | None, env: dict[str, str] | None = None, *, for_reading: bool = False) -> Settings:
    """Read and validate a config file. ``path=None`` means built-in defaults (relative paths
    then mean the working directory); a file's relative paths are taken from its folder."""
    if path is None:
        return settings_from_mapping({}, env, for_reading=for_reading)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        # Never str(err): it quotes the offending line, which may hold a secret.
        raise ConfigError(f"config file {path} is not valid YAML: {_yaml_problem(err)}") from None
    return resolve_relative_paths(settings_from_mapping(raw, env, for_reading=for_reading), Path(path).parent)
