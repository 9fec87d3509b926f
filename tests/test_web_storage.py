"""The search index in storage (migration 0006, storage.corpus) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
from storage.corpus import Corpus, FilerWords, FilingQuery, normalize_query
from storage.repo import Repository

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import word_match
except ImportError:  # pragma: no cover
    from tests.web_helpers import word_match


def _row(number: str, entity: str, name: str, index: int) -> FilingRow:
    return FilingRow(
        kind=Kind.DEEP_SYNTHESIS, filing_number=number, name=name, entity=entity, role="provider", category=None,
        products=("某应用(APP)",), purpose="应用于文本生成场景", province="北京市", remark="", status=Status.ACTIVE,
        filed_on=None, row_index=index,
    )


def _ingest(database: Any, rows: list[FilingRow], sha: str) -> None:
    ref = ListRef(Kind.DEEP_SYNTHESIS, "2024-01", "境内深度合成服务算法备案清单（2024年1月）", "公告", "https://x.example/p", "https://x.example/a")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, sha, "docx", tuple(rows)), "key-1")


def test_migration_creates_what_the_model_declares(database: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if "'filing_search'" in repr(d) or "'filing_words'" in repr(d) or "ix_filings_" in repr(d)]
    assert mine == []


def test_refresh_builds_missing_and_stale_rows_only(database: Any) -> None:
    calls: list[str] = []

    def describe(entity: str) -> FilerWords:
        calls.append(entity)
        return FilerWords(english=f"EN {len(entity)}", company="Acme" if "甲" in entity else None, words=("阿克米",) if "甲" in entity else ())

    corpus = Corpus(database)
    _ingest(database, [_row("网信算备110000000000001240011号", "北京甲科技有限公司", "甲算法", 0), _row("网信算备110000000000002240019号", "北京乙科技有限公司", "乙算法", 1)], "a" * 64)
    assert corpus.refresh_search_text(describe, "v1") == 2
    assert corpus.refresh_search_text(describe, "v1") == 0  # nothing stale
    assert [r["name"] for r in corpus.search_filings(FilingQuery(q="acme"), limit=10).items] == ["甲算法"]
    assert [r["name"] for r in corpus.search_filings(FilingQuery(q="阿克米"), limit=10).items] == ["甲算法"]
    assert corpus.filer_names(["北京甲科技有限公司"]) == {"北京甲科技有限公司": ("EN 9", "Acme")}

    # A re-issue renames one filer: only that filing is stale, and the old name no longer matches.
    _ingest(database, [_row("网信算备110000000000001240011号", "北京丙科技有限公司", "甲算法", 0), _row("网信算备110000000000002240019号", "北京乙科技有限公司", "乙算法", 1)], "b" * 64)
    assert corpus.refresh_search_text(describe, "v1") == 1
    assert corpus.search_filings(FilingQuery(q="acme"), limit=10).items == []
    assert [r["entity"] for r in corpus.search_filings(FilingQuery(q="丙科技"), limit=10).items] == ["北京丙科技有限公司"]
    # Other words for filers (a new version of the describer): everything is rebuilt.
    assert corpus.refresh_search_text(describe, "v2") == 2


@pytest.mark.parametrize(
    "query, expected",
    [
        ("  ＢｙｔｅＤａｎｃｅ ", "bytedance"),
        ("网信算备 １１０１ ０８号", "网信算备110108号"),
        ("A\u200bB\tC", "abc"),
        ("Straße", "strasse"),
    ],
)
def test_queries_are_compared_without_case_width_or_spacing(query: str, expected: str) -> None:
    assert normalize_query(query) == expected


@pytest.mark.parametrize(
    "q", ["甲", "甲算", "甲算法", "算法", "110000000000001", "%", "_", '"', "\\", "*", "OR", "NEAR(", "法%", "_\\", '"o', "法某", "号北", "00"]
)
@pytest.mark.parametrize("common", [False, True], ids=["indexed", "common"])
def test_every_query_length_and_symbol_is_a_literal_substring(database: Any, q: str, common: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """1 and 2 characters (SQLite: the index's vocabulary; PostgreSQL: the character array, or a
    scan when the needle is common), 3+ (trigram phrases): the same rule; no match spans two
    fields ("法某", "号北"). ``common``: every needle counts as common (a scan on PostgreSQL)."""
    import storage.corpus_search

    if common:
        monkeypatch.setattr(storage.corpus_search, "_COMMON", 1)
    corpus = Corpus(database)
    rows = [_row(f"网信算备1100000000000{i:02d}240011号", f"北京{c}科技有限公司", f"{c}算法{sym}", i) for i, (c, sym) in enumerate([("甲", ""), ("乙", "%"), ("丙", '"OR"'), ("丁", "_\\*")])]
    _ingest(database, rows, "c" * 64)
    corpus.refresh_search_text(lambda e: FilerWords(english="", company=None), "v1")
    # Substrings, except that a Latin word matches whole ('"o' is not '"OR"', "OR" is).
    expected = sorted(
        r.filing_number for r in rows
        if any(word_match(field, q) for field in (r.filing_number, r.entity, r.name, *r.products, r.purpose))
    )
    got = sorted(r["filing_number"] for r in corpus.search_filings(FilingQuery(q=q), limit=50).items)
    assert got == expected
    assert corpus.count_filings(FilingQuery(q=q)) == len(expected)


def test_web_secret_is_made_once_per_installation_and_shared(database: Any) -> None:
    """The cursor key: random, stored by the first process that asks, the same for every
    later one (the table matches its model), even when several make it at once."""
    import threading

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "web_secrets" in repr(d)] == []

    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(Corpus(database).web_secret("cursor"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and len(set(found)) == 1 and len(found[0]) == 32
    assert Corpus(database).web_secret("cursor") == found[0]
    assert Corpus(database).web_secret("other") not in (found[0], b"")


@pytest.mark.parametrize("q", ["", "有", "北京", "科技有限", "Tech", "☄", "xyzzy", "%", "_"])
def test_filer_index_answers_as_the_grouping_query_does(database: Any, q: str) -> None:
    """/api/v1/entities reads Corpus.filer_index (built once per data state): the same filers,
    counts and order as grouping the filings per query (Corpus.entities)."""
    rows = [_row(f"网信算备1101080000{i:02d}号", entity, f"算法{i}", i) for i, entity in enumerate(
        ["北京有道科技有限公司", "北京有道科技有限公司", "上海小红书科技有限公司", "Tech_Co 100%", "深圳市腾讯计算机系统有限公司"]
    )]
    _ingest(database, rows, "sha-filers")
    corpus = Corpus(database)
    corpus.refresh_search_text(lambda entity: FilerWords("Tech Co" if "Tech" in entity else "", None), "v1")
    index = corpus.filer_index()
    assert len(index) == 4
    for limit in (1, 100):
        assert index.search(q, limit=limit) == corpus.entities(q, limit=limit)
    names = corpus.filer_names(e.entity for e in corpus.entities(q))
    assert [(english, company) for e, english, company in index.search_named(q, limit=100)] == [
        names[e.entity] for e in corpus.entities(q)
    ]
