"""The ``cac`` source as a ``Source``: the CAC website, read by ``discovery`` with a ``Fetcher``."""

from __future__ import annotations

from typing import ClassVar

import httpx

from scrapers.fetch import Fetcher, ValidatorStore
from scrapers.header_aliases import install as install_header_aliases
from scrapers.records import Kind, ListRef
from scrapers.sources.base import Source, SourceSettings
from scrapers.sources.cac.discovery import DiscoveryResult, discover
from scrapers.sources.cac.settings import CacSourceSettings
from scrapers.sources.cac.titles import attachment_key, classify_title

__all__ = ["CacSource"]


class CacSource(Source):
    kind = "cac"
    settings_model: ClassVar[type[SourceSettings]] = CacSourceSettings

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        # Before any parse worker starts: they inherit the aliases with the environment.
        install_header_aliases(self.cac.header_aliases)

    @property
    def cac(self) -> CacSourceSettings:
        assert isinstance(self.settings, CacSourceSettings)  # checked by Source.__init__
        return self.settings

    def fetcher(self, validators: ValidatorStore, *, transport: httpx.AsyncBaseTransport | None = None) -> Fetcher:
        return Fetcher(self.cac, validators, transport=transport, hosts=(self.cac.beian_url,))

    async def discover(self, fetcher: Fetcher, *, known_pages: set[str]) -> DiscoveryResult:
        return await discover(fetcher, self.cac, known_pages=known_pages)

    def list_key(self, ref: ListRef) -> str:
        return attachment_key(ref.attachment_url)

    def classify(self, title: str) -> Kind | None:
        return classify_title(title)
