"""GenAI totals that reconcile, end to end on a local replica (SQLite and PostgreSQL).

A series of generated GenAI lists is published step by step on a replica of the CAC site, as
CAC publishes them: attachments added to the in-place page, each announced on the channel
with a text stating cumulative totals (截至…共有N款…完成备案，M款…完成登记; full-width
digits, 截止, 备案 only), an annual summary that repeats the year's entries, and the
on-device notice whose table is in the page itself. After every step ``cacwatch check
--once`` runs and the signed webhooks are read back.

The rows are built here, so the expected totals are counted from them, not written down.
Registered (登记) rows are told by their 上线编号 (``…S0001``), which the reconciliation reads
when a row has no ``registration`` yet.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app.alerts import Alerter
from bot.app.cli import app
from bot.settings.config import settings_from_mapping
from bot.ingest.pipeline import PollReport
from builders import replica_source
from conftest import WEBHOOK_SECRET
from scrapers.normalize import list_month_from_name
from scrapers.replica.server import ReplicaServer
from smtp_sink import Sink, smtp_server
from storage.db import Database
from storage.models import Filing, FilingList
from storage.models_service import Incident
from storage.totals_repo import TotalsRepository
from test_events import _events
from webhook_receiver import Receiver

runner = CliRunner()

IN_PLACE = "/2024-04/02/c_1713729983803145.htm"
CHANNEL = "/wxzw/wxfb/A093702index_1.htm"
FILED_HEADER = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
REGISTERED_HEADER = ["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间"]
ON_DEVICE_HEADER = ["序号", "属地", "模型名称", "备案单位", "备案编号", "备案时间", "适用场景"]
PROVINCES = [("北京市", "Beijing"), ("上海市", "Shanghai"), ("广东省", "Guangdong"), ("浙江省", "Zhejiang")]


# --- the series -----------------------------------------------------------------------------


@dataclass
class Row:
    number: str
    cells: list[str]  # the table's cells after 序号
    registered: bool = False
    scenario: str | None = None


def _filed(month: str, n: int, *, scenario: str | None = None) -> Row:
    province, pinyin = PROVINCES[n % len(PROVINCES)]
    day = 1 + n % 27
    number = f"{pinyin}-MoXing{month.replace('-', '')}N{n}-{month.replace('-', '')}{day:02d}{n:04d}"
    cells = [province, f"模型{month}-{n}", f"{province[:2]}模型{n}科技有限公司", number, f"{month.replace('-', '/')}/{day}"]
    if scenario:
        cells.append(scenario)
    return Row(number, cells, scenario=scenario)


def _registered(month: str, n: int) -> Row:
    province, pinyin = PROVINCES[(n + 1) % len(PROVINCES)]
    day = 1 + n % 27
    number = f"{pinyin}-YingYong{month.replace('-', '')}N{n}-{month.replace('-', '')}{day:02d}S{n:04d}"
    cells = [province, f"应用{month}-{n}", f"{province[:2]}应用{n}网络有限公司", number, f"{month.replace('-', '/')}/{day}"]
    return Row(number, cells, registered=True)


def _docx(name: str, tables: Sequence[tuple[list[str], Sequence[Row]]]) -> bytes:
    """A GenAI list as CAC lays it out in Word: 附件, the name, then one table per kind
    (备案, then 登记, then on-device), each with its own header."""
    import docx

    document = docx.Document()
    document.add_paragraph("附件")
    document.add_paragraph(name)
    for header, rows in tables:
        if not rows:
            continue
        table = document.add_table(rows=0, cols=len(header))
        for values in [header] + [[str(i)] + row.cells for i, row in enumerate(rows, start=1)]:
            for cell, value in zip(table.add_row().cells, values):
                cell.text = value
        document.add_paragraph("")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _article(title: str, date: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}_中国网信网</title></head><body><div class='main'>"
        f"<h1 class='title'>{html.escape(title)}</h1><div class='pages-date'>{date} 10:00:00</div>"
        f"<div id='BodyLabel'><div class='TRS_Editor'>{body}</div></div></div></body></html>"
    )


def _link(token: str, name: str) -> str:
    return f"/cms/pub/interact/downloadfile.jsp?filepath={token}&fText={quote(name)}"


@dataclass
class Step:
    """What one publication adds: a list (in-place, or on its own announcement page), and
    the channel announcement that states the totals."""

    key: str
    name: str | None = None  # the list's name (attachment)
    filed: list[Row] = field(default_factory=list)
    registered: list[Row] = field(default_factory=list)
    on_device: list[Row] = field(default_factory=list)
    date: str = ""  # the announcement's date
    as_of: str | None = None  # the 截至 date it states
    stated_format: str = "both"  # both | filed_only | full_width
    link_attachment: bool = False  # the announcement links the list itself, not the in-place page
    summary_of: list["Step"] | None = None  # an annual summary repeating these steps' rows
    notice: bool = False  # the table is in the announcement page (no attachment)

    @property
    def rows(self) -> list[Row]:
        if self.summary_of is not None:
            return [row for step in self.summary_of for row in step.rows]
        return self.filed + self.on_device + self.registered


class Site:
    """The replica's GenAI pages, published step by step."""

    def __init__(self, server: ReplicaServer) -> None:
        self.server = server
        self.in_place: list[tuple[str, str]] = []  # (token, name), oldest first
        self.channel: list[tuple[str, str, str]] = []  # (path, title, date), oldest first
        self.published: list[Step] = []
        server.set_page("/api/notice/list", json.dumps({"errno": 0, "errmsg": "", "datas": []}))
        self._render()

    def _render(self) -> None:
        links = "".join(
            f"<p>附件{i}：<a href='{_link(token, name)}'>{html.escape(name)}</a></p>"
            for i, (token, name) in reversed(list(enumerate(self.in_place, start=1)))
        )
        self.server.set_page(IN_PLACE, _article("生成式人工智能服务已备案信息", "2024-04-02",
                                                "<p>现将已备案的生成式人工智能服务信息予以公告（持续更新）。</p>" + links))
        items = "".join(
            f"<li><h5><a href='{path}'>{html.escape(title)}</a></h5><div class='times'>{date}</div></li>"
            for path, title, date in reversed(self.channel)
        )
        self.server.set_page(
            CHANNEL, f"<html><body><div id='loadingInfoPage'><ul>{items}</ul></div></body></html>"
        )

    def statement(self, step: Step, totals: tuple[int, int]) -> str:
        assert step.as_of is not None
        y, m, d = (int(p) for p in step.as_of.split("-"))
        filed, registered = totals
        if step.stated_format == "full_width":
            digits = str.maketrans("0123456789", "０１２３４５６７８９")
            return (
                f"截止{y}年{m}月{d}日，共有{str(filed).translate(digits)}款生成式人工智能服务在国家网信办完成备案，"
                f"其中{y}年新增若干款备案；{str(registered).translate(digits)}款生成式人工智能应用或功能在地方网信办完成登记。"
            )
        if step.stated_format == "filed_only":
            return f"截至{y}年{m}月{d}日，共有{filed}款生成式人工智能服务在国家网信办完成备案。"
        return (
            f"截至{y}年{m}月{d}日，共有{filed}款生成式人工智能服务在国家网信办完成备案；"
            f"对于直接调用已备案模型能力的生成式人工智能应用或功能，共有{registered}款在地方网信办完成登记。"
        )

    def publish(self, step: Step, totals: tuple[int, int], *, drop: str | None = None) -> None:
        """Put ``step`` on the site; ``totals`` are CAC's (the rows of every list so far).
        ``drop``: a filing number left out of this list's file (a parse that lost a row)."""
        year, month, day = step.date.split("-")
        page = f"/{year}-{month}/{day}/c_{abs(hash(step.key)) % 10**12:012d}.htm"
        title = "国家互联网信息办公室关于发布生成式人工智能服务已备案信息的公告"
        rows = [r for r in step.rows if r.number != drop]
        paragraphs = [f"<p>　　{self.statement(step, totals)}</p>"] if step.as_of else []
        if step.notice:
            title = f"国家互联网信息办公室关于发布{len(rows)}款提供手机端侧生成式人工智能服务已备案信息的公告"
            cells = "".join(
                "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in [str(i)] + r.cells) + "</tr>"
                for i, r in enumerate(rows, start=1)
            )
            head = "".join(f"<td>{h}</td>" for h in ON_DEVICE_HEADER)
            paragraphs.append(f"<table border='1'><tbody><tr>{head}</tr>{cells}</tbody></table>")
        else:
            assert step.name is not None
            token = f"tok{step.key}"
            filed = [r for r in rows if not r.registered and not r.scenario]
            data = _docx(step.name, [
                (FILED_HEADER, filed),
                (REGISTERED_HEADER, [r for r in rows if r.registered]),
                (ON_DEVICE_HEADER, [r for r in rows if r.scenario]),
            ])
            self.server.add_route(f"/cms/pub/interact/downloadfile.jsp?filepath={token}", data, "application/octet-stream")
            if step.summary_of is not None:
                title = f"国家互联网信息办公室关于发布{step.name}的公告"
                paragraphs.append(f"<p>附件：<a href='{_link(token, step.name)}'>{html.escape(step.name)}</a></p>")
            else:
                self.in_place.append((token, step.name))
                if step.link_attachment:
                    paragraphs.append(f"<p>附件：<a href='{_link(token, step.name)}'>{html.escape(step.name)}</a></p>")
                else:
                    paragraphs.append(f"<p>详见<a href='{IN_PLACE}'>生成式人工智能服务已备案信息</a>。</p>")
        self.server.set_page(page, _article(title, step.date, "".join(paragraphs)))
        self.channel.append((page, title, step.date))
        self.published.append(step)
        self._render()


