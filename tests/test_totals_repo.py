"""Stated totals and which list they apply to; what is held; summary lists (storage/totals_repo.py,
storage/repo.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

from scrapers.records import Announcement, FilingRow, Kind, ListRef, ParsedList, SourceSignal, StatedTotals, Status
from scrapers.sources.cac.titles import attachment_key
from storage.db import Database
from storage.repo import Repository
from storage.totals_repo import TotalsRepository, registration_of

BASE = "https://www.cac.gov.cn"
IN_PLACE = f"{BASE}/2024-04/02/c_1713729983803145.htm"


def _row(number: str, i: int, *, registration: str | None = None, status: Status = Status.ACTIVE) -> FilingRow:
    return FilingRow(
        kind=Kind.GENAI_SERVICE, filing_number=number, name=f"n{i}", entity=f"e{i}", role=None, category=None,
        products=(), purpose="", province="北京市", remark="", status=status, filed_on=None, row_index=i,
        registration=registration,
    )


def _ref(month: str, *, page: str = IN_PLACE, token: str | None = None, summary: bool = False,
         published: str | None = "2024-04-02") -> ListRef:
    url = page if token is None else f"{BASE}/cms/pub/interact/downloadfile.jsp?filepath={token}"
    return ListRef(kind=Kind.GENAI_SERVICE, list_month=month, name=f"list {month}", title="t", page_url=page,
                   attachment_url=url, published_on=published, is_summary=summary)


def _ingest(repo: Repository, ref: ListRef, rows: list[FilingRow]) -> Any:
    digest = hashlib.sha256(f"{ref.attachment_url}{[r.filing_number for r in rows]}".encode()).hexdigest()
    parsed = ParsedList(ref=ref, sha256=digest, format="docx", rows=tuple(rows))
    return repo.ingest(parsed, attachment_key(ref.attachment_url))


def _state(repo: TotalsRepository, url: str, published: str, totals: list[StatedTotals], links: tuple[str, ...] = ()) -> None:
    announcement = Announcement(url, "关于发布生成式人工智能服务已备案信息的公告", published, SourceSignal.CHANNEL,
                                totals=tuple(totals), links=links)
    repo.record_announcement(announcement, Kind.GENAI_SERVICE)


def test_registration_by_value_or_number_form() -> None:
    assert registration_of("registered", "Beijing-X-20240101") == "registered"
    assert registration_of(None, "Guangdong-Dr.GDCDC-20260706S0054") == "registered"
    assert registration_of(None, "Jiangsu-ZhiBiaoBao-202512030061") == "filed"


def test_which_statement_applies_to_which_list(database: Database) -> None:
    with database.session() as session:
        repo, totals = Repository(session), TotalsRepository(session)
        april = _ingest(repo, _ref("2024-04", token="A"), [_row(f"Beijing-A{i}-20240301", i) for i in range(3)])
        august = _ingest(repo, _ref("2024-08", token="B"), [
            _row("Beijing-B0-20240701", 0), _row("Beijing-B1-20240701S0001", 1),
            _row("Beijing-B2-20240701", 2, registration="registered"),  # the parser's word wins over the form
            _row("Beijing-B3-20240701", 3, status=Status.CANCELLED),  # cancelled: not held
        ])
        notice = _ingest(repo, _ref("2024-09", page=f"{BASE}/2024-09/20/c_n.htm", published="2024-09-20"),
                         [_row("Shanghai-N0-20240901", 0)])
        # By dates: 截至 March 31, published in April → the April list.
        _state(totals, f"{BASE}/a1.htm", "2024-04-03", [StatedTotals("2024-03-31", 3)])
        # Directly: the announcement links the August list's attachment.
        _state(totals, f"{BASE}/a2.htm", "2024-09-25", [StatedTotals("2024-08-31", 4, 2)],
               links=(attachment_key(f"{BASE}/cms/pub/interact/downloadfile.jsp?filepath=B"),))
        # Published before the notice page: never compared with it (a list published later), nor with
        # the August list (named for a month before its 截至 date).
        _state(totals, f"{BASE}/a3.htm", "2024-09-10", [StatedTotals("2024-09-05", 6, 2)])
        # A total stated for a date after every list: compared with none.
        _state(totals, f"{BASE}/a4.htm", "2025-01-05", [StatedTotals("2024-12-31", 9, 9)])
        by_as_of = {r.as_of: r for r in totals.reconciliations()}
        assert (by_as_of["2024-03-31"].list_id, by_as_of["2024-03-31"].ok) == (april.list_id, True)
        assert (by_as_of["2024-03-31"].held_filed, by_as_of["2024-03-31"].stated_registered) == (3, None)
        r = by_as_of["2024-08-31"]
        assert (r.list_id, r.held_filed, r.held_registered, r.ok) == (august.list_id, 4, 2, True)
        assert by_as_of["2024-09-05"].list_id is None and by_as_of["2024-09-05"].ok  # nothing to compare
        assert by_as_of["2024-12-31"].list_id is None
        assert totals.for_list(august.list_id) == r
        assert totals.for_list(notice.list_id) is None
        assert totals.latest() == r
        # A statement read again (the page corrected in place) is updated, not doubled.
        _state(totals, f"{BASE}/a2.htm", "2024-09-25", [StatedTotals("2024-08-31", 5, 2)],
               links=(attachment_key(f"{BASE}/cms/pub/interact/downloadfile.jsp?filepath=B"),))
        corrected = totals.for_list(august.list_id)
        assert corrected is not None and corrected.stated_filed == 5 and not corrected.ok
        assert len(totals.statements()) == 4


def test_a_summary_is_never_new_and_never_the_first_list(database: Database) -> None:
    rows = [_row(f"Beijing-S{i}-20240301", i) for i in range(4)]
    with database.session() as session:
        repo = Repository(session)
        april = _ingest(repo, _ref("2024-04", token="A"), rows[:2])
        summary = _ingest(repo, _ref("2025-01", token="S", summary=True), rows)
        assert april.created == ("Beijing-S0-20240301", "Beijing-S1-20240301")
        assert summary.created == ()  # rows 2 and 3 are stored, but announced by a list of their own
        held = {f.filing_number: f for f in repo.filings(Kind.GENAI_SERVICE.value)}
        assert len(held) == 4 and held["Beijing-S0-20240301"].first_list_id == april.list_id
        assert held["Beijing-S2-20240301"].list_month == "2025-01"
        # The bimonthly list that carries rows 2 and 3 arrives later: there they are new.
        december = _ingest(repo, _ref("2024-12", token="D"), rows[2:])
        assert december.created == ("Beijing-S2-20240301", "Beijing-S3-20240301")
        assert held["Beijing-S2-20240301"].list_month == "2024-12"
        assert held["Beijing-S2-20240301"].first_list_id == december.list_id
        # And re-ingesting the summary later makes nothing new again.
        again = _ingest(repo, _ref("2025-01", token="S", summary=True), list(reversed(rows)))
        assert again.created == ()
