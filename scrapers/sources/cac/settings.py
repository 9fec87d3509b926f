"""Settings of the ``cac`` source (``sources.cac`` in config.yaml).

They live with the source so that the scrapers never import the application's
configuration; ``bot.settings.config`` embeds this model under ``sources.cac``.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from scrapers.fetch import PROXY_SCHEMES, proxy_label
from scrapers.sources.base import Duration, SourceSettings

__all__ = ["BusyHoursSettings", "CacSourceSettings"]


class BusyHoursSettings(SourceSettings):
    """``sources.cac.busy_hours``: poll faster inside a weekly window (CAC publishes in office hours).

    ``days`` and ``hours`` are cron fields (APScheduler syntax): ``hours: "9-18"`` covers
    09:00 to 18:59 in ``timezone``.
    """

    days: str = "mon-fri"
    hours: str = "9-18"
    interval: Duration = 600.0
    timezone: str = "Asia/Shanghai"

    @model_validator(mode="after")
    def _valid_window(self) -> "BusyHoursSettings":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from apscheduler.triggers.cron import CronTrigger

        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r} (an IANA name such as Asia/Shanghai)") from None
        try:
            CronTrigger(day_of_week=self.days, hour=self.hours, timezone=zone)
        except ValueError as err:
            raise ValueError(f"days/hours: {err}") from None
        if self.interval <= 0:
            raise ValueError("interval: must be more than 0")
        return self


class CacSourceSettings(SourceSettings):
    """The ``cac`` source: the CAC website and the filing system's notice API."""

    base_url: str = "https://www.cac.gov.cn"
    beian_url: str = "https://beian.cac.gov.cn"
    # Two tiers (README "Polling tiers"): every ``interval`` the cheap front door (channel
    # page 1, the in-place pages, the notice API; new lists only); every
    # ``revalidate_interval`` every known attachment is re-checked too (in-place re-issues).
    # 5 min + 12 h: a new list is seen within ~5 min at ~50 requests an hour to CAC when idle.
    interval: Duration = 300.0
    revalidate_interval: Duration = 43200.0
    concurrency: int = Field(default=1, ge=1, le=8)
    min_delay: Duration = 0.5
    timeout: Duration = 30.0
    retries: int = Field(default=3, ge=0, le=10)
    max_download_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_channel_pages: int = Field(default=50, ge=1)
    user_agent: str = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    )
    # The two pages CAC updates in place (paths relative to base_url).
    in_place_pages: dict[str, str] = Field(
        default_factory=lambda: {
            "algorithm_recommendation": "/2022-08/12/c_1661927474338504.htm",
            "genai_service": "/2024-04/02/c_1713729983803145.htm",
        }
    )
    channel_path: str = "/wxzw/wxfb/A093702index_{n}.htm"
    use_notice_api: bool = True
    # A way in from outside mainland China, where the CAC sites are often slow, unreachable or
    # blocked: every request to the CAC sites (never to notifiers) goes through this proxy.
    # http://, https://, socks5:// (the proxy resolves names: socks5h://); credentials in the
    # URL come from the environment (``proxy: "${CACWATCH_CAC_PROXY}"``) and are shown masked.
    proxy: str | None = None
    # A column CAC renamed → the column it is (scrapers.header_aliases), e.g.
    # {"申报主体": "entity"}, until the parser knows the new name.
    header_aliases: dict[str, str] = Field(default_factory=dict)
    # Faster polling inside a weekly window (Beijing office hours); None: always ``interval``.
    busy_hours: BusyHoursSettings | None = None

    @field_validator("base_url", "beian_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("must be an http(s) URL")
        return url.rstrip("/")

    @field_validator("header_aliases")
    @classmethod
    def _known_columns(cls, aliases: dict[str, str]) -> dict[str, str]:
        from scrapers.tables import COLUMNS

        for header, column in aliases.items():
            if not header.strip():
                raise ValueError("an empty header text cannot be mapped")
            if column not in COLUMNS:
                raise ValueError(f"{header!r}: unknown column {column!r} (one of {', '.join(COLUMNS)})")
        return aliases

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None  # ``proxy: "${CACWATCH_CAC_PROXY:-}"`` with the variable unset: direct
        url = url.strip()
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in PROXY_SCHEMES or not re.match(r"^[A-Za-z0-9+.-]+://[^/\s]+", url):
            # The URL itself is not repeated: it may hold a password.
            raise ValueError(f"must be a proxy URL such as http://host:3128 or socks5://host:1080 (scheme {', '.join(PROXY_SCHEMES)}), got {proxy_label(url)}")
        return url
