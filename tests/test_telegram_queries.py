"""Bot queries on SQLite and PostgreSQL: search (Chinese, English, products, numbers), stats, watches."""

from __future__ import annotations

from typing import Any

import pytest
from fake_telegram import filing_record, seed_filings, seed_list

from bot.delivery.telegram import queries
from storage import telegram_repo


@pytest.fixture
def seeded(database: Any) -> Any:
    with database.session() as session:
        ds = seed_list(session, "deep_synthesis", "2026-05", 103)
        seed_list(session, "deep_synthesis", "2026-01", 400)
        records = [filing_record(i, entity="北京百度网讯科技有限公司") for i in range(3)]
        special = filing_record(10, name="Kimi 智能助手", entity="北京月之暗面科技有限公司")
        special["products"] = ["风行视频（APP、网站、小程序）", "100%_Pure", 'A "quoted" C:\\path']
        special["status"] = "cancelled"
        records.append(special)
        seed_filings(session, ds, records)
    return database


def test_search_matches_every_field_on_both_backends(seeded: Any) -> None:
    with seeded.session() as session:
        def total(text: str) -> int:
            return queries.search_filings(session, text).total

        assert total("百度") == 3
        assert total("BAIDU") == 3  # English rendering, any case
        assert total("kimi 智能助手") == 1
        assert total("Ｋｉｍｉ") == 1  # full-width typed: NFKC
        assert total("风行视频") == 1  # inside the JSON products list
        assert total("100%_") == 1 and total("%") == 1 and total("_") == 1  # wildcards are literal
        assert total("网信算备1101080000001") >= 1
        assert total("网信算备 11010800 00001") >= 1  # spaces in a typed number are ignored
        assert total("nothing at all") == 0
        # Products are matched as values, not as JSON text: its quotes, backslashes, commas and
        # \uXXXX escapes (风 → \u98ce) match nothing.
        for syntax in ('","', "[", "u98ce", "\\u98ce", '", "', '"]'):
            assert total(syntax) == 0, syntax
        assert total('"') == 1 and total("\\") == 1 and total('"quoted"') == 1  # … but a product's own are found
        page = queries.search_filings(session, "百度", page=5, page_size=2)
        assert page.page == 1 and page.pages == 2 and len(page.records) == 1  # clamped to the last page
        assert len(queries.search_filings(session, "百度", page_size=0).records) == 3


def test_latest_stats_and_sizes(seeded: Any) -> None:
    with seeded.session() as session:
        (latest,) = telegram_repo.latest_lists(session, "deep_synthesis")
        assert (latest.list_month, latest.rows, latest.rank, latest.of) == ("2026-05", 103, 2, 2)
        assert telegram_repo.latest_lists(session, "genai_service") == []
        data = telegram_repo.stats(session)
        assert data["kinds"]["deep_synthesis"] == {"lists": 2, "filings": 4, "cancelled": 1}
        assert data["filers"][0] == ("北京百度网讯科技有限公司", 3)
        assert data["provinces"] == [("北京市", 4)]
        assert telegram_repo.list_sizes(session, "deep_synthesis") == [("2026-01", 400), ("2026-05", 103)]


def test_watches_and_subscriptions(seeded: Any) -> None:
    with seeded.session() as session:
        assert telegram_repo.add_watch(session, 1, " 百度 ") is True
        assert telegram_repo.add_watch(session, 1, "百度") is False
        assert telegram_repo.add_watch(session, 2, "百度") is True
        for n in range(telegram_repo.MAX_WATCHES_PER_CHAT - 1):
            telegram_repo.add_watch(session, 1, f"公司{n}")
        with pytest.raises(ValueError):
            telegram_repo.add_watch(session, 1, "one too many")
        assert telegram_repo.all_watches(session)["百度"] == [1, 2]
        assert telegram_repo.remove_watches(session, 2) == ["百度"]
        assert telegram_repo.add_subscription(session, 3, "genai_service") is True
        assert telegram_repo.add_subscription(session, 3, "genai_service") is False
        assert telegram_repo.add_subscription(session, 4, "all") is True
        with pytest.raises(ValueError):
            telegram_repo.add_subscription(session, 3, "bogus")
        assert sorted(telegram_repo.subscribers(session, "genai_service")) == [3, 4]
        assert telegram_repo.subscribers(session, "deep_synthesis") == [4]
        assert telegram_repo.remove_subscriptions(session, 3, "deep_synthesis") == []


def test_posted_parts_and_status(seeded: Any) -> None:
    with seeded.session() as session:
        telegram_repo.record_part(session, "msg_1", 0, "@c", 10)
        telegram_repo.record_part(session, "msg_1", 0, "@c", 10)  # idempotent
        telegram_repo.record_part(session, "msg_1", 1, "@c", 11)
    with seeded.session() as session:
        assert telegram_repo.posted_parts(session, "msg_1") == {0: 10, 1: 11}
        report = telegram_repo.status_report(session)
        assert report["deliveries"] == {"states": {}, "failing": []}
        assert report["sources"] == [] and report["polls"] == []


@pytest.mark.parametrize(
    ("typed", "kind"),
    [("genai", "genai_service"), ("深度合成", "deep_synthesis"), (" Recommendation ", "algorithm_recommendation"),
     ("nope", None), ("", None)],
)
def test_parse_kind(typed: str, kind: str | None) -> None:
    assert queries.parse_kind(typed) == kind


def test_search_matches_latin_words_whole_once_indexed(seeded: Any) -> None:
    """One meaning per word, as the web search: with the search index built, ``Kim`` is not
    ``Kimi`` and ``Pur`` is not ``Pure``; Chinese text stays a substring."""
    from bot.web.search_text import refresh_index
    from storage.corpus import Corpus

    with seeded.session() as session:
        assert queries.search_filings(session, "Kim").total == 1  # not indexed yet: the plain match
    refresh_index(Corpus(seeded))
    with seeded.session() as session:
        def total(text: str) -> int:
            return queries.search_filings(session, text).total

        assert total("Kimi") == 1 and total("kimi 智能助手") == 1 and total("Pure") == 1
        assert total("Kim") == 0 and total("Pur") == 0 and total("imi") == 0
        assert total("智能助") == 1 and total("百度") == 3 and total("BAIDU") == 3 and total("网信算备 11010800 00001") >= 1