def series() -> list[Step]:
    """Two years of GenAI publications, in the order CAC made them."""
    s2404 = Step("2404", "生成式人工智能服务已备案信息（2024年4月）", filed=[_filed("2024-03", n) for n in range(6)],
                 date="2024-04-03", as_of="2024-03-31")
    s2408 = Step("2408", "生成式人工智能服务已备案和已登记信息（2024年8月）", filed=[_filed("2024-07", n) for n in range(4)],
                 registered=[_registered("2024-07", n) for n in range(3)], date="2024-08-20", as_of="2024-08-15")
    s2501 = Step("2501", "生成式人工智能服务已备案和已登记信息（2025年1月）", filed=[_filed("2024-12", n) for n in range(3)],
                 registered=[_registered("2024-12", n) for n in range(2)], date="2025-01-08", as_of="2024-12-31",
                 stated_format="full_width", link_attachment=True)
    summary = Step("2024", "2024年生成式人工智能服务已备案信息", date="2025-01-10", as_of="2024-12-31",
                   summary_of=[s2404, s2408, s2501])
    s2503 = Step("2503", "生成式人工智能服务已备案和已登记信息（2025年3月）", filed=[_filed("2025-03", n) for n in range(2)],
                 date="2025-04-02", as_of="2025-03-31", stated_format="filed_only")
    s2606 = Step("2606", "生成式人工智能服务已备案和已登记信息（2026年6月）", filed=[_filed("2026-06", n) for n in range(2)],
                 registered=[_registered("2026-06", n) for n in range(2)], date="2026-07-10", as_of="2026-06-30")
    phones = [_filed("2026-07", n, scenario=s) for n, s in enumerate(["苹果手机", "华为手机", "三星手机"])]
    notice = Step("2607", on_device=phones, date="2026-07-15", notice=True)
    s2608 = Step("2608", "生成式人工智能服务已备案和已登记信息（2026年8月）", filed=[_filed("2026-08", n) for n in range(2)],
                 registered=[_registered("2026-08", n) for n in range(1)], on_device=phones,
                 date="2026-09-05", as_of="2026-08-31")
    return [s2404, s2408, s2501, summary, s2503, s2606, notice, s2608]


