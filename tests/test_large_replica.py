"""The whole pipeline on a larger generated replica (more lists and quirks than the sample)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.ingest.pipeline import check_once
from large_replica import build_large_replica
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.repo import Repository, filing_record
from test_pipeline import _field_mismatches


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):
    return build_large_replica(tmp_path_factory.mktemp("large"))


def _export(db: Database) -> dict:
    with db.session() as session:
        return {(f.kind, f.filing_number): filing_record(f) for f in Repository(session).filings()}


def test_large_replica_exports_exactly_the_expected_filings(large, tmp_path: Path, make_settings, database_url: str) -> None:
    with ReplicaServer(large.site, large.routes) as server:
        settings = make_settings(server, database_url)
        db = Database(database_url)
        db.migrate()
        report = asyncio.run(check_once(settings, db))
        assert report.ok, report.summary_line()
        got = _export(db)
        total_fields = len(large.expected) * 15
        problems = _field_mismatches(large.expected, got)
        assert problems == [], f"{len(problems)} of {total_fields} fields wrong: {problems[:10]}"

        # An idle poll changes nothing; re-running discovery walks only the first channel page.
        server.reset_log()
        again = asyncio.run(check_once(settings, db))
        assert again.ok and not again.new_lists and not again.revised_lists
        assert not any(r.path.endswith("A093702index_2.htm") for r in server.requests)
        assert _export(db) == got
        db.dispose()
