"""Filer identity across renames (storage.filer_identity, migration 0016) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
from storage.corpus import Corpus, FilerWords, FilingQuery
from storage.filer_identity import filer_id, fold_name, rename_pairs
from storage.repo import Repository

OLD, NEW, OTHER = "北京甲星科技有限公司", "北京丙辰科技有限公司", "上海乙木科技有限公司"


def _row(kind: Kind, number: str, entity: str, index: int, remark: str = "", status: Status = Status.ACTIVE) -> FilingRow:
    return FilingRow(
        kind=kind, filing_number=number, name=f"算法{index}", entity=entity,
        role="provider" if kind is Kind.DEEP_SYNTHESIS else None, category=None, products=(), purpose="",
        province="北京市", remark=remark, status=status, filed_on=None, row_index=index,
        registration="filed" if kind is Kind.GENAI_SERVICE else None,
    )


def _ingest(database: Any, kind: Kind, month: str, rows: list[FilingRow], sha: str) -> None:
    ref = ListRef(kind, month, f"清单（{month}）", "公告", f"https://x.example/{kind}/{month}", f"https://x.example/a/{kind}/{month}")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, sha, "docx", tuple(rows)), f"key-{kind}-{month}")


def _describe(entity: str) -> FilerWords:
    return FilerWords(english=f"EN {entity}", company=None)


@pytest.mark.parametrize(
    "number, expected",
    [
        ("网信算备110108224236601220017号", "2242366"),
        ("网信算备1101082242366066220017号", "2242366"),  # the 22-digit number CAC printed once
        ("网信算备 110108 2242366 01220017号", "2242366"),
        ("网信算备110000000000001240011号", None),  # a placeholder id
        ("Beijing-WenXinYiYan-20230821", None),
        ("Guangdong-Dr.GDCDC-20260706S0054", None),
    ],
)
def test_filer_id_is_the_seven_digits_after_the_region(number: str, expected: str | None) -> None:
    assert filer_id(number) == expected


def test_rename_remarks_in_both_forms() -> None:
    assert rename_pairs("变更内容：产品变更、原主体名称“支付宝（杭州）信息技术有限公司”变更为“支付宝（杭州）数字服务技术有限公司”") == [
        ("支付宝(杭州)信息技术有限公司", "支付宝(杭州)数字服务技术有限公司")
    ]
    assert rename_pairs("2024年8月，变更内容：主体名称由佛山卓瞻科技有限公司变更为广州卓瞻科技有限公司，新增产品卓瞻(网站)") == [
        ("佛山卓瞻科技有限公司", "广州卓瞻科技有限公司")
    ]
    # Another field's rename is not the filer's.
    assert rename_pairs("变更内容：原算法名称“腾讯混元助手大模型”变更为“腾讯混元大模型算法”") == []
    assert rename_pairs("已注销") == [] and rename_pairs(None) == []


def test_a_filer_is_one_across_numbers_remarks_and_reissues(database: Any) -> None:
    corpus = Corpus(database)
    ds = [
        _row(Kind.DEEP_SYNTHESIS, "网信算备110108123456701230011号", OLD, 0),
        _row(Kind.DEEP_SYNTHESIS, "网信算备110108123456701230023号", OLD, 1),
        _row(Kind.DEEP_SYNTHESIS, "网信算备310115765432101230015号", OTHER, 2),
    ]
    _ingest(database, Kind.DEEP_SYNTHESIS, "2023-06", ds, "a" * 64)
    corpus.refresh_search_text(_describe, "v1")
    assert [n.name for n in corpus.filer_identity(OLD).names] == [OLD]  # type: ignore[union-attr]

    # A re-issue renames one of the two filings; the other list keeps the old name.
    reissued = [ds[0], _row(Kind.DEEP_SYNTHESIS, ds[1].filing_number, NEW, 1, f"原主体名称“{OLD}”变更为“{NEW}”"), ds[2]]
    _ingest(database, Kind.DEEP_SYNTHESIS, "2023-06", reissued, "b" * 64)
    # GenAI numbers carry no filer id: the name ties it in.
    _ingest(database, Kind.GENAI_SERVICE, "2024-04", [_row(Kind.GENAI_SERVICE, "Beijing-JiaXing-20240301", NEW, 0)], "c" * 64)
    corpus.refresh_search_text(_describe, "v1")

    identity = corpus.filer_identity(OLD)
    assert identity is not None and identity == corpus.filer_identity(NEW)
    assert identity.name == NEW and identity.ids == ("1234567",)
    by_name = {n.name: n for n in identity.names}
    assert set(by_name) == {OLD, NEW}
    assert by_name[OLD].renamed_to == NEW and by_name[OLD].renamed_month == "2023-06" and not by_name[OLD].current
    assert by_name[OLD].first_month == "2023-06" and by_name[OLD].filings == 1
    assert by_name[NEW].current and by_name[NEW].filings == 2 and "history" in by_name[NEW].evidence
    other = corpus.filer_identity(OTHER)
    assert other is not None and [n.name for n in other.names] == [OTHER] and other.key != identity.key

    # Everything the filer filed, under both names, in both series.
    records = corpus.filer_records([OLD])
    assert sorted(r["filing_number"] for r, _ in records.filings) == sorted(
        [ds[0].filing_number, ds[1].filing_number, "Beijing-JiaXing-20240301"]
    )
    assert any(e.event == "renamed" and e.detail == f"{OLD} → {NEW}" for e in records.timeline)

    # The old name finds the renamed filer's filings (its search text carries both names).
    found = corpus.search_filings(FilingQuery(q="甲星科技"), limit=10).items
    assert {r["entity"] for r in found} == {OLD, NEW}
    assert {e.entity for e in corpus.entities("甲星科技")} == {OLD, NEW}


def test_a_remark_alone_ties_names_and_an_upgrade_fills_the_table(database: Any) -> None:
    corpus = Corpus(database)
    remark = f"2024年8月，变更内容：主体名称由{OLD}变更为{NEW}，新增产品某某(网站)"
    _ingest(database, Kind.GENAI_SERVICE, "2024-08", [_row(Kind.GENAI_SERVICE, "Beijing-Jia-20240801", NEW, 0, remark)], "d" * 64)
    _ingest(database, Kind.GENAI_SERVICE, "2024-04", [_row(Kind.GENAI_SERVICE, "Beijing-Jia-20240401", OLD, 0)], "e" * 64)
    # As migration 0016 does on a store with data:
    from storage.filer_identity import mark_search_stale, rebuild_filer_names

    with database.session() as session:
        changed = rebuild_filer_names(session)
        mark_search_stale(session, changed)
    assert changed == {OLD, NEW}
    identity = corpus.filer_identity(fold_name(f" {OLD} "))
    assert identity is not None and identity.name == NEW and {n.name for n in identity.names} == {OLD, NEW}
    with database.session() as session:
        assert rebuild_filer_names(session) == set()  # nothing changed since


def test_migration_matches_the_model(database: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.all_models import Base

    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "filer_names" in repr(d)] == []


def test_upgrading_a_store_with_data_fills_the_names(database: Any) -> None:
    """Migration 0016 on a store that already holds renamed filers: filled at once, and their
    filings' search text is rebuilt (stale) so that the old name finds them."""
    from pathlib import Path

    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    corpus = Corpus(database)
    remark = f"原主体名称“{OLD}”变更为“{NEW}”"
    _ingest(database, Kind.DEEP_SYNTHESIS, "2023-06", [_row(Kind.DEEP_SYNTHESIS, "网信算备110108123456701230011号", OLD, 0)], "f" * 64)
    _ingest(database, Kind.DEEP_SYNTHESIS, "2023-08", [_row(Kind.DEEP_SYNTHESIS, "网信算备110108123456701230023号", NEW, 0, remark)], "9" * 64)
    corpus.refresh_search_text(_describe, "v1")
    migrations = Path(__file__).resolve().parents[1] / "storage" / "migrations"
    with database.engine.begin() as connection:
        alembic = Config()
        alembic.set_main_option("script_location", str(migrations))
        alembic.attributes["connection"] = connection
        # To the revision before 0016 by name: "0016_filer_names@-1" counts from the branch's
        # head, which later migrations (0024 …) have moved.
        command.downgrade(alembic, "0013_web_secrets")
    assert "filer_names" not in sa.inspect(database.engine).get_table_names()
    with database.engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "heads")
    identity = corpus.filer_identity(OLD)
    assert identity is not None and {n.name for n in identity.names} == {OLD, NEW} and identity.name == NEW
    assert corpus.refresh_search_text(_describe, "v1") == 2  # both filings' text now names both
    assert len(corpus.search_filings(FilingQuery(q="甲星科技"), limit=10).items) == 2