def cac_totals(published: Sequence[Step]) -> tuple[int, int]:
    """What CAC states after these publications: every distinct row published so far."""
    filed: set[str] = set()
    registered: set[str] = set()
    for step in published:
        for row in step.rows:
            (registered if row.registered else filed).add(row.number)
    return len(filed), len(registered)


# --- the harness --------------------------------------------------------------------------


@pytest.fixture
def site() -> Iterator[Site]:
    with ReplicaServer(routes=_empty_routes()) as server:
        yield Site(server)


def _empty_routes() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "routes.json"
    path.write_text("{}", encoding="utf-8")
    return path


def _settings_map(site: Site, database_url: str, tmp_path: Path, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    cac = replica_source(site.server, retries=0, concurrency=2, in_place_pages={"genai_service": IN_PLACE})
    return {
        "database": {"url": database_url},
        "data_dir": str(tmp_path / "data"),
        "parse_workers": 0,
        "sources": {"cac": cac},
        "notify": {
            "webhooks": [{"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}],
            **extra.get("notify", {}),
        },
        "service": extra.get("service", {}),
    }


@pytest.fixture
def config(site: Site, database_url: str, tmp_path: Path, receiver: Receiver) -> Path:
    settings = settings_from_mapping(_settings_map(site, database_url, tmp_path, receiver), env={})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> str:
    result = runner.invoke(app, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return str(result.output)


def _replay(site: Site, config: Path, receiver: Receiver, *, drop: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Publish the series one step per poll; returns every list event in order.
    ``drop``: (step key, filing number) left out of that step's list."""
    for step in series():
        totals = cac_totals([*site.published, step])
        site.publish(step, totals, drop=drop[1] if drop and drop[0] == step.key else None)
        _cli(config, "check", "--once")
    return [e for e in _events(receiver) if e["type"] != "baseline.established"]


def _published(events: list[dict[str, Any]], month: str) -> dict[str, Any]:
    [event] = [e for e in events if e["type"] == "list.published" and e["data"]["list_month"] == month]
    return event["data"]


def _export(config: Path) -> dict[str, dict[str, Any]]:
    lines = _cli(config, "export", "--kind", "genai_service").splitlines()
    return {record["filing_number"]: record for record in map(json.loads, lines)}


# --- the tests --------------------------------------------------------------------------------


def test_a_replayed_series_reconciles_at_every_list(site: Site, config: Path, receiver: Receiver, database_url: str) -> None:
    events = _replay(site, config, receiver)
    steps = series()
    # One list.published per list of its own (the first is the baseline; the summary is none).
    published = [e["data"] for e in events if e["type"] == "list.published"]
    assert [d["list_month"] for d in published] == ["2024-08", "2025-01", "2025-03", "2026-06", "2026-07", "2026-08"]
    by_key = {s.key: s for s in steps}
    expected_new = {"2024-08": "2408", "2025-01": "2501", "2025-03": "2503", "2026-06": "2606", "2026-07": "2607"}
    for data in published:
        assert not [f for f in data["notable"] if f["type"] == "totals_mismatch"], data["list_month"]
        counts = data["counts"]["genai"]
        if data["list_month"] in expected_new:
            step = by_key[expected_new[data["list_month"]]]
            assert counts["filed"] == len(step.filed) + len(step.on_device)
            assert counts["registered"] == len(step.registered)
            assert sorted(r["filing_number"] for r in data["new"]) == sorted(r.number for r in step.rows)
    # Every list an announcement stated totals for carries them, equal to what is held.
    for month, key in [("2024-08", "2408"), ("2025-01", "2501"), ("2025-03", "2503"), ("2026-06", "2606"), ("2026-08", "2608")]:
        data = _published(events, month)
        upto = steps[: steps.index(by_key[key]) + 1]
        filed, registered = cac_totals(upto)
        totals = data["totals"]
        assert totals["as_of"] == by_key[key].as_of
        assert totals["held"] == {"filed": filed, "registered": registered}
        stated_registered = None if by_key[key].stated_format == "filed_only" else registered
        assert totals["stated"] == {"filed": filed, "registered": stated_registered}
    assert "totals" not in _published(events, "2026-07")  # the notice states no totals

    # The on-device notice: its rows are filings of its month, not new again in the next list.
    notice_numbers = {r.number for r in by_key["2607"].rows}
    assert {r["filing_number"] for r in _published(events, "2026-07")["new"]} == notice_numbers
    august = _published(events, "2026-08")
    assert not notice_numbers & {r["filing_number"] for r in august["new"]}
    assert august["counts"]["genai"] == {"filed": 2, "registered": 1, "on_device": 0}
    exported = _export(config)
    assert {exported[n]["list_month"] for n in notice_numbers} == {"2026-07"}

    # The annual summary: stored, no event, no filing of its own; every filing keeps its first list.
    assert len(exported) == sum(cac_totals(steps))
    for step in steps:
        if step.summary_of is None and not step.notice:
            month = list_month_from_name(step.name)
            assert {exported[r.number]["list_month"] for r in step.rows if r.number not in notice_numbers} == {month}
    db = Database(database_url)
    try:
        with db.session() as session:
            [summary] = session.scalars(select(FilingList).where(FilingList.is_summary.is_(True))).all()
            assert (summary.list_month, summary.name) == ("2025-01", "2024年生成式人工智能服务已备案信息")
            assert not session.scalars(select(Filing).where(Filing.first_list_id == summary.id)).all()
            reconciliations = TotalsRepository(session).reconciliations()
            assert len(reconciliations) == 7 and all(r.compared and r.ok for r in reconciliations)
            assert not session.scalars(select(Incident)).all()
    finally:
        db.dispose()

    status = _cli(config, "status")
    filed, registered = cac_totals(steps)
    assert (
        f"GenAI totals: CAC states {filed} filed + {registered} registered as of 2026-08-31; "
        f"cacwatch holds {filed} + {registered} ✓"
    ) in status
    assert "also differs" not in status


def test_a_lost_row_is_a_totals_mismatch_and_an_operator_alert(
    site: Site, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    sink = Sink()
    with smtp_server(sink) as port:
        email = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "sender": "watch@cacwatch.example",
                 "recipients": ["legal@cacwatch.example"], "timeout": 5}
        mapping = _settings_map(site, database_url, tmp_path, receiver,
                                notify={"email": email}, service={"alert_email": ["ops@cacwatch.example"]})
        settings = settings_from_mapping(mapping, env={})
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
        lost = series()[1].filed[2].number  # one filed row of the 2024-08 list is missing from its file
        events = _replay(site, path, receiver, drop=("2408", lost))

        august = _published(events, "2024-08")
        [mismatch] = [f for f in august["notable"] if f["type"] == "totals_mismatch"]
        assert august["notable"][0] == mismatch  # told first
        assert mismatch["data"]["totals"]["stated"] == {"filed": 10, "registered": 3}
        assert mismatch["data"]["totals"]["held"] == {"filed": 9, "registered": 3}
        assert "备案少1款" in mismatch["zh"] and "1 filed fewer" in mismatch["en"]
        assert "2024-08-15" in mismatch["en"] and "2024年8月15日" in mismatch["zh"]
        assert august["totals"] == mismatch["data"]["totals"]
        # Still missing when the January list comes (cumulative totals) ...
        january = _published(events, "2025-01")
        assert january["notable"][0]["type"] == "totals_mismatch"
        assert january["totals"]["held"] == {"filed": 12, "registered": 5}
        # ... until the annual summary, which repeats the lost row: from then on the totals agree.
        for month in ("2025-03", "2026-06", "2026-08"):
            assert not [f for f in _published(events, month)["notable"] if f["type"] == "totals_mismatch"], month

        # `check --once` evaluated the operator alerts after each poll: the lost row opened one
        # incident that stays open; the January shortfall opened one the summary closed.
        to_ops = [m for m in sink.messages if m["To"] == "ops@cacwatch.example"]
        assert [m["Subject"] for m in to_ops] == [
            "[cacwatch] genai_service totals as of 2024-08-15 do not reconcile with CAC's stated totals",
            "[cacwatch] genai_service totals as of 2024-12-31 do not reconcile with CAC's stated totals",
            "[cacwatch] recovered: genai_service totals as of 2024-12-31",
        ]
        assert (
            "CAC states 10 filed + 3 registered as of 2024-08-15; cacwatch holds 9 filed + 3 registered"
            in to_ops[0].get_content()
        )
        db = Database(database_url)
        try:
            again = asyncio.run(Alerter(settings, db).after_poll(PollReport()))
            with db.session() as session:
                incidents = session.scalars(select(Incident).where(Incident.closed_at.is_(None))).all()
        finally:
            db.dispose()
        assert again == []  # announced once, however many polls
        assert [i.key for i in incidents] == ["totals:genai_service:2024-08-15"]

    status = _cli(path, "status")
    filed, registered = cac_totals(series())
    assert (
        f"GenAI totals: CAC states {filed} filed + {registered} registered as of 2026-08-31; "
        f"cacwatch holds {filed} + {registered} ✓"
    ) in status
    assert "also differs: CAC states 10 filed + 3 registered as of 2024-08-15; cacwatch holds 9 + 3 ✗" in status


def test_a_summary_first_holds_rows_that_are_new_in_the_first_list_of_their_own(
    site: Site, config: Path, receiver: Receiver
) -> None:
    """Whichever order they arrive in, a summary's rows are announced by their own list."""
    steps = series()
    s2404, s2408, s2501, summary = steps[:4]
    for step in (s2404, summary):  # baseline: the April list, and the summary already out
        site.publish(step, cac_totals(steps[:4]))
    _cli(config, "check", "--once")
    site.publish(s2408, cac_totals(steps[:4]))
    _cli(config, "check", "--once")
    events = [e for e in _events(receiver) if e["type"] == "list.published"]
    assert [e["data"]["list_month"] for e in events] == ["2024-08"]
    assert sorted(r["filing_number"] for r in events[0]["data"]["new"]) == sorted(r.number for r in s2408.rows)
    exported = _export(config)
    assert {exported[r.number]["list_month"] for r in s2408.rows} == {"2024-08"}
    assert {exported[r.number]["list_month"] for r in s2501.rows} == {"2025-01"}  # only in the summary so far
