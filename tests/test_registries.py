"""Sources and notifiers are kinds: registered by defining the class, built by the config key."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest
from pydantic import ValidationError

from bot.settings.config import NotifierSettings, Settings, settings_from_mapping
from bot.delivery.notifiers.apprise import AppriseNotifier
from bot.delivery.notifiers.base import NOTIFIER_KINDS
from bot.delivery.notifiers.factory import build_notifiers, notifier_class
from bot.delivery.notifiers.webhook import WebhookNotifier
from bot.ingest.pipeline import configured_sources, poll_source
from scrapers.replica.server import ReplicaServer
from scrapers.sources.base import SOURCE_KINDS, Source, SourceSettings, source_for
from scrapers.sources.cac import CacSource
from scrapers.sources.cac.settings import CacSourceSettings
from storage.db import Database
from storage.repo import Repository


class MirrorSource(CacSource):
    """A second kind: the same site layout under another name (as a mirror of CAC would be)."""

    kind = "cac-mirror"


class OtherSettings(SourceSettings):
    url: str = "https://example.org"


def test_cac_source_is_registered_and_configured_by_default() -> None:
    assert SOURCE_KINDS["cac"] is CacSource
    settings = settings_from_mapping({}, env={})
    (source,) = configured_sources(settings)
    assert isinstance(source, CacSource) and source.name == "cac"
    assert source.settings == settings.sources.cac


def test_defining_a_source_class_registers_its_kind() -> None:
    assert SOURCE_KINDS["cac-mirror"] is MirrorSource
    built = source_for("cac-mirror", CacSourceSettings(base_url="https://mirror.example"))
    assert isinstance(built, MirrorSource) and built.name == "cac-mirror"


def test_unknown_source_kind_and_foreign_settings_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown source kind 'rss' \(known: .*cac"):
        source_for("rss", OtherSettings())
    with pytest.raises(TypeError, match="source cac: expected CacSourceSettings"):
        CacSource(OtherSettings())


def test_source_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        OtherSettings(urll="https://typo.example")  # type: ignore[call-arg]


async def test_a_second_source_kind_is_polled_and_recorded_under_its_name(
    replica: ReplicaServer, database: Database, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(replica, database.url)
    mirror = source_for("cac-mirror", settings.sources.cac)
    report = await poll_source(mirror, settings, database)
    assert report.ok and report.source == "cac-mirror"
    assert report.summary_line().startswith("source cac-mirror: ")
    assert len(report.new_lists) == 9  # the replica's lists, as the cac source finds them
    with database.session() as session:
        repo = Repository(session)
        assert repo.has_successful_poll("cac-mirror")
        assert not repo.has_successful_poll("cac")  # each source keeps its own health


def test_notifiers_are_built_from_the_registry_in_config_order() -> None:
    settings = settings_from_mapping(
        {
            "notify": {
                "webhooks": [
                    {"url": "https://hooks.example/a", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                    {"url": "https://hooks.example/b", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                ],
                "apprise": [{"urls": ["json://hooks.example/c"]}],
            }
        },
        env={},
    )
    notifiers = build_notifiers(settings)
    assert [type(n) for n in notifiers] == [WebhookNotifier, WebhookNotifier, AppriseNotifier]
    assert [n.kind for n in notifiers] == ["webhook", "webhook", "apprise"]
    assert notifier_class(settings.notify.webhooks[0]) is NOTIFIER_KINDS["webhook"] is WebhookNotifier
    assert build_notifiers(settings_from_mapping({}, env={})) == []


def test_a_settings_model_naming_an_unregistered_kind_is_a_clear_error() -> None:
    class PagerSettings(NotifierSettings):
        kind: ClassVar[str] = "pager"
        module: ClassVar[str] = "bot.delivery.notifiers.text"  # importable, registers no notifier

    with pytest.raises(LookupError, match="notifier kind 'pager': bot.delivery.notifiers.text registers no such notifier"):
        notifier_class(PagerSettings())
