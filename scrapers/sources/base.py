"""What every source shares: its settings base (strict, durations) and the registry by kind.

A source is one place cacwatch watches (today the CAC website). Each kind is one class
deriving from ``Source`` with a ``kind`` name and a ``settings_model``; defining the class
registers it, so the configuration (``sources.<kind>``) and the poll pipeline find it by name.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Annotated, Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict

from scrapers.fetch import FetchError, Fetcher, ValidatorStore
from scrapers.records import Announcement, Kind, ListRef

__all__ = [
    "Duration",
    "SourceSettings",
    "parse_duration",
    "Discovery",
    "Source",
    "SOURCE_KINDS",
    "source_for",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """``"1h"``, ``"0.5s"``, ``"250ms"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '1h', '30s' or '250ms'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration such as '1h', '30s' or '250ms'")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class SourceSettings(BaseModel):
    """Settings of one source (``sources.<kind>``): unknown keys are errors, values frozen."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True)


class Discovery(Protocol):
    """What one discovery pass found (see ``scrapers.sources.cac.discovery.DiscoveryResult``)."""

    @property
    def lists(self) -> list[ListRef]: ...
    @property
    def announcements(self) -> list[Announcement]: ...
    @property
    def fatal_errors(self) -> list[FetchError]: ...
    @property
    def signal_errors(self) -> list[FetchError]: ...
    @property
    def warnings(self) -> list[str]: ...

    def commit(self, fetcher: Fetcher) -> None:
        """Remember the validators of the pages read (call once their lists are stored)."""


SOURCE_KINDS: dict[str, type["Source"]] = {}


class Source(ABC):
    """One configured source. Subclasses declare ``kind`` and ``settings_model``; defining
    the class registers it in ``SOURCE_KINDS`` (urlwatch's ``__kind__`` registries)."""

    kind: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            SOURCE_KINDS[kind] = cls

    def __init__(self, settings: SourceSettings) -> None:
        if not isinstance(settings, self.settings_model):
            raise TypeError(f"source {self.kind}: expected {self.settings_model.__name__}")
        self.settings = settings

    @property
    def name(self) -> str:
        """What polls, incidents and logs call this source (``sources.<name>``)."""
        return self.kind

    @abstractmethod
    def fetcher(self, validators: ValidatorStore, *, transport: httpx.AsyncBaseTransport | None = None) -> Fetcher:
        """A fetcher set up for this source's site (an async context manager)."""

    @abstractmethod
    async def discover(self, fetcher: Fetcher, *, known_pages: set[str]) -> Discovery:
        """Every list the source publishes now; ``known_pages`` stop the walk at known ground."""

    @abstractmethod
    def list_key(self, ref: ListRef) -> str:
        """A list's identity across re-issues (stored as ``attachment_key``)."""

    @abstractmethod
    def classify(self, title: str) -> Kind | None:
        """The kind of list an announcement title announces, if any."""


def source_for(kind: str, settings: SourceSettings) -> Source:
    """The registered source class of ``kind``, set up with ``settings``."""
    try:
        cls = SOURCE_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})") from None
    return cls(settings)
