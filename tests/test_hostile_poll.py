"""Issue 10, item 1: one poisoned attachment fails that list only; the poll goes on.

A replica of the CAC site where one list's attachment is replaced by a crafted file
that kills the parser worker (or that a pre-check refuses, or that runs past the
wall-time limit). ``check_once`` must store every other list, record the poll, and
name that one list in the failure. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

import scrapers.limits
from bot.ingest.pipeline import check_once
from scrapers.limits import DEFAULT_LIMITS
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models import Poll

from test_hostile_parse import far_cell_xlsx, grid_pdf

DS_2023_08 = "/cms/pub/interact/downloadfile.jsp?filepath=TzOJPaVXUHMAhO249hx0J~6EottDer5~/T9YkWqie/FPM4k9pVdQcwCE7bj2HHQn7oSi20N6vn79P1iR"
OPEN = dict(max_cells=10**15, max_rows=10**9, max_columns=10**9, max_grid_per_page=10**9)


@pytest.mark.parametrize(
    ("make", "limits", "reason"),
    [
        # Pre-checks opened wide: calamine aborts the worker process (SIGABRT under RLIMIT_AS).
        (far_cell_xlsx, dict(OPEN, address_space=512 * 1024 * 1024), "the parser process died while reading this attachment (SIGABRT"),
        # Real defaults: the pre-check refuses it before calamine sees it.
        (far_cell_xlsx, {}, "row count exceeds the limit (1048576 > 200000)"),
        # Table finding on a 200 × 200 grid takes ~20 s; the wall limit stops it.
        (lambda: grid_pdf(200), dict(OPEN, wall_seconds=2.0), "parsing took longer than 2 s"),
    ],
    ids=["worker-killed", "pre-check", "timeout"],
)
def test_poisoned_attachment_fails_only_its_list(
    replica: ReplicaServer,
    database: Database,
    database_url: str,
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[], bytes],
    limits: dict[str, Any],
    reason: str,
) -> None:
    # The pipeline builds ParserPool(settings.parse_workers) with the process-wide default limits.
    monkeypatch.setattr(scrapers.limits, "DEFAULT_LIMITS", dataclasses.replace(DEFAULT_LIMITS, **limits))
    settings = make_settings(replica, database_url)
    assert settings.parse_workers >= 1  # parsed in worker processes, as in production
    replica.replace_file(DS_2023_08, make())

    report = asyncio.run(check_once(settings, database))

    assert report.lists_checked == 9
    [failure] = report.failures
    assert failure.cause == "unparseable list"
    assert "filepath=TzOJPaVXUHMAhO249hx0J" in failure.where and "2023年8月" in failure.where
    assert reason in failure.reason and "\n" not in failure.reason
    stored = {r.ref.attachment_url for r in report.results}
    assert len(stored) == 8 and all(r.outcome.rows_changed for r in report.results)
    assert not any("TzOJPaVXUHMAhO249hx0J" in url for url in stored)
    with database.session() as session:
        [poll] = session.scalars(select(Poll)).all()
        assert poll.finished_at is not None and poll.ok is False
        assert poll.error is not None and "2023年8月" in poll.error and reason in poll.error
        assert poll.lists_seen == 9


# Issue 19, item 2 and 7: a bad or off-site attachment link fails that list only.
DS_2023_08_PAGE = "/2023-09/01/c_1695224377544009.htm"
BAD_LINKS = {
    # urljoin raises "Invalid IPv6 URL" on it.
    "ipv6": "http://[zz/cms/pub/interact/downloadfile.jsp?filepath=TzOJ",
    # The tab (&#9;) hides the scheme from a prefix check; httpx refuses the URL.
    "tab-scheme": "java&#9;script:alert(1)//cms/pub/interact/downloadfile.jsp?filepath=TzOJ",
    "data": "data:text/html,x/downloadfile.jsp",
    "bad-port": "http://127.0.0.1:99999999/cms/pub/interact/downloadfile.jsp?filepath=TzOJ",
    # Another host (nothing listens there): never to be requested.
    "off-site": "http://127.0.0.2:9/cms/pub/interact/downloadfile.jsp?filepath=TzOJ",
}


@pytest.mark.parametrize("name", list(BAD_LINKS))
def test_bad_attachment_link_fails_only_its_list(
    replica: ReplicaServer, database: Database, database_url: str, make_settings: Callable[..., Any], name: str
) -> None:
    html = replica.read(DS_2023_08_PAGE).decode("utf-8")
    start = html.index('<a href="/cms/pub/interact/downloadfile.jsp?filepath=TzOJ')
    end = html.index('">', start)
    replica.set_page(DS_2023_08_PAGE, html[:start] + f'<a href="{BAD_LINKS[name]}' + html[end:])
    settings = make_settings(replica, database_url)

    report = asyncio.run(check_once(settings, database))

    stored = {r.ref.attachment_url for r in report.results}
    assert len(stored) == 8 and all(r.outcome.rows_changed for r in report.results)
    assert not any("TzOJ" in url for url in stored)
    assert not any("127.0.0.2" in r.path or "99999999" in r.path for r in replica.requests)
    if name == "off-site":
        [failure] = report.failures
        assert failure.cause == "off-site link" and "127.0.0.2:9" in failure.where and "\n" not in failure.reason
    with database.session() as session:
        [poll] = session.scalars(select(Poll)).all()
        assert poll.finished_at is not None
